#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/reliability.md from the rows the reliability tests wrote (tests/output/reliability.json).

    python tests/reliability/report.py --run     run tests/reliability, then write docs/reliability.md
    python tests/reliability/report.py           write it from the last run's JSON
    python tests/reliability/report.py --check   fail if docs/reliability.md is not what the last run gives

The observed column is what the run saw (messages with the simulators' ports and temporary paths
replaced), never typed by hand. `make reliability-report` is `--run`.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import argparse
import difflib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
JSON = os.path.join(ROOT, "tests", "output", "reliability.json")
DOC = os.path.join(ROOT, "docs", "reliability.md")

SECTIONS = [
    ("fault", "Fault matrix", "fault and task"),
    ("bad input", "Bad-input matrix", "input"),
    ("tls", "TLS: validate_certs against a self-signed certificate", "task"),
    ("secrets", "Secrets", "run"),
]

HEADER = """# Reliability and security

What pluto.lms does when a site misbehaves or a task is given bad input, and proof that it never
shows the token. Every row is a test in `tests/reliability/` that runs `ansible-playbook` against the
Pluto simulator (`tests/simulator/`), the way a user runs the collection; the **observed** column is
what that run printed (the simulators' addresses are shown as `SITE`, temporary paths as `<tmp>`, and
Ansible's list of valid booleans, whose order changes from run to run, as `(Ansible's list)`).

This file is generated: `make reliability-report` runs the tests and writes it
(`python tests/reliability/report.py --run`); `make test` runs the same tests and fails if this file
is not what they observe (`report.py --check`).

How the cases are made:

- **Faults** are the simulator's (`POST /_sim/faults`: HTTP 503, connection reset, no answer, an HTML
  login page with status 200, XML, a 404 page, a write applied whose answer is lost), set for exactly one
  task by a test callback (`tests/reliability/callback_plugins/reliability_record.py`), which also keeps
  each task's result and the simulator's request log of that task. No timing is asserted.
- **Reruns**: every fault case runs once more when the site behaves again (or with the right token);
  the observed column shows that rerun, which must not fail, and must change nothing where the first
  run converged.
- **Races**: a proxy in front of the site (`tests/reliability/proxy.py`) deletes the cohort, as another
  administrator would, just before the task's write goes through.
- **Concurrency**: two `ansible-playbook` processes started together sync the same cohort; once straight
  to the site, once through the proxy, which holds the first add request until the second arrives and
  fails that one whole with `dmlwriteexception`, as the reference measured on a real Moodle 4.5.
- **Both paths**: the key fault cases, the races, the secrets and the TLS cases also run through the
  module process (`PLUTO_LMS_MODULE_PROCESS=1`), which must show the same outcome.
- **No write request**: every refused bad input is checked against the simulator's request log of that
  task.
"""

NOTES = """## What is kept verbatim, and other answers

- **Cohort names and idnumbers** are sent and stored exactly as given: surrounding spaces and unicode are
  kept (the site does not trim either), and a rerun with the same values changes nothing. Only a blank
  idnumber or name is refused.
- **Usernames** in `pluto_cohort_member` are stripped and lowercased (the site stores them lowercase and
  refuses capitals in a lookup); duplicates are dropped. **Emails** are stripped and matched as stored,
  with one more lookup in lowercase. **User idnumbers** are matched verbatim, surrounding spaces included
  (`' EMP00005'` is not `EMP00005`). **Ids** must be positive integers.
- **url**: the scheme is required (`https://`, or `http://`); a query string or fragment is refused, and
  so is a url that contains the token (web servers and proxies log URLs); a url ending in
  `/webservice/rest/server.php` is used as it is. `http://` to a host other than this one works, with a
  warning that the token travels unencrypted.
- **validate_certs**: on by default; `validate_certs: false` (also `PLUTO_VALIDATE_CERTS=false`, in the
  controller's environment or in a task's `environment:`) or `ca_path` accept a self-signed site.
- **The token**: give it with `token` (a vault variable), `module_defaults`, or `PLUTO_TOKEN` in the
  controller's environment. A task's `environment:` works too, but with `PLUTO_LMS_MODULE_PROCESS=1`
  Ansible itself prints a task's environment in the `EXEC` lines of `-vvv`; the default action path
  runs no command and prints nothing of it.
- **Concurrency**: the last run of two concurrent syncs decides what an exact sync leaves; with `present`
  both end with the union. A task's `member_count` counts from its own read, not what a concurrent task
  added meanwhile.
"""


def cell(text):
    return str(text or "").replace("|", "\\|").replace("\n", " ")


def render(data):
    rows = data["rows"]
    lines = [HEADER, "## Counts\n", "| matrix | cases | passed | known gaps | failed |", "|---|---|---|---|---|"]
    for key, title, _what in SECTIONS:
        section = [r for r in rows if r["matrix"] == key]
        passed = len([r for r in section if r["outcome"] == "passed"])
        gaps = len([r for r in section if r["outcome"].startswith("xfailed")])
        lines.append("| %s | %d | %d | %d | %d |" % (title, len(section), passed, gaps, len(section) - passed - gaps))
    lines.append("")
    gaps = [r for r in rows if r.get("gap")]
    if gaps:
        lines.append("Known gaps (strict expected failures: the test fails as soon as the gap is fixed, to be updated):\n")
        for r in sorted(gaps, key=lambda r: r["case"]):
            lines.append("- `%s`: %s." % (r["case"], r["gap"]))
        lines.append("")
    for key, title, what in SECTIONS:
        section = sorted((r for r in rows if r["matrix"] == key), key=lambda r: (r["case"], r["test"]))
        if not section:
            continue
        lines.append("## %s (%d cases)\n" % (title, len(section)))
        lines.append("| case | %s | expected | observed | result | test |" % what)
        lines.append("|---|---|---|---|---|---|")
        for r in section:
            lines.append("| `%s` | %s | %s | %s | %s | `%s` |" % (
                cell(r["case"]), cell(r["input"]), cell(r["expected"]), cell(r["observed"]), cell(r["outcome"]),
                cell(r["test"].replace("tests/reliability/", ""))))
        lines.append("")
    lines.append(NOTES)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--run", action="store_true", help="run the reliability tests first")
    parser.add_argument("--check", action="store_true", help="fail if docs/reliability.md differs from the last run")
    args = parser.parse_args(argv)
    tests_failed = 0
    if args.run:
        if os.path.exists(JSON):
            os.remove(JSON)
        tests_failed = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", HERE], cwd=ROOT)
        if tests_failed not in (0, 1):
            return tests_failed
    if not os.path.exists(JSON):
        print("%s is missing: run the reliability tests first (report.py --run)" % JSON)
        return 2
    with open(JSON) as handle:
        text = render(json.load(handle))
    if args.check:
        with open(DOC) as handle:
            current = handle.read()
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True), DOC, "this run"))
            print("docs/reliability.md is not what the reliability tests observe: run make reliability-report and commit it")
            return 1
        print("docs/reliability.md matches the run")
        return 0
    with open(DOC, "w") as handle:
        handle.write(text)
    print("wrote %s%s" % (os.path.relpath(DOC, ROOT), " (some tests failed: see the result column)" if tests_failed else ""))
    return tests_failed


if __name__ == "__main__":
    sys.exit(main())

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run reliability playbooks the way a user does, and read back what happened case by case.

run_playbook() starts the venv's ansible-playbook with the collection on its path, the token
in a vars file (never on the command line), and the test callback reliability_record, which
opens a case at every task named "Case <id>", sets that case's simulator faults, and keeps
each case's task results and the simulators' request logs. Each matrix row a test checks is
kept with row() and written to tests/output/reliability.json for docs/reliability.md.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PLAYBOOKS = os.path.join(HERE, "playbooks")
OUTPUT = os.path.join(ROOT, "tests", "output", "reliability.json")

# Every row a test produced: {matrix, case, input, expected, observed, test}; conftest adds the outcome.
ROWS = {}


_COLLECTIONS_TREE = []


def _remove_tree(tree):
    """Remove this run's collections tree: the link first, so nothing under the checkout is touched."""
    link = os.path.join(tree, "ansible_collections", "pluto", "lms")
    if os.path.islink(link):
        os.unlink(link)
    shutil.rmtree(tree, ignore_errors=True)


def collections_path():
    """A directory holding ansible_collections/pluto/lms = this checkout.

    Made once per test run in a directory of its own (removed at exit), so that two runs at the
    same time, from two checkouts or by two users, never use each other's collection.
    """
    parts = ROOT.split(os.sep)
    if parts[-3:] == ["ansible_collections", "pluto", "lms"]:
        return os.sep.join(parts[:-3])
    if not _COLLECTIONS_TREE:
        tree = tempfile.mkdtemp(prefix="pluto-lms-reliability-")
        atexit.register(_remove_tree, tree)
        link = os.path.join(tree, "ansible_collections", "pluto", "lms")
        os.makedirs(os.path.dirname(link))
        os.symlink(ROOT, link)
        _COLLECTIONS_TREE.append(tree)
    return _COLLECTIONS_TREE[0]


def ansible_playbook():
    path = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return path if os.path.exists(path) else "ansible-playbook"


class Run(object):
    """One ansible-playbook run: exit code, the text it printed, and its cases."""

    def __init__(self, rc, stdout, stderr, record, files):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.order = record.get("order", [])
        self.cases = dict((name, Case(name, data)) for name, data in record.get("cases", {}).items())
        self.files = files

    def __getitem__(self, name):
        if name not in self.cases:
            raise KeyError("case %r did not run; the run printed:\n%s\n%s" % (name, self.stdout[-3000:], self.stderr[-3000:]))
        return self.cases[name]

    def text(self):
        """Everything the run showed or wrote: stdout, stderr and every recorded result."""
        return "\n".join([self.stdout, self.stderr, json.dumps(self.order), json.dumps(
            dict((name, case.data) for name, case in self.cases.items()))])


class Case(object):
    """The task results and simulator request logs of one case."""

    def __init__(self, name, data):
        self.name = name
        self.data = data
        self.results = data["results"]
        self.requests = data["requests"]

    def module_results(self, host=None):
        return [r for r in self.results if r["action"].startswith("pluto.lms.")
                and (host is None or r.get("host") == host)]

    @property
    def result(self):
        """The outcome a user reads: the first failed result, else the last pluto.lms module result."""
        failed = [r for r in self.results if r["status"] in ("failed", "item failed")]
        if failed:
            return failed[0]
        results = self.module_results() or self.results
        return results[-1]

    @property
    def failed(self):
        return self.result["status"] in ("failed", "item failed")

    @property
    def msg(self):
        return str(self.result["result"].get("msg", ""))

    @property
    def changed(self):
        """Whether any pluto.lms task of the case (a role runs several) reported a change."""
        return any(r["result"].get("changed") for r in self.module_results() or [self.result])

    @property
    def warnings(self):
        return [str(w) for r in self.module_results() for w in r["result"].get("warnings") or []]

    def log(self, site="site"):
        return self.requests.get(site, [])

    def writes(self, site="site"):
        return [r for r in self.log(site) if r["write"]]

    def calls(self, site="site"):
        return [r["wsfunction"] for r in self.log(site)]


def run_playbook(playbook, sites, extra_vars=None, faults=None, env=None, args=(), inventory=None, module_process=False,
                 manage_logs=True):
    """Run tests/reliability/playbooks/<playbook> (or a path) against sites {name: simulator}; a Run."""
    return start_playbook(playbook, sites, extra_vars, faults, env, args, inventory, module_process, manage_logs).wait()


def start_playbook(playbook, sites, extra_vars=None, faults=None, env=None, args=(), inventory=None, module_process=False,
                   manage_logs=True):
    """Start the playbook and return at once; .wait() gives its Run.

    extra_vars go in a vars file (tokens included); the variable <name>_url holds each site's URL;
    faults: {case id: {site name: fault spec}}. manage_logs False leaves the simulators' request logs
    and faults alone (for playbooks that run at the same time as others).
    """
    work = tempfile.mkdtemp(prefix="pluto-reliability-")
    variables = dict(("%s_url" % name, sim.url) for name, sim in sites.items())
    variables.update(extra_vars or {})
    vars_file = os.path.join(work, "vars.json")
    with open(vars_file, "w") as handle:
        json.dump(variables, handle)
    cases_file = os.path.join(work, "cases.json")
    with open(cases_file, "w") as handle:
        json.dump(faults or {}, handle)
    record_file = os.path.join(work, "record.json")
    environment = dict((k, v) for k, v in os.environ.items() if not k.startswith(("PLUTO_", "ANSIBLE_")))
    environment.update({
        "ANSIBLE_COLLECTIONS_PATH": collections_path(),
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(HERE, "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "reliability_record",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_HOME": os.path.join(work, "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": os.path.join(work, "tmp"),
        "RELIABILITY_RECORD": record_file,
        "RELIABILITY_CASES": cases_file,
        "RELIABILITY_SIMULATORS": json.dumps(dict((name, sim.url) for name, sim in sites.items()) if manage_logs else {}),
    })
    if module_process:
        environment["PLUTO_LMS_MODULE_PROCESS"] = "1"
    environment.update(env or {})
    path = playbook if os.path.isabs(playbook) else os.path.join(PLAYBOOKS, playbook)
    command = [ansible_playbook(), path, "-e", "@" + vars_file] + list(args)
    if inventory:
        command += ["-i", inventory]
    stdout = open(os.path.join(work, "stdout"), "w+b")
    stderr = open(os.path.join(work, "stderr"), "w+b")
    process = subprocess.Popen(command, cwd=work, env=environment, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)
    return Pending(process, stdout, stderr, record_file, {"work": work, "vars": vars_file})


class Pending(object):
    """A running ansible-playbook."""

    def __init__(self, process, stdout, stderr, record_file, files):
        self.process = process
        self.stdout = stdout
        self.stderr = stderr
        self.record_file = record_file
        self.files = files

    def wait(self, timeout=600):
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        texts = []
        for handle in (self.stdout, self.stderr):
            handle.seek(0)
            texts.append(handle.read().decode("utf-8", "replace"))
            handle.close()
        if "Callback dispatch" in texts[1] or not os.path.exists(self.record_file):
            raise AssertionError("the test callback did not record the run:\n%s\n%s" % (texts[0][-3000:], texts[1][-3000:]))
        with open(self.record_file) as handle:
            record = json.load(handle)
        return Run(self.process.returncode, texts[0], texts[1], record, self.files)


# ---- the matrices' rows -----------------------------------------------------------------------

SITE_ADDRESS = re.compile(r"\b(127\.0\.0\.[12]|localhost):\d+")
TEMP_DIRECTORY = re.compile(r"/[^\s'\":]*/pytest-\d+/")


def normalize(text, limit=400):
    """A message as the report shows it: one line, what changes from run to run (the simulators' ports,
    temporary paths, the order of Ansible's list of booleans) replaced."""
    text = SITE_ADDRESS.sub("SITE", str(text))
    text = TEMP_DIRECTORY.sub("<tmp>/", text)
    # Ansible lists the valid booleans from a set: their order changes from run to run.
    text = re.sub(r"Valid booleans include: [^;]*", "Valid booleans include: (Ansible's list)", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[:limit - 3] + "..."


def outcome(case):
    """`failed: <message>` or `ok` / `ok, changed`, with the warnings, as one line."""
    if case.failed:
        text = "failed: %s" % case.msg
    else:
        text = "ok, changed" if case.changed else "ok, unchanged"
    if case.warnings:
        text += " (warning: %s)" % "; ".join(case.warnings)
    return normalize(text)


def row(request, matrix, case, what, expected, observed, gap=None):
    """Keep one matrix row for the report (the outcome of the test is added when it finishes).

    gap: why the case does not meet its expectation today (the test is a strict xfail).
    """
    ROWS[request.node.nodeid] = {"matrix": matrix, "case": case, "input": what, "expected": expected,
                                 "observed": normalize(observed, 600), "test": request.node.nodeid, "gap": gap}

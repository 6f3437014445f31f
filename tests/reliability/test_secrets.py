# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The token is never shown: every module and the role, success and failure paths, -vvvv --diff, both paths.

Three distinctive tokens (the good one, a viewer's, and a wrong one) must appear nowhere: not in stdout or
stderr, not in any task result (messages, diffs, warnings, exceptions, invocation), not in the simulator's
request log or its own stderr (run with --verbose and --debug).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from tests.reliability.harness import ROOT, outcome, row, run_playbook
from tests.simulator.process import start_simulator

SECRET = "Tk-SECRET-9f3e1a7c-d15t1nct"
VIEWER = "Tk-SECRET-viewer-41d0e8b2"
WRONG = "Tk-SECRET-wrong-77c2b5aa"
SEED = os.path.join(ROOT, "tests", "reliability", "files", "seed.yml")
FAULTS = {
    "site-down-cohort": {"site": {"mode": "503", "count": -1}},
    "site-down-info": {"site": {"mode": "503", "count": -1}},
    "site-down-member": {"site": {"mode": "503", "count": -1}},
    "login-page": {"site": {"mode": "html", "count": -1, "writes_only": True}},
    "xml-answer": {"site": {"mode": "xml", "count": -1}},
    "timeout": {"site": {"mode": "timeout", "count": -1}},
    "lost-answer": {"site": {"mode": "lost", "count": 1, "functions": ["core_cohort_create_cohorts"]}},
    "role-site-down": {"site": {"mode": "503", "count": -1}},
}
# What each case must do, so that the run is known to have gone through both kinds of path.
FAILING = ["missing-users", "unknown-option", "wrong-token", "viewer-token", "token-in-the-url-query", "token-in-the-url-path",
           "site-down-cohort", "site-down-info", "site-down-member", "login-page", "xml-answer", "timeout", "role-site-down",
           "role-missing-users", "role-bad-variables"]
CHANGING = ["create", "update", "members", "lost-answer", "delete", "role"]


@pytest.fixture(scope="module", params=["action", "module process"])
def secrets_run(request):
    site = start_simulator("--verbose", seed_users=10, seed_file=SEED, debug=True, timeout_fault_s=2,
                           token=[SECRET + ":manager", VIEWER + ":viewer"])
    try:
        run = run_playbook("secrets.yml", {"site": site}, {"pluto_token": SECRET, "viewer_token": VIEWER, "wrong_token": WRONG},
                           faults=FAULTS, args=["-vvvv", "--diff"], env={"PLUTO_TOKEN": SECRET},
                           module_process=request.param == "module process")
        log = json.dumps(site.requests())
    finally:
        site.stop()
    yield request.param, run, log, site.stderr()


def test_the_run_went_through_success_and_failure_paths(secrets_run):
    _path, run, _log, _stderr = secrets_run
    for name in FAILING:
        assert run[name].failed, name
    for name in CHANGING:
        assert run[name].changed and not run[name].failed, (name, outcome(run[name]))
    assert not run["token-from-the-controller-environment"].failed
    # -vvvv shows each task's arguments; the token's place says it was hidden.
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.stdout
    assert "--- before" in run.stdout and "+++ after" in run.stdout


def test_no_token_anywhere(request, secrets_run):
    path, run, log, sim_stderr = secrets_run
    places = {"stdout": run.stdout, "stderr": run.stderr, "task results": run.text(), "simulator request log": log,
              "simulator stderr": sim_stderr}
    found = ["%s in %s" % (token_name, place) for place, text in places.items()
             for token_name, token in (("the token", SECRET), ("the viewer's token", VIEWER), ("the wrong token", WRONG))
             if token in text]
    row(request, "secrets", "no-token-anywhere (%s)" % path,
        "%d tasks of every module and the role (%d failing), -vvvv --diff, %s" % (len(run.order), len(FAILING), path),
        "no token in stdout, stderr, results (messages, diffs, warnings, exceptions, invocation), the simulator's log",
        "found: " + ", ".join(found) if found else "none of the 3 tokens found in %s" % ", ".join(sorted(places)))
    assert not found


def test_a_token_in_the_url_is_refused_before_any_request(secrets_run):
    _path, run, _log, _stderr = secrets_run
    # The url option's value is shown to say what is wrong with it; the token inside it is masked.
    assert "wstoken=********" in run["token-in-the-url-query"].msg
    # A token in the path would reach the web server's access log: refused before it is sent.
    for name in ("token-in-the-url-query", "token-in-the-url-path"):
        assert run[name].log() == []
    assert "url contains the token" in run["token-in-the-url-path"].msg

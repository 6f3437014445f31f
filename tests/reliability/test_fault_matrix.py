# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault matrix: the site misbehaves, and each case ends converged or with one clear error; the
rerun (once the site behaves) converges. Faults are the simulator's, set per case (FAULTS) by the test
callback, so every case is deterministic.

- playbooks/faults.yml: faults of the site (one run through the action plugins; the cases tagged
  `key` once more through the module process, which must show the same outcome);
- playbooks/race.yml: someone else deletes the cohort between the task's read and its write
  (a proxy in front of the site does it just before the write);
- playbooks/concurrent.yml: two ansible-playbook processes sync the same cohort at the same time,
  straight to the site, and through a proxy that makes their add requests collide the way the
  reference measured on a real site (one fails whole with dmlwriteexception).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from tests.reliability.harness import ROOT, outcome, row, run_playbook, start_playbook
from tests.reliability.proxy import RaceProxy
from tests.simulator.process import start_simulator

SEED = os.path.join(ROOT, "tests", "reliability", "files", "seed.yml")
MANAGER = "Tk-faults-manager-3b7d"
VIEWER = "Tk-faults-viewer-81c0"
LIMITED = "Tk-faults-limited-a4e2"
REVOKED = "Tk-faults-revoked-0000"
WRITES = ["core_cohort_create_cohorts", "core_cohort_update_cohorts", "core_cohort_add_cohort_members",
          "core_cohort_delete_cohort_members"]
TOKENS = [MANAGER + ":manager", VIEWER + ":viewer", LIMITED + ":manager:" + ",".join("-" + f for f in WRITES),
          "someone-else:manager"]
VARIABLES = {"pluto_token": MANAGER, "viewer_token": VIEWER, "limited_token": LIMITED, "revoked_token": REVOKED}
FIFTY = ["u%05d" % n for n in range(1, 51)]


def fault(mode, *functions, **kwargs):
    spec = dict(mode=mode, count=kwargs.pop("count", -1), **kwargs)
    if functions:
        spec["functions"] = list(functions)
    return {"site": spec}


FAULTS = {
    "503-burst-on-reads": fault("503", count=2),
    "503-burst-on-a-create": fault("503", "core_cohort_create_cohorts", count=2),
    "503-burst-on-member-adds": fault("503", "core_cohort_add_cohort_members", count=2),
    "503-longer-than-the-retries": fault("503"),
    "reset-on-a-read": fault("reset", "core_cohort_get_cohort_members", count=1),
    "reset-on-a-create": fault("reset", "core_cohort_create_cohorts", count=1),
    "reset-on-a-member-removal": fault("reset", "core_cohort_delete_cohort_members", count=1),
    "read-timeout-once": fault("timeout", count=1),
    "read-timeout-every-time": fault("timeout"),
    "html-login-page": fault("html"),
    "html-login-page-on-a-write": fault("html", writes_only=True),
    "xml-answer": fault("xml"),
    "xml-answer-to-an-applied-write": fault("xml", writes_only=True),
    "404-page": fault("404"),
    "lost-answer-to-a-create": fault("lost", "core_cohort_create_cohorts", count=1),
    "lost-answer-to-an-update": fault("lost", "core_cohort_update_cohorts", count=1),
    "lost-answer-to-a-delete": fault("lost", "core_cohort_delete_cohorts", count=1),
    "lost-answer-to-a-member-add": fault("lost", "core_cohort_add_cohort_members", count=1),
    "lost-answer-to-a-member-removal": fault("lost", "core_cohort_delete_cohort_members", count=1),
    "fault-on-chunk-3-of-5": fault("503", "core_cohort_add_cohort_members", skip=2),
    "role-503-burst": fault("503", count=2),
    "role-site-down": fault("503"),
}


def statuses(case, wsfunction=None):
    return [r["status"] for r in case.log() if wsfunction is None or r["wsfunction"] == wsfunction]


def cohorts(state, idnumber):
    return [c for c in state["cohorts"] if c["idnumber"] == idnumber]


def member_names(state, idnumber):
    names = dict((u["id"], u["username"]) for u in state["users"])
    return sorted(names[m] for c in cohorts(state, idnumber) for m in c["members"])


def converged(run, name):
    """The rerun after the fault: ok, and a run after it would change nothing."""
    rerun = run[name + "/rerun"]
    return not rerun.failed


def quiet(run, name):
    """The rerun changed nothing and sent no write."""
    rerun = run[name + "/rerun"]
    return not rerun.failed and not rerun.changed and not rerun.writes()


# case -> (fault and task, expected, check(run, state) -> bool)
CASES = {
    "503-burst-on-reads": (
        "HTTP 503 twice (every function); pluto_cohort_info, retries 2",
        "ok after 2 retries; rerun ok", lambda r, s: not r["503-burst-on-reads"].failed and statuses(r["503-burst-on-reads"])[:3] == [503, 503, 200]),
    "503-burst-on-a-create": (
        "HTTP 503 on the first 2 create requests; pluto_cohort creates, retries 2",
        "ok, created once (read back after each 503, then sent again); rerun unchanged",
        lambda r, s: (r["503-burst-on-a-create"].changed and statuses(r["503-burst-on-a-create"], "core_cohort_create_cohorts")
                      == [503, 503, 200] and len(cohorts(s, "f-503")) == 1 and quiet(r, "503-burst-on-a-create"))),
    "503-burst-on-member-adds": (
        "HTTP 503 on the first 2 add requests; pluto_cohort_member adds 2 users",
        "ok, added; rerun unchanged",
        lambda r, s: (r["503-burst-on-member-adds"].changed and statuses(r["503-burst-on-member-adds"], "core_cohort_add_cohort_members")
                      == [503, 503, 200] and quiet(r, "503-burst-on-member-adds"))),
    "503-longer-than-the-retries": (
        "HTTP 503 on every request; pluto_cohort creates, retries 2",
        "fails: HTTP 503, the site may be overloaded or down (after 3 attempts); nothing written; rerun creates it",
        lambda r, s: (r["503-longer-than-the-retries"].failed and "HTTP 503" in r["503-longer-than-the-retries"].msg
                      and "after 3 attempts" in r["503-longer-than-the-retries"].msg
                      and statuses(r["503-longer-than-the-retries"]) == [503] * 3
                      and r["503-longer-than-the-retries/rerun"].changed and len(cohorts(s, "f-503-long")) == 1)),
    "reset-on-a-read": (
        "connection reset on the first get_cohort_members; pluto_cohort_info include_members",
        "ok (reads are sent again); rerun ok",
        lambda r, s: (not r["reset-on-a-read"].failed and statuses(r["reset-on-a-read"], "core_cohort_get_cohort_members") == [None, 200]
                      and r["reset-on-a-read"].result["result"]["cohorts"][0]["member_count"] == 3 + 2)),
    "reset-on-a-create": (
        "connection reset on the first create request (not applied); pluto_cohort creates",
        "ok, created once (read back: not applied, so sent again); rerun unchanged",
        lambda r, s: (r["reset-on-a-create"].changed and len(r["reset-on-a-create"].writes()) == 2
                      and len(cohorts(s, "f-reset")) == 1 and quiet(r, "reset-on-a-create"))),
    "reset-on-a-member-removal": (
        "connection reset on the first remove request; pluto_cohort_member state absent",
        "ok, removed (a removal is safe to send again); rerun unchanged",
        lambda r, s: r["reset-on-a-member-removal"].changed and quiet(r, "reset-on-a-member-removal")),
    "read-timeout-once": (
        "the first request gets no answer; timeout 1, retries 1",
        "ok after one retry; rerun ok", lambda r, s: not r["read-timeout-once"].failed),
    "read-timeout-every-time": (
        "no request gets an answer; timeout 1, retries 1",
        "fails: no answer from the site within 1 seconds (after 2 attempts); rerun ok",
        lambda r, s: (r["read-timeout-every-time"].failed
                      and "no answer from http://127.0.0.1:" in r["read-timeout-every-time"].msg
                      and "within 1 seconds (after 2 attempts)" in r["read-timeout-every-time"].msg
                      and converged(r, "read-timeout-every-time"))),
    "html-login-page": (
        "every answer is a login page with HTTP 200 (a proxy); pluto_cohort creates",
        "fails: an HTML page instead of JSON, with its title (a login page, proxy or maintenance page, or a wrong url); "
        "nothing written; rerun creates it",
        lambda r, s: (r["html-login-page"].failed and "HTML page instead of JSON" in r["html-login-page"].msg
                      and "title 'Log in to the site" in r["html-login-page"].msg and not r["html-login-page"].writes()
                      and r["html-login-page/rerun"].changed)),
    "html-login-page-on-a-write": (
        "the add request is answered with a login page (not applied); pluto_cohort_member adds 1 user",
        "fails: an HTML page instead of JSON, says the request may have been applied and to run again; rerun adds the user",
        lambda r, s: (r["html-login-page-on-a-write"].failed and "HTML page instead of JSON" in r["html-login-page-on-a-write"].msg
                      and "run the task again" in r["html-login-page-on-a-write"].msg
                      and r["html-login-page-on-a-write/rerun"].changed and "u00012" in member_names(s, "staff"))),
    "xml-answer": (
        "every answer is XML (the format ignored); pluto_cohort_info",
        "fails: XML instead of JSON, check url and that REST is enabled; rerun ok",
        lambda r, s: (r["xml-answer"].failed and "XML instead of JSON" in r["xml-answer"].msg and "check url" in r["xml-answer"].msg
                      and converged(r, "xml-answer"))),
    "xml-answer-to-an-applied-write": (
        "the add request is applied but answered in XML; pluto_cohort_member adds 1 user",
        "fails: XML instead of JSON; does not claim that nothing changed (the site may have applied it); the rerun "
        "finds the user added and changes nothing",
        lambda r, s: (r["xml-answer-to-an-applied-write"].failed and "XML instead of JSON" in r["xml-answer-to-an-applied-write"].msg
                      and "nothing was changed" not in r["xml-answer-to-an-applied-write"].msg
                      and "run the task again" in r["xml-answer-to-an-applied-write"].msg
                      and quiet(r, "xml-answer-to-an-applied-write") and "u00013" in member_names(s, "staff"))),
    "404-page": (
        "every answer is the web server's 404 page; pluto_cohort_info",
        "fails: HTTP 404, no web service at that address; check url; rerun (the site answers again) ok",
        lambda r, s: r["404-page"].failed and "HTTP 404" in r["404-page"].msg and "check url" in r["404-page"].msg),
    "wrong-url-path": (
        "url: the site's address plus /moodle (a real 404)",
        "fails: HTTP 404 from .../moodle/webservice/rest/server.php; check url; rerun with the right url ok",
        lambda r, s: (r["wrong-url-path"].failed and "/moodle/webservice/rest/server.php" in r["wrong-url-path"].msg
                      and "check url" in r["wrong-url-path"].msg and converged(r, "wrong-url-path"))),
    "invalid-token": (
        "a token the site does not know (revoked); pluto_cohort creates",
        "fails: invalidtoken, check token (wrong, expired or revoked); rerun with the right token creates it",
        lambda r, s: (r["invalid-token"].failed and "errorcode invalidtoken" in r["invalid-token"].msg
                      and "check token" in r["invalid-token"].msg and r["invalid-token/rerun"].changed)),
    "functions-missing-for-pluto_cohort": (
        "the token's service lacks the 4 write functions; pluto_cohort creates",
        "fails before any write naming both functions it needs: create_cohorts and update_cohorts; rerun with the "
        "manager's token creates it",
        lambda r, s: (r["functions-missing-for-pluto_cohort"].failed
                      and "lacks 2 function(s) this task needs: core_cohort_create_cohorts, core_cohort_update_cohorts"
                      in r["functions-missing-for-pluto_cohort"].msg and r["functions-missing-for-pluto_cohort"].calls()
                      == ["core_webservice_get_site_info"])),
    "functions-missing-for-pluto_cohort_member": (
        "the same token; pluto_cohort_member state exact",
        "fails before any write naming delete_cohort_members, the one write function the sync needs (u00001 is a "
        "member already); rerun with the manager's token syncs",
        lambda r, s: (r["functions-missing-for-pluto_cohort_member"].failed
                      and "lacks 1 function(s) this task needs: core_cohort_delete_cohort_members"
                      in r["functions-missing-for-pluto_cohort_member"].msg
                      and not r["functions-missing-for-pluto_cohort_member"].writes())),
    "functions-missing-for-pluto_cohort_info": (
        "the same token; pluto_cohort_info include_members (reads only)",
        "ok: the reads it needs are there; rerun ok",
        lambda r, s: not r["functions-missing-for-pluto_cohort_info"].failed),
    "viewer-creates-a-cohort": (
        "a viewer token (moodle/cohort:view only); pluto_cohort creates",
        "fails: nopermissions, the token's user needs moodle/cohort:manage; nothing created; rerun with the manager's "
        "token creates it",
        lambda r, s: (r["viewer-creates-a-cohort"].failed and "errorcode nopermissions" in r["viewer-creates-a-cohort"].msg
                      and "needs the capability moodle/cohort:manage" in r["viewer-creates-a-cohort"].msg
                      and [w["errorcode"] for w in r["viewer-creates-a-cohort"].writes()] == ["nopermissions"]
                      and len(cohorts(s, "f-viewer")) == 1)),
    "viewer-renames-a-cohort": (
        "a viewer token; pluto_cohort renames",
        "fails: needs moodle/cohort:manage; rerun with the manager's token renames it",
        lambda r, s: r["viewer-renames-a-cohort"].failed and "moodle/cohort:manage" in r["viewer-renames-a-cohort"].msg),
    "viewer-deletes-a-cohort": (
        "a viewer token; pluto_cohort state absent",
        "fails: needs moodle/cohort:manage; the cohort stays; rerun with the manager's token deletes it",
        lambda r, s: r["viewer-deletes-a-cohort"].failed and "moodle/cohort:manage" in r["viewer-deletes-a-cohort"].msg),
    "viewer-adds-members": (
        "a viewer token; pluto_cohort_member adds users by id",
        "fails before any write: the users are not found, and if they exist the token's user lacks "
        "moodle/user:viewdetails (the site answers such a lookup with no users); rerun with the manager's token adds "
        "them",
        lambda r, s: (r["viewer-adds-members"].failed
                      and "a lookup by id needs moodle/user:viewdetails" in r["viewer-adds-members"].msg
                      and not r["viewer-adds-members"].writes())),
    "viewer-empties-a-cohort": (
        "a viewer token; pluto_cohort_member state exact, users: []",
        "fails: nopermissions, needs moodle/cohort:assign; nothing removed; rerun with the manager's token empties it",
        lambda r, s: (r["viewer-empties-a-cohort"].failed and "needs the capability moodle/cohort:assign"
                      in r["viewer-empties-a-cohort"].msg and r["viewer-empties-a-cohort"].writes()
                      and r["viewer-empties-a-cohort/rerun"].changed and member_names(s, "viewer-target") == [])),
    "lost-answer-to-a-create": (
        "the create is applied, its answer lost",
        "ok, changed: the client reads back and finds it, sends no second create; rerun unchanged",
        lambda r, s: (r["lost-answer-to-a-create"].changed and not r["lost-answer-to-a-create"].failed
                      and len(r["lost-answer-to-a-create"].writes()) == 1 and quiet(r, "lost-answer-to-a-create"))),
    "lost-answer-to-an-update": (
        "the update is applied, its answer lost",
        "ok, changed (an update is safe to send again); rerun unchanged",
        lambda r, s: (r["lost-answer-to-an-update"].changed and not r["lost-answer-to-an-update"].failed
                      and quiet(r, "lost-answer-to-an-update"))),
    "lost-answer-to-a-delete": (
        "the delete is applied, its answer lost",
        "ok, changed: read back, it is gone, no second delete (which the site would fail); rerun unchanged",
        lambda r, s: (r["lost-answer-to-a-delete"].changed and not r["lost-answer-to-a-delete"].failed
                      and len(r["lost-answer-to-a-delete"].writes()) == 1 and quiet(r, "lost-answer-to-a-delete")
                      and not cohorts(s, "f-lost"))),
    "lost-answer-to-a-member-add": (
        "the add is applied, its answer lost",
        "ok, changed: sent again, the site's 'already a member' warnings are expected; rerun unchanged",
        lambda r, s: (r["lost-answer-to-a-member-add"].changed and not r["lost-answer-to-a-member-add"].failed
                      and not r["lost-answer-to-a-member-add"].warnings and quiet(r, "lost-answer-to-a-member-add"))),
    "lost-answer-to-a-member-removal": (
        "the removal is applied, its answer lost",
        "ok, changed (removing a non-member is a no-op); rerun unchanged",
        lambda r, s: (r["lost-answer-to-a-member-removal"].changed and not r["lost-answer-to-a-member-removal"].failed
                      and quiet(r, "lost-answer-to-a-member-removal"))),
    "fault-on-chunk-3-of-5": (
        "50 users in 5 add requests of 10; HTTP 503 from the third on; retries 1",
        "fails, changed: request 3 of 5, the 20 users applied are listed in added; rerun adds the other 30; "
        "a third run changes nothing",
        lambda r, s: (r["fault-on-chunk-3-of-5"].failed and r["fault-on-chunk-3-of-5"].changed
                      and r["fault-on-chunk-3-of-5"].result["result"]["added"] == FIFTY[:20]
                      and "request 3 of 5" in r["fault-on-chunk-3-of-5"].msg
                      and "20 of 50 additions" in r["fault-on-chunk-3-of-5"].msg
                      and "run the task again" in r["fault-on-chunk-3-of-5"].msg
                      and r["fault-on-chunk-3-of-5/rerun"].result["result"]["added"] == FIFTY[20:]
                      and not r["fault-on-chunk-3-of-5/again"].changed and member_names(s, "chunks") == FIFTY)),
    "role-503-burst": (
        "HTTP 503 twice; the role cohort_bootstrap (2 cohorts, one with members)",
        "ok, changed; rerun unchanged",
        lambda r, s: not r["role-503-burst"].failed and r["role-503-burst"].changed and quiet(r, "role-503-burst")),
    "role-site-down": (
        "HTTP 503 on every request; the role",
        "fails at its first read (HTTP 503, after 3 attempts), nothing written; rerun converges",
        lambda r, s: (r["role-site-down"].failed and "HTTP 503" in r["role-site-down"].msg and not r["role-site-down"].writes()
                      and r["role-site-down/rerun"].changed and not r["role-site-down/rerun"].failed
                      and member_names(s, "students") == ["u00001", "u00002", "u00003"]
                      and [c["visible"] for c in cohorts(s, "alumni")] == [False])),
}

RACES = {
    "cohort-deleted-before-an-update": (
        "pluto_cohort renames; someone else deletes the cohort after the read",
        "fails: the update's invalidrecord, and says the cohort no longer exists (deleted since it was read); the rerun "
        "creates it again",
        lambda r, s: (r["cohort-deleted-before-an-update"].failed
                      and "the cohort no longer exists on the site" in r["cohort-deleted-before-an-update"].msg
                      and r["cohort-deleted-before-an-update/rerun"].changed
                      and [c["name"] for c in cohorts(s, "race-update")] == ["Race update renamed"])),
    "cohort-deleted-before-its-delete": (
        "pluto_cohort state absent; someone else deletes it first",
        "ok, with a warning that someone else deleted it (the site failed the delete: invalidrecord); rerun unchanged",
        lambda r, s: (not r["cohort-deleted-before-its-delete"].failed
                      and any("deleted by someone else" in w for w in r["cohort-deleted-before-its-delete"].warnings)
                      and quiet(r, "cohort-deleted-before-its-delete"))),
    "cohort-deleted-before-member-adds": (
        "pluto_cohort_member adds 2 users; someone else deletes the cohort first",
        "fails, not changed, added empty: the cohort was deleted while the task ran; the rerun says there is no such cohort",
        lambda r, s: (r["cohort-deleted-before-member-adds"].failed and not r["cohort-deleted-before-member-adds"].changed
                      and r["cohort-deleted-before-member-adds"].result["result"].get("added") == []
                      and "was deleted from the site while this task ran" in r["cohort-deleted-before-member-adds"].msg
                      and "there is no cohort with idnumber 'race-add'" in r["cohort-deleted-before-member-adds/rerun"].msg)),
    "cohort-deleted-before-member-removals": (
        "pluto_cohort_member removes 1 user; someone else deletes the cohort first",
        "fails, not changed: the cohort was deleted while the task ran; the rerun says there is no such cohort",
        lambda r, s: (r["cohort-deleted-before-member-removals"].failed and not r["cohort-deleted-before-member-removals"].changed
                      and "was deleted from the site while this task ran" in r["cohort-deleted-before-member-removals"].msg
                      and "there is no cohort" in r["cohort-deleted-before-member-removals/rerun"].msg)),
}
# case -> (the write before which someone else deletes the cohort, the cohort)
RACE_WRITES = {
    "cohort-deleted-before-an-update": ("core_cohort_update_cohorts", "race-update"),
    "cohort-deleted-before-its-delete": ("core_cohort_delete_cohorts", "race-delete"),
    "cohort-deleted-before-member-adds": ("core_cohort_add_cohort_members", "race-add"),
    "cohort-deleted-before-member-removals": ("core_cohort_delete_cohort_members", "race-remove"),
}


def observed(run, name):
    text = outcome(run[name])
    for suffix in ("rerun", "again"):
        if name + "/" + suffix in run.cases:
            text += "; %s: %s" % (suffix, outcome(run[name + "/" + suffix]))
    return text


def start_site():
    return start_simulator(seed_users=60, seed_file=SEED, token=TOKENS, timeout_fault_s=3)


@pytest.fixture(scope="module")
def faults_run():
    site = start_site()
    try:
        run = run_playbook("faults.yml", {"site": site}, VARIABLES, faults=FAULTS)
        yield run, site.state()
    finally:
        site.stop()


@pytest.fixture(scope="module")
def faults_run_module_process():
    site = start_site()
    try:
        yield run_playbook("faults.yml", {"site": site}, VARIABLES, faults=FAULTS, module_process=True, args=["--tags", "key"])
    finally:
        site.stop()


def delete_by_someone_else(site, idnumber):
    def delete():
        answer = site.call("core_cohort_search_cohorts", {"query": idnumber, "context": {"contextlevel": "system", "instanceid": 0},
                                                          "includes": "all", "limitnum": 0}, token="someone-else")
        ids = [c["id"] for c in answer["cohorts"] if c["idnumber"] == idnumber]
        site.call("core_cohort_delete_cohorts", {"cohortids": ids}, token="someone-else")
    return delete


@pytest.fixture(scope="module", params=["action", "module process"])
def race_run(request):
    site = start_site()
    proxy = RaceProxy(site.url).start()
    for wsfunction, idnumber in RACE_WRITES.values():
        proxy.before_write(wsfunction, delete_by_someone_else(site, idnumber))
    try:
        run = run_playbook("race.yml", {"site": site}, dict(VARIABLES, proxy_url=proxy.url),
                           module_process=request.param == "module process")
        yield run, site.state(), proxy.events
    finally:
        proxy.stop()
        site.stop()


def test_every_case_of_the_playbook_is_in_the_matrix(faults_run):
    assert set(name.split("/")[0] for name in faults_run[0].order) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_fault(request, faults_run, name):
    run, state = faults_run
    what, expected, check = CASES[name]
    row(request, "fault", name, what, expected, observed(run, name))
    assert check(run, state), observed(run, name)
    # Every case is run once more when the site behaves (or with the right token): that run must not fail.
    assert not run[name + "/rerun"].failed, observed(run, name)


# The cases tagged `key` in playbooks/faults.yml: they run once more through the module process.
KEY_CASES = ["503-burst-on-a-create", "503-longer-than-the-retries", "reset-on-a-create", "read-timeout-every-time",
             "html-login-page", "xml-answer", "404-page", "wrong-url-path", "invalid-token", "functions-missing-for-pluto_cohort",
             "functions-missing-for-pluto_cohort_member", "viewer-creates-a-cohort", "viewer-adds-members",
             "viewer-empties-a-cohort", "lost-answer-to-a-create", "lost-answer-to-a-delete", "lost-answer-to-a-member-add",
             "fault-on-chunk-3-of-5"]


def test_the_module_process_ran_exactly_the_key_cases(faults_run_module_process):
    assert set(name.split("/")[0] for name in faults_run_module_process.order) == set(KEY_CASES)


@pytest.mark.parametrize("name", KEY_CASES)
def test_fault_module_process_shows_the_same(faults_run, faults_run_module_process, name):
    run = faults_run[0]
    assert observed(faults_run_module_process, name) == observed(run, name)


@pytest.mark.parametrize("name", sorted(RACES))
def test_race(request, race_run, name):
    run, state, events = race_run
    what, expected, check = RACES[name]
    if "[action-" in request.node.nodeid:
        row(request, "fault", name, what, expected, observed(run, name))
    assert "someone else acted before %s" % RACE_WRITES[name][0] in events
    assert check(run, state), observed(run, name)


# ---- two playbooks at the same time ------------------------------------------------------------------

FIRST = ["u%05d" % n for n in range(1, 31)]
SECOND = ["u%05d" % n for n in range(21, 51)]


def sync_twice_at_once(site, target_url, cohort_idnumber, module_process=False):
    """Two ansible-playbook processes started together, each adding its users to the cohort; their Runs."""
    pending = []
    for users in (FIRST, SECOND):
        variables = {"pluto_token": MANAGER, "target_url": target_url, "my_users": users, "cohort_idnumber": cohort_idnumber}
        pending.append(start_playbook("concurrent.yml", {"site": site}, variables, manage_logs=False,
                                      module_process=module_process))
    return [p.wait() for p in pending]


def concurrency_observed(first, second, members, events):
    runs = [r["concurrent-member-sync"] for r in first] + [r["concurrent-member-sync"] for r in second]
    text = "first round: %s; members on the site: %d of the %d wanted; rerun of both: %s" % (
        " and ".join(sorted(outcome(c) for c in runs[:2])), len(members), len(set(FIRST) | set(SECOND)),
        " and ".join(sorted(outcome(c) for c in runs[2:])))
    if events:
        text += "; the proxy: " + ", ".join(sorted(events))
    return text


@pytest.mark.parametrize("collide", [False, True], ids=["straight-to-the-site", "colliding-adds"])
def test_two_playbooks_sync_the_same_cohort_at_the_same_time(request, collide):
    site = start_site()
    proxy = None
    try:
        cohort_idnumber = "collide" if collide else "shared"
        target = site.url
        if collide:
            proxy = RaceProxy(site.url).start()
            proxy.collide("core_cohort_add_cohort_members", wait=60)
            target = proxy.url
        first = sync_twice_at_once(site, target, cohort_idnumber)
        members = member_names(site.state(), cohort_idnumber)
        second = sync_twice_at_once(site, target, cohort_idnumber)
        events = proxy.events if proxy else []
        name = "two-playbooks-sync-one-cohort" + ("-adds-collide" if collide else "")
        row(request, "fault", name,
            "two ansible-playbook processes at once add users 1-30 and 21-50 to one cohort (present)" + (
                "; their add requests collide: the second fails whole with dmlwriteexception, as measured on a real site"
                if collide else ""),
            "both ok; the cohort holds all 50" + (
                "; the one that got dmlwriteexception re-read the members and added what was missing" if collide else ""
            ) + "; a rerun of both changes nothing",
            concurrency_observed(first, second, members, events))
        assert members == sorted(set(FIRST) | set(SECOND))
        for run in first:
            assert not run["concurrent-member-sync"].failed, outcome(run["concurrent-member-sync"])
        for run in second:
            assert not run["concurrent-member-sync"].failed and not run["concurrent-member-sync"].changed
        if collide:
            assert "second core_cohort_add_cohort_members failed with dmlwriteexception" in events
            assert "first core_cohort_add_cohort_members collided" in events
    finally:
        if proxy is not None:
            proxy.stop()
        site.stop()

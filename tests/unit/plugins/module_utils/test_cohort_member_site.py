# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pluto_cohort_member through the module's runner (plan, then apply) with a real client against the
simulator over HTTP: bad input named before any request, ambiguous users, the email rule, what happens
when the site changes under a running task (a user deleted, the cohort deleted), failures part-way
through the writes, and the plan as data.

Races are played by a session that, just before the task's request reaches the site, sends what
"someone else" does to the same simulator; the task's own request then goes through unchanged.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest
import requests

from ansible_collections.pluto.lms.plugins.module_utils import _runner
from ansible_collections.pluto.lms.plugins.module_utils._client import PlutoClient
from ansible_collections.pluto.lms.plugins.module_utils._cohort_member import ADD, REMOVE, plan
from ansible_collections.pluto.lms.plugins.module_utils._reader import SiteReader

TOKEN = "member-unit-token"
LIMITED = "member-unit-limited-token"

SEED = {
    "users": [
        {"username": "mixedcase.mail", "email": "Mixed.Case@Example.edu"},
        {"username": "twin1", "email": "shared@example.edu", "idnumber": "TWIN"},
        {"username": "twin2", "email": "shared@example.edu", "idnumber": "TWIN"},
    ],
    "cohorts": [
        {"name": "Staff", "idnumber": "staff", "members": ["u00001", "u00002"]},
        {"name": "Empty", "idnumber": "empty"},
    ],
}


@pytest.fixture
def site(simulator_factory, tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED))
    return simulator_factory("--token", TOKEN, "--token", LIMITED + ":manager:-core_cohort_delete_cohort_members",
                             seed_users=200, seed_file=str(seed))


def params(**options):
    result = dict(cohort="staff", cohort_id=None, users=[], user_field="username", state="present",
                  missing_users="fail", batch_size=500)
    result.update(options)
    return result


def connection(site, token=TOKEN, retries=0):
    return dict(url=site.url, token=token, validate_certs=True, ca_path=None, timeout=30, retries=retries,
                max_input_vars=5000, lookup_concurrency=4)


def run(site, check_mode=False, session=None, retries=0, token=TOKEN, monkeypatch=None, **options):
    """The task's result as the module returns it; session: the HTTP session its client uses."""
    task = connection(site, token, retries)
    task.update(params(**options))
    if session is not None:
        def client_from_params(options, check):
            client = PlutoClient(options["url"], options["token"], retries=options["retries"], backoff=0.01,
                                 check_mode=check, session=session)
            client.lookup_concurrency = options["lookup_concurrency"]
            return client
        monkeypatch.setattr(_runner, "client_from_params", client_from_params)
    return _runner.run_plan(plan, task, check_mode=check_mode, diff=True)


def fails(site, **options):
    result = run(site, **options)
    assert result.get("failed") is True, result
    return result


def state(site):
    dump = site.state()
    names = dict((u["id"], u["username"]) for u in dump["users"])
    ids = dict((u["username"], u["id"]) for u in dump["users"])
    members = dict((c["idnumber"], sorted(names[m] for m in c["members"])) for c in dump["cohorts"])
    ids.update(("@%s" % c["idnumber"], c["id"]) for c in dump["cohorts"])
    return ids, members


def users(first, last):
    return ["u%05d" % n for n in range(first, last + 1)]


class RaceSession(requests.Session):
    """Runs before(wsfunction, fields) ahead of each request the task sends (the other party's move)."""

    def __init__(self, before):
        super(RaceSession, self).__init__()
        self.before = before

    def post(self, url, data=None, **kwargs):  # pylint: disable=arguments-differ
        self.before(dict(data or [])["wsfunction"], data)
        return super(RaceSession, self).post(url, data=data, **kwargs)


# --- bad input: named at once, before any request ------------------------------------------

@pytest.mark.parametrize("options, text", [
    (dict(user_field="id", users=["5", "x", "-1", "0"]),
     "3 value(s) that are not a positive whole number (a user id): 'x', '-1', '0'"),
    (dict(user_field="email", users=["a@b.c", "nope", "two@@x"]), "2 value(s) that are not email addresses: 'nope', 'two@@x'"),
    (dict(users=["ok", " "]), "1 blank value(s) (' ')"),
    (dict(users=["u00001"], batch_size=0), "batch_size must be between 1 and 500"),
    (dict(users=["u00001"], batch_size=501), "batch_size must be between 1 and 500"),
])
def test_bad_input_is_named_before_any_request(site, options, text):
    result = fails(site, **options)
    assert text in result["msg"]
    assert site.requests() == []


def test_a_missing_function_is_named_before_any_write(site):
    result = fails(site, token=LIMITED, users=["u00003"], state="exact")
    assert "lacks 1 function(s) this task needs: core_cohort_delete_cohort_members" in result["msg"]
    assert [r for r in site.requests() if r["write"]] == []


def test_the_same_token_may_add_without_that_function(site):
    assert run(site, token=LIMITED, users=["u00003"])["added"] == ["u00003"]


@pytest.mark.parametrize("options, text", [
    (dict(cohort="nosuch"), "there is no cohort with idnumber 'nosuch'"),
    (dict(cohort=None, cohort_id=9999), "there is no cohort with id 9999"),
])
def test_an_unknown_cohort(site, options, text):
    result = fails(site, users=["u00003"], **options)
    assert text in result["msg"]
    assert [r for r in site.requests() if r["write"]] == []


def test_a_cohort_only_mariadb_would_take_as_the_same_is_named(site):
    ids = dict((c["idnumber"], c["id"]) for c in site.state()["cohorts"])
    for check_mode in (True, False):
        result = fails(site, cohort="STAFF ", users=["u00003"], check_mode=check_mode)
        assert "there is no cohort with idnumber 'STAFF '" in result["msg"]
        assert "'staff' (id %d)" % ids["staff"] in result["msg"]
    assert [r for r in site.requests() if r["write"]] == []


@pytest.mark.parametrize("field, value", [("email", "shared@example.edu"), ("idnumber", "TWIN")])
def test_a_value_shared_by_two_users_is_refused_before_any_write(site, field, value):
    ids, _members = state(site)
    result = fails(site, user_field=field, users=[value, "EMP00005" if field == "idnumber" else "u00005@example.com"])
    assert "%s (user ids %d, %d)" % (value, ids["twin1"], ids["twin2"]) in result["msg"]
    assert [r for r in site.requests() if r["write"]] == []


def test_more_than_a_hundred_missing_users_are_all_returned(site):
    ghosts = ["ghost%03d" % n for n in range(150)]
    result = fails(site, users=ghosts + ["u00003"])
    assert "150 of the 151 listed users do not exist" in result["msg"]
    assert "ghost099 ... and 50 more (all in missing)" in result["msg"]
    assert result["missing"] == ghosts
    assert [r for r in site.requests() if r["write"]] == []


# --- lookups ---------------------------------------------------------------------------------

def test_emails_match_ignoring_case(site):
    result = run(site, cohort="empty", user_field="email", missing_users="warn",
                 users=["Mixed.Case@Example.edu", "U00003@EXAMPLE.COM", "mixed.case@example.edu"])
    # the stored spelling, and one in another case (the same user: named once, by the first key)
    assert result["added"] == ["Mixed.Case@Example.edu", "U00003@EXAMPLE.COM"]
    assert result["missing"] == []
    lookups = [r for r in site.requests() if r["wsfunction"] == "core_user_get_users_by_field"]
    # as given (3 values), then the one not found and its lowercase spelling
    assert [r["fields"] for r in lookups] == [3 + 1 + 3, 3 + 1 + 2]
    assert state(site)[1]["empty"] == ["mixedcase.mail", "u00003"]


def test_two_spellings_of_one_email_are_one_member(site):
    result = run(site, cohort="empty", user_field="email", users=["u00004@example.com", "U00004@example.com"])
    assert result["added"] == ["U00004@example.com"]
    assert result["member_count"] == 1


def test_lookups_are_chunked_by_a_thousand(site, simulator_factory):
    big = simulator_factory("--token", TOKEN, seed_users=2500)
    cohort = {"categorytype": {"type": "system", "value": ""}, "name": "Big", "idnumber": "big"}
    big.call("core_cohort_create_cohorts", {"cohorts": [cohort]}, token=TOKEN)
    big.reset_log()
    result = run(big, cohort="big", users=users(1, 2500), batch_size=500)
    assert result["member_count"] == 2500
    log = big.requests()
    assert sorted(r["wsfunction"] for r in log if not r["write"]) == [
        "core_cohort_get_cohort_members", "core_cohort_search_cohorts"] + [
        "core_user_get_users_by_field"] * 3 + ["core_webservice_get_site_info"]
    assert len([r for r in log if r["write"]]) == 5


# --- the plan, as data ----------------------------------------------------------------------------

def test_the_plan_is_data_made_by_reads_only(site):
    ids, _members = state(site)
    reader = SiteReader(PlutoClient(site.url, TOKEN, retries=0), 4)
    planned = plan(params(users=["u00001", "u00003", "u00004"], state="exact", batch_size=2), reader)
    assert [r for r in site.requests() if r["write"]] == []
    assert [(op.function, op.items, op.max_items) for op in planned.operations] == [
        (ADD, [{"cohorttype": {"type": "id", "value": ids["@staff"]}, "usertype": {"type": "id", "value": ids[u]}}
               for u in ("u00003", "u00004")], 2),
        (REMOVE, [{"cohortid": ids["@staff"], "userid": ids["u00002"]}], 2)]
    assert planned.result["added"] == ["u00003", "u00004"]
    assert planned.result["removed"] == ["u00002"]
    assert planned.result["member_count"] == 3
    assert "core_user_get_users_by_field" in planned.reads


# --- the site changes under a running task ------------------------------------------------------

def delete_user_before_first_add(site, username):
    ids, _members = state(site)
    done = []

    def before(wsfunction, fields):
        if wsfunction == "core_cohort_add_cohort_members" and not done:
            done.append(True)
            site.call("core_user_delete_users", {"userids": [ids[username]]}, token=TOKEN)
    return RaceSession(before)


def test_a_user_deleted_during_the_task_is_a_missing_user_warn(site, monkeypatch):
    session = delete_user_before_first_add(site, "u00012")
    result = run(site, cohort="empty", users=users(10, 14), missing_users="warn", session=session, monkeypatch=monkeypatch)
    assert result["added"] == ["u00010", "u00011", "u00013", "u00014"]
    assert result["missing"] == ["u00012"]
    assert result["member_count"] == 4
    assert "1 listed users were deleted from the site while this task ran, so they were not added: u00012" in result["warnings"]
    assert state(site)[1]["empty"] == ["u00010", "u00011", "u00013", "u00014"]


def test_a_user_deleted_during_the_task_fails_after_the_writes_with_fail(site, monkeypatch):
    session = delete_user_before_first_add(site, "u00012")
    result = fails(site, cohort="empty", users=users(10, 14), session=session, monkeypatch=monkeypatch)
    assert "deleted from the site while this task ran" in result["msg"]
    assert result["changed"] is True
    assert result["added"] == ["u00010", "u00011", "u00013", "u00014"]
    assert result["missing"] == ["u00012"]


def test_a_user_deleted_during_the_task_is_silent_with_ignore(site, monkeypatch):
    session = delete_user_before_first_add(site, "u00012")
    result = run(site, cohort="empty", users=users(10, 14), missing_users="ignore", session=session, monkeypatch=monkeypatch)
    assert result["missing"] == ["u00012"]
    assert "warnings" not in result


def test_a_member_deleted_before_its_removal_is_not_an_error(site, monkeypatch):
    ids, _members = state(site)
    done = []

    def before(wsfunction, fields):
        if wsfunction == "core_cohort_delete_cohort_members" and not done:
            done.append(True)
            site.call("core_user_delete_users", {"userids": [ids["u00002"]]}, token=TOKEN)

    result = run(site, users=["u00001"], state="exact", session=RaceSession(before), monkeypatch=monkeypatch)
    assert result.get("failed") is not True, result
    assert result["removed"] == ["u00002"]
    assert state(site)[1]["staff"] == ["u00001"]


@pytest.mark.parametrize("state_, users_listed", [("present", ["u00010", "u00011"]), ("exact", ["u00002"])])
def test_the_cohort_deleted_during_the_task_is_named(site, monkeypatch, state_, users_listed):
    ids = dict((c["idnumber"], c["id"]) for c in site.state()["cohorts"])
    done = []

    def before(wsfunction, fields):
        if wsfunction in ("core_cohort_add_cohort_members", "core_cohort_delete_cohort_members") and not done:
            done.append(True)
            site.call("core_cohort_delete_cohorts", {"cohortids": [ids["staff"]]}, token=TOKEN)

    result = fails(site, users=users_listed, state=state_, session=RaceSession(before), monkeypatch=monkeypatch)
    assert "cohort 'staff' (id %d) was deleted from the site while this task ran" % ids["staff"] in result["msg"]
    assert result["changed"] is False
    assert result["added"] == [] and result["removed"] == []


# --- failures part-way through the writes ------------------------------------------------------

def test_an_add_failing_part_way_reports_what_was_applied_with_its_warnings(site, monkeypatch):
    """Request 1 applies (one user of it deleted meanwhile: warning), request 2 fails: the report
    holds request 1's users less the deleted one, who is missing."""
    ids, _members = state(site)
    sent = []

    def before(wsfunction, fields):
        if wsfunction == "core_cohort_add_cohort_members":
            sent.append(True)
            if len(sent) == 1:
                site.call("core_user_delete_users", {"userids": [ids["u00012"]]}, token=TOKEN)
            if len(sent) == 2:
                site.set_faults("503", functions=["core_cohort_add_cohort_members"])

    result = fails(site, cohort="empty", users=users(10, 19), batch_size=5, missing_users="warn",
                   session=RaceSession(before), monkeypatch=monkeypatch)
    assert result["changed"] is True
    assert result["added"] == ["u00010", "u00011", "u00013", "u00014"]
    assert result["missing"] == ["u00012"]
    assert result["member_count"] == 4
    assert "HTTP 503" in result["msg"]
    assert "applied before the failure: 4 of 10 additions (listed in added); run the task again to finish" in result["msg"]
    assert "errorcode" not in result
    site.clear_faults()
    assert state(site)[1]["empty"] == ["u00010", "u00011", "u00013", "u00014"]
    rerun = run(site, cohort="empty", users=users(10, 19), batch_size=5, missing_users="warn")
    assert rerun["added"] == users(15, 19)


def test_a_first_request_refused_by_the_site_changes_nothing(simulator_factory, tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"cohorts": [{"name": "Staff", "idnumber": "staff", "members": ["u00001"]}]}))
    viewer_site = simulator_factory("--token", TOKEN + ":viewer", seed_users=3, seed_file=str(seed))
    result = fails(viewer_site, users=[], state="exact")
    assert result["errorcode"] == "nopermissions"
    assert result["changed"] is False
    assert result["removed"] == []
    assert result["member_count"] == 1
    assert result["msg"].endswith("; nothing was changed")


def test_a_first_request_without_an_answer_may_have_been_applied(site):
    site.set_faults("503", functions=["core_cohort_delete_cohort_members"])
    result = fails(site, users=[], state="exact")
    assert result["changed"] is False
    assert result["removed"] == []
    assert result["msg"].endswith("; the site may have applied the failed request: run the task again, it finds what was applied")


def test_an_answer_lost_after_the_add_is_sent_again_and_its_warnings_are_fine(site):
    site.set_faults("lost", functions=["core_cohort_add_cohort_members"], count=1)
    result = run(site, cohort="empty", users=users(10, 12), retries=1)
    assert result["added"] == users(10, 12)
    assert "warnings" not in result
    assert [r["fault"] for r in site.requests() if r["write"]] == ["lost", None]


# --- check mode -----------------------------------------------------------------------------------

def test_check_mode_predicts_the_real_run_and_writes_nothing(site):
    options = dict(users=users(2, 6) + ["ghost"], state="exact", missing_users="warn", batch_size=2)
    predicted = run(site, check_mode=True, **options)
    assert [r for r in site.requests() if r["write"]] == []
    applied = run(site, **options)
    assert predicted == applied
    assert applied["removed"] == ["u00001"]
    assert applied["added"] == users(3, 6)
    assert applied["diff"]["before"] == "members: 2\nu00001\n"
    assert applied["diff"]["after"] == "members: 5\n" + "".join(u + "\n" for u in users(3, 6))
    again = run(site, **options)
    assert again["changed"] is False

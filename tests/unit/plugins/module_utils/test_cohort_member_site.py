# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pluto_cohort_member's logic with a real client against the simulator over HTTP: bad input named before
any request, ambiguous users, the email rule, what happens when the site changes under a running task
(a concurrent add, a user deleted, the cohort deleted), and failures part-way through the writes.

Races are played by a session that, just before the task's request reaches the site, sends what
"someone else" does to the same simulator; the task's own request then goes through unchanged.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest
import requests

from ansible_collections.pluto.lms.plugins.module_utils._client import PlutoClient, PlutoError
from ansible_collections.pluto.lms.plugins.module_utils.cohort_member import logic

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


def client(site, token=TOKEN, session=None, check_mode=False, retries=0):
    return PlutoClient(site.url, token, retries=retries, backoff=0.01, check_mode=check_mode, session=session)


def run(site, check_mode=False, session=None, retries=0, token=TOKEN, **options):
    return logic(params(**options), client(site, token, session, check_mode, retries), check_mode=check_mode, diff=True)


def fails(site, **options):
    with pytest.raises(PlutoError) as caught:
        run(site, **options)
    return caught.value


def state(site):
    dump = site.state()
    names = dict((u["id"], u["username"]) for u in dump["users"])
    ids = dict((u["username"], u["id"]) for u in dump["users"])
    members = dict((c["idnumber"], sorted(names[m] for m in c["members"])) for c in dump["cohorts"])
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
    (dict(user_field="id", users=["5", "x", "-1", "0"]), "3 value(s) that are not a positive integer user id: 'x', '-1', '0'"),
    (dict(user_field="email", users=["a@b.c", "nope", "two@@x"]), "2 value(s) that are not an email address: 'nope', 'two@@x'"),
    (dict(users=["ok", " "]), "1 value(s) that are not a non-empty username: ' '"),
    (dict(users=["u00001"], batch_size=0), "batch_size must be between 1 and 500"),
    (dict(users=["u00001"], batch_size=501), "batch_size must be between 1 and 500"),
])
def test_bad_input_is_named_before_any_request(site, options, text):
    error = fails(site, **options)
    assert text in str(error)
    assert site.requests() == []


def test_a_missing_function_is_named_after_one_read(site):
    error = fails(site, token=LIMITED, users=["u00003"], state="exact")
    assert "lacks 1 function(s) this task needs: core_cohort_delete_cohort_members" in str(error)
    assert [r["wsfunction"] for r in site.requests()] == ["core_webservice_get_site_info"]


def test_the_same_token_may_add_without_that_function(site):
    assert run(site, token=LIMITED, users=["u00003"])["added"] == ["u00003"]


@pytest.mark.parametrize("options, text", [
    (dict(cohort="nosuch"), "there is no cohort with idnumber 'nosuch'"),
    (dict(cohort=None, cohort_id=9999), "there is no cohort with id 9999"),
])
def test_an_unknown_cohort(site, options, text):
    error = fails(site, users=["u00003"], **options)
    assert text in str(error)
    assert [r for r in site.requests() if r["write"]] == []


@pytest.mark.parametrize("field, value", [("email", "shared@example.edu"), ("idnumber", "TWIN")])
def test_a_value_shared_by_two_users_is_refused_before_any_write(site, field, value):
    ids, _members = state(site)
    error = fails(site, user_field=field, users=[value, "EMP00005" if field == "idnumber" else "u00005@example.com"])
    assert "%s (user ids %d, %d)" % (value, ids["twin1"], ids["twin2"]) in str(error)
    assert [r for r in site.requests() if r["write"]] == []


def test_more_than_a_hundred_missing_users_are_all_returned(site):
    ghosts = ["ghost%03d" % n for n in range(150)]
    error = fails(site, users=ghosts + ["u00003"])
    assert "150 of the 151 listed users do not exist" in str(error)
    assert "ghost099 ... and 50 more (all in missing)" in str(error)
    assert error.result["missing"] == ghosts
    assert [r for r in site.requests() if r["write"]] == []


# --- lookups ---------------------------------------------------------------------------------

def test_emails_match_as_stored_or_in_lowercase(site):
    result = run(site, cohort="empty", user_field="email", missing_users="warn",
                 users=["Mixed.Case@Example.edu", "U00003@EXAMPLE.COM", "mixed.case@example.edu"])
    assert result["added"] == ["Mixed.Case@Example.edu", "U00003@EXAMPLE.COM"]
    assert result["missing"] == ["mixed.case@example.edu"]
    lookups = [r for r in site.requests() if r["wsfunction"] == "core_user_get_users_by_field"]
    # as given (3 values), then the one not found that has capitals, in lowercase
    assert [r["fields"] for r in lookups] == [3 + 1 + 3, 3 + 1 + 1]
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
    assert [r["wsfunction"] for r in log if not r["write"]] == [
        "core_webservice_get_site_info", "core_cohort_search_cohorts", "core_cohort_get_cohort_members"] + [
        "core_user_get_users_by_field"] * 3
    assert len([r for r in log if r["write"]]) == 5


# --- the site changes under a running task ------------------------------------------------------

class DuplicateKeyOnce(RaceSession):
    """The first add request after the other party's move is answered like the site does after a
    concurrent insert of the same rows: dmlwriteexception, nothing applied."""

    def __init__(self, before):
        super(DuplicateKeyOnce, self).__init__(before)
        self.refused = 0

    def post(self, url, data=None, **kwargs):  # pylint: disable=arguments-differ
        wsfunction = dict(data or [])["wsfunction"]
        self.before(wsfunction, data)
        if wsfunction == "core_cohort_add_cohort_members" and not self.refused:
            self.refused += 1
            answer = requests.Response()
            answer.status_code = 200
            answer.headers["Content-Type"] = "application/json; charset=utf-8"
            answer._content = json.dumps({"exception": "dml_write_exception", "errorcode": "dmlwriteexception",  # pylint: disable=protected-access
                                          "message": "Error writing to database"}).encode("utf-8")
            return answer
        return super(DuplicateKeyOnce, self).post(url, data=data, **kwargs)


def test_a_concurrent_add_of_the_same_users_is_finished_not_failed(site):
    planned = users(10, 29)
    other = client(site)

    def someone_else_adds_some_of_them(wsfunction, fields):
        if wsfunction == "core_cohort_add_cohort_members" and not session.refused:
            other.call("core_cohort_add_cohort_members", {"members": [
                {"cohorttype": {"type": "idnumber", "value": "empty"}, "usertype": {"type": "username", "value": u}}
                for u in planned[5:15]]})

    session = DuplicateKeyOnce(someone_else_adds_some_of_them)
    result = run(site, cohort="empty", users=planned, batch_size=10, session=session)
    assert session.refused == 1
    assert result["added"] == planned
    assert result["member_count"] == 20
    assert state(site)[1]["empty"] == planned
    writes = [r for r in site.requests() if r["write"]]
    # the other party's request, then ours after reading the members once more: only the 10 still missing
    assert [r["fields"] for r in writes] == [3 + 4 * 10, 3 + 4 * 10]
    assert [r["wsfunction"] for r in site.requests()].count("core_cohort_get_cohort_members") == 2


def delete_user_before_first_add(site, username):
    ids, _members = state(site)
    done = []

    def before(wsfunction, fields):
        if wsfunction == "core_cohort_add_cohort_members" and not done:
            done.append(True)
            site.call("core_user_delete_users", {"userids": [ids[username]]}, token=TOKEN)
    return RaceSession(before)


def test_a_user_deleted_during_the_task_is_a_missing_user_warn(site):
    session = delete_user_before_first_add(site, "u00012")
    result = run(site, cohort="empty", users=users(10, 14), missing_users="warn", session=session)
    assert result["added"] == ["u00010", "u00011", "u00013", "u00014"]
    assert result["missing"] == ["u00012"]
    assert result["member_count"] == 4
    assert "1 listed users were deleted from the site while this task ran, so they were not added: u00012" in result["warnings"]
    assert state(site)[1]["empty"] == ["u00010", "u00011", "u00013", "u00014"]


def test_a_user_deleted_during_the_task_fails_after_the_writes_with_fail(site):
    session = delete_user_before_first_add(site, "u00012")
    with pytest.raises(PlutoError) as caught:
        run(site, cohort="empty", users=users(10, 14), session=session)
    assert "deleted from the site while this task ran" in str(caught.value)
    assert caught.value.result["changed"] is True
    assert caught.value.result["added"] == ["u00010", "u00011", "u00013", "u00014"]
    assert caught.value.result["missing"] == ["u00012"]


def test_a_user_deleted_during_the_task_is_silent_with_ignore(site):
    session = delete_user_before_first_add(site, "u00012")
    result = run(site, cohort="empty", users=users(10, 14), missing_users="ignore", session=session)
    assert result["missing"] == ["u00012"]
    assert "warnings" not in result


@pytest.mark.parametrize("state, users_listed", [("present", ["u00010", "u00011"]), ("exact", ["u00002"])])
def test_the_cohort_deleted_during_the_task_is_named(site, state, users_listed):
    ids = dict((c["idnumber"], c["id"]) for c in site.state()["cohorts"])
    done = []

    def before(wsfunction, fields):
        if wsfunction in ("core_cohort_add_cohort_members", "core_cohort_delete_cohort_members") and not done:
            done.append(True)
            site.call("core_cohort_delete_cohorts", {"cohortids": [ids["staff"]]}, token=TOKEN)

    with pytest.raises(PlutoError) as caught:
        run(site, users=users_listed, state=state, session=RaceSession(before))
    assert "cohort 'staff' (id %d) was deleted from the site while this task ran" % ids["staff"] in str(caught.value)
    assert caught.value.result["changed"] is False
    assert caught.value.result["added"] == [] and caught.value.result["removed"] == []


# --- failures part-way through the writes ------------------------------------------------------

def test_an_add_failing_part_way_reports_what_was_applied_with_its_warnings(site):
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

    with pytest.raises(PlutoError) as caught:
        run(site, cohort="empty", users=users(10, 19), batch_size=5, missing_users="warn", session=RaceSession(before))
    error = caught.value
    assert error.result["changed"] is True
    assert error.result["added"] == ["u00010", "u00011", "u00013", "u00014"]
    assert error.result["missing"] == ["u00012"]
    assert error.result["member_count"] == 4
    assert "HTTP 503" in str(error) and "request 2 of 2" in str(error)
    assert "applied before the failure: 4 of 10 additions (listed in added); run the task again to finish" in str(error)
    assert error.errorcode is None
    site.clear_faults()
    assert state(site)[1]["empty"] == ["u00010", "u00011", "u00013", "u00014"]
    rerun = run(site, cohort="empty", users=users(10, 19), batch_size=5, missing_users="warn")
    assert rerun["added"] == users(15, 19)


def test_a_first_request_refused_by_the_site_changes_nothing(simulator_factory, tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"cohorts": [{"name": "Staff", "idnumber": "staff", "members": ["u00001"]}]}))
    viewer_site = simulator_factory("--token", TOKEN + ":viewer", seed_users=3, seed_file=str(seed))
    with pytest.raises(PlutoError) as caught:
        run(viewer_site, users=[], state="exact")
    assert caught.value.errorcode == "nopermissions"
    assert caught.value.result["changed"] is False
    assert caught.value.result["removed"] == []
    assert caught.value.result["member_count"] == 1
    assert str(caught.value).endswith("; nothing was changed")


def test_a_first_request_without_an_answer_may_have_been_applied(site):
    site.set_faults("503", functions=["core_cohort_delete_cohort_members"])
    with pytest.raises(PlutoError) as caught:
        run(site, users=[], state="exact")
    assert caught.value.result["changed"] is False
    assert caught.value.result["removed"] == []
    assert str(caught.value).endswith("; the site may have applied the failed request: run the task again, it finds what was applied")


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

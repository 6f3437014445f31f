# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pluto_cohort_member never removes, adds or reports what the task did not mean: each test is a path that
lost members or misreported on earlier versions, run through the module's runner against the simulator
over real HTTP (the task's result as Ansible gets it, and the requests the site received)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._cohort_member import plan
from ansible_collections.pluto.lms.plugins.module_utils._runner import run_plan
from tests.simulator.pytest_fixtures import together

TOKEN = "member-safety-token"

SEED = {
    "users": [
        {"username": "jdoe", "email": "Jane.Doe@Example.edu", "idnumber": "ID-Mixed-01"},
        {"username": "asmith", "email": "asmith@example.edu"},
        {"username": "gone1", "email": "gone1@example.edu", "deleted": True},
    ],
    "cohorts": [
        {"name": "Staff", "idnumber": "staff", "members": ["u00001", "u00002", "jdoe"]},
        {"name": "Empty", "idnumber": "empty"},
        {"name": "No idnumber"},
    ],
}


@pytest.fixture
def site(simulator_factory, tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED))
    return simulator_factory("--token", TOKEN, seed_users=30, seed_file=str(seed))


def run(site, token, check_mode=False, **options):
    """The task's result as the module returns it (failed and msg on a failure, warnings)."""
    params = dict(url=site.url, token=token, validate_certs=True, ca_path=None, timeout=30, retries=0,
                  max_input_vars=5000, lookup_concurrency=4,
                  cohort=None, cohort_id=None, users=[], user_field="username", state="present",
                  missing_users="fail", batch_size=500)
    params.update(options)
    site.reset_log()
    result = run_plan(plan, params, check_mode=check_mode, diff=True)
    site.last_requests = site.requests()
    return result


def lookups(site):
    """The user lookups of the last run."""
    return [r for r in site.last_requests if r["wsfunction"] == "core_user_get_users_by_field"]


def writes(site):
    """The write requests of the last run."""
    return [r for r in site.last_requests if r["write"]]


def user_ids(site):
    return dict((u["username"], u["id"]) for u in site.state()["users"])


def members(site, idnumber):
    names = dict((u["id"], u["username"]) for u in site.state()["users"])
    cohort = [c for c in site.state()["cohorts"] if c["idnumber"] == idnumber][0]
    return sorted(names[m] for m in cohort["members"])


# --- a blank cohort reference -----------------------------------------------------------------------

@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_a_blank_cohort_is_an_error_before_any_request(site, blank):
    result = run(site, TOKEN, cohort=blank, users=[], state="exact")
    assert result["failed"] is True
    assert "cohort" in result["msg"] and "blank" in result["msg"]
    assert site.last_requests == []


# --- ids that Python calls digits ---------------------------------------------------------------------

@pytest.mark.parametrize("value", [u"\u00b2", u"\u0661\u0662", u"\uff11"])
def test_an_id_that_is_not_an_ascii_number_is_named_in_one_line(site, value):
    result = run(site, TOKEN, cohort="staff", users=["3", value], user_field="id")
    assert result["failed"] is True
    assert "users" in result["msg"] and repr(value) in result["msg"]
    assert "\n" not in result["msg"] and "Traceback" not in result["msg"]
    assert site.last_requests == []


# --- usernames the site cannot hold ----------------------------------------------------------------

def test_bad_usernames_are_all_named_before_any_request(site):
    result = run(site, TOKEN, cohort="staff", users=["mary jane", "u00003", "bad!name", "ok.name@x"])
    assert result["failed"] is True
    assert "'mary jane'" in result["msg"] and "'bad!name'" in result["msg"]
    assert "ok.name@x" not in result["msg"]
    assert site.last_requests == []


@pytest.mark.parametrize("policy", ["warn", "ignore"])
def test_bad_usernames_are_skipped_with_warn_or_ignore(site, policy):
    result = run(site, TOKEN, cohort="empty", users=["mary jane", "u00003"], missing_users=policy)
    assert result.get("failed") is not True, result
    assert result["added"] == ["u00003"]
    assert result["missing"] == ["mary jane"]
    assert ("warnings" in result) == (policy == "warn")
    if policy == "warn":
        assert any("'mary jane'" in w for w in result["warnings"])
    # the bad value never reaches the site: one lookup, of the good one
    assert [r["fields"] for r in lookups(site)] == [3 + 1 + 1]
    assert members(site, "empty") == ["u00003"]


# --- deleted users --------------------------------------------------------------------------------

def test_a_deleted_user_named_by_id_is_missing_and_never_sent(site):
    ids = user_ids(site)
    gone = [u["id"] for u in site.state()["users"] if u["deleted"]][0]
    options = dict(cohort="empty", user_field="id", users=[str(gone), str(ids["u00003"])], missing_users="warn")
    predicted = run(site, TOKEN, check_mode=True, **options)
    applied = run(site, TOKEN, **options)
    assert predicted["added"] == applied["added"] == [ids["u00003"]]
    assert predicted["missing"] == applied["missing"] == [gone]
    assert [w["fields"] for w in writes(site)] == [3 + 4]
    again = run(site, TOKEN, **options)
    assert again["changed"] is False and again["added"] == [] and again["missing"] == [gone]
    assert writes(site) == []


def test_a_deleted_user_named_by_id_fails_before_any_write(site):
    gone = [u["id"] for u in site.state()["users"] if u["deleted"]][0]
    result = run(site, TOKEN, cohort="empty", user_field="id", users=[str(gone)])
    assert result["failed"] is True
    assert str(gone) in result["msg"] and "do not exist" in result["msg"]
    assert writes(site) == []


# --- emails ignoring case -----------------------------------------------------------------------

def test_a_member_whose_email_differs_only_in_case_is_the_listed_user(site):
    options = dict(cohort="staff", user_field="email", state="exact", missing_users="warn",
                   users=["jane.doe@example.edu", "u00001@example.com", "U00002@EXAMPLE.COM"])
    predicted = run(site, TOKEN, check_mode=True, **options)
    applied = run(site, TOKEN, **options)
    for result in (predicted, applied):
        assert result["removed"] == [] and result["added"] == [], result
        assert result["missing"] == []
        assert result["changed"] is False
    assert members(site, "staff") == ["jdoe", "u00001", "u00002"]


def test_a_listed_email_in_another_case_adds_the_stored_lowercase_user(site):
    result = run(site, TOKEN, cohort="empty", user_field="email", users=["U00004@Example.COM"])
    assert result["added"] == ["U00004@Example.COM"]
    assert members(site, "empty") == ["u00004"]


# --- the exact guard ----------------------------------------------------------------------------

def test_exact_keeps_a_member_whose_idnumber_only_a_mariadb_site_would_match(site):
    """ID-Mixed-01 is jdoe's idnumber; listed as id-mixed-01, a PostgreSQL site does not find it, a
    MariaDB site does: either way jdoe is not positively unlisted, so exact keeps her."""
    options = dict(cohort="staff", user_field="idnumber", state="exact", missing_users="warn",
                   users=["id-mixed-01", "EMP00001"])
    predicted = run(site, TOKEN, check_mode=True, **options)
    applied = run(site, TOKEN, **options)
    assert predicted["removed"] == applied["removed"] == ["EMP00002"]
    assert "jdoe" in members(site, "staff")
    assert members(site, "staff") == ["jdoe", "u00001"]


# --- a cohort that an earlier task of the play would create ------------------------------------------

def test_check_mode_plans_a_cohort_that_does_not_exist_yet_as_empty(site):
    options = dict(cohort="new-cohort", users=["u00003", "ghost"], state="exact", missing_users="warn")
    predicted = run(site, TOKEN, check_mode=True, **options)
    assert predicted.get("failed") is not True, predicted
    assert predicted["added"] == ["u00003"]
    assert predicted["removed"] == []
    assert predicted["missing"] == ["ghost"]
    assert predicted["member_count"] == 1
    assert any("new-cohort" in w and "does not exist" in w for w in predicted["warnings"])
    # the users were looked up all the same (one small request: nothing for the site to cut)
    assert [r["fields"] for r in lookups(site)] == [3 + 1 + 2]
    applied = run(site, TOKEN, **options)
    assert applied["failed"] is True
    assert "there is no cohort with idnumber 'new-cohort'" in applied["msg"]
    assert writes(site) == []


def test_check_mode_still_fails_on_a_missing_user_of_a_cohort_to_come(site):
    result = run(site, TOKEN, check_mode=True, cohort="new-cohort", users=["u00003", "ghost"])
    assert result["failed"] is True
    assert "ghost" in result["msg"]


# --- only the lookups a task needs ---------------------------------------------------------------

def test_an_id_based_exact_rerun_sends_no_user_lookup(site):
    ids = user_ids(site)
    listed = [str(ids[name]) for name in ("u00001", "u00002", "jdoe")]
    result = run(site, TOKEN, cohort="staff", user_field="id", users=listed, state="exact")
    assert result["changed"] is False
    assert lookups(site) == []
    assert writes(site) == []


def test_an_id_based_sync_looks_up_only_the_users_not_yet_members(site):
    ids = user_ids(site)
    listed = [str(ids[name]) for name in ("u00001", "jdoe", "u00005")]
    result = run(site, TOKEN, cohort="staff", user_field="id", users=listed, state="exact")
    assert result["added"] == [ids["u00005"]]
    assert result["removed"] == [ids["u00002"]]
    assert [r["fields"] for r in lookups(site)] == [3 + 1 + 1]


# --- a site that truncates requests (PHP max_input_vars) -------------------------------------------

@pytest.fixture
def truncating_site(simulator_factory, tmp_path):
    seed = tmp_path / "seed.json"
    everyone = ["u%05d" % n for n in range(1, 1201)]
    seed.write_text(json.dumps({"cohorts": [{"name": "Big", "idnumber": "big", "members": everyone},
                                            {"name": "Fresh", "idnumber": "fresh"}]}))
    return simulator_factory("--token", TOKEN, "--max-input-vars", "700", seed_users=1200, seed_file=str(seed))


def test_exact_on_a_truncating_site_removes_no_listed_member(truncating_site):
    site = truncating_site
    everyone = ["u%05d" % n for n in range(1, 1201)]
    result = run(site, TOKEN, cohort="big", users=everyone, state="exact", missing_users="warn")
    assert result.get("failed") is not True, result
    assert result["removed"] == []
    assert result["missing"] == []
    assert result["changed"] is False
    assert any("max_input_vars" in w for w in result["warnings"])
    assert writes(site) == []
    assert len(members(site, "big")) == 1200
    # 1,000 + 200 values, each request ending with the token's own username; the first was cut after
    # 697 values (its end missing from the answer): its 303 values not found, again in requests of 100
    expected = [3 + 1 + 3, 3 + 1 + 100, 3 + 1 + 100, 3 + 1 + 100, 3 + 1 + 201, 3 + 1 + 1001]
    assert sorted(r["fields"] for r in lookups(site)) == expected


def test_many_missing_users_on_a_site_that_keeps_whole_requests_cost_no_second_lookup(site):
    ghosts = ["ghost%04d" % n for n in range(1999)]
    result = run(site, TOKEN, cohort="empty", users=ghosts + ["u00003"], missing_users="ignore")
    assert result["added"] == ["u00003"]
    assert len(result["missing"]) == 1999
    assert [r["fields"] for r in lookups(site)] == [3 + 1 + 1001, 3 + 1 + 1001]


def test_present_on_a_truncating_site_adds_every_listed_user(truncating_site):
    site = truncating_site
    everyone = ["u%05d" % n for n in range(1, 1201)]
    result = run(site, TOKEN, cohort="fresh", users=everyone, batch_size=150)
    assert result.get("failed") is not True, result
    assert result["missing"] == []
    assert len(result["added"]) == 1200
    assert len(members(site, "fresh")) == 1200


# --- MySQL/MariaDB sites: lookups that answer with the stored spelling --------------------------------

MARIADB_SEED = {
    "users": [
        {"username": "jdoe", "email": "Jane.Doe@Example.edu", "idnumber": "ID-Mixed-01"},
        {"username": "ucafe", "email": "ucafe@example.edu", "idnumber": u"caf\u00e9"},
        {"username": "twinupper", "email": "Twin@Example.edu"},
        {"username": "twinlower", "email": "twin@example.edu"},
    ],
    "cohorts": [{"name": "Empty", "idnumber": "empty"},
                {"name": "Staff", "idnumber": "staff", "members": ["u00001", "jdoe"]}],
}


@pytest.fixture(params=["postgres", "mariadb"])
def any_site(request, simulator_factory, tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(MARIADB_SEED))
    sim = simulator_factory("--token", TOKEN, "--db", request.param, seed_users=10, seed_file=str(seed))
    sim.db = request.param
    return sim


def test_idnumbers_in_another_spelling_are_found_where_the_site_finds_them(any_site):
    site = any_site
    result = run(site, TOKEN, cohort="empty", user_field="idnumber", users=["id-mixed-01", "CAFE", "EMP00003"],
                 missing_users="warn")
    assert result.get("failed") is not True, result
    if site.db == "mariadb":
        assert result["added"] == ["CAFE", "EMP00003", "id-mixed-01"]
        assert result["missing"] == []
        assert members(site, "empty") == ["jdoe", "u00003", "ucafe"]
    else:
        assert result["added"] == ["EMP00003"]
        assert result["missing"] == ["CAFE", "id-mixed-01"]
        # They exist in another spelling: the warning says why a PostgreSQL site does not find them.
        assert "a PostgreSQL site finds an idnumber only as stored (case, accents and spaces count)" in " ".join(
            result["warnings"])
    rerun = run(site, TOKEN, cohort="empty", user_field="idnumber", users=["id-mixed-01", "CAFE", "EMP00003"],
                missing_users="warn")
    assert rerun["changed"] is False and writes(site) == []


def test_an_email_in_another_case_is_added_where_the_site_finds_it(any_site):
    site = any_site
    result = run(site, TOKEN, cohort="empty", user_field="email", users=["JANE.DOE@example.EDU"], missing_users="warn")
    if site.db == "mariadb":
        assert result["added"] == ["JANE.DOE@example.EDU"] and result["missing"] == []
    else:
        assert result["added"] == [] and result["missing"] == ["JANE.DOE@example.EDU"]
        assert "a PostgreSQL site finds an email only as stored, case included" in " ".join(result["warnings"])


def test_exact_by_email_keeps_a_member_in_another_case_on_both_kinds(any_site):
    site = any_site
    options = dict(cohort="staff", user_field="email", state="exact", users=["jane.doe@example.edu", "u00001@example.com"])
    predicted = run(site, TOKEN, check_mode=True, **options)
    applied = run(site, TOKEN, **options)
    for result in (predicted, applied):
        assert result.get("failed") is not True, result
        assert result["changed"] is False and result["missing"] == [] and result["removed"] == []
    assert members(site, "staff") == ["jdoe", "u00001"]


def test_two_users_whose_emails_differ_only_in_case_are_named(any_site):
    """A MariaDB site answers with both; a PostgreSQL site shows the lowercase one when asked in lowercase."""
    site = any_site
    ids = user_ids(site)
    result = run(site, TOKEN, cohort="empty", user_field="email", users=["TWIN@example.edu", "Twin@Example.edu"])
    assert result["failed"] is True
    assert "user ids %d, %d" % (ids["twinupper"], ids["twinlower"]) in result["msg"]
    assert "ignoring case" in result["msg"]
    assert writes(site) == []


def test_twins_that_are_both_visible_on_postgres_are_named_too(simulator_factory, tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(MARIADB_SEED))
    site = simulator_factory("--token", TOKEN, seed_users=3, seed_file=str(seed))
    ids = user_ids(site)
    result = run(site, TOKEN, cohort="empty", user_field="email", users=["twin@example.edu", "Twin@Example.edu"])
    assert result["failed"] is True
    assert "user ids %d, %d" % (ids["twinupper"], ids["twinlower"]) in result["msg"]
    assert writes(site) == []


# --- another run adding the same users at the same moment -------------------------------------------

def test_a_concurrent_add_is_finished_after_reading_the_members_again(any_site):
    site = any_site
    ids = user_ids(site)
    listed = ["u%05d" % n for n in range(2, 10)]
    shared = [ids["u00004"], ids["u00005"]]
    site.set_faults("concurrent_add", functions=["core_cohort_add_cohort_members"], count=1, userids=shared)
    result = run(site, TOKEN, cohort="empty", users=listed)
    assert result.get("failed") is not True, result
    assert result["added"] == listed
    assert members(site, "empty") == listed
    adds = [r for r in site.last_requests if r["wsfunction"] == "core_cohort_add_cohort_members"]
    # refused whole, then the 6 users still missing once the members were read again
    assert [r["errorcode"] for r in adds] == ["dmlwriteexception", None]
    assert [r["fields"] for r in adds] == [3 + 4 * 8, 3 + 4 * 6]
    assert [r["wsfunction"] for r in site.last_requests].count("core_cohort_get_cohort_members") == 2
    rerun = run(site, TOKEN, cohort="empty", users=listed)
    assert rerun["changed"] is False and writes(site) == []


# --- parallel lookups ---------------------------------------------------------------------------------

@pytest.mark.parametrize("concurrency", [1, 4])
def test_lookups_are_the_same_requests_at_any_concurrency(simulator_factory, tmp_path, concurrency):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"cohorts": [{"name": "Big", "idnumber": "big"}]}))
    site = simulator_factory("--token", TOKEN, seed_users=2600, seed_file=str(seed))
    everyone = ["u%05d" % n for n in range(1, 2601)]
    result = run(site, TOKEN, cohort="big", users=everyone, lookup_concurrency=concurrency)
    assert len(result["added"]) == 2600
    # each request ends with the token's own username, which shows that it arrived whole
    assert sorted(r["fields"] for r in lookups(site)) == [3 + 1 + 600 + 1, 3 + 1 + 1000 + 1, 3 + 1 + 1000 + 1]
    assert len(writes(site)) == 6
    rerun = run(site, TOKEN, cohort="big", users=everyone, state="exact", lookup_concurrency=concurrency)
    assert rerun["changed"] is False
    assert len(lookups(site)) == 3 and writes(site) == []


# --- tokens whose user may see users only in part ------------------------------------------------

@pytest.fixture
def rights_site(simulator_factory, tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED))
    return simulator_factory("--token", TOKEN, "--token", "details:viewdetails", "--token", "alldetails:viewalldetails",
                             "--token", "identity:viewuseridentity", seed_users=30, seed_file=str(seed))


@pytest.mark.parametrize("token, field, users, capability", [
    ("details", "username", ["u00001", "u00003"], "moodle/user:viewalldetails"),
    ("identity", "username", ["u00001", "u00003"], "moodle/user:viewalldetails"),
    ("details", "idnumber", ["EMP00001", "EMP00003"], "moodle/user:viewalldetails"),
    ("alldetails", "email", ["u00001@example.com", "u00003@example.com"], "moodle/site:viewuseridentity"),
])
def test_exact_keeps_the_members_a_token_cannot_identify(rights_site, token, field, users, capability):
    site = rights_site
    result = run(site, token, check_mode=True, cohort="staff", user_field=field, users=users, state="exact",
                 missing_users="warn")
    assert result.get("failed") is not True, result
    assert result["removed"] == [] and result["added"] == []
    assert result["missing"] == users
    text = " ".join(result["warnings"])
    assert "a lookup by %s needs %s" % (field, capability.split(" ")[0]) in text
    assert "3 members could not be identified by %s, so they are kept" % field in text
    assert writes(site) == []


def test_a_token_that_sees_ids_only_reports_users_by_id(rights_site):
    site = rights_site
    ids = user_ids(site)
    listed = [str(ids["u00001"]), str(ids["u00005"])]
    result = run(site, "details", check_mode=True, cohort="staff", user_field="id", users=listed, state="exact")
    assert result.get("failed") is not True, result
    assert result["added"] == [ids["u00005"]]
    assert result["removed"] == sorted([ids["u00002"], ids["jdoe"]])
    assert result["missing"] == []


def test_members_named_by_id_when_the_token_cannot_see_the_field(rights_site):
    """Every listed user found: the others are positively unlisted, named by id as the token cannot see usernames."""
    site = rights_site
    ids = user_ids(site)
    result = run(site, "identity", check_mode=True, cohort="staff", user_field="email", state="exact",
                 users=["u00001@example.com", "Jane.Doe@Example.edu"])
    assert result.get("failed") is not True, result
    assert result["removed"] == ["u00002@example.com"]
    result = run(site, "alldetails", check_mode=True, cohort="staff", user_field="username", state="exact",
                 users=["u00001", "jdoe"])
    assert result["removed"] == ["u00002"]
    result = run(site, "details", check_mode=True, cohort="staff", user_field="username", state="exact", users=[])
    assert result["removed"] == sorted(["id=%d" % ids["u00001"], "id=%d" % ids["u00002"], "id=%d" % ids["jdoe"]])


@pytest.mark.parametrize("db", ["postgres", "mariadb"])
def test_two_runs_adding_overlapping_users_at_once_both_finish(db, simulator_factory, tmp_path):
    """Two tasks add users 1-30 and 21-50 to one cohort at the same moment, on a site whose writes interleave
    as Moodle's do (a wide race window): the one the site refuses whole reads the members again and finishes."""
    seed = tmp_path / "race.json"
    seed.write_text(json.dumps({"cohorts": [{"name": "Race", "idnumber": "race"}]}))
    # 100 ms after each insert: each add holds its transaction open for about 3 s, so the two adds overlap even
    # when a loaded machine starts them a second apart (at 20 ms they could run one after the other).
    site = simulator_factory("--token", TOKEN, "--db", db, "--race-window-ms", "100", seed_users=60,
                             seed_file=str(seed))
    lists = [["u%05d" % n for n in range(1, 31)], ["u%05d" % n for n in range(21, 51)]]

    def task(users):
        params = dict(url=site.url, token=TOKEN, validate_certs=True, ca_path=None, timeout=60, retries=0,
                      max_input_vars=5000, lookup_concurrency=1, cohort="race", cohort_id=None, users=users,
                      user_field="username", state="present", missing_users="fail", batch_size=500)
        return lambda: run_plan(plan, params, check_mode=False, diff=False)

    results = together(task(lists[0]), task(lists[1]), timeout=None)
    for result in results:
        assert result.get("failed") is not True, result
    assert members(site, "race") == ["u%05d" % n for n in range(1, 51)]
    adds = [r for r in site.requests() if r["wsfunction"] == "core_cohort_add_cohort_members"]
    # the race happened: one add was refused whole, and sent again without the users the other run added
    assert [r["errorcode"] for r in adds].count("dmlwriteexception") >= 1
    assert sorted(r["fields"] for r in adds if r["errorcode"] is None)[0] < 3 + 4 * 30

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pluto_cohort_info's logic against the simulator over real HTTP: filters, contexts, members, request counts."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._cohort_info import plan
from ansible_collections.pluto.lms.plugins.module_utils._runner import run_plan
from tests.simulator.process import start_simulator

MANAGER = "6a1b2c3d4e5f60718293a4b5c6d7e8f9"
VIEWER = "7b2c3d4e5f60718293a4b5c6d7e8f90a"
NO_CATEGORIES = "8c3d4e5f60718293a4b5c6d7e8f90a1b"
DETAILS = "9d4e5f60718293a4b5c6d7e8f90a1b2c"
IDENTITY = "0e5f60718293a4b5c6d7e8f90a1b2c3d"
TOKENS = ["%s:manager" % MANAGER, "%s:viewer" % VIEWER, "%s:manager:-core_course_get_categories" % NO_CATEGORIES,
          "%s:viewdetails" % DETAILS, "%s:viewuseridentity" % IDENTITY]

COHORTS_PER_CATEGORY = 30
SEED = {
    "categories": [{"name": "Science", "idnumber": "SCI"}, {"name": "Physics", "idnumber": "PHY", "parent": "SCI"},
                   {"name": "Arts", "idnumber": "ART"}, {"name": "No idnumber"}],
    "cohorts": (
        [{"idnumber": "sys-%02d" % n, "name": "System %02d" % n, "members": ["u%05d" % (n + 1)]}
         for n in range(COHORTS_PER_CATEGORY)]
        + [{"idnumber": "sci-%02d" % n, "name": "Science %02d" % n, "category": "SCI", "visible": n % 2,
            "members": ["u%05d" % (n + 2), "u%05d" % (n + 1)]} for n in range(COHORTS_PER_CATEGORY)]
        + [{"idnumber": "phy-a", "name": "Physics A", "category": "PHY", "description": "Quarks and more"},
           {"idnumber": "art-a", "name": "Arts A", "category": "ART", "visible": 0}]),
}
TOTAL = 2 * COHORTS_PER_CATEGORY + 2


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = os.path.join(str(tmp_path_factory.mktemp("seed")), "seed.json")
    with open(path, "w") as handle:
        json.dump(SEED, handle)
    with start_simulator(token=TOKENS, seed_file=path, seed_users=40) as sim:
        yield sim


def run(sim, token=MANAGER, check_mode=False, **options):
    sim.reset_log()
    params = dict(url=sim.url, token=token, validate_certs=True, ca_path=None, timeout=30, retries=0,
                  include_members=False)
    params.update(options)
    return run_plan(plan, params, check_mode=check_mode, diff=True), sim.requests()


def idnumbers(result):
    return [c["idnumber"] for c in result["cohorts"]]


def test_every_cohort_sorted_by_idnumber_with_its_context(site):
    result, log = run(site)
    assert result["changed"] is False and "diff" not in result
    assert idnumbers(result) == sorted(idnumbers(result)) and len(result["cohorts"]) == TOTAL
    by_idnumber = dict((c["idnumber"], c) for c in result["cohorts"])
    assert (by_idnumber["sys-00"]["context"], by_idnumber["sys-00"]["category_id"]) == ("system", 0)
    assert by_idnumber["sci-03"]["category_idnumber"] == "SCI"
    assert by_idnumber["phy-a"]["category_idnumber"] == "PHY"
    assert by_idnumber["art-a"]["visible"] is False
    assert set(by_idnumber["phy-a"]) == {"id", "idnumber", "name", "description", "description_format", "visible", "theme",
                                         "custom_fields", "context", "category_id", "category_idnumber"}
    # Site info, all cohorts, the system search, the category list, one search per category at most.
    assert all(not entry["write"] for entry in log)
    assert len(log) <= 4 + len(site.state()["categories"])


def test_check_mode_reads_the_same(site):
    result, log = run(site, check_mode=True, include_members=True)
    plain, _log = run(site, include_members=True)
    assert result == plain and not any(entry["write"] for entry in log)


@pytest.mark.parametrize("options, expected", [
    (dict(idnumber=["sci-01", "phy-a", "nope"]), ["phy-a", "sci-01"]),
    (dict(name="Physics*"), ["phy-a"]),
    (dict(name="system 0?"), []),
    (dict(name="System 0[12]"), ["sys-01", "sys-02"]),
    (dict(query="QUARKS"), ["phy-a"]),
    (dict(category_idnumber="PHY"), ["phy-a"]),
    (dict(category_idnumber="ART", visible=False), ["art-a"]),
    (dict(category_idnumber="SCI", visible=True, name="Science 0*"), ["sci-01", "sci-03", "sci-05", "sci-07", "sci-09"]),
    (dict(query="sys-1", idnumber=["sys-11", "sci-11"]), ["sys-11"]),
])
def test_filters_combine(site, options, expected):
    result, _log = run(site, **options)
    assert idnumbers(result) == expected


def test_category_id_zero_is_the_system_context(site):
    result, log = run(site, category_id=0)
    assert idnumbers(result) == ["sys-%02d" % n for n in range(COHORTS_PER_CATEGORY)]
    assert len(log) == 2


def test_ids_filter(site):
    everything, _log = run(site)
    wanted = [c["id"] for c in everything["cohorts"] if c["idnumber"] in ("art-a", "sys-05")]
    result, log = run(site, id=wanted + [999999])
    assert idnumbers(result) == ["art-a", "sys-05"]


def test_an_unknown_category_fails_clearly(site):
    result, _log = run(site, category_idnumber="NOPE")
    assert result["failed"] is True and result["msg"] == "there is no course category with idnumber 'NOPE'"


def test_members_are_read_in_bulk(site):
    result, log = run(site, include_members=True)
    by_idnumber = dict((c["idnumber"], c) for c in result["cohorts"])
    assert by_idnumber["sci-04"]["members"] == ["u00005", "u00006"] and by_idnumber["sci-04"]["member_count"] == 2
    assert by_idnumber["art-a"]["members"] == [] and by_idnumber["art-a"]["member_count"] == 0
    functions = [entry["wsfunction"] for entry in log]
    assert functions.count("core_cohort_get_cohort_members") == 1
    assert functions.count("core_user_get_users_by_field") == 1


def test_members_a_token_may_not_see_are_counted_but_not_named(site):
    result, _log = run(site, token=VIEWER, idnumber=["sci-04"], include_members=True)
    cohort = result["cohorts"][0]
    assert cohort["member_count"] == 2 and cohort["members"] == []
    assert any("2 of 2 members could not be named" in w for w in result["warnings"])
    text = " ".join(result["warnings"])
    # No record at all: the capability to see users by id, or a deleted user; the members by id.
    assert "the site did not answer for them: the token's user lacks moodle/user:viewdetails, or they were deleted" in text
    ids = sorted(u["id"] for u in site.state()["users"] if u["username"] in ("u00005", "u00006"))
    assert text.endswith("id=%d, id=%d" % tuple(ids))


@pytest.mark.parametrize("token", [DETAILS, IDENTITY])
def test_members_a_token_sees_without_username_name_the_capability_it_lacks(site, token):
    result, log = run(site, token=token, idnumber=["sci-04"], include_members=True)
    cohort = result["cohorts"][0]
    assert cohort["member_count"] == 2 and cohort["members"] == []
    ids = sorted(u["id"] for u in site.state()["users"] if u["username"] in ("u00005", "u00006"))
    assert result["warnings"] == [
        "2 of 2 members could not be named: the site answered for them without their username: the token's user lacks "
        "moodle/user:viewalldetails; member_count counts them, members leaves them out: id=%d, id=%d" % tuple(ids)]
    assert not any(entry["write"] for entry in log)


def test_without_core_course_get_categories_categories_are_unknown(site):
    result, log = run(site, token=NO_CATEGORIES, idnumber=["sys-01", "sci-01"])
    by_idnumber = dict((c["idnumber"], c) for c in result["cohorts"])
    assert by_idnumber["sys-01"]["category_id"] == 0
    assert (by_idnumber["sci-01"]["context"], by_idnumber["sci-01"]["category_id"]) == ("category", None)
    assert any("lacks core_course_get_categories" in w for w in result["warnings"])
    assert len(log) == 3

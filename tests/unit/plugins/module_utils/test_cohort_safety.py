# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pluto_cohort and pluto_cohort_info never act on, delete or report what the task did not mean.

Against the simulator over real HTTP: blank references fail before any request; custom fields
the site does not define are never reported as stored (and a rerun does not fail); a delete's
diff says how many members go with the cohort.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._cohort import plan as cohort_plan
from ansible_collections.pluto.lms.plugins.module_utils._cohort_info import plan as info_plan
from ansible_collections.pluto.lms.plugins.module_utils._runner import run_plan
from tests.simulator.process import start_simulator

MANAGER = "9a1b2c3d4e5f60718293a4b5c6d7e8f9"
NO_MEMBERS_READ = "8b2c3d4e5f60718293a4b5c6d7e8f90a"
TOKENS = ["%s:manager" % MANAGER, "%s:manager:-core_cohort_get_cohort_members" % NO_MEMBERS_READ]

SEED = {
    "categories": [{"name": "Science", "idnumber": "SCI"}],
    "cohorts": [{"idnumber": "", "name": "Made in the web interface", "members": ["u00001", "u00002"]},
                {"idnumber": "seed-a", "name": "Seed A", "members": ["u00001"]}],
}

INFO_DEFAULTS = dict(id=None, idnumber=None, name=None, query=None, category_id=None, category_idnumber=None,
                     visible=None, include_members=False)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = os.path.join(str(tmp_path_factory.mktemp("seed")), "seed.json")
    with open(path, "w") as handle:
        json.dump(SEED, handle)
    with start_simulator(token=TOKENS, seed_file=path, seed_users=5) as sim:
        yield sim


@pytest.fixture
def empty_site():
    """A site without a single cohort: nothing tells which custom fields it defines."""
    with start_simulator(token=TOKENS, seed_users=5) as sim:
        yield sim


def run(sim, logic=cohort_plan, token=MANAGER, check_mode=False, diff=True, **options):
    """The logic as the module runs it; returns (result, request log)."""
    sim.reset_log()
    params = dict(url=sim.url, token=token, validate_certs=True, ca_path=None, timeout=30, retries=0)
    if logic is cohort_plan:
        params["state"] = "present"
    else:
        params.update(INFO_DEFAULTS)
    params.update(options)
    return run_plan(logic, params, check_mode=check_mode, diff=diff), sim.requests()


def writes(log):
    return [entry["wsfunction"] for entry in log if entry["write"]]


def planned_then_applied(sim, **options):
    """Check mode first (no write), then the real run; both must report the same."""
    planned, plan_log = run(sim, check_mode=True, **options)
    assert writes(plan_log) == []
    applied, log = run(sim, **options)
    assert (planned.get("failed"), planned["changed"], planned.get("diff")) == (
        applied.get("failed"), applied["changed"], applied.get("diff"))
    return planned, applied, log


def stored_cohorts(sim, idnumber):
    return [c for c in sim.state()["cohorts"] if c["idnumber"] == idnumber]


# ---- blank references: an error before any request -------------------------------------------------

@pytest.mark.parametrize("options, message", [
    (dict(idnumber="", name="x"), "idnumber is blank"),
    (dict(idnumber="  ", state="absent"), "idnumber is blank"),
    (dict(idnumber="\t", id=1, state="absent"), "idnumber is blank"),
    (dict(idnumber="t-blank", name="x", category_idnumber=""), "category_idnumber is blank"),
    (dict(idnumber="t-blank", name="x", category_idnumber="   "), "category_idnumber is blank"),
])
def test_pluto_cohort_refuses_a_blank_reference_before_any_request(site, options, message):
    for check_mode in (True, False):
        result, log = run(site, check_mode=check_mode, **options)
        assert result["failed"] is True and message in result["msg"], result
        assert log == []


@pytest.mark.parametrize("options, message", [
    (dict(idnumber=[""]), "idnumber has a blank value"),
    (dict(idnumber=["seed-a", "  "]), "idnumber has a blank value"),
    (dict(name=""), "name is blank"),
    (dict(name="  "), "name is blank"),
    (dict(category_idnumber=" "), "category_idnumber is blank"),
])
def test_pluto_cohort_info_refuses_a_blank_reference_before_any_request(site, options, message):
    result, log = run(site, logic=info_plan, **options)
    assert result["failed"] is True and message in result["msg"], result
    assert log == []


def test_the_cohort_without_idnumber_is_never_deleted_through_a_blank_reference(site):
    for idnumber in ("", " "):
        result, _log = run(site, idnumber=idnumber, state="absent")
        assert result["failed"] is True
    assert len(stored_cohorts(site, "")) == 1


# ---- custom fields the site does not define -------------------------------------------------------

def test_a_new_cohort_never_reports_custom_fields_the_site_does_not_define(site):
    options = dict(idnumber="t-cf-new", name="Custom fields", custom_fields={"costcentre": 4711, "level": "x"})
    planned, applied, log = planned_then_applied(site, **options)
    assert applied["changed"] is True and writes(log) == ["core_cohort_create_cohorts"]
    for result in (planned, applied):
        assert result["cohort"]["custom_fields"] == {}
        assert any("costcentre, level" in w and "does not define" in w for w in result["warnings"]), result
        assert "costcentre" not in result["diff"]["after"]
    # The rerun neither fails nor plans a write: the site cannot store them.
    again, again_log = run(site, **options)
    assert again.get("failed") is None and again["changed"] is False, again
    assert writes(again_log) == []
    assert again["cohort"]["custom_fields"] == {}
    assert any("costcentre, level" in w for w in again["warnings"])


def test_an_existing_cohort_with_undefined_custom_fields_is_not_a_failure(site):
    result, log = run(site, idnumber="seed-a", custom_fields={"costcentre": "1"})
    assert result.get("failed") is None and result["changed"] is False, result
    assert writes(log) == []
    assert result["cohort"]["custom_fields"] == {}
    assert any("costcentre" in w and "does not define" in w for w in result["warnings"])


def test_custom_fields_on_a_site_without_cohorts_are_read_back_after_the_create(empty_site):
    """Nothing tells beforehand which fields such a site defines: the real run reports what it stored."""
    options = dict(idnumber="t-first", name="First", custom_fields={"costcentre": "4711"})
    planned, _plan_log = run(empty_site, check_mode=True, **options)
    assert planned["changed"] is True
    assert any("costcentre" in w for w in planned["warnings"])
    applied, log = run(empty_site, **options)
    assert applied["changed"] is True and writes(log) == ["core_cohort_create_cohorts"]
    assert applied["cohort"]["custom_fields"] == {}
    assert applied["cohort"]["id"] == stored_cohorts(empty_site, "t-first")[0]["id"]
    assert any("costcentre" in w and "did not store" in w for w in applied["warnings"]), applied
    again, again_log = run(empty_site, **options)
    assert again.get("failed") is None and again["changed"] is False and writes(again_log) == []


# ---- a delete's diff ------------------------------------------------------------------------------

def test_a_delete_diff_says_how_many_members_go_with_the_cohort(site):
    run(site, idnumber="t-del-members", name="Doomed")
    members = [{"cohorttype": {"type": "idnumber", "value": "t-del-members"}, "usertype": {"type": "username", "value": u}}
               for u in ("u00001", "u00002", "u00003")]
    site.call("core_cohort_add_cohort_members", {"members": members}, token=MANAGER)
    planned, applied, log = planned_then_applied(site, idnumber="t-del-members", state="absent")
    assert applied["changed"] is True and writes(log) == ["core_cohort_delete_cohorts"]
    assert "members: 3 (removed with the cohort)\n" in applied["diff"]["before"]
    assert stored_cohorts(site, "t-del-members") == []


def test_a_delete_diff_without_the_members_function_says_the_count_is_unknown(site):
    run(site, idnumber="t-del-unknown", name="Doomed too")
    result, log = run(site, token=NO_MEMBERS_READ, check_mode=True, idnumber="t-del-unknown", state="absent")
    assert result["changed"] is True and writes(log) == []
    assert "members: unknown" in result["diff"]["before"]
    assert "core_cohort_get_cohort_members" in result["diff"]["before"]

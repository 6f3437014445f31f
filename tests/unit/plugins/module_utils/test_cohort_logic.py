# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pluto_cohort's logic against the simulator over real HTTP: plans, writes, checks and request counts.

Every change is planned in check mode first (no write may reach the site, and the plan must
equal the real run's), then applied, then run again (no change, no write).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._cohort import plan as cohort_plan
from ansible_collections.pluto.lms.plugins.module_utils._runner import run_plan
from tests.simulator.process import start_simulator

# Tokens as long as the site's (the client masks the token wherever it appears in a message).
MANAGER = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
COHORT_MANAGER = "1b2c3d4e5f60718293a4b5c6d7e8f90a"
VIEWER = "2c3d4e5f60718293a4b5c6d7e8f90a1b"
NO_ACCESS = "3d4e5f60718293a4b5c6d7e8f90a1b2c"
NO_CATEGORIES = "4e5f60718293a4b5c6d7e8f90a1b2c3d"
NO_UPDATE = "5f60718293a4b5c6d7e8f90a1b2c3d4e"
TOKENS = ["%s:manager" % MANAGER, "%s:cohortmanager" % COHORT_MANAGER, "%s:viewer" % VIEWER, "%s:noaccess" % NO_ACCESS,
          "%s:manager:-core_course_get_categories" % NO_CATEGORIES,
          "%s:manager:-core_cohort_update_cohorts,-core_cohort_create_cohorts" % NO_UPDATE]

SEED = {
    "categories": [{"name": "Science", "idnumber": "SCI"}, {"name": "Physics", "idnumber": "PHY", "parent": "SCI"},
                   {"name": "Arts", "idnumber": "ART"}],
    "cohorts": [{"idnumber": "seed-phy", "name": "Physics seed", "category": "PHY"},
                {"idnumber": "seed-sys", "name": "System seed", "description": "Kept *as is*", "descriptionformat": 4,
                 "visible": 0}],
}


def seed_file(tmp_path_factory):
    path = os.path.join(str(tmp_path_factory.mktemp("seed")), "seed.json")
    with open(path, "w") as handle:
        json.dump(SEED, handle)
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with start_simulator(token=TOKENS, seed_file=seed_file(tmp_path_factory)) as sim:
        yield sim


@pytest.fixture(scope="module")
def themed_site(tmp_path_factory):
    with start_simulator(token=TOKENS, allow_cohort_themes=True) as sim:
        yield sim


def run(sim, token=MANAGER, check_mode=False, diff=True, **options):
    """The plan as the module runs it (_runner.run_plan); returns (result, request log)."""
    sim.reset_log()
    params = dict(url=sim.url, token=token, validate_certs=True, ca_path=None, timeout=30, retries=0, state="present")
    params.update(options)
    return run_plan(cohort_plan, params, check_mode=check_mode, diff=diff), sim.requests()


def writes(log):
    return [entry["wsfunction"] for entry in log if entry["write"]]


def reads(log):
    return [entry["wsfunction"] for entry in log if not entry["write"]]


def stored(sim, idnumber):
    matches = [c for c in sim.state()["cohorts"] if c["idnumber"] == idnumber]
    assert len(matches) == 1, matches
    return matches[0]


def apply(sim, token=MANAGER, **options):
    """Plan in check mode (no write), apply, and prove both report the same; returns (result, log)."""
    planned, plan_log = run(sim, token, check_mode=True, **options)
    assert writes(plan_log) == []
    applied, log = run(sim, token, **options)
    assert planned.get("failed") == applied.get("failed"), (planned, applied)
    assert planned["changed"] == applied["changed"]
    assert planned.get("diff") == applied.get("diff")
    assert planned.get("msg") == applied.get("msg")
    if "cohort" in applied:
        expected = dict(applied["cohort"])
        if planned["cohort"].get("id") is None and expected:
            expected["id"] = None
        if planned["cohort"].get("theme") != expected.get("theme"):
            expected["theme"] = planned["cohort"]["theme"]  # the site dropped it: only the real run can know
        assert planned["cohort"] == expected
    return applied, log


def apply_twice(sim, token=MANAGER, **options):
    """apply(), then the same task again: unchanged, no write, identical cohort."""
    applied, log = apply(sim, token, **options)
    again, again_log = run(sim, token, **options)
    assert again["changed"] is False, again
    assert writes(again_log) == []
    assert again["cohort"] == applied["cohort"]
    return applied, log, again_log


# ---- create, rerun, update ------------------------------------------------------------------

def test_create_in_the_system_context_then_nothing_to_do(site):
    result, log, again_log = apply_twice(site, idnumber="t-create", name="Created", description="Hello", visible=False)
    assert result["changed"] is True
    assert result["cohort"] == {"id": result["cohort"]["id"], "idnumber": "t-create", "name": "Created",
                                "description": "Hello", "description_format": "html", "visible": False, "theme": "",
                                "custom_fields": {}, "context": "system", "category_id": 0, "category_idnumber": None}
    # Site info, every cohort (one search), then the create's read-back (a search of its idnumber).
    assert reads(log) == ["core_webservice_get_site_info", "core_cohort_search_cohorts", "core_cohort_search_cohorts"]
    assert writes(log) == ["core_cohort_create_cohorts"]
    # Rerun: site info, every cohort, the system context's search.
    assert len(reads(again_log)) == 3
    row = stored(site, "t-create")
    assert (row["name"], row["description"], row["visible"], row["contextid"]) == ("Created", "Hello", False, 1)


def test_create_in_a_category_by_idnumber(site):
    result, log, again_log = apply_twice(site, idnumber="t-cat", name="In SCI", category_idnumber="SCI")
    assert (result["cohort"]["context"], result["cohort"]["category_idnumber"]) == ("category", "SCI")
    # Site info, every cohort, the category's lookup, the create's read-back.
    assert len(reads(log)) == 4 and writes(log) == ["core_cohort_create_cohorts"]
    # Rerun: site info, every cohort, category lookup, system search, the category's search.
    assert len(reads(again_log)) == 5


def test_the_diff_of_a_creation_reads_as_lines(site):
    result, _log = run(site, check_mode=True, idnumber="t-diff-new", name="Diff new", visible=True, category_idnumber="SCI")
    sci = result["cohort"]["category_id"]
    after = "idnumber: t-diff-new\nname: Diff new\nvisible: true\ncontext: category SCI (id %d)\n" % sci
    assert result["diff"] == {"before": "", "after": after,
                              "before_header": "cohort t-diff-new (absent)", "after_header": "cohort t-diff-new (new)"}


def test_each_field_is_updated_alone_and_nothing_else_is_sent(site):
    created, _log = apply(site, idnumber="t-fields", name="Fields", description="<p>Hi</p>", visible=True)
    cohort_id = created["cohort"]["id"]
    steps = [dict(name="Fields renamed"), dict(description="*md*", description_format="markdown"),
             dict(description="*md* only text"), dict(description_format="plain"), dict(visible=False)]
    for step in steps:
        result, log, _again = apply_twice(site, idnumber="t-fields", **step)
        assert result["changed"] is True, step
        assert writes(log) == ["core_cohort_update_cohorts"]
    row = stored(site, "t-fields")
    assert (row["id"], row["name"], row["description"], row["descriptionformat"], row["visible"]) == (
        cohort_id, "Fields renamed", "*md* only text", 2, False)


def test_description_alone_keeps_the_stored_format(site):
    apply(site, idnumber="t-format", name="Format", description="a", description_format="markdown")
    result, _log, _again = apply_twice(site, idnumber="t-format", description="b")
    assert result["cohort"]["description_format"] == "markdown"
    assert stored(site, "t-format")["descriptionformat"] == 4


def test_an_update_diff_shows_only_managed_fields(site):
    apply(site, idnumber="t-diff-upd", name="Before", description="Not managed here")
    result, _log = apply(site, idnumber="t-diff-upd", name="After", visible=False)
    assert result["diff"] == {"before": "idnumber: t-diff-upd\nname: Before\nvisible: true\ncontext: system\n",
                              "after": "idnumber: t-diff-upd\nname: After\nvisible: false\ncontext: system\n",
                              "before_header": "cohort t-diff-upd (id %d)" % result["cohort"]["id"],
                              "after_header": "cohort t-diff-upd (id %d)" % result["cohort"]["id"]}


def test_a_seeded_cohort_matches_its_stored_raw_description(site):
    _result, log, _again = apply_twice(site, idnumber="seed-sys", description="Kept *as is*", visible=False)
    assert writes(log) == []


def test_rename_by_id(site):
    created, _log = apply(site, idnumber="t-old", name="Old")
    cohort_id = created["cohort"]["id"]
    result, log, again_log = apply_twice(site, id=cohort_id, idnumber="t-new", name="New")
    assert result["cohort"]["idnumber"] == "t-new" and result["cohort"]["id"] == cohort_id
    assert "-idnumber: t-old" not in result["diff"]["before"]  # a text diff, not a dict
    assert result["diff"]["before"].startswith("idnumber: t-old\n")
    assert result["diff"]["after"].startswith("idnumber: t-new\n")
    # Site info, every cohort (the id and the new idnumber's holders), its context; then one update.
    assert len(reads(log)) == 3 and writes(log) == ["core_cohort_update_cohorts"]
    assert len(reads(again_log)) == 3


def test_moves_between_contexts(site):
    apply(site, idnumber="t-move", name="Mover")
    for options, context in ((dict(category_idnumber="SCI"), "SCI"), (dict(category_idnumber="PHY"), "PHY"),
                             (dict(category_id=0), None)):
        result, log, again_log = apply_twice(site, idnumber="t-move", **options)
        assert result["changed"] is True
        assert result["cohort"]["category_idnumber"] == context
        assert writes(log) == ["core_cohort_update_cohorts"]
        assert len(reads(again_log)) <= 5
    assert stored(site, "t-move")["contextid"] == 1


def test_a_cohort_in_an_unnamed_category_is_found_by_searching_the_categories(site):
    result, _log, again_log = apply_twice(site, idnumber="seed-phy", name="Physics seed")
    assert (result["changed"], result["cohort"]["category_idnumber"]) == (False, "PHY")
    # Site info, idnumber search, system search, the category list, then one search per category until found.
    categories = len(site.state()["categories"])
    assert 4 < len(reads(again_log)) <= 4 + categories


def test_omitting_the_context_leaves_the_cohort_where_it_is(site):
    apply(site, idnumber="t-stay", name="Stay", category_idnumber="ART")
    result, log, _again = apply_twice(site, idnumber="t-stay", name="Stay renamed")
    assert result["cohort"]["category_idnumber"] == "ART"
    contextid = stored(site, "t-stay")["contextid"]
    assert contextid == [c for c in site.state()["categories"] if c["idnumber"] == "ART"][0]["contextid"]


# ---- delete -----------------------------------------------------------------------------------

def test_delete_then_delete_again(site):
    apply(site, idnumber="t-delete", name="Doomed", description="bye")
    result, log = apply(site, idnumber="t-delete", state="absent")
    assert result["changed"] is True and result["cohort"] == {}
    assert result["diff"]["before"] == ("idnumber: t-delete\nname: Doomed\ndescription: bye\nvisible: true\n"
                                        "context: system\nmembers: 0 (removed with the cohort)\n")
    assert result["diff"]["after"] == ""
    # Site info, every cohort, the system context's search, the cohort's members; then the delete.
    assert len(reads(log)) == 4 and writes(log) == ["core_cohort_delete_cohorts"]
    again, again_log = apply(site, idnumber="t-delete", state="absent")
    assert again["changed"] is False and writes(again_log) == []
    assert len(again_log) == 2


def test_delete_by_id_of_a_missing_cohort_changes_nothing(site):
    result, log = apply(site, id=999999, state="absent")
    assert result["changed"] is False and writes(log) == []


# ---- checks before any write -----------------------------------------------------------------

@pytest.mark.parametrize("options, message", [
    (dict(idnumber="t-bad", name="  "), "cohort 't-bad': name is blank"),
    (dict(idnumber="t-bad", name="n" * 255), "cohort 't-bad': name is 255 characters long, the site allows 254"),
    (dict(idnumber="i" * 101, name="Long"), "idnumber is 101 characters long, the site allows 100"),
    (dict(idnumber="t-bad"), "cohort 't-bad': name is required to create the cohort"),
    (dict(idnumber="t-bad", name="x", category_id=9999), "cohort 't-bad': there is no course category with id 9999"),
    (dict(idnumber="t-bad", name="x", category_idnumber="NOPE"), "there is no course category with idnumber 'NOPE'"),
    (dict(id=999999, name="x"), "cohort id 999999: there is no cohort with id 999999"),
    (dict(idnumber=" ", name="x"), "cohort ' ': idnumber is blank"),
    (dict(idnumber="t-bad", name=" ", category_idnumber="NOPE"),
     "cohort 't-bad': name is blank; there is no course category with idnumber 'NOPE'"),
])
def test_bad_input_fails_before_any_write_with_one_message(site, options, message):
    result, log = apply(site, **options)
    assert result["failed"] is True and message in result["msg"]
    assert "\n" not in result["msg"]
    assert writes(log) == []


def test_rename_to_an_idnumber_in_use_is_refused(site):
    apply(site, idnumber="t-taken", name="Taken")
    created, _log = apply(site, idnumber="t-renamer", name="Renamer")
    taken_id = stored(site, "t-taken")["id"]
    result, log = apply(site, id=created["cohort"]["id"], idnumber="t-taken")
    assert result["failed"] is True
    assert "idnumber 't-taken' is already used by cohort id %d" % taken_id in result["msg"]
    assert writes(log) == []


def test_custom_fields_the_site_does_not_define_are_left_out_with_a_warning(site):
    apply(site, idnumber="t-custom", name="Custom")
    result, log = apply(site, idnumber="t-custom", custom_fields={"costcentre": 4711})
    assert result.get("failed") is None and result["changed"] is False
    assert any("does not define the custom field(s) costcentre for cohorts (defined: none)" in w for w in result["warnings"])
    assert writes(log) == []


def test_duplicate_idnumbers_on_the_site_fail_naming_their_ids(site):
    first, _log = apply(site, idnumber="t-dup", name="Dup one")
    second, _log = apply(site, idnumber="t-dup-2", name="Dup two")
    # The site's update does not check uniqueness: make a duplicate the way a careless client would.
    duplicate = {"id": second["cohort"]["id"], "name": "Dup two", "idnumber": "t-dup", "categorytype": {"type": "system", "value": 0}}
    site.call("core_cohort_update_cohorts", {"cohorts": [duplicate]}, token=MANAGER)
    ids = sorted([first["cohort"]["id"], second["cohort"]["id"]])
    for state in ("present", "absent"):
        result, log = apply(site, idnumber="t-dup", name="Whichever", state=state)
        assert result["failed"] is True
        assert "the site holds 2 cohorts with idnumber 't-dup' (ids %d, %d)" % tuple(ids) in result["msg"]
        assert writes(log) == []
    # Renaming one of them by id resolves it.
    result, _log, _again = apply_twice(site, id=ids[1], idnumber="t-dup-fixed")
    assert result["changed"] is True


# ---- tokens --------------------------------------------------------------------------------------

def test_a_read_only_token_gets_one_line_naming_the_capability(site):
    result, log = run(site, token=VIEWER, idnumber="t-ro", name="Read only")
    assert result["failed"] is True and result["errorcode"] == "nopermissions"
    assert result["msg"].startswith("could not create cohort 't-ro': core_cohort_create_cohorts failed")
    assert result["msg"].endswith("the token's user needs the capability moodle/cohort:manage")
    assert "\n" not in result["msg"]
    planned, plan_log = run(site, token=VIEWER, check_mode=True, idnumber="t-ro", name="Read only")
    assert planned["changed"] is True and writes(plan_log) == []


def test_a_token_that_may_not_read_cohorts_is_told_which_capability(site):
    result, log = run(site, token=NO_ACCESS, idnumber="t-na", name="No access")
    assert result["failed"] is True and "moodle/cohort:view" in result["msg"]
    assert writes(log) == []


def test_a_service_without_a_write_function_fails_before_any_other_request(site):
    result, log = run(site, token=NO_UPDATE, idnumber="t-nofunc", name="No function")
    assert result["failed"] is True
    assert ("lacks 2 function(s) this task needs: core_cohort_create_cohorts, core_cohort_update_cohorts"
            in result["msg"])
    assert [entry["wsfunction"] for entry in log] == ["core_webservice_get_site_info"]
    planned, plan_log = run(site, token=NO_UPDATE, check_mode=True, idnumber="t-nofunc", name="No function")
    assert planned["changed"] is True and writes(plan_log) == []
    assert any("a run without check mode would fail" in w for w in planned["warnings"])


def test_without_category_search_rights_the_site_checks_the_category(site):
    result, log = apply(site, token=COHORT_MANAGER, idnumber="t-cm", name="Cohort manager", category_idnumber="ART")
    assert result["changed"] is True and writes(log) == ["core_cohort_create_cohorts"]
    assert any("criteriaerror" in w and "the site's own check applies" in w for w in result["warnings"])
    again, again_log = run(site, token=COHORT_MANAGER, idnumber="t-cm", name="Cohort manager", category_idnumber="ART")
    assert again["changed"] is False and writes(again_log) == []
    assert again["cohort"]["category_id"] is not None
    bad, bad_log = run(site, token=COHORT_MANAGER, idnumber="t-cm-bad", name="x", category_idnumber="NOPE")
    assert bad["failed"] is True and bad["errorcode"] == "invalidparameter" and writes(bad_log) == [
        "core_cohort_create_cohorts"]


def test_without_core_course_get_categories_a_category_cohort_is_still_managed(site):
    result, log = apply(site, token=NO_CATEGORIES, idnumber="t-nocat", name="No categories", category_idnumber="ART")
    assert result["changed"] is True
    assert any("lacks core_course_get_categories" in w for w in result["warnings"])
    renamed, log, again_log = apply_twice(site, token=NO_CATEGORIES, idnumber="t-nocat", name="Renamed",
                                          category_idnumber="ART")
    assert writes(log) == ["core_cohort_update_cohorts"]
    assert stored(site, "t-nocat")["contextid"] == [c for c in site.state()["categories"]
                                                    if c["idnumber"] == "ART"][0]["contextid"]
    result, log = run(site, token=NO_CATEGORIES, idnumber="t-nocat", name="Renamed again")
    assert result["failed"] is True and "give category_id or category_idnumber" in result["msg"]
    assert writes(log) == []


# ---- themes ---------------------------------------------------------------------------------------

def test_a_theme_the_site_drops_warns_and_is_not_a_change_every_run(site):
    result, log = apply(site, idnumber="t-theme-off", name="Themed", theme="boost")
    assert result["changed"] is True and result["cohort"]["theme"] == ""
    assert any("dropped theme 'boost'" in w for w in result["warnings"])
    again, again_log = run(site, idnumber="t-theme-off", name="Themed", theme="boost")
    assert again["changed"] is False and writes(again_log) == []
    assert len(again["warnings"]) == 1 and "Allow cohort themes" in again["warnings"][0]


def test_themes_are_set_and_changed_when_the_site_allows_them(themed_site):
    result, _log, _again = apply_twice(themed_site, idnumber="t-theme", name="Themed", theme="boost")
    assert result["cohort"]["theme"] == "boost" and result.get("warnings") is None
    result, log, _again = apply_twice(themed_site, idnumber="t-theme", theme="classic")
    assert "-theme: boost\n" not in result["diff"]["before"] and "theme: classic" in result["diff"]["after"]
    assert writes(log) == ["core_cohort_update_cohorts"]
    assert stored(themed_site, "t-theme")["theme"] == "classic"

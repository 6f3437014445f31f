# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters of the cohort_bootstrap role and the tenant playbooks (pure functions)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.pluto.lms.plugins.filter.cohort_audit import (
    FilterModule,
    cohort_audit_markdown,
    cohort_audit_report,
    cohort_drift,
    cohort_duplicates,
    cohort_members_csv,
    cohort_prune_candidates,
)


def cohort_run(item, changed, cohort=None, **extra):
    """One item of a registered pluto_cohort loop, as Ansible registers it (cohort: as it is after the task)."""
    return dict(item=item, changed=changed, cohort=cohort if cohort is not None else {}, **extra)


def member_run(cohort_result, added=(), removed=(), skipped=False):
    if skipped:
        return {"item": cohort_result, "skipped": True, "changed": False}
    return {"item": cohort_result, "changed": bool(added or removed), "added": list(added), "removed": list(removed),
            "cohort": {"idnumber": cohort_result["item"]["idnumber"]}}


def view(idnumber, name, **fields):
    """A cohort as pluto_cohort_info and pluto_cohort return it."""
    cohort = {"id": 3, "idnumber": idnumber, "name": name, "visible": True, "description": "", "description_format": "html",
              "theme": "", "custom_fields": {}, "context": "system", "category_id": 0, "category_idnumber": None}
    cohort.update(fields)
    return cohort


def test_every_filter_is_registered():
    assert sorted(FilterModule().filters()) == [
        "cohort_audit_markdown", "cohort_audit_report", "cohort_drift", "cohort_duplicates",
        "cohort_members_csv", "cohort_prune_candidates", "cohort_tenant_summary"]


def test_duplicates_are_named_once_and_sorted():
    assert cohort_duplicates(["b", "a", "b", "c", "a", "b"]) == ["a", "b"]
    assert cohort_duplicates(["a", "b"]) == []
    assert cohort_duplicates(None) == []


def test_prune_candidates_spare_wanted_and_kept_cohorts():
    site = [{"id": 1, "idnumber": "students", "name": "Students"},
            {"id": 7, "idnumber": "course-101", "name": "Course 101"},
            {"id": 5, "idnumber": "legacy", "name": "Legacy"},
            {"id": 9, "idnumber": "", "name": "No idnumber"},
            {"id": 4, "idnumber": "Course-9", "name": "Case differs"}]
    assert cohort_prune_candidates(site, ["students"], ["course-*"]) == [
        {"id": 9, "idnumber": "", "name": "No idnumber"},
        {"id": 4, "idnumber": "Course-9", "name": "Case differs"},
        {"id": 5, "idnumber": "legacy", "name": "Legacy"}]
    assert cohort_prune_candidates(site, ["students", "course-101", "legacy", "", "Course-9"], []) == []


def test_drift_of_a_clean_run_is_clean():
    students = view("students", "Students")
    results = {"results": [cohort_run({"idnumber": "students", "name": "Students"}, False, students)]}
    summary = cohort_drift([students], results, {"results": []}, {"skipped": True, "changed": False})
    assert summary == {"clean": True, "created": [], "changed": [], "deleted": [], "members": []}


def test_drift_names_created_changed_deleted_and_members():
    before = [view("students", "Pupils", visible=False, custom_fields={"code": "1"}),
              view("old", "Old", id=6), view("zz-stale", "Stale", id=8)]
    # check mode: a cohort to create has no id yet, and the member task was skipped for it
    faculty = cohort_run({"idnumber": "faculty", "name": "Faculty", "members": ["zed", "amy"]}, True,
                         view("faculty", "Faculty", id=None))
    students = cohort_run({"idnumber": "students", "name": "Students", "visible": True, "members": ["bob"]}, True,
                          view("students", "Students", custom_fields={"code": "1"}))
    gone = cohort_run({"idnumber": "old", "state": "absent"}, True, {})
    unchanged = cohort_run({"idnumber": "staff", "name": "Staff", "members": ["amy"]}, False, view("staff", "Staff", id=4))
    cohorts = {"results": [faculty, students, gone, unchanged]}
    members = {"results": [member_run(faculty, skipped=True), member_run(students, ["bob"], ["eve", "al"]),
                           {"item": gone, "skipped": True, "changed": False}, member_run(unchanged)]}
    pruned = {"results": [cohort_run({"id": 8, "idnumber": "zz-stale", "name": "Stale"}, True, {})]}
    assert cohort_drift(before, cohorts, members, pruned) == {
        "clean": False,
        "created": [{"idnumber": "faculty", "name": "Faculty"}],
        "changed": [{"idnumber": "students", "fields": {
            "name": {"old": "Pupils", "new": "Students"}, "visible": {"old": False, "new": True}}}],
        "deleted": [{"idnumber": "old", "name": "Old", "pruned": False},
                    {"idnumber": "zz-stale", "name": "Stale", "pruned": True}],
        "members": [{"idnumber": "faculty", "added": ["amy", "zed"], "removed": []},
                    {"idnumber": "students", "added": ["bob"], "removed": ["al", "eve"]}],
    }


def test_drift_names_a_move_to_another_category():
    before = [view("staff", "Staff")]
    moved = view("staff", "Staff", context="category", category_id=7, category_idnumber="SCI")
    summary = cohort_drift(before, {"results": [cohort_run({"idnumber": "staff", "name": "Staff"}, True, moved)]})
    assert summary["changed"] == [{"idnumber": "staff", "fields": {
        "context": {"old": "system", "new": "category"}, "category_id": {"old": 0, "new": 7},
        "category_idnumber": {"old": None, "new": "SCI"}}}]


def test_skipped_members_of_an_existing_cohort_are_not_reported():
    staff = cohort_run({"idnumber": "staff", "name": "Staff", "members": ["amy"]}, False, view("staff", "Staff"))
    summary = cohort_drift([view("staff", "Staff")], {"results": [staff]}, {"results": [member_run(staff, skipped=True)]})
    assert summary["members"] == []


def test_drift_records_failures():
    results = {"results": [dict(cohort_run({"idnumber": "staff", "name": "Staff"}, False), failed=True, msg="boom")]}
    summary = cohort_drift([], results)
    assert summary["clean"] is False
    assert summary["failed"] == ["staff: boom"]


def report_of_two():
    drift = {"clean": False, "created": [{"idnumber": "alumni", "name": "Alumni"}],
             "changed": [{"idnumber": "faculty", "fields": {"name": {"old": "Faculty (old)", "new": "Faculty"}}}],
             "deleted": [{"idnumber": "legacy", "name": "Legacy", "pruned": True}],
             "members": [{"idnumber": "faculty", "added": ["user07"], "removed": []}]}
    clean = {"clean": True, "created": [], "changed": [], "deleted": [], "members": []}
    return cohort_audit_report([
        {"name": "south", "url": "http://127.0.0.1:2", "summary": drift},
        {"name": "north", "url": "http://127.0.0.1:1", "summary": clean},
        {"name": "east", "url": "http://127.0.0.1:3", "error": "could not connect"},
    ])


def test_report_sorts_tenants_and_counts_statuses():
    report = report_of_two()
    assert report["totals"] == {"tenants": 3, "clean": 1, "drift": 1, "error": 1}
    assert report["tenants"]["north"]["status"] == "clean"
    assert report["tenants"]["south"]["status"] == "drift"
    assert report["tenants"]["east"] == {"url": "http://127.0.0.1:3", "status": "error", "error": "could not connect",
                                         "created": [], "changed": [], "deleted": [], "members": []}


def test_markdown_shows_the_table_and_each_drift():
    text = cohort_audit_markdown(report_of_two())
    assert text.startswith("# Cohort audit\n\n3 tenant(s): 1 clean, 1 with drift, 1 failed.")
    assert "| north | clean | 0 | 0 | 0 | 0 |" in text
    assert "| south | drift | 1 | 1 | 1 | 1 |" in text
    assert "Clean: the site matches the desired state." in text
    assert "- would create `alumni` (Alumni)" in text
    assert '- would change `faculty` name: "Faculty (old)" → "Faculty"' in text
    assert "- would delete `legacy` (Legacy)" in text
    assert "- members of `faculty`: +1 (user07)" in text
    assert "Error: could not connect" in text
    # tenants in name order
    assert text.index("## east") < text.index("## north") < text.index("## south")


def test_csv_groups_users_by_cohort():
    text = "cohort_idnumber,username\nstaff,bob\nstudents,amy\n\nstaff, al \nstaff,bob\n"
    assert cohort_members_csv(text) == {"staff": ["al", "bob"], "students": ["amy"]}


def test_csv_with_only_a_header_lists_nothing():
    assert cohort_members_csv("cohort_idnumber,username\n") == {}


@pytest.mark.parametrize("text, expected", [
    ("idnumber,user\nstaff,bob\n", "members.csv is malformed: line 1: the header must be 'cohort_idnumber,username'"),
    ("", "line 1: the header must be"),
    ("cohort_idnumber,username\nstaff,bob\nstaff\n", "line 3: expected 2 fields (cohort_idnumber,username), found 1: 'staff'"),
    ("cohort_idnumber,username\nstaff,bob,extra\n", "line 2: expected 2 fields (cohort_idnumber,username), found 3"),
    ("cohort_idnumber,username\n,bob\n", "line 2: empty cohort_idnumber"),
    ("cohort_idnumber,username\nstaff, \n", "line 2: empty username"),
])
def test_csv_errors_name_the_line(text, expected):
    with pytest.raises(AnsibleFilterError) as error:
        cohort_members_csv(text, "members.csv")
    assert expected in str(error.value)


def test_csv_names_every_bad_line_at_once():
    with pytest.raises(AnsibleFilterError) as error:
        cohort_members_csv("cohort_idnumber,username\nstaff\nok,amy\na,b,c\n", "f.csv")
    assert "line 2:" in str(error.value) and "line 4:" in str(error.value) and "line 3" not in str(error.value)

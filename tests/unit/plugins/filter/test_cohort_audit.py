# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters of the cohort_bootstrap role and the tenant playbooks (pure functions)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.pluto.lms.plugins.filter.cohort_audit import (
    MD_WIDTH,
    FilterModule,
    cohort_audit_markdown,
    cohort_audit_report,
    cohort_drift,
    cohort_duplicates,
    cohort_members_csv,
    cohort_members_csv_file,
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
        "cohort_members_csv", "cohort_members_csv_file", "cohort_prune_candidates", "cohort_tenant_summary"]


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
    assert "- members of `faculty`: 1 to add\n  - to add: user07\n" in text
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


def test_csv_text_with_a_byte_order_mark_reads_like_any_other():
    assert cohort_members_csv("\ufeffcohort_idnumber,username\r\nstaff,bob\r\n") == {"staff": ["bob"]}


def test_csv_text_with_undecodable_bytes_names_the_first_one():
    # ansible.builtin.file passes the bytes of a Latin-1 file on as lone surrogates.
    text = b"cohort_idnumber,username\nstaff,bob\nstaff,jos\xe9\n".decode("utf-8", "surrogateescape")
    with pytest.raises(AnsibleFilterError) as error:
        cohort_members_csv(text, "staff.csv")
    assert str(error.value) == ("staff.csv cannot be read: it is not UTF-8 text: byte 0xe9 at line 3, column 10 is not "
                                "valid UTF-8 (save it as \"CSV UTF-8\", or convert it, for example with iconv -f latin1 "
                                "-t utf-8)")


@pytest.mark.parametrize("data", [
    b"cohort_idnumber,username\nstaff,jos\xc3\xa9\n",
    b"\xef\xbb\xbfcohort_idnumber,username\r\nstaff,jos\xc3\xa9\r\n",
], ids=["utf-8", "utf-8 with a byte order mark and CRLF"])
def test_csv_file_in_utf8_is_read(tmp_path, data):
    path = tmp_path / "members.csv"
    path.write_bytes(data)
    assert cohort_members_csv_file(str(path)) == {"staff": [u"jos\u00e9"]}


@pytest.mark.parametrize("data, expected", [
    (b"cohort_idnumber,username\nstaff,jos\xe9\n",
     "m.csv cannot be read: it is not UTF-8 text: byte 0xe9 at line 2, column 10 is not valid UTF-8"),
    (u"cohort_idnumber,username\nstaff,bob\n".encode("utf-16"),
     "m.csv cannot be read: it is UTF-16 text (what spreadsheet programs write for \"Unicode text\"); "
     "save it as \"CSV UTF-8\""),
], ids=["latin-1", "utf-16"])
def test_csv_file_in_another_encoding_fails_with_one_line_naming_it(tmp_path, monkeypatch, data, expected):
    (tmp_path / "m.csv").write_bytes(data)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AnsibleFilterError) as error:
        cohort_members_csv_file("m.csv")
    assert str(error.value).startswith(expected)
    assert "\n" not in str(error.value)


def test_csv_file_relative_path_is_resolved_against_the_current_directory(tmp_path, monkeypatch):
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "m.csv").write_text(u"cohort_idnumber,username\nstaff,bob\n")
    monkeypatch.chdir(tmp_path)
    assert cohort_members_csv_file("lists/m.csv") == {"staff": ["bob"]}
    monkeypatch.chdir(tmp_path / "lists")
    with pytest.raises(AnsibleFilterError) as error:
        cohort_members_csv_file("lists/m.csv")
    assert str(error.value) == (
        "cannot read the CSV file lists/m.csv (%s): no such file or directory; a relative path is resolved against "
        "the directory ansible-playbook runs in, %s" % (tmp_path / "lists" / "lists" / "m.csv", tmp_path / "lists"))


def test_csv_file_malformed_names_the_file_as_given(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(u"cohort_idnumber,username\nstaff\n")
    with pytest.raises(AnsibleFilterError) as error:
        cohort_members_csv_file(str(path))
    assert str(error.value) == "%s is malformed: line 2: expected 2 fields (cohort_idnumber,username), found 1: 'staff'" % path


@pytest.mark.parametrize("path", [None, "", "  "])
def test_csv_file_without_a_path_says_so(path):
    with pytest.raises(AnsibleFilterError) as error:
        cohort_members_csv_file(path)
    assert str(error.value) == "no CSV file given: the path is empty"


def one_tenant_report(members=(), created=(), changed=(), deleted=(), error=None):
    entry = {"url": "http://127.0.0.1:1", "status": "error" if error else "drift", "created": list(created),
             "changed": list(changed), "deleted": list(deleted), "members": list(members)}
    if error:
        entry["error"] = error
    totals = {"tenants": 1, "clean": 0, "drift": 0 if error else 1, "error": 1 if error else 0}
    return {"tenants": {"lakeside": entry}, "totals": totals}


def test_markdown_of_3000_member_changes_counts_first_then_wraps_and_caps_the_names():
    added = ["u%05d" % n for n in range(1, 3001)]
    members = [{"idnumber": "students", "added": added, "removed": ["gone1", "gone2"]}]
    text = cohort_audit_markdown(one_tenant_report(members=members))
    assert "| lakeside | drift | 0 | 0 | 0 | 3002 |" in text
    assert "- members of `students`: 3,000 to add, 2 to remove\n  - to add: u00001, u00002," in text
    assert "u00050, and 2,950 more\n  - to remove: gone1, gone2\n" in text
    assert "u00051" not in text
    assert max(len(line) for line in text.splitlines()) <= MD_WIDTH
    assert len(text) < 2000
    # Every continuation line of the list stays inside its item (indented), none starts a new one.
    names = text[text.index("  - to add:"):text.index("  - to remove:")].splitlines()
    assert len(names) > 2 and all(line.startswith("    u") for line in names[1:])


def test_markdown_escapes_names_ids_and_values():
    text = cohort_audit_markdown(one_tenant_report(
        members=[{"idnumber": "team_`a`*", "added": ["j_doe", "*star*", "`tick`", "-dash", "1.first", "a|b"],
                  "removed": []}],
        created=[{"idnumber": "new_one", "name": "Staff *2026*"}],
        changed=[{"idnumber": "x", "fields": {"name": {"old": "_old_", "new": "new"}}}],
        deleted=[{"idnumber": "", "name": "No id"}]))
    assert "- would create `new_one` (Staff \\*2026\\*)" in text
    assert '- would change `x` name: "\\_old\\_" → "new"' in text
    assert "- would delete (no idnumber) (No id)" in text
    assert "- members of `` team_`a`* ``: 6 to add" in text
    assert "  - to add: j\\_doe, \\*star\\*, \\`tick\\`, \\-dash, 1\\.first, a\\|b\n" in text


def test_markdown_error_and_tenant_names_are_one_escaped_line():
    report = one_tenant_report(error="Read the cohorts: *boom*\nsecond line")
    report["tenants"]["lake_side"] = report["tenants"].pop("lakeside")
    text = cohort_audit_markdown(report)
    assert "Error: Read the cohorts: \\*boom\\* second line\n" in text
    assert "## lake\\_side\n" in text and "| lake\\_side | error |" in text

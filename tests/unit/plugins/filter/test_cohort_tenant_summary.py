# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cohort_tenant_summary: the role's summary from one pluto_cohorts result."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pluto.lms.plugins.filter.cohort_audit import cohort_tenant_summary

RESULT = {
    "changed": True,
    "cohorts": [
        {"idnumber": "staff", "id": 3, "name": "Staff", "action": "updated", "pruned": False,
         "fields": {"name": {"old": "staff", "new": "Staff"}}, "added": ["u2"], "removed": ["u9", "id=41"],
         "missing": [], "member_count": 2},
        {"idnumber": "alumni", "id": None, "name": "Alumni", "action": "created", "fields": {}, "pruned": False},
        {"idnumber": "", "id": 7, "name": "Made by hand", "action": "deleted", "fields": {}, "pruned": True},
        {"idnumber": "legacy", "id": 5, "name": "Legacy", "action": "deleted", "fields": {}, "pruned": False},
        {"idnumber": "quiet", "id": 6, "name": "Quiet", "action": "unchanged", "fields": {}, "pruned": False,
         "added": [], "removed": [], "missing": ["ghost"], "member_count": 0},
    ],
}


def test_the_summary_keeps_the_roles_shape_and_names_deleted_cohorts_by_id():
    assert cohort_tenant_summary(RESULT) == {
        "clean": False,
        "created": [{"idnumber": "alumni", "name": "Alumni"}],
        "changed": [{"idnumber": "staff", "fields": {"name": {"old": "staff", "new": "Staff"}}}],
        "deleted": [{"idnumber": "", "name": "Made by hand", "id": 7, "pruned": True},
                    {"idnumber": "legacy", "name": "Legacy", "id": 5, "pruned": False}],
        "members": [{"idnumber": "staff", "added": ["u2"], "removed": ["id=41", "u9"]}],
    }


def test_nothing_to_do_is_clean_and_a_failure_never_is():
    quiet = {"changed": False, "cohorts": [RESULT["cohorts"][-1]]}
    assert cohort_tenant_summary(quiet) == {"clean": True, "created": [], "changed": [], "deleted": [], "members": []}
    failed = dict(quiet, failed=True, msg="core_cohort_add_cohort_members failed")
    summary = cohort_tenant_summary(failed)
    assert summary["clean"] is False and summary["failed"] == ["core_cohort_add_cohort_members failed"]
    assert cohort_tenant_summary(None)["clean"] is True

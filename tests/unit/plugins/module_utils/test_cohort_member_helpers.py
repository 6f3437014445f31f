# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of pluto_cohort_member: the diff text and the order of names."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pluto.lms.plugins.module_utils._cohort_member import NAMES_SHOWN, membership_diff
from ansible_collections.pluto.lms.plugins.module_utils._users import sort_names


def test_names_sort_numerically_for_ids_and_as_text_otherwise():
    assert sort_names([10, 9, 100, 9]) == [9, 10, 100]
    assert sort_names(["bob", "alice", "id=12", "bob"]) == ["alice", "bob", "id=12"]


def test_diff_shows_counts_and_changed_names_only():
    diff = membership_diff({"id": 3, "idnumber": "staff"}, 120, 121, ["alice", "bob"], ["carol"])
    assert diff["before"] == "members: 120\ncarol\n"
    assert diff["after"] == "members: 121\nalice\nbob\n"
    assert diff["before_header"] == diff["after_header"] == "cohort staff (id 3) members"


def test_diff_of_a_cohort_check_mode_plans_as_empty():
    diff = membership_diff({"id": None, "idnumber": "new"}, 0, 2, ["alice", "bob"], [])
    assert diff["before_header"] == "cohort new (id None) members"
    assert diff["before"] == "members: 0\n"


def test_diff_stays_short_at_ten_thousand_members():
    added = ["user%05d" % n for n in range(10000)]
    diff = membership_diff({"id": 3, "idnumber": "big"}, 0, 10000, added, [])
    lines = diff["after"].splitlines()
    assert lines[0] == "members: 10,000"
    assert lines[1:NAMES_SHOWN + 1] == added[:NAMES_SHOWN]
    assert lines[-1] == "... and 9,900 more added"
    assert len(lines) == NAMES_SHOWN + 2
    assert diff["before"] == "members: 0\n"

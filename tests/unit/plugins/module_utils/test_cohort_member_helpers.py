# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of pluto_cohort_member's logic: input normalisation, matching, the diff text."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._client import PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._users import match_users, normalize_users, sort_names
from ansible_collections.pluto.lms.plugins.module_utils.cohort_member import NAMES_SHOWN, membership_diff


def test_usernames_are_stripped_lowercased_and_deduplicated():
    assert normalize_users([" Alice", "alice", "BOB ", "bob", "carol"], "username") == ["alice", "bob", "carol"]


def test_emails_are_stripped_but_keep_their_case():
    assert normalize_users([" Jane@Example.edu ", "jane@example.edu", "jane@example.edu"], "email") == [
        "Jane@Example.edu", "jane@example.edu"]


def test_idnumbers_are_verbatim():
    assert normalize_users(["EMP1", " EMP1", "emp1"], "idnumber") == [" EMP1", "EMP1", "emp1"]


def test_ids_become_integers_sorted_numerically():
    assert normalize_users(["10", 9, " 2 ", "10"], "id") == [2, 9, 10]


def test_every_bad_id_is_named_at_once():
    with pytest.raises(PlutoError) as caught:
        normalize_users(["1", "x", "0", "-3", "2.5", "True"], "id")
    assert str(caught.value) == ("users holds 5 value(s) that are not a positive integer user id: "
                                 "'x', '0', '-3', '2.5', 'True'; nothing was sent to the site")


def test_every_bad_email_and_empty_value_is_named_at_once():
    with pytest.raises(PlutoError) as caught:
        normalize_users(["a@b.c", "nope", "two@@at", "sp ace@x.y", ""], "email")
    assert "4 value(s) that are not an email address: 'nope', 'two@@at', 'sp ace@x.y', ''" in str(caught.value)
    with pytest.raises(PlutoError, match=r"2 value\(s\) that are not a non-empty username: '', '  '"):
        normalize_users(["ok", "", "  "], "username")


def test_no_users_is_an_empty_list():
    assert normalize_users([], "username") == []


def test_matching_is_exact_and_collects_every_user_of_a_value():
    users = [{"id": 5, "email": "a@x.y"}, {"id": 6, "email": "A@x.y"}, {"id": 7, "email": "a@x.y"}, {"id": 8, "email": "b@x.y"}]
    assert match_users(users, "email", ["a@x.y", "c@x.y"]) == {"a@x.y": [5, 7]}
    assert match_users([{"id": "12"}], "id", [12]) == {12: [12]}


def test_names_sort_numerically_for_ids_and_as_text_otherwise():
    assert sort_names([10, 9, 100, 9]) == [9, 10, 100]
    assert sort_names(["bob", "alice", "id=12", "bob"]) == ["alice", "bob", "id=12"]


def test_diff_shows_counts_and_changed_names_only():
    diff = membership_diff({"id": 3, "idnumber": "staff"}, 120, 121, ["alice", "bob"], ["carol"])
    assert diff["before"] == "members: 120\ncarol\n"
    assert diff["after"] == "members: 121\nalice\nbob\n"
    assert diff["before_header"] == diff["after_header"] == "cohort staff (id 3) members"


def test_diff_stays_short_at_ten_thousand_members():
    added = ["user%05d" % n for n in range(10000)]
    diff = membership_diff({"id": 3, "idnumber": "big"}, 0, 10000, added, [])
    lines = diff["after"].splitlines()
    assert lines[0] == "members: 10,000"
    assert lines[1:NAMES_SHOWN + 1] == added[:NAMES_SHOWN]
    assert lines[-1] == "... and 9,900 more added"
    assert len(lines) == NAMES_SHOWN + 2
    assert diff["before"] == "members: 0\n"

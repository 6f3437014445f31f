# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MySQL/MariaDB comparison, checked against what the recorded MariaDB site refused or accepted."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._collation import loose_clashes, loose_key, same_loosely


# Creates the MariaDB site refused because the first idnumber existed (moodle-4.5-sites.md, part 1).
@pytest.mark.parametrize("existing, sent", [
    (u"staff", u"Staff"),
    (u"staff", u"STAFF"),
    (u"staff", u"staff "),
    (u"café", u"cafe"),
    (u"café", u"CAFÉ"),
    (u"straße", u"strasse"),
    (u"team-🍣", u"team-🍺"),
    (u"team-🍣", u"team-😀"),
    (u"dept-x", u"DEPT-X"),
])
def test_values_mariadb_takes_as_equal(existing, sent):
    assert same_loosely(existing, sent)
    assert loose_clashes(sent, [existing, u"other"]) == [existing]


# Creates both sites accepted next to the first idnumber.
@pytest.mark.parametrize("existing, sent", [
    (u"staff", u" staff"),
    (u"a🍣", u"a"),
    (u"staff", u"staff-b"),
    (u"ops", u"ops2"),
])
def test_values_that_stay_distinct(existing, sent):
    assert not same_loosely(existing, sent)
    assert loose_clashes(sent, [existing]) == []


def test_a_value_never_clashes_with_itself():
    assert loose_clashes(u"staff", [u"staff"]) == []
    assert loose_key(u"Jane.Doe@Example.edu") == loose_key(u"jane.doe@example.edu")

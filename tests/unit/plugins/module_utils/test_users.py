# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_users: listed values, and their resolution through a read-only SiteReader against the simulator."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._client import PlutoClient, PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._reader import SiteReader
from ansible_collections.pluto.lms.plugins.module_utils._users import (
    identify_members,
    is_deleted,
    lookup_values,
    normalize_users,
    resolve_users,
)

TOKEN = "users-unit-token"


# ---- values ----------------------------------------------------------------------------------

def test_usernames_are_stripped_lowercased_and_deduplicated():
    assert normalize_users([" Alice", "alice", "BOB ", "bob", "carol"], "username") == ["alice", "bob", "carol"]


def test_emails_are_stripped_but_keep_their_case():
    assert normalize_users([" Jane@Example.edu ", "jane@example.edu", "jane@example.edu"], "email") == [
        "Jane@Example.edu", "jane@example.edu"]


def test_idnumbers_are_verbatim():
    assert normalize_users(["EMP1", " EMP1", "emp1"], "idnumber") == [" EMP1", "EMP1", "emp1"]


def test_ids_become_integers_sorted_numerically():
    assert normalize_users(["10", 9, " 2 ", "10"], "id") == [2, 9, 10]


def test_every_bad_id_is_named_at_once_in_one_line():
    with pytest.raises(PlutoError) as caught:
        normalize_users(["1", "x", "0", "-3", "2.5", "True", u"\u00b2"], "id")
    assert str(caught.value) == ("users holds 6 value(s) that are not a positive whole number (a user id): "
                                 "'x', '0', '-3', '2.5', 'True', '\u00b2'; nothing was sent to the site")


def test_blank_values_are_always_an_error():
    with pytest.raises(PlutoError, match=r"users holds 2 blank value\(s\) \('', '  '\)"):
        normalize_users(["ok", "", "  "], "username", invalid=[])


def test_values_no_user_can_have_are_set_apart_when_asked():
    invalid = []
    assert normalize_users(["mary jane", "U00001", "o'brien", "a.b-c_d@e"], "username", invalid) == ["a.b-c_d@e", "u00001"]
    assert invalid == ["mary jane", "o'brien"]
    invalid = []
    assert normalize_users(["a@b.c", "nope", "two@@x"], "email", invalid) == ["a@b.c"]
    assert invalid == ["nope", "two@@x"]


def test_values_no_user_can_have_are_an_error_otherwise():
    with pytest.raises(PlutoError) as caught:
        normalize_users(["mary jane", "ok"], "username")
    assert "1 value(s) that are not Moodle usernames" in str(caught.value) and "'mary jane'" in str(caught.value)


def test_deleted_users_are_known_by_what_moodle_leaves_of_them():
    assert is_deleted({"id": 5, "deleted": True})
    assert is_deleted({"id": 5, "username": "gone@example.edu.1764412345", "email": "0cc175b9c0f1b6a831c399e269772661"})
    assert not is_deleted({"id": 5, "username": "jdoe", "email": "jdoe@example.edu"})
    assert not is_deleted({"id": 5})


# ---- against the site -------------------------------------------------------------------------

SEED = {
    "users": [
        {"username": "jdoe", "email": "Jane.Doe@Example.edu", "idnumber": "ID-Mixed-01"},
        {"username": "gone1", "email": "gone1@example.edu", "deleted": True},
    ],
}


@pytest.fixture
def reader(simulator_factory, tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED))
    site = simulator_factory("--token", TOKEN, seed_users=20, seed_file=str(seed))
    client = PlutoClient(site.url, TOKEN, retries=0)
    site.reset_log()
    reader = SiteReader(client, 4)
    reader.site = site
    return reader


def lookups(reader):
    return [r for r in reader.site.requests() if r["wsfunction"] == "core_user_get_users_by_field"]


def test_a_refused_lookup_is_split_until_the_refused_value_stands_alone(reader):
    records, refused = lookup_values(reader, "username", ["u00001", "JDOE", "u00002", "u00003"])
    assert refused == ["JDOE"]
    assert sorted(r["username"] for r in records) == ["u00001", "u00002", "u00003"]
    # the 4, then halves [u00001, JDOE] (refused) and [u00002, u00003], then [u00001] and [JDOE]
    assert [r["errorcode"] for r in lookups(reader)].count("invalidparameter") == 3
    assert len(lookups(reader)) == 5
    assert all(not r["write"] for r in reader.site.requests())


def test_requests_are_sized_from_max_input_vars(simulator_factory):
    site = simulator_factory("--token", TOKEN, seed_users=250)
    reader = SiteReader(PlutoClient(site.url, TOKEN, retries=0, max_input_vars=103), 2)
    site.reset_log()
    records, refused = lookup_values(reader, "username", ["u%05d" % n for n in range(1, 251)])
    assert len(records) == 250 and refused == []
    assert sorted(r["fields"] for r in site.requests()) == [3 + 1 + 52, 3 + 1 + 99, 3 + 1 + 99]


def test_a_deleted_user_named_by_id_is_missing_not_found(reader):
    ids = dict((u["username"], u["id"]) for u in reader.site.state()["users"])
    gone = [u["id"] for u in reader.site.state()["users"] if u["deleted"]][0]
    resolution = resolve_users(reader, "id", [str(gone), str(ids["u00001"])])
    assert resolution.ids == {ids["u00001"]: ids["u00001"]}
    assert resolution.deleted == [gone]
    assert resolution.missing == [gone]


def test_an_id_known_to_exist_needs_no_lookup(reader):
    resolution = resolve_users(reader, "id", ["3", "4"], known_ids=[3, 4, 5])
    assert resolution.ids == {3: 3, 4: 4}
    assert lookups(reader) == []


def test_members_are_identified_in_the_task_terms(reader):
    ids = dict((u["username"], u["id"]) for u in reader.site.state()["users"])
    resolution = resolve_users(reader, "email", ["jane.doe@example.edu", "u00001@example.com", "ghost@example.edu"])
    assert resolution.missing == ["ghost@example.edu", "jane.doe@example.edu"]
    identity = identify_members(reader, resolution, [ids["jdoe"], ids["u00001"], ids["u00002"]])
    assert identity.listed == set([ids["jdoe"], ids["u00001"]])
    assert identity.unlisted == set([ids["u00002"]])
    assert identity.unknown == set()
    assert resolution.missing == ["ghost@example.edu"]
    assert resolution.ids["jane.doe@example.edu"] == ids["jdoe"]


def test_members_by_id_need_no_lookup(reader):
    resolution = resolve_users(reader, "id", ["3"], known_ids=[3, 4])
    identity = identify_members(reader, resolution, [3, 4])
    assert identity.listed == set([3]) and identity.unlisted == set([4])
    assert lookups(reader) == []

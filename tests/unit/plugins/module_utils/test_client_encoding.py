# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of the client: PHP-style encoding, chunking, URL handling, messages."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._client import (
    PlutoClient,
    PlutoError,
    capability_hint,
    chunk_by_fields,
    encode_args,
    encode_fields,
    normalize_endpoint,
    one_line,
)


def test_encode_nested_members_in_php_style():
    members = [{"cohorttype": {"type": "idnumber", "value": "c1"}, "usertype": {"type": "username", "value": "jane"}}]
    assert encode_fields("members", members) == [
        ("members[0][cohorttype][type]", "idnumber"),
        ("members[0][cohorttype][value]", "c1"),
        ("members[0][usertype][type]", "username"),
        ("members[0][usertype][value]", "jane"),
    ]


def test_encode_booleans_as_digits_and_skips_none():
    assert encode_args({"visible": False, "theme": None, "ids": [3, 4], "flag": True}) == [
        ("visible", "0"), ("ids[0]", "3"), ("ids[1]", "4"), ("flag", "1")]


def test_encode_keeps_text_verbatim():
    assert encode_fields("name", "  Ünïcødé <b>x</b>  ") == [("name", "  Ünïcødé <b>x</b>  ")]


@pytest.mark.parametrize("count, max_fields, max_items", [(1250, 2000, None), (5000, 2000, 500), (7, 4, None), (0, 10, None)])
def test_chunks_never_pass_the_field_limit_and_keep_every_item(count, max_fields, max_items):
    items = [{"cohorttype": {"type": "id", "value": 1}, "usertype": {"type": "id", "value": n}} for n in range(count)]
    chunks = chunk_by_fields(items, max_fields, max_items)
    assert [item for chunk in chunks for item in chunk] == items
    for chunk in chunks:
        assert len(encode_fields("members", chunk)) <= max_fields
        assert max_items is None or len(chunk) <= max_items


def test_chunks_measure_each_item_shape():
    items = [{"a": 1}, {"a": 1, "b": 2, "c": 3}, {"a": 1}]
    assert chunk_by_fields(items, 4) == [[{"a": 1}, {"a": 1, "b": 2, "c": 3}], [{"a": 1}]]


def test_an_item_larger_than_the_limit_still_goes_alone():
    assert chunk_by_fields([{"a": 1, "b": 2}, {"c": 3}], 1) == [[{"a": 1, "b": 2}], [{"c": 3}]]


@pytest.mark.parametrize("url, endpoint", [
    ("https://lms.example.edu", "https://lms.example.edu/webservice/rest/server.php"),
    ("https://lms.example.edu/", "https://lms.example.edu/webservice/rest/server.php"),
    ("https://lms.example.edu/moodle/", "https://lms.example.edu/moodle/webservice/rest/server.php"),
    ("https://lms.example.edu/webservice/rest/server.php", "https://lms.example.edu/webservice/rest/server.php"),
    (" http://127.0.0.1:8080 ", "http://127.0.0.1:8080/webservice/rest/server.php"),
])
def test_endpoint_from_base_url(url, endpoint):
    assert normalize_endpoint(url) == endpoint


@pytest.mark.parametrize("url, words", [
    ("lms.example.edu", "starting with https://"),
    ("ftp://lms.example.edu", "starting with https://"),
    ("", "starting with https://"),
    ("https://lms.example.edu/?wstoken=abc", "query string"),
])
def test_bad_urls_are_named(url, words):
    with pytest.raises(PlutoError) as error:
        normalize_endpoint(url)
    assert words in str(error.value)


def test_blank_token_fails_before_any_request():
    with pytest.raises(PlutoError, match="token is empty"):
        PlutoClient("https://lms.example.edu", "   ")


def test_plain_http_to_a_remote_site_warns():
    client = PlutoClient("http://lms.example.edu", "t0ken")
    assert any("unencrypted" in w for w in client.warnings)
    assert not PlutoClient("http://127.0.0.1:1", "t0ken").warnings


def test_check_mode_client_refuses_writes():
    client = PlutoClient("https://lms.example.edu", "t0ken", check_mode=True)
    with pytest.raises(PlutoError, match="refusing to send core_cohort_delete_cohorts in check mode"):
        client.call("core_cohort_delete_cohorts", {"cohortids": [1]})


def test_one_line_and_capability_hints():
    assert one_line("a\n   b\tc") == "a b c"
    assert one_line("x" * 400, 10) == "xxxxxxx..."
    assert capability_hint("Sorry (Add and remove cohort members).") == "moodle/cohort:assign"
    assert capability_hint("Sorry (View site-wide cohorts).") == "moodle/cohort:view"
    assert capability_hint("Sorry (Create, delete and move cohorts).") == "moodle/cohort:manage"
    assert capability_hint("something else") is None


def test_the_token_is_masked_as_a_word_and_other_words_are_left_whole():
    client = PlutoClient("https://lms.example.edu", "ro")
    assert client.redact("errorcode ro, wstoken=ro") == "errorcode ********, wstoken=********"
    client = PlutoClient("https://lms.example.edu", "0123456789abcdef")
    assert client.redact("token 0123456789abcdef.") == "token ********."

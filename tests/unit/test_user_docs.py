# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The documentation as users read it: the ansible-doc pages of the modules, and the README's capabilities.

The capabilities are the ones a real Moodle 4.5 site checks (the same on PostgreSQL and MariaDB):
each module page and the README's table must name exactly these for each task and user_field.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import subprocess
import sys

import pytest

import ansible_collections.pluto.lms as collection

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS_PATH = os.path.dirname(os.path.dirname(os.path.dirname(list(collection.__path__)[0])))
MODULES = ("pluto_cohort", "pluto_cohort_info", "pluto_cohort_member")

REST = "webservice/rest:use"
VIEW = "moodle/cohort:view"
MANAGE = "moodle/cohort:manage"
ASSIGN = "moodle/cohort:assign"
DETAILS = "moodle/user:viewdetails"
ALL_DETAILS = "moodle/user:viewalldetails"
IDENTITY = "moodle/site:viewuseridentity"
CATEGORY = "moodle/category:manage"

# What each module's Capabilities note must name.
MODULE_CAPABILITIES = {
    "pluto_cohort": [REST, VIEW, MANAGE],
    "pluto_cohort_info": [REST, VIEW, DETAILS, ALL_DETAILS],
    "pluto_cohort_member": [REST, VIEW, ASSIGN, DETAILS, ALL_DETAILS, IDENTITY],
}
# The right to view users that a lookup by each user_field needs: (needed, not enough on its own).
USER_FIELD_CAPABILITIES = {
    "id": ([DETAILS], []),
    "username": ([DETAILS, ALL_DETAILS], []),
    "idnumber": ([DETAILS, ALL_DETAILS], []),
    "email": ([DETAILS, IDENTITY], [ALL_DETAILS]),
}
# Rows of the README's capability table: a task's words -> the capabilities the row names.
README_ROWS = {
    "Every task": [REST],
    "Read cohorts": [VIEW],
    "`pluto_cohort`: create, update, delete": [MANAGE],
    "a category by `category_idnumber`": [CATEGORY],
    "`pluto_cohort_member`: add or remove members": [ASSIGN],
    "`pluto_cohort_member`, `user_field: id`": [DETAILS],
    "`pluto_cohort_member`, `user_field: username` or `idnumber`": [DETAILS, ALL_DETAILS],
    "`pluto_cohort_member`, `user_field: email`": [DETAILS, IDENTITY],
    "`include_members`: count the members": [VIEW],
    "`include_members`: name them": [DETAILS, ALL_DETAILS],
}


@pytest.fixture(scope="module")
def pages():
    """ansible-doc --json of every module: what `ansible-doc pluto.lms.<module>` shows, fragments merged."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1")
    out = subprocess.check_output([sys.executable, "-m", "ansible.cli.doc", "-t", "module", "--json"]
                                  + ["pluto.lms." + m for m in MODULES], env=env)
    docs = json.loads(out)
    return dict((m, docs["pluto.lms." + m]) for m in MODULES)


def text(value):
    """The prose of a doc entry (a string or a list of them), markup kept."""
    return " ".join(value) if isinstance(value, list) else str(value)


def capability_note(page):
    notes = [text(n) for n in page["doc"]["notes"] if text(n).startswith("B(Capabilities.)")]
    assert len(notes) == 1, page["doc"]["notes"]
    return notes[0]


@pytest.mark.parametrize("module", MODULES)
def test_each_module_names_its_capabilities_in_one_note(pages, module):
    note = capability_note(pages[module])
    for capability in MODULE_CAPABILITIES[module]:
        assert "C(%s)" % capability in note
    if module == "pluto_cohort":
        assert "No right to view users is needed" in note


@pytest.mark.parametrize("field", sorted(USER_FIELD_CAPABILITIES))
def test_member_module_names_the_capabilities_of_each_user_field(pages, field):
    note = capability_note(pages["pluto_cohort_member"])
    needed, not_enough = USER_FIELD_CAPABILITIES[field]
    # One clause per field: "V(field) ... needs C(a) and C(b)" up to the next semicolon.
    clause = re.search(r"V\(%s\)[^;]*? needs? ([^;]*)" % field, note)
    assert clause, note
    named = re.findall(r"C\(([^)]+)\)", clause.group(1))
    assert named[:len(needed)] == needed, clause.group(0)
    for capability in not_enough:
        assert "C(%s) alone does not find" % capability in clause.group(0)
    if field == "email":
        assert "C(showuseridentity)" in clause.group(0)


def test_the_readme_capability_table_matches(pages):
    readme = read_readme()
    table = readme[readme.index("| Task | Capabilities of the token's user |"):]
    table = table[:table.index("\n\n")]
    rows = table.splitlines()[2:]
    for words, capabilities in README_ROWS.items():
        matching = [row for row in rows if words in row.split("|")[1]]
        assert len(matching) == 1, (words, rows)
        named = re.findall(r"`(moodle/[a-z]+:[a-z]+|webservice/rest:use)`", matching[0].split("|")[2])
        assert named[:len(capabilities)] == capabilities, matching[0]
    assert "`moodle/user:viewalldetails` alone does not find users by email" in table


def test_the_read_only_audit_token_names_the_right_to_view_users():
    readme = read_readme()
    paragraph = readme[readme.index("**A read-only token for audits**"):]
    paragraph = paragraph[:paragraph.index("\n\n")]
    for capability in (REST, VIEW, DETAILS, ALL_DETAILS, IDENTITY):
        assert "`%s`" % capability in paragraph
    assert "cohort_bootstrap_user_field" in paragraph
    assert "needs only the read functions" not in readme


@pytest.mark.parametrize("module", MODULES)
def test_errorcode_is_a_documented_return_value(pages, module):
    errorcode = pages[module]["return"]["errorcode"]
    assert errorcode["type"] == "str" and errorcode["returned"].startswith("failure")
    assert "failed_when" in text(errorcode["description"])


def test_applied_is_documented_where_a_failed_update_returns_it(pages):
    applied = pages["pluto_cohort"]["return"]["applied"]
    assert applied["type"] == "list" and applied["elements"] == "dict"


def walk_returns(returns, path=""):
    for name, entry in returns.items():
        yield path + name, entry
        yield from walk_returns(entry.get("contains") or {}, path + name + ".")


@pytest.mark.parametrize("module", MODULES)
def test_every_list_return_says_what_its_elements_are(pages, module):
    for name, entry in walk_returns(pages[module]["return"]):
        if entry.get("type") == "list":
            assert entry.get("elements"), name
            if entry["elements"] == "raw":
                # Only where the element type depends on an option, and the description says how.
                assert "Strings, except with O(user_field=id)" in text(entry["description"]), name


@pytest.mark.parametrize("module", MODULES)
def test_the_synopsis_says_what_the_module_is_for_and_the_request_counts_come_last(pages, module):
    doc = pages[module]["doc"]
    description = text(doc["description"])
    assert "Requests:" not in description and "ceil(" not in description
    notes = [text(n) for n in doc["notes"]]
    requests = [i for i, n in enumerate(notes) if n.startswith("B(Requests")]
    assert requests, notes
    # The cost figures follow every note that says what the module needs and does.
    assert all(i > j for i in requests for j, n in enumerate(notes) if n.startswith(("B(Functions.)", "B(Capabilities.)")))
    assert "not the simulator" in " ".join(notes[i] for i in requests)


@pytest.mark.parametrize("module", MODULES)
def test_async_is_said_to_be_unsupported(pages, module):
    assert any("C(async) is not supported" in text(n) for n in pages[module]["doc"]["notes"])


def read_readme():
    with open(os.path.join(ROOT, "README.md")) as handle:
        return handle.read()

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of pluto_cohort's logic: normalisation, contexts, the update item, the readable diff."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._cohort import (
    CohortTask,
    category_context,
    category_type,
    cohort_view,
    describe_context,
    field_text,
    planned_view,
    same_context,
    system_context,
    theme_is_managed,
    update_item,
)
from ansible_collections.pluto.lms.plugins.module_utils._readable_diff import render_fields, render_scalar

RAW = {"id": 7, "name": "Staff", "idnumber": "staff", "description": "line1\nline2 <b>x</b>", "descriptionformat": 2,
       "visible": False, "theme": "", "customfields": [
           {"name": "Cost centre", "shortname": "cc", "type": "text", "valueraw": "4711", "value": "<b>4711</b>"},
           {"name": "Paid", "shortname": "paid", "type": "checkbox", "valueraw": 1, "value": "Yes"}]}


def task(**params):
    params.setdefault("idnumber", "staff")
    return CohortTask(params)


def test_view_normalises_the_site_answer():
    view = cohort_view(RAW, category_context(3, "SCI"))
    assert view == {"id": 7, "idnumber": "staff", "name": "Staff", "description": "line1\nline2 <b>x</b>",
                    "description_format": "plain", "visible": False, "theme": "",
                    "custom_fields": {"cc": "4711", "paid": "1"},
                    "context": "category", "category_id": 3, "category_idnumber": "SCI"}


def test_unknown_format_number_stays_a_number():
    assert cohort_view(dict(RAW, descriptionformat=3))["description_format"] == 3


@pytest.mark.parametrize("value, text", [(True, "1"), (False, "0"), (None, ""), (12, "12"), ("x", "x"), (1.5, "1.5")])
def test_custom_field_values_compare_as_stored_text(value, text):
    assert field_text(value) == text


def test_local_errors_name_every_bad_value_at_once():
    errors = task(idnumber="x" * 101, name="n" * 255, category_id=-1).local_errors()
    assert errors == ["idnumber is 101 characters long, the site allows 100",
                      "name is 255 characters long, the site allows 254",
                      "category_id must be 0 (the system context) or a category id, got -1"]
    assert task(idnumber="  ", name=" \t").local_errors() == ["idnumber is blank", "name is blank"]
    assert task(idnumber="x", name="x", category_idnumber=" ").local_errors() == [
        "category_idnumber is blank (give a category's idnumber, or category_id: 0 for the system context)"]
    assert task(idnumber="x" * 100, name="n" * 254).local_errors() == []


def test_absent_only_checks_the_identity():
    assert task(state="absent", idnumber="x" * 101, name="").local_errors() == []
    assert task(state="absent", idnumber=" ").local_errors() == ["idnumber is blank"]


@pytest.mark.parametrize("current, wanted, same", [
    (system_context(), system_context(), True),
    (system_context(), category_context(3, "SCI"), False),
    (category_context(3, "SCI"), system_context(), False),
    (category_context(3, "SCI"), category_context(3, "SCI"), True),
    (category_context(3, "SCI"), category_context(4, None), False),
    (category_context(3, "SCI"), category_context(None, "SCI"), True),
    (category_context(3, None), category_context(None, "SCI"), None),
    (category_context(), category_context(3, "SCI"), None),
    (category_context(), system_context(), False),
])
def test_same_context_says_when_it_cannot_tell(current, wanted, same):
    assert same_context(current, wanted) is same


def test_category_type_prefers_the_id():
    assert category_type(system_context()) == {"type": "system", "value": 0}
    assert category_type(category_context(3, "SCI")) == {"type": "id", "value": 3}
    assert category_type(category_context(None, "SCI")) == {"type": "idnumber", "value": "SCI"}
    assert category_type(category_context()) is None


def test_contexts_read_as_short_phrases():
    assert describe_context(system_context()) == "system"
    assert describe_context(category_context(3, "SCI")) == "category SCI (id 3)"
    assert describe_context(category_context(3, None)) == "category id 3"
    assert describe_context(category_context(None, "SCI")) == "category SCI"
    assert describe_context(category_context()) == "category (unknown)"


def test_update_resends_what_the_site_requires_and_only_the_changes():
    current = cohort_view(RAW, system_context())
    wanted = task(name="Staff 2026", custom_fields={"cc": 4711, "paid": False})
    planned = planned_view(wanted, current, system_context(), manage_theme=False, custom_fields=wanted.custom_fields)
    assert update_item(current, planned, 2, category_type(planned)) == {
        "id": 7, "categorytype": {"type": "system", "value": 0}, "name": "Staff 2026", "idnumber": "staff",
        "descriptionformat": 2, "customfields": [{"shortname": "paid", "value": "0"}]}


def test_update_sends_a_new_format_and_description_and_the_new_context():
    current = cohort_view(RAW, system_context())
    wanted = task(description="new", description_format="markdown", visible=True)
    planned = planned_view(wanted, current, category_context(3, "SCI"), manage_theme=False)
    assert update_item(current, planned, 2, category_type(planned)) == {
        "id": 7, "categorytype": {"type": "id", "value": 3}, "name": "Staff", "idnumber": "staff",
        "descriptionformat": 4, "description": "new", "visible": True}


def test_a_new_cohort_gets_the_site_defaults_for_what_the_task_omits():
    planned = planned_view(task(name="Staff"), None, system_context(), manage_theme=False)
    assert planned == {"id": None, "idnumber": "staff", "name": "Staff", "description": "", "description_format": "html",
                       "visible": True, "theme": "", "custom_fields": {}, "context": "system", "category_id": 0,
                       "category_idnumber": None}


@pytest.mark.parametrize("stored, asked, managed, warned", [
    ("", None, False, False),
    ("boost", "classic", True, False),
    ("boost", "", True, False),
    ("", "", True, False),
    ("", "boost", False, True),
    (None, "boost", False, True),
    (None, "", False, True),
])
def test_a_theme_the_site_does_not_show_is_left_alone_with_a_warning(stored, asked, managed, warned):
    warnings = []
    current = cohort_view(dict(RAW, theme=stored), system_context())
    assert theme_is_managed(task(theme=asked), current, warnings) is managed
    assert bool(warnings) is warned
    if warned:
        assert "Allow cohort themes" in warnings[0]


def test_a_new_cohort_is_always_created_with_its_theme():
    assert theme_is_managed(task(theme="boost"), None, []) is True


@pytest.mark.parametrize("value, text", [
    ("Staff 2026", "Staff 2026"), ("staff-2026", "staff-2026"), ("", '""'), ("true", '"true"'), ("2024", '"2024"'),
    ("a: b", '"a: b"'), (" lead", '" lead"'), ("trail ", '"trail "'), ("#x", '"#x"'), (None, "null"), (True, "true"),
    (3, "3"), ("Ünïcødé", '"Ünïcødé"'),
])
def test_scalars_render_plain_only_when_unambiguous(value, text):
    assert render_scalar(value) == text


def test_fields_render_one_line_each_with_blocks_and_sub_keys():
    text = render_fields([("idnumber", "staff"), ("description", "line1\nline2"), ("custom_fields", {"b": "2", "a": "1"}),
                          ("visible", False)])
    assert text == "idnumber: staff\ndescription: |-\n  line1\n  line2\ncustom_fields:\n  a: \"1\"\n  b: \"2\"\nvisible: false\n"
    assert render_fields([]) == ""


@pytest.mark.parametrize("left, right", [("a", "a\n"), ("a\nb", "a\nb "), ("a\n\nb", "a\n  \nb"), ("x", '"x"'),
                                         ("", None), ("1", 1), ("a\nb", "a\\nb")])
def test_different_values_never_render_alike(left, right):
    assert render_fields([("k", left)]) != render_fields([("k", right)])


def test_a_trailing_newline_never_prints_like_the_value_without_it():
    from ansible_collections.pluto.lms.plugins.module_utils import _readable_diff as readable_diff
    assert readable_diff.render_scalar("x") != readable_diff.render_scalar("x\n")

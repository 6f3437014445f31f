# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""plan_cohort(task, site): the per-cohort plan as a pure function of the task and one read view of the site.

No request at all: the view is built from the site's answers (as a caller that reads the site once for
hundreds of cohorts builds it), and plans of many cohorts merge into one batch per function.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._cohort import (
    CREATE_COHORTS,
    DELETE_COHORTS,
    UPDATE_COHORTS,
    CohortSite,
    CohortTask,
    plan_cohort,
)
from ansible_collections.pluto.lms.plugins.module_utils._errors import PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._model import category_context, system_context
from ansible_collections.pluto.lms.plugins.module_utils._plan import merge_plans


def raw(cohort_id, idnumber, name=None, **fields):
    cohort = {"id": cohort_id, "idnumber": idnumber, "name": name or idnumber.title(), "description": "",
              "descriptionformat": 1, "visible": True, "theme": "", "customfields": []}
    cohort.update(fields)
    return cohort


SCI = {"id": 3, "idnumber": "SCI", "name": "Science"}
COHORTS = [raw(1, "staff"), raw(2, "students", visible=False), raw(3, u"caf\u00e9"), raw(4, "", "Made by hand")]


def site(**kwargs):
    kwargs.setdefault("contexts", {1: system_context(), 2: category_context(3, "SCI"), 3: system_context()})
    kwargs.setdefault("category_list", [SCI])
    return CohortSite(COHORTS, **kwargs)


def task(**params):
    params.setdefault("state", "present")
    return CohortTask(params)


def operations(plan):
    return [(op.function, op.items) for op in plan.operations]


def test_a_new_cohort_is_one_create_owned_by_its_idnumber():
    plan = plan_cohort(task(idnumber="tutors", name="Tutors", category_idnumber="SCI"), site())
    assert plan.owner == ("cohort", "tutors")
    assert operations(plan) == [(CREATE_COHORTS, [{"categorytype": {"type": "id", "value": 3}, "name": "Tutors",
                                                   "idnumber": "tutors"}])]
    assert plan.result["changed"] is True and plan.result["cohort"]["id"] is None
    assert plan.result["diff"]["after_header"] == "cohort tutors (new)"


def test_an_existing_cohort_sends_only_what_changes_and_nothing_when_equal():
    plan = plan_cohort(task(idnumber="students", visible=True), site())
    assert operations(plan) == [(UPDATE_COHORTS, [{"id": 2, "categorytype": {"type": "id", "value": 3},
                                                   "name": "Students", "idnumber": "students", "descriptionformat": 1,
                                                   "visible": True}])]
    same = plan_cohort(task(idnumber="students", visible=False, category_idnumber="SCI"), site())
    assert same.operations == [] and same.result["changed"] is False


def test_a_delete_counts_the_members_that_go_with_the_cohort():
    plan = plan_cohort(task(idnumber="staff", state="absent"), site(members={1: {3, 4, 5}}))
    assert operations(plan) == [(DELETE_COHORTS, [1])]
    assert "members: 3 (removed with the cohort)\n" in plan.result["diff"]["before"]
    unknown = plan_cohort(task(idnumber="staff", state="absent"), site(members_problem="not read here"))
    assert "members: unknown (not read here)\n" in unknown.result["diff"]["before"]


def test_custom_fields_the_view_shows_undefined_are_left_out():
    plan = plan_cohort(task(idnumber="staff", custom_fields={"costcentre": "1"}), site())
    assert plan.operations == [] and plan.result["changed"] is False
    assert "does not define the custom field(s) costcentre" in plan.warnings[0]


def test_a_defined_custom_field_is_planned_and_compared_as_stored_text():
    fields = [{"shortname": "costcentre", "valueraw": "4711", "value": "4711"}]
    view = CohortSite([raw(1, "staff", customfields=fields), raw(2, "new-ish", customfields=fields)],
                      contexts={1: system_context()})
    assert plan_cohort(task(idnumber="staff", custom_fields={"costcentre": 4711}), view).operations == []
    plan = plan_cohort(task(idnumber="staff", custom_fields={"costcentre": 42}), view)
    assert operations(plan)[0][1][0]["customfields"] == [{"shortname": "costcentre", "value": "42"}]
    new = plan_cohort(task(idnumber="other", name="Other", custom_fields={"costcentre": 7}), view)
    assert operations(new)[0][1][0]["customfields"] == [{"shortname": "costcentre", "value": "7"}]


@pytest.mark.parametrize("options, named", [
    (dict(idnumber="STAFF", name="x"), "cohort 'staff' (id 1)"),
    (dict(idnumber="cafe", name="x"), u"cohort 'caf\u00e9' (id 3)"),
    (dict(id=2, idnumber="Staff "), "cohort 'staff' (id 1)"),
])
def test_idnumbers_a_mariadb_site_takes_as_another_cohorts_fail_before_any_operation(options, named):
    with pytest.raises(PlutoError) as failure:
        plan_cohort(task(**options), site())
    assert named in str(failure.value) and "MySQL/MariaDB" in str(failure.value)


def test_plans_of_many_cohorts_merge_into_one_request_per_function():
    view = site(members={1: set()})
    plans = [plan_cohort(task(idnumber="t-%d" % n, name="T %d" % n), view) for n in range(3)]
    plans.append(plan_cohort(task(idnumber="students", visible=True), view))
    plans.append(plan_cohort(task(idnumber="staff", state="absent"), view))
    merged = merge_plans(plans)
    assert [(op.function, len(op.entries)) for op in merged.operations] == [
        (CREATE_COHORTS, 3), (UPDATE_COHORTS, 1), (DELETE_COHORTS, 1)]
    assert [e.owner for e in merged.operations[0].entries] == [("cohort", "t-0"), ("cohort", "t-1"), ("cohort", "t-2")]

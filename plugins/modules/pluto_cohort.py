#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: pluto_cohort
short_description: Create, update, move, rename and delete one Pluto LMS (Moodle) cohort
version_added: 0.1.0
description:
  - Makes one cohort present with the given fields, or absent.
  - Only the options the task gives are managed; every field it omits is left as it is on the site.
  - Everything is checked before the first write, with one message naming every problem, where the site itself would
    only answer C(invalidparameter) or C(dmlwriteexception). It checks for a blank or too long name, a too long
    idnumber, an idnumber that another cohort holds (also on a rename, which the site does not check), and a category
    that does not exist. A blank O(idnumber) or O(category_idnumber) (a variable that rendered empty) fails before any
    request.
  - MySQL/MariaDB sites compare idnumbers ignoring case, accents and trailing spaces (C(Staff), C(staff ) and
    C(staff) are one idnumber there; so are C(cafe) and C(café)). A create or a rename to an idnumber that such a site
    takes as another cohort's is refused before any write, on every site and in check mode too, naming that cohort;
    a cohort renamed on the site in case only is named, not planned as a new one.
  - After a create the module reads the cohort back. When another run created the same idnumber at the same moment
    (the site checks and inserts without a lock), the lowest id wins. The run that made a higher one, still empty,
    deletes it and goes on with the lowest; otherwise the task fails naming both ids. The run that made the lowest
    waits a few seconds for the other run to delete its copy; if the copy stays (that run read the site back before
    this create was visible to it), the task fails naming it and the fix. A run whose create the site
    refused because the other run's cohort came first goes on with that cohort, and reports a change only where it
    updates it.
  - The requests it sends, and what they cost on a real site, are under C(Requests) in the notes.
options:
  idnumber:
    description:
      - The cohort's identity on the site.
      - With O(id), the idnumber the cohort should have (a rename).
      - If the site holds several cohorts with this idnumber (its update allows that, and two creates at the same
        moment can both succeed), the module fails and names their ids; name one with O(id) to rename it.
      - At least one of O(idnumber) and O(id) is required; O(idnumber) is required to create a cohort.
    type: str
  id:
    description:
      - The cohort's numeric id, another way to name it. It must exist.
      - With O(state=absent), the cohort with this id is deleted, whatever O(idnumber) says.
    type: int
  name:
    description:
      - The cohort's name, at most 254 characters and not blank. Required to create the cohort.
      - Stored verbatim (no trimming).
    type: str
  description:
    description:
      - The cohort's description, compared with the text the site stores (not its HTML rendering).
      - When O(description_format) is not given, the stored format is kept.
    type: str
  description_format:
    description:
      - The format of O(description). A new cohort gets V(html) unless told otherwise.
    type: str
    choices: [html, moodle, plain, markdown]
  visible:
    description:
      - Whether the cohort is visible. A new cohort is visible unless told otherwise.
    type: bool
  theme:
    description:
      - The cohort's theme, for example V(boost); V("") for none.
      - Sites set cohort themes only when C(Allow cohort themes) is enabled (it is off by default), and otherwise
        drop the theme silently. The web service shows no difference between a cohort without a theme and a site
        with cohort themes disabled, so the theme of an existing cohort that has none (or whose theme the site hides)
        is left as it is, with a warning, rather than reported as a change on every run. Set it when creating the
        cohort, or change it from one theme to another.
    type: str
  custom_fields:
    description:
      - Values of the site's cohort custom fields, by shortname. Only the given fields are managed.
      - Values are compared as the text the site stores (V(true) and V(false) as C(1) and C(0)).
      - A shortname the site does not define for cohorts is left out with a warning naming it (the site would drop
        it silently); the module reports only the values the site stored, reading the cohort back after a write.
    type: dict
  category_idnumber:
    description:
      - The idnumber of the course category whose context holds the cohort.
      - Mutually exclusive with O(category_id).
      - When neither is given, a new cohort goes to the system context and an existing one stays where it is.
    type: str
  category_id:
    description:
      - The id of the course category whose context holds the cohort.
      - V(0) means the system context; use it to move a cohort back from a category.
    type: int
  state:
    description:
      - V(present) creates or updates the cohort; V(absent) deletes it (with its memberships).
      - Deleting a cohort that does not exist changes nothing.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - pluto.lms.connection
  - pluto.lms.connection.action_group
  - pluto.lms.attributes
attributes:
  check_mode:
    description: Sends no write, and reports the same C(changed), diff and RV(cohort) as a real run (without a new id).
    support: full
  diff_mode:
    description: Shows the managed fields and the context before and after, one line a field, under the cohort's idnumber.
    support: full
notes:
  - "B(Functions.) The token's web service needs C(core_webservice_get_site_info), C(core_cohort_search_cohorts),
    and C(core_cohort_create_cohorts) and C(core_cohort_update_cohorts) (O(state=present)) or
    C(core_cohort_delete_cohorts) (O(state=absent)); the module names every missing one before any other request.
    In check mode a missing write function is only a warning. C(core_cohort_get_cohort_members) is optional; with it,
    a delete's diff counts the members that go with the cohort."
  - "B(Capabilities.) The token's user needs C(webservice/rest:use), C(moodle/cohort:view) in the cohort's context to
    read it (also in check mode), and C(moodle/cohort:manage) there to create, update or delete it (in both contexts
    to move it from one to the other). No right to view users is needed."
  - C(core_course_get_categories) is optional, and finding a category by O(category_idnumber) needs
    C(moodle/category:manage) (the site refuses that search to others). Without them a category cannot be checked
    beforehand and the site's own check applies, with a warning; a cohort that lives in a category then cannot be
    located, so its context is reported as unknown.
  - The site never says which context a cohort is in; the module searches the system context, then the category the
    task names, then (only if still not found) every category.
  - C(async) is not supported; a task with C(async) fails before anything is sent.
  - "B(Requests.) Every task reads the site info and every cohort (one search). Creating adds the category's lookup when
    one is named, writes 1 and reads the new cohort back (one search). An existing cohort adds a search of the system
    context; naming a category adds its lookup (and a search of it unless the cohort is in the system context). A
    cohort in a category the task does not name is found by listing the categories once and searching them until
    found. Then 1 write, or none when nothing changes (a write of custom fields is read back). A deletion reads the
    cohort's context and its members (for the diff), then writes 1. Each of these requests costs a real
    site about 7 to 40 ms (the cost model measured on Moodle 4.5 with PostgreSQL and with MariaDB, not the
    simulator)."
seealso:
  - module: pluto.lms.pluto_cohort_info
  - module: pluto.lms.pluto_cohort_member
author:
  - pluto.lms maintainers (@pluto-lms)
"""

EXAMPLES = r"""
- name: Manage the staff cohorts (connection options once for the whole group)
  module_defaults:
    group/pluto.lms.pluto:
      url: https://courses.example.edu
      token: "{{ vault_pluto_token }}"
  block:
    - name: Create the staff cohort in the system context
      pluto.lms.pluto_cohort:
        idnumber: staff-2026
        name: Staff 2026
        description: "All **teaching** staff of 2026."
        description_format: markdown

    - name: Create a cohort in the Science category, hidden
      pluto.lms.pluto_cohort:
        idnumber: sci-tutors
        name: Science tutors
        category_idnumber: SCI
        visible: false
        custom_fields:
          costcentre: "4711"

- name: Rename a cohort by id (a new idnumber and name)
  pluto.lms.pluto_cohort:
    id: 42
    idnumber: staff-2027
    name: Staff 2027

- name: Move a cohort into the category with id 7
  pluto.lms.pluto_cohort:
    idnumber: sci-tutors
    category_id: 7

- name: Move it back to the system context
  pluto.lms.pluto_cohort:
    idnumber: sci-tutors
    category_id: 0

- name: Hide a cohort (nothing else is touched)
  pluto.lms.pluto_cohort:
    idnumber: staff-2026
    visible: false

- name: Delete a cohort (no change if it does not exist)
  pluto.lms.pluto_cohort:
    idnumber: staff-2025
    state: absent

- name: Audit one cohort without changing it (what a run would change, field by field)
  pluto.lms.pluto_cohort:
    idnumber: staff-2026
    name: Staff 2026
    visible: true
  check_mode: true
  diff: true
  register: staff_drift

# Cohorts as code: run the playbook with --check --diff to see, cohort by cohort, what would be created, changed
# (one line per field) and deleted, without a single write; run it without them to apply.
- name: Cohorts as code
  pluto.lms.pluto_cohort:
    idnumber: "{{ item.idnumber }}"
    name: "{{ item.name }}"
    visible: "{{ item.visible | default(true) }}"
    category_idnumber: "{{ item.category | default(omit) }}"
    state: "{{ item.state | default('present') }}"
  loop: "{{ cohorts }}"
  loop_control:
    label: "{{ item.idnumber }}"
"""

RETURN = r"""
errorcode:
  description:
    - The site's error code when the task failed on an error answer from the site (for example V(invalidtoken),
      V(nopermissions), V(invalidparameter), V(accessexception) also for functions the token's service lacks).
    - Absent when the task failed for another reason (bad input, a connection failure, an answer that is not the
      site's JSON). Useful in C(failed_when) or C(until).
  returned: failure, when the site answered with an error
  type: str
  sample: nopermissions
applied:
  description:
    - The items of the site's update request that were applied before the request that failed. An update of one
      cohort is one request, so this is empty; the cohort was not changed.
  returned: when an update request fails
  type: list
  elements: dict
  sample: []
cohort:
  description:
    - The cohort after the task (as it will be, in check mode). Empty after O(state=absent).
  returned: success
  type: dict
  contains:
    id:
      description: The cohort's id; null for a cohort that check mode would create.
      type: int
      sample: 42
    idnumber:
      description: The cohort's idnumber.
      type: str
      sample: staff-2026
    name:
      description: The cohort's name.
      type: str
      sample: Staff 2026
    description:
      description: The description as the site stores it.
      type: str
      sample: All **teaching** staff of 2026.
    description_format:
      description: The description's format, by name (V(html), V(moodle), V(plain), V(markdown)).
      type: str
      sample: markdown
    visible:
      description: Whether the cohort is visible.
      type: bool
      sample: true
    theme:
      description:
        - The cohort's theme; V("") for none.
        - Null when a theme is stored but the site has cohort themes disabled.
      type: str
      sample: ""
    custom_fields:
      description: The cohort's custom field values by shortname, as stored text.
      type: dict
      sample: {"costcentre": "4711"}
    context:
      description: V(system) or V(category).
      type: str
      sample: category
    category_id:
      description:
        - The id of the category that holds the cohort; V(0) for the system context.
        - Null when the cohort is in a category the token cannot find.
      type: int
      sample: 7
    category_idnumber:
      description: The idnumber of that category; null in the system context or when the category has none.
      type: str
      sample: SCI
  sample:
    id: 42
    idnumber: staff-2026
    name: Staff 2026
    description: All **teaching** staff of 2026.
    description_format: markdown
    visible: true
    theme: ""
    custom_fields: {}
    context: system
    category_id: 0
    category_idnumber: null
"""

from ansible_collections.pluto.lms.plugins.module_utils._cohort import plan
from ansible_collections.pluto.lms.plugins.module_utils._runner import run_module

MODULE_ARGS = dict(
    argument_spec=dict(
        idnumber=dict(type="str"),
        id=dict(type="int"),
        name=dict(type="str"),
        description=dict(type="str"),
        description_format=dict(type="str", choices=["html", "moodle", "plain", "markdown"]),
        visible=dict(type="bool"),
        theme=dict(type="str"),
        custom_fields=dict(type="dict"),
        category_idnumber=dict(type="str"),
        category_id=dict(type="int"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    ),
    mutually_exclusive=[("category_idnumber", "category_id")],
    required_one_of=[("idnumber", "id")],
)


def main():
    run_module(MODULE_ARGS, plan)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: pluto_cohort_info
short_description: Read Pluto LMS (Moodle) cohorts, optionally with their members
version_added: 0.1.0
description:
  - Returns the cohorts the filters select, each with its fields and the context it lives in, sorted by idnumber.
  - Every filter is optional; given together they must all match. Without filters, every cohort of the site is returned.
  - Never changes anything, and runs in check mode too.
  - "Requests: 3 reads (site info, the cohorts, a search of the system context), plus, while some cohorts are not
    placed yet, 1 to list the categories and 1 search per category. With O(include_members): 1 read of the members
    and 1 lookup of their usernames per 1,000 cohorts or users, never one a cohort or a user."
options:
  idnumber:
    description: Only the cohorts with one of these idnumbers (exact match).
    type: list
    elements: str
  id:
    description: Only the cohorts with one of these ids.
    type: list
    elements: int
  name:
    description: Only the cohorts whose name matches this shell-style pattern (C(*), C(?), C([...])), case-sensitive.
    type: str
  query:
    description:
      - The site's own text search, a case-insensitive substring of the name, the idnumber or the description.
    type: str
  category_idnumber:
    description:
      - Only the cohorts that live in the context of the category with this idnumber (not its subcategories).
      - Mutually exclusive with O(category_id).
    type: str
  category_id:
    description:
      - Only the cohorts that live in the context of the category with this id; V(0) means the system context.
    type: int
  visible:
    description: Only the visible (V(true)) or the hidden (V(false)) cohorts.
    type: bool
  include_members:
    description:
      - Add RV(cohorts[].member_count) and RV(cohorts[].members) (usernames) to each cohort.
    type: bool
    default: false
extends_documentation_fragment:
  - pluto.lms.connection
  - pluto.lms.connection.action_group
attributes:
  check_mode:
    description: Runs normally in check mode (it only reads).
    support: full
  diff_mode:
    description: Returns no diff (it never changes anything).
    support: none
notes:
  - The token's web service needs C(core_webservice_get_site_info), C(core_cohort_search_cohorts),
    C(core_cohort_get_cohorts) (when neither a category nor O(query) is given), and with O(include_members)
    C(core_cohort_get_cohort_members) and C(core_user_get_users_by_field).
  - C(core_course_get_categories) is optional; without it the category of cohorts outside the system context is
    returned as null, with a warning, and O(category_idnumber) cannot be used.
  - Its user needs C(moodle/cohort:view), and with O(include_members) the right to view users (without it the site
    hides them, and they are counted in RV(cohorts[].member_count) but not named, with a warning).
seealso:
  - module: pluto.lms.pluto_cohort
  - module: pluto.lms.pluto_cohort_member
author:
  - pluto.lms maintainers (@pluto-lms)
"""

EXAMPLES = r"""
- name: Read every cohort of the site
  pluto.lms.pluto_cohort_info:
    url: https://courses.example.edu
    token: "{{ vault_pluto_token }}"
  register: all_cohorts

- name: Read the staff cohorts with their members (connection options from module_defaults)
  module_defaults:
    group/pluto.lms.pluto:
      url: https://courses.example.edu
      token: "{{ vault_pluto_token }}"
  block:
    - name: Staff cohorts and members
      pluto.lms.pluto_cohort_info:
        name: "Staff *"
        include_members: true
      register: staff

    - name: Show who is in them
      ansible.builtin.debug:
        msg: "{{ item.idnumber }}: {{ item.member_count }} members"
      loop: "{{ staff.cohorts }}"
      loop_control:
        label: "{{ item.idnumber }}"

- name: Hidden cohorts of the Science category
  pluto.lms.pluto_cohort_info:
    category_idnumber: SCI
    visible: false

- name: Two cohorts by idnumber, found by the site's text search
  pluto.lms.pluto_cohort_info:
    query: "2026"
    idnumber: [staff-2026, students-2026]
"""

RETURN = r"""
cohorts:
  description: The selected cohorts, sorted by idnumber, each shaped like RV(pluto.lms.pluto_cohort#module:cohort).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The cohort's id.
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
      sample: ""
    description_format:
      description: The description's format, by name (V(html), V(moodle), V(plain), V(markdown)).
      type: str
      sample: html
    visible:
      description: Whether the cohort is visible.
      type: bool
      sample: true
    theme:
      description: The cohort's theme; V("") for none; null when a theme is stored but cohort themes are disabled.
      type: str
      sample: ""
    custom_fields:
      description: The cohort's custom field values by shortname, as stored text.
      type: dict
      sample: {}
    context:
      description: V(system) or V(category).
      type: str
      sample: system
    category_id:
      description: The id of the category that holds the cohort; V(0) for the system context; null when unknown.
      type: int
      sample: 0
    category_idnumber:
      description: The idnumber of that category; null in the system context or when the category has none.
      type: str
      sample: null
    member_count:
      description: The number of members.
      returned: with O(include_members)
      type: int
      sample: 2
    members:
      description: The members' usernames, sorted.
      returned: with O(include_members)
      type: list
      elements: str
      sample: [asmith, jdoe]
"""

from ansible_collections.pluto.lms.plugins.module_utils._cohort_info import plan
from ansible_collections.pluto.lms.plugins.module_utils._runner import run_module

MODULE_ARGS = dict(
    argument_spec=dict(
        idnumber=dict(type="list", elements="str"),
        id=dict(type="list", elements="int"),
        name=dict(type="str"),
        query=dict(type="str"),
        category_idnumber=dict(type="str"),
        category_id=dict(type="int"),
        visible=dict(type="bool"),
        include_members=dict(type="bool", default=False),
    ),
    mutually_exclusive=[("category_idnumber", "category_id")],
)


def main():
    run_module(MODULE_ARGS, plan)


if __name__ == "__main__":
    main()

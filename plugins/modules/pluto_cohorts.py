#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: pluto_cohorts
short_description: Manage many Pluto LMS (Moodle) cohorts of one site, with their members, in one task
version_added: 0.2.0
description:
  - The desired state of a whole set of cohorts of one site (a tenant), with their fields and, where given, their
    members, made true in one task. Use it for set-level jobs (provision a tenant, sync an export into hundreds of
    cohorts, audit many tenants); use M(pluto.lms.pluto_cohort) and M(pluto.lms.pluto_cohort_member) for one cohort.
  - It follows the convention of Ansible's resource modules that manage a set (O(config) with O(state)
    V(merged), V(replaced), V(overridden), V(deleted), V(gathered)).
  - A cohort is identified by its exact idnumber. Only the fields an item gives are managed; the rest are left as
    they are on the site.
  - "The site is read once: site info and its cohorts (2 requests), the members of every listed cohort that lists
    members (1 request per 1,000 cohorts), every listed user once however many cohorts list it (1 request per 1,000
    users, sent concurrently), and only when needed the cohorts' contexts (a search of the system context, and of the
    categories the items name; the site does not say which context holds a cohort, and an update must name it).
    Then the writes are batched by function across cohorts: one create request for many cohorts (split only to stay
    under 2,000 form fields and O(max_input_vars)), one update request, additions and removals that span cohorts
    (O(batch_size) members a request), one delete request. After creating, the cohorts are read once more."
  - "Request counts on the simulator (cost-free, counted from its request log): 204 new cohorts, one with members,
    take 6 requests (2 writes), the rerun 4; 200 cohorts of 50 users (10,000 memberships, 2,900 distinct users)
    take 26 requests (20 writes), the rerun 6; 2,000 cohorts of 50 users (100,000 memberships) take 210 requests,
    the rerun 7."
  - "The per-cohort rules are those of M(pluto.lms.pluto_cohort) and M(pluto.lms.pluto_cohort_member) (the same code
    plans each cohort): custom fields the site does not define are left out with a warning and never reported as
    set; a member is removed only when it is positively identified as a user the cohort does not list (a member the
    token's user may not see, or that answers to a listed value the lookup did not find, stays, with a warning)."
  - Everything is checked before the first write, with one message naming every problem (bad values, idnumbers
    listed twice, missing users, duplicates on the site, idnumbers that MySQL/MariaDB sites take as one).
options:
  config:
    description:
      - The cohorts. Each item takes the options of M(pluto.lms.pluto_cohort) (without C(id)) and C(members).
      - Not allowed with O(state=gathered).
    type: list
    elements: dict
    default: []
    suboptions:
      idnumber:
        description:
          - The cohort's idnumber, which identifies it exactly (case, accents and spaces count).
          - "Creating a cohort whose idnumber a MySQL/MariaDB site takes as equal to an existing cohort's (for example
            C(staff) while C(STAFF) exists), or listing two such idnumbers, fails before any write, naming them, on
            every site."
        type: str
        required: true
      name:
        description: The cohort's name. Required to create the cohort.
        type: str
      description:
        description: The cohort's description; left alone when not given.
        type: str
      description_format:
        description: The format of O(config[].description); left alone when not given (a new cohort gets V(html)).
        type: str
        choices: [html, moodle, plain, markdown]
      visible:
        description: Whether the cohort is visible; left alone when not given (a new cohort is visible).
        type: bool
      theme:
        description: The cohort's theme, as M(pluto.lms.pluto_cohort) manages it.
        type: str
      custom_fields:
        description: Values of the site's cohort custom fields, by shortname; only the given ones are managed.
        type: dict
      category_id:
        description:
          - Id of the course category whose context holds the cohort; V(0) is the system context.
          - When neither this nor O(config[].category_idnumber) is given, a new cohort goes to the system context and an
            existing one stays where it is.
        type: int
      category_idnumber:
        description: Idnumber of the course category whose context holds the cohort.
        type: str
      members:
        description:
          - The cohort's members, named by O(user_field). Without this key, membership is left alone.
          - With O(state=merged) they are added (no member is removed); with V(replaced) and V(overridden) the cohort
            holds exactly them (an empty list empties it).
          - Usernames are stripped and lowercased; a value that cannot be a username (Moodle allows lowercase letters,
            digits, C(_ - @ .)) is a missing user. Emails are matched ignoring case, as Moodle does.
        type: list
        elements: str
      state:
        description:
          - V(absent) deletes the cohort (with O(state=merged), V(replaced) or V(overridden)).
        type: str
        choices: [present, absent]
        default: present
  state:
    description:
      - V(merged) makes the listed cohorts exist with the given fields and adds the given members; nothing is removed.
      - V(replaced) is V(merged), and each listed cohort that has O(config[].members) holds exactly those users.
      - V(overridden) is V(replaced), and the site's cohorts that are not listed are deleted, except those matched by
        O(keep) and those without idnumber (unless O(delete_cohorts_without_idnumber)).
      - V(deleted) deletes the listed cohorts (only their idnumbers count). An empty O(config) deletes nothing.
      - V(gathered) reads the site and returns RV(gathered) in exactly the shape of O(config); nothing is written.
    type: str
    choices: [merged, replaced, overridden, deleted, gathered]
    default: merged
  user_field:
    description: What the values in O(config[].members) are, and (with O(gather_members)) what RV(gathered) lists.
    type: str
    choices: [username, email, idnumber, id]
    default: username
  missing_users:
    description:
      - What to do when listed users do not exist on the site.
      - V(fail) fails the task before any write, naming every missing user; V(warn) goes on without them and names
        them in a warning; V(ignore) goes on silently. Either way they are returned in RV(missing_users) and in each
        cohort's C(missing).
      - A listed user is never a reason to remove a member; V(replaced) removes only members that are not
        listed. If none of the listed users is found (the token's user may lack the right to view users), V(replaced)
        and V(overridden) fail rather than empty the cohorts.
    type: str
    choices: [fail, warn, ignore]
    default: fail
  batch_size:
    description:
      - Members a write request (additions and removals), from 1 to 500. Requests span cohorts.
    type: int
    default: 500
  keep:
    description:
      - With O(state=overridden), idnumbers (shell-style patterns such as V(course-*) allowed) never deleted.
    type: list
    elements: str
    default: []
  delete_cohorts_without_idnumber:
    description:
      - With O(state=overridden), also delete the site's cohorts that have no idnumber (cohorts made in the site's
        web interface usually have none). Off by default, and they are then left alone, with a warning naming them.
    type: bool
    default: false
  gather_members:
    description:
      - With O(state=gathered), also return each cohort's members (in the terms of O(user_field)).
    type: bool
    default: false
extends_documentation_fragment:
  - pluto.lms.connection
  - pluto.lms.connection.action_group
  - pluto.lms.attributes
attributes:
  check_mode:
    description:
      - Sends no write, and returns the same C(changed), RV(cohorts), RV(totals) and diff as a real run (a new cohort
        without its id). Users are looked up in check mode too.
    support: full
  diff_mode:
    description:
      - One diff for the task, readable at hundreds of cohorts. The counts first (cohorts on the site, created,
        updated, deleted, unchanged, members added and removed), then each changed cohort under its idnumber and id
        (its changed fields, its member count, the first 100 added and removed users). Unchanged cohorts are counted,
        not listed.
    support: full
notes:
  - The token's web service needs C(core_webservice_get_site_info) and C(core_cohort_get_cohorts), plus what the task
    uses; C(core_cohort_search_cohorts) to find contexts, C(core_cohort_get_cohort_members) and
    C(core_user_get_users_by_field) for members, and the write functions the plan needs. Every missing one is named at
    once before any write; in check mode a missing write function is only a warning.
  - If a write request fails, the cohorts it carried fail (each entry of RV(cohorts) says why) and the others go on;
    the task fails with C(changed=true) when anything was applied, says what, and returns it in RV(applied) and
    RV(cohorts). Running the task again finishes the job.
  - Another run that creates the same idnumber at the same moment is detected by reading the cohorts back after the
    creates; the lowest id wins, and a copy this task made that is still empty is deleted. The run that made the
    lowest id waits a few seconds for the other run to delete its copy; if the copy stays, that cohort fails, naming
    both ids and the fix. A batched create that the site refuses whole because another run has just created some of
    its idnumbers goes on with those cohorts and sends the others again. Another run adding the same
    users at the same moment makes the site refuse the add request; the members are read again and the rest resent,
    a bounded number of times.
seealso:
  - module: pluto.lms.pluto_cohort
  - module: pluto.lms.pluto_cohort_member
  - module: pluto.lms.pluto_cohort_info
author:
  - pluto.lms maintainers (@pluto-lms)
"""

EXAMPLES = r"""
- name: Provision the standard cohorts of a tenant, with the staff members
  pluto.lms.pluto_cohorts:
    url: https://courses.example.edu
    token: "{{ pluto_token }}"
    config:
      - {idnumber: students, name: Students}
      - {idnumber: faculty, name: Faculty}
      - {idnumber: staff, name: Staff, members: [jdoe, asmith]}
      - {idnumber: alumni, name: Alumni, visible: false}
    state: replaced

- name: Sync a night's export (cohort idnumber -> usernames) into hundreds of cohorts
  pluto.lms.pluto_cohorts:
    config: "{{ export | dict2items(key_name='idnumber', value_name='members') }}"
    state: replaced
    missing_users: warn

- name: Make the site hold exactly these cohorts; keep the course cohorts
  pluto.lms.pluto_cohorts:
    config: "{{ tenant_cohorts }}"
    state: overridden
    keep: ["course-*"]
  check_mode: true
  diff: true

- name: Bring an existing tenant under code
  pluto.lms.pluto_cohorts:
    state: gathered
    gather_members: true
  register: tenant

- name: Write its cohorts to a vars file (applied back with state merged or replaced, nothing changes)
  ansible.builtin.copy:
    content: "{{ {'tenant_cohorts': tenant.gathered} | to_nice_yaml }}"
    dest: host_vars/lakeside/cohorts.yml
    mode: "0644"
  delegate_to: localhost
"""

RETURN = r"""
cohorts:
  description:
    - One entry a listed cohort (and a cohort that O(state=overridden) deletes), sorted by idnumber.
    - In check mode, what would be done; after a failed write, what was done.
  returned: success, and when a write failed
  type: list
  elements: dict
  contains:
    idnumber:
      description: The cohort's idnumber (V("") for a deleted cohort without one).
      type: str
    id:
      description: The cohort's id (null for a cohort check mode would create, or one that does not exist).
      type: int
    name:
      description: The cohort's name.
      type: str
    action:
      description: V(created), V(updated), V(deleted) or V(unchanged).
      type: str
    fields:
      description: The fields an update changes, each with C(old) and C(new).
      type: dict
    pruned:
      description: True for a cohort deleted because O(state=overridden) and it is not listed.
      type: bool
    added:
      description: The users added, in the terms of O(user_field) (a user without that value as C(id=N)), sorted.
      type: list
      returned: for a cohort with members
    removed:
      description: The users removed, as RV(cohorts[].added).
      type: list
      returned: for a cohort with members
    missing:
      description: The cohort's listed users that the site lacks, as listed.
      type: list
      returned: for a cohort with members
    member_count:
      description: Members after the task.
      type: int
      returned: for a cohort with members
    failed:
      description: True for a cohort whose write failed (after a failure; see RV(cohorts[].msg)).
      type: bool
      returned: when a write of this cohort failed
    msg:
      description: Why the cohort's write failed.
      type: str
      returned: when a write of this cohort failed
  sample:
    - {idnumber: staff, id: 12, name: Staff, action: updated, fields: {name: {old: staff, new: Staff}},
       pruned: false, added: [jdoe], removed: [], missing: [], member_count: 2}
totals:
  description: Counts of RV(cohorts) by action, members added and removed, distinct missing users.
  returned: success
  type: dict
  sample: {created: 200, updated: 1, deleted: 0, unchanged: 3, members_added: 10000, members_removed: 0,
           missing_users: 0}
missing_users:
  description: All listed users the site lacks, sorted.
  returned: success, and when missing users failed the task
  type: list
  elements: raw
applied:
  description:
    - After a failed write, what was applied before the failure (idnumbers created, updated and deleted; members added
      and removed).
  returned: when a write failed
  type: dict
gathered:
  description:
    - With O(state=gathered), the site's cohorts in exactly the shape of O(config), sorted by idnumber (a cohort without
      idnumber is left out, with a warning). The system context is C(category_id=0); a category is named by its
      idnumber when it has one. With O(gather_members), C(members) in the terms of O(user_field).
  returned: state is gathered
  type: list
  elements: dict
  sample:
    - {idnumber: staff, name: Staff, description: "", description_format: html, visible: true, category_id: 0,
       members: [asmith, jdoe]}
"""

from ansible_collections.pluto.lms.plugins.module_utils._cohorts import plan
from ansible_collections.pluto.lms.plugins.module_utils._runner import run_module

COHORT_OPTIONS = dict(
    idnumber=dict(type="str", required=True),
    name=dict(type="str"),
    description=dict(type="str"),
    description_format=dict(type="str", choices=["html", "moodle", "plain", "markdown"]),
    visible=dict(type="bool"),
    theme=dict(type="str"),
    custom_fields=dict(type="dict"),
    category_id=dict(type="int"),
    category_idnumber=dict(type="str"),
    members=dict(type="list", elements="str"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)

MODULE_ARGS = dict(
    argument_spec=dict(
        config=dict(type="list", elements="dict", default=[], options=COHORT_OPTIONS,
                    mutually_exclusive=[("category_id", "category_idnumber")]),
        state=dict(type="str", choices=["merged", "replaced", "overridden", "deleted", "gathered"], default="merged"),
        user_field=dict(type="str", choices=["username", "email", "idnumber", "id"], default="username"),
        missing_users=dict(type="str", choices=["fail", "warn", "ignore"], default="fail"),
        batch_size=dict(type="int", default=500),
        keep=dict(type="list", elements="str", default=[]),
        delete_cohorts_without_idnumber=dict(type="bool", default=False),
        gather_members=dict(type="bool", default=False),
    ),
)


def main():
    run_module(MODULE_ARGS, plan)


if __name__ == "__main__":
    main()

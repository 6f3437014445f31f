#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: pluto_cohort_member
short_description: Manage the members of a Pluto LMS (Moodle) cohort in bulk
version_added: 0.1.0
description:
  - Adds users to one cohort, removes them, or makes the cohort hold exactly the listed users.
  - Built for thousands of users in one task and few requests. The listed users are looked up in bulk
    (C(core_user_get_users_by_field), 1,000 a request), the members are read once, and the difference is
    added and removed by user id, at most O(batch_size) members a request. There is never one request per user.
  - "Reads: 3 (site info, the cohort, its members) plus the user lookups the task needs (see the notes), 1,000 values
    a request (fewer when O(max_input_vars) is lower), up to O(lookup_concurrency) of them at once.
    Writes: ceil(A / batch_size) additions and ceil(R / batch_size) removals."
  - Every listed user is resolved and every value checked before the first write, so bad input changes nothing.
options:
  cohort:
    description:
      - The idnumber of the cohort, exactly as the site spells it. The cohort must exist (see M(pluto.lms.pluto_cohort)).
        In check mode only, a cohort that does not exist yet (an earlier task of the play would create it) is planned
        as empty, with a warning that names it; the users are still looked up.
      - A blank value fails the task before any request.
      - If several cohorts share the idnumber (the site allows it after a rename), the module fails and names their ids;
        use O(cohort_id).
      - Exactly one of O(cohort) and O(cohort_id) is required.
    type: str
  cohort_id:
    description:
      - The numeric id of the cohort.
    type: int
  users:
    description:
      - The users, named by O(user_field).
      - Duplicates are ignored. An empty list with O(state=exact) empties the cohort.
      - Usernames are stripped of surrounding spaces and lowercased, as the site stores them.
      - Emails are stripped and matched ignoring case, as Moodle does at login. An email not found as given is
        looked up once more in lowercase, and a member whose email equals a listed one ignoring case is that user.
        A PostgreSQL site finds only the stored spelling, so C(jane@example.edu) finds a user stored as
        C(Jane@example.edu) when she is a member already; a MySQL/MariaDB site finds her either way.
        Two site users whose emails differ only in case make that email ambiguous.
      - User idnumbers are matched exactly, else in the spelling a MySQL/MariaDB site finds (case, accents,
        trailing spaces). Ids must be positive whole numbers.
      - A username that breaks Moodle's username rule (lowercase letters, digits and C(- . _ @) only, after
        stripping and lowercasing), or an email without the shape of one, cannot belong to a site user: it is
        handled as a missing user (see O(missing_users)) and never sent to the site.
      - An email or idnumber that belongs to several site users fails the task before any write (the site does not
        keep them unique); name those users by username or id.
    type: list
    elements: str
    required: true
  user_field:
    description:
      - What the values in O(users) are.
    type: str
    choices: [username, email, idnumber, id]
    default: username
  state:
    description:
      - V(present) makes the listed users members; other members stay.
      - V(absent) makes sure the listed users are not members.
      - V(exact) makes the cohort hold exactly the listed users; missing ones are added, all others removed.
    type: str
    choices: [present, absent, exact]
    default: present
  missing_users:
    description:
      - What to do when listed users do not exist on the site.
      - V(fail) fails the task before any write, naming every missing user (and before any request when a value
        cannot be a user at all, see O(users)).
      - V(warn) goes on without them and names them in a warning; V(ignore) goes on silently.
      - Either way they are returned in RV(missing).
      - If none of a non-empty list is found, the message says that the token's user may lack the right to view
        users (the site then answers as if no user existed). With O(state=exact) and a cohort that has members, that
        case always fails, rather than remove every member.
      - A listed user deleted from the site (Moodle keeps the record of a deleted user) is a missing user, also
        when deleted between the lookup and the addition.
    type: str
    choices: [fail, warn, ignore]
    default: fail
  batch_size:
    description:
      - Members a write request, from 1 to 500.
      - An addition is 4 form fields a member and a removal 2, so 500 keeps each request near 2,000 fields, far below
        PHP's C(max_input_vars) (5,000 fields, past which the site silently drops the rest). Lower it only for a site
        set below that.
    type: int
    default: 500
extends_documentation_fragment:
  - pluto.lms.connection
  - pluto.lms.connection.action_group
attributes:
  check_mode:
    description: Sends no write, and predicts the same RV(added), RV(removed), RV(missing) and RV(member_count).
    support: full
  diff_mode:
    description: Shows the member count before and after, and the added and removed users (the first 100 of each).
    support: full
notes:
  - The token needs C(core_webservice_get_site_info), C(core_cohort_search_cohorts) (or C(core_cohort_get_cohorts)
    with O(cohort_id)), C(core_cohort_get_cohort_members), C(core_user_get_users_by_field), and
    C(core_cohort_add_cohort_members) and C(core_cohort_delete_cohort_members) as the O(state) needs them; the module
    names every missing function before any write.
  - Its user needs C(moodle/cohort:assign) in the cohort's context and the right to view users.
  - If a write request fails after earlier ones were applied, the task fails with C(changed=true) and returns what was
    applied in RV(added) and RV(removed). Running it again finishes the job.
  - If someone else adds the same users at the same moment, the site refuses the whole request; the module then reads
    the members once more and adds only those still missing, a few times at most, waiting a random short while
    between tries.
  - "What each task looks up: the listed users, in bulk, except with O(user_field=id) the listed ids that are members
    already (a rerun of an id-based sync that changes nothing sends no user lookup). Values a lookup did not find are
    looked up once more in requests of 100 before any is called missing; if they are found then, the site drops the end
    of bigger requests (PHP C(max_input_vars) below what they need) and the task warns and says how to set it. With
    O(state=exact), and with O(user_field=email) or V(idnumber) when a listed value was not found, the members the task
    does not list are looked up by id, to tell who they are."
  - "O(state=exact) removes a member only when the task positively identifies it as unlisted: with O(user_field=id),
    any member whose id is not listed; otherwise, when every listed value was found, any member that is none of the
    users found; when some were not found, a member whose own username, email or idnumber was read from the site and
    answers to no listed value (emails ignoring case, idnumbers also in the spellings a MySQL/MariaDB site takes as
    equal). A member whose value the token's user may not see (a lookup by id answers without C(username) and
    C(idnumber) unless it has C(moodle/user:viewalldetails), without C(email) unless C(moodle/site:viewuseridentity)),
    or that the site did not answer for, is then kept, and a warning names it by id and the capability."
  - "Lookups by username or idnumber need C(moodle/user:viewalldetails), by email C(moodle/site:viewuseridentity),
    by id C(moodle/user:viewdetails): without it the site answers as if no user existed, and the message says so."
seealso:
  - module: pluto.lms.pluto_cohort
  - module: pluto.lms.pluto_cohort_info
author:
  - pluto.lms maintainers (@pluto-lms)
"""

EXAMPLES = r"""
- name: Add the new staff to the staff cohort
  pluto.lms.pluto_cohort_member:
    url: https://courses.example.edu
    token: "{{ pluto_token }}"
    cohort: staff-2026
    users:
      - jdoe
      - asmith
      - mlopez

- name: Make the cohort hold exactly the students of the enrolment export (thousands of them)
  pluto.lms.pluto_cohort_member:
    cohort: students-2026
    users: "{{ enrolled_students | map(attribute='email') | list }}"
    user_field: email
    state: exact
    missing_users: warn

- name: Make the cohort hold exactly the usernames in a file, one a line
  pluto.lms.pluto_cohort_member:
    cohort_id: 42
    users: "{{ lookup('ansible.builtin.file', 'cohorts/tutors.txt').splitlines() | select | list }}"
    state: exact

- name: Remove the leavers (some may already be deleted from the site)
  pluto.lms.pluto_cohort_member:
    cohort: staff-2026
    users: "{{ leavers }}"
    state: absent
    missing_users: ignore

- name: Audit a cohort without changing it
  pluto.lms.pluto_cohort_member:
    cohort: students-2026
    users: "{{ enrolled_students | map(attribute='username') | list }}"
    state: exact
  check_mode: true
  diff: true
  register: audit

- name: Show the drift
  ansible.builtin.debug:
    msg: "{{ audit.added | length }} to add, {{ audit.removed | length }} to remove, {{ audit.missing | length }} unknown"
"""

RETURN = r"""
cohort:
  description: The cohort.
  returned: success
  type: dict
  contains:
    id:
      description: The cohort's id.
      type: int
      sample: 42
    idnumber:
      description: The cohort's idnumber.
      type: str
      sample: staff-2026
  sample: {"id": 42, "idnumber": "staff-2026"}
added:
  description:
    - The users added (to be added in check mode), in the terms of O(user_field), sorted.
    - After a failed write, the users added before the failure.
  returned: success, and when a write failed
  type: list
  elements: raw
  sample: [asmith, jdoe]
removed:
  description:
    - The users removed (to be removed in check mode), in the terms of O(user_field), sorted.
    - A removed member without a value for O(user_field) (for example no idnumber) is shown as C(id=<user id>).
    - After a failed write, the users removed before the failure.
  returned: success, and when a write failed
  type: list
  elements: raw
  sample: [mlopez]
missing:
  description: The listed users that do not exist on the site, as listed (usernames lowercased), sorted.
  returned: success, and when missing users failed the task

  type: list
  elements: raw
  sample: [nosuchuser]
member_count:
  description: The number of members after the task (predicted in check mode).
  returned: success
  type: int
  sample: 5120
"""

from ansible_collections.pluto.lms.plugins.module_utils._cohort_member import plan
from ansible_collections.pluto.lms.plugins.module_utils._runner import run_module

MODULE_ARGS = dict(
    argument_spec=dict(
        cohort=dict(type="str"),
        cohort_id=dict(type="int"),
        users=dict(type="list", elements="str", required=True),
        user_field=dict(type="str", choices=["username", "email", "idnumber", "id"], default="username"),
        state=dict(type="str", choices=["present", "absent", "exact"], default="present"),
        missing_users=dict(type="str", choices=["fail", "warn", "ignore"], default="fail"),
        batch_size=dict(type="int", default=500),
    ),
    mutually_exclusive=[("cohort", "cohort_id")],
    required_one_of=[("cohort", "cohort_id")],
)


def main():
    run_module(MODULE_ARGS, plan)


if __name__ == "__main__":
    main()

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
  - Built for thousands of users in one task. The listed users are looked up in bulk, the members are read once, and
    the difference is added and removed by user id, many members a request; never one request per user.
  - Every listed user is resolved and every value checked before the first write, so bad input changes nothing.
  - The requests it sends, and what they cost on a real site, are under C(Requests) in the notes.
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
        stripping and lowercasing), or an email without the shape of one, cannot belong to a site user; it is
        handled as a missing user (see O(missing_users)) and never sent to the site.
      - An email or idnumber that belongs to several site users fails the task before any write (the site does not
        keep them unique); name those users by username or id.
    type: list
    elements: str
    required: true
  user_field:
    description:
      - What the values in O(users) are.
      - Each field needs its own right to view users; see C(Capabilities) in the notes.
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
      - A token without the right to view users by O(user_field) (see C(Capabilities) in the notes) finds nobody; the
        site answers exactly as if no such user existed. If none of a non-empty list is found, the message says the
        token's user may lack that right. With O(state=exact) and a cohort that has members, that case always fails,
        rather than remove every member.
      - A listed user deleted from the site (Moodle keeps the record of a deleted user) is a missing user, also
        when deleted between the lookup and the addition.
    type: str
    choices: [fail, warn, ignore]
    default: fail
  batch_size:
    description:
      - Members a write request, from 1 to 500.
      - An addition is 4 form fields a member and a removal 2, so 500 keeps each request near 2,000 fields, far below
        PHP's C(max_input_vars) (5,000 fields by default, past which the site silently drops the rest of a request).
    type: int
    default: 500
extends_documentation_fragment:
  - pluto.lms.connection
  - pluto.lms.connection.action_group
  - pluto.lms.attributes
attributes:
  check_mode:
    description: Sends no write, and predicts the same RV(added), RV(removed), RV(missing) and RV(member_count).
    support: full
  diff_mode:
    description: Shows the member count before and after, and the added and removed users (the first 100 of each).
    support: full
notes:
  - "B(Functions.) The token's web service needs C(core_webservice_get_site_info), C(core_cohort_search_cohorts) (or
    C(core_cohort_get_cohorts) with O(cohort_id)), C(core_cohort_get_cohort_members), C(core_user_get_users_by_field),
    and C(core_cohort_add_cohort_members) and C(core_cohort_delete_cohort_members) as the O(state) needs them; the
    module names every missing function before any write."
  - "B(Capabilities.) The token's user needs C(webservice/rest:use); C(moodle/cohort:view) in the cohort's context
    (to find the cohort and read its members); C(moodle/cohort:assign) there to add or remove members (not in check
    mode); and, at the system level, the right to view users by O(user_field):
    V(id) needs C(moodle/user:viewdetails);
    V(username) and V(idnumber) need C(moodle/user:viewdetails) and C(moodle/user:viewalldetails);
    V(email) needs C(moodle/user:viewdetails) and C(moodle/site:viewuseridentity), with C(email) in the site's
    C(showuseridentity) setting (C(moodle/user:viewalldetails) alone does not find users by email).
    Without that right the site finds nobody, and says nothing."
  - "With O(state=exact) and a O(user_field) other than V(id), the members to remove that are not listed are looked
    up by id to name them; without C(moodle/user:viewalldetails) (V(username), V(idnumber)) or
    C(moodle/site:viewuseridentity) (V(email)) the site answers without that field, and they are named C(id=<user id>)."
  - If a write request fails after earlier ones were applied, the task fails with C(changed=true) and returns what was
    applied in RV(added) and RV(removed). Running it again finishes the job.
  - If someone else adds the same users at the same moment, the site refuses the whole request; the module then reads
    the members once more and adds only those still missing, a few times at most, waiting a random short while
    between tries.
  - C(async) is not supported; a task with C(async) fails before anything is sent. To work on many cohorts or sites
    at once, loop over them, or let Ansible's forks run the tenants in parallel.
  - "What each task looks up: the listed users, in bulk, except with O(user_field=id) the listed ids that are members
    already (a rerun of an id-based sync that changes nothing sends no user lookup). A lookup of more than 100 values
    ends with the token's own user (read from the site info, or for emails and idnumbers by one lookup by id): when the
    site's answer lacks it, the site cut the request (PHP C(max_input_vars) below what it needs), the values at its
    end are looked up again in requests of 100 before any is called missing, and the task warns and says how to set
    O(max_input_vars). With O(state=exact), the members it removes are looked up by id to name them in the
    terms of O(user_field). When a listed value was not found (with O(state=exact), or with O(user_field=email) or
    V(idnumber)), the members the task does not list are looked up by id, to tell whether one of them is that user."
  - "O(state=exact) removes a member only when the task positively identifies it as unlisted: with O(user_field=id),
    any member whose id is not listed; otherwise, when every listed value was found, any member that is none of the
    users found; when some were not found, a member whose own username, email or idnumber was read from the site and
    answers to no listed value (emails ignoring case, idnumbers also in the spellings a MySQL/MariaDB site takes as
    equal). A member whose value the token's user may not see (a lookup by id answers without C(username) and
    C(idnumber) unless it has C(moodle/user:viewalldetails), without C(email) unless C(moodle/site:viewuseridentity)),
    or that the site did not answer for, is then kept, and a warning names it by id and the capability."
  - "B(Requests.) Reads: 3 (site info, the cohort, its members) plus one user lookup per 1,000 listed users (fewer a
    request where O(max_input_vars) is set lower), up to O(lookup_concurrency) of them at once. With O(state=exact) and a O(user_field) other than V(id), the
    members to remove that are not listed add one lookup by id per 1,000. Writes: one addition per O(batch_size)
    users to add and one removal per O(batch_size) users to remove; nothing when nothing changes."
  - "B(Requests), timed on real sites (the cost model measured on Moodle 4.5 with PostgreSQL and with MariaDB, 2 cores,
    not the simulator): a user lookup costs the site about 2.5 to 3.5 ms a value, so looking up 1,000 users takes
    about 2.5 to 3.6 s; adding 1,000 new members about 1.7 to 2.6 s; reading the members of a cohort of 3,000 about
    0.02 to 0.04 s. Most of a large task's time is the user lookups."
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
    - Strings, except with O(user_field=id), where they are the user ids as integers.
    - After a failed write, the users added before the failure.
  returned: success, and when a write failed
  type: list
  elements: raw
  sample: [asmith, jdoe]
removed:
  description:
    - The users removed (to be removed in check mode), in the terms of O(user_field), sorted.
    - Strings, except with O(user_field=id), where they are the user ids as integers.
    - A removed member without a value for O(user_field) (for example no idnumber, or a field the token may not see)
      is shown as C(id=<user id>).
    - After a failed write, the users removed before the failure.
  returned: success, and when a write failed
  type: list
  elements: raw
  sample: [mlopez]
missing:
  description:
    - The listed users not found on the site, as listed (usernames lowercased), sorted.
    - Strings, except with O(user_field=id), where they are the user ids as integers.
  returned: success, and when missing users failed the task
  type: list
  elements: raw
  sample: [nosuchuser]
member_count:
  description: The number of members after the task (predicted in check mode).
  returned: success
  type: int
  sample: 5120
errorcode:
  description:
    - The site's error code when the task failed on an error answer from the site (for example V(invalidtoken),
      V(nopermissions), V(accessexception) also for functions the token's service lacks, V(dmlwriteexception)).
    - Absent when the task failed for another reason (bad input, a connection failure, an answer that is not the
      site's JSON). Useful in C(failed_when) or C(until).
  returned: failure, when the site answered with an error
  type: str
  sample: nopermissions
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

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one table of the site's web-service functions that pluto.lms calls.

Each function is named once, with what the client, the reader and the executor need to know:
- kind: READ or WRITE (a reader may only send READ functions);
- resend: whether a request whose answer was lost may be sent again blindly (a second delivery
  cannot apply anything twice);
- items: the argument that holds the list of items, and at most how many items a request
  carries (fields are counted per item, measured from the item's encoding, never assumed);
- verify: for writes that may not be resent (create, delete), how a lost answer is checked by
  reading the site back before the write is sent again.

A function missing from the table is an error (PlutoError), never a silent "write".

Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import namedtuple

from ansible_collections.pluto.lms.plugins.module_utils._errors import PlutoError

READ = "read"
WRITE = "write"

# Form fields every request carries before its arguments: wstoken, wsfunction, moodlewsrestformat.
HEADER_FIELDS = 3
# PHP keeps only the first max_input_vars form fields and silently drops the rest. A request
# never carries more than this many argument fields, whatever the site allows.
MAX_ARGUMENT_FIELDS = 2000
# Ids or values a request carries, at most (one field each).
ID_CHUNK = 1000
# Values per core_user_get_users_by_field request (one field each).
USER_LOOKUP_CHUNK = 1000


Function = namedtuple("Function", ["name", "kind", "resend", "items_key", "max_items", "verify"])


def _read(name, items_key=None, max_items=None):
    return Function(name, READ, True, items_key, max_items, None)


def _write(name, resend, items_key, max_items=None, verify=None):
    return Function(name, WRITE, resend, items_key, max_items, verify)


def _created_if_applied(client, items):
    """The create's answer if every cohort of items now exists once with its name; else None."""
    found = []
    for item in items:
        answer = client.call("core_cohort_search_cohorts", {
            "query": item["idnumber"], "context": {"contextlevel": "system", "instanceid": 0}, "includes": "all",
            "limitfrom": 0, "limitnum": 0}, raw=True) or {}
        matches = [c for c in answer.get("cohorts") or [] if c.get("idnumber") == item["idnumber"]]
        if len(matches) != 1 or matches[0].get("name") != item.get("name"):
            return None
        found.append(matches[0])
    return found


def _deleted_if_applied(client, items):
    """The delete's answer (null) if none of the ids exists any more; else False (not applied)."""
    remaining = client.call("core_cohort_get_cohorts", {"cohortids": list(items)}, raw=True) or []
    return None if not remaining else False


# verify(client, items) -> the answer the write would have given (not False) when it was applied,
# False when it was not (send it again).
def _verify_create(client, items):
    found = _created_if_applied(client, items)
    return False if found is None else found


FUNCTIONS = dict((f.name, f) for f in [
    _read("core_webservice_get_site_info"),
    _read("core_cohort_get_cohorts", "cohortids", ID_CHUNK),
    _read("core_cohort_search_cohorts"),
    _read("core_cohort_get_cohort_members", "cohortids", ID_CHUNK),
    _read("core_user_get_users_by_field", "values", USER_LOOKUP_CHUNK),
    _read("core_course_get_categories"),
    # All or nothing per request; a second delivery would make duplicates.
    _write("core_cohort_create_cohorts", False, "cohorts", verify=_verify_create),
    # Sets absolute values: a repeat changes nothing.
    _write("core_cohort_update_cohorts", True, "cohorts"),
    # A second delivery fails on the ids the first one deleted.
    _write("core_cohort_delete_cohorts", False, "cohortids", ID_CHUNK, verify=_deleted_if_applied),
    # A repeat answers warning 3 (already a member).
    _write("core_cohort_add_cohort_members", True, "members"),
    # Removing a non-member is a silent no-op.
    _write("core_cohort_delete_cohort_members", True, "members"),
    # Used by tests to seed sites; never resent (a repeat would fail on the taken usernames).
    _write("core_user_create_users", False, "users"),
])

READ_FUNCTIONS = frozenset(name for name, f in FUNCTIONS.items() if f.kind == READ)
WRITE_FUNCTIONS = frozenset(name for name, f in FUNCTIONS.items() if f.kind == WRITE)


def function(name):
    """The table's entry for name; PlutoError for a function the table does not know."""
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise PlutoError("%s is not a web-service function pluto.lms knows (not in its function table); "
                         "add it to plugins/module_utils/_functions.py with its kind and resend rule" % name,
                         wsfunction=name)


def is_read(name):
    return function(name).kind == READ


def argument_field_budget(max_input_vars, header_fields=HEADER_FIELDS):
    """How many argument fields one request may carry: under min(2,000 + 3, max_input_vars) in all."""
    return min(MAX_ARGUMENT_FIELDS + HEADER_FIELDS, int(max_input_vars)) - header_fields


def required_functions(plan):
    """Every function a plan will call, and the reads its planner used, sorted."""
    names = set(getattr(plan, "reads", ()) or ())
    names.update(op.function for op in plan.operations)
    for name in names:
        function(name)
    return sorted(names)

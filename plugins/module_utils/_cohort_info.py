# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pluto_cohort_info as a plan: plan(params, reader) reads the cohorts the filters select.

Its plan has no operations: check mode and a real run return the same result by construction.

Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch

from ansible_collections.pluto.lms.plugins.module_utils._errors import PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._model import (
    Categories,
    ContextLocator,
    UserRef,
    category_context,
    cohort_view,
    context_from_category,
    system_context,
)
from ansible_collections.pluto.lms.plugins.module_utils._plan import Plan
from ansible_collections.pluto.lms.plugins.module_utils._reader import (
    GET_COHORT_MEMBERS,
    GET_COHORTS,
    GET_USERS_BY_FIELD,
    SEARCH_COHORTS,
)
from ansible_collections.pluto.lms.plugins.module_utils._users import FIELD_CAPABILITY, LOOKUP_CAPABILITY, MESSAGE_NAMES


def info_scope(params, categories):
    """The category context the task filters on, or None."""
    key, value = (("id", params["category_id"]) if params.get("category_id") is not None
                  else ("idnumber", params.get("category_idnumber")))
    if value is None:
        return None
    if key == "id" and value == 0:
        return system_context()
    try:
        category = categories.find(key, value)
    except LookupError as reason:
        if key == "id":
            return category_context(int(value))
        raise PlutoError("cannot filter by category_idnumber %r: %s; filter by category_id instead" % (value, reason))
    if category is None:
        raise PlutoError("there is no course category with %s %r" % (key, value))
    return context_from_category(category)


def matches_filters(cohort, params):
    if params.get("id") and int(cohort["id"]) not in set(params["id"]):
        return False
    if params.get("idnumber") and cohort.get("idnumber") not in set(params["idnumber"]):
        return False
    if params.get("name") and not fnmatch.fnmatchcase(cohort.get("name") or "", params["name"]):
        return False
    if params.get("visible") is not None and bool(cohort.get("visible")) != params["visible"]:
        return False
    return True


def add_members(reader, views, warnings):
    """member_count and members (usernames, sorted) for every view: one read of the members and one
    lookup of their users, per 1,000 ids."""
    members = reader.members([v["id"] for v in views]) if views else {}
    user_ids = sorted(set().union(*members.values())) if members else []
    users = [UserRef.from_site(u) for u in reader.users_by_field("id", user_ids)] if user_ids else []
    usernames = dict((u.id, u.username) for u in users if u.username is not None)
    # Two different causes, two different fixes: a record without its username (the token's user may
    # see the user but not all details), or no record at all (may not see users, or deleted ones).
    without_username = sorted(u.id for u in users if u.username is None)
    unanswered = sorted(set(user_ids) - set(u.id for u in users))
    if without_username:
        warnings.append("%d of %d members could not be named: the site answered for them without their username: the "
                        "token's user lacks %s; member_count counts them, members leaves them out: %s"
                        % (len(without_username), len(user_ids), FIELD_CAPABILITY["username"], ids_text(without_username)))
    if unanswered:
        warnings.append("%d of %d members could not be named: the site did not answer for them: the token's user lacks "
                        "%s, or they were deleted; member_count counts them, members leaves them out: %s"
                        % (len(unanswered), len(user_ids), LOOKUP_CAPABILITY["id"], ids_text(unanswered)))
    for view in views:
        ids = members.get(view["id"], set())
        view["member_count"] = len(ids)
        view["members"] = sorted(usernames[u] for u in ids if u in usernames)


def ids_text(user_ids):
    """User ids for a message: the first MESSAGE_NAMES, then how many more."""
    text = ", ".join("id=%d" % i for i in user_ids[:MESSAGE_NAMES])
    if len(user_ids) > MESSAGE_NAMES:
        text += " ... and %d more" % (len(user_ids) - MESSAGE_NAMES)
    return text


def blank_filters(params):
    """Filters that rendered blank (an empty variable): they would select cohorts without an idnumber, or all."""
    errors = []
    blanks = [value for value in params.get("idnumber") or [] if not (value or "").strip()]
    if blanks:
        errors.append("idnumber has a blank value (%s): it would select the cohorts without an idnumber; give "
                      "idnumbers, or filter those cohorts by id" % ", ".join(repr(v) for v in blanks))
    for option in ("name", "category_idnumber"):
        if params.get(option) is not None and not params[option].strip():
            errors.append("%s is blank: give a value or leave the option out" % option)
    return errors


def plan(params, reader):
    """pluto_cohort_info: the cohorts the filters select, as a plan without operations (it never writes)."""
    blanks = blank_filters(params)
    if blanks:
        raise PlutoError("; ".join(blanks))
    query = params.get("query") or ""
    by_category = params.get("category_id") is not None or params.get("category_idnumber") is not None
    reads = [SEARCH_COHORTS]
    if not by_category and not query:
        reads.append(GET_COHORTS)
    if params.get("include_members"):
        reads.extend([GET_COHORT_MEMBERS, GET_USERS_BY_FIELD])
    # Name every function the filters need at once, before the first of them is read.
    reader.require(reads)
    warnings = []
    categories = Categories(reader)
    scope = info_scope(params, categories)
    if scope is not None:
        found = reader.search_cohorts(query, category_id=scope["category_id"] or None, includes="self")
    elif query:
        found = reader.search_cohorts(query, includes="all")
    else:
        found = reader.cohorts(params.get("id") or None)
    found = [c for c in found if matches_filters(c, params)]
    if scope is not None:
        contexts = dict((int(c["id"]), scope) for c in found)
    else:
        contexts = ContextLocator(reader, categories).locate([c["id"] for c in found], query)
        unplaced = sorted(i for i, context in contexts.items() if context["category_id"] is None)
        if unplaced:
            warnings.append("the category of %d cohort(s) is not known (%s), so category_id and category_idnumber are "
                            "null for them" % (len(unplaced), categories.unavailable or "not found in any category"))
    views = sorted((cohort_view(c, contexts[int(c["id"])]) for c in found), key=lambda v: (v["idnumber"] or "", v["id"]))
    if params.get("include_members"):
        add_members(reader, views, warnings)
    return Plan(result={"changed": False, "cohorts": views}, warnings=warnings)

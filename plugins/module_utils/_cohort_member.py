# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pluto_cohort_member as a plan: plan(params, reader) -> Plan, applied by the one executor.

Reads (through the SiteReader, never a write): site info, the cohort (search by idnumber, or
get_cohorts by id), its members, then only the user lookups the task needs:
- the listed users, in bulk (with user_field id, the listed ids that are members already need
  none); a request the site may have cut is seen and its lost end asked again (see _users);
- with state exact, the members to remove, by id, to name them in the task's terms; and when
  some listed values were not found (state exact, or any state with user_field email or
  idnumber), the members the task does not list, by id, to tell whether one of them is a listed
  user in another spelling, or cannot be seen (see the rule of state exact below).
Writes: additions, then removals, by user id, batch_size members a request. A concurrent run
that adds the same users makes the site refuse a whole add (dmlwriteexception): the members are
read again and what is still missing is sent again, with jittered backoff, a bounded number of
times (the executor's hooks). The same for a removal refused because a member was deleted.

Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.pluto.lms.plugins.module_utils._collation import loose_clashes
from ansible_collections.pluto.lms.plugins.module_utils._errors import PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._functions import argument_field_budget
from ansible_collections.pluto.lms.plugins.module_utils._hooks import ResendMissingMembers
from ansible_collections.pluto.lms.plugins.module_utils._plan import Plan
from ansible_collections.pluto.lms.plugins.module_utils._readable_diff import first_lines
from ansible_collections.pluto.lms.plugins.module_utils._users import (
    check_missing,
    identify_members,
    invalid_text,
    names_by_id,
    normalize_users,
    resolve_users,
    shown,
    sort_names,
)

ADD = "core_cohort_add_cohort_members"
REMOVE = "core_cohort_delete_cohort_members"

# An add item is 4 form fields, a remove item 2: 500 members keep a request at 2,003 fields.
MAX_BATCH_SIZE = 500
# Names shown in the diff for each direction before "... and N more" (a message shows _users.MESSAGE_NAMES).
NAMES_SHOWN = 100

VANISHED_USER = re.compile(r"\buser id=(\d+) not exists")
VANISHED_COHORT = re.compile(r"\bcohort id=(\d+) not exists")

# The rule of state exact (the module's notes say it to users): a member is removed only when the
# task positively identifies it as unlisted. By id: any member whose id is not listed. Otherwise,
# when every listed value was found: any member that is not one of the users found; when some
# were not found: a member whose own value was read from the site and answers to no listed value
# (emails ignoring case, idnumbers also as MySQL/MariaDB compare them). A member whose value the
# token's user may not see, or that the site did not answer for, is then kept, with a warning.


def plan(params, reader):
    """The Plan of one pluto_cohort_member task (PlutoError for anything the user must fix)."""
    request = Request(params)
    check_mode = bool(getattr(reader, "check_mode", False))
    warnings = []
    cohort = find_cohort(reader, request, check_mode, warnings)
    cohort_id = int(cohort["id"]) if cohort.get("id") is not None else None
    members = reader.members([cohort_id]).get(cohort_id, set()) if cohort_id is not None else set()

    resolution = resolve_users(reader, request.user_field, request.values,
                               known_ids=members if request.user_field == "id" else ())
    # Listed values the site did not find (deleted users and values no user can have are never
    # members): a member may be one of them, in another spelling or out of the token's sight.
    unresolved = set(resolution.missing) - set(resolution.deleted) - set(resolution.invalid)
    identity = None
    if members and unresolved and (request.state == "exact" or request.user_field in ("email", "idnumber")):
        identity = identify_members(reader, resolution, members)
    error = resolution.ambiguity_error()
    if error:
        raise error
    warnings.extend(resolution.warnings())
    warnings.extend(check_missing(resolution, request.missing_users, request.user_field,
                                  len(request.keys) + len(request.invalid), "missing"))

    listed = set(resolution.ids.values())
    if request.state == "present":
        to_add, to_remove = listed - members, set()
    elif request.state == "absent":
        to_add, to_remove = set(), listed & members
    else:
        # Every member not listed is positively unlisted when every listed value was found; else
        # only the members identified as such (the rule above).
        to_add = listed - members
        to_remove = set(identity.unlisted) if identity is not None else members - listed
        if request.keys and not listed and to_remove:
            how_many = ("all %d" % len(to_remove)) if to_remove == members else ("%d of the %d" % (len(to_remove), len(members)))
            raise PlutoError("none of the %d listed users was found on the site by %s, and state exact would remove "
                             "%s members; nothing was changed; %s"
                             % (len(request.keys), request.user_field, how_many, resolution.rights_hint()),
                             result={"missing": resolution.missing})
    if identity is not None and request.state == "exact":
        warnings.extend(identity.warnings(request.user_field))

    names = dict(identity.names) if identity else {}
    names.update(resolution.names())
    if request.user_field != "id":
        # The members to remove, named in the task's terms (by id when the token may not see the field).
        names.update(names_by_id(reader, request.user_field, sorted(to_remove - set(names))))
    report = Report(cohort, request, names, len(members), resolution.missing)
    membership = Plan(result=report.result(to_add, to_remove), warnings=warnings, reads=reader.reads,
                      reporter=report.after_apply)
    hooks = ResendMissingMembers()
    if to_add:
        membership.add(ADD, [{"cohorttype": {"type": "id", "value": cohort_id}, "usertype": {"type": "id", "value": u}}
                             for u in sorted(to_add)], hooks=hooks, max_items=request.batch_size)
    if to_remove:
        membership.add(REMOVE, [{"cohortid": cohort_id, "userid": u} for u in sorted(to_remove)], hooks=hooks,
                       max_items=request.batch_size)
    report.planned_add, report.planned_remove = sorted(to_add), sorted(to_remove)
    budget = argument_field_budget(reader.max_input_vars)
    # Members a request carries (an add item is 4 form fields, a removal 2), to say which request failed.
    report.per_request = {ADD: max(1, min(request.batch_size, budget // 4)),
                          REMOVE: max(1, min(request.batch_size, budget // 2))}
    return membership


class Request(object):
    """The task's options, checked before any request."""

    def __init__(self, params):
        self.state = params["state"]
        self.user_field = params["user_field"]
        self.missing_users = params["missing_users"]
        self.batch_size = params["batch_size"]
        self.cohort = params.get("cohort")
        self.cohort_id = params.get("cohort_id")
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise PlutoError("batch_size must be between 1 and %d (members a write request), got %d"
                             % (MAX_BATCH_SIZE, self.batch_size))
        if self.cohort is not None and not self.cohort.strip():
            raise PlutoError("cohort is blank (%r): give the cohort's idnumber, or cohort_id (a variable that rendered "
                             "empty would name the site's cohorts without an idnumber); nothing was sent to the site"
                             % self.cohort)
        if self.cohort_id is not None and self.cohort_id < 1:
            raise PlutoError("cohort_id must be a positive cohort id, got %d; nothing was sent to the site"
                             % self.cohort_id)
        invalid = []
        self.keys = normalize_users(params["users"], self.user_field, invalid)
        self.invalid = invalid
        if invalid and self.missing_users == "fail":
            raise PlutoError("users holds %s; nothing was sent to the site (missing_users: warn or ignore goes on "
                             "without them)" % invalid_text(invalid, self.user_field), result={"missing": invalid})
        self.values = params["users"] or []


def find_cohort(reader, request, check_mode, warnings):
    """The cohort, exactly by id or idnumber. In check mode only, a cohort that does not exist (yet:
    an earlier task of the play may create it) is planned as empty, with a warning."""
    cohort = reader.find_cohort(idnumber=request.cohort, cohort_id=request.cohort_id)
    if cohort is not None:
        return cohort
    if request.cohort_id is not None:
        raise PlutoError("there is no cohort with id %d on the site; create it first (pluto.lms.pluto_cohort)"
                         % request.cohort_id)
    clashes = near_cohorts(reader, request.cohort)
    if clashes:
        raise PlutoError("there is no cohort with idnumber %r on the site, but the site holds %s, which MySQL/MariaDB "
                         "sites take as the same idnumber; pluto.lms names cohorts by their exact idnumber: give "
                         "cohort as the site spells it, or cohort_id" % (request.cohort, ", ".join(
                             "%r (id %s)" % (c.get("idnumber"), c.get("id")) for c in clashes)))
    if not check_mode:
        raise PlutoError("there is no cohort with idnumber %r on the site; create it first (pluto.lms.pluto_cohort)"
                         % request.cohort)
    warnings.append("cohort %r does not exist on the site: check mode plans it as an empty cohort (an earlier task may "
                    "create it); a run without check mode fails unless it exists by then" % request.cohort)
    return {"id": None, "idnumber": request.cohort}


def near_cohorts(reader, idnumber):
    """The site's cohorts whose idnumber only a MySQL/MariaDB site takes as idnumber (one read of all cohorts)."""
    if not reader.has_function("core_cohort_get_cohorts"):
        return []
    cohorts = [c for c in reader.cohorts() if c.get("idnumber")]
    clashing = set(loose_clashes(idnumber, [c["idnumber"] for c in cohorts]))
    return sorted((c for c in cohorts if c["idnumber"] in clashing), key=lambda c: int(c["id"]))


class Report(object):
    """The result of the task, planned (check mode) and after the writes, in the task's own terms."""

    def __init__(self, cohort, request, names, before_count, missing):
        self.cohort = cohort
        self.request = request
        self.names = names
        self.before_count = before_count
        self.missing = list(missing)
        self.planned_add = []
        self.planned_remove = []
        self.per_request = {}

    def named(self, user_ids):
        if self.request.user_field == "id":
            return sort_names(int(u) for u in user_ids)
        return sort_names(self.names.get(u, "id=%d" % u) for u in user_ids)

    def result(self, added, removed, missing=None):
        added_names, removed_names = self.named(added), self.named(removed)
        after_count = self.before_count + len(added) - len(removed)
        return dict(
            changed=bool(added or removed),
            cohort=dict(id=self.cohort.get("id"), idnumber=self.cohort.get("idnumber")),
            added=added_names,
            removed=removed_names,
            missing=sort_names(self.missing if missing is None else missing),
            member_count=after_count,
            diff=membership_diff(self.cohort, self.before_count, after_count, added_names, removed_names),
        )

    def after_apply(self, plan, outcome):
        """The result once the operations ran: what the site applied, and why anything was not."""
        result = dict(plan.result)
        warnings = list(plan.warnings)
        if outcome is None:
            if warnings:
                result["warnings"] = warnings
            return result
        part = outcome.of(plan.owner)
        added = set(int(i["usertype"]["value"]) for i in part.items(ADD))
        removed = set(int(i["userid"]) for i in part.items(REMOVE))
        warnings.extend(part.warnings)
        vanished, unexpected, cohort_gone = [], [], False
        for warning in part.site_warnings:
            code, message = str(warning.get("warningcode")), str(warning.get("message", ""))
            user = VANISHED_USER.search(message)
            if code == "3":
                continue  # already a member: someone else added the user meanwhile
            if code == "2" and VANISHED_COHORT.search(message):
                cohort_gone = True
            elif code == "2" and user and int(user.group(1)) in added:
                vanished.append(int(user.group(1)))
            else:
                unexpected.append("%s (warning %s)" % (message, code))
        failure = part.failure
        if cohort_gone or (failure is not None and failure.errorcode == "invalidrecord"):
            return self.vanished_cohort(failure)
        added -= set(vanished)
        missing = self.missing + self.named(vanished)
        result = self.result(added, removed, missing)
        if failure is not None:
            message = failure.message + self.failed_request(part)
            if unexpected:
                message += "; earlier additions were answered with warnings: " + "; ".join(unexpected)
            if added or removed:
                applied = ["%d of %d %s" % (len(done), len(planned), what) for done, planned, what in (
                    (added, self.planned_add, "additions (listed in added)"),
                    (removed, self.planned_remove, "removals (listed in removed)")) if planned]
                message += "; applied before the failure: %s; run the task again to finish" % " and ".join(applied)
            elif failure.errorcode is None:
                # No error answer from the site (lost, or not understood): the failed request may have been applied.
                message += "; the site may have applied the failed request: run the task again, it finds what was applied"
            else:
                message += "; nothing was changed"
            result.update(failed=True, msg=message)
            if failure.errorcode:
                result["errorcode"] = failure.errorcode
        elif unexpected:
            result.update(failed=True, msg="the site answered the additions with warnings this module does not expect: "
                                           "%s; the other changes were applied" % "; ".join(unexpected))
        elif vanished and self.request.missing_users != "ignore":
            text = "%d listed users were deleted from the site while this task ran, so they were not added: %s" % (
                len(vanished), shown(self.named(vanished), "missing"))
            if self.request.missing_users == "fail":
                result.update(failed=True, msg=text + "; the other changes were applied")
            else:
                warnings.append(text)
        if warnings:
            result["warnings"] = warnings
        return result

    def failed_request(self, part):
        """' (request k of n)' for the failed request of a write sent in several, else ''."""
        planned = {ADD: self.planned_add, REMOVE: self.planned_remove}.get(part.failed_function)
        per = self.per_request.get(part.failed_function)
        if not planned or not per or not part.failed_items or len(planned) <= per:
            return ""
        first = part.failed_items[0]
        user = int(first["usertype"]["value"]) if "usertype" in first else int(first.get("userid", 0))
        if user not in planned:
            return ""
        return " (request %d of %d)" % (planned.index(user) // per + 1, (len(planned) + per - 1) // per)

    def vanished_cohort(self, failure):
        """Someone else deleted the cohort while the task ran: nothing the task did remains."""
        result = self.result(set(), set())
        result.pop("member_count")
        result.update(failed=True, msg="cohort %r (id %s) was deleted from the site while this task ran, so no member "
                                       "was added or removed; create it again (pluto.lms.pluto_cohort) and run the "
                                       "task again" % (self.cohort.get("idnumber"), self.cohort.get("id")))
        if failure is not None and failure.errorcode:
            result["errorcode"] = failure.errorcode
        return result


def membership_diff(cohort, before_count, after_count, added, removed):
    """A diff readable at any size: the counts and the changed names (the first NAMES_SHOWN of each)."""
    where = "id %s" % cohort["id"] if cohort.get("id") is not None else "not on the site yet"
    header = "cohort %s (%s) members" % (cohort.get("idnumber") or "", where)
    return dict(
        before_header=header,
        after_header=header,
        before="members: {0:,}\n".format(before_count) + name_lines(removed, "removed"),
        after="members: {0:,}\n".format(after_count) + name_lines(added, "added"),
    )


def name_lines(names, what):
    return "".join(first_lines(names, NAMES_SHOWN, "{0}\n".format, "... and {0:,} more %s\n" % what))

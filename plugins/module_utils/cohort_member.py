# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan-then-apply logic of pluto_cohort_member: bulk, exact membership of one cohort.

Reads: site info (1), the cohort (1), its members (1), the listed users in bulk
(ceil(N / USER_LOOKUP_CHUNK)); plus, only when needed, emails not found as given tried in
lowercase, and (state exact, user_field other than id) the members to remove, looked up by id
so that they are reported in the task's own terms. Writes: additions and removals by user id,
batch_size members a request.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.pluto.lms.plugins.module_utils._client import PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._users import (
    names_by_id as _names_by_id,
    normalize_users,
    resolve_users as _resolve_users,
    sort_names,
)

# An add item is 4 form fields, a remove item 2: 500 members keep a request at 2,003 fields,
# far below PHP's max_input_vars (5,000, the least a Moodle 4.x site accepts).
MAX_BATCH_SIZE = 500
# Names shown in the diff for each direction, and in a failure message, before "... and N more".
NAMES_SHOWN = 100

VANISHED_USER = re.compile(r"\buser id=(\d+) not exists")
VANISHED_COHORT = re.compile(r"\bcohort id=(\d+) not exists")
VIEW_USERS_HINT = ("if they do exist, the token's user lacks the right to view users (for example "
                   "moodle/user:viewdetails): the site then answers a lookup with no users at all")


def logic(params, client, check_mode, diff):
    """Make the cohort's membership match users and state; the same plan serves check mode."""
    state = params["state"]
    user_field = params["user_field"]
    batch_size = params["batch_size"]
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise PlutoError("batch_size must be between 1 and %d (members a write request), got %d"
                         % (MAX_BATCH_SIZE, batch_size))
    keys = normalize_users(params["users"], user_field)

    needed = ["core_cohort_get_cohort_members", "core_user_get_users_by_field",
              "core_cohort_get_cohorts" if params.get("cohort_id") is not None else "core_cohort_search_cohorts"]
    if state in ("present", "exact"):
        needed.append("core_cohort_add_cohort_members")
    if state in ("absent", "exact"):
        needed.append("core_cohort_delete_cohort_members")
    client.require_functions(needed)

    cohort = find_cohort(client, params.get("cohort"), params.get("cohort_id"))
    cohort_id = int(cohort["id"])
    members = client.get_cohort_members([cohort_id]).get(cohort_id, set())
    listed, missing = resolve_users(client.reader(), user_field, keys)
    warnings = check_missing(missing, keys, listed, user_field, params["missing_users"])
    if state == "exact" and keys and not listed and members:
        raise PlutoError("none of the %d listed users was found on the site by %s, and state exact would remove "
                         "all %d members; nothing was changed; %s"
                         % (len(keys), user_field, len(members), VIEW_USERS_HINT), result={"missing": missing})

    # {user id: name in the task's terms}; a user listed twice (two spellings of an email) keeps the first.
    names = dict((user_id, key) for key, user_id in sorted(listed.items(), reverse=True))
    listed_ids = set(names)
    if state == "present":
        to_add, to_remove = listed_ids - members, set()
    elif state == "absent":
        to_add, to_remove = set(), listed_ids & members
    else:
        to_add, to_remove = listed_ids - members, members - listed_ids
    names.update(_names_by_id(client.reader(), user_field, to_remove - set(names)))

    outcome = Outcome(cohort, user_field, names, len(members), missing, warnings)
    if check_mode:
        outcome.added.update(to_add)
        outcome.removed.update(to_remove)
    else:
        apply_changes(client, cohort_id, sorted(to_add), sorted(to_remove), batch_size, outcome)
        check_add_warnings(outcome, params["missing_users"])
    return outcome.result()


class Outcome(object):
    """What a run changed, in user ids, and how to report it in the task's own terms."""

    def __init__(self, cohort, user_field, names, before_count, missing, warnings):
        self.cohort = cohort
        self.user_field = user_field
        self.names = names
        self.before_count = before_count
        self.missing = list(missing)
        self.warnings = list(warnings)
        self.added = set()
        self.removed = set()
        # The site's warnings of the add requests not yet accounted for (see account_add_warnings).
        self.add_warnings = []
        self.unexpected_warnings = []
        # Someone else deleted the cohort after it was read (its memberships went with it).
        self.cohort_vanished = False

    def named(self, user_ids):
        return sort_names(self.names.get(u, u if self.user_field == "id" else "id=%d" % u) for u in user_ids)

    def result(self):
        added, removed = self.named(self.added), self.named(self.removed)
        after_count = self.before_count + len(self.added) - len(self.removed)
        result = dict(
            changed=bool(added or removed),
            cohort=dict(id=int(self.cohort["id"]), idnumber=self.cohort.get("idnumber")),
            added=added,
            removed=removed,
            missing=sort_names(self.missing),
            member_count=after_count,
            diff=membership_diff(self.cohort, self.before_count, after_count, added, removed),
        )
        if self.warnings:
            result["warnings"] = list(self.warnings)
        return result


def find_cohort(client, idnumber, cohort_id):
    cohort = client.find_cohort(idnumber=idnumber, cohort_id=cohort_id)
    if cohort is None:
        raise PlutoError("there is no cohort with %s on the site; create it first (pluto.lms.pluto_cohort)"
                         % ("id %s" % cohort_id if cohort_id is not None else "idnumber %r" % idnumber))
    return cohort


def resolve_users(reader, user_field, keys):
    """({key: user id}, [keys not found]); PlutoError if a key names several users."""
    resolution = _resolve_users(reader, user_field, keys)
    error = resolution.ambiguity_error()
    if error is not None:
        raise error
    return resolution.ids, resolution.missing


def check_missing(missing, keys, listed, user_field, policy):
    """Apply missing_users before any write; return the warnings to give."""
    if not missing or policy == "ignore":
        return []
    text = "%d of the %d listed users do not exist on the site (looked up by %s): %s" % (
        len(missing), len(keys), user_field, shown(missing, "missing"))
    if not listed:
        text += "; " + VIEW_USERS_HINT
    if policy == "fail":
        raise PlutoError(text + "; nothing was changed (missing_users: warn or ignore goes on without them)",
                         result={"missing": sort_names(missing)})
    return [text]


def apply_changes(client, cohort_id, to_add, to_remove, batch_size, outcome):
    """Add, then remove (a cohort never dips below its final size); on a failure, raise with what was applied."""
    try:
        add_members(client, cohort_id, to_add, batch_size, outcome)
        try:
            client.delete_cohort_members(cohort_id, to_remove, batch_size)
        except PlutoError as error:
            outcome.removed.update(int(item["userid"]) for item in error.result.get("applied") or [])
            raise
        outcome.removed.update(to_remove)
    except PlutoError as error:
        account_add_warnings(outcome)
        if outcome.cohort_vanished or error.errorcode == "invalidrecord":
            # The site's answer for a cohort id it does not hold (an unknown user id is invaliduser).
            raise_vanished(outcome, error.errorcode)
        message = error.message
        if outcome.unexpected_warnings:
            message += "; earlier additions were answered with warnings: " + "; ".join(outcome.unexpected_warnings)
        if outcome.added or outcome.removed:
            applied = ["%d of %d %s" % (len(done), len(planned), what) for done, planned, what in (
                (outcome.added, to_add, "additions (listed in added)"),
                (outcome.removed, to_remove, "removals (listed in removed)")) if planned]
            message += "; applied before the failure: %s; run the task again to finish" % " and ".join(applied)
        elif error.errorcode is None:
            # No error answer from the site (an answer lost, or not understood: XML, an HTML page): the failed
            # request may have been applied.
            message += "; the site may have applied the failed request: run the task again, it finds what was applied"
        else:
            message += "; nothing was changed"
        raise PlutoError(message, errorcode=error.errorcode, result=outcome.result())


def add_members(client, cohort_id, user_ids, batch_size, outcome):
    """Add user_ids, recording in outcome what was applied and the site's warnings.

    The site fails a whole add request with dmlwriteexception when someone else adds the same
    users at the same moment: then the members are read once more and only the users still
    missing are added.
    """
    pending = list(user_ids)
    for attempt in (1, 2):
        try:
            outcome.add_warnings.extend(client.add_cohort_members(cohort_id, pending, batch_size))
            outcome.added.update(pending)
            return
        except PlutoError as error:
            outcome.added.update(int(item["usertype"]["value"]) for item in error.result.get("applied") or [])
            outcome.add_warnings.extend(w for answer in error.answers for w in (answer or {}).get("warnings") or [])
            if error.errorcode != "dmlwriteexception" or attempt == 2:
                raise
        current = client.get_cohort_members([cohort_id]).get(cohort_id, set())
        outcome.added.update(u for u in pending if u in current)
        pending = [u for u in pending if u not in current]


def account_add_warnings(outcome):
    """Sort the add requests' warnings: "already a member" is fine (someone else added the user);
    "user id=N not exists" (deleted since the lookup) makes N missing, not added; "cohort id=N not
    exists" marks the cohort deleted; others are kept in outcome.unexpected_warnings. Returns the
    user ids that vanished."""
    vanished = []
    for warning in outcome.add_warnings:
        code = str(warning.get("warningcode"))
        message = str(warning.get("message", ""))
        match = VANISHED_USER.search(message)
        if code == "3":
            continue
        if code == "2" and VANISHED_COHORT.search(message):
            outcome.cohort_vanished = True
            continue
        if code == "2" and match and int(match.group(1)) in outcome.added:
            vanished.append(int(match.group(1)))
        else:
            outcome.unexpected_warnings.append("%s (warning %s)" % (message, code))
    outcome.add_warnings = []
    outcome.added.difference_update(vanished)
    outcome.missing.extend(outcome.named(vanished))
    return vanished


def check_add_warnings(outcome, policy):
    """After every write: fail on unexpected warnings; users that vanished go through missing_users."""
    vanished = account_add_warnings(outcome)
    if outcome.cohort_vanished:
        raise_vanished(outcome, None)
    if outcome.unexpected_warnings:
        raise PlutoError("the site answered the additions with warnings this module does not expect: %s; the other "
                         "changes were applied" % "; ".join(outcome.unexpected_warnings), result=outcome.result())
    if vanished and policy != "ignore":
        text = "%d listed users were deleted from the site while this task ran, so they were not added: %s" % (
            len(vanished), shown(outcome.named(vanished), "missing"))
        if policy == "fail":
            raise PlutoError(text + "; the other changes were applied", result=outcome.result())
        outcome.warnings.append(text)


def raise_vanished(outcome, errorcode):
    """Someone else deleted the cohort while the task ran: nothing the task did remains (the members went with it)."""
    outcome.added.clear()
    outcome.removed.clear()
    result = outcome.result()
    result.pop("member_count")
    raise PlutoError("cohort %r (id %s) was deleted from the site while this task ran, so no member was added or removed; "
                     "create it again (pluto.lms.pluto_cohort) and run the task again"
                     % (outcome.cohort.get("idnumber"), outcome.cohort["id"]), errorcode=errorcode, result=result)


def membership_diff(cohort, before_count, after_count, added, removed):
    """A diff readable at any size: the counts and the changed names (the first NAMES_SHOWN of each)."""
    header = "cohort %s (id %s) members" % (cohort.get("idnumber") or "", cohort["id"])
    return dict(
        before_header=header,
        after_header=header,
        before="members: {0:,}\n".format(before_count) + name_lines(removed, "removed"),
        after="members: {0:,}\n".format(after_count) + name_lines(added, "added"),
    )


def name_lines(names, what):
    lines = ["%s\n" % n for n in names[:NAMES_SHOWN]]
    if len(names) > NAMES_SHOWN:
        lines.append("... and {0:,} more {1}\n".format(len(names) - NAMES_SHOWN, what))
    return "".join(lines)


def shown(names, where):
    """The first NAMES_SHOWN names for a message; the result key `where` holds them all."""
    names = sort_names(names)
    text = ", ".join(str(n) for n in names[:NAMES_SHOWN])
    if len(names) > NAMES_SHOWN:
        text += " ... and %d more (all in %s)" % (len(names) - NAMES_SHOWN, where)
    return text

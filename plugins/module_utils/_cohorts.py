# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of pluto_cohorts: the desired state of many cohorts of one site, converged in one task.

One read of the site (its cohorts once, the members of every cohort that lists members in
bulk, every listed user looked up once however many cohorts list it), one plan for all the
cohorts, then writes batched by function across cohorts: one create request for many cohorts,
one update request, add and remove requests that span cohorts, one delete request. Check mode
returns the same plan and sends no write.

Private to pluto.lms: not a public API.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch
import random
import re
import time

from ansible_collections.pluto.lms.plugins.module_utils._collation import loose_key
from ansible_collections.pluto.lms.plugins.module_utils.client import PlutoError, chunk_by_fields
from ansible_collections.pluto.lms.plugins.module_utils import cohort as _cohort
from ansible_collections.pluto.lms.plugins.module_utils import cohort_member as _member
from ansible_collections.pluto.lms.plugins.module_utils.readable_diff import render_scalar

GET_COHORTS = "core_cohort_get_cohorts"
SEARCH_COHORTS = "core_cohort_search_cohorts"
CREATE_COHORTS = "core_cohort_create_cohorts"
UPDATE_COHORTS = "core_cohort_update_cohorts"
DELETE_COHORTS = "core_cohort_delete_cohorts"
GET_MEMBERS = "core_cohort_get_cohort_members"
ADD_MEMBERS = "core_cohort_add_cohort_members"
DELETE_MEMBERS = "core_cohort_delete_cohort_members"
GET_USERS = "core_user_get_users_by_field"

# An add item is 4 form fields, a remove item 2: 500 members keep a request near 2,000 fields.
MAX_BATCH_SIZE = 500
# Names a diff shows a cohort and direction before "... and N more".
NAMES_SHOWN = 100
# How many times an add refused with dmlwriteexception (someone else added the same users at the
# same moment) is re-read and resent.
ADD_ATTEMPTS = 4
# Moodle's username rule (extended username characters off): what a lookup can ever find.
USERNAME_RULE = re.compile(r"^[a-z0-9_.@-]+\Z")

FIELD_KEYS = ("name", "description", "description_format", "visible", "theme", "custom_fields")
CREATED, UPDATED, DELETED, UNCHANGED = "created", "updated", "deleted", "unchanged"


# ---- adapters: the per-cohort field planning and the user lookups this module builds on --------

def field_task(item):
    """The per-cohort wanted values, as pluto_cohort normalises them."""
    return _cohort.CohortTask(dict(item, id=None))


def normalize_member_keys(values, user_field):
    """(distinct lookup keys, bad values) of one cohort's members list."""
    keys, bad = [], []
    for value in values:
        try:
            key = _member.normalize_users([value], user_field)[0]
        except (PlutoError, IndexError):
            bad.append(value)
            continue
        if user_field == "username" and not USERNAME_RULE.match(key):
            bad.append(value)
            continue
        keys.append(key)
    return sorted(set(keys), key=_sort_key), bad


def resolve_users(client, user_field, keys):
    """({key: user id}, [keys not found]); every key looked up once, in bulk."""
    if user_field == "id":
        # Ids need no lookup to be written, but one that is not a user (or a deleted one) must not
        # be reported as added: the bulk lookup by id finds the live ones.
        found = set(int(u["id"]) for u in _member.lookup(client, "id", keys) if not u.get("deleted"))
        return dict((k, k) for k in keys if k in found), [k for k in keys if k not in found]
    return _member.resolve_users(client, user_field, keys)


def names_of_users(client, user_field, user_ids):
    """{user id: its user_field value} for members the task did not list (for the report)."""
    return _member.names_by_id(client, user_field, user_ids)


def _sort_key(name):
    return (0, name, "") if isinstance(name, int) else (1, 0, str(name))


def sort_names(names):
    return sorted(set(names), key=_sort_key)


# ---- the task's input -----------------------------------------------------------------------

class Wanted(object):
    """One config item, normalised."""

    def __init__(self, item, user_field):
        self.item = item
        self.idnumber = item.get("idnumber")
        self.state = item.get("state") or "present"
        self.task = field_task(dict((k, item.get(k)) for k in (
            "idnumber", "name", "description", "description_format", "visible", "theme", "custom_fields",
            "category_id", "category_idnumber")), )
        self.task.state = self.state
        self.members = None
        self.bad_members = []
        if item.get("members") is not None:
            self.members, self.bad_members = normalize_member_keys(item["members"], user_field)


class Options(object):
    def __init__(self, params):
        self.state = params.get("state") or "merged"
        self.user_field = params.get("user_field") or "username"
        self.missing_users = params.get("missing_users") or "fail"
        self.batch_size = MAX_BATCH_SIZE if params.get("batch_size") is None else params["batch_size"]
        self.keep = list(params.get("keep") or [])
        self.delete_without_idnumber = bool(params.get("delete_cohorts_without_idnumber"))
        self.gather_members = bool(params.get("gather_members"))
        self.config = list(params.get("config") or [])


def input_errors(options, wanted):
    """Every problem with the task's own values, before any request."""
    errors = []
    if not 1 <= options.batch_size <= MAX_BATCH_SIZE:
        errors.append("batch_size must be between 1 and %d (members a write request), got %d"
                      % (MAX_BATCH_SIZE, options.batch_size))
    if options.state == "gathered" and options.config:
        errors.append("state gathered reads the site and takes no config")
    if options.gather_members and options.state != "gathered":
        errors.append("gather_members applies to state gathered only")
    if options.state != "overridden" and (options.keep or options.delete_without_idnumber):
        errors.append("keep and delete_cohorts_without_idnumber apply to state overridden only")
    seen = {}
    for index, want in enumerate(wanted):
        where = "config[%d]" % index
        if want.idnumber is None or not want.idnumber.strip():
            errors.append("%s: idnumber is blank (%r); every listed cohort needs its idnumber" % (where, want.idnumber))
            continue
        where = "cohort %r" % want.idnumber
        if want.idnumber in seen:
            errors.append("%s is listed twice (config[%d] and config[%d])" % (where, seen[want.idnumber], index))
            continue
        seen[want.idnumber] = index
        if options.state == "deleted" or want.state == "absent":
            if want.item.get("members") is not None:
                errors.append("%s: members given for a cohort to delete" % where)
            continue
        errors.extend("%s: %s" % (where, e) for e in want.task.local_errors())
        if want.task.category_id is not None and want.task.category_idnumber is not None:
            errors.append("%s: give category_id or category_idnumber, not both" % where)
        if want.bad_members and options.missing_users == "fail":
            errors.append("%s: members holds %d value(s) that cannot be a %s on the site: %s"
                          % (where, len(want.bad_members), options.user_field,
                             ", ".join(repr(v) for v in want.bad_members)))
    # Two listed idnumbers that a MySQL/MariaDB site takes as one: the second create would be refused.
    by_key = {}
    for idnumber in seen:
        by_key.setdefault(loose_key(idnumber), []).append(idnumber)
    for idnumbers in by_key.values():
        if len(idnumbers) > 1:
            errors.append("idnumbers %s are listed as different cohorts, but MySQL/MariaDB sites take them as the same "
                          "idnumber (they compare ignoring case, accents and trailing spaces); list one of them"
                          % ", ".join(repr(i) for i in sorted(idnumbers)))
    return errors


def needed_reads(options, wanted):
    """The read functions the task needs (the writes are known from the plan: see needed_writes)."""
    reads = [GET_COHORTS]
    if options.state == "gathered":
        reads.append(SEARCH_COHORTS)
        if options.gather_members:
            reads.extend([GET_MEMBERS] + ([GET_USERS] if options.user_field != "id" else []))
        return reads
    if any(w.members is not None for w in wanted):
        reads.extend([GET_MEMBERS, GET_USERS])
    if any(w.task.category_id is not None or w.task.category_idnumber is not None for w in wanted):
        reads.append(SEARCH_COHORTS)
    return reads


def needed_writes(plans):
    writes = set()
    for plan in plans:
        writes.update(f for f, used in ((CREATE_COHORTS, plan.action == CREATED), (UPDATE_COHORTS, plan.action == UPDATED),
                                        (DELETE_COHORTS, plan.action == DELETED), (ADD_MEMBERS, plan.to_add),
                                        (DELETE_MEMBERS, plan.to_remove)) if used)
    return sorted(writes)


# ---- one read of the site -------------------------------------------------------------------

class Site(object):
    """What the task read of the site: its cohorts, and on demand their contexts."""

    def __init__(self, client):
        self.client = client
        self.categories = _cohort.Categories(client)
        self.load()
        self.contexts = {}
        self.wanted_contexts = {}

    def load(self):
        self.raw = self.client.get_cohorts() or []
        self.by_id = dict((int(c["id"]), c) for c in self.raw)
        self.by_idnumber = {}
        for cohort in self.raw:
            self.by_idnumber.setdefault(cohort.get("idnumber") or "", []).append(cohort)

    def holders(self, idnumber):
        return self.by_idnumber.get(idnumber, [])

    def loose_holders(self, idnumber):
        key = loose_key(idnumber)
        return [c for c in self.raw if (c.get("idnumber") or "") != idnumber and loose_key(c.get("idnumber") or "") == key
                and c.get("idnumber")]

    def custom_field_names(self):
        """The shortnames of the site's cohort custom fields, or None when no cohort tells."""
        for cohort in self.raw:
            return set(str(f.get("shortname")) for f in cohort.get("customfields") or [])
        return None

    def locate(self, cohort_ids, expected=()):
        """Place the given cohorts in their contexts (searches: system, expected categories, then all)."""
        todo = [i for i in cohort_ids if i not in self.contexts]
        if todo:
            self.contexts.update(_cohort.ContextLocator(self.client, self.categories).locate(todo, "", expected))
        return dict((i, self.contexts[i]) for i in cohort_ids)


# ---- the plan -------------------------------------------------------------------------------

class CohortPlan(object):
    """What the task does to one cohort, and (after the writes) what it did."""

    def __init__(self, idnumber, want=None, raw=None):
        self.idnumber = idnumber
        self.want = want
        self.raw = raw
        self.id = int(raw["id"]) if raw else None
        self.name = (raw or {}).get("name") if raw else (want.task.name if want else None)
        self.action = UNCHANGED
        self.pruned = False
        self.fields = {}            # {field: {"old": ..., "new": ...}} of the fields that change
        self.before_lines = []      # the diff's field lines
        self.after_lines = []
        self.create_item = None
        self.update_item = None
        self.manages_members = False
        self.members_before = 0
        self.to_add = set()         # user ids
        self.to_remove = set()
        self.missing = []           # listed users the site lacks, as listed
        self.added = set()          # what was applied (the plan's sets in check mode)
        self.removed = set()
        self.applied = False        # the cohort write (create/update/delete) was applied
        self.warnings = []

    @property
    def label(self):
        if self.id is None:
            return repr(self.idnumber)
        return "%r (id %d)" % (self.idnumber, self.id)

    @property
    def writes_cohort(self):
        return self.action != UNCHANGED


def check_site_conflicts(site, wanted, options):
    """Duplicates and MySQL/MariaDB clashes among the site's cohorts for every listed idnumber."""
    errors = []
    for want in wanted:
        holders = site.holders(want.idnumber)
        if len(holders) > 1:
            errors.append("cohort %r: %s; give the others a new idnumber (or delete them) on the site first"
                          % (want.idnumber, _cohort.duplicates_text(want.idnumber, holders)))
            continue
        deleting = options.state == "deleted" or want.state == "absent"
        if holders or deleting:
            continue
        clashes = site.loose_holders(want.idnumber)
        if clashes:
            errors.append("cohort %r does not exist, but the site holds %s, which MySQL/MariaDB sites take as the same "
                          "idnumber (they compare ignoring case, accents and trailing spaces) and refuse to create "
                          "another; use that idnumber, or rename that cohort on the site first"
                          % (want.idnumber, ", ".join("%r (id %s)" % (c.get("idnumber"), c["id"]) for c in clashes)))
    return errors


def wanted_context_of(site, want, errors, warnings):
    """The context the item asks for (None: leave the cohort where it is); each category checked once."""
    task = want.task
    if task.category_id is None and task.category_idnumber is None:
        return None
    key = (task.category_id, task.category_idnumber)
    if key not in site.wanted_contexts:
        found_errors, found_warnings = [], []
        site.wanted_contexts[key] = (_cohort.wanted_context(task, site.categories, found_errors, found_warnings),
                                     found_errors, found_warnings)
        warnings.extend(found_warnings)
    context, found_errors, _found_warnings = site.wanted_contexts[key]
    errors.extend("cohort %r: %s" % (want.idnumber, e) for e in found_errors)
    return context


def needs_context(site, want, raw, warnings):
    """Whether planning the existing cohort needs its context: the task names a category, or an update
    must name the cohort's category (the site's update requires it)."""
    task = want.task
    if task.category_id is not None or task.category_idnumber is not None:
        return True
    current = _cohort.cohort_view(raw, _cohort.category_context())
    manage_theme = _cohort.theme_is_managed(task, current, [])
    planned = _cohort.planned_view(task, current, _cohort.context_of(current), manage_theme)
    return bool(field_changes(task, current, planned, manage_theme))


def plan_fields(site, want, plan, errors, warnings):
    """The create or update of one listed cohort (state present), with its diff lines."""
    task = want.task
    raw = plan.raw
    wanted_ctx = wanted_context_of(site, want, errors, warnings)
    if raw is None:
        if task.name is None:
            errors.append("cohort %r does not exist on the site, and the task gives no name to create it with" % want.idnumber)
            return
        known = site.custom_field_names()
        if task.custom_fields and known is not None:
            unknown = sorted(set(task.custom_fields) - known)
            if unknown:
                errors.append("cohort %r: custom field %s not defined for cohorts on the site (defined: %s)"
                              % (want.idnumber, ", ".join(unknown), ", ".join(sorted(known)) or "none"))
        manage_theme = task.theme is not None
        planned = _cohort.planned_view(task, None, wanted_ctx or _cohort.system_context(), manage_theme)
        plan.action = CREATED
        plan.name = task.name
        plan.create_item = _cohort.create_item(task, planned)
        plan.after_lines = field_lines(task, planned, manage_theme, with_context=True)
        return
    current = _cohort.cohort_view(raw, site.contexts.get(plan.id) or _cohort.category_context())
    if task.custom_fields:
        unknown = sorted(set(task.custom_fields) - set(current["custom_fields"]))
        if unknown:
            errors.append("cohort %r: custom field %s not defined for cohorts on the site (defined: %s)"
                          % (want.idnumber, ", ".join(unknown), ", ".join(sorted(current["custom_fields"])) or "none"))
            return
    if plan.id not in site.contexts:
        return  # nothing to change (see needs_context)
    manage_theme = _cohort.theme_is_managed(task, current, warnings)
    planned_ctx = _cohort.planned_context(task, current, wanted_ctx, warnings)
    planned = _cohort.planned_view(task, current, planned_ctx, manage_theme)
    changes = field_changes(task, current, planned, manage_theme)
    if wanted_ctx is not None:
        # The fields pluto_cohort returns for the context: its kind (system or category) and the category.
        for key in _cohort.CONTEXT_KEYS:
            if current[key] != planned[key]:
                changes[key] = {"old": current[key], "new": planned[key]}
    if not changes:
        return
    categorytype = _cohort.category_type(planned) or (_cohort.category_type(wanted_ctx) if wanted_ctx else None)
    problems = _cohort.update_errors(planned, categorytype)
    if problems:
        errors.extend("cohort %r: %s" % (want.idnumber, p) for p in problems)
        return
    plan.action = UPDATED
    plan.fields = changes
    plan.update_item = _cohort.update_item(current, planned, raw.get("descriptionformat"), categorytype)
    plan.before_lines = [(k, v["old"]) for k, v in sorted(changes.items())]
    plan.after_lines = [(k, v["new"]) for k, v in sorted(changes.items())]


def field_changes(task, current, planned, manage_theme):
    changes = {}
    for key in FIELD_KEYS:
        if key == "theme" and not manage_theme:
            continue
        if key == "custom_fields":
            if task.custom_fields is None:
                continue
            old = dict((k, current["custom_fields"].get(k)) for k in task.custom_fields)
            new = dict((k, planned["custom_fields"].get(k)) for k in task.custom_fields)
        else:
            if getattr(task, key) is None:
                continue
            old, new = current[key], planned[key]
        if old != new:
            changes[key] = {"old": old, "new": new}
    return changes


def field_lines(task, view, manage_theme, with_context):
    lines = [("name", view["name"])]
    lines.extend((k, view[k]) for k in ("description", "description_format", "visible") if getattr(task, k) is not None)
    if manage_theme:
        lines.append(("theme", view["theme"]))
    if task.custom_fields:
        lines.append(("custom_fields", dict((k, view["custom_fields"].get(k)) for k in task.custom_fields)))
    if with_context:
        lines.append(("context", _cohort.describe_context(view)))
    return lines


def plan_deletion(raw, plan, pruned=False):
    plan.action = DELETED
    plan.pruned = pruned
    plan.name = raw.get("name")
    plan.before_lines = [("name", raw.get("name"))]


def prune_candidates(site, listed, options):
    """Site cohorts that state overridden deletes: not listed, not kept, and (unless asked) with an idnumber."""
    doomed, spared = [], []
    for cohort in sorted(site.raw, key=lambda c: int(c["id"])):
        idnumber = cohort.get("idnumber") or ""
        if idnumber in listed or any(fnmatch.fnmatchcase(idnumber, p) for p in options.keep):
            continue
        if not idnumber and not options.delete_without_idnumber:
            spared.append(cohort)
            continue
        doomed.append(cohort)
    return doomed, spared


def build_plans(client, site, options, wanted, warnings):
    """Every cohort's plan (fields, deletions, members); PlutoError naming every problem before any write."""
    errors = check_site_conflicts(site, wanted, options)
    plans = []
    for want in wanted:
        holders = site.holders(want.idnumber)
        plans.append(CohortPlan(want.idnumber, want, holders[0] if len(holders) == 1 else None))
    fields_wanted = [p for p in plans if options.state != "deleted" and p.want.state == "present"]
    # The contexts of every cohort that needs one, found together (one search of the system context,
    # then the categories the items name).
    to_locate = [p.id for p in fields_wanted if p.raw is not None and needs_context(site, p.want, p.raw, warnings)]
    if to_locate:
        expected = [wanted_context_of(site, p.want, [], warnings) for p in fields_wanted]
        site.locate(to_locate, [c for c in expected if c])
    for plan in plans:
        if options.state == "deleted" or plan.want.state == "absent":
            if plan.raw is not None:
                plan_deletion(plan.raw, plan)
            continue
        plan_fields(site, plan.want, plan, errors, warnings)
    if options.state == "overridden":
        doomed, spared = prune_candidates(site, set(w.idnumber for w in wanted), options)
        for raw in doomed:
            plan = CohortPlan(raw.get("idnumber") or "", None, raw)
            plan_deletion(raw, plan, pruned=True)
            plans.append(plan)
        if spared:
            warnings.append("%d cohort(s) without idnumber were left alone (%s); set delete_cohorts_without_idnumber "
                            "to delete them" % (len(spared), ", ".join(
                                "%s (id %s)" % (render_scalar(c.get("name")), c["id"]) for c in spared[:NAMES_SHOWN])))
    if errors:
        raise PlutoError("nothing was changed: " + "; ".join(errors))
    plan_members(client, options, plans, warnings)
    return plans


def plan_members(client, options, plans, warnings):
    """Members to add and remove in every cohort that lists members; users looked up once for all."""
    listing = [p for p in plans if p.want is not None and p.want.members is not None and p.action != DELETED]
    if not listing:
        return
    existing = [p.id for p in listing if p.id is not None]
    members = client.get_cohort_members(existing) if existing else {}
    keys = sort_names(set(k for p in listing for k in p.want.members))
    if options.user_field == "id":
        # Ids already members of the cohort that lists them need no lookup; the others are checked to exist.
        need = sort_names(set(k for p in listing for k in p.want.members if k not in members.get(p.id, set())))
        found, missing = resolve_users(client, "id", need) if need else ({}, [])
        listed = dict((k, k) for k in keys if k in found or k not in set(need))
    else:
        listed, missing = resolve_users(client, options.user_field, keys) if keys else ({}, [])
    missing = set(missing)
    bad = sort_names(set(b for p in listing for b in p.want.bad_members))
    exact = options.state in ("replaced", "overridden")
    if keys and not listed and exact and any(members.get(p.id) for p in listing if p.id is not None):
        raise PlutoError("none of the %d listed users was found on the site by %s, and state %s would remove every "
                         "member of the cohorts that list them; nothing was changed; %s"
                         % (len(keys), options.user_field, options.state, _member.VIEW_USERS_HINT),
                         result={"missing_users": sort_names(missing)})
    if (missing or bad) and options.missing_users != "ignore":
        text = "%d listed user(s) do not exist on the site (looked up by %s): %s" % (
            len(missing) + len(bad), options.user_field, _member.shown(sort_names(missing) + bad, "missing_users"))
        if options.missing_users == "fail":
            raise PlutoError(text + "; nothing was changed (missing_users: warn or ignore goes on without them)",
                             result={"missing_users": sort_names(missing) + bad})
        warnings.append(text)
    names = dict((user_id, key) for key, user_id in sorted(listed.items(), key=lambda kv: _sort_key(kv[0]), reverse=True))
    for plan in listing:
        plan.manages_members = True
        current = members.get(plan.id, set()) if plan.id is not None else set()
        wanted_ids = set(listed[k] for k in plan.want.members if k in listed)
        plan.members_before = len(current)
        plan.to_add = wanted_ids - current
        plan.to_remove = (current - wanted_ids) if exact else set()
        plan.missing = sort_names([k for k in plan.want.members if k in missing] + plan.want.bad_members)
    unnamed = set().union(*[p.to_remove for p in listing]) - set(names)
    names.update(names_of_users(client, options.user_field, unnamed) if unnamed else {})
    for plan in listing:
        plan.names = names


# ---- the writes, batched by function across cohorts ------------------------------------------

class Applied(object):
    """Counts of what the writes applied, for a failure message."""

    def __init__(self, plans):
        self.plans = plans

    def text(self):
        parts = []
        for action in (CREATED, UPDATED, DELETED):
            count = sum(1 for p in self.plans if p.action == action and p.applied)
            if count:
                parts.append("%d cohort(s) %s" % (count, action))
        added = sum(len(p.added) for p in self.plans)
        removed = sum(len(p.removed) for p in self.plans)
        if added:
            parts.append("%d member(s) added" % added)
        if removed:
            parts.append("%d member(s) removed" % removed)
        return ", ".join(parts)

    def as_dict(self):
        return {
            "created": sorted(p.idnumber for p in self.plans if p.action == CREATED and p.applied),
            "updated": sorted(p.idnumber for p in self.plans if p.action == UPDATED and p.applied),
            "deleted": sorted(p.idnumber for p in self.plans if p.action == DELETED and p.applied),
            "members_added": sum(len(p.added) for p in self.plans),
            "members_removed": sum(len(p.removed) for p in self.plans),
        }


def apply_plans(client, site, options, plans, warnings):
    """Send the writes: creates, updates, additions, removals, deletions; each function batched across cohorts."""
    creates = [p for p in plans if p.action == CREATED]
    if creates:
        apply_creates(client, site, creates, warnings)
    updates = [p for p in plans if p.action == UPDATED]
    if updates:
        try:
            client.update_cohorts([p.update_item for p in updates])
        except PlutoError as error:
            done = set(int(item["id"]) for item in error.result.get("applied") or [])
            for plan in updates:
                plan.applied = plan.id in done
            if error.errorcode == "invalidrecord":
                error.message += "; a cohort no longer exists on the site (deleted since this task read it)"
            raise
        for plan in updates:
            plan.applied = True
    apply_additions(client, [p for p in plans if p.to_add], options.batch_size, warnings)
    apply_removals(client, [p for p in plans if p.to_remove], options.batch_size)
    deletes = [p for p in plans if p.action == DELETED]
    if deletes:
        apply_deletes(client, deletes, warnings)


def apply_creates(client, site, creates, warnings):
    """One create request for many cohorts (chunked by fields), then one read-back of the site's cohorts.

    The read-back catches what a create cannot tell: another run that created the same idnumber at
    the same moment (the lowest id wins: a higher-id cohort this task made, still empty, is deleted
    and the task goes on with the winner), custom fields and themes the site dropped, and after a
    failure, which creates were applied.
    """
    pending = list(creates)
    for chunk in chunk_by_fields([p.create_item for p in creates], client.max_fields):
        batch, pending = pending[:len(chunk)], pending[len(chunk):]
        create_batch(client, site, batch, warnings)
    creates = [p for p in creates if p.action == CREATED]
    if not creates:
        return
    site.load()
    losers = []
    for plan in creates:
        holders = sorted(site.holders(plan.idnumber), key=lambda c: int(c["id"]))
        if plan.id not in site.by_id:
            raise PlutoError("cohort %r was created (id %s) but is not on the site when read back (deleted at the same "
                             "moment?); run the task again" % (plan.idnumber, plan.id))
        if len(holders) > 1 and int(holders[0]["id"]) != plan.id:
            losers.append((plan, plan.id, int(holders[0]["id"])))
        check_stored(plan, site.by_id[plan.id], warnings)
    if losers:
        resolve_create_race(client, losers, warnings)


def create_batch(client, site, batch, warnings):
    """One create request (all or nothing). Refused because another run created one of its idnumbers
    first (invalidparameter): the task goes on with those cohorts and sends the others once more."""
    try:
        record_created(batch, client.create_cohorts([p.create_item for p in batch]))
        return
    except PlutoError as error:
        if error.errorcode != "invalidparameter":
            if error.transport or error.errorcode is None:
                site.load()
                for plan in batch:
                    plan.applied = bool(site.holders(plan.idnumber))
            raise
        site.load()
        taken = [p for p in batch if site.holders(p.idnumber)]
        if not taken:
            raise
    for plan in taken:
        adopt(client, site, plan, warnings)
    rest = [p for p in batch if p not in taken]
    if rest:
        record_created(rest, client.create_cohorts([p.create_item for p in rest]))


def record_created(plans, answer):
    ids = dict((c.get("idnumber"), int(c["id"])) for c in answer or [])
    for plan in plans:
        plan.applied = True
        plan.id = ids.get(plan.idnumber)


def adopt(client, site, plan, warnings):
    """Another run created the cohort after this task read the site: plan it again as an existing cohort
    (and update it now if its fields differ)."""
    holders = sorted(site.holders(plan.idnumber), key=lambda c: int(c["id"]))
    plan.raw, plan.id, plan.action, plan.create_item = holders[0], int(holders[0]["id"]), UNCHANGED, None
    plan.before_lines, plan.after_lines = [], []
    warnings.append("another run created cohort %r at the same moment (id %d); this task went on with that cohort"
                    % (plan.idnumber, plan.id))
    errors = []
    if needs_context(site, plan.want, plan.raw, warnings):
        site.locate([plan.id])
    plan_fields(site, plan.want, plan, errors, warnings)
    if errors:
        raise PlutoError("; ".join(errors))
    if plan.action == UPDATED:
        client.update_cohorts([plan.update_item])
        plan.applied = True


def check_stored(plan, stored, warnings):
    """Name what the site did not store of a new cohort (it drops unknown custom fields and, with cohort
    themes disabled, the theme)."""
    task = plan.want.task
    kept = _cohort.stored_custom_fields(stored)
    dropped = sorted(k for k, v in (task.custom_fields or {}).items() if kept.get(k) != v)
    if dropped:
        plan.warnings.append("the site did not store custom field(s) %s of the new cohort %s (not defined for cohorts "
                             "on the site?)" % (", ".join(dropped), plan.label))
        warnings.append(plan.warnings[-1])
    if task.theme and not stored.get("theme"):
        plan.warnings.append("the site dropped theme %r of the new cohort %s: cohort themes are disabled on the site "
                             "(%s)" % (task.theme, plan.label, _cohort.THEMES_SETTING))
        warnings.append(plan.warnings[-1])


def resolve_create_race(client, losers, warnings):
    """Cohorts this task created while another run created the same idnumber: the lowest id wins."""
    members = client.get_cohort_members([mine for _plan, mine, _winner in losers])
    empty = [(plan, mine, winner) for plan, mine, winner in losers if not members.get(mine)]
    busy = [(plan, mine, winner) for plan, mine, winner in losers if members.get(mine)]
    if empty:
        client.delete_cohorts([mine for _plan, mine, _winner in empty])
    for plan, mine, winner in empty:
        plan.id = winner
        warnings.append("another run created cohort %r at the same moment (id %d); this task deleted its own copy "
                        "(id %d, still empty) and went on with id %d" % (plan.idnumber, winner, mine, winner))
    if busy:
        raise PlutoError("two cohorts hold the same idnumber after runs created them at the same moment: %s; delete "
                         "the higher id on the site (after moving its members) and run the task again" % "; ".join(
                             "%r (ids %d and %d)" % (plan.idnumber, winner, mine) for plan, mine, winner in busy))


def apply_additions(client, plans, batch_size, warnings):
    """One stream of add requests across cohorts (batch_size members a request).

    The site refuses a whole add request with dmlwriteexception when someone else adds the same
    users at the same moment: the members of those cohorts are read again and what is still
    missing is resent, after a jittered pause, a bounded number of times.
    """
    pending = dict((p.id, set(p.to_add)) for p in plans)
    by_id = dict((p.id, p) for p in plans)
    site_warnings = []
    for attempt in range(1, ADD_ATTEMPTS + 1):
        items = [{"cohorttype": {"type": "id", "value": cohort_id}, "usertype": {"type": "id", "value": user_id}}
                 for cohort_id in sorted(pending) for user_id in sorted(pending[cohort_id])]
        if not items:
            break
        try:
            answers = client.call_chunked(ADD_MEMBERS, "members", items, max_items=batch_size)
        except PlutoError as error:
            for item in error.result.get("applied") or []:
                by_id[item["cohorttype"]["value"]].added.add(item["usertype"]["value"])
            site_warnings.extend(w for a in error.answers for w in (a or {}).get("warnings") or [])
            if error.errorcode != "dmlwriteexception" or attempt == ADD_ATTEMPTS:
                account_add_warnings(by_id, site_warnings)
                raise
            time.sleep(random.uniform(0.05, 0.2) * attempt)
            current = client.get_cohort_members(sorted(pending))
            for cohort_id in list(pending):
                now = current.get(cohort_id, set())
                by_id[cohort_id].added.update(pending[cohort_id] & now)
                pending[cohort_id] -= now
            continue
        for answer in answers:
            site_warnings.extend((answer or {}).get("warnings") or [])
        for cohort_id, users in pending.items():
            by_id[cohort_id].added.update(users)
        break
    account_add_warnings(by_id, site_warnings)


def account_add_warnings(by_id, site_warnings):
    """The add answers' warnings: 3 (already a member) is fine; a user deleted since the lookup is not added."""
    unexpected = []
    for warning in site_warnings:
        code = str(warning.get("warningcode"))
        message = str(warning.get("message", ""))
        if code == "3":
            continue
        user = _member.VANISHED_USER.search(message)
        cohort = _member.VANISHED_COHORT.search(message)
        if code == "2" and user:
            gone = int(user.group(1))
            for plan in by_id.values():
                if gone in plan.added:
                    plan.added.discard(gone)
                    plan.missing = sort_names(plan.missing + [plan.names.get(gone, gone)])
            continue
        if code == "2" and cohort and int(cohort.group(1)) in by_id:
            plan = by_id[int(cohort.group(1))]
            plan.added.clear()
            unexpected.append("cohort %s was deleted from the site while this task ran" % plan.label)
            continue
        unexpected.append("%s (warning %s)" % (message, code))
    if unexpected:
        raise PlutoError("the site answered the additions with warnings: %s" % "; ".join(unexpected))


def apply_removals(client, plans, batch_size):
    by_id = dict((p.id, p) for p in plans)
    items = [{"cohortid": p.id, "userid": u} for p in sorted(plans, key=lambda p: p.id) for u in sorted(p.to_remove)]
    if not items:
        return
    try:
        client.call_chunked(DELETE_MEMBERS, "members", items, max_items=batch_size)
    except PlutoError as error:
        for item in error.result.get("applied") or []:
            by_id[item["cohortid"]].removed.add(item["userid"])
        raise
    for plan in plans:
        plan.removed.update(plan.to_remove)


def apply_deletes(client, deletes, warnings):
    try:
        client.delete_cohorts([p.id for p in deletes])
    except PlutoError as error:
        # The site refuses a whole delete request when one of its cohorts is already gone: see which are left.
        left = set(int(c["id"]) for c in client.get_cohorts([p.id for p in deletes]))
        for plan in deletes:
            plan.applied = plan.id not in left
        if error.errorcode == "invalidrecord" and left:
            try:
                client.delete_cohorts(sorted(left))
            except PlutoError:
                raise error
            for plan in deletes:
                plan.applied = True
            warnings.append("some cohorts to delete were deleted by someone else while this task ran")
            return
        if error.errorcode == "invalidrecord" and not left:
            for plan in deletes:
                plan.applied = True
            return
        raise
    for plan in deletes:
        plan.applied = True


# ---- what the task returns ---------------------------------------------------------------

def cohort_result(plan, check_mode):
    """One entry of `cohorts`: what happened (check mode: would happen) to the cohort."""
    did = plan.applied or check_mode
    action = plan.action if did else UNCHANGED
    names = getattr(plan, "names", {})
    added = plan.to_add if check_mode else plan.added
    removed = plan.to_remove if check_mode else plan.removed
    entry = {
        "idnumber": plan.idnumber,
        "id": plan.id,
        "name": plan.name,
        "action": action,
        "fields": plan.fields if action == UPDATED else {},
        "pruned": plan.pruned,
    }
    if plan.manages_members:
        entry["added"] = sort_names(user_name(names, u) for u in added)
        entry["removed"] = sort_names(user_name(names, u) for u in removed)
        entry["missing"] = list(plan.missing)
        entry["member_count"] = plan.members_before + len(added) - len(removed)
    if plan.warnings:
        entry["warnings"] = list(plan.warnings)
    return entry


def user_name(names, user_id):
    name = names.get(user_id)
    return name if name is not None else "id=%d" % user_id


def changed_entry(entry):
    return entry["action"] != UNCHANGED or entry.get("added") or entry.get("removed")


def totals_of(entries):
    totals = dict((action, 0) for action in (CREATED, UPDATED, DELETED, UNCHANGED))
    for entry in entries:
        totals[entry["action"]] += 1
    totals["members_added"] = sum(len(e.get("added") or []) for e in entries)
    totals["members_removed"] = sum(len(e.get("removed") or []) for e in entries)
    totals["missing_users"] = len(set(m for e in entries for m in e.get("missing") or []))
    return totals


def summary_line(totals, listed):
    return ("%d cohort(s) listed: %d to create, %d to update, %d to delete, %d unchanged; members: +%d -%d; "
            "%d missing user(s)" % (listed, totals[CREATED], totals[UPDATED], totals[DELETED], totals[UNCHANGED],
                                    totals["members_added"], totals["members_removed"], totals["missing_users"]))


def build_diff(plans, entries, site_count):
    """One diff for the whole task: the counts first, then each changed cohort (its fields, then member
    counts and the first NAMES_SHOWN names each way). Unchanged cohorts are counted, not listed."""
    totals = totals_of(entries)
    before = ["cohorts on the site: %d" % site_count]
    after = ["cohorts on the site: %d" % (site_count + totals[CREATED] - totals[DELETED]),
             "changes: %d created, %d updated, %d deleted, %d unchanged; members +%d -%d" % (
                 totals[CREATED], totals[UPDATED], totals[DELETED], totals[UNCHANGED], totals["members_added"],
                 totals["members_removed"])]
    for plan, entry in sorted(zip(plans, entries), key=lambda pe: (pe[0].idnumber, pe[0].id or 0)):
        if not changed_entry(entry):
            continue
        title = "cohort %s%s" % (render_scalar(plan.idnumber), " (id %d)" % plan.id if plan.id is not None else "")
        if entry["action"] == CREATED:
            before_block = []
            after_block = ["%s: created" % title] + ["  " + line for line in rendered(plan.after_lines)]
        elif entry["action"] == DELETED:
            before_block = ["%s:" % title] + ["  " + line for line in rendered(plan.before_lines)]
            after_block = ["%s: deleted%s" % (title, " (not listed)" if plan.pruned else "")]
        else:
            before_block = ["%s:" % title] + ["  " + line for line in rendered(plan.before_lines)]
            after_block = ["%s:" % title] + ["  " + line for line in rendered(plan.after_lines)]
        if entry.get("added") or entry.get("removed"):
            if entry["action"] != CREATED:
                before_block = before_block or ["%s:" % title]
                before_block.append("  members: {0:,}".format(plan.members_before))
                before_block.extend(name_lines("-", entry["removed"]))
            after_block.append("  members: {0:,}".format(entry["member_count"]))
            after_block.extend(name_lines("+", entry["added"]))
        before.extend(before_block)
        after.extend(after_block)
    return {
        "before_header": "site cohorts",
        "after_header": "site cohorts (%s)" % summary_line(totals, sum(1 for p in plans if p.want is not None)),
        "before": "".join(line + "\n" for line in before),
        "after": "".join(line + "\n" for line in after),
    }


def rendered(lines):
    out = []
    for key, value in lines:
        if isinstance(value, dict):
            out.append("%s: {%s}" % (key, ", ".join("%s: %s" % (render_scalar(k), render_scalar(v))
                                                     for k, v in sorted(value.items()))))
        else:
            out.append("%s: %s" % (key, render_scalar(value)))
    return out


def name_lines(sign, names):
    lines = ["    %s %s" % (sign, render_scalar(n)) for n in names[:NAMES_SHOWN]]
    if len(names) > NAMES_SHOWN:
        lines.append("    ... and {0:,} more".format(len(names) - NAMES_SHOWN))
    return lines


def outcome(plans, site_count, warnings, check_mode, diff):
    entries = [cohort_result(p, check_mode) for p in plans]
    order = sorted(range(len(plans)), key=lambda i: (plans[i].idnumber, plans[i].id or 0))
    result = {
        "changed": any(changed_entry(e) for e in entries),
        "cohorts": [entries[i] for i in order],
        "totals": totals_of(entries),
        "missing_users": sort_names(m for e in entries for m in e.get("missing") or []),
        "warnings": warnings,
    }
    if diff:
        result["diff"] = build_diff(plans, entries, site_count)
    return result


# ---- state gathered --------------------------------------------------------------------------

def gather(client, options, warnings):
    """The site's cohorts in exactly the config shape (state merged applies them back as a no-op)."""
    site = Site(client)
    with_idnumber = [c for c in site.raw if c.get("idnumber")]
    without = [c for c in site.raw if not c.get("idnumber")]
    if without:
        warnings.append("%d cohort(s) without idnumber are not in gathered (config identifies cohorts by idnumber): %s"
                        % (len(without), ", ".join("%s (id %s)" % (render_scalar(c.get("name")), c["id"])
                                                    for c in without[:NAMES_SHOWN])))
    contexts = site.locate([int(c["id"]) for c in with_idnumber])
    members, names = {}, {}
    if options.gather_members and with_idnumber:
        members = client.get_cohort_members([int(c["id"]) for c in with_idnumber])
        user_ids = set().union(*members.values()) if members else set()
        if options.user_field == "id":
            names = dict((u, u) for u in user_ids)
        elif user_ids:
            names = names_of_users(client, options.user_field, user_ids)
    config, unnamed = [], {}
    for raw in sorted(with_idnumber, key=lambda c: (c["idnumber"], int(c["id"]))):
        view = _cohort.cohort_view(raw, contexts[int(raw["id"])])
        item = {"idnumber": view["idnumber"], "name": view["name"], "description": view["description"],
                "description_format": view["description_format"], "visible": view["visible"]}
        if view["theme"]:
            item["theme"] = view["theme"]
        fields = dict((k, v) for k, v in view["custom_fields"].items() if v != "")
        if fields:
            item["custom_fields"] = fields
        if view["context"] == _cohort.SYSTEM:
            item["category_id"] = 0
        elif view["category_idnumber"]:
            item["category_idnumber"] = view["category_idnumber"]
        elif view["category_id"] is not None:
            item["category_id"] = view["category_id"]
        else:
            warnings.append("the category of cohort %r (id %s) is not known; gathered leaves its category out"
                            % (view["idnumber"], view["id"]))
        if options.gather_members:
            ids = members.get(int(raw["id"]), set())
            item["members"] = sort_names(names[u] for u in ids if names.get(u) not in (None, ""))
            lacking = sorted(u for u in ids if names.get(u) in (None, ""))
            if lacking:
                unnamed[view["idnumber"]] = lacking
        config.append(item)
    if unnamed:
        warnings.append("%d member(s) have no %s the token's user may see, so gathered leaves them out of members (state "
                        "merged keeps them; replaced would remove them): %s" % (
                            sum(len(v) for v in unnamed.values()), options.user_field,
                            "; ".join("%s: user ids %s" % (k, ", ".join(str(i) for i in v[:NAMES_SHOWN]))
                                      for k, v in sorted(unnamed.items()))))
    return {"changed": False, "gathered": config, "warnings": warnings}


# ---- the module's logic ----------------------------------------------------------------------

def logic(params, client, check_mode=False, diff=False):
    """pluto_cohorts: read the site once, plan every cohort, then (unless check mode) write in batches."""
    options = Options(params)
    wanted = [Wanted(item, options.user_field) for item in options.config]
    errors = input_errors(options, wanted)
    if errors:
        raise PlutoError("nothing was sent to the site: " + "; ".join(errors))
    warnings = []
    client.require_functions(needed_reads(options, wanted))
    if options.state == "gathered":
        return gather(client, options, warnings)
    site = Site(client)
    site_count = len(site.raw)
    plans = build_plans(client, site, options, wanted, warnings)
    # Every write function the plan uses, named at once before the first write (check mode: a warning).
    lacking = sorted(set(needed_writes(plans)) - _cohort.service_functions(client))
    if lacking and check_mode:
        warnings.append("the token's web service lacks %s: a run without check mode would fail" % ", ".join(lacking))
    elif lacking:
        client.require_functions(needed_writes(plans))
    if not check_mode:
        try:
            apply_plans(client, site, options, plans, warnings)
        except PlutoError as error:
            result = outcome(plans, site_count, warnings, False, diff)
            applied = Applied(plans)
            result["applied"] = applied.as_dict()
            result["changed"] = any(changed_entry(e) for e in result["cohorts"])
            text = applied.text()
            if text:
                message = "%s; applied before the failure: %s; run the task again to finish" % (error.message, text)
            elif error.errorcode is None:
                message = "%s; the site may have applied the failed request: run the task again, it finds what was applied" % error.message
            else:
                message = "%s; nothing was changed" % error.message
            result.pop("warnings", None)
            raise PlutoError(message, errorcode=error.errorcode, wsfunction=error.wsfunction,
                             result=dict(result, warnings=warnings))
    return outcome(plans, site_count, warnings, check_mode, diff)

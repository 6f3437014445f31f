# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pluto_cohorts as a plan: the desired state of many cohorts of one site, converged in one task.

One read of the site: every cohort (one request), the contexts only of the cohorts that need
them (one search of the system context, then of the categories the items name), the members of
every listed cohort that lists members (one chunked read), every listed user looked up once
however many cohorts list it (chunks sent concurrently by the reader). Each cohort is planned by
pluto_cohort's own planner (_cohort.plan_cohort) over that one view of the site, its members by
the rules of pluto_cohort_member (_users: never remove a member the task could not positively
identify as unlisted), and the plans are merged so that the writes batch by function across
cohorts: one create request for many cohorts, one update request, add and remove requests that
span cohorts, one delete request.

Two phases when the plan creates cohorts: the creates first, then one read of the site's cohorts
(it catches another run that created the same idnumber at the same moment: the lowest id wins,
and a copy this task made, still empty, is deleted), then everything else, the members of new
cohorts included. Check mode returns the planned result of both phases and sends no write.

Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch

from ansible_collections.pluto.lms.plugins.module_utils import _cohort
from ansible_collections.pluto.lms.plugins.module_utils._collation import loose_key
from ansible_collections.pluto.lms.plugins.module_utils._errors import PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._model import (
    SYSTEM,
    Categories,
    ContextLocator,
    category_context,
    cohort_view,
    context_from_category,
    describe_context,
    stored_custom_fields,
    UserRef,
)
from ansible_collections.pluto.lms.plugins.module_utils._cohort_member import VANISHED_COHORT, VANISHED_USER
from ansible_collections.pluto.lms.plugins.module_utils._hooks import ResendMissingMembers
from ansible_collections.pluto.lms.plugins.module_utils._plan import Plan, merge_plans
from ansible_collections.pluto.lms.plugins.module_utils._readable_diff import first_lines, render_scalar
from ansible_collections.pluto.lms.plugins.module_utils._users import (
    check_missing,
    identify_members,
    invalid_text,
    is_deleted,
    lookup_values,
    names_by_id,
    normalize_users,
    resolve_users,
    sort_names,
)

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
# How long the run that made the lowest id of a concurrently created idnumber waits, re-reading, for the other
# run to delete its copy (that run reads back right after its creates, which may take a few seconds for many
# cohorts on a busy site): about 8 seconds in all, only when it happens.
DUPLICATE_WAITS = (0.25, 0.5, 1.0, 2.0, 4.0)
# Names a diff or a message shows before "... and N more".
NAMES_SHOWN = 100

# The fields of a cohort the result reports as changed (old and new), as pluto_cohort returns them.
REPORTED_FIELDS = ("name", "description", "description_format", "visible", "theme", "custom_fields",
                   "context", "category_id", "category_idnumber")
CREATED, UPDATED, DELETED, UNCHANGED = "created", "updated", "deleted", "unchanged"


# ---- the task's input ---------------------------------------------------------------------------

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

    @property
    def exact(self):
        """Whether a cohort with members holds exactly them (else they are only added)."""
        return self.state in ("replaced", "overridden")


class Wanted(object):
    """One config item: the cohort (a _cohort.CohortTask) and its members (None: membership untouched)."""

    def __init__(self, index, item, options):
        self.index = index
        self.item = item
        self.idnumber = item.get("idnumber")
        self.deleting = options.state == "deleted" or (item.get("state") or "present") == "absent"
        keys = ("idnumber", "name", "description", "description_format", "visible", "theme", "custom_fields",
                "category_id", "category_idnumber")
        params = dict((k, item.get(k)) for k in keys)
        params["state"] = "absent" if self.deleting else "present"
        self.task = _cohort.CohortTask(params)
        self.values = item.get("members")
        self.keys = []
        self.invalid = []
        self.problems = []
        if self.values is not None and not self.deleting:
            try:
                self.keys = normalize_users(self.values, options.user_field, self.invalid)
            except PlutoError as error:
                self.problems.append(str(error).replace("users holds", "members holds").replace(
                    "; nothing was sent to the site", ""))

    @property
    def has_members(self):
        return self.values is not None and not self.deleting


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
    for want in wanted:
        if want.idnumber is None or not want.idnumber.strip():
            errors.append("config[%d]: idnumber is blank (%r); every listed cohort needs its idnumber (a variable that "
                          "rendered empty would name the site's cohorts without one)" % (want.index, want.idnumber))
            continue
        where = "cohort %r" % want.idnumber
        if want.idnumber in seen:
            errors.append("%s is listed twice (config[%d] and config[%d])" % (where, seen[want.idnumber], want.index))
            continue
        seen[want.idnumber] = want.index
        if want.deleting:
            if want.values is not None:
                errors.append("%s: members given for a cohort to delete" % where)
            continue
        errors.extend("%s: %s" % (where, e) for e in want.task.local_errors())
        if want.task.category_id is not None and want.task.category_idnumber is not None:
            errors.append("%s: give category_id or category_idnumber, not both" % where)
        errors.extend("%s: %s" % (where, p) for p in want.problems)
        if want.invalid and options.missing_users == "fail":
            errors.append("%s: members holds %s (missing_users: warn or ignore goes on without them)"
                          % (where, invalid_text(want.invalid, options.user_field)))
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
    reads = [GET_COHORTS]
    if options.state == "gathered":
        reads.append(SEARCH_COHORTS)
        if options.gather_members:
            reads.extend([GET_MEMBERS] + ([GET_USERS] if options.user_field != "id" else []))
        return reads
    if any(not w.deleting for w in wanted):
        reads.append(SEARCH_COHORTS)
    if any(w.has_members for w in wanted):
        reads.extend([GET_MEMBERS, GET_USERS])
    return reads


# ---- one read of the site ---------------------------------------------------------------------------

def read_site(reader, wanted):
    """The _cohort.CohortSite of every cohort, with the categories the items name (each looked up once)."""
    site = _cohort.CohortSite(reader.cohorts() or [])
    categories = Categories(reader)
    for want in wanted:
        named = _cohort.wanted_category(want.task) if not want.deleting else None
        if named is None or (named[0], str(named[1])) in site.categories or site.category_problem:
            continue
        try:
            site.categories[(named[0], str(named[1]))] = categories.find(*named)
        except LookupError as reason:
            site.category_problem = str(reason)
    site.locator = ContextLocator(reader, categories)
    return site


def wanted_contexts(site, wanted):
    contexts = []
    for want in wanted:
        named = _cohort.wanted_category(want.task)
        category = site.categories.get((named[0], str(named[1]))) if named else None
        if category:
            contexts.append(context_from_category(category))
    return contexts


def locate(site, cohort_ids, expected):
    todo = [i for i in cohort_ids if i not in site.contexts]
    if todo:
        site.contexts.update(site.locator.locate(todo, "", expected))


# ---- the plan ---------------------------------------------------------------------------------------

class CohortEntry(object):
    """One cohort of the task: its pluto_cohort plan, its members' plan, and what was done."""

    def __init__(self, want=None, raw=None):
        self.want = want
        self.raw = raw
        self.idnumber = want.idnumber if want is not None else (raw.get("idnumber") or "")
        self.id = int(raw["id"]) if raw is not None else None
        self.name = raw.get("name") if raw is not None else (want.task.name if want is not None else None)
        self.action = UNCHANGED
        self.pruned = False
        self.cohort_plan = None      # the _cohort.CohortPlan (listed cohorts)
        self.fields = {}
        self.before_lines = []
        self.after_lines = []
        self.manages_members = False
        self.members = set()         # user ids before the task
        self.to_add = set()
        self.to_remove = set()
        self.missing = []
        self.names = {}
        self.warnings = []
        # After the writes:
        self.applied = False
        self.added = set()
        self.removed = set()
        self.failure = None

    @property
    def owner(self):
        return ("cohort", self.idnumber) if self.want is not None else ("cohort", "id", self.id)

    @property
    def label(self):
        return "%r (id %d)" % (self.idnumber, self.id) if self.id is not None else repr(self.idnumber)


def plan_cohorts(site, options, wanted, warnings):
    """A CohortEntry for each listed cohort (pluto_cohort's planner over the one site view) and each cohort
    state overridden deletes; PlutoError naming every problem of every cohort before any write."""
    errors, entries = [], []
    listed = [CohortEntry(w, _single(site, w.idnumber)) for w in wanted]
    # The planner compares contexts only where it knows them: place, in one go, the cohorts whose item
    # names a category and those an update will change (the site's update must name the category).
    expected = wanted_contexts(site, wanted)
    first = []
    for entry in listed:
        if entry.raw is not None and not entry.want.deleting and (
                _cohort.wanted_category(entry.want.task) is not None or entry.want.task.category_id == 0):
            first.append(entry.id)
    locate(site, first, expected)
    again = []
    for entry in listed:
        if entry.raw is None or entry.want.deleting or entry.id in site.contexts:
            continue
        try:
            trial = _cohort.plan_cohort(entry.want.task, site)
        except PlutoError:
            again.append(entry.id)
            continue
        if trial.write == UPDATE_COHORTS:
            again.append(entry.id)
    locate(site, again, expected)
    for entry in listed:
        if entry.raw is None and not entry.want.deleting and entry.want.task.name is None \
                and not site.by_idnumber(entry.idnumber) and not site.loose_matches(entry.idnumber):
            # A members-only item (a sync) naming a cohort the site lacks.
            errors.append("there is no cohort with idnumber %r on the site, and the task gives no name to create it "
                          "with" % entry.idnumber)
            continue
        try:
            entry.cohort_plan = _cohort.plan_cohort(entry.want.task, site)
        except PlutoError as error:
            errors.append(str(error))
            continue
        describe_entry(entry, site)
        entries.append(entry)
    if options.state == "overridden":
        entries.extend(prune_entries(site, set(w.idnumber for w in wanted), options, warnings))
    if errors:
        raise PlutoError("nothing was changed: " + "; ".join(errors))
    return entries


def _single(site, idnumber):
    holders = site.by_idnumber(idnumber)
    return holders[0] if len(holders) == 1 else None


def describe_entry(entry, site):
    """action, fields and diff lines of a listed cohort from its pluto_cohort plan."""
    plan = entry.cohort_plan
    entry.warnings.extend(plan.warnings)
    if plan.write == CREATE_COHORTS:
        entry.action = CREATED
        entry.name = plan.planned["name"]
        entry.after_lines = created_lines(entry.want.task, plan)
    elif plan.write == DELETE_COHORTS:
        entry.action = DELETED
        entry.before_lines = [("name", entry.raw.get("name"))]
    elif plan.write == UPDATE_COHORTS:
        entry.action = UPDATED
        current = cohort_view(entry.raw, site.context(entry.id))
        entry.fields = dict((key, {"old": current[key], "new": plan.planned[key]}) for key in REPORTED_FIELDS
                            if current[key] != plan.planned[key])
        entry.before_lines = [(k, v["old"]) for k, v in sorted(entry.fields.items())]
        entry.after_lines = [(k, v["new"]) for k, v in sorted(entry.fields.items())]


def created_lines(task, plan):
    view = plan.planned
    lines = [("name", view["name"])]
    lines.extend((k, view[k]) for k in ("description", "description_format", "visible") if getattr(task, k) is not None)
    if task.theme is not None:
        lines.append(("theme", view["theme"]))
    if plan.custom_fields:
        lines.append(("custom_fields", dict((k, view["custom_fields"].get(k)) for k in plan.custom_fields)))
    lines.append(("context", describe_context(view)))
    return lines


def prune_entries(site, listed, options, warnings):
    """The site's cohorts state overridden deletes: not listed, not kept, and (unless asked) with an idnumber."""
    entries, spared = [], []
    for raw in sorted(site.cohorts, key=lambda c: int(c["id"])):
        idnumber = raw.get("idnumber") or ""
        if idnumber in listed or any(fnmatch.fnmatchcase(idnumber, p) for p in options.keep):
            continue
        if not idnumber and not options.delete_without_idnumber:
            spared.append(raw)
            continue
        entry = CohortEntry(None, raw)
        entry.action = DELETED
        entry.pruned = True
        entry.before_lines = [("name", raw.get("name"))]
        entries.append(entry)
    if spared:
        warnings.append("%d cohort(s) without idnumber were left alone (%s); set delete_cohorts_without_idnumber to "
                        "delete them" % (len(spared), ", ".join("%s (id %s)" % (render_scalar(c.get("name")), c["id"])
                                                                for c in spared[:NAMES_SHOWN])))
    return entries


def plan_members(reader, options, entries, warnings):
    """Members to add and remove in every cohort that lists members; every listed user looked up once.

    The rule of pluto_cohort_member: a member is removed (states replaced and overridden) only when it is
    positively identified as a user the cohort does not list; a member whose value the site does not show
    the token's user, or that answers to a listed value the lookup did not find, stays.
    """
    listing = [e for e in entries if e.want is not None and e.want.has_members and e.action != DELETED]
    if not listing:
        return
    existing = [e.id for e in listing if e.id is not None]
    members = reader.members(existing) if existing else {}
    for entry in listing:
        entry.manages_members = True
        entry.members = set(members.get(entry.id, set())) if entry.id is not None else set()
    every_member = set().union(*[e.members for e in listing])
    values = sort_names(set(k for e in listing for k in e.want.keys))
    resolution = resolve_users(reader, options.user_field, values,
                               known_ids=every_member if options.user_field == "id" else ())
    resolution.invalid = sort_names(set(resolution.invalid) | set(i for e in listing for i in e.want.invalid))
    missing = set(resolution.missing)
    unresolved = missing - set(resolution.deleted) - set(resolution.invalid)
    identities = []
    if every_member and (unresolved or options.user_field in ("email", "idnumber")) and (
            options.exact or options.user_field in ("email", "idnumber")):
        # A member may be a listed user the lookup did not find (another spelling, out of the token's sight):
        # identify the members, all cohorts' unknown members read in one lookup by id first.
        unknown = sorted(m for m in every_member - set(resolution.ids.values()) if m not in resolution.records)
        if unknown and options.user_field != "id":
            users = lookup_values(reader, "id", unknown)[0]
            resolution.records.update((int(u["id"]), UserRef.from_site(u)) for u in users if not is_deleted(u))
        for entry in listing:
            if entry.members:
                identity = identify_members(reader, resolution, entry.members)
                identities.append((entry, identity))
    error = resolution.ambiguity_error()
    if error:
        raise error
    warnings.extend(resolution.warnings())
    warnings.extend(check_missing(resolution, options.missing_users, options.user_field,
                                  len(set(resolution.keys) | set(resolution.invalid)), "missing_users", NAMES_SHOWN))
    missing = set(resolution.missing)
    ids = resolution.ids
    names = {}
    kept = dict((entry.idnumber, identity.unknown) for entry, identity in identities)
    for entry, identity in identities:
        names.update(identity.names)
        if options.exact:
            entry.warnings.extend(identity.warnings(options.user_field))
    names.update(resolution.names())
    for entry in listing:
        listed_here = set(ids[k] for k in entry.want.keys if k in ids)
        entry.to_add = listed_here - entry.members
        if options.exact:
            entry.to_remove = entry.members - listed_here - kept.get(entry.idnumber, set())
        entry.missing = sort_names(k for k in entry.want.keys + entry.want.invalid if k in missing)
    listed_keys = set(k for e in listing for k in e.want.keys)
    if listed_keys and not ids and any(e.to_remove for e in listing):
        raise PlutoError("none of the %d listed users was found on the site by %s, and state %s would remove members "
                         "of %d cohort(s); nothing was changed; %s"
                         % (len(listed_keys), options.user_field, options.state,
                            sum(1 for e in listing if e.to_remove), resolution.rights_hint()),
                         result={"missing_users": resolution.missing})
    unnamed = set().union(*[e.to_remove for e in listing]) - set(names)
    if unnamed and options.user_field != "id":
        names.update(names_by_id(reader, options.user_field, sorted(unnamed)))
    for entry in listing:
        entry.names = names


# ---- the writes: one merged plan -------------------------------------------------------------------

def member_operations(plan, entry, cohort_id, batch_size):
    """The add and remove items of one cohort (cohort_id: its id, or the Ref of its create)."""
    hooks = ResendMissingMembers() if isinstance(cohort_id, int) else None
    if entry.to_add:
        plan.add(ADD_MEMBERS, [{"cohorttype": {"type": "id", "value": cohort_id}, "usertype": {"type": "id", "value": u}}
                               for u in sorted(entry.to_add)], owner=entry.owner, hooks=hooks, max_items=batch_size)
    if entry.to_remove:
        plan.add(DELETE_MEMBERS, [{"cohortid": cohort_id, "userid": u} for u in sorted(entry.to_remove)],
                 owner=entry.owner, hooks=hooks, max_items=batch_size)


def cohort_operations(plan, entry):
    """The cohort's own write (pluto_cohort's create, update or delete; a pruned cohort's delete)."""
    if entry.cohort_plan is not None:
        for operation in entry.cohort_plan.operations:
            for op_entry in operation.entries:
                op_entry.owner = entry.owner
            operation.hooks = dict((entry.owner, h) for h in operation.hooks.values())
            plan.operations.append(operation)
    elif entry.action == DELETED:
        # Deleted by someone else after the read: absent all the same (pluto_cohort's rule).
        gone = _cohort.DeleteHooks(_cohort.CohortTask({"id": entry.id, "idnumber": entry.idnumber, "state": "absent"}))
        plan.add(DELETE_COHORTS, [entry.id], owner=entry.owner, hooks=gone)


class TaskPlan(Plan):
    """The whole task's plan. With creates, the first phase holds them only (see follow_up)."""

    def __init__(self, task, phase, **kwargs):
        super(TaskPlan, self).__init__(reporter=task.report, **kwargs)
        self.task = task
        self.phase = phase

    def follow_up(self, outcome, reader):
        return self.task.follow_up(self, outcome, reader)


class CohortsTask(object):
    """What the task planned for every cohort, its two phases of writes, and its report."""

    def __init__(self, options, site, entries, warnings):
        self.options = options
        self.site = site
        self.entries = entries
        self.warnings = warnings
        self.site_count = len(site.cohorts)
        self.outcomes = []
        self.pending_waits = []
        self.reader = None

    # ---- building the phases ----

    def first_plan(self):
        creates = [e for e in self.entries if e.action == CREATED]
        if creates:
            parts = []
            for entry in creates:
                part = Plan(owner=entry.owner)
                cohort_operations(part, entry)
                parts.append(part)
            merged = merge_plans(parts)
            return TaskPlan(self, 1, operations=merged.operations, warnings=[])
        return self.rest_plan(phase=1)

    def rest_plan(self, phase):
        parts = []
        for entry in self.entries:
            part = Plan(owner=entry.owner)
            if entry.action in (UPDATED, DELETED):
                cohort_operations(part, entry)
            cohort_id = entry.id
            if entry.action == CREATED:
                if entry.failure is not None or entry.id is None:
                    continue
            if cohort_id is not None or entry.to_add or entry.to_remove:
                if cohort_id is None and phase == 1:
                    continue
                member_operations(part, entry, cohort_id, self.options.batch_size)
            parts.append(part)
        merged = merge_plans(parts)
        return TaskPlan(self, phase, operations=merged.operations, warnings=[])

    def planned_functions(self):
        """Every write function the task's writes need (both phases), to name missing ones before any write."""
        functions = set()
        for entry in self.entries:
            functions.update({CREATED: [CREATE_COHORTS], UPDATED: [UPDATE_COHORTS], DELETED: [DELETE_COHORTS]}.get(
                entry.action, []))
            if entry.to_add:
                functions.add(ADD_MEMBERS)
            if entry.to_remove:
                functions.add(DELETE_MEMBERS)
        return sorted(functions)

    # ---- between the phases ----

    def follow_up(self, plan, outcome, reader):
        self.take(outcome)
        if plan.phase != 1 or not any(e.action == CREATED for e in self.entries):
            return None
        self.read_back(reader)
        # The race's writes first: they settle which cohort the members go to.
        race = self.race_operations()
        rest = self.rest_plan(phase=2)
        rest.operations = race + rest.operations
        if not rest.operations:
            return None
        return rest

    def take(self, outcome):
        """Record what the site applied, per cohort."""
        self.outcomes.append(outcome)
        for entry in self.entries:
            part = outcome.of(entry.owner)
            for function, item in part.applied:
                if function in (CREATE_COHORTS, UPDATE_COHORTS, DELETE_COHORTS):
                    entry.applied = True
                elif function == ADD_MEMBERS:
                    entry.added.add(int(item["usertype"]["value"]))
                elif function == DELETE_MEMBERS:
                    entry.removed.add(int(item["userid"]))
            if entry.action == CREATED and entry.cohort_plan is not None and entry.cohort_plan.ref is not None:
                created = outcome.created_id(entry.cohort_plan.ref)
                if created is not None:
                    entry.id = created
            self.account_site_warnings(entry, part.site_warnings)
            entry.warnings.extend(w for w in part.warnings if w not in entry.warnings)
            if part.failure is not None and entry.failure is None:
                entry.failure = part.failure

    def account_site_warnings(self, entry, site_warnings):
        for warning in site_warnings:
            code, message = str(warning.get("warningcode")), str(warning.get("message", ""))
            user = VANISHED_USER.search(message)
            if code == "3":
                continue  # already a member: someone else added the user meanwhile
            if code == "2" and user and int(user.group(1)) in entry.added:
                gone = int(user.group(1))
                entry.added.discard(gone)
                entry.missing = sort_names(entry.missing + [entry.names.get(gone, "id=%d" % gone)])
            elif code == "2" and VANISHED_COHORT.search(message):
                entry.added.clear()
                entry.failure = entry.failure or PlutoError("cohort %s was deleted from the site while this task ran"
                                                            % entry.label)
            else:
                entry.failure = entry.failure or PlutoError("the site answered the additions with a warning this module "
                                                            "does not expect: %s (warning %s)" % (message, code))

    def read_back(self, reader):
        """One read of every cohort after the creates: concurrent creates of one idnumber, and what the site stored."""
        site = _cohort.CohortSite(reader.cohorts() or [], contexts=self.site.contexts, categories=self.site.categories,
                                  category_list=self.site.category_list, category_problem=self.site.category_problem)
        site.locator = self.site.locator
        self.after_creates = site
        self.reader = reader
        self.race = []
        for entry in self.entries:
            if entry.action != CREATED or entry.failure is not None:
                continue
            holders = site.by_idnumber(entry.idnumber)
            winner = getattr(self._create_hooks(entry), "winner", None)
            if entry.id is None and winner is not None:
                # The site refused this task's create: another run had just created the idnumber.
                entry.applied = False
                self.race.append((entry, None, int(winner["id"])))
                continue
            if entry.id is None:
                continue
            stored = site.by_id(entry.id)
            if stored is None:
                entry.failure = PlutoError("cohort %s was created but is gone when read back (deleted by someone else "
                                           "at the same moment?); run the task again" % entry.label)
                continue
            lowest = int(holders[0]["id"]) if holders else entry.id
            if lowest != entry.id:
                self.race.append((entry, entry.id, lowest))
            elif len(holders) > 1:
                # This task made the lowest id, which wins. The other run deletes its copy: checked after this
                # task's own writes (which delete its copies of the idnumbers the other run won), see settle_waits.
                self.pending_waits.append((entry, [int(c["id"]) for c in holders]))
            self.check_stored(entry, stored)

    def settle_waits(self):
        """The idnumbers this task won (it made the lowest id): give the other run a moment to delete its copy;
        if the copy stays (that run read back before this create was visible to it, and went on with it), the
        cohort fails naming both ids and the fix."""
        waits, self.pending_waits = self.pending_waits, []
        for entry, ids in waits:
            try:
                _cohort.wait_for_others(self.reader, entry.idnumber, entry.id, waits=DUPLICATE_WAITS)
            except PlutoError as error:
                entry.failure = entry.failure or error
                continue
            entry.warnings.append("cohort %r: another run created the same idnumber at the same moment (ids %s); the "
                                  "lowest id wins, so this task kept id %d and the other run deleted its own"
                                  % (entry.idnumber, ", ".join(str(i) for i in ids), entry.id))

    def _create_hooks(self, entry):
        for operation in entry.cohort_plan.operations if entry.cohort_plan is not None else []:
            for hooks in operation.hooks.values():
                return hooks
        return None

    def check_stored(self, entry, stored):
        """Name what the site did not store of a new cohort (undefined custom fields; a theme while cohort themes are off)."""
        plan = entry.cohort_plan
        kept = stored_custom_fields(stored)
        dropped = sorted(k for k, v in (plan.custom_fields or {}).items() if kept.get(k) != v)
        if dropped:
            entry.warnings.append("cohort %s: the site did not store the custom field(s) %s (it does not define them "
                                  "for cohorts, or refused the values)" % (entry.label, ", ".join(dropped)))
        task = entry.want.task
        if task.theme and not stored.get("theme"):
            entry.warnings.append("the site dropped theme %r of the new cohort %s: cohort themes are disabled on the "
                                  "site (%s)" % (task.theme, entry.label, _cohort.THEMES_SETTING))

    def race_operations(self):
        """Another run created the same idnumber at the same moment: the lowest id wins. A higher-id copy this
        task made (still empty: its members come in the next phase) is deleted; the task goes on with the winner,
        updated to the task's fields."""
        if not self.race:
            return []
        plan = Plan()
        site = self.after_creates
        locate(site, [winner for _e, _mine, winner in self.race], [])
        for entry, mine, winner in self.race:
            if mine is not None:
                plan.add(DELETE_COHORTS, [mine], owner=entry.owner)
                entry.warnings.append("cohort %r: another run created the same idnumber at the same moment (ids %d and "
                                      "%d); the lowest id wins, so this task deleted the one it made (id %d) and went "
                                      "on with id %d" % (entry.idnumber, winner, mine, mine, winner))
            # (A create the site refused has its warning from the create's hooks already.)
            entry.id = winner
            params = dict(_cohort.task_params(entry.want.task), id=winner)
            converged = _cohort.plan_cohort(_cohort.CohortTask(params), site)
            if mine is None:
                # The site refused this task's create: the cohort is the other run's, updated where it differs.
                entry.action = UPDATED if converged.write == UPDATE_COHORTS else UNCHANGED
            for operation in converged.operations:
                for op_entry in operation.entries:
                    op_entry.owner = entry.owner
                plan.operations.append(operation)
        return plan.operations

    # ---- the report ----

    def report(self, plan, outcome):
        if outcome is not None and (not self.outcomes or self.outcomes[-1] is not outcome):
            self.take(outcome)
        if outcome is not None and self.pending_waits:
            self.settle_waits()
        applied_run = outcome is not None
        results = [self.entry_result(e, applied_run) for e in self.entries]
        order = sorted(range(len(self.entries)), key=lambda i: (self.entries[i].idnumber, self.entries[i].id or 0))
        result = {
            "changed": any(changed_result(r) for r in results),
            "cohorts": [results[i] for i in order],
            "totals": totals_of(results),
            "missing_users": sort_names(m for r in results for m in r.get("missing") or []),
            "diff": build_diff(self.entries, results, self.site_count),
        }
        warnings = list(self.warnings)
        for entry in sorted(self.entries, key=lambda e: e.idnumber):
            warnings.extend(w for w in entry.warnings if w not in warnings)
        failed = [e for e in self.entries if e.failure is not None]
        if applied_run and failed:
            result.update(self.failure(failed, results))
        if warnings:
            result["warnings"] = warnings
        return result

    def entry_result(self, entry, applied_run):
        """One entry of `cohorts`: what happened to the cohort (in check mode and before apply: what would)."""
        planned = not applied_run
        action = entry.action if (planned or entry.applied) else UNCHANGED
        added = entry.to_add if planned else entry.added
        removed = entry.to_remove if planned else entry.removed
        result = {
            "idnumber": entry.idnumber,
            "id": entry.id,
            "name": entry.name,
            "action": action,
            "fields": entry.fields if action == UPDATED else {},
            "pruned": entry.pruned,
        }
        if entry.manages_members:
            result["added"] = sort_names(user_name(entry.names, u) for u in added)
            result["removed"] = sort_names(user_name(entry.names, u) for u in removed)
            result["missing"] = list(entry.missing)
            result["member_count"] = len(entry.members) + len(added) - len(removed)
        if entry.failure is not None and applied_run:
            result["failed"] = True
            result["msg"] = str(entry.failure)
        return result

    def failure(self, failed, results):
        applied = applied_summary(self.entries)
        first = failed[0]
        message = "%d of %d cohort(s) failed; the first, %s: %s" % (
            len(failed), len(self.entries), first.label, first.failure)
        text = applied_text(applied)
        if text:
            message += "; applied: %s; run the task again to finish" % text
        elif first.failure.errorcode is None:
            message += "; the site may have applied the failed request: run the task again, it finds what was applied"
        else:
            message += "; nothing was changed"
        failure = {"failed": True, "msg": message, "applied": applied}
        if first.failure.errorcode:
            failure["errorcode"] = first.failure.errorcode
        return failure


def user_name(names, user_id):
    name = names.get(user_id)
    return name if name not in (None, "") else "id=%d" % user_id


def changed_result(result):
    return result["action"] != UNCHANGED or bool(result.get("added")) or bool(result.get("removed"))


def applied_summary(entries):
    return {
        "created": sorted(e.idnumber for e in entries if e.action == CREATED and e.applied),
        "updated": sorted(e.idnumber for e in entries if e.action == UPDATED and e.applied),
        "deleted": sorted(e.idnumber for e in entries if e.action == DELETED and e.applied),
        "members_added": sum(len(e.added) for e in entries),
        "members_removed": sum(len(e.removed) for e in entries),
    }


def applied_text(applied):
    parts = ["%d cohort(s) %s" % (len(applied[k]), k) for k in ("created", "updated", "deleted") if applied[k]]
    parts.extend("%d %s" % (applied[k], k.replace("_", " ")) for k in ("members_added", "members_removed") if applied[k])
    return ", ".join(parts)


def totals_of(results):
    totals = dict((action, 0) for action in (CREATED, UPDATED, DELETED, UNCHANGED))
    for result in results:
        totals[result["action"]] += 1
    totals["members_added"] = sum(len(r.get("added") or []) for r in results)
    totals["members_removed"] = sum(len(r.get("removed") or []) for r in results)
    totals["missing_users"] = len(set(m for r in results for m in r.get("missing") or []))
    return totals


# ---- the diff: counts first, then each changed cohort ------------------------------------------------

def build_diff(entries, results, site_count):
    """One diff for the whole task, readable at hundreds of cohorts: the counts, then each changed cohort
    (its fields, then its member count and the first NAMES_SHOWN names each way). Unchanged cohorts are
    counted, not listed."""
    totals = totals_of(results)
    listed = sum(1 for e in entries if e.want is not None)
    before = ["cohorts on the site: %d" % site_count]
    after = ["cohorts on the site: %d" % (site_count + totals[CREATED] - totals[DELETED]),
             "%d listed: %d created, %d updated, %d deleted, %d unchanged; members +%d -%d; %d missing user(s)" % (
                 listed, totals[CREATED], totals[UPDATED], totals[DELETED] - sum(1 for e in entries if e.pruned),
                 totals[UNCHANGED], totals["members_added"], totals["members_removed"], totals["missing_users"])]
    pruned = sum(1 for e, r in zip(entries, results) if e.pruned and r["action"] == DELETED)
    if pruned:
        after.append("%d not listed: deleted" % pruned)
    for entry, result in sorted(zip(entries, results), key=lambda pair: (pair[0].idnumber, pair[0].id or 0)):
        if not changed_result(result):
            continue
        title = "cohort %s%s" % (render_scalar(entry.idnumber) if entry.idnumber else "(no idnumber) " + render_scalar(
            entry.name), " (id %d)" % result["id"] if result["id"] is not None else "")
        action = result["action"]
        if action == CREATED:
            before_block = []
            after_block = ["%s: created" % title] + ["  " + line for line in rendered(entry.after_lines)]
        elif action == DELETED:
            before_block = ["%s:" % title] + ["  " + line for line in rendered(entry.before_lines)]
            after_block = ["%s: deleted%s" % (title, " (not listed)" if entry.pruned else "")]
        elif action == UPDATED:
            before_block = ["%s:" % title] + ["  " + line for line in rendered(entry.before_lines)]
            after_block = ["%s:" % title] + ["  " + line for line in rendered(entry.after_lines)]
        else:
            before_block, after_block = ["%s:" % title], ["%s:" % title]
        if result.get("added") or result.get("removed"):
            if action != CREATED:
                before_block.append("  members: {0:,}".format(len(entry.members)))
                before_block.extend(name_lines("-", result["removed"]))
            after_block.append("  members: {0:,}".format(result["member_count"]))
            after_block.extend(name_lines("+", result["added"]))
        before.extend(before_block)
        after.extend(after_block)
    return {
        "before_header": "site cohorts",
        "after_header": "site cohorts (%d changed)" % sum(1 for r in results if changed_result(r)),
        "before": "".join(line + "\n" for line in before),
        "after": "".join(line + "\n" for line in after),
    }


def rendered(lines):
    out = []
    for key, value in lines:
        if isinstance(value, dict):
            pairs = ["%s: %s" % (render_scalar(k), render_scalar(v)) for k, v in sorted(value.items())]
            out.append("%s: {%s}" % (key, ", ".join(pairs)))
        else:
            out.append("%s: %s" % (key, render_scalar(value)))
    return out


def name_lines(sign, names):
    return first_lines(names, NAMES_SHOWN, lambda name: "    %s %s" % (sign, render_scalar(name)), "    ... and {0:,} more")


# ---- state gathered ------------------------------------------------------------------------------

def gather(reader, options, warnings):
    """The site's cohorts in exactly the config shape (state merged or replaced applies them back as a no-op)."""
    raws = reader.cohorts() or []
    with_idnumber = [c for c in raws if c.get("idnumber")]
    without = [c for c in raws if not c.get("idnumber")]
    if without:
        warnings.append("%d cohort(s) without idnumber are not in gathered (config identifies cohorts by idnumber): %s"
                        % (len(without), ", ".join("%s (id %s)" % (render_scalar(c.get("name")), c["id"])
                                                   for c in without[:NAMES_SHOWN])))
    categories = Categories(reader)
    contexts = ContextLocator(reader, categories).locate([int(c["id"]) for c in with_idnumber], "") if with_idnumber else {}
    members, names = {}, {}
    if options.gather_members and with_idnumber:
        members = reader.members([int(c["id"]) for c in with_idnumber])
        user_ids = set().union(*members.values()) if members else set()
        if options.user_field == "id":
            names = dict((u, u) for u in user_ids)
        elif user_ids:
            names = names_by_id(reader, options.user_field, sorted(user_ids))
    config, unnamed = [], {}
    for raw in sorted(with_idnumber, key=lambda c: (c["idnumber"], int(c["id"]))):
        view = cohort_view(raw, contexts.get(int(raw["id"])) or category_context())
        item = {"idnumber": view["idnumber"], "name": view["name"], "description": view["description"],
                "description_format": view["description_format"], "visible": view["visible"]}
        if view["theme"]:
            item["theme"] = view["theme"]
        fields = dict((k, v) for k, v in view["custom_fields"].items() if v != "")
        if fields:
            item["custom_fields"] = fields
        if view["context"] == SYSTEM:
            item["category_id"] = 0
        elif view["category_idnumber"]:
            item["category_idnumber"] = view["category_idnumber"]
        elif view["category_id"] is not None:
            item["category_id"] = view["category_id"]
        else:
            warnings.append("the category of cohort %r (id %s) is not known (%s); gathered leaves its category out"
                            % (view["idnumber"], view["id"], categories.unavailable or "not found in any category"))
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
    return {"changed": False, "gathered": config}


# ---- the module's plan function --------------------------------------------------------------------

def plan(params, reader):
    """pluto_cohorts: plan(params, reader) -> the task's Plan (see the module's docstring)."""
    options = Options(params)
    wanted = [Wanted(index, item, options) for index, item in enumerate(options.config)]
    errors = input_errors(options, wanted)
    if errors:
        raise PlutoError("nothing was sent to the site: " + "; ".join(errors))
    reader.require(needed_reads(options, wanted))
    warnings = []
    if options.state == "gathered":
        result = gather(reader, options, warnings)
        return Plan(result=result, warnings=warnings, reads=reader.reads)
    site = read_site(reader, wanted)
    entries = plan_cohorts(site, options, wanted, warnings)
    plan_members(reader, options, entries, warnings)
    task = CohortsTask(options, site, entries, warnings)
    writes = task.planned_functions()
    # Every write function of both phases, named at once before the first write (check mode: a warning).
    if reader.check_mode:
        lacking = sorted(set(writes) - reader.service_functions())
        if lacking:
            warnings.append("the token's web service lacks %s: a run without check mode would fail" % ", ".join(lacking))
    else:
        reader.require(writes)
    first = task.first_plan()
    first.reads.update(reader.reads)
    return first

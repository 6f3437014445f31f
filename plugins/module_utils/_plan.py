# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans as values: what a module will report, and the writes that make it true.

A module's logic is plan(params, reader) -> Plan. The Plan holds:
- result: what the module reports (changed, diff and its own keys), true once the operations
  are applied; check mode returns it as it is and never applies anything;
- operations: an ordered list of Operation (one web-service function, its items, each item
  labelled with its owner: the cohort or task it belongs to, plus optional hooks);
- warnings;
- reads: the read functions its planner used (the runner derives the functions a task needs
  from them and the operations);
- report(outcome): the result after apply (see _executor.Outcome), by default the planned
  result, or a failure naming what was applied before it.

merge_plans() combines plans against one site into one whose operations batch by function in a
safe order (creates, updates, adds, member removals, cohort deletes), so that hundreds of
per-cohort plans cost a handful of requests; report() of the merged plan hands each sub-plan
its own part of the outcome.

Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pluto.lms.plugins.module_utils._functions import function

# Merged plans run their operations in this order: a cohort exists before members are added to
# it, members are added before others are removed (a cohort never dips below its final size),
# and cohorts are deleted last. Functions not listed keep their first plan's order, after these.
SAFE_ORDER = (
    "core_cohort_create_cohorts",
    "core_cohort_update_cohorts",
    "core_cohort_add_cohort_members",
    "core_cohort_delete_cohort_members",
    "core_cohort_delete_cohorts",
)


class Ref(object):
    """The cohort a planned create will make: an item may hold a Ref where the site wants its id.

    The executor replaces it by the created id before the item is sent (see created_id).
    """

    def __init__(self, label=None):
        self.label = label

    def __repr__(self):
        return "Ref(%r)" % (self.label,)


class Entry(object):
    """One item of an operation, with the owner it belongs to (and, for a create, its Ref)."""

    __slots__ = ("owner", "item", "ref")

    def __init__(self, owner, item, ref=None):
        self.owner = owner
        self.item = item
        self.ref = ref

    def __repr__(self):
        return "Entry(%r, %r)" % (self.owner, self.item)


class Hooks(object):
    """Module-specific reactions to what the site answers for one owner's items.

    on_error(error, items, reader) is called when a request carrying some of the owner's items
    failed. It returns None (the failure stands) or a Recovery: which of the items are applied
    after all (someone else did it), which to send again, and warnings to give. The executor
    resends at most max_recoveries times, with jittered backoff between.
    """

    max_recoveries = 3

    def on_error(self, error, items, reader):
        return None


class Recovery(object):
    def __init__(self, resend=(), applied=(), warnings=()):
        self.resend = list(resend)
        self.applied = list(applied)
        self.warnings = list(warnings)


class Operation(object):
    """One web-service function and its items (each with its owner), sent in as few requests as the limits allow.

    max_items: at most this many items a request (the module's batch_size), on top of the
    table's and max_input_vars's limits. hooks: {owner: Hooks}.
    """

    def __init__(self, wsfunction, entries=(), max_items=None, hooks=None, extra_args=None, raw=False):
        function(wsfunction)  # an unknown function fails here, while planning
        self.function = wsfunction
        self.entries = list(entries)
        self.max_items = max_items
        self.hooks = dict(hooks or {})
        self.extra_args = extra_args
        self.raw = raw

    @property
    def items(self):
        return [e.item for e in self.entries]

    @property
    def owners(self):
        seen = []
        for entry in self.entries:
            if entry.owner not in seen:
                seen.append(entry.owner)
        return seen

    def __repr__(self):
        return "Operation(%s, %d items)" % (self.function, len(self.entries))


def default_report(plan, outcome):
    """The planned result when everything was applied; else a failure that says what was applied."""
    result = dict(plan.result)
    warnings = list(plan.warnings)
    if outcome is not None:
        for owner in plan.owners():
            part = outcome.of(owner)
            warnings.extend(part.warnings)
        failures = [(owner, outcome.of(owner).failure) for owner in plan.owners() if outcome.of(owner).failure]
        if failures:
            error = failures[0][1]
            applied = [(f, i) for owner in plan.owners() for f, i in outcome.of(owner).applied]
            message = str(error)
            if applied:
                message += "; %d items were applied before the failure (listed in applied)" % len(applied)
            result = {"failed": True, "msg": message, "changed": bool(applied)}
            if applied:
                result["applied"] = [dict(function=f, item=i) for f, i in applied]
            if error.errorcode:
                result["errorcode"] = error.errorcode
    if warnings:
        result["warnings"] = warnings
    return result


class Plan(object):
    """See the module's docstring."""

    def __init__(self, result=None, operations=None, warnings=None, reads=None, owner=None, reporter=None):
        self.result = dict(result or {})
        self.operations = list(operations or [])
        self.warnings = list(warnings or [])
        self.reads = set(reads or ())
        self.owner = owner if owner is not None else id(self)
        self.reporter = reporter or default_report
        self.parts = []

    # ---- building ----------------------------------------------------------------------------

    def add(self, wsfunction, items, owner=None, hooks=None, max_items=None, refs=None, extra_args=None, raw=False):
        """Append an operation of items for owner (the plan's own by default); return it.

        refs: for a create, one Ref per item (the ids later operations use).
        """
        owner = self.owner if owner is None else owner
        refs = list(refs) if refs is not None else [None] * len(items)
        operation = Operation(wsfunction, [Entry(owner, item, ref) for item, ref in zip(items, refs)],
                              max_items=max_items, hooks={owner: hooks} if hooks else None,
                              extra_args=extra_args, raw=raw)
        if operation.entries:
            self.operations.append(operation)
        return operation

    def create(self, wsfunction, item, owner=None, hooks=None, label=None):
        """Plan one create; return the Ref that stands for the id it will make."""
        ref = Ref(label)
        self.add(wsfunction, [item], owner=owner, hooks=hooks, refs=[ref])
        return ref

    def owners(self):
        """Every owner this plan (and the plans merged into it) speaks for."""
        found = [self.owner] if not self.parts else []
        for part in self.parts:
            found.extend(o for o in part.owners() if o not in found)
        for operation in self.operations:
            found.extend(o for o in operation.owners if o not in found)
        return found

    @property
    def changed(self):
        return bool(self.result.get("changed"))

    # ---- after apply ---------------------------------------------------------------------------

    def report(self, outcome):
        """The result to return: the planned one (check mode: outcome None), or what apply made of it."""
        return self.reporter(self, outcome)

    # ---- merging -------------------------------------------------------------------------------

    def merge(self, other):
        return merge_plans([self, other])


def merged_report(plan, outcome):
    """Each sub-plan reports its own part; the merged result lists them in order."""
    results = [part.report(outcome) for part in plan.parts]
    result = {"changed": any(r.get("changed") for r in results), "results": results}
    if any(r.get("failed") for r in results):
        failed = [r for r in results if r.get("failed")]
        result.update(failed=True, msg="%d of %d parts failed; the first: %s" % (len(failed), len(results), failed[0]["msg"]))
    return result


def merge_plans(plans, reporter=None):
    """One plan whose operations batch the plans' operations by function, in SAFE_ORDER.

    Items keep their owners, so each plan gets its part of the outcome back (Plan.report of a
    sub-plan reads only its owners). Within one function, items keep the plans' order.
    """
    plans = list(plans)
    merged = Plan(reporter=reporter or merged_report)
    merged.parts = plans
    by_function = {}
    order = []
    for plan in plans:
        merged.warnings.extend(plan.warnings)
        merged.reads.update(plan.reads)
        merged.result["changed"] = merged.result.get("changed", False) or plan.changed
        for operation in plan.operations:
            target = by_function.get(operation.function)
            if target is None:
                target = Operation(operation.function, max_items=operation.max_items,
                                   extra_args=operation.extra_args, raw=operation.raw)
                by_function[operation.function] = target
                order.append(operation.function)
            elif operation.max_items and (not target.max_items or operation.max_items < target.max_items):
                target.max_items = operation.max_items
            if operation.extra_args != target.extra_args or operation.raw != target.raw:
                raise ValueError("cannot merge %s operations with different fixed arguments" % operation.function)
            target.entries.extend(operation.entries)
            target.hooks.update(operation.hooks)
    rank = dict((name, index) for index, name in enumerate(SAFE_ORDER))
    first_seen = list(order)
    order.sort(key=lambda name: (rank.get(name, len(SAFE_ORDER)), first_seen.index(name)))
    merged.operations = [by_function[name] for name in order]
    return merged

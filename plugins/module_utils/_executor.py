# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""apply(plan, client) -> Outcome: the one way any plan's writes reach the site.

For each operation, in the plan's order: the items of owners that already failed are skipped;
Refs to created cohorts are replaced by their ids; the items are chunked as the function table
and max_input_vars allow (and the operation's max_items); each chunk is one request through the
client's retry rule (read-back verification for creates and deletes whose answer was lost).
A failed request goes to the hooks of the owners it carried (for example: re-read the members
and send what is still missing after a concurrent run's dmlwriteexception), at most
Hooks.max_recoveries times with jittered backoff. A request refused whole carries owners whose hooks
explain their part and owners whose hooks cannot: the latter are sent again without the former, and
fail only when refused again unexplained; the other owners go on. The Outcome records, per owner, what was applied, the site's
warnings, the failure and what was skipped; nothing travels inside exceptions.

Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import random
import re
import time

from ansible_collections.pluto.lms.plugins.module_utils._errors import PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._functions import function
from ansible_collections.pluto.lms.plugins.module_utils._plan import Entry, Ref
from ansible_collections.pluto.lms.plugins.module_utils._reader import SiteReader

# Cohort ids in the site's add warnings: "cohort id=12 not exists", "record already exists: cohort(id=12 ...)".
WARNING_COHORT = re.compile(r"\bcohort[ (]id=(\d+)")


class OwnerOutcome(object):
    """What apply did for one owner (a cohort, a task)."""

    def __init__(self):
        self.applied = []        # (function, item) in the order the site applied them
        self.site_warnings = []  # the site's warning dicts of the requests that carried this owner's items
        self.warnings = []       # texts for the task's warnings (from hooks)
        self.failure = None      # the PlutoError that stopped this owner
        self.failed_function = None
        self.failed_items = []   # the items of the failed request (they may or may not be applied)
        self.skipped = []        # (function, item) not sent because of the failure

    def items(self, wsfunction):
        """The applied items of one function."""
        return [item for name, item in self.applied if name == wsfunction]

    @property
    def failed(self):
        return self.failure is not None


class Outcome(object):
    """The value apply() returns: per owner, and the cohorts created (by Ref)."""

    def __init__(self):
        self.owners = {}
        self.created = {}
        self.requests = 0

    def of(self, owner):
        if owner not in self.owners:
            self.owners[owner] = OwnerOutcome()
        return self.owners[owner]

    @property
    def failed(self):
        return any(part.failed for part in self.owners.values())

    def failures(self):
        return dict((owner, part.failure) for owner, part in self.owners.items() if part.failed)

    def created_id(self, ref):
        answer = self.created.get(ref)
        return int(answer["id"]) if answer and answer.get("id") is not None else None


def _resolve(value, outcome):
    """value with every Ref replaced by its created id; KeyError when a Ref's create did not happen."""
    if isinstance(value, Ref):
        created = outcome.created_id(value)
        if created is None:
            raise KeyError(value)
        return created
    if isinstance(value, dict):
        return dict((k, _resolve(v, outcome)) for k, v in value.items())
    if isinstance(value, list):
        return [_resolve(v, outcome) for v in value]
    return value


def _warning_owners(warning, entries):
    """The owners a site warning is about: the entries whose cohort it names, else all of the request's."""
    owners = []
    match = WARNING_COHORT.search(str(warning.get("message", "")))
    if match:
        cohort_id = int(match.group(1))
        for entry in entries:
            cohort = entry.item.get("cohorttype") if isinstance(entry.item, dict) else None
            if cohort and cohort.get("type") == "id" and str(cohort.get("value")) == str(cohort_id):
                if entry.owner not in owners:
                    owners.append(entry.owner)
    if not owners:
        for entry in entries:
            if entry.owner not in owners:
                owners.append(entry.owner)
    return owners


class Executor(object):
    def __init__(self, client, reader=None, sleep=time.sleep, jitter=random.random, backoff=None):
        self.client = client
        self.reader = reader or SiteReader(client)
        self.sleep = sleep
        self.jitter = jitter
        self.backoff = client.backoff if backoff is None else backoff

    def apply(self, plan):
        outcome = Outcome()
        before = self.client.requests_sent
        for operation in plan.operations:
            self._operation(operation, outcome)
        outcome.requests = self.client.requests_sent - before
        return outcome

    def _operation(self, operation, outcome):
        entries = []
        for entry in operation.entries:
            part = outcome.of(entry.owner)
            if part.failed:
                part.skipped.append((operation.function, entry.item))
                continue
            try:
                entries.append(Entry(entry.owner, _resolve(entry.item, outcome), entry.ref))
            except KeyError:
                part.skipped.append((operation.function, entry.item))
        chunks = self.client.chunks(operation.function, [e.item for e in entries], operation.max_items,
                                    operation.extra_args, operation.raw)
        position = 0
        for chunk in chunks:
            chunk_entries = entries[position:position + len(chunk)]
            position += len(chunk)
            live = []
            for entry in chunk_entries:
                part = outcome.of(entry.owner)
                if part.failed:
                    part.skipped.append((operation.function, entry.item))
                else:
                    live.append(entry)
            if live:
                self._send(operation, live, outcome)

    def _send(self, operation, entries, outcome):
        entry_function = function(operation.function)
        recoveries = 0
        while entries:
            args = dict(operation.extra_args or {})
            args[entry_function.items_key] = [e.item for e in entries]
            try:
                answer = self.client.call(operation.function, args, raw=operation.raw, verify_items=args[entry_function.items_key])
            except PlutoError as error:
                entries = self._recover(operation, entries, error, outcome, recoveries)
                if entries is None:
                    return
                recoveries += 1
                self.sleep(self.backoff * (2 ** (recoveries - 1)) * (0.5 + self.jitter()))
                continue
            self._applied(operation, entries, answer, outcome)
            return

    def _recover(self, operation, entries, error, outcome, recoveries):
        """The entries to send again after error, or None when the failure stands (recorded in outcome).

        A request the site refused whole (and rolled back) says nothing of which owner's items caused it. When
        some owners' hooks explain their part (someone else made it, say), the others' entries go again as they
        were, without the explained ones: a failure then stands only for an owner whose own items are refused
        again and unexplained. After a transport error the request may have been applied: an owner whose hook
        cannot tell fails, and is never sent blind.
        """
        owners, entries_of = [], {}
        for entry in entries:
            if entry.owner not in entries_of:
                owners.append(entry.owner)
            entries_of.setdefault(entry.owner, []).append(entry)
        recoveries_of = {}
        for owner in owners:
            hooks = operation.hooks.get(owner)
            if hooks is not None and recoveries < hooks.max_recoveries:
                recoveries_of[owner] = hooks.on_error(error, [e.item for e in entries_of[owner]], self.reader)
        explained = any(recovery is not None for recovery in recoveries_of.values())
        resend = []
        for owner in owners:
            recovery, part = recoveries_of.get(owner), outcome.of(owner)
            if recovery is not None:
                part.applied.extend((operation.function, item) for item in recovery.applied)
                part.warnings.extend(recovery.warnings)
                ref_of = dict((id(e.item), e.ref) for e in entries_of[owner])
                resend.extend(Entry(owner, item, ref_of.get(id(item))) for item in recovery.resend)
            elif explained and not error.transport:
                resend.extend(entries_of[owner])
            else:
                part.failure = error
                part.failed_function = operation.function
                part.failed_items = [e.item for e in entries_of[owner]]
        return resend if explained else None

    def _applied(self, operation, entries, answer, outcome):
        for entry in entries:
            outcome.of(entry.owner).applied.append((operation.function, entry.item))
        if isinstance(answer, list) and len(answer) == len(entries):
            for entry, created in zip(entries, answer):
                if entry.ref is not None and isinstance(created, dict):
                    outcome.created[entry.ref] = created
        if isinstance(answer, dict):
            for warning in answer.get("warnings") or []:
                for owner in _warning_owners(warning, entries):
                    outcome.of(owner).site_warnings.append(warning)


def apply(plan, client, reader=None):
    """Apply a plan's operations to the site; return the Outcome (never raises PlutoError for the site's answers)."""
    return Executor(client, reader).apply(plan)

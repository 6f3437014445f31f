"""Concurrent write transactions, as Moodle's run on PostgreSQL and MariaDB (READ COMMITTED).

Most requests run as one locked SQLite transaction. ``create_cohorts`` and
``add_cohort_members`` instead run step by step, as Moodle's code does, so that two requests
that overlap in time interleave:

- create: each item checks "is this idnumber free?" against committed rows, then inserts.
  Nothing unique protects ``cohort.idnumber``, so two creates that both check before either
  commits both succeed: a duplicate.
- add: each item checks "already a member?" against committed rows, then inserts into the
  unique index ``cohort_members (cohortid, userid)``. An insert of a pair another open
  transaction has inserted waits until that transaction ends: if it committed, the insert
  fails with a duplicate key and the whole request is rolled back; if it rolled back, the
  insert goes through.

Rows a request inserts stay private to it (buffered) until it commits, so other requests
never see them. ``race_window_ms`` widens the windows (check -> insert, insert -> next
insert) so that two requests sent together always overlap in tests. The test-control fault
modes ``concurrent_create`` and ``concurrent_add`` play the other client without threads.
"""

from __future__ import annotations

import threading


class DuplicateKey(Exception):
    """An insert hit a row another transaction committed while this one waited."""

    def __init__(self, pair):
        super().__init__(pair)
        self.pair = pair


class Deadlock(Exception):
    """Waiting would close a cycle of transactions waiting for each other."""

    def __init__(self, pair):
        super().__init__(pair)
        self.pair = pair


class Transaction:
    """One request's open write transaction."""

    def __init__(self, label='request'):
        self.label = label
        self.state = 'active'
        self.rows = []
        self.on_commit = None

    @property
    def active(self):
        """Still open?"""
        return self.state == 'active'


class Concurrency:
    """The site's open transactions and the uncommitted rows they hold in unique indexes."""

    def __init__(self, store, race_window_ms=0.0, stopping=None):
        self.store = store
        self.cond = threading.Condition(store.lock)
        self.window = max(0.0, float(race_window_ms or 0)) / 1000.0
        self.stopping = stopping if stopping is not None else threading.Event()
        self.member_holders = {}
        self.waiting_for = {}

    def set_window(self, race_window_ms):
        """Change the race window of a running site (``PUT /_sim/race-window``)."""
        window = float(race_window_ms)
        if window < 0:
            raise ValueError('the race window is at least 0 ms')
        self.window = window / 1000.0

    def pause(self):
        """The race window: time in which another request's steps can run (never with the lock held)."""
        if self.window > 0:
            self.stopping.wait(self.window)

    def _waits_on(self, start, target):
        seen = set()
        current = start
        while current is not None and id(current) not in seen:
            if current is target:
                return True
            seen.add(id(current))
            current = self.waiting_for.get(current)
        return False

    def claim_member(self, txn, pair):
        """Insert ``pair`` into the unique index for ``txn`` (call with ``cond`` held).

        Waits while another open transaction holds the pair; raises DuplicateKey when that
        one commits, and Deadlock when waiting would never end.
        """
        while True:
            holder = self.member_holders.get(pair)
            if holder is None or holder is txn:
                self.member_holders[pair] = txn
                txn.rows.append(pair)
                return
            if holder.on_commit is not None and holder.active:
                # The other client (a test-control fault) commits as soon as someone waits for it.
                self.finish(holder, commit=True)
            if self._waits_on(holder, txn):
                raise Deadlock(pair)
            self.waiting_for[txn] = holder
            try:
                while holder.active:
                    self.cond.wait()
            finally:
                self.waiting_for.pop(txn, None)
            if holder.state == 'committed':
                raise DuplicateKey(pair)

    def finish(self, txn, commit):
        """End ``txn`` (call with ``cond`` held): run its commit, free its rows, wake the waiters."""
        if not txn.active:
            return
        if commit and txn.on_commit is not None:
            txn.on_commit(txn)
        txn.state = 'committed' if commit else 'aborted'
        for pair in txn.rows:
            if self.member_holders.get(pair) is txn:
                del self.member_holders[pair]
        self.cond.notify_all()

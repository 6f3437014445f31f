"""What a request costs on a real Moodle 4.5 site: fixed milliseconds per request plus milliseconds per item.

The figures were measured on two real Moodle 4.5.6 sites, one on PostgreSQL 15 and one on
MariaDB 10.11 (``utf8mb4_unicode_ci``), PHP's built-in server with 4 workers, on a 2-core
machine at a load average below 1 (``contract/costs-moodle-4.5.md`` has the table and how it
was fitted; ``contract/cost-timings.json`` the recorded timings it was fitted on).

``request_cost_ms()`` is a pure function of the request and its answer, so tests can check it
without sleeping. With ``--cost-model`` the simulator sleeps that long in the worker that
serves the request (``CostModel`` is the server's cost hook), outside the database lock. So
concurrent requests overlap as far as the bounded pool of workers (``--workers N``) lets them,
and wait in line for a worker when all are busy, as on the real site; and the requests in
service share the site's 2 cores (``SITE_CORES``), as the measured sites' requests did.

What counts as an item, per function:

- ``core_user_get_users_by_field``: each value looked up (found or not). A token that may not
  view users pays ``NO_USER_VIEW_MS_PER_VALUE`` a value instead (it gets ``[]``).
- ``core_cohort_add_cohort_members``: each member added (new) and each member that was not
  added (already a member, or an unknown user or cohort: the site looks it up and writes
  nothing); the fixed cost is that of a request that adds, unless it added nobody.
- ``core_cohort_delete_cohort_members``: each pair in the request.
- ``core_cohort_{create,update,delete}_cohorts``: each cohort in the request.
- ``core_cohort_get_cohorts``: each cohort in the answer (all the site's cohorts when no id is given).
- ``core_cohort_get_cohort_members``: each member id in the answer, and each cohort id after the first.
- ``core_cohort_search_cohorts``: fixed.
- Anything else (site info, categories, user create/update/delete), and any error answer:
  the function's fixed cost, or ``UNMEASURED_FIXED_MS`` when it was not measured.
"""

from __future__ import annotations

import json
import threading
import time

DATABASES = ('postgres', 'mariadb')


class Cost:
    """Fixed milliseconds per request, and milliseconds per item."""

    def __init__(self, fixed_ms, per_item_ms=0.0):
        self.fixed_ms = fixed_ms
        self.per_item_ms = per_item_ms

    def __repr__(self):
        return 'Cost(%r, %r)' % (self.fixed_ms, self.per_item_ms)

    def __eq__(self, other):
        return isinstance(other, Cost) and (self.fixed_ms, self.per_item_ms) == (other.fixed_ms, other.per_item_ms)

    def __hash__(self):
        return hash((self.fixed_ms, self.per_item_ms))


# The measured table (moodle-4.5 sites, part "Costs"), one row per function and kind of item.
# Each row was fitted through the medians at the smallest and the largest size measured.
TABLE = {
    'postgres': {
        'users_by_username': Cost(30, 3.16),
        'users_by_id': Cost(31, 3.53),
        'users_by_email': Cost(36, 3.35),
        'add_members_new': Cost(27, 2.54),
        'add_members_existing': Cost(16, 0.66),
        'delete_members': Cost(28, 1.43),
        'create_cohorts': Cost(20, 0.71),
        'update_cohorts': Cost(20, 0.75),
        'delete_cohorts': Cost(21, 1.55),
        'get_cohorts': Cost(26, 0.03),
        'get_cohort_members': Cost(18, 0.008),
        'search_cohorts': Cost(34),
    },
    'mariadb': {
        'users_by_username': Cost(21, 2.57),
        'users_by_id': Cost(18, 2.72),
        'users_by_email': Cost(13, 2.50),
        'add_members_new': Cost(8, 1.73),
        'add_members_existing': Cost(6, 0.46),
        'delete_members': Cost(10, 1.02),
        'create_cohorts': Cost(10, 0.58),
        'update_cohorts': Cost(10, 0.49),
        'delete_cohorts': Cost(10, 0.96),
        'get_cohorts': Cost(7, 0.07),
        'get_cohort_members': Cost(8, 0.005),
        'search_cohorts': Cost(15),
    },
}

# Each cohort id after the first, in get_cohort_members. The table's 0.7 / 0.5 ms per extra id was
# measured with 50 members in each cohort, so it includes those 50 members (0.4 / 0.25 ms), which
# the per-member rate charges already; the rest is charged per extra id.
MEMBERS_PER_COHORT_MEASURED = 50
EXTRA_COHORT_ID_MEASURED_MS = {'postgres': 0.7, 'mariadb': 0.5}
EXTRA_COHORT_ID_MS = {
    db: round(EXTRA_COHORT_ID_MEASURED_MS[db] - MEMBERS_PER_COHORT_MEASURED * TABLE[db]['get_cohort_members'].per_item_ms,
              3)
    for db in DATABASES
}

# A token without moodle/user:viewdetails still pays for each value and gets []: 500 ids took
# 0.490 s (PostgreSQL) and 0.392 s (MariaDB); less the id lookup's fixed cost, per value.
NO_USER_VIEW_MS_PER_VALUE = {'postgres': 0.92, 'mariadb': 0.75}

# Functions that were not measured pay the lower end of the fixed cost every measured request paid
# (about 20-30 ms on PostgreSQL, 7-10 ms on MariaDB).
UNMEASURED_FIXED_MS = {'postgres': 20, 'mariadb': 7}

# idnumber lookups were not measured; they are charged like usernames (an indexed text column).
LOOKUP_ROWS = {'username': 'users_by_username', 'id': 'users_by_id', 'email': 'users_by_email',
               'idnumber': 'users_by_username'}

FUNCTION_ROWS = {
    'core_cohort_create_cohorts': 'create_cohorts',
    'core_cohort_update_cohorts': 'update_cohorts',
    'core_cohort_delete_cohorts': 'delete_cohorts',
    'core_cohort_delete_cohort_members': 'delete_members',
    'core_cohort_get_cohorts': 'get_cohorts',
    'core_cohort_get_cohort_members': 'get_cohort_members',
    'core_cohort_search_cohorts': 'search_cohorts',
}

ALREADY_MEMBER = '3'

# The measured sites ran on 2 cores: requests in service at the same time share them. Four concurrent
# lookups of 250 users finished 1.6x (PostgreSQL) and 1.8x (MariaDB) faster than one of 1,000; sharing
# 2 cores gives 2x at most. Without this, 4 workers would finish them 4x faster.
SITE_CORES = 2
# How often a request in service re-reads its share of the cores (seconds).
SHARE_QUANTUM_S = 0.01


def _count(value):
    return len(value) if isinstance(value, (list, tuple, dict)) else 0


def _fixed_ms(db, wsfunction, params):
    """The fixed cost alone: what an error answer costs."""
    table = TABLE[db]
    if wsfunction == 'core_user_get_users_by_field':
        field = params.get('field') if isinstance(params, dict) else None
        return table[LOOKUP_ROWS.get(field, 'users_by_username')].fixed_ms
    if wsfunction == 'core_cohort_add_cohort_members':
        return table['add_members_new'].fixed_ms
    if wsfunction in FUNCTION_ROWS:
        return table[FUNCTION_ROWS[wsfunction]].fixed_ms
    return UNMEASURED_FIXED_MS[db]


def request_cost_ms(db, wsfunction, params, result=None, error=False, user_view=True):
    """Milliseconds the real site spends on this request (``params`` as validated, ``result`` as returned).

    ``error``: the request was answered with an error (only the fixed cost is charged).
    ``user_view``: the token has moodle/user:viewdetails (user lookups).
    """
    if db not in TABLE:
        raise ValueError('unknown database kind %r (kinds: %s)' % (db, ', '.join(DATABASES)))
    params = params if isinstance(params, dict) else {}
    if error:
        return float(_fixed_ms(db, wsfunction, params))
    table = TABLE[db]
    if wsfunction == 'core_user_get_users_by_field':
        row = table[LOOKUP_ROWS.get(params.get('field'), 'users_by_username')]
        values = _count(params.get('values'))
        per_value = row.per_item_ms if user_view else NO_USER_VIEW_MS_PER_VALUE[db]
        return row.fixed_ms + per_value * values
    if wsfunction == 'core_cohort_add_cohort_members':
        requested = _count(params.get('members'))
        warnings = result.get('warnings') if isinstance(result, dict) else None
        not_added = _count(warnings)
        added = max(requested - not_added, 0)
        new, existing = table['add_members_new'], table['add_members_existing']
        fixed = new.fixed_ms if added else existing.fixed_ms
        return fixed + new.per_item_ms * added + existing.per_item_ms * not_added
    if wsfunction not in FUNCTION_ROWS:
        return float(UNMEASURED_FIXED_MS[db])
    row = table[FUNCTION_ROWS[wsfunction]]
    if wsfunction in ('core_cohort_create_cohorts', 'core_cohort_update_cohorts'):
        items = _count(params.get('cohorts'))
    elif wsfunction == 'core_cohort_delete_cohorts':
        items = _count(params.get('cohortids'))
    elif wsfunction == 'core_cohort_delete_cohort_members':
        items = _count(params.get('members'))
    elif wsfunction == 'core_cohort_get_cohorts':
        items = _count(result)
    elif wsfunction == 'core_cohort_get_cohort_members':
        answers = result if isinstance(result, list) else []
        members = sum(_count(item.get('userids')) for item in answers if isinstance(item, dict))
        extra_ids = max(_count(params.get('cohortids')) - 1, 0)
        return row.fixed_ms + row.per_item_ms * members + EXTRA_COHORT_ID_MS[db] * extra_ids
    else:
        items = 0
    return row.fixed_ms + row.per_item_ms * items


class CostModel:
    """``--cost-model``: the simulator's cost hook, sleeping what each request costs on a real site.

    The server calls it once per web-service request, in the worker that serves the request,
    after the answer is made and before it is sent: ``wsfunction``, ``form`` (the request's
    fields as PHP parsed them) and ``answer`` (``(status, content type, body, errorcode)``).
    Items are counted from the form and, for JSON answers, from the answer (an XML answer's
    items are not counted).
    """

    def __init__(self, db='postgres', wait=None, user_view=None, cores=SITE_CORES, clock=time.monotonic):
        if db not in TABLE:
            raise ValueError('unknown database kind %r (kinds: %s)' % (db, ', '.join(DATABASES)))
        self.db = db
        # wait(seconds) sleeps; the simulator passes its stop event's wait, so that shutdown cuts a sleep short.
        # It returns True when the simulator is stopping (an Event's wait), which ends the request's cost early.
        self.wait = wait or time.sleep
        self.clock = clock
        # user_view(token) -> may that token view users (moodle/user:viewdetails)? Unknown tokens: yes.
        self.user_view = user_view
        self.cores = cores
        self.in_service = 0
        self.lock = threading.Lock()

    def share(self):
        """The speed at which each request in service spends its cost: the cores shared among them."""
        with self.lock:
            return min(1.0, float(self.cores) / max(self.in_service, 1))

    def spend(self, seconds):
        """Spend this much site time, at the share of the cores the requests in service leave it."""
        with self.lock:
            self.in_service += 1
        try:
            remaining = seconds
            while remaining > 1e-6:
                rate = self.share()
                started = self.clock()
                if self.wait(min(SHARE_QUANTUM_S, remaining / rate)):
                    return
                remaining -= (self.clock() - started) * rate
        finally:
            with self.lock:
                self.in_service -= 1

    def cost_ms(self, wsfunction, form, answer):
        """What the request costs on the real site, in milliseconds."""
        _status, ctype, body, errorcode = answer
        form = form if isinstance(form, dict) else {}
        if errorcode is not None:
            return request_cost_ms(self.db, wsfunction, form, error=True)
        result = None
        if 'json' in (ctype or ''):
            try:
                result = json.loads(body)
            except ValueError:
                result = None
        token = form.get('wstoken')
        user_view = True if self.user_view is None or not isinstance(token, str) else self.user_view(token)
        return request_cost_ms(self.db, wsfunction, form, result, user_view=user_view)

    def __call__(self, wsfunction, form, answer):
        seconds = self.cost_ms(wsfunction, form, answer) / 1000.0
        if seconds > 0:
            self.spend(seconds)
        return seconds

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SiteReader: everything a planner may ask the site, and nothing it may change.

A planner gets a SiteReader, never the client: every call goes through read(), which refuses
any function the table (_functions.py) does not list as a read, so a plan cannot write by
construction. The reader records the functions it used (`reads`), from which the runner
derives the functions a task needs.

User lookups, the dominant cost on real sites, are split into chunks and sent concurrently
by a bounded pool (lookup_concurrency; 1 sends them one after the other): the same requests
either way. Writes are never concurrent (the executor sends them one by one).

Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading

try:
    from concurrent.futures import ThreadPoolExecutor
except ImportError:  # pragma: no cover - Python 2 is not supported
    ThreadPoolExecutor = None

from ansible_collections.pluto.lms.plugins.module_utils._errors import PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._functions import READ, function

GET_SITE_INFO = "core_webservice_get_site_info"
GET_COHORTS = "core_cohort_get_cohorts"
SEARCH_COHORTS = "core_cohort_search_cohorts"
GET_COHORT_MEMBERS = "core_cohort_get_cohort_members"
GET_USERS_BY_FIELD = "core_user_get_users_by_field"
GET_CATEGORIES = "core_course_get_categories"

DEFAULT_LOOKUP_CONCURRENCY = 4


def bounded_map(function, items, concurrency):
    """[function(item)] for each of items, in order, at most concurrency at once (1: one after the other)."""
    workers = min(int(concurrency), len(items))
    if workers <= 1 or ThreadPoolExecutor is None:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))


class SiteReader(object):
    """Reads of one site for planners. Holds the client privately; offers no way to write."""

    def __init__(self, client, lookup_concurrency=DEFAULT_LOOKUP_CONCURRENCY):
        if lookup_concurrency is None or int(lookup_concurrency) < 1:
            raise PlutoError("lookup_concurrency must be 1 or more, got %r" % (lookup_concurrency,))
        self.__client = client
        self.lookup_concurrency = int(lookup_concurrency)
        self.reads = set()
        self._lock = threading.Lock()

    # ---- the one way to the site --------------------------------------------------------

    def read(self, wsfunction, args=None, raw=False):
        """One read request; PlutoError for any function that is not a read in the table."""
        if function(wsfunction).kind != READ:
            raise PlutoError("%s is a write: a planner reads only (a write belongs in the plan's operations)"
                             % wsfunction, wsfunction=wsfunction)
        with self._lock:
            self.reads.add(wsfunction)
        return self.__client.call(wsfunction, args, raw=raw)

    def read_chunked(self, wsfunction, items, extra_args=None, raw=False, concurrency=1):
        """One answer per chunk of items (chunked as the table and max_input_vars say), in order."""
        entry = function(wsfunction)
        chunks = self.__client.chunks(wsfunction, list(items), extra_args=extra_args, raw=raw)

        def one(chunk):
            args = dict(extra_args or {})
            args[entry.items_key] = chunk
            return self.read(wsfunction, args, raw=raw)

        return bounded_map(one, chunks, concurrency)

    @property
    def check_mode(self):
        """True when the task runs in check mode: a planner may then plan what a run would find after
        earlier tasks of the play, and only warn about a missing write function (it never writes either way)."""
        return bool(self.__client.check_mode)

    @property
    def max_input_vars(self):
        return self.__client.max_input_vars

    @property
    def warnings(self):
        """Warnings of the connection (for example http:// to a remote site)."""
        return self.__client.warnings

    # ---- site ---------------------------------------------------------------------------

    def site_info(self):
        """The site's info, read once a run (the client keeps it)."""
        with self._lock:
            self.reads.add(GET_SITE_INFO)
        return self.__client.site_info()

    def service_functions(self):
        """The names of the functions the token's service offers."""
        return set(f.get("name") for f in self.site_info().get("functions") or [])

    def require(self, names):
        """Fail once, naming every function of names the token's service lacks (no request beyond site info)."""
        with self._lock:
            self.reads.add(GET_SITE_INFO)
        self.__client.require_functions(names)

    def has_function(self, name):
        return name in self.service_functions()

    # ---- cohorts ------------------------------------------------------------------------

    def cohorts(self, ids=None):
        """Cohorts with their stored (raw) description and format; all of them when ids is None."""
        if ids is None:
            return self.read(GET_COHORTS, raw=True) or []
        cohorts = []
        for answer in self.read_chunked(GET_COHORTS, sorted(set(int(i) for i in ids)), raw=True):
            cohorts.extend(answer or [])
        return cohorts

    def search_cohorts(self, query="", category_id=None, includes="self"):
        """Every cohort matching query (a case-insensitive substring of name, idnumber or description).

        category_id None searches the system context. Reads to the end (limitnum 0).
        """
        if category_id is None:
            context = {"contextlevel": "system", "instanceid": 0}
        else:
            context = {"contextlevel": "coursecat", "instanceid": int(category_id)}
        answer = self.read(SEARCH_COHORTS, {
            "query": query, "context": context, "includes": includes, "limitfrom": 0, "limitnum": 0}, raw=True)
        return (answer or {}).get("cohorts") or []

    def cohorts_by_idnumber(self, idnumber):
        """All cohorts (any context) whose idnumber is exactly idnumber."""
        return [c for c in self.search_cohorts(idnumber, includes="all") if c.get("idnumber") == idnumber]

    def find_cohort(self, idnumber=None, cohort_id=None):
        """The one cohort with this id (or else idnumber), or None.

        The site's update does not keep idnumbers unique, so duplicates can exist: never
        pick one of them silently.
        """
        if cohort_id is not None:
            found = self.cohorts([cohort_id])
            return found[0] if found else None
        matches = self.cohorts_by_idnumber(idnumber)
        if len(matches) > 1:
            ids = ", ".join(str(c["id"]) for c in sorted(matches, key=lambda c: c["id"]))
            raise PlutoError("the site holds %d cohorts with idnumber %r (ids %s); give cohort_id, or make the "
                             "idnumbers unique on the site first" % (len(matches), idnumber, ids))
        return matches[0] if matches else None

    def members(self, cohort_ids):
        """{cohort id: set of user ids} of many cohorts, in as few requests as the limits allow.

        Every id must exist (the site fails the call otherwise).
        """
        members = {}
        for answer in self.read_chunked(GET_COHORT_MEMBERS, sorted(set(int(i) for i in cohort_ids))):
            for entry in answer or []:
                members[int(entry["cohortid"])] = set(int(u) for u in entry.get("userids") or [])
        return members

    # ---- users and categories -------------------------------------------------------------

    def users_by_field(self, field, values):
        """Users whose field is one of values; unknown users are simply absent.

        The chunks are sent concurrently (at most lookup_concurrency at once).
        """
        values = list(values)
        if not values:
            return []
        users = []
        for answer in self.read_chunked(GET_USERS_BY_FIELD, values, extra_args={"field": field},
                                        concurrency=self.lookup_concurrency):
            users.extend(answer or [])
        return users

    def categories(self, key=None, value=None):
        """Course categories; with key/value only those matching exactly (no subcategories)."""
        args = {"addsubcategories": 0}
        if key is not None:
            args["criteria"] = [{"key": key, "value": value}]
        categories = self.read(GET_CATEGORIES, args) or []
        if key is not None:
            categories = [c for c in categories if str(c.get(key)) == str(value)]
        return categories

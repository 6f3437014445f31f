# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The floor of the whole-tenant jobs: the fewest web-service requests each job needs, in plain Python.

`make bench` runs this file as a process (its wall time includes starting Python) against the same simulator
and cost model as the collection, and counts its requests in the simulator's log. Each job reads what it must
before it writes (a tool that did not could not be idempotent) and sends nothing more:

- role: read every cohort (1), look up the members of the new cohorts (1,000 a request), create the missing
  cohorts (1 write), add the members (500 a write); a rerun reads the cohorts, their members and the users;
- sync: read every cohort, the members of the listed ones (1,000 cohorts a request), look the users up once
  each (1,000 a request), then add and remove members (500 a write, spanning cohorts);
- audit: what the rerun of the role reads, for each tenant.

The user lookups, the dearest reads, go at most LOOKUP_CONCURRENCY at a time (as the collection sends them):
the same requests, in the least time. Writes go one after the other.

    python benchmarks/floor.py JOB.json URL TOKEN [URL TOKEN ...]   # JOB: {"job": role/sync/audit, "cohorts": [...]}
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

REST = "/webservice/rest/server.php"
USER_CHUNK = 1000
COHORT_CHUNK = 1000
MEMBER_CHUNK = 500
LOOKUP_CONCURRENCY = 4


class Site(object):
    def __init__(self, url, token):
        self.url = url.rstrip("/") + REST
        self.token = token
        # One kept-alive connection a thread (a requests.Session is not shared between threads).
        self.local = threading.local()
        self.sessions = []

    @property
    def session(self):
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.sessions.append(self.local.session)
        return self.local.session

    def close(self):
        for session in self.sessions:
            session.close()

    def call(self, function, fields):
        data = [("wstoken", self.token), ("wsfunction", function), ("moodlewsrestformat", "json")] + list(fields)
        answer = self.session.post(self.url, data=data, timeout=300)
        answer.raise_for_status()
        body = answer.json()
        if isinstance(body, dict) and "exception" in body:
            raise RuntimeError("%s failed: %s" % (function, body))
        return body


def chunks(items, size):
    return [items[start:start + size] for start in range(0, len(items), size)]


def cohorts_by_idnumber(site):
    return dict((c["idnumber"], c) for c in site.call("core_cohort_get_cohorts", []) if c.get("idnumber"))


def members_of(site, cohort_ids):
    held = {}
    for part in chunks(sorted(cohort_ids), COHORT_CHUNK):
        answer = site.call("core_cohort_get_cohort_members", [("cohortids[%d]" % i, str(c)) for i, c in enumerate(part)])
        for item in answer:
            held[int(item["cohortid"])] = set(int(u) for u in item["userids"])
    return held


def user_ids(site, usernames):
    def lookup(part):
        return site.call("core_user_get_users_by_field", [("field", "username")] + [
            ("values[%d]" % i, u) for i, u in enumerate(part)])

    parts = chunks(sorted(set(usernames)), USER_CHUNK)
    if len(parts) > 1:
        with ThreadPoolExecutor(max_workers=min(LOOKUP_CONCURRENCY, len(parts))) as pool:
            answers = list(pool.map(lookup, parts))
    else:
        answers = [lookup(part) for part in parts]
    ids = dict((user["username"], int(user["id"])) for answer in answers for user in answer)
    missing = sorted(set(usernames) - set(ids))
    if missing:
        raise RuntimeError("%d users do not exist, such as %s" % (len(missing), missing[0]))
    return ids


def add_members(site, pairs):
    for part in chunks(pairs, MEMBER_CHUNK):
        fields = []
        for i, (cohort_id, user_id) in enumerate(part):
            fields += [("members[%d][cohorttype][type]" % i, "id"), ("members[%d][cohorttype][value]" % i, str(cohort_id)),
                       ("members[%d][usertype][type]" % i, "id"), ("members[%d][usertype][value]" % i, str(user_id))]
        site.call("core_cohort_add_cohort_members", fields)


def remove_members(site, pairs):
    for part in chunks(pairs, MEMBER_CHUNK):
        fields = []
        for i, (cohort_id, user_id) in enumerate(part):
            fields += [("members[%d][cohortid]" % i, str(cohort_id)), ("members[%d][userid]" % i, str(user_id))]
        site.call("core_cohort_delete_cohort_members", fields)


def converge(site, cohorts, exact):
    """Make the cohorts exist and hold their members (exactly, when exact); the fewest requests for it."""
    existing = cohorts_by_idnumber(site)
    new = [c for c in cohorts if c["idnumber"] not in existing]
    old_ids = [existing[c["idnumber"]]["id"] for c in cohorts if c["idnumber"] in existing and "members" in c]
    held = members_of(site, old_ids) if old_ids else {}
    ids = user_ids(site, [u for c in cohorts for u in c.get("members", [])])
    if new:
        fields = []
        for i, cohort in enumerate(new):
            fields += [("cohorts[%d][categorytype][type]" % i, "system"), ("cohorts[%d][categorytype][value]" % i, ""),
                       ("cohorts[%d][name]" % i, cohort["name"]), ("cohorts[%d][idnumber]" % i, cohort["idnumber"])]
        for made in site.call("core_cohort_create_cohorts", fields):
            existing[made["idnumber"]] = made
    add, remove = [], []
    for cohort in cohorts:
        if "members" not in cohort:
            continue
        cohort_id = int(existing[cohort["idnumber"]]["id"])
        want = set(ids[u] for u in cohort["members"])
        have = held.get(cohort_id, set())
        add += [(cohort_id, u) for u in sorted(want - have)]
        if exact:
            remove += [(cohort_id, u) for u in sorted(have - want)]
    add_members(site, add)
    remove_members(site, remove)
    return {"created": len(new), "added": len(add), "removed": len(remove)}


def audit(site, cohorts):
    """What converging would change, read only: the cohorts, their members and the users."""
    existing = cohorts_by_idnumber(site)
    ids = [existing[c["idnumber"]]["id"] for c in cohorts if c["idnumber"] in existing and "members" in c]
    held = members_of(site, ids) if ids else {}
    users = user_ids(site, [u for c in cohorts for u in c.get("members", [])])
    missing = [c["idnumber"] for c in cohorts if c["idnumber"] not in existing]
    differ = [c["idnumber"] for c in cohorts if c["idnumber"] in existing and "members" in c
              and held.get(int(existing[c["idnumber"]]["id"]), set()) != set(users[u] for u in c["members"])]
    return {"missing": len(missing), "members_differ": len(differ)}


def run(job, sites):
    """job: {"job": role|sync|audit, "cohorts": [...]}; sites: [(url, token)], one a tenant (audit: several)."""
    results = []
    for url, token in sites:
        site = Site(url, token)
        try:
            if job["job"] == "audit":
                results.append(audit(site, job["cohorts"]))
            else:
                results.append(converge(site, job["cohorts"], exact=job["job"] == "sync"))
        finally:
            site.close()
    return results


def main(argv):
    if len(argv) < 3 or len(argv) % 2 == 0:
        print("usage: floor.py JOB.json URL TOKEN [URL TOKEN ...]", file=sys.stderr)
        return 2
    with open(argv[0]) as handle:
        job = json.load(handle)
    pairs = list(zip(argv[1::2], argv[2::2]))
    print(json.dumps(run(job, pairs)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

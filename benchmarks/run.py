# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: pluto.lms against what users do today (a uri loop) and against the floor.

Every case runs the real ansible-playbook against the simulator (tests/simulator) over
loopback HTTP, several times, and reports the median. The member, floor and uri-loop cases run
first with the simulator's real-site cost model (--cost-model: what each request costs on a
real Moodle 4.5 site, PostgreSQL then MariaDB), then every case runs on the simulator with no
cost and a simulated network latency.
Request and write counts come from the simulator's request log; peak memory is the largest
resident set of any process of the ansible-playbook run (os.wait4's ru_maxrss, which covers
the forked worker that runs the action plugin and any module process under it).

Writes benchmarks/results/{results.md,results.json,time_vs_n.png}, prints every target as
met or NOT MET, and (full runs only) refreshes the block between <!-- bench:start --> and
<!-- bench:end --> in README.md.

Options (argv, or the environment variable in brackets):
  --reps N          repetitions a case (BENCH_REPS, default 3)
  --scale-reps N    repetitions of the largest scale case, 50,000 members (BENCH_SCALE_REPS, default 1)
  --quick           tiny sizes, one repetition: checks the harness in about a minute (BENCH_QUICK=1)
  --only A,B        only these groups: noop,member,floor,uri,loop,scale,role,audit,module_process, and the
                    whole-tenant jobs tenant_role,tenant_sync,tenant_audit,tenant_scale (BENCH_ONLY); the other
                    groups' rows already in --out are kept
  --cost-models L   the real-site cost models to run the member, floor and uri cases under: postgres,mariadb
                    (default both), or none (BENCH_COST_MODELS)
  --cost-big-reps N repetitions of the largest cost-model size (BENCH_COST_BIG_REPS, default 1)
  --out DIR         where results go (BENCH_OUT, default benchmarks/results)
  --no-plot         skip the PNG (and the matplotlib install)
  --collection DIR  measure another checkout of pluto.lms (BENCH_COLLECTION), for before/after comparisons
  --tenant-reps N   repetitions of the sync, the audits and the cohort scale case (BENCH_TENANT_REPS, default 1)
  --arms L          whole-tenant arms: pluto,loop010,floor (BENCH_ARMS, default all)
  --baseline DIR    the 0.1.0 checkout for the loop arm (BENCH_BASELINE; default git archive fad2ea3; none: no arm)
  --baseline-models L  models the 0.1.0 loop runs under (BENCH_BASELINE_MODELS, default postgres; or all)
  --baseline-reps N repetitions of each 0.1.0 loop case (BENCH_BASELINE_REPS, default 1)
  --render          run nothing: rewrite the report, the plot and the README block from --out's results.json

The whole-tenant jobs (role, sync, audits) run in three arms: this checkout, the 0.1.0 loop, and the floor
script (benchmarks/floor.py); see docs/benchmarks.md.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks import report  # noqa: E402 pylint: disable=wrong-import-position
from tests.simulator.process import start_simulator  # noqa: E402 pylint: disable=wrong-import-position

PLAYBOOKS = os.path.join(ROOT, "benchmarks", "playbooks")
GROUPS = ("noop", "member", "floor", "uri", "loop", "scale", "role", "audit", "module_process",
          "tenant_role", "tenant_sync", "tenant_audit", "tenant_scale")
TOKEN = "bench-token"
REST = "/webservice/rest/server.php"
# A kept-alive request slower than this at zero latency means the simulator stalls on Nagle's algorithm.
KEEPALIVE_STALL_MS = 25.0
# Users a simulated tenant holds; the tenant inventory puts 200 of them in cohorts.
TENANT_USERS = 200
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
# The README is read on Galaxy and from installed copies, without the repository (or benchmarks/) around it.
REPOSITORY = "https://github.com/pluto-lms/ansible-collection-pluto-lms/blob/main/"
REPOSITORY_RAW = "https://raw.githubusercontent.com/pluto-lms/ansible-collection-pluto-lms/main/"


class BenchError(Exception):
    pass


def env_int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def parse_args(argv):
    parser = argparse.ArgumentParser(description="pluto.lms benchmarks (make bench)")
    parser.add_argument("--reps", type=int, default=env_int("BENCH_REPS", 3))
    parser.add_argument("--scale-reps", type=int, default=env_int("BENCH_SCALE_REPS", 1))
    parser.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK", "") in ("1", "true", "yes"))
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""))
    parser.add_argument("--out", default=os.environ.get("BENCH_OUT", os.path.join(ROOT, "benchmarks", "results")))
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--cost-models", default=os.environ.get("BENCH_COST_MODELS", "postgres,mariadb"))
    parser.add_argument("--cost-big-reps", type=int, default=env_int("BENCH_COST_BIG_REPS", 1))
    parser.add_argument("--collection", default=os.environ.get("BENCH_COLLECTION", ROOT),
                        help="the pluto.lms checkout to measure (default this one), for before/after comparisons")
    parser.add_argument("--tenant-reps", type=int, default=env_int("BENCH_TENANT_REPS", 1))
    parser.add_argument("--baseline", default=os.environ.get("BENCH_BASELINE", ""),
                        help="a checkout of pluto.lms 0.1.0 for the loop arm (default: git archive %s), or none"
                        % "fad2ea3")
    parser.add_argument("--render", action="store_true",
                        help="run nothing: rewrite results.md, the plot and the README block from --out's results.json")
    parser.add_argument("--arms", default=os.environ.get("BENCH_ARMS", "pluto,loop010,floor"),
                        help="the whole-tenant arms to run: pluto (this checkout), loop010 (0.1.0), floor (the script)")
    parser.add_argument("--baseline-models", default=os.environ.get("BENCH_BASELINE_MODELS", "postgres"),
                        help="the models the 0.1.0 loop arm runs under: postgres (default), mariadb, none, or all")
    parser.add_argument("--baseline-reps", type=int, default=env_int("BENCH_BASELINE_REPS", 1))
    args = parser.parse_args(argv)
    args.only = [g.strip() for g in args.only.split(",") if g.strip()]
    args.arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    args.baseline_models = [m.strip() for m in args.baseline_models.split(",") if m.strip()]
    if args.baseline_models == ["all"]:
        args.baseline_models = list(report.MODELS)
    if sorted(set(args.baseline_models) - set(report.MODELS)):
        parser.error("unknown baseline model(s) %s; choose from postgres, mariadb, none, all"
                     % ", ".join(args.baseline_models))
    if sorted(set(args.arms) - set(("pluto", "loop010", "floor"))):
        parser.error("unknown arm(s) %s; choose from pluto, loop010, floor" % ", ".join(args.arms))
    args.cost_models = [m.strip() for m in args.cost_models.split(",") if m.strip() and m.strip() != "none"]
    bad_models = sorted(set(args.cost_models) - set(report.MODELS[:-1]))
    if bad_models:
        parser.error("unknown cost model(s) %s; choose from postgres, mariadb, none" % ", ".join(bad_models))
    unknown = sorted(set(args.only) - set(GROUPS))
    if unknown:
        parser.error("unknown group(s) %s; choose from %s" % (", ".join(unknown), ", ".join(GROUPS)))
    if args.quick:
        args.sizes, args.scale_sizes, args.uri_n = (20, 100, 400), (200, 1000, 3000), 10
        args.tenants, args.forks, args.loop_items = 3, 2, 5
        args.reps, args.scale_reps = 1, 1
        args.cost_sizes, args.cost_uri_n, args.cost_big_reps = (20, 100), 5, 1
        # Whole tenants: 24 cohorts for the role, 10 x 5 for the sync, 4 tenants; 20, 40, 80 cohorts of 5.
        args.role_extra, args.sync_size, args.audit_tenants = 20, (10, 5, 40), 4
        args.cohort_scale, args.tenant_reps = ((20, 40, 80), 5, 200), 1
    else:
        args.sizes, args.scale_sizes, args.uri_n = (100, 1000, 10000), (1000, 10000, 50000), 100
        args.tenants, args.forks, args.loop_items = 20, 5, 30
        # Under the cost model a request costs what it does on a real site (1,000 lookups: 3.2-3.6 s),
        # so the sizes stop at 2,600 users (a real tenant's exact sync) and the uri loop at 30 members.
        args.cost_sizes, args.cost_uri_n = (100, 1000, 2600), 30
        # Whole tenants: the role's 204 cohorts, 200 cohorts x 50 users (about 2,900 distinct), 20 tenants;
        # 2,000 cohorts x 50 members in one task (with 200 and 1,000 to judge linearity).
        args.role_extra, args.sync_size, args.audit_tenants = 200, (200, 50, 2900), 20
        args.cohort_scale = ((200, 1000, 2000), 50, 10000)
    args.latency_ms = 20
    return args


def lookup_chunk(collection):
    """The client's users-per-lookup chunk (the rerun target depends on it)."""
    # The function table since the module_utils became private; client.py in 0.1.0 (benchmarked with --collection).
    for name in ("_functions.py", "client.py"):
        path = os.path.join(collection, "plugins", "module_utils", name)
        if os.path.exists(path):
            with open(path) as handle:
                found = re.search(r"^USER_LOOKUP_CHUNK\s*=\s*(\d+)", handle.read(), re.M)
            if found:
                return int(found.group(1))
    return 1000


class Site(object):
    """A simulator, and direct web-service calls to it (setup and the floor, never timed with Ansible)."""

    def __init__(self, harness, name, latency_ms, seed_users, cost_model=None):
        self.name = name
        self.latency_ms = latency_ms
        self.seed_users = seed_users
        # cost_model: a database kind; the simulator then sleeps each request's real-site cost (--cost-model --db).
        extra = {"cost_model": True, "db": cost_model} if cost_model else {}
        self.sim = start_simulator(token=TOKEN, seed_users=seed_users, latency_ms=latency_ms, **extra)
        harness.sites.append(self)
        self.url = self.sim.url.rstrip("/")
        self.session = requests.Session()

    def call(self, wsfunction, fields=(), session=None):
        data = [("wstoken", TOKEN), ("wsfunction", wsfunction), ("moodlewsrestformat", "json")] + list(fields)
        answer = (session or self.session).post(self.url + REST, data=data, timeout=300)
        answer.raise_for_status()
        body = answer.json()
        if isinstance(body, dict) and "exception" in body:
            raise BenchError("%s on %s failed: %s" % (wsfunction, self.name, body))
        return body

    def usernames(self, count):
        return seed_usernames(self, count)

    def create_cohort(self, idnumber):
        created = self.call("core_cohort_create_cohorts", [
            ("cohorts[0][categorytype][type]", "system"), ("cohorts[0][categorytype][value]", ""),
            ("cohorts[0][name]", idnumber), ("cohorts[0][idnumber]", idnumber)])
        return int(created[0]["id"])

    def member_count(self, cohort_id):
        answer = self.call("core_cohort_get_cohort_members", [("cohortids[0]", str(cohort_id))])
        return len(answer[0]["userids"]) if answer else 0

    def reset_log(self):
        self.sim.reset_log()

    def counts(self):
        log = self.sim.requests()
        writes = sum(1 for r in log if r.get("write"))
        return {"requests": len(log), "reads": len(log) - writes, "writes": writes}

    def stop(self):
        self.session.close()
        self.sim.stop()


def seed_usernames(site, count):
    """The first `count` users the simulator seeded (--seed-users names them u00001, u00002, ...)."""
    if count > site.seed_users:
        raise BenchError("%s holds %d users, %d needed" % (site.name, site.seed_users, count))
    width = max(5, len(str(site.seed_users)))
    names = ["u%0*d" % (width, number) for number in range(1, count + 1)]
    if names:
        ends = sorted(set([names[0], names[-1]]))
        found = site.call("core_user_get_users_by_field", [("field", "username")] + [
            ("values[%d]" % i, name) for i, name in enumerate(ends)])
        if len(found) != len(ends):
            raise BenchError("%s does not name its seeded users as expected (%s)" % (site.name, ", ".join(ends)))
    return names


def floor_add(site, cohort_id, usernames, lookup):
    """The least work a site needs to add these users: resolve them, then add them in chunks of 500."""
    session = requests.Session()
    try:
        started = time.perf_counter()
        ids = []
        for start in range(0, len(usernames), lookup):
            chunk = usernames[start:start + lookup]
            fields = [("field", "username")] + [("values[%d]" % i, u) for i, u in enumerate(chunk)]
            ids.extend(int(u["id"]) for u in site.call("core_user_get_users_by_field", fields, session))
        for start in range(0, len(ids), report.ADD_CHUNK):
            fields = []
            for i, user_id in enumerate(ids[start:start + report.ADD_CHUNK]):
                fields += [("members[%d][cohorttype][type]" % i, "id"), ("members[%d][cohorttype][value]" % i, str(cohort_id)),
                           ("members[%d][usertype][type]" % i, "id"), ("members[%d][usertype][value]" % i, str(user_id))]
            site.call("core_cohort_add_cohort_members", fields, session)
        return time.perf_counter() - started
    finally:
        session.close()


def probe_keepalive(sim, calls=6):
    """Median milliseconds of a site-info request on a kept-alive connection (the first call opens it)."""
    session = requests.Session()
    times = []
    try:
        for _call in range(calls):
            started = time.perf_counter()
            session.post(sim.url + REST, data=[("wstoken", TOKEN), ("wsfunction", "core_webservice_get_site_info"),
                                               ("moodlewsrestformat", "json")], timeout=30).raise_for_status()
            times.append((time.perf_counter() - started) * 1000.0)
    finally:
        session.close()
    return report.median(times[1:])


class Harness(object):
    """Owns every process it starts; close() stops them all, also on Ctrl-C."""

    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="pluto-bench-")
        tree = os.path.join(self.tmp, "collections")
        os.makedirs(os.path.join(tree, "ansible_collections", "pluto"))
        os.symlink(os.path.abspath(args.collection), os.path.join(tree, "ansible_collections", "pluto", "lms"))
        self.sites = []
        self.live = set()
        self.probe = {}
        self.rows = []
        # What the simulator charges for the cases being run: "none" or a cost model's database kind.
        self.model = "none"
        self.lookup = lookup_chunk(args.collection)
        # The 0.1.0 checkout and a collections tree of its own (prepare_baseline()), for the loop arm.
        self.baseline, self.baseline_tree = None, None
        self.counter = 0
        bindir = os.path.dirname(sys.executable)
        self.ansible_playbook = os.path.join(bindir, "ansible-playbook")
        if not os.path.exists(self.ansible_playbook):
            self.ansible_playbook = shutil.which("ansible-playbook") or "ansible-playbook"
        self.env = dict((k, v) for k, v in os.environ.items()
                        if not k.startswith(("ANSIBLE_", "PLUTO_")))
        self.env.update({
            "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
            "ANSIBLE_COLLECTIONS_PATH": tree,
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        })

    # ---- processes --------------------------------------------------------------------

    def close(self):
        for proc in list(self.live):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except OSError:
                pass
        deadline = time.time() + 10
        for proc in list(self.live):
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                proc.wait()
            self.live.discard(proc)
        while self.sites:
            site = self.sites.pop()
            try:
                site.stop()
            except Exception as error:  # pylint: disable=broad-except
                print("could not stop simulator %s: %s" % (site.name, error), file=sys.stderr)
        shutil.rmtree(self.tmp, True)

    def prepare_baseline(self):
        """pluto.lms 0.1.0 (--baseline, or git archive of its commit) in a collections tree of its own."""
        source = self.args.baseline
        if source == "none":
            return
        if not source:
            source = os.path.join(self.tmp, "pluto-0.1.0")
            os.makedirs(source)
            archive = subprocess.run("git archive %s | tar -x -C %s" % (BASELINE_COMMIT, source), shell=True, cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
            if archive.returncode != 0:
                print("no 0.1.0 loop arm: git archive %s failed: %s" % (BASELINE_COMMIT, archive.stdout.strip()),
                      file=sys.stderr)
                return
        tree = os.path.join(self.tmp, "baseline-collections")
        os.makedirs(os.path.join(tree, "ansible_collections", "pluto"))
        os.symlink(os.path.abspath(source), os.path.join(tree, "ansible_collections", "pluto", "lms"))
        self.baseline, self.baseline_tree = os.path.abspath(source), tree

    def probe_simulator(self):
        """How long the simulator takes to answer a tiny request on a kept-alive connection, at zero latency.

        Every request of every case pays it: a stall here (such as Nagle's algorithm against delayed
        ACKs, 40 ms a request) would be the simulator's cost, not the collection's.
        """
        sim = start_simulator(token=TOKEN, seed_users=1, latency_ms=0)
        try:
            self.probe = {"keepalive_ms": round(probe_keepalive(sim), 1)}
        finally:
            sim.stop()
        if self.probe["keepalive_ms"] >= KEEPALIVE_STALL_MS:
            print("WARNING: the simulator takes %.0f ms to answer a tiny request on a kept-alive connection at zero "
                  "latency; every request below pays it, so the results overstate the collection's cost"
                  % self.probe["keepalive_ms"], flush=True)

    def site(self, name, latency_ms, seed_users, cost_model=None):
        return Site(self, name, latency_ms, seed_users, cost_model)

    def stop_site(self, site):
        self.sites.remove(site)
        site.stop()

    def write_vars(self, variables):
        self.counter += 1
        path = os.path.join(self.tmp, "vars-%d.json" % self.counter)
        with open(path, "w") as handle:
            json.dump(variables, handle)
        return path

    def playbook(self, name, variables=None, check=False, inventory=None, forks=None, env=None):
        """Run one ansible-playbook; return (wall seconds, {rss_mb: largest resident set, cpu_s: CPU time}).

        Both come from the run's own rusage: the peak of its largest process, and the CPU time of
        all its processes (the controller's cost, which other load on the machine barely changes).
        """
        self.counter += 1
        log = os.path.join(self.tmp, "run-%d.log" % self.counter)
        path = name if os.path.isabs(name) else os.path.join(PLAYBOOKS, name)
        cmd = [self.ansible_playbook, path]
        if variables:
            cmd += ["-e", "@" + self.write_vars(variables)]
        if inventory:
            cmd += ["-i", inventory]
        if forks:
            cmd += ["--forks", str(forks)]
        if check:
            cmd += ["--check"]
        run_env = dict(self.env)
        run_env.update(env or {})
        with open(log, "wb") as out:
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=self.tmp, env=run_env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            self.live.add(proc)
            # wait4 gives the rusage of this run alone: ru_maxrss is the largest resident set of
            # ansible-playbook or any descendant it waited for (the worker running the action plugin).
            _pid, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            self.live.discard(proc)
        if proc.returncode != 0:
            with open(log) as handle:
                tail = handle.read()[-3000:]
            raise BenchError("ansible-playbook %s exited %d:\n%s" % (os.path.basename(path), proc.returncode, tail))
        return wall, {"rss_mb": usage.ru_maxrss / 1024.0, "cpu_s": usage.ru_utime + usage.ru_stime}

    # ---- bookkeeping ------------------------------------------------------------------

    def record(self, case, n, latency_ms, samples, counts=None, usage=None, note="", label=None, error=None):
        """One result row; usage is the list of what playbook() measured besides the wall time."""
        usage = usage or []
        row = {"id": report.row_id(case, n), "case": case, "label": label or case, "n": n, "latency_ms": latency_ms,
               "samples": [round(s, 4) for s in samples], "wall_s": report.median(samples),
               "peak_rss_mb": round(max(u["rss_mb"] for u in usage), 1) if usage else None,
               "cpu_s": round(report.median([u["cpu_s"] for u in usage]), 3) if usage else None,
               "note": note, "ok": error is None and bool(samples), "model": self.model}
        row.update(counts or {"requests": None, "reads": None, "writes": None})
        if error is not None:
            row["error"] = str(error)[-2000:]
        self.rows = [r for r in self.rows if (r["id"], r["model"]) != (row["id"], row["model"])] + [row]
        shown = row["id"] if self.model == "none" else "%s %s" % (self.model, row["id"])
        if error is not None:
            print("  %-34s FAILED: %s" % (shown, str(error).splitlines()[0]), flush=True)
        else:
            used = ""
            if usage:
                used = ", CPU %s, peak RSS %.0f MB" % (_secs(row["cpu_s"]), row["peak_rss_mb"] or 0)
            print("  %-34s %s  [%s]  %s reads, %s writes%s" % (
                shown, _secs(row["wall_s"]), ", ".join(_secs(s) for s in samples), row["reads"], row["writes"], used),
                flush=True)
        return row


def _secs(value):
    return "-" if value is None else "%.2fs" % value


def same_counts(seen, counts, what):
    """Every repetition must send the same requests; say so loudly when they do not."""
    if seen is not None and seen != counts:
        print("  note: %s sent %s on one run and %s on another" % (what, seen, counts), flush=True)
    return counts


def cohort_vars(site, cohort, usernames, **extra):
    variables = {"pluto_url": site.url, "pluto_token": TOKEN, "bench_cohort": cohort, "bench_usernames": usernames}
    variables.update(extra)
    return variables


# ---- the cases -------------------------------------------------------------------------

def case_noop(h):
    samples, usage = [], []
    for _rep in range(h.args.reps):
        wall, used = h.playbook("noop.yml")
        samples.append(wall)
        usage.append(used)
    h.record("noop", None, 0, samples, {"requests": 0, "reads": 0, "writes": 0}, usage,
             note="ansible-playbook with one debug task", label="one no-op task")


def case_member(h, site, n, want_floor=True, want_member=True, reps=None):
    """Check mode, add, idempotent rerun (and the floor) for N members, on a fresh empty cohort each repetition."""
    users = site.usernames(n)
    cases = ("member_check", "member_add", "member_rerun", "floor_add")
    results = dict((c, {"samples": [], "usage": [], "counts": None}) for c in cases)
    errors = {}
    for rep in range(reps or h.args.reps):
        if want_member and not errors:
            try:
                cohort = "bench-%d-%d" % (n, rep)
                cohort_id = site.create_cohort(cohort)
                variables = cohort_vars(site, cohort, users)
                for case, check in (("member_check", True), ("member_add", False), ("member_rerun", False)):
                    site.reset_log()
                    wall, used = h.playbook("member_add.yml", variables, check=check)
                    item = results[case]
                    item["samples"].append(wall)
                    item["usage"].append(used)
                    item["counts"] = same_counts(item["counts"], site.counts(), "%s/%d" % (case, n))
                    held = site.member_count(cohort_id)
                    if held != (0 if check else n):
                        raise BenchError("%s/%d: the cohort holds %d members afterwards, expected %d"
                                         % (case, n, held, 0 if check else n))
            except BenchError as error:
                errors["member"] = error
        if want_floor:
            cohort_id = site.create_cohort("bench-floor-%d-%d" % (n, rep))
            site.reset_log()
            results["floor_add"]["samples"].append(floor_add(site, cohort_id, users, h.lookup))
            results["floor_add"]["counts"] = site.counts()
            if site.member_count(cohort_id) != n:
                raise BenchError("floor_add/%d: the cohort does not hold %d members" % (n, n))
    labels = {"member_check": "pluto_cohort_member --check, empty cohort", "member_add": "pluto_cohort_member add",
              "member_rerun": "pluto_cohort_member rerun (no change)", "floor_add": "floor: the requests alone"}
    for case in ("member_check", "member_add", "member_rerun"):
        if want_member:
            item = results[case]
            h.record(case, n, site.latency_ms, item["samples"], item["counts"], item["usage"], label=labels[case],
                     error=errors.get("member"))
    if want_floor:
        item = results["floor_add"]
        h.record("floor_requests", n, site.latency_ms, item["samples"], item["counts"],
                 note="requests sent directly: %d lookups + %d adds" % (
                     math.ceil(n / float(h.lookup)), report.add_writes(n)), label=labels["floor_add"])


def combine_floor(h):
    """floor_add/N = one no-op ansible-playbook run + the requests alone."""
    noop = report.index_rows(report.rows_of(h.rows, "none")).get("noop")
    for row in report.rows_of(h.rows, h.model):
        if row["case"] != "floor_requests" or not row["ok"] or noop is None or not noop["ok"]:
            continue
        samples = [noop["wall_s"] + s for s in row["samples"]]
        h.record("floor_add", row["n"], row["latency_ms"], samples,
                 dict((k, row[k]) for k in ("requests", "reads", "writes")),
                 note="median no-op run (%.2f s) + requests alone" % noop["wall_s"], label="floor: no-op task + requests")


def case_uri(h, site, n=None):
    n = n or h.args.uri_n
    users = site.usernames(n)
    samples, usage, counts = [], [], None
    try:
        for rep in range(h.args.reps):
            cohort = "bench-uri-%d" % rep
            cohort_id = site.create_cohort(cohort)
            site.reset_log()
            wall, used = h.playbook("uri_loop.yml", cohort_vars(site, cohort, users))
            samples.append(wall)
            usage.append(used)
            counts = site.counts()
            if site.member_count(cohort_id) != n:
                raise BenchError("uri_loop/%d: the cohort does not hold %d members" % (n, n))
        h.record("uri_loop", n, site.latency_ms, samples, counts, usage, label="ansible.builtin.uri loop",
                 note="one request a member")
    except BenchError as error:
        h.record("uri_loop", n, site.latency_ms, samples, counts, usage, label="ansible.builtin.uri loop", error=error)


def case_loop(h, site, module_process=True):
    """An unchanged cohort task against a debug task, in the same loop."""
    k = h.args.loop_items
    users = site.usernames(10)
    cohort = "bench-loop-%d" % site.latency_ms
    cohort_id = site.create_cohort(cohort)
    variables = cohort_vars(site, cohort, users, bench_loop_items=k)
    h.playbook("member_add.yml", variables)
    if site.member_count(cohort_id) != len(users):
        raise BenchError("loop setup: the cohort does not hold its %d members" % len(users))
    suffix = "" if site.latency_ms == 0 else "_latency"
    for case, playbook, env, reps in (
            ("loop_debug", "loop_debug.yml", None, h.args.reps),
            ("loop_cohort_unchanged", "loop_cohort.yml", None, h.args.reps),
            ("loop_cohort_module_process", "loop_cohort.yml", {"PLUTO_LMS_MODULE_PROCESS": "1"}, 1 if module_process else 0)):
        samples, usage, counts = [], [], None
        try:
            for _rep in range(reps):
                site.reset_log()
                wall, used = h.playbook(playbook, variables, env=env)
                samples.append(wall)
                usage.append(used)
                counts = site.counts()
        except BenchError as error:
            h.record(case + suffix, None, site.latency_ms, samples, counts, usage, error=error)
            continue
        if not samples:
            continue
        label = {"loop_debug": "ansible.builtin.debug, %d-item loop" % k,
                 "loop_cohort_unchanged": "pluto_cohort_member unchanged, %d-item loop" % k,
                 "loop_cohort_module_process": "same, PLUTO_LMS_MODULE_PROCESS=1"}[case]
        row = h.record(case + suffix, None, site.latency_ms, samples, counts, usage, label=label,
                       note="%.1f ms a task" % (report.median(samples) * 1000.0 / k))
        row["n"] = k


def case_scale(h, site, module_process=True):
    """One task adding up to 50,000 members at zero latency; its rerun at the largest size.

    The largest size runs --scale-reps times (default once: it takes half a minute), the others --reps times.
    """
    for n in h.args.scale_sizes:
        users = site.usernames(n)
        samples, usage, counts = [], [], None
        try:
            for rep in range(h.args.scale_reps if n == max(h.args.scale_sizes) else h.args.reps):
                cohort = "bench-scale-%d-%d" % (n, rep)
                cohort_id = site.create_cohort(cohort)
                site.reset_log()
                wall, used = h.playbook("member_add.yml", cohort_vars(site, cohort, users))
                samples.append(wall)
                usage.append(used)
                counts = site.counts()
                if site.member_count(cohort_id) != n:
                    raise BenchError("scale_add/%d: the cohort does not hold %d members" % (n, n))
            h.record("scale_add", n, 0, samples, counts, usage, label="pluto_cohort_member add, zero latency")
        except BenchError as error:
            h.record("scale_add", n, 0, samples, counts, usage, error=error)
            continue
        if n == max(h.args.scale_sizes):
            variables = cohort_vars(site, cohort, users)
            site.reset_log()
            wall, used = h.playbook("member_add.yml", variables)
            h.record("scale_rerun", n, 0, [wall], site.counts(), [used], label="pluto_cohort_member rerun, zero latency")
            if module_process:
                cohort = "bench-scale-module-%d" % n
                site.create_cohort(cohort)
                site.reset_log()
                try:
                    wall, used = h.playbook("member_add.yml", cohort_vars(site, cohort, users),
                                            env={"PLUTO_LMS_MODULE_PROCESS": "1"})
                    h.record("scale_add_module_process", n, 0, [wall], site.counts(), [used],
                             label="same add, PLUTO_LMS_MODULE_PROCESS=1")
                except BenchError as error:
                    h.record("scale_add_module_process", n, 0, [], None, None, error=error)


def tenant_inventory(h, sites, name):
    """A YAML inventory (JSON is YAML): one pluto_tenants host a simulator, with a typical tenant's cohorts.

    Each tenant gets the role's four standard cohorts (three of them with members) and two of its own.
    """
    users = sites[0].usernames(TENANT_USERS) if sites else []
    cohorts = [
        {"idnumber": "students", "name": "Students", "members": users[:150]},
        {"idnumber": "faculty", "name": "Faculty", "members": users[150:170]},
        {"idnumber": "staff", "name": "Staff", "members": users[170:180]},
        {"idnumber": "alumni", "name": "Alumni", "visible": False},
    ]
    extra = [
        {"idnumber": "exchange-students", "name": "Exchange students", "description": "Visiting for one term",
         "description_format": "plain", "members": users[180:190]},
        {"idnumber": "tutors", "name": "Tutors", "members": users[190:200]},
    ]
    hosts = dict(("tenant%02d" % (index + 1), {"pluto_url": site.url, "pluto_token": TOKEN})
                 for index, site in enumerate(sites))
    inventory = {"all": {"children": {"pluto_tenants": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "cohort_bootstrap_cohorts": cohorts, "cohort_bootstrap_extra_cohorts": extra},
        "hosts": hosts}}}}
    path = os.path.join(h.tmp, name + ".yml")
    with open(path, "w") as handle:
        json.dump(inventory, handle, indent=1)
    return path


def case_role(h):
    """playbooks/provision_tenants.yml against one fresh simulator a repetition; then its rerun."""
    playbook = os.path.join(ROOT, "playbooks", "provision_tenants.yml")
    results = {"role_provision": ([], [], None), "role_rerun": ([], [], None)}
    error = None
    try:
        for rep in range(h.args.reps):
            site = h.site("role-%d" % rep, h.args.latency_ms, TENANT_USERS)
            inventory = tenant_inventory(h, [site], "role-%d" % rep)
            for case in ("role_provision", "role_rerun"):
                site.reset_log()
                wall, used = h.playbook(playbook, inventory=inventory)
                samples, usage, _counts = results[case]
                samples.append(wall)
                usage.append(used)
                results[case] = (samples, usage, site.counts())
            h.stop_site(site)
    except BenchError as err:
        error = err
    for case, label in (("role_provision", "role cohort_bootstrap, one new tenant"),
                        ("role_rerun", "same, rerun (no change)")):
        samples, usage, counts = results[case]
        h.record(case, 1, h.args.latency_ms, samples, counts, usage, label=label, error=error)


def case_audit(h):
    """playbooks/audit_cohorts.yml over N tenants (one simulator each), forks 5, after provisioning them."""
    n = h.args.tenants
    sites = [h.site("tenant-%d" % i, h.args.latency_ms, TENANT_USERS) for i in range(n)]
    inventory = tenant_inventory(h, sites, "audit")
    samples, usage, counts = [], [], None
    error = None
    try:
        h.playbook(os.path.join(ROOT, "playbooks", "provision_tenants.yml"), inventory=inventory, forks=h.args.forks)
        for _rep in range(h.args.reps):
            for site in sites:
                site.reset_log()
            wall, used = h.playbook(os.path.join(ROOT, "playbooks", "audit_cohorts.yml"), inventory=inventory,
                                    forks=h.args.forks)
            samples.append(wall)
            usage.append(used)
            per_site = [site.counts() for site in sites]
            counts = dict((k, sum(c[k] for c in per_site)) for k in ("requests", "reads", "writes"))
    except BenchError as err:
        error = err
    h.record("audit", n, h.args.latency_ms, samples, counts, usage, label="audit_cohorts.yml, %d tenants" % n,
             note="forks %d; requests summed over the tenants" % h.args.forks, error=error)
    for site in sites:
        h.stop_site(site)


# ---- whole tenants: pluto_cohorts against the 0.1.0 loop and the floor script ------------------------------

# The 0.1.0 release: its role and playbooks looped one task a cohort (the "0.1.0 loop" arm).
BASELINE_COMMIT = "fad2ea3"
TENANT_ARMS = (("", "pluto.lms"), ("_loop010", "0.1.0 loop"), ("_floor", "floor script"))


def role_cohorts(extra=200):
    """The role's four standard cohorts and `extra` more, the first of them with two members (204 in all)."""
    cohorts = [{"idnumber": "club", "name": "Club", "members": ["u00001", "u00002"]}]
    cohorts += [{"idnumber": "extra-%03d" % i, "name": "Extra %03d" % i} for i in range(2, extra + 1)]
    return cohorts


STANDARD_COHORTS = [{"idnumber": "students", "name": "Students"}, {"idnumber": "faculty", "name": "Faculty"},
                    {"idnumber": "staff", "name": "Staff"}, {"idnumber": "alumni", "name": "Alumni", "visible": False}]


def sync_members(cohorts, per_cohort, users, prefix="sync"):
    """cohorts x per_cohort memberships over `users` distinct users (each cohort's members are distinct)."""
    return dict(("%s-%03d" % (prefix, c + 1), ["u%05d" % (1 + (c * 37 + m * 53) % users) for m in range(per_cohort)])
                for c in range(cohorts))


def single_tenant_inventory(h, site, name, host_vars=None):
    hosts = {"tenant01": dict({"pluto_url": site.url, "pluto_token": TOKEN}, **(host_vars or {}))}
    return write_inventory(h, name, hosts)


def write_inventory(h, name, hosts, group_vars=None):
    variables = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    variables.update(group_vars or {})
    path = os.path.join(h.tmp, name + ".yml")
    with open(path, "w") as handle:
        json.dump({"all": {"children": {"pluto_tenants": {"vars": variables, "hosts": hosts}}}}, handle, indent=1)
    return path


def run_floor_script(h, job, sites):
    """benchmarks/floor.py as its own process: (wall seconds including Python's start, its answer)."""
    path = h.write_vars(job)
    cmd = [sys.executable, os.path.join(ROOT, "benchmarks", "floor.py"), path]
    for site in sites:
        cmd += [site.url, TOKEN]
    started = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError("the floor script failed: %s" % done.stdout[-2000:])
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


class Arm(object):
    """Samples of one case of one arm; recorded once all its runs are done."""

    def __init__(self, case, n, label, note=""):
        self.case, self.n, self.label, self.note = case, n, label, note
        self.samples, self.usage, self.counts, self.error = [], [], None, None

    def add(self, wall, used, counts):
        self.samples.append(wall)
        if used is not None:
            self.usage.append(used)
        self.counts = same_counts(self.counts, counts, self.case)

    def record(self, h, latency_ms):
        if self.samples or self.error is not None:
            h.record(self.case, self.n, latency_ms, self.samples, self.counts, self.usage, note=self.note,
                     label=self.label, error=self.error)


def arm_playbook(h, arm, name):
    """The playbook `name` (playbooks/...) of this checkout, or of 0.1.0 for the loop arm, and its environment."""
    if arm == "_loop010":
        return os.path.join(h.baseline, "playbooks", name), {"ANSIBLE_COLLECTIONS_PATH": h.baseline_tree}
    return os.path.join(ROOT, "playbooks", name), None


def run_tenant_arm(h, suffix, job, sites, playbook_name, extra_vars=None, **playbook_args):
    """One run of a whole-tenant arm: the floor script sending `job` to `sites`, or the arm's playbook.
    Returns (wall seconds, resources used or None, the floor script's answer or None)."""
    if suffix == "_floor":
        wall, answer = run_floor_script(h, job, sites)
        return wall, None, answer
    playbook, env = arm_playbook(h, suffix, playbook_name)
    wall, used = h.playbook(playbook, extra_vars, env=env, **playbook_args)
    return wall, used, None


def tenant_arms(h):
    return [(suffix, label) for suffix, label in TENANT_ARMS
            if (suffix.strip("_") or "pluto") in h.args.arms
            and (suffix != "_loop010" or (h.baseline and h.model in h.args.baseline_models))]


def arm_reps(h, suffix, reps):
    return h.args.baseline_reps if suffix == "_loop010" else reps


def case_tenant_role(h, latency_ms, cost_model=None):
    """The role, 204 cohorts on a fresh site (one new simulator a run), then its rerun; each arm."""
    cohorts = role_cohorts(h.args.role_extra)
    total = len(cohorts) + len(STANDARD_COHORTS)
    job = {"job": "role", "cohorts": STANDARD_COHORTS + cohorts}
    for suffix, arm_label in tenant_arms(h):
        arms = [Arm("tenant_role_fresh" + suffix, total, "%s: role cohort_bootstrap, %d cohorts, fresh site" % (arm_label, total)),
                Arm("tenant_role_rerun" + suffix, total, "%s: same, rerun (no change)" % arm_label)]
        try:
            for rep in range(arm_reps(h, suffix, h.args.reps)):
                site = h.site("role%s-%d" % (suffix, rep), latency_ms, 10, cost_model)
                try:
                    inventory = single_tenant_inventory(h, site, "role%s-%d" % (suffix, rep),
                                                        {"cohort_bootstrap_extra_cohorts": cohorts})
                    for arm in arms:
                        site.reset_log()
                        wall, used, _answer = run_tenant_arm(h, suffix, job, [site], "provision_tenants.yml",
                                                             inventory=inventory)
                        arm.add(wall, used, site.counts())
                        held = len(site.call("core_cohort_get_cohorts"))
                        if held != total:
                            raise BenchError("%s: the site holds %d cohorts, expected %d" % (arm.case, held, total))
                finally:
                    h.stop_site(site)
        except BenchError as error:
            arms[0].error = error
        for arm in arms:
            arm.record(h, latency_ms)


def case_tenant_sync(h, latency_ms, cost_model=None):
    """playbooks/sync_cohort_members.yml: cohorts x members into existing empty cohorts, then its rerun; each arm."""
    cohorts, per, users = h.args.sync_size
    wanted = sync_members(cohorts, per, users)
    distinct = len(set(u for members in wanted.values() for u in members))
    site = h.site("sync", latency_ms, users, cost_model)
    try:
        for suffix, arm_label in tenant_arms(h):
            arms = [Arm("tenant_sync" + suffix, cohorts * per, "%s: sync_cohort_members, %d cohorts x %d users"
                        % (arm_label, cohorts, per), note="%d distinct users" % distinct),
                    Arm("tenant_sync_rerun" + suffix, cohorts * per, "%s: same, rerun (no change)" % arm_label)]
            try:
                for rep in range(arm_reps(h, suffix, h.args.tenant_reps)):
                    prefix = "sync%s-%d" % (suffix.strip("_") or "c", rep)
                    wanted = sync_members(cohorts, per, users, prefix)
                    # The cohorts exist and are empty (one setup request, not measured).
                    site.call("core_cohort_create_cohorts", [
                        pair for i, idnumber in enumerate(sorted(wanted)) for pair in (
                            ("cohorts[%d][categorytype][type]" % i, "system"), ("cohorts[%d][categorytype][value]" % i, ""),
                            ("cohorts[%d][name]" % i, idnumber), ("cohorts[%d][idnumber]" % i, idnumber))])
                    csv = os.path.join(h.tmp, "%s.csv" % prefix)
                    with open(csv, "w") as handle:
                        handle.write("cohort_idnumber,username\n")
                        for idnumber in sorted(wanted):
                            handle.writelines("%s,%s\n" % (idnumber, u) for u in wanted[idnumber])
                    job = {"job": "sync", "cohorts": [{"idnumber": k, "name": k, "members": v} for k, v in sorted(wanted.items())]}
                    inventory = single_tenant_inventory(h, site, prefix)
                    for arm in arms:
                        site.reset_log()
                        wall, used, _answer = run_tenant_arm(h, suffix, job, [site], "sync_cohort_members.yml",
                                                             {"cohort_members_csv": csv}, inventory=inventory)
                        arm.add(wall, used, site.counts())
                    held = sum(len(c["userids"]) for c in site.call("core_cohort_get_cohort_members", [
                        ("cohortids[%d]" % i, str(c["id"])) for i, c in enumerate(
                            c for c in site.call("core_cohort_get_cohorts") if c["idnumber"].startswith(prefix + "-"))]))
                    if held != cohorts * per:
                        raise BenchError("%s: the cohorts hold %d members, expected %d" % (arms[0].case, held, cohorts * per))
            except BenchError as error:
                arms[0].error = error
            for arm in arms:
                arm.record(h, latency_ms)
    finally:
        h.stop_site(site)


def case_tenant_audit(h, latency_ms, cost_model=None):
    """playbooks/audit_cohorts.yml: one tenant of 204 cohorts, and twenty tenants of four cohorts (one site)."""
    members = {"faculty": ["u00001", "u00002", "u00003", "u00004"], "staff": ["u00005", "u00006"]}
    standard = [dict(c, **({"members": members[c["idnumber"]]} if c["idnumber"] in members else {}))
                for c in STANDARD_COHORTS]
    extra = role_cohorts(h.args.role_extra)
    for case, tenants, cohorts in (("tenant_audit_one", 1, standard + extra), ("tenant_audit_twenty", h.args.audit_tenants, standard)):
        site = h.site(case, latency_ms, 10, cost_model)
        try:
            hosts = dict(("t%02d" % (i + 1), {"pluto_url": site.url, "pluto_token": TOKEN}) for i in range(tenants))
            group = {"cohort_bootstrap_cohorts": standard, "cohort_bootstrap_extra_cohorts": cohorts[len(standard):]}
            inventory = write_inventory(h, case, hosts, group)
            # Provisioned, then drifted by hand: one cohort renamed, one member removed.
            h.playbook(os.path.join(ROOT, "playbooks", "provision_tenants.yml"), inventory=inventory, forks=h.args.forks)
            subprocess.run([sys.executable, os.path.join(ROOT, "playbooks", "demo", "drift.py"), site.url, TOKEN,
                            "faculty", "Faculty (renamed by hand)", "u00002"], check=True, stdout=subprocess.DEVNULL)
            job = {"job": "audit", "cohorts": cohorts}
            label = "one tenant, %d cohorts" % len(cohorts) if tenants == 1 else "%d tenants, %d cohorts each" % (
                tenants, len(cohorts))
            for suffix, arm_label in tenant_arms(h):
                arm = Arm(case + suffix, tenants, "%s: audit_cohorts, %s" % (arm_label, label),
                          note="forks %d" % h.args.forks if tenants > 1 and suffix != "_floor" else "")
                try:
                    for _rep in range(arm_reps(h, suffix, h.args.tenant_reps)):
                        site.reset_log()
                        wall, used, answer = run_tenant_arm(
                            h, suffix, job, [site] * tenants, "audit_cohorts.yml",
                            {"cohort_audit_dir": os.path.join(h.tmp, case + suffix)}, inventory=inventory, forks=h.args.forks)
                        if answer is not None and answer[0] != {"missing": 0, "members_differ": 1}:
                            raise BenchError("%s: the floor script saw %s" % (arm.case, answer[0]))
                        arm.add(wall, used, site.counts())
                        if site.counts()["writes"]:
                            raise BenchError("%s: the audit wrote to the site" % arm.case)
                except BenchError as error:
                    arm.error = error
                arm.record(h, latency_ms)
        except BenchError as error:
            h.record(case, tenants, latency_ms, [], None, None, error=error)
        finally:
            h.stop_site(site)


def case_tenant_scale(h):
    """One pluto_cohorts task making C cohorts of 50 members each at zero latency, for several C."""
    sizes, per, users = h.args.cohort_scale
    site = h.site("cohort-scale", 0, users)
    try:
        for cohorts in sizes:
            wanted = sync_members(cohorts, per, users, "scale%d" % cohorts)
            config = [{"idnumber": k, "name": k, "members": v} for k, v in sorted(wanted.items())]
            arm = Arm("tenant_scale", cohorts, "pluto_cohorts: %d cohorts x %d members, one task" % (cohorts, per),
                      note="%s memberships, zero latency" % "{:,}".format(cohorts * per))
            try:
                site.reset_log()
                wall, used = h.playbook("cohorts_set.yml", {"pluto_url": site.url, "pluto_token": TOKEN,
                                                            "bench_config": config})
                arm.add(wall, used, site.counts())
            except BenchError as error:
                arm.error = error
            arm.record(h, 0)
    finally:
        h.stop_site(site)


TENANT_GROUPS = ("tenant_role", "tenant_sync", "tenant_audit")


def run_tenant_cases(h, want, cost_model=None):
    """The whole-tenant jobs under one model: a cost model (no latency) or none (the usual latency)."""
    latency = 0 if cost_model else h.args.latency_ms
    if "tenant_role" in want:
        case_tenant_role(h, latency, cost_model)
    if "tenant_sync" in want:
        case_tenant_sync(h, latency, cost_model)
    if "tenant_audit" in want:
        case_tenant_audit(h, latency, cost_model)


def run_cost_models(h, want):
    """The member, floor and uri-loop cases on a simulator that charges each request its real-site cost.

    One simulator a database kind, with --cost-model --db KIND and no added latency: the costs were
    measured on loopback, so they hold the site's own time and nothing of a network.
    """
    if not want & {"member", "floor", "uri"}:
        for db in h.args.cost_models if want & set(TENANT_GROUPS) else ():
            h.model = db
            print("%s: whole tenants" % report.MODEL_LABELS[db], flush=True)
            try:
                run_tenant_cases(h, want, db)
            finally:
                h.model = "none"
        return
    sizes = list(h.args.cost_sizes)
    for db in h.args.cost_models:
        h.model = db
        shown = ", ".join(str(n) for n in sizes)
        print("%s: N = %s, uri loop of %d" % (report.MODEL_LABELS[db], shown, h.args.cost_uri_n), flush=True)
        site = h.site("cost-" + db, 0, max(sizes + [h.args.cost_uri_n, 10]), cost_model=db)
        try:
            for n in sizes:
                reps = h.args.cost_big_reps if len(sizes) > 2 and n == max(sizes) else None
                case_member(h, site, n, want_floor="floor" in want, want_member="member" in want, reps=reps)
            combine_floor(h)
            if "uri" in want:
                case_uri(h, site, h.args.cost_uri_n)
            h.stop_site(site)
            site = None
            if want & set(TENANT_GROUPS):
                print("%s: whole tenants" % report.MODEL_LABELS[db], flush=True)
                run_tenant_cases(h, want, db)
        finally:
            if site is not None:
                h.stop_site(site)
            h.model = "none"


def all_verdicts(h):
    """The targets judged on each model's rows: {"none": [...], "postgres": [...], "mariadb": [...]}."""
    none_rows = report.rows_of(h.rows, "none")
    noop = [r for r in none_rows if r["case"] == "noop"]
    verdicts = {"none": report.evaluate(none_rows, h.args.sizes, h.lookup, h.args.scale_sizes)
                + report.evaluate_tenants(none_rows, with_wall=False, with_scale=True)}
    for db in h.args.cost_models:
        rows = report.rows_of(h.rows, db)
        if rows:
            verdicts[db] = report.evaluate(rows + noop, h.args.cost_sizes, h.lookup,
                                           floor_at=sorted(h.args.cost_sizes)[-2:], with_scale=False)
            verdicts[db] += report.evaluate_tenants(rows, noop[0] if noop else None)
    return verdicts


# ---- output ----------------------------------------------------------------------------

def ansible_version(h):
    try:
        out = subprocess.check_output([h.ansible_playbook, "--version"], env=h.env, universal_newlines=True)
        return out.splitlines()[0]
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def git_commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, universal_newlines=True,
                                       stderr=subprocess.DEVNULL).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def ensure_matplotlib():
    try:
        import matplotlib  # noqa: F401 pylint: disable=unused-import,import-outside-toplevel
        return True
    except ImportError:
        print("installing matplotlib into %s for the plot" % sys.prefix, flush=True)
        pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "matplotlib"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
        if pip.returncode != 0:
            print(pip.stdout[-2000:], file=sys.stderr)
        return pip.returncode == 0


def plot(rows, path):
    if not ensure_matplotlib():
        print("no plot: matplotlib could not be installed", file=sys.stderr)
        return False
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    all_rows = rows
    rows = report.rows_of(rows, "none")
    tenant_models = [m for m in report.MODELS if report.render_tenant_table(report.rows_of(all_rows, m))]
    by_case = {}
    for row in rows:
        if row.get("ok") and row.get("n") and row.get("wall_s") is not None:
            by_case.setdefault(row["case"], []).append(row)
    if tenant_models:
        figure, grid = plt.subplots(1 + len(tenant_models), 1, figsize=(8, 5.5 + 3.6 * len(tenant_models)), dpi=110,
                                    gridspec_kw={"height_ratios": [5.5] + [3.6] * len(tenant_models)})
        axes = grid[0]
        for model, tenant_axes in zip(tenant_models, grid[1:]):
            plot_tenants(tenant_axes, report.rows_of(all_rows, model), model)
    else:
        figure, axes = plt.subplots(figsize=(8, 5.5), dpi=110)
    styles = (("member_add", "pluto_cohort_member: add N members", "o-", "tab:blue"),
              ("member_rerun", "pluto_cohort_member: rerun (no change)", "s--", "tab:cyan"),
              ("floor_add", "floor: no-op task + fewest requests", "^-", "tab:green"),
              ("uri_loop", "ansible.builtin.uri loop (measured)", "D", "tab:red"))
    for case, label, style, colour in styles:
        points = sorted(by_case.get(case, []), key=lambda r: r["n"])
        if points:
            axes.plot([p["n"] for p in points], [p["wall_s"] for p in points], style, color=colour, label=label)
    speed = report.per_member_speedup(rows, sorted(set(r["n"] for r in by_case.get("member_add", []))))
    noop = report.index_rows(rows).get("noop")
    sizes = sorted(set(r["n"] for r in by_case.get("member_add", [])))
    if speed and noop and sizes:
        xs = [min(sizes + [r["n"] for r in by_case.get("uri_loop", [])]), max(sizes)]
        axes.plot(xs, [noop["wall_s"] + speed["uri_ms"] * x / 1000.0 for x in xs], ":", color="tab:red",
                  label="uri loop, extrapolated (%.0f ms a member)" % speed["uri_ms"])
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("members added (N)")
    axes.set_ylabel("wall time of the run, s (median)")
    latency = by_case.get("member_add", [{}])[0].get("latency_ms", 20)
    axes.set_title("pluto.lms: adding N members to a cohort (%s, %s ms latency)"
                   % (report.MODEL_LABELS["none"], latency))
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return True


def plot_tenants(axes, rows, model):
    """The whole-tenant jobs under one model: a group of bars a job, one bar an arm (log scale)."""
    by_case = dict((r["case"], r) for r in rows if r.get("ok") and r.get("wall_s"))
    short = {"tenant_role_fresh": "role, fresh site", "tenant_role_rerun": "role, rerun", "tenant_sync": "sync",
             "tenant_sync_rerun": "sync, rerun", "tenant_audit_one": "audit, 1 tenant", "tenant_audit_twenty": "audit, tenants"}
    jobs = [(case, short[case]) for case, _label in report.TENANT_JOBS
            if any(case + suffix in by_case for suffix, _label in report.TENANT_ARM_SUFFIXES)]
    colours = ("tab:blue", "tab:red", "tab:green")
    height = 0.8 / len(report.TENANT_ARM_SUFFIXES)
    for index, ((suffix, label), colour) in enumerate(zip(report.TENANT_ARM_SUFFIXES, colours)):
        ys = [position + index * height for position in range(len(jobs))]
        walls = [by_case[case + suffix]["wall_s"] if case + suffix in by_case else 0 for case, _job in jobs]
        axes.barh(ys, walls, height=height, color=colour, label=label)
    axes.set_yticks([position + height for position in range(len(jobs))])
    axes.set_yticklabels([job for _case, job in jobs], fontsize=8)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.set_xlabel("wall time, s (median)")
    axes.set_title("whole tenants, %s" % report.MODEL_LABELS[model], fontsize=10)
    axes.grid(True, axis="x", which="both", alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)


def simulator_note(meta):
    probe = meta.get("simulator") or {}
    return "the simulator answers a tiny request on a kept-alive connection in %s ms at zero latency" % (
        probe.get("keepalive_ms"))


def title(model):
    label = report.MODEL_LABELS[model]
    return label[:1].upper() + label[1:]


def runs(count):
    return "%d run%s" % (count, "" if count == 1 else "s")


def member_table(meta, rows, sizes):
    """Adding N members: the collection, its rerun, the floor and the uri loop, with their request counts."""
    by_id = report.index_rows(rows)
    lines = ["| adding N members | pluto_cohort_member | rerun (no change) | floor | uri loop |",
             "|---:|---:|---:|---:|---:|"]
    for n in sizes:
        cells = []
        for case in ("member_add", "member_rerun", "floor_add", "uri_loop"):
            row = by_id.get(report.row_id(case, n))
            if row is not None and row.get("ok"):
                runs = "" if len(row["samples"]) == meta["reps"] else ", %d run" % len(row["samples"])
                cells.append("%s (%d req.%s)" % (report._fmt_seconds(row["wall_s"]), row["requests"], runs))  # pylint: disable=protected-access
            else:
                cells.append("-")
        lines.append("| {:,} | {} |".format(n, " | ".join(cells)))
    return lines


def cost_model_lines(meta, rows, verdicts):
    """One cost model's figures: the table, per member against the uri loop, collection / floor, the targets."""
    lines = member_table(meta, rows, meta["cost_sizes"])
    by_target = dict((v["target"], v) for v in verdicts)
    speed = by_target.get("per member: uri loop / collection")
    uri = [r for r in rows if r["case"] == "uri_loop" and r.get("ok")]
    facts = []
    if uri:
        facts.append("the uri loop added %d members in %s" % (uri[0]["n"], report._fmt_seconds(uri[0]["wall_s"])))  # pylint: disable=protected-access
    if speed and speed["met"] is not None:
        facts.append("per member, the collection is %s" % speed["measured"])
    floors = [v["measured"].split(" (")[0] + " at " + v["target"].rsplit(" at ", 1)[1]
              for v in verdicts if v["target"].startswith("collection / floor") and v["met"] is not None]
    if floors:
        facts.append("collection / floor %s" % ", ".join(floors))
    lines += ["", "%s. %s." % ("; ".join(facts)[:1].upper() + "; ".join(facts)[1:], verdict_count(verdicts))]
    return lines


def verdict_count(verdicts):
    judged = [v for v in verdicts if v["met"] is not None]
    missed = [v["target"] for v in judged if not v["met"]]
    text = "%d of %d targets met" % (len(judged) - len(missed), len(judged))
    if missed:
        text += " (NOT MET: %s)" % "; ".join(missed)
    return text


def summary_block(meta, rows, verdicts):
    """The text quoted in README.md: the real-site cost model's figures first, then the simulator's own."""
    lines = ["Measured by `make bench` (%s, commit %s, %s; %d cores; load average %s at the start, %s at the end). "
             "Full results: [benchmarks/results/results.md](%sbenchmarks/results/results.md)." % (
                 meta["date"][:10], meta["commit"], meta["ansible"], meta["cpus"],
                 " / ".join("%.2f" % x for x in meta["loadavg_start"]),
                 " / ".join("%.2f" % x for x in meta["loadavg_end"]), REPOSITORY)]
    others = report.earlier_runs(meta)
    if others:
        lines[0] = lines[0].replace("Measured by `make bench` (", "Measured by `make bench`: the groups %s (" % (
            ", ".join(meta["groups"])), 1)
        lines[0] += "".join(" %s are from the run of %s (commit %s, load average %s at its start, %s at its end)." % (
            "The groups " + ", ".join(run["groups"]) if run.get("groups") else "The other rows", run["date"][:10],
            run["commit"], " / ".join("%.2f" % x for x in run["loadavg_start"]),
            " / ".join("%.2f" % x for x in run["loadavg_end"])) for run in others)
    lines.append("")
    for db in meta.get("cost_models", []):
        model_rows = report.rows_of(rows, db)
        if not model_rows or db not in verdicts:
            continue
        big = ""
        if len(meta["cost_sizes"]) > 2:
            big = " (%s members: %s)" % ("{:,}".format(max(meta["cost_sizes"])), runs(meta["cost_big_reps"]))
        lines += ["**%s**: every request takes what it takes on a real Moodle 4.5 site on %s (the measured cost "
                  "model, `--cost-model --db %s`), no added latency; median of %s%s." % (
                      title(db), {"postgres": "PostgreSQL", "mariadb": "MariaDB"}[db], db, runs(meta["reps"]), big), ""]
        lines += cost_model_lines(meta, model_rows, verdicts[db]) + [""]
        lines += tenant_lines(model_rows, None, verdicts[db])
    lines += ["**%s**: the simulator's own speed (%s), %d ms latency added to every request (scale cases at zero "
              "latency); median of %s. These figures show the collection's own overhead: a real site spends far "
              "longer on each user (above)."
              % (title("none"), simulator_note(meta), meta["latency_ms"], runs(meta["reps"])), ""]
    lines += member_table(meta, report.rows_of(rows, "none"), meta["sizes"])
    lines += [""] + tenant_lines(report.rows_of(rows, "none"), None)
    lines += [report.render_verdicts(verdicts["none"]), "",
              "![time against N, simulator with no cost](%sbenchmarks/results/time_vs_n.png)" % REPOSITORY_RAW]
    return "\n".join(lines)


def tenant_lines(rows, heading, verdicts=None):
    """The whole-tenant jobs' table (and, in the README, how many of their targets were met)."""
    table = report.render_tenant_table(rows)
    if not table:
        return []
    lines = ["%s Whole tenants" % heading, ""] if heading else [
        "Whole tenants (each cell: wall time, requests / writes, peak RSS):", ""]
    lines += [table, ""]
    if verdicts is not None:
        tenant = [v for v in verdicts if v["target"].startswith(("requests: role", "requests: sync", "requests: audit",
                                                                 "wall: "))]
        if tenant:
            lines += ["Whole tenants: %s." % verdict_count(tenant), ""]
    return lines


def previous_results(out):
    path = os.path.join(out, "results.json")
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def write_results(h, meta, verdicts, want_plot):
    out = h.args.out
    os.makedirs(out, exist_ok=True)
    rows = h.rows
    with open(os.path.join(out, "results.json"), "w") as handle:
        json.dump({"meta": meta, "rows": rows, "verdicts": verdicts["none"],
                   "cost_model_verdicts": dict((k, v) for k, v in verdicts.items() if k != "none")},
                  handle, indent=1, sort_keys=True)
        handle.write("\n")
    plotted = want_plot and plot(rows, os.path.join(out, "time_vs_n.png"))
    text = ["# pluto.lms benchmark results", "",
            "Generated by `make bench` (`benchmarks/run.py`); how to read them: [docs/benchmarks.md](../../docs/benchmarks.md).",
            "",
            "- date %s, commit %s, %s, Python %s, %d cores" % (meta["date"], meta["commit"], meta["ansible"],
                                                               meta["python"], meta["cpus"]),
            "- load average (1, 5, 15 min) at the start %s, at the end %s: the machine is shared, and other work on it "
            "shows up as noise in the wall times" % (meta["loadavg_start"], meta["loadavg_end"]),
            "- the whole run took %.0f s" % meta["duration_s"]]
    others = report.earlier_runs(meta)
    if others:
        text.append("- this run measured only %s; %s" % (", ".join(meta["groups"]), "; ".join(
            "%s are from the run of %s (commit %s, load average %s at its start, %s at its end)" % (
                "the groups " + ", ".join(run["groups"]) if run.get("groups") else "the other rows", run["date"],
                run["commit"], run["loadavg_start"], run["loadavg_end"]) for run in others)))
    text += ["- %s" % note for note in meta.get("notes", [])]
    text.append("")
    for db in meta.get("cost_models", []):
        model_rows = report.rows_of(rows, db)
        if not model_rows:
            continue
        text += ["## %s" % title(db), "",
                 "Every request sleeps what it costs on a real Moodle 4.5 site on %s (`--cost-model --db %s`, "
                 "tests/simulator/costs.py), in the simulator's worker that serves it; no latency is added (the "
                 "costs were measured on loopback). %d runs a case, median reported (the largest size: %d run(s))."
                 % ({"postgres": "PostgreSQL", "mariadb": "MariaDB"}[db], db, meta["reps"], meta["cost_big_reps"]),
                 "", "### Targets", "", report.render_verdicts(verdicts.get(db, [])), ""]
        text += tenant_lines(model_rows, "###")
        text += ["### Every case", "", report.render_rows(model_rows), ""]
    text += ["## %s" % title("none"), "",
             "The simulator's own speed: a request costs only its processing (%s), plus %d ms latency a request "
             "(scale and loop cases also at zero latency). %d runs a case, median reported (the largest scale case: "
             "%d run(s))." % (simulator_note(meta), meta["latency_ms"], meta["reps"], meta["scale_reps"]),
             "", "### Targets", "", report.render_verdicts(verdicts["none"]), ""]
    text += tenant_lines(report.rows_of(rows, "none"), "###")
    text += ["### Every case", "", report.render_rows(report.rows_of(rows, "none")), ""]
    if plotted:
        text += ["### Time against N", "", "![time against N](time_vs_n.png)", ""]
    failed = [r for r in rows if r.get("error")]
    if failed:
        text += ["## Failures", ""] + ["- `%s %s`: %s" % (r["model"], r["id"], r["error"].splitlines()[0])
                                       for r in failed] + [""]
    with open(os.path.join(out, "results.md"), "w") as handle:
        handle.write("\n".join(text))
    return summary_block(meta, rows, verdicts)


def update_readme(block):
    path = os.path.join(ROOT, "README.md")
    if not os.path.exists(path):
        return False
    with open(path) as handle:
        text = handle.read()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    text = text[:start + len(README_START)] + "\n" + block + "\n" + text[end:]
    with open(path, "w") as handle:
        handle.write(text)
    return True


def render_only(h):
    """--render: the report of the results already in --out, measured by an earlier run."""
    previous = previous_results(h.args.out)
    if previous is None:
        raise SystemExit("no results.json in %s to render" % h.args.out)
    h.rows = previous["rows"]
    meta = previous["meta"]
    verdicts = all_verdicts(h)
    block = write_results(h, meta, verdicts, not h.args.no_plot)
    for model in list(h.args.cost_models) + ["none"]:
        if verdicts.get(model):
            print("\nTargets, %s:\n%s" % (report.MODEL_LABELS[model], report.render_verdict_lines(verdicts[model])))
    if not meta.get("quick") and h.args.out == os.path.join(ROOT, "benchmarks", "results") and update_readme(block):
        print("README.md: the benchmark block is refreshed")
    return 0


def on_signal(signum, _frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    want = set(args.only or GROUPS)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    started = time.time()
    load_start = [round(x, 2) for x in os.getloadavg()]
    h = Harness(args)
    try:
        if args.render:
            return render_only(h)
        h.probe_simulator()
        print("pluto.lms benchmarks: %d runs a case, latency %d ms%s" % (
            args.reps, args.latency_ms, " (quick)" if args.quick else ""), flush=True)
        if want & {"noop", "floor", "uri", "tenant_role"}:
            case_noop(h)
        if want & set(TENANT_GROUPS):
            h.prepare_baseline()
        run_cost_models(h, want)
        print(report.MODEL_LABELS["none"], flush=True)
        if want & {"member", "floor", "uri", "loop"}:
            site = h.site("latency", args.latency_ms, max(list(args.sizes) + [args.uri_n, 10]))
            for n in args.sizes:
                case_member(h, site, n, want_floor="floor" in want, want_member="member" in want)
            combine_floor(h)
            if "uri" in want:
                case_uri(h, site)
            if "loop" in want:
                case_loop(h, site, module_process=False)
            h.stop_site(site)
        if want & {"loop", "scale", "module_process"}:
            site = h.site("zero-latency", 0, max(args.scale_sizes))
            if "loop" in want or "module_process" in want:
                case_loop(h, site, module_process="module_process" in want)
            if "scale" in want:
                case_scale(h, site, module_process="module_process" in want)
            h.stop_site(site)
        if "role" in want:
            case_role(h)
        if "audit" in want:
            case_audit(h)
        run_tenant_cases(h, want)
        if "tenant_scale" in want:
            case_tenant_scale(h)
        meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "commit": git_commit(),
                "ansible": ansible_version(h), "python": platform.python_version(), "cpus": os.cpu_count(),
                "reps": args.reps, "scale_reps": args.scale_reps, "latency_ms": args.latency_ms,
                "sizes": list(args.sizes), "scale_sizes": list(args.scale_sizes), "lookup_chunk": h.lookup,
                "cost_models": list(args.cost_models), "cost_sizes": list(args.cost_sizes),
                "cost_uri_n": args.cost_uri_n, "cost_big_reps": args.cost_big_reps,
                "quick": args.quick, "groups": sorted(want), "duration_s": round(time.time() - started, 1),
                "rss_method": "os.wait4() ru_maxrss of each ansible-playbook run (largest process in its tree)",
                "simulator": h.probe, "loadavg_end": [round(x, 2) for x in os.getloadavg()],
                "loadavg_start": load_start}
        if args.only and not args.quick:
            # Some groups only: their rows replace the same rows of the results already in --out.
            previous = previous_results(args.out)
            if previous:
                h.rows = report.merge_rows(previous["rows"], h.rows)
                meta["earlier_runs"] = report.runs_behind(previous["meta"], want)
        verdicts = all_verdicts(h)
        block = write_results(h, meta, verdicts, not args.no_plot)
        for model in list(args.cost_models) + ["none"]:
            if verdicts.get(model):
                print("\nTargets, %s:\n%s" % (report.MODEL_LABELS[model], report.render_verdict_lines(verdicts[model])))
        print("\nresults in %s (%.0f s)" % (args.out, time.time() - started))
        if not args.quick and args.out == os.path.join(ROOT, "benchmarks", "results"):
            if update_readme(block):
                print("README.md: the benchmark block is refreshed")
            else:
                print("README.md has no %s ... %s markers: block not written" % (README_START, README_END))
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: stopping every simulator and playbook", file=sys.stderr)
        return 130
    finally:
        h.close()


if __name__ == "__main__":
    sys.exit(main())

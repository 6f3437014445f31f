# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure half of `make bench`: statistics, the targets, and the Markdown report.

Nothing here starts a process or opens a socket, so tests/unit can check it quickly.
A result row is a dict:
  id, case, n, latency_ms, wall_s (median), samples (every wall time), reads, writes,
  requests, peak_rss_mb (largest sample), ok, note, model.

``model`` says what the simulator charged: "none" (the simulator's own speed, no cost) or a
database kind ("postgres", "mariadb") whose real-site cost model (tests/simulator/costs.py,
``--cost-model``) it slept in every request.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math

# What the simulator charged for each request, and how the results say it.
MODELS = ("postgres", "mariadb", "none")
MODEL_LABELS = {
    "postgres": "simulator, real-site cost model (PostgreSQL)",
    "mariadb": "simulator, real-site cost model (MariaDB)",
    "none": "simulator, no cost",
}

# The targets, in one place.
ADD_CHUNK = 500
FLOOR_RATIO_MAX = 1.5
FLOOR_RATIO_AT = (1000, 10000)
URI_SPEEDUP_MIN = 100.0
SCALE_RSS_MAX_MB = 300.0
# Marginal per-member cost from 10,000 to 50,000 members over that from 1,000 to 10,000:
# a linear cost gives about 1, a quadratic one about 5.
SCALE_LINEARITY_MAX = 1.5
TASK_OVERHEAD_MAX_MS = 40.0
# "At most a handful of reads" when adding: the same bound as the idempotent rerun.
EXTRA_READS = 3


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2.0


def linear_fit(xs, ys):
    """Least-squares line through the points: (slope, intercept, r2)."""
    points = [(float(x), float(y)) for x, y in zip(xs, ys) if x is not None and y is not None]
    if len(points) < 2:
        raise ValueError("a line needs at least two points, got %d" % len(points))
    count = len(points)
    mean_x = sum(p[0] for p in points) / count
    mean_y = sum(p[1] for p in points) / count
    sxx = sum((p[0] - mean_x) ** 2 for p in points)
    if sxx == 0:
        raise ValueError("a line needs at least two distinct x values")
    sxy = sum((p[0] - mean_x) * (p[1] - mean_y) for p in points)
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    ss_tot = sum((p[1] - mean_y) ** 2 for p in points)
    ss_res = sum((p[1] - (slope * p[0] + intercept)) ** 2 for p in points)
    r2 = 1.0 - ss_res / ss_tot if ss_tot else 1.0
    return slope, intercept, r2


def add_writes(n, chunk=ADD_CHUNK):
    return int(math.ceil(n / float(chunk)))


def max_reads(n, lookup_chunk):
    return int(math.ceil(n / float(lookup_chunk))) + EXTRA_READS


def row_id(case, n=None):
    return case if n is None else "%s/%d" % (case, n)


def index_rows(rows):
    return dict((r["id"], r) for r in rows)


def _usable(row):
    return row is not None and row.get("ok") and row.get("wall_s") is not None


def _verdict(name, met, measured, target, detail=""):
    return {"target": name, "met": None if met is None else bool(met), "measured": measured, "goal": target,
            "detail": detail}


def rows_of(rows, model):
    """The rows measured under one model (rows from before models existed count as "none")."""
    return [r for r in rows if r.get("model", "none") == model]


def evaluate(rows, sizes, lookup_chunk, scale_sizes=None, floor_at=FLOOR_RATIO_AT, with_scale=True):
    """One verdict per target: {target, met (True/False/None = not measured), measured, goal, detail}.

    ``floor_at``: the sizes of the collection / floor target; ``with_scale``: judge the scale and
    loop targets too (the cost-model runs measure neither).
    """
    by_id = index_rows(rows)
    verdicts = []

    # 1. Requests.
    for n in sizes:
        add, rerun, check = (by_id.get(row_id(c, n)) for c in ("member_add", "member_rerun", "member_check"))
        reads_cap = max_reads(n, lookup_chunk)
        if add is not None and add.get("ok"):
            met = add["writes"] == add_writes(n) and add["reads"] <= reads_cap
            verdicts.append(_verdict("requests: add %d members" % n, met,
                                     "%d writes, %d reads" % (add["writes"], add["reads"]),
                                     "%d writes, <= %d reads" % (add_writes(n), reads_cap)))
        else:
            verdicts.append(_verdict("requests: add %d members" % n, None, "not measured", ""))
        for label, row in (("idempotent rerun", rerun), ("check mode", check)):
            if row is not None and row.get("ok"):
                met = row["writes"] == 0 and row["reads"] <= reads_cap
                verdicts.append(_verdict("requests: %s, %d members" % (label, n), met,
                                         "%d writes, %d reads" % (row["writes"], row["reads"]),
                                         "0 writes, <= %d reads" % reads_cap))
            else:
                verdicts.append(_verdict("requests: %s, %d members" % (label, n), None, "not measured", ""))

    # 2. Collection / floor.
    for n in floor_at:
        add, floor = by_id.get(row_id("member_add", n)), by_id.get(row_id("floor_add", n))
        if _usable(add) and _usable(floor):
            ratio = add["wall_s"] / floor["wall_s"]
            verdicts.append(_verdict("collection / floor at %d members" % n, ratio <= FLOOR_RATIO_MAX,
                                     "%.2f (%.2f s / %.2f s)" % (ratio, add["wall_s"], floor["wall_s"]),
                                     "<= %.1f" % FLOOR_RATIO_MAX))
        else:
            verdicts.append(_verdict("collection / floor at %d members" % n, None, "not measured", ""))

    # 3. Per member against the uri loop.
    speed = per_member_speedup(rows, sizes)
    if speed is None:
        verdicts.append(_verdict("per member: uri loop / collection", None, "not measured", ""))
    else:
        verdicts.append(_verdict("per member: uri loop / collection", speed["ratio"] >= URI_SPEEDUP_MIN,
                                 "%.0fx (%.1f ms vs %.3f ms a member)" % (
                                     speed["ratio"], speed["uri_ms"], speed["collection_ms"]),
                                 ">= %.0fx" % URI_SPEEDUP_MIN, speed["detail"]))

    if not with_scale:
        return verdicts

    # 4. Scale.
    scale_sizes = list(scale_sizes or [])
    big = by_id.get(row_id("scale_add", max(scale_sizes))) if scale_sizes else None
    if _usable(big):
        verdicts.append(_verdict("scale: %d members in one task" % big["n"], big["writes"] == add_writes(big["n"]),
                                 "1 task, %d writes, %d reads, %.1f s" % (big["writes"], big["reads"], big["wall_s"]),
                                 "1 task, %d writes" % add_writes(big["n"])))
        rss = big.get("peak_rss_mb")
        verdicts.append(_verdict("scale: peak memory at %d members" % big["n"],
                                 None if rss is None else rss < SCALE_RSS_MAX_MB,
                                 "not measured" if rss is None else "%.0f MB" % rss, "< %.0f MB" % SCALE_RSS_MAX_MB))
        linear = scale_linearity(rows, scale_sizes)
        if linear is None:
            verdicts.append(_verdict("scale: cost linear in N", None, "not measured", ""))
        else:
            verdicts.append(_verdict("scale: cost linear in N", linear["ratio"] <= SCALE_LINEARITY_MAX,
                                     "marginal cost ratio %.2f; fitted %.3f ms a member (r2 %.4f)" % (
                                         linear["ratio"], linear["slope_ms"], linear["r2"]),
                                     "ratio <= %.1f" % SCALE_LINEARITY_MAX, linear["detail"]))
    else:
        verdicts.append(_verdict("scale: largest N in one task", None, "not measured", ""))

    # 5. A task that changes nothing against a debug task in the same loop.
    cohort, debug = by_id.get("loop_cohort_unchanged"), by_id.get("loop_debug")
    if _usable(cohort) and _usable(debug) and cohort.get("n") == debug.get("n"):
        extra_ms = (cohort["wall_s"] - debug["wall_s"]) * 1000.0 / cohort["n"]
        detail = "%d-item loops at %s ms latency" % (cohort["n"], cohort.get("latency_ms"))
        if cohort.get("cpu_s") is not None and debug.get("cpu_s") is not None:
            detail += "; controller CPU +%.1f ms a task" % ((cohort["cpu_s"] - debug["cpu_s"]) * 1000.0 / cohort["n"])
        verdicts.append(_verdict("unchanged cohort task vs debug task", extra_ms <= TASK_OVERHEAD_MAX_MS,
                                 "+%.1f ms a task" % extra_ms, "<= +%.0f ms" % TASK_OVERHEAD_MAX_MS, detail))
    else:
        verdicts.append(_verdict("unchanged cohort task vs debug task", None, "not measured", ""))
    return verdicts


def per_member_speedup(rows, sizes):
    """The uri loop's cost a member against the collection's marginal (fitted) cost a member.

    The uri loop's cost a member is (uri run - no-op run) / N, so Ansible's start-up is not
    charged to it; the collection's is the slope of its times over every N measured.
    """
    by_id = index_rows(rows)
    uri = [r for r in rows if r["case"] == "uri_loop" and _usable(r)]
    noop = by_id.get("noop")
    adds = [by_id.get(row_id("member_add", n)) for n in sizes]
    adds = [r for r in adds if _usable(r)]
    if not uri or not _usable(noop) or len(adds) < 2:
        return None
    uri_row = uri[0]
    uri_ms = (uri_row["wall_s"] - noop["wall_s"]) * 1000.0 / uri_row["n"]
    slope, _intercept, _r2 = linear_fit([r["n"] for r in adds], [r["wall_s"] for r in adds])
    collection_ms = slope * 1000.0
    if collection_ms <= 0:
        return None
    return {"ratio": uri_ms / collection_ms, "uri_ms": uri_ms, "collection_ms": collection_ms,
            "detail": "uri: (loop - no-op run) / %d; collection: slope over N = %s" % (
                uri_row["n"], ", ".join(str(r["n"]) for r in adds))}


def scale_linearity(rows, scale_sizes):
    """Marginal cost a member between the two largest sizes over that between the two before them."""
    by_id = index_rows(rows)
    points = [by_id.get(row_id("scale_add", n)) for n in sorted(scale_sizes)]
    points = [p for p in points if _usable(p)]
    if len(points) < 3:
        return None
    slope, _intercept, r2 = linear_fit([p["n"] for p in points], [p["wall_s"] for p in points])
    low, mid, high = points[-3], points[-2], points[-1]
    early = (mid["wall_s"] - low["wall_s"]) / (mid["n"] - low["n"])
    late = (high["wall_s"] - mid["wall_s"]) / (high["n"] - mid["n"])
    if early <= 0:
        return None
    return {"ratio": late / early, "slope_ms": slope * 1000.0, "r2": r2,
            "detail": "%.3f ms a member from %d to %d, %.3f ms from %d to %d" % (
                early * 1000.0, low["n"], mid["n"], late * 1000.0, mid["n"], high["n"])}


def _fmt_seconds(value):
    if value is None:
        return "-"
    if value >= 100:
        return "%.0f s" % value
    if value >= 10:
        return "%.1f s" % value
    return "%.2f s" % value


def _fmt_int(value):
    return "-" if value is None else "{:,}".format(int(value))


def _fmt_mb(value):
    return "-" if value is None else "%.0f MB" % value


def render_rows(rows):
    """The results table (Markdown)."""
    lines = ["| case | N | latency | wall (median) | runs | controller CPU | requests | reads | writes | peak RSS | note |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        wall = _fmt_seconds(row.get("wall_s")) if row.get("ok") else "failed"
        lines.append("| %s | %s | %s ms | %s | %d | %s | %s | %s | %s | %s | %s |" % (
            row.get("label") or row["case"], _fmt_int(row.get("n")), row.get("latency_ms", 0), wall,
            len(row.get("samples") or []), _fmt_seconds(row.get("cpu_s")), _fmt_int(row.get("requests")),
            _fmt_int(row.get("reads")), _fmt_int(row.get("writes")), _fmt_mb(row.get("peak_rss_mb")),
            (row.get("note") or "").replace("|", "/")))
    return "\n".join(lines)


def verdict_mark(met):
    return {True: "met", False: "NOT MET", None: "not measured"}[met]


def render_verdicts(verdicts):
    lines = ["| target | goal | measured | verdict |", "|---|---|---|---|"]
    for item in verdicts:
        measured = item["measured"]
        if item.get("detail"):
            measured = "%s (%s)" % (measured, item["detail"])
        lines.append("| %s | %s | %s | %s |" % (item["target"], item["goal"] or "-", measured.replace("|", "/"),
                                                verdict_mark(item["met"])))
    return "\n".join(lines)


def render_verdict_lines(verdicts):
    """What `make bench` prints at the end: one line a target."""
    width = max(len(v["target"]) for v in verdicts) if verdicts else 0
    lines = []
    for item in verdicts:
        lines.append("%-14s %s  %s (goal %s)" % ("[%s]" % verdict_mark(item["met"]), item["target"].ljust(width),
                                                 item["measured"], item["goal"] or "-"))
    return "\n".join(lines)


# ---- whole tenants ---------------------------------------------------------------------------------------
# Request budgets of the whole-tenant jobs: (case, requests at most, writes at most or None, per tenant).
TENANT_REQUEST_TARGETS = (
    ("tenant_role_fresh", 10, 2, False),
    ("tenant_role_rerun", 5, 0, False),
    ("tenant_sync", 40, 22, False),
    ("tenant_sync_rerun", 15, 0, False),
    ("tenant_audit_one", 8, 0, False),
    ("tenant_audit_twenty", 5, 0, True),
)
TENANT_LABELS = {
    "tenant_role_fresh": "role, %s cohorts, fresh site",
    "tenant_role_rerun": "role rerun, %s cohorts",
    "tenant_sync": "sync, %s memberships",
    "tenant_sync_rerun": "sync rerun, %s memberships",
    "tenant_audit_one": "audit, %s tenant",
    "tenant_audit_twenty": "audit, %s tenants",
}
# Wall time under a cost model against the floor script: (case, ratio at most) ...
SYNC_FLOOR_MAX = {"tenant_sync": 1.3, "tenant_sync_rerun": 1.5}
# ... and the role: at most the floor script plus a no-op playbook run plus this many seconds.
ROLE_SLACK_S = 2.0
COHORT_SCALE_RSS_MAX_MB = 400.0


def tenant_label(case, n):
    return TENANT_LABELS[case] % ("{:,}".format(n) if n is not None else "?")


def evaluate_tenants(rows, noop=None, with_wall=True, with_scale=False):
    """Verdicts of the whole-tenant jobs: request budgets; with_wall: the wall-time targets against the floor
    script (judged under a cost model); with_scale: the one-task scale targets (judged on the no-cost simulator).

    ``noop``: the one no-op playbook run's row, which the role's target adds to the floor.
    """
    by_case = dict((r["case"], r) for r in rows)
    verdicts = []
    for case, max_requests, max_writes, per_tenant in TENANT_REQUEST_TARGETS:
        row = by_case.get(case)
        if row is None:
            continue
        name = "requests: " + tenant_label(case, row.get("n"))
        goal = "<= %d requests%s" % (max_requests, " a tenant" if per_tenant else "")
        if max_writes is not None:
            goal += ", <= %d writes" % max_writes
        if not row.get("ok") or row.get("requests") is None:
            verdicts.append(_verdict(name, None, "not measured", goal))
            continue
        requests = row["requests"] / float(row["n"] or 1) if per_tenant else row["requests"]
        met = requests <= max_requests and (max_writes is None or row["writes"] <= max_writes)
        count = ("%.1f" % requests) if per_tenant else row["requests"]
        measured = "%s requests%s, %d writes" % (count, " a tenant" if per_tenant else "", row["writes"])
        verdicts.append(_verdict(name, met, measured, goal))
    if with_wall:
        for case, ratio_max in sorted(SYNC_FLOOR_MAX.items()):
            row, floor = by_case.get(case), by_case.get(case + "_floor")
            if row is None and floor is None:
                continue
            name = "wall: %s / floor script" % tenant_label(case, (row or floor).get("n"))
            if _usable(row) and _usable(floor):
                ratio = row["wall_s"] / floor["wall_s"]
                verdicts.append(_verdict(name, ratio <= ratio_max, "%.2f (%.2f s / %.2f s)" % (
                    ratio, row["wall_s"], floor["wall_s"]), "<= %.1f" % ratio_max))
            else:
                verdicts.append(_verdict(name, None, "not measured", "<= %.1f" % ratio_max))
        for case in ("tenant_role_fresh", "tenant_role_rerun"):
            row, floor = by_case.get(case), by_case.get(case + "_floor")
            if row is None and floor is None:
                continue
            name = "wall: %s" % tenant_label(case, (row or floor).get("n"))
            goal = "<= floor script + no-op run + %.0f s" % ROLE_SLACK_S
            if _usable(row) and _usable(floor) and _usable(noop):
                bound = floor["wall_s"] + noop["wall_s"] + ROLE_SLACK_S
                verdicts.append(_verdict(name, row["wall_s"] <= bound, "%.2f s against %.2f s" % (row["wall_s"], bound),
                                         goal, "floor %.2f s + no-op run %.2f s + %.0f s" % (
                                             floor["wall_s"], noop["wall_s"], ROLE_SLACK_S)))
            else:
                verdicts.append(_verdict(name, None, "not measured", goal))
    if with_scale:
        verdicts += evaluate_cohort_scale(rows)
    return verdicts


def evaluate_cohort_scale(rows):
    """C cohorts in one pluto_cohorts task: requests and time linear in C, peak memory under the bound."""
    points = sorted((r for r in rows if r["case"] == "tenant_scale" and _usable(r)), key=lambda r: r["n"])
    if not points:
        return [_verdict("cohort scale: one task", None, "not measured", "")]
    low, big = points[0], points[-1]
    verdicts = []
    if len(points) >= 2 and low["requests"]:
        bound = low["requests"] * big["n"] / float(low["n"])
        verdicts.append(_verdict("cohort scale: requests linear in cohorts", big["requests"] <= bound,
                                 "%d requests at %s cohorts, %d at %s" % (big["requests"], "{:,}".format(big["n"]),
                                                                          low["requests"], "{:,}".format(low["n"])),
                                 "<= %.0f (proportional to the smallest)" % bound))
    marginal = None
    if len(points) >= 3:
        first, mid = points[-3], points[-2]
        early = (mid["wall_s"] - first["wall_s"]) / (mid["n"] - first["n"])
        late = (big["wall_s"] - mid["wall_s"]) / (big["n"] - mid["n"])
        if early > 0:
            marginal = late / early
            verdicts.append(_verdict("cohort scale: time linear in cohorts", marginal <= SCALE_LINEARITY_MAX,
                                     "marginal cost ratio %.2f" % marginal, "ratio <= %.1f" % SCALE_LINEARITY_MAX,
                                     "%.1f ms a cohort from %d to %d, %.1f ms from %d to %d" % (
                                         early * 1000, first["n"], mid["n"], late * 1000, mid["n"], big["n"])))
    if marginal is None:
        verdicts.append(_verdict("cohort scale: time linear in cohorts", None, "not measured", ""))
    rss = big.get("peak_rss_mb")
    verdicts.append(_verdict("cohort scale: peak memory at %s cohorts" % "{:,}".format(big["n"]),
                             None if rss is None else rss < COHORT_SCALE_RSS_MAX_MB,
                             "not measured" if rss is None else "%.0f MB" % rss, "< %.0f MB" % COHORT_SCALE_RSS_MAX_MB))
    return verdicts


TENANT_JOBS = (
    ("tenant_role_fresh", "role cohort_bootstrap, %s cohorts, fresh site"),
    ("tenant_role_rerun", "the role's rerun (no change)"),
    ("tenant_sync", "sync_cohort_members, %s memberships"),
    ("tenant_sync_rerun", "the sync's rerun (no change)"),
    ("tenant_audit_one", "audit_cohorts, one tenant"),
    ("tenant_audit_twenty", "audit_cohorts, %s tenants"),
)
TENANT_ARM_SUFFIXES = (("", "pluto.lms (pluto_cohorts)"), ("_loop010", "0.1.0 loop"), ("_floor", "floor script"))


def _tenant_cell(row):
    if row is None:
        return "-"
    if not row.get("ok"):
        return "failed"
    text = "%s, %s req. / %s wr." % (_fmt_seconds(row["wall_s"]), _fmt_int(row.get("requests")), _fmt_int(row.get("writes")))
    if row.get("peak_rss_mb") is not None:
        text += ", %s" % _fmt_mb(row["peak_rss_mb"])
    if len(row.get("samples") or []) > 1:
        text += " (%d runs)" % len(row["samples"])
    return text


def render_tenant_table(rows):
    """Whole-tenant jobs, one line a job: wall time (median), requests, writes and peak RSS of each arm."""
    by_case = dict((r["case"], r) for r in rows)
    lines = ["| job | %s |" % " | ".join(label for _suffix, label in TENANT_ARM_SUFFIXES),
             "|---|" + "---:|" * len(TENANT_ARM_SUFFIXES)]
    for case, label in TENANT_JOBS:
        arms = [by_case.get(case + suffix) for suffix, _label in TENANT_ARM_SUFFIXES]
        if not any(arms):
            continue
        n = [r for r in arms if r][0].get("n")
        if "%s" in label:
            label = label % ("{:,}".format(n) if n is not None else "?")
        lines.append("| %s | %s |" % (label, " | ".join(_tenant_cell(r) for r in arms)))
    scale = sorted((r for r in rows if r["case"] == "tenant_scale"), key=lambda r: r.get("n") or 0)
    for row in scale:
        lines.append("| pluto_cohorts, %s cohorts in one task (%s) | %s | - | - |" % (
            _fmt_int(row.get("n")), row.get("note") or "", _tenant_cell(row)))
    return "\n".join(lines) if len(lines) > 2 else ""


RUN_KEYS = ("date", "commit", "loadavg_start", "loadavg_end", "duration_s")


def earlier_runs(meta):
    """The earlier runs whose rows a results file still holds: each with the groups it measured that no later run
    did (none: all the other rows), newest first. Results written before runs kept their groups have "earlier"."""
    if "earlier_runs" in meta:
        return meta["earlier_runs"]
    return [dict(meta["earlier"], groups=None)] if meta.get("earlier") else []


def runs_behind(previous, measured):
    """earlier_runs of a run that measured the groups `measured` over the results of `previous` (its meta): the
    previous run (its own groups if it measured some only, else all the other rows) and the runs behind it, less
    the groups measured again."""
    partial = bool(earlier_runs(previous))
    behind = [dict([(k, previous.get(k)) for k in RUN_KEYS], groups=previous.get("groups") if partial else None)]
    kept = []
    for run in behind + earlier_runs(previous):
        groups = run.get("groups")
        if groups is not None:
            groups = [g for g in groups if g not in measured]
            if not groups:
                continue
        kept.append(dict(run, groups=groups))
    return kept


def merge_rows(previous, fresh):
    """The rows of a run that measured some groups only, over the previous results: fresh rows replace the
    previous rows of the same case and model, the others stay (each keeps its own samples)."""
    seen = set((r["id"], r.get("model", "none")) for r in fresh)
    return [r for r in previous if (r["id"], r.get("model", "none")) not in seen] + list(fresh)

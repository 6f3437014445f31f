# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole-tenant part of the report (benchmarks/report.py): request budgets, the wall-time targets against
the floor script, the one-task scale targets, the table, merging a partial run. Runs no benchmark."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from benchmarks import report


def row(case, n, wall, requests=0, writes=0, rss=None, ok=True, model="postgres"):
    return {"id": report.row_id(case, n), "case": case, "label": case, "n": n, "latency_ms": 0, "wall_s": wall,
            "samples": [wall], "reads": requests - writes, "writes": writes, "requests": requests,
            "peak_rss_mb": rss, "ok": ok, "note": "", "model": model}


def by_target(verdicts):
    return dict((v["target"], v) for v in verdicts)


def test_request_budgets_of_each_job():
    rows = [row("tenant_role_fresh", 204, 3.0, 6, 2), row("tenant_role_rerun", 204, 2.0, 6, 0),
            row("tenant_sync", 10000, 40.0, 41, 20), row("tenant_sync_rerun", 10000, 10.0, 6, 1),
            row("tenant_audit_one", 1, 3.0, 8), row("tenant_audit_twenty", 20, 9.0, 101)]
    verdicts = by_target(report.evaluate_tenants(rows, with_wall=False))
    assert verdicts["requests: role, 204 cohorts, fresh site"]["met"] is True
    # One request over the rerun's budget of 5.
    assert verdicts["requests: role rerun, 204 cohorts"]["met"] is False
    assert verdicts["requests: sync, 10,000 memberships"]["met"] is False
    # A single write on a rerun fails it, whatever the request count.
    assert verdicts["requests: sync rerun, 10,000 memberships"]["met"] is False
    assert verdicts["requests: audit, 1 tenant"]["met"] is True
    # 101 requests over 20 tenants: 5.05 a tenant, over the budget of 5.
    twenty = verdicts["requests: audit, 20 tenants"]
    assert twenty["met"] is False
    assert twenty["measured"] == "5.0 requests a tenant, 0 writes"
    assert not any(v.startswith("wall:") for v in verdicts)


def test_sync_wall_time_against_the_floor_script():
    rows = [row("tenant_sync", 10000, 39.0, 26, 20), row("tenant_sync_floor", 10000, 30.0, 25, 20),
            row("tenant_sync_rerun", 10000, 16.0, 6), row("tenant_sync_rerun_floor", 10000, 10.0, 5)]
    verdicts = by_target(report.evaluate_tenants(rows))
    assert verdicts["wall: sync, 10,000 memberships / floor script"]["met"] is True  # 1.30
    rerun = verdicts["wall: sync rerun, 10,000 memberships / floor script"]
    assert rerun["met"] is False  # 1.60
    assert rerun["measured"].startswith("1.60 ")


def test_role_wall_time_allows_the_floor_a_noop_run_and_two_seconds():
    noop = row("noop", None, 1.0, model="none")
    rows = [row("tenant_role_fresh", 204, 3.3, 6, 2), row("tenant_role_fresh_floor", 204, 0.3, 4, 2),
            row("tenant_role_rerun", 204, 3.4, 4), row("tenant_role_rerun_floor", 204, 0.3, 3)]
    verdicts = by_target(report.evaluate_tenants(rows, noop))
    assert verdicts["wall: role, 204 cohorts, fresh site"]["met"] is True
    assert verdicts["wall: role rerun, 204 cohorts"]["met"] is False
    # Without the no-op run there is nothing to judge against: not measured, never met.
    assert by_target(report.evaluate_tenants(rows))["wall: role, 204 cohorts, fresh site"]["met"] is None


def test_failed_or_missing_arms_are_not_measured():
    rows = [row("tenant_sync", 10000, None, ok=False), row("tenant_sync_floor", 10000, 30.0, 25, 20)]
    verdicts = by_target(report.evaluate_tenants(rows))
    assert verdicts["requests: sync, 10,000 memberships"]["met"] is None
    assert verdicts["wall: sync, 10,000 memberships / floor script"]["met"] is None


def test_cohort_scale_catches_growing_requests_quadratic_time_and_memory():
    linear = [row("tenant_scale", c, 2.0 + 0.02 * c, 4 + c // 10, c // 10, rss=150, model="none")
              for c in (200, 1000, 2000)]
    verdicts = by_target(report.evaluate_tenants(linear, with_wall=False, with_scale=True))
    assert verdicts["cohort scale: requests linear in cohorts"]["met"] is True
    assert verdicts["cohort scale: time linear in cohorts"]["met"] is True
    assert verdicts["cohort scale: peak memory at 2,000 cohorts"]["met"] is True
    # One request a cohort pair on top, and a quadratic time: both caught; 450 MB is over 400.
    worse = [row("tenant_scale", c, 2.0 + 1e-5 * c * c, 4 + c // 10 + (c * c) // 4000, c // 10, rss=450,
                 model="none") for c in (200, 1000, 2000)]
    verdicts = by_target(report.evaluate_tenants(worse, with_wall=False, with_scale=True))
    assert verdicts["cohort scale: requests linear in cohorts"]["met"] is False
    assert verdicts["cohort scale: time linear in cohorts"]["met"] is False
    assert verdicts["cohort scale: peak memory at 2,000 cohorts"]["met"] is False


def test_tenant_table_has_one_line_a_job_and_every_arm():
    rows = [row("tenant_sync", 10000, 38.2, 26, 20, rss=90), row("tenant_sync_loop010", 10000, 85.0, 1000, 200, rss=64),
            row("tenant_sync_floor", 10000, 31.0, 25, 20), row("tenant_scale", 2000, 61.0, 210, 204, rss=300)]
    lines = report.render_tenant_table(rows).splitlines()
    assert lines[0] == "| job | pluto.lms (pluto_cohorts) | 0.1.0 loop | floor script |"
    assert lines[2] == ("| sync_cohort_members, 10,000 memberships | 38.2 s, 26 req. / 20 wr., 90 MB "
                        "| 85.0 s, 1,000 req. / 200 wr., 64 MB | 31.0 s, 25 req. / 20 wr. |")
    assert lines[3].startswith("| pluto_cohorts, 2,000 cohorts in one task")
    assert len(lines) == 4
    assert report.render_tenant_table([row("member_add", 100, 1.0)]) == ""


def test_merging_a_partial_run_replaces_only_its_own_rows():
    previous = [row("member_add", 100, 1.0), row("tenant_sync", 10000, 50.0), row("tenant_sync", 10000, 9.0, model="none")]
    fresh = [row("tenant_sync", 10000, 40.0)]
    merged = report.merge_rows(previous, fresh)
    assert sorted((r["id"], r["model"], r["wall_s"]) for r in merged) == [
        ("member_add/100", "postgres", 1.0), ("tenant_sync/10000", "none", 9.0), ("tenant_sync/10000", "postgres", 40.0)]

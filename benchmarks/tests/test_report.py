# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of `make bench` (benchmarks/report.py): statistics, targets, tables. Runs no benchmark."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from benchmarks import report


def row(case, n, wall, reads=0, writes=0, rss=None, latency=20, ok=True):
    return {"id": report.row_id(case, n), "case": case, "label": case, "n": n, "latency_ms": latency, "wall_s": wall,
            "samples": [wall], "reads": reads, "writes": writes, "requests": reads + writes, "peak_rss_mb": rss, "ok": ok,
            "note": ""}


def by_target(verdicts):
    return dict((v["target"], v) for v in verdicts)


def test_median_of_odd_and_even_counts_ignores_missing_values():
    assert report.median([3.0, 1.0, 2.0]) == 2.0
    assert report.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert report.median([None, 5.0]) == 5.0
    assert report.median([]) is None


def test_linear_fit_recovers_a_line_and_measures_its_fit():
    slope, intercept, r2 = report.linear_fit([1000, 10000, 50000], [1.5 + 0.0002 * n for n in (1000, 10000, 50000)])
    assert slope == pytest.approx(0.0002)
    assert intercept == pytest.approx(1.5)
    assert r2 == pytest.approx(1.0)
    _slope, _intercept, r2 = report.linear_fit([1, 2, 3, 4], [1, 4, 9, 16])
    assert r2 < 0.99


def test_linear_fit_refuses_too_few_points():
    with pytest.raises(ValueError):
        report.linear_fit([5], [1.0])
    with pytest.raises(ValueError):
        report.linear_fit([5, 5], [1.0, 2.0])


def test_request_bounds_follow_the_chunk_sizes():
    assert [report.add_writes(n) for n in (1, 500, 501, 10000, 50000)] == [1, 1, 2, 20, 100]
    assert report.max_reads(10000, 1000) == 13
    assert report.max_reads(100, 1000) == 4


def test_request_targets_met_and_not_met():
    rows = [row("member_add", 1000, 2.0, reads=4, writes=2), row("member_rerun", 1000, 1.5, reads=4),
            row("member_check", 1000, 1.5, reads=4, writes=1)]
    verdicts = by_target(report.evaluate(rows, [1000], 1000))
    assert verdicts["requests: add 1000 members"]["met"] is True
    assert verdicts["requests: idempotent rerun, 1000 members"]["met"] is True
    # A single write in check mode fails the target.
    assert verdicts["requests: check mode, 1000 members"]["met"] is False
    too_many = by_target(report.evaluate([row("member_add", 1000, 2.0, reads=9, writes=2)], [1000], 1000))
    assert too_many["requests: add 1000 members"]["met"] is False
    one_per_member = by_target(report.evaluate([row("member_add", 1000, 2.0, reads=4, writes=1000)], [1000], 1000))
    assert one_per_member["requests: add 1000 members"]["met"] is False


def test_floor_ratio_target():
    rows = [row("member_add", 1000, 2.9), row("floor_add", 1000, 2.0), row("member_add", 10000, 3.2),
            row("floor_add", 10000, 2.0)]
    verdicts = by_target(report.evaluate(rows, [1000, 10000], 1000))
    assert verdicts["collection / floor at 1000 members"]["met"] is True
    assert verdicts["collection / floor at 10000 members"]["met"] is False
    assert verdicts["collection / floor at 10000 members"]["measured"].startswith("1.60")


def test_uri_speedup_uses_marginal_costs():
    # Collection: 1.6 s + 0.1 ms a member; uri loop: 1.5 s start-up + 400 ms a member.
    rows = [row("noop", None, 1.5)] + [row("member_add", n, 1.6 + 0.0001 * n) for n in (100, 1000, 10000)]
    rows.append(row("uri_loop", 100, 1.5 + 0.4 * 100))
    speed = report.per_member_speedup(rows, [100, 1000, 10000])
    assert speed["uri_ms"] == pytest.approx(400.0)
    assert speed["collection_ms"] == pytest.approx(0.1)
    assert speed["ratio"] == pytest.approx(4000.0)
    assert by_target(report.evaluate(rows, [100, 1000, 10000], 1000))["per member: uri loop / collection"]["met"] is True


def test_scale_targets_catch_a_quadratic_cost_and_high_memory():
    linear = [row("scale_add", n, 1.5 + 0.0001 * n, reads=3 + n // 1000, writes=report.add_writes(n), rss=150, latency=0)
              for n in (1000, 10000, 50000)]
    verdicts = by_target(report.evaluate(linear, [], 1000, [1000, 10000, 50000]))
    assert verdicts["scale: cost linear in N"]["met"] is True
    assert verdicts["scale: peak memory at 50000 members"]["met"] is True
    assert verdicts["scale: 50000 members in one task"]["met"] is True
    quadratic = [row("scale_add", n, 1.5 + 1e-8 * n * n, writes=report.add_writes(n), rss=400, latency=0)
                 for n in (1000, 10000, 50000)]
    verdicts = by_target(report.evaluate(quadratic, [], 1000, [1000, 10000, 50000]))
    assert verdicts["scale: cost linear in N"]["met"] is False
    assert verdicts["scale: peak memory at 50000 members"]["met"] is False


def test_task_overhead_against_debug():
    cohort, debug = row("loop_cohort_unchanged", 30, 2.5, latency=0), row("loop_debug", 30, 1.6, latency=0)
    cohort["id"], debug["id"] = "loop_cohort_unchanged", "loop_debug"
    verdict = by_target(report.evaluate([cohort, debug], [], 1000))["unchanged cohort task vs debug task"]
    assert verdict["met"] is True  # 30 ms a task
    cohort["wall_s"] = 3.0
    cohort["cpu_s"], debug["cpu_s"] = 2.1, 1.8
    verdict = by_target(report.evaluate([cohort, debug], [], 1000))["unchanged cohort task vs debug task"]
    assert verdict["met"] is False  # 46.7 ms a task
    assert verdict["measured"] == "+46.7 ms a task"
    assert verdict["detail"] == "30-item loops at 0 ms latency; controller CPU +10.0 ms a task"


def test_missing_or_failed_cases_are_not_measured_rather_than_met():
    failed = row("member_add", 1000, None, ok=False)
    verdicts = report.evaluate([failed], [1000], 1000, [1000, 10000, 50000])
    assert all(v["met"] is None for v in verdicts)
    assert "not measured" in report.render_verdict_lines(verdicts)


def test_tables_render_every_row_and_verdict():
    rows = [row("member_add", 10000, 3.25, reads=13, writes=20, rss=180.4), row("uri_loop", 100, 41.0, writes=100)]
    rows[1]["ok"] = False
    table = report.render_rows(rows).splitlines()
    assert len(table) == 4
    assert "| 10,000 | 20 ms | 3.25 s | 1 | - | 33 | 13 | 20 | 180 MB |" in table[2]
    assert "failed" in table[3]
    verdicts = report.evaluate(rows, [10000], 1000)
    lines = report.render_verdicts(verdicts).splitlines()
    assert len(lines) == len(verdicts) + 2
    assert any(line.endswith("| met |") for line in lines)


def test_rows_kept_from_earlier_runs_name_the_run_that_measured_them():
    def run(commit, groups=None, **more):
        return dict(dict.fromkeys(report.RUN_KEYS, 0), commit=commit, groups=groups, **more)

    full = run("c0", ["member", "tenant_role", "tenant_sync"])
    assert report.runs_behind(full, ["tenant_sync"]) == [dict(run("c0"), groups=None)]
    # A partial run over a partial run: the groups the middle run measured, less those measured again, are its own.
    middle = run("c1", ["tenant_role", "tenant_sync"], earlier_runs=report.runs_behind(full, ["tenant_role", "tenant_sync"]))
    behind = report.runs_behind(middle, ["tenant_sync"])
    assert [(r["commit"], r["groups"]) for r in behind] == [("c1", ["tenant_role"]), ("c0", None)]
    # Measured again, the middle run's groups leave no row behind it.
    assert [r["commit"] for r in report.runs_behind(dict(middle, earlier_runs=behind), ["tenant_role", "tenant_sync"])] == ["c0"]
    # Results written before runs kept their groups: "earlier" is all the other rows.
    legacy = run("c1", ["tenant_sync"], earlier=dict(run("c0"), groups=None))
    assert [(r["commit"], r["groups"]) for r in report.earlier_runs(legacy)] == [("c0", None)]

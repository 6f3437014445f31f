# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pluto_cohort when another run creates the same idnumber at the same moment.

Moodle checks "is this idnumber free?" and inserts without a lock, so two creates can both
succeed. Every run reads back after its create and converges by one rule: the lowest id wins,
the run that made a higher, still empty one deletes it and goes on with the lowest. Tested with
the simulator's concurrent_create fault (the other run plays out between check and insert) and
with real concurrent runs whose requests overlap (--race-window-ms), on both database kinds.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


import pytest

from ansible_collections.pluto.lms.plugins.module_utils._cohort import plan as cohort_plan
from ansible_collections.pluto.lms.plugins.module_utils._cohort import wait_for_others
from ansible_collections.pluto.lms.plugins.module_utils._errors import PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._reader import SiteReader
from ansible_collections.pluto.lms.plugins.module_utils._runner import client_from_params, run_plan
from tests.simulator.process import start_simulator
from tests.simulator.pytest_fixtures import together

MANAGER = "6d2c3d4e5f60718293a4b5c6d7e8f90a"
CREATE = "core_cohort_create_cohorts"


@pytest.fixture(params=["postgres", "mariadb"])
def db(request):
    return request.param


def params(sim, **options):
    values = dict(url=sim.url, token=MANAGER, validate_certs=True, ca_path=None, timeout=30, retries=0, state="present")
    values.update(options)
    return values


def run(sim, check_mode=False, **options):
    sim.reset_log()
    return run_plan(cohort_plan, params(sim, **options), check_mode=check_mode, diff=True), sim.requests()


def writes(log):
    return [entry["wsfunction"] for entry in log if entry["write"]]


def holders(sim, idnumber):
    return sorted(c["id"] for c in sim.state()["cohorts"] if c["idnumber"] == idnumber)


def test_a_create_that_another_run_duplicated_converges_on_the_lowest_id(db):
    with start_simulator(token=["%s:manager" % MANAGER], db=db) as sim:
        sim.set_faults("concurrent_create", functions=[CREATE], count=1)
        result, log = run(sim, idnumber="t-race", name="Race", description="Mine")
        assert result.get("failed") is None, result
        assert result["changed"] is True
        survivors = holders(sim, "t-race")
        assert len(survivors) == 1
        # The other run's cohort got the lower id: this run deleted its own and went on with that one.
        assert result["cohort"]["id"] == survivors[0]
        assert writes(log)[:2] == [CREATE, "core_cohort_delete_cohorts"]
        assert any("another run created" in w and str(survivors[0]) in w for w in result["warnings"]), result
        stored = [c for c in sim.state()["cohorts"] if c["idnumber"] == "t-race"][0]
        assert (stored["name"], stored["description"]) == ("Race", "Mine")
        again, again_log = run(sim, idnumber="t-race", name="Race", description="Mine")
        assert again["changed"] is False and writes(again_log) == []


def test_a_site_that_already_holds_duplicates_gets_one_message_naming_them(db):
    with start_simulator(token=["%s:manager" % MANAGER], db=db) as sim:
        sim.set_faults("concurrent_create", functions=[CREATE], count=1)
        # A client without the read-back (the site's own answers) leaves the pair behind.
        sim.call(CREATE, {"cohorts": [{"categorytype": {"type": "system", "value": ""}, "name": "Dup",
                                       "idnumber": "t-dup"}]}, token=MANAGER)
        ids = holders(sim, "t-dup")
        assert len(ids) == 2
        for state in ("present", "absent"):
            for check_mode in (True, False):
                result, log = run(sim, check_mode=check_mode, idnumber="t-dup", name="Dup", state=state)
                assert result["failed"] is True and writes(log) == []
                assert "the site holds 2 cohorts with idnumber 't-dup' (ids %d, %d)" % tuple(ids) in result["msg"]
                assert "give id" in result["msg"]


@pytest.mark.parametrize("offset_ms", [0, 150, 310])
def test_two_concurrent_runs_leave_one_cohort_and_agree_on_it(db, offset_ms):
    """Both runs succeed, whichever way their requests interleave (duplicates or the loser's invalidparameter), but
    one: the run that made the higher id read back before the other create committed, kept its cohort, and the run
    that made the lowest id fails naming both (as the module documents), never silently."""
    with start_simulator(token=["%s:manager" % MANAGER], db=db, race_window_ms=150) as sim:
        def one_run():
            return run_plan(cohort_plan, params(sim, idnumber="t-both", name="Both"), False, False)

        results = together(one_run, one_run, stagger=offset_ms / 1000.0)
        assert all(r is not None for r in results), results
        survivors = holders(sim, "t-both")
        failed = [r for r in results if r.get("failed")]
        if len(survivors) == 2:
            # That one interleaving: the lowest id's run fails, naming the other id and the fix; the other succeeded.
            assert len(failed) == 1 and "which wins, but cohort id %d is still there" % survivors[1] in failed[0]["msg"]
            assert [r["cohort"]["id"] for r in results if not r.get("failed")] == [survivors[1]]
            return
        assert not failed, results
        assert len(survivors) == 1
        assert [r["cohort"]["id"] for r in results] == survivors * 2
        # One run made the cohort and reports the change. The other found it, or had its create refused, and
        # reports no change; only a run that made a duplicate and deleted it again reports one too.
        log = sim.requests()
        duplicate_deleted = any(entry["wsfunction"] == "core_cohort_delete_cohorts" for entry in log)
        assert sorted(r["changed"] for r in results) == ([True, True] if duplicate_deleted else [False, True])


def test_a_create_refused_because_another_run_made_the_cohort_reports_no_change(db):
    """The loser of the race gets invalidparameter: it goes on with the other run's cohort and changed nothing."""
    with start_simulator(token=["%s:manager" % MANAGER], db=db) as sim:
        # The other run's create commits between this run's search and its create: the site refuses this one.
        sim.set_faults("concurrent_create_first", functions=[CREATE], count=1)
        result, log = run(sim, idnumber="t-first", name="First")
        assert result.get("failed") is None, result
        winner = holders(sim, "t-first")
        assert len(winner) == 1 and result["cohort"]["id"] == winner[0]
        assert result["changed"] is False and writes(log) == [CREATE]
        assert any("another run created it at the same moment (id %d)" % winner[0] in w for w in result["warnings"])
        # Where the other run's cohort differs from the task, this run updates it and says so.
        sim.set_faults("concurrent_create_first", functions=[CREATE], count=1)
        result, log = run(sim, idnumber="t-other", name="Other", description="Mine")
        assert result.get("failed") is None, result
        assert result["changed"] is True and writes(log) == [CREATE, "core_cohort_update_cohorts"]
        stored = [c for c in sim.state()["cohorts"] if c["idnumber"] == "t-other"]
        assert len(stored) == 1 and stored[0]["description"] == "Mine"


def test_the_run_that_made_the_lowest_id_names_a_duplicate_nobody_deletes(db):
    """The other run may have read back before this run's cohort was visible: a twin that stays is named."""
    with start_simulator(token=["%s:manager" % MANAGER], db=db) as sim:
        sim.set_faults("concurrent_create", functions=[CREATE], count=1)
        sim.call(CREATE, {"cohorts": [{"categorytype": {"type": "system", "value": ""}, "name": "Twin",
                                       "idnumber": "t-twin"}]}, token=MANAGER)
        lowest, higher = holders(sim, "t-twin")
        client = client_from_params(params(sim), check_mode=False)
        slept = []
        try:
            with pytest.raises(PlutoError) as failure:
                wait_for_others(SiteReader(client), "t-twin", lowest, sleep=slept.append, jitter=lambda: 0.5)
        finally:
            client.close()
        assert len(slept) == 3
        assert "this run made the lowest id (%d), which wins, but cohort id %d is still there" % (lowest, higher) in str(
            failure.value)
        assert failure.value.result == {"changed": True}
        # Once the twin is gone, the same wait returns the one cohort left.
        sim.call("core_cohort_delete_cohorts", {"cohortids": [higher]}, token=MANAGER)
        client = client_from_params(params(sim), check_mode=False)
        try:
            left = wait_for_others(SiteReader(client), "t-twin", lowest, sleep=slept.append, jitter=lambda: 0.5)
        finally:
            client.close()
        assert [int(c["id"]) for c in left] == [lowest]

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

import threading

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._cohort import plan as cohort_plan
from ansible_collections.pluto.lms.plugins.module_utils._runner import run_plan
from tests.simulator.process import start_simulator

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
    """Both runs succeed, whichever way their requests interleave: duplicates or the loser's invalidparameter."""
    with start_simulator(token=["%s:manager" % MANAGER], db=db, race_window_ms=150) as sim:
        results = [None, None]
        start = threading.Barrier(2)

        def one_run(index):
            start.wait()
            if index:
                threading.Event().wait(offset_ms / 1000.0)
            results[index] = run_plan(cohort_plan, params(sim, idnumber="t-both", name="Both"), check_mode=False,
                                       diff=False)

        threads = [threading.Thread(target=one_run, args=(index,)) for index in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert all(r is not None and r.get("failed") is None for r in results), results
        survivors = holders(sim, "t-both")
        assert len(survivors) == 1
        assert [r["cohort"]["id"] for r in results] == survivors * 2
        assert all(r["changed"] is True for r in results)
        creates = [entry for entry in sim.requests() if entry["wsfunction"] == CREATE]
        assert len(creates) == 2

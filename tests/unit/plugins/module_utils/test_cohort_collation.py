# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pluto_cohort on both kinds of site database: idnumbers equal under MySQL/MariaDB's collation.

The same playbook must behave the same on a PostgreSQL and a MariaDB site: a create or rename to
an idnumber that a MariaDB site takes as another cohort's is refused before any write (check mode
too), naming that cohort; a cohort renamed on the site in case only is named, never "would create".
Every test runs against the simulator with --db postgres and with --db mariadb.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._cohort import plan as cohort_plan
from ansible_collections.pluto.lms.plugins.module_utils._runner import run_plan
from tests.simulator.process import start_simulator

MANAGER = "7c2c3d4e5f60718293a4b5c6d7e8f90a"

SEED = {
    "cohorts": [
        {"idnumber": "staff", "name": "Staff"},
        {"idnumber": u"caf\u00e9", "name": "Cafe"},
        {"idnumber": u"stra\u00dfe", "name": "Street"},
        {"idnumber": u"team-\U0001F363", "name": "Sushi team"},
        {"idnumber": "dept-x", "name": "Department X"},
        {"idnumber": "dept-y", "name": "Department Y"},
        # Renamed on the site (in case only) from the idnumber the playbooks still use, "rooms".
        {"idnumber": "ROOMS", "name": "Rooms"},
    ],
}


@pytest.fixture(scope="module", params=["postgres", "mariadb"])
def site(request, tmp_path_factory):
    path = os.path.join(str(tmp_path_factory.mktemp("seed")), "seed.json")
    with open(path, "w") as handle:
        json.dump(SEED, handle)
    with start_simulator(token=["%s:manager" % MANAGER], seed_file=path, db=request.param) as sim:
        yield sim


def run(sim, check_mode=False, **options):
    sim.reset_log()
    params = dict(url=sim.url, token=MANAGER, validate_certs=True, ca_path=None, timeout=30, retries=0, state="present")
    params.update(options)
    return run_plan(cohort_plan, params, check_mode=check_mode, diff=True), sim.requests()


def writes(log):
    return [entry["wsfunction"] for entry in log if entry["write"]]


def cohort_id(sim, idnumber):
    matches = [c["id"] for c in sim.state()["cohorts"] if c["idnumber"] == idnumber]
    assert len(matches) == 1, matches
    return matches[0]


def both_modes_fail(sim, **options):
    """Check mode and the real run fail alike, and neither sends a write; returns the message."""
    messages = []
    for check_mode in (True, False):
        result, log = run(sim, check_mode=check_mode, **options)
        assert result.get("failed") is True, result
        assert writes(log) == []
        assert "\n" not in result["msg"]
        messages.append(result["msg"])
    assert messages[0] == messages[1]
    return messages[0]


@pytest.mark.parametrize("wanted, holder", [
    ("Staff", "staff"), ("STAFF", "staff"), ("staff ", "staff"),
    ("cafe", u"caf\u00e9"), (u"CAF\u00c9", u"caf\u00e9"),
    ("strasse", u"stra\u00dfe"),
    (u"team-\U0001F37A", u"team-\U0001F363"), (u"team-\U0001F600", u"team-\U0001F363"),
])
def test_a_create_that_a_mariadb_site_takes_as_an_existing_idnumber_is_refused_naming_it(site, wanted, holder):
    message = both_modes_fail(site, idnumber=wanted, name="Clash")
    assert "%r (id %d)" % (holder, cohort_id(site, holder)) in message
    assert "MySQL/MariaDB" in message
    assert len([c for c in site.state()["cohorts"] if c["idnumber"] == wanted]) == 0


def test_an_idnumber_that_differs_otherwise_is_created(site):
    for idnumber in (" staff", "staff-b"):
        planned, _log = run(site, check_mode=True, idnumber=idnumber, name="Other")
        applied, log = run(site, idnumber=idnumber, name="Other")
        assert planned["changed"] is applied["changed"] is True
        assert writes(log) == ["core_cohort_create_cohorts"], applied
        assert applied["cohort"]["id"] == cohort_id(site, idnumber)


def test_a_cohort_renamed_on_the_site_in_case_only_is_named_not_planned_as_new(site):
    message = both_modes_fail(site, idnumber="rooms", name="Rooms")
    assert "'ROOMS' (id %d)" % cohort_id(site, "ROOMS") in message
    assert "would create" not in message


def test_deleting_an_idnumber_that_exists_only_in_another_spelling_deletes_nothing(site):
    result, log = run(site, idnumber="rooms", state="absent")
    assert result["changed"] is False and writes(log) == []
    assert any("'ROOMS'" in w for w in result["warnings"])
    cohort_id(site, "ROOMS")


def test_a_rename_to_an_idnumber_equal_under_the_collation_is_refused(site):
    message = both_modes_fail(site, id=cohort_id(site, "dept-y"), idnumber="DEPT-X")
    assert "'dept-x' (id %d)" % cohort_id(site, "dept-x") in message
    assert cohort_id(site, "dept-y")


def test_a_cohort_may_change_the_case_of_its_own_idnumber(site):
    own = cohort_id(site, "dept-y")
    planned, _log = run(site, check_mode=True, id=own, idnumber="Dept-Y")
    applied, log = run(site, id=own, idnumber="Dept-Y")
    assert planned["changed"] is applied["changed"] is True
    assert writes(log) == ["core_cohort_update_cohorts"]
    assert cohort_id(site, "Dept-Y") == own
    again, again_log = run(site, id=own, idnumber="Dept-Y")
    assert again["changed"] is False and writes(again_log) == []
    run(site, id=own, idnumber="dept-y")

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one retry loop against the simulator over real HTTP: `retries: N` means at most N + 1 sends
of any request, whatever the fault (refused, reset, timeout, 5xx, lost answer), read-back
verification of creates and deletes included."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import socket

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._client import PlutoClient, PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._executor import apply
from ansible_collections.pluto.lms.plugins.module_utils._plan import Plan
from ansible_collections.pluto.lms.plugins.module_utils._reader import SiteReader

TOKEN = "retry-unit-token-5e1d"
SYSTEM = {"type": "system", "value": ""}
CREATE = "core_cohort_create_cohorts"


@pytest.fixture(scope="module")
def site(request):
    from tests.simulator.process import start_simulator
    sim = start_simulator("--token", TOKEN, "--seed-users", "5")
    request.addfinalizer(sim.stop)
    return sim


@pytest.fixture
def faults(site):
    site.reset_log()
    yield site
    site.clear_faults()


def client(url, **kw):
    kw.setdefault("backoff", 0.001)
    return PlutoClient(url, TOKEN, **kw)


def seed_cohort(site, idnumber):
    """A cohort made with the simulator's own client, before the faults of a test."""
    return site.call(CREATE, {"cohorts": [{"categorytype": SYSTEM, "name": idnumber, "idnumber": idnumber}]},
                     token=TOKEN)[0]


def write(c, wsfunction, items, max_items=None):
    """Send items through a plan and the executor; return the plan's part of the outcome."""
    plan = Plan(owner="test")
    plan.add(wsfunction, items, max_items=max_items)
    return apply(plan, c).of("test")


def create(c, item):
    """Create one cohort through a plan and the executor; return (its part of the outcome, the created cohort)."""
    plan = Plan(owner="test")
    ref = plan.create(CREATE, item)
    outcome = apply(plan, c)
    return outcome.of("test"), outcome.created.get(ref)


def sent(site, wsfunction):
    return len([r for r in site.requests() if r["wsfunction"] == wsfunction])


def closed_port_url():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return "http://127.0.0.1:%d" % port


@pytest.mark.parametrize("retries", [0, 1, 3])
@pytest.mark.parametrize("wsfunction, args", [
    ("core_cohort_get_cohorts", None),
    ("core_cohort_create_cohorts", {"cohorts": [{"categorytype": SYSTEM, "name": "R", "idnumber": "refused"}]}),
])
def test_refused_connection_sends_at_most_retries_plus_one(retries, wsfunction, args):
    c = client(closed_port_url(), retries=retries)
    with pytest.raises(PlutoError) as error:
        c.call(wsfunction, args, verify_items=(args or {}).get("cohorts"))
    assert c.requests_sent == retries + 1
    assert "refused" in str(error.value)


@pytest.mark.parametrize("mode", ["503", "reset", "timeout"])
@pytest.mark.parametrize("retries", [0, 2])
def test_a_read_is_sent_at_most_retries_plus_one_times(faults, mode, retries):
    faults.set_faults(mode=mode, functions=["core_cohort_get_cohorts"], count=-1)
    with pytest.raises(PlutoError):
        client(faults.url, retries=retries, timeout=1).call("core_cohort_get_cohorts")
    assert sent(faults, "core_cohort_get_cohorts") == retries + 1


@pytest.mark.parametrize("mode", ["reset", "timeout"])
def test_a_create_that_never_arrives_is_verified_and_sent_at_most_retries_plus_one_times(faults, mode):
    faults.set_faults(mode=mode, functions=["core_cohort_create_cohorts"], count=-1)
    c = client(faults.url, retries=3, timeout=1)
    part, created = create(c, {"categorytype": SYSTEM, "name": "Never", "idnumber": "never-" + mode})
    assert part.failed and created is None
    assert sent(faults, "core_cohort_create_cohorts") == 4
    # Each failed send but the last is read back before the next (the last one has no next).
    assert sent(faults, "core_cohort_search_cohorts") == 3
    assert "after 4 attempts" in str(part.failure)


def test_503_on_a_create_is_resent_at_most_retries_plus_one_times(faults):
    # A 503 answer is the site's (or its proxy's) refusal: nothing was created, it is sent again unverified.
    faults.set_faults(mode="503", functions=["core_cohort_create_cohorts"], count=-1)
    part, created = create(client(faults.url, retries=2), {"categorytype": SYSTEM, "name": "Busy", "idnumber": "busy"})
    assert part.failed and created is None
    assert sent(faults, "core_cohort_create_cohorts") <= 3


def test_a_create_whose_answer_is_always_lost_is_sent_once(faults):
    faults.set_faults(mode="lost", functions=["core_cohort_create_cohorts"], count=-1)
    part, created = create(client(faults.url, retries=3), {"categorytype": SYSTEM, "name": "Lost", "idnumber": "lost-x"})
    assert not part.failed
    assert [created["idnumber"]] == ["lost-x"]
    assert sent(faults, "core_cohort_create_cohorts") == 1


@pytest.mark.parametrize("retries", [0, 2])
def test_a_lost_answer_of_a_resendable_write_is_sent_at_most_retries_plus_one_times(faults, retries):
    c = client(faults.url, retries=retries)
    cohort = seed_cohort(faults, "lost-add-%d" % retries)
    faults.reset_log()
    faults.set_faults(mode="lost", functions=["core_cohort_add_cohort_members"], count=-1)
    part = write(c, "core_cohort_add_cohort_members",
                 [{"cohorttype": {"type": "id", "value": cohort["id"]}, "usertype": {"type": "id", "value": 2}}], max_items=10)
    assert part.failed
    assert sent(faults, "core_cohort_add_cohort_members") == retries + 1


def test_a_delete_whose_answer_is_always_lost_is_sent_once(faults):
    c = client(faults.url, retries=3)
    cohort = seed_cohort(faults, "lost-delete")
    faults.reset_log()
    faults.set_faults(mode="lost", functions=["core_cohort_delete_cohorts"], count=-1)
    part = write(c, "core_cohort_delete_cohorts", [cohort["id"]])
    assert not part.failed
    assert sent(faults, "core_cohort_delete_cohorts") == 1
    faults.clear_faults()
    assert SiteReader(c).cohorts([cohort["id"]]) == []

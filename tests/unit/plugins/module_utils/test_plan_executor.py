# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The function table, the reader, plans, merging and the executor, against the simulator over real HTTP."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._client import PlutoClient, PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._executor import apply
from ansible_collections.pluto.lms.plugins.module_utils._functions import (
    FUNCTIONS,
    READ,
    WRITE,
    function,
    required_functions,
)
from ansible_collections.pluto.lms.plugins.module_utils._plan import Hooks, Plan, Recovery, merge_plans
from ansible_collections.pluto.lms.plugins.module_utils._reader import SiteReader
from ansible_collections.pluto.lms.plugins.module_utils._runner import run_plan

TOKEN = "plan-unit-token-9a7c"
SYSTEM = {"type": "system", "value": ""}
ADD = "core_cohort_add_cohort_members"
REMOVE = "core_cohort_delete_cohort_members"
CREATE = "core_cohort_create_cohorts"


@pytest.fixture(scope="module")
def site(request):
    from tests.simulator.process import start_simulator
    sim = start_simulator("--token", TOKEN, "--seed-users", "2500", "--max-input-vars", "5000")
    request.addfinalizer(sim.stop)
    return sim


def client(site, **kw):
    kw.setdefault("backoff", 0.001)
    return PlutoClient(site.url, TOKEN, **kw)


def new_cohort(site, idnumber):
    """Seed a cohort with the simulator's own client (the code under test sends only plans)."""
    return site.call(CREATE, {"cohorts": [{"categorytype": SYSTEM, "name": idnumber, "idnumber": idnumber}]},
                     token=TOKEN)[0]["id"]


def seed_member(site, cohort_id, user_id):
    answer = site.call(ADD, {"members": [add_item(cohort_id, user_id)]}, token=TOKEN)
    assert answer == {"warnings": []}


def add_item(cohort_id, user_id):
    return {"cohorttype": {"type": "id", "value": cohort_id}, "usertype": {"type": "id", "value": user_id}}


def members(site, cohort_id):
    return SiteReader(client(site)).members([cohort_id]).get(cohort_id, set())


def writes(site):
    return [r for r in site.requests() if r["write"]]


# ---- the table -------------------------------------------------------------------------------

def test_every_function_has_a_kind_and_writes_that_may_not_be_resent_are_verified_or_never_retried():
    for entry in FUNCTIONS.values():
        assert entry.kind in (READ, WRITE)
        if entry.kind == READ:
            assert entry.resend
    assert FUNCTIONS[CREATE].verify is not None and not FUNCTIONS[CREATE].resend
    assert FUNCTIONS["core_cohort_delete_cohorts"].verify is not None


@pytest.mark.parametrize("build", [
    lambda: function("core_cohort_frobnicate"),
    lambda: Plan().add("local_unknown_write", [{"x": 1}]),
    lambda: required_functions(type("P", (), {"operations": [], "reads": {"core_user_typo"}})()),
])
def test_an_unknown_function_is_an_error(build):
    with pytest.raises(PlutoError) as error:
        build()
    assert "not a web-service function pluto.lms knows" in str(error.value)


def test_required_functions_come_from_operations_and_the_reads_used(site):
    reader = SiteReader(client(site))
    reader.cohorts()
    plan = Plan(reads=reader.reads)
    plan.add(ADD, [add_item(1, 2)])
    assert required_functions(plan) == [ADD, "core_cohort_get_cohorts"]


# ---- the reader --------------------------------------------------------------------------------

@pytest.mark.parametrize("wsfunction", [CREATE, ADD, REMOVE, "core_cohort_delete_cohorts", "core_cohort_update_cohorts"])
def test_the_reader_cannot_write(site, wsfunction):
    site.reset_log()
    reader = SiteReader(client(site))
    with pytest.raises(PlutoError) as error:
        reader.read(wsfunction, {"cohorts": []})
    assert "is a write" in str(error.value)
    assert site.requests() == []
    assert not [name for name in dir(reader) if "client" in name and not name.startswith("_SiteReader__")]


@pytest.mark.parametrize("max_input_vars", [5000, 700])
def test_concurrent_lookups_send_the_same_requests_as_sequential_ones(site, max_input_vars):
    usernames = ["u%05d" % n for n in range(1, 2501)]
    answers, counts = [], []
    for concurrency in (1, 4):
        site.reset_log()
        reader = SiteReader(client(site, max_input_vars=max_input_vars), lookup_concurrency=concurrency)
        answers.append(sorted(u["username"] for u in reader.users_by_field("username", usernames)))
        log = site.requests()
        counts.append(len(log))
        assert max(r["fields"] for r in log) <= min(2003, max_input_vars)
    assert answers[0] == answers[1] == usernames
    assert counts[0] == counts[1] == (3 if max_input_vars == 5000 else 4)


def test_every_request_stays_under_max_input_vars(site):
    cohort_id = new_cohort(site, "small-limit")
    c = client(site, max_input_vars=403)
    plan = Plan()
    plan.add(ADD, [add_item(cohort_id, u) for u in range(2, 302)])
    site.reset_log()
    outcome = apply(plan, c)
    assert not outcome.failed
    log = site.requests()
    assert max(r["fields"] for r in log) <= 403
    assert len(log) == 3  # 300 items of 4 fields, at most 100 a request
    assert len(members(site, cohort_id)) == 300


# ---- plans, merging, the executor ---------------------------------------------------------------

def test_two_plans_merge_into_one_add_request_spanning_both_cohorts(site):
    first, second = new_cohort(site, "merge-a"), new_cohort(site, "merge-b")
    plan_a, plan_b = Plan(owner="a"), Plan(owner="b")
    plan_a.add(ADD, [add_item(first, 2), add_item(first, 3)])
    plan_b.add(ADD, [add_item(second, 4)])
    plan_b.add(REMOVE, [{"cohortid": second, "userid": 5}])
    merged = merge_plans([plan_a, plan_b])
    assert [op.function for op in merged.operations] == [ADD, REMOVE]
    site.reset_log()
    outcome = apply(merged, client(site))
    assert [r["wsfunction"] for r in writes(site)] == [ADD, REMOVE]
    assert members(site, first) == {2, 3} and members(site, second) == {4}
    assert outcome.of("a").items(ADD) == [add_item(first, 2), add_item(first, 3)]
    assert outcome.of("b").items(ADD) == [add_item(second, 4)]


def test_merge_orders_creates_before_adds_before_removals_before_deletes():
    plan_a, plan_b = Plan(), Plan()
    plan_a.add("core_cohort_delete_cohorts", [7])
    plan_a.add(REMOVE, [{"cohortid": 1, "userid": 2}])
    plan_b.add(ADD, [add_item(1, 3)])
    plan_b.create(CREATE, {"categorytype": SYSTEM, "name": "n", "idnumber": "n"})
    order = [op.function for op in plan_a.merge(plan_b).operations]
    assert order == [CREATE, ADD, REMOVE, "core_cohort_delete_cohorts"]


def test_an_add_to_a_cohort_created_by_the_same_plan_uses_the_created_id(site):
    plans = []
    for name in ("ref-a", "ref-b"):
        plan = Plan(owner=name)
        ref = plan.create(CREATE, {"categorytype": SYSTEM, "name": name, "idnumber": name})
        plan.add(ADD, [add_item(ref, 2), add_item(ref, 3)])
        plans.append(plan)
    site.reset_log()
    outcome = apply(merge_plans(plans), client(site))
    assert [r["wsfunction"] for r in writes(site)] == [CREATE, ADD]
    for plan in plans:
        cohort_id = outcome.created_id(plan.operations[0].entries[0].ref)
        assert members(site, cohort_id) == {2, 3}


def test_check_mode_returns_the_plan_and_never_writes(site):
    cohort_id = new_cohort(site, "check-mode")

    def plan_fn(params, reader):
        plan = Plan(result={"changed": True, "note": "planned"})
        plan.add(ADD, [add_item(cohort_id, 2)])
        return plan

    params = dict(url=site.url, token=TOKEN, validate_certs=True, ca_path=None, timeout=30, retries=0)
    site.reset_log()
    result = run_plan(plan_fn, params, check_mode=True, diff=False)
    assert result == {"changed": True, "note": "planned"}
    assert writes(site) == []
    result = run_plan(plan_fn, params, check_mode=False, diff=False)
    assert result == {"changed": True, "note": "planned"} and len(writes(site)) == 1


class DropBadItems(Hooks):
    """Drops the items the site cannot parse and sends the others again."""

    def __init__(self):
        self.calls = 0

    def on_error(self, error, items, reader):
        self.calls += 1
        if error.errorcode != "Error":
            return None
        good = [i for i in items if str(i["cohorttype"]["value"]).isdigit()]
        return Recovery(resend=good, warnings=["dropped %d bad items" % (len(items) - len(good))])


def test_a_hook_recovers_its_owner_by_resending_what_it_chooses(site):
    good = new_cohort(site, "hook-good")
    hooks = DropBadItems()
    plan = Plan(owner="a")
    plan.add(ADD, [add_item(good, 2), add_item("abc", 3)], hooks=hooks)
    site.reset_log()
    outcome = apply(plan, client(site))
    # The request with both items failed whole; the hook had the good one sent again.
    assert [r["errorcode"] for r in writes(site)] == ["Error", None]
    assert hooks.calls == 1
    assert outcome.of("a").items(ADD) == [add_item(good, 2)]
    assert outcome.of("a").warnings == ["dropped 1 bad items"]
    assert not outcome.failed and members(site, good) == {2}


def test_a_hook_is_asked_at_most_max_recoveries_times(site):
    class Stubborn(Hooks):
        max_recoveries = 2
        calls = 0

        def on_error(self, error, items, reader):
            self.calls += 1
            return Recovery(resend=items)

    hooks = Stubborn()
    plan = Plan(owner="s")
    plan.add(ADD, [add_item("abc", 2)], hooks=hooks)
    site.reset_log()
    outcome = apply(plan, client(site))
    assert hooks.calls == 2 and len(writes(site)) == 3
    assert outcome.of("s").failure.errorcode == "Error"


def test_a_failed_owner_stops_and_the_others_go_on(site):
    ok = new_cohort(site, "fail-ok")
    plan_a, plan_b = Plan(owner="a"), Plan(owner="b")
    plan_a.add(ADD, [add_item("abc", 2)])
    plan_a.add(REMOVE, [{"cohortid": ok, "userid": 9}])
    plan_b.add(ADD, [add_item(ok, 3)])
    merged = merge_plans([plan_a, plan_b])
    merged.operations[0].max_items = 1
    outcome = apply(merged, client(site))
    assert outcome.of("a").failure.errorcode == "Error"
    assert outcome.of("a").skipped == [(REMOVE, {"cohortid": ok, "userid": 9})]
    assert outcome.of("b").items(ADD) == [add_item(ok, 3)] and members(site, ok) == {3}
    report = merged.report(outcome)
    assert report["failed"] and report["results"][1] == {}


class MadeByAnother(Hooks):
    """A create refused because the idnumber exists now: someone else made it (as CreateHooks decides)."""

    max_recoveries = 1

    def on_error(self, error, items, reader):
        if error.errorcode != "invalidparameter" or not all(reader.cohorts_by_idnumber(i["idnumber"]) for i in items):
            return None
        return Recovery(applied=items, warnings=["made by another run"])


def create_item(idnumber):
    return {"categorytype": SYSTEM, "name": idnumber, "idnumber": idnumber}


def cohort_ids(site, idnumber):
    return [c["id"] for c in SiteReader(client(site)).cohorts_by_idnumber(idnumber)]


def test_a_batch_refused_for_one_owners_item_is_sent_again_for_the_others(site):
    # Another run created "batch-taken" after this run read the site: the site refuses the whole batch.
    taken = new_cohort(site, "batch-taken")
    plans = [Plan(owner="taken"), Plan(owner="fresh"), Plan(owner="plain")]
    plans[0].add(CREATE, [create_item("batch-taken")], hooks=MadeByAnother())
    plans[1].add(CREATE, [create_item("batch-fresh")], hooks=MadeByAnother())
    plans[2].add(CREATE, [create_item("batch-plain")])
    site.reset_log()
    outcome = apply(merge_plans(plans), client(site))
    assert [r["errorcode"] for r in writes(site)] == ["invalidparameter", None]
    assert not outcome.failed
    assert outcome.of("taken").warnings == ["made by another run"] and cohort_ids(site, "batch-taken") == [taken]
    assert len(cohort_ids(site, "batch-fresh")) == 1 and len(cohort_ids(site, "batch-plain")) == 1


def test_an_owner_refused_again_unexplained_fails_alone(site):
    new_cohort(site, "again-taken")
    plans = [Plan(owner="taken"), Plan(owner="bad")]
    plans[0].add(CREATE, [create_item("again-taken")], hooks=MadeByAnother())
    plans[1].add(CREATE, [dict(create_item("again-bad"), categorytype={"type": "id", "value": "999999"})])
    site.reset_log()
    outcome = apply(merge_plans(plans), client(site))
    assert len(writes(site)) == 2 and all(r["errorcode"] for r in writes(site))
    assert outcome.of("bad").failure is not None and outcome.of("taken").failure is None
    assert outcome.of("taken").warnings == ["made by another run"]


def test_a_batch_no_hook_explains_fails_every_owner_it_carried_at_once(site):
    plans = [Plan(owner="x"), Plan(owner="y")]
    plans[0].add(CREATE, [create_item("none-x")], hooks=MadeByAnother())
    plans[1].add(CREATE, [dict(create_item("none-y"), categorytype={"type": "id", "value": "999999"})],
                 hooks=MadeByAnother())
    site.reset_log()
    outcome = apply(merge_plans(plans), client(site))
    assert len(writes(site)) == 1
    assert outcome.of("x").failure is not None and outcome.of("y").failure is not None
    assert cohort_ids(site, "none-x") == []


def test_site_warnings_go_to_the_owner_whose_cohort_they_name(site):
    first, second = new_cohort(site, "warn-a"), new_cohort(site, "warn-b")
    seed_member(site, first, 2)
    plan_a, plan_b = Plan(owner="a"), Plan(owner="b")
    plan_a.add(ADD, [add_item(first, 2)])
    plan_b.add(ADD, [add_item(second, 3)])
    outcome = apply(merge_plans([plan_a, plan_b]), client(site))
    assert [w["warningcode"] for w in outcome.of("a").site_warnings] == ["3"]
    assert outcome.of("b").site_warnings == []


@pytest.mark.parametrize("option, value, words", [
    ("lookup_concurrency", 0, "lookup_concurrency must be 1 or more, got 0"),
    ("max_input_vars", 5, "max_input_vars must be the site's PHP max_input_vars"),
])
def test_connection_options_out_of_range_fail_before_any_request(site, option, value, words):
    params = dict(url=site.url, token=TOKEN, validate_certs=True, ca_path=None, timeout=30, retries=0)
    params[option] = value
    site.reset_log()
    result = run_plan(lambda params, reader: Plan(result={"changed": False}), params, check_mode=False, diff=False)
    assert result["failed"] and result["msg"].startswith(words)
    assert site.requests() == []


def test_resend_missing_members_rereads_and_resends_only_what_is_missing(site):
    from ansible_collections.pluto.lms.plugins.module_utils._hooks import ResendMissingMembers
    cohort_id = new_cohort(site, "race-hook")
    seed_member(site, cohort_id, 2)  # what a concurrent run added
    items = [add_item(cohort_id, 2), add_item(cohort_id, 3)]
    hooks = ResendMissingMembers()
    site.reset_log()
    recovery = hooks.on_error(PlutoError("add failed", errorcode="dmlwriteexception"), items, SiteReader(client(site)))
    assert recovery.applied == [add_item(cohort_id, 2)] and recovery.resend == [add_item(cohort_id, 3)]
    assert [r["wsfunction"] for r in site.requests()] == ["core_cohort_get_cohort_members"]
    assert hooks.on_error(PlutoError("other", errorcode="invalidparameter"), items, SiteReader(client(site))) is None


def test_resend_missing_members_counts_a_refused_removal_of_a_gone_member_as_applied(site):
    from ansible_collections.pluto.lms.plugins.module_utils._hooks import ResendMissingMembers
    cohort_id = new_cohort(site, "race-remove")
    seed_member(site, cohort_id, 3)  # 2 is no member any more (deleted from the site), 3 still is
    items = [{"cohortid": cohort_id, "userid": 2}, {"cohortid": cohort_id, "userid": 3}]
    hooks = ResendMissingMembers()
    site.reset_log()
    recovery = hooks.on_error(PlutoError("remove failed", errorcode="invaliduser"), items, SiteReader(client(site)))
    assert recovery.applied == [items[0]] and recovery.resend == [items[1]]
    assert [r["wsfunction"] for r in site.requests()] == ["core_cohort_get_cohort_members"]
    # No member gone: the refusal has another cause, and the same request would fail again.
    assert hooks.on_error(PlutoError("remove failed", errorcode="invaliduser"), items[1:], SiteReader(client(site))) is None
    # A refused addition's rule is not applied to removals, nor the other way round.
    assert hooks.on_error(PlutoError("x", errorcode="dmlwriteexception"), items, SiteReader(client(site))) is None
    assert hooks.on_error(PlutoError("x", errorcode="invaliduser"), [add_item(cohort_id, 2)], SiteReader(client(site))) is None

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client against the simulator over real HTTP: every error of the reference's table,
transport failures, retries, chunking under max_input_vars, and the token kept out of messages."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._client import PlutoClient, PlutoError, encode_args
from ansible_collections.pluto.lms.plugins.module_utils._executor import apply
from ansible_collections.pluto.lms.plugins.module_utils._functions import FUNCTIONS
from ansible_collections.pluto.lms.plugins.module_utils._plan import Plan
from ansible_collections.pluto.lms.plugins.module_utils._reader import SiteReader

TOKEN = "S3cr3t-manager-token-7f3a"
VIEWER = "S3cr3t-viewer-token-91bc"
LIMITED = "S3cr3t-noaccess-token-22de"


@pytest.fixture(scope="module")
def site(request):
    from tests.simulator.process import start_simulator
    sim = start_simulator("--token", TOKEN, "--token", VIEWER + ":viewer", "--token", LIMITED + ":noaccess:-core_course_get_courses",
                          "--seed-users", "30")
    request.addfinalizer(sim.stop)
    return sim


def client(site, token=TOKEN, **kw):
    kw.setdefault("backoff", 0.01)
    return PlutoClient(site.url, token, **kw)


def seed_cohort(site, idnumber, name):
    """A cohort made with the simulator's own client (the tests here are about the client, not the seeding)."""
    return site.call("core_cohort_create_cohorts", {"cohorts": [{"categorytype": {"type": "system", "value": ""},
                                                                 "name": name, "idnumber": idnumber}]}, token=TOKEN)[0]


def write(c, wsfunction, items, max_items=None):
    """Send items through a plan and the executor; return the plan's part of the outcome."""
    plan = Plan(owner="test")
    plan.add(wsfunction, items, max_items=max_items)
    return apply(plan, c).of("test")


def fail(site, wsfunction, args=None, token=TOKEN, **kw):
    with pytest.raises(PlutoError) as error:
        c = client(site, token, **kw)
        if wsfunction in FUNCTIONS:
            c.call(wsfunction, args)
        else:
            # call() refuses a function its table does not know (test_unknown_function_is_refused_before_sending);
            # the site's own answer to one is decoded by the transport's single send.
            c._post_once(wsfunction, [("wstoken", token), ("wsfunction", wsfunction), ("moodlewsrestformat", "json")]
                         + encode_args(args))
    message = str(error.value)
    assert "\n" not in message
    for secret in (TOKEN, VIEWER, LIMITED):
        assert secret not in message
    return error.value


# errorcode -> how to cause it, as in the reference's error table
ERROR_TABLE = [
    ("invalidtoken", "core_cohort_get_cohorts", None, "wrong-token"),
    ("accessexception", "core_course_get_courses", None, TOKEN),
    ("invalidparameter", "core_cohort_create_cohorts", {"cohorts": [{"name": "No category"}]}, TOKEN),
    ("invalidrecord", "core_cohort_update_cohorts",
     {"cohorts": [{"id": 99999, "categorytype": {"type": "system", "value": ""}, "name": "x", "idnumber": "x"}]}, TOKEN),
    ("invalidrecord", "core_cohort_frobnicate", None, TOKEN),
    ("nopermissions", "core_cohort_create_cohorts",
     {"cohorts": [{"categorytype": {"type": "system", "value": ""}, "name": "x", "idnumber": "viewer-x"}]}, VIEWER),
    ("dmlwriteexception", "core_cohort_create_cohorts",
     {"cohorts": [{"categorytype": {"type": "system", "value": ""}, "name": "N" * 300, "idnumber": "long"}]}, TOKEN),
    ("formatnotsupported", "core_cohort_create_cohorts",
     {"cohorts": [{"categorytype": {"type": "system", "value": ""}, "name": "f", "idnumber": "f7", "description": "x",
                   "descriptionformat": 7}]}, TOKEN),
    ("codingerror", "core_user_get_users_by_field", {"field": "city", "values": ["x"]}, TOKEN),
]


@pytest.mark.parametrize("errorcode, wsfunction, args, token", ERROR_TABLE, ids=[row[0] + "-" + row[1] for row in ERROR_TABLE])
def test_each_site_error_becomes_one_line_with_its_errorcode(site, errorcode, wsfunction, args, token):
    error = fail(site, wsfunction, args, token=token)
    assert error.errorcode == errorcode
    assert "errorcode %s" % errorcode in str(error)
    assert str(error).startswith(wsfunction)


@pytest.mark.parametrize("wsfunction", ["core_course_get_courses", "core_cohort_frobnicate"])
def test_unknown_function_is_refused_before_sending(site, wsfunction):
    site.reset_log()
    with pytest.raises(PlutoError) as error:
        client(site).call(wsfunction)
    assert "not a web-service function pluto.lms knows" in str(error.value)
    assert site.requests() == []


def test_invaliduser_and_nonnumeric_id_errors(site):
    cohort = seed_cohort(site, "err-e", "E")
    error = fail(site, "core_cohort_delete_cohort_members", {"members": [{"cohortid": cohort["id"], "userid": 987654}]})
    assert error.errorcode == "invaliduser"
    error = fail(site, "core_cohort_add_cohort_members",
                 {"members": [{"cohorttype": {"type": "id", "value": "abc"}, "usertype": {"type": "id", "value": "1"}}]})
    assert error.errorcode == "Error"


def test_messages_give_the_user_a_next_step(site):
    assert "check token" in str(fail(site, "core_cohort_get_cohorts", token="wrong-token"))
    assert "moodle/cohort:manage" in str(fail(site, "core_cohort_create_cohorts", {"cohorts": [
        {"categorytype": {"type": "system", "value": ""}, "name": "x", "idnumber": "viewer-y"}]}, token=VIEWER))


def test_require_functions_names_every_missing_function_at_once(site):
    with pytest.raises(PlutoError) as error:
        client(site, LIMITED).require_functions(["core_cohort_get_cohorts", "core_course_get_courses", "local_x_one", "local_x_two"])
    assert "local_x_one, local_x_two" in str(error.value) and "core_course_get_courses" in str(error.value)
    assert "core_cohort_get_cohorts" not in str(error.value).split(":", 1)[1]


def test_site_info_is_read_once_per_run(site):
    site.reset_log()
    c = client(site)
    c.require_functions(["core_cohort_get_cohorts"])
    c.require_functions(["core_cohort_create_cohorts"])
    assert [r["wsfunction"] for r in site.requests()] == ["core_webservice_get_site_info"]


def test_wrong_path_404_says_check_url(site):
    with pytest.raises(PlutoError) as error:
        PlutoClient(site.url + "/webservice/rest/server.php/nope", TOKEN, backoff=0.01).call("core_cohort_get_cohorts")
    assert "404" in str(error.value) and "check url" in str(error.value)


@pytest.mark.parametrize("mode, words", [
    ("html", "HTML page instead of JSON"),
    ("xml", "XML instead of JSON"),
    ("404", "check url"),
])
def test_answers_that_are_not_the_web_service(site, mode, words):
    site.set_faults(mode=mode, count=-1)
    try:
        error = fail(site, "core_cohort_get_cohorts")
    finally:
        site.clear_faults()
    assert words in str(error)


def test_503_burst_shorter_than_the_retries_converges(site):
    site.set_faults(mode="503", count=2)
    try:
        assert isinstance(SiteReader(client(site, retries=3)).cohorts(), list)
    finally:
        site.clear_faults()


def test_503_longer_than_the_retries_says_how_often_it_tried(site):
    site.set_faults(mode="503", count=-1)
    try:
        error = fail(site, "core_cohort_get_cohorts", retries=2)
    finally:
        site.clear_faults()
    assert "HTTP 503" in str(error) and "after 3 attempts" in str(error)


def test_connection_reset_on_a_read_is_retried(site):
    site.set_faults(mode="reset", count=1)
    try:
        assert isinstance(SiteReader(client(site)).cohorts(), list)
    finally:
        site.clear_faults()


def test_read_timeout_is_named(site):
    site.set_faults(mode="timeout", count=-1)
    try:
        error = fail(site, "core_cohort_get_cohorts", retries=0, timeout=1)
    finally:
        site.clear_faults()
    assert "no answer from" in str(error) and "within 1 seconds" in str(error)


def test_create_whose_answer_was_lost_is_not_sent_twice(site):
    site.set_faults(mode="lost", functions=["core_cohort_create_cohorts"], count=1)
    site.reset_log()
    plan = Plan(owner="test")
    ref = plan.create("core_cohort_create_cohorts", {"categorytype": {"type": "system", "value": ""}, "name": "Lost",
                                                     "idnumber": "lost-1"})
    try:
        outcome = apply(plan, client(site))
    finally:
        site.clear_faults()
    assert not outcome.failed
    assert [outcome.created[ref]["idnumber"]] == ["lost-1"]
    writes = [r for r in site.requests() if r["write"]]
    assert len(writes) == 1


def test_delete_whose_answer_was_lost_converges(site):
    c = client(site)
    cohort = seed_cohort(site, "gone-1", "Gone")
    site.set_faults(mode="lost", functions=["core_cohort_delete_cohorts"], count=1)
    try:
        part = write(c, "core_cohort_delete_cohorts", [cohort["id"]])
    finally:
        site.clear_faults()
    assert not part.failed
    assert SiteReader(c).cohorts([cohort["id"]]) == []


def test_bulk_writes_stay_under_max_input_vars(site_factory_low_limit):
    sim = site_factory_low_limit
    c = PlutoClient(sim.url, TOKEN, max_fields=2000)
    reader = SiteReader(c)
    cohort = seed_cohort(sim, "big", "Big")
    users = reader.users_by_field("username", ["u%05d" % n for n in range(1, 1201)])
    assert len(users) == 1200
    sim.reset_log()
    added = write(c, "core_cohort_add_cohort_members", [
        {"cohorttype": {"type": "id", "value": int(cohort["id"])}, "usertype": {"type": "id", "value": int(u["id"])}}
        for u in users], max_items=500)
    assert not added.failed
    assert len(reader.members([cohort["id"]])[cohort["id"]]) == 1200
    assert max(r["fields"] for r in sim.requests()) <= 2003
    removed = write(c, "core_cohort_delete_cohort_members", [
        {"cohortid": int(cohort["id"]), "userid": int(u["id"])} for u in users], max_items=500)
    assert not removed.failed
    assert reader.members([cohort["id"]])[cohort["id"]] == set()


@pytest.fixture
def site_factory_low_limit(request):
    from tests.simulator.process import start_simulator
    sim = start_simulator("--token", TOKEN, "--seed-users", "1200", "--max-input-vars", "2100")
    request.addfinalizer(sim.stop)
    return sim

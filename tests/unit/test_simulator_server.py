"""Tests of the running simulator over HTTP: limits, rollback, order, faults, log, seeding, persistence, roles."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sys
import time

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

# pylint: disable=wrong-import-position
from tests.simulator.process import SimulatorProcess, start_simulator  # noqa: E402

TOKENS = ['simtoken:manager', 'cm:cohortmanager', 'view:viewer', 'none:noaccess', 'norest:norest',
          'admintoken:admin', 'limited:manager:-core_cohort_delete_cohorts,-core_user_create_users']


def system_cohort(name, idnumber, **extra):
    """A create_cohorts item in the system context."""
    item = {'categorytype': {'type': 'system', 'value': ''}, 'name': name, 'idnumber': idnumber}
    item.update(extra)
    return item


def add(cohort, usernames):
    """add_cohort_members items by cohort idnumber and username."""
    return [{'cohorttype': {'type': 'idnumber', 'value': cohort}, 'usertype': {'type': 'username', 'value': name}}
            for name in usernames]


def members(sim, cohortid, token='simtoken'):
    """Sorted member ids."""
    return sorted(sim.call('core_cohort_get_cohort_members', {'cohortids': [cohortid]}, token=token)[0]['userids'])


@pytest.fixture(scope='module')
def site():
    """One shared simulator for the tests that only read or add what they need."""
    sim = start_simulator(seed_users=60, token=TOKENS)
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(name='fresh')
def fresh_simulator():
    """A simulator for one test."""
    sim = start_simulator(seed_users=20, token=TOKENS, debug=True)
    try:
        yield sim
    finally:
        sim.stop()


# --- transport ------------------------------------------------------------------------------
def test_listening_line_and_other_paths(site):
    assert site.url == 'http://127.0.0.1:%d' % site.port
    answer = site.post([('wstoken', 'simtoken')], path='/webservice/rest/nosuch.php')
    assert answer.status == 404 and answer.content_type.startswith('text/html')
    assert '<code class="url">/webservice/rest/nosuch.php</code>' in answer.text
    assert site.request('GET', '/_sim/nothing').status == 404


def test_format_defaults_to_xml_and_null_results(site):
    answer = site.post([('wstoken', 'simtoken'), ('wsfunction', 'core_cohort_get_cohort_members'), ('cohortids[0]', '999')])
    assert answer.content_type == 'application/xml; charset=utf-8'
    assert '<ERRORCODE>invalidrecord</ERRORCODE>' in answer.text
    created = site.call('core_cohort_create_cohorts', {'cohorts': [system_cohort('Null test', 'null-test')]})
    answer = site.post([('wstoken', 'simtoken'), ('wsfunction', 'core_cohort_delete_cohorts'),
                        ('moodlewsrestformat', 'json'), ('cohortids[0]', str(created[0]['id']))])
    assert answer.text == 'null' and answer.content_type == 'application/json'


def test_query_string_fields_merge_with_the_body(site):
    answer = site.post([('wsfunction', 'core_webservice_get_site_info'), ('moodlewsrestformat', 'json')],
                       query={'wstoken': 'simtoken'})
    assert answer.json()['username'] == 'wsmanager'
    answer = site.post([('wstoken', 'wrong'), ('wsfunction', 'core_webservice_get_site_info'),
                        ('moodlewsrestformat', 'json')], query={'wstoken': 'simtoken'})
    assert answer.json()['errorcode'] == 'invalidtoken'
    answer = site.post(None, query={'wstoken': 'simtoken', 'wsfunction': 'core_cohort_create_cohorts',
                                    'moodlewsrestformat': 'json'}, body='{"cohorts": []}', content_type='application/json')
    assert answer.json()['errorcode'] == 'invalidparameter'


# --- max_input_vars ---------------------------------------------------------------------------
def test_cut_inside_an_item_fails_whole(fresh):
    fresh.call('core_cohort_create_cohorts', {'cohorts': [system_cohort('Big', 'big')]})
    items = add('big', ['u%05d' % (1 + number % 20) for number in range(1250)])
    answer = fresh.call('core_cohort_add_cohort_members', {'members': items})
    assert answer['errorcode'] == 'invalidparameter'
    assert answer['debuginfo'] == 'members => Invalid parameter value detected: Missing required key in single structure: usertype'
    assert members(fresh, 1) == []
    assert fresh.requests()[-2]['fields'] == 5003


def test_cut_on_an_item_boundary_loses_the_tail(fresh):
    fresh.call('core_cohort_create_cohorts', {'cohorts': [system_cohort('Big', 'big')]})
    seeded = fresh.call('core_user_get_users_by_field', {'field': 'username', 'values': ['u%05d' % n for n in range(1, 21)]})
    ids = sorted(user['id'] for user in seeded)
    assert fresh.call('core_cohort_add_cohort_members', {'members': add('big', ['u%05d' % n for n in range(1, 21)])}) == {
        'warnings': []}
    removals = [{'cohortid': 1, 'userid': ids[0]}] * 2498 + [{'cohortid': 1, 'userid': userid} for userid in ids[:5]]
    assert fresh.call('core_cohort_delete_cohort_members', {'members': removals}) is None
    assert members(fresh, 1) == ids[1:]


def test_ws_fields_sent_last_are_dropped(site):
    pairs = [('cohortids[%d]' % number, '1') for number in range(5001)]
    answer = site.post(pairs + [('wstoken', 'simtoken'), ('wsfunction', 'core_cohort_get_cohorts'),
                                ('moodlewsrestformat', 'json')])
    assert answer.content_type.startswith('application/xml')
    assert '<ERRORCODE>invalidtoken</ERRORCODE>' in answer.text


def test_max_input_vars_switch():
    with start_simulator('--max-input-vars', '10') as sim:
        answer = sim.call('core_cohort_get_cohorts', {'cohortids': list(range(20))})
        assert answer == []
        answer = sim.post([('cohortids[0]', '1')] * 11 + [('wstoken', 'simtoken'), ('wsfunction', 'core_cohort_get_cohorts')])
        assert 'invalidtoken' in answer.text


# --- all or nothing ---------------------------------------------------------------------------
def test_writes_roll_back_as_a_whole(fresh):
    created = fresh.call('core_cohort_create_cohorts', {'cohorts': [system_cohort('One', 'one'), system_cohort('Two', 'two')]})
    one, two = created[0]['id'], created[1]['id']
    fresh.call('core_cohort_add_cohort_members', {'members': add('one', ['u00001', 'u00002'])})
    user1, user2 = members(fresh, one)
    before = fresh.state()['cohorts']
    failing = [
        ('core_cohort_create_cohorts', {'cohorts': [system_cohort('Three', 'three'), system_cohort('Dup', 'one')]}),
        ('core_cohort_update_cohorts', {'cohorts': [
            {'id': one, 'categorytype': {'type': 'system', 'value': ''}, 'name': 'Renamed', 'idnumber': 'one'},
            {'id': 999, 'categorytype': {'type': 'system', 'value': ''}, 'name': 'Ghost', 'idnumber': 'ghost'}]}),
        ('core_cohort_delete_cohorts', {'cohortids': [two, 999]}),
        ('core_cohort_delete_cohort_members', {'members': [{'cohortid': one, 'userid': user1},
                                                           {'cohortid': 999, 'userid': user2}]}),
        ('core_cohort_add_cohort_members', {'members': add('two', ['u00003']) + [
            {'cohorttype': {'type': 'id', 'value': 'abc'}, 'usertype': {'type': 'id', 'value': user1}}]}),
        ('core_user_create_users', {'users': [
            {'username': 'newuser', 'password': 'Passw0rd!x', 'firstname': 'N', 'lastname': 'U', 'email': 'n@example.com'},
            {'username': 'u00001', 'password': 'Passw0rd!x', 'firstname': 'D', 'lastname': 'U', 'email': 'd@example.com'}]}),
    ]
    for function, params in failing:
        answer = fresh.call(function, params)
        assert isinstance(answer, dict) and 'exception' in answer, (function, answer)
    state = fresh.state()
    assert state['cohorts'] == before
    assert 'newuser' not in {user['username'] for user in state['users']}
    answer = fresh.call('core_cohort_add_cohort_members', {'members': add('two', ['u00003'])}, token='view')
    assert answer['errorcode'] == 'nopermissions'
    assert answer['message'] == 'Sorry, but you do not currently have permissions to do that (Add and remove cohort members).'
    assert members(fresh, two) == []


def test_add_members_warnings(fresh):
    fresh.call('core_cohort_create_cohorts', {'cohorts': [system_cohort('W', 'w')]})
    items = add('w', ['u00001', 'ghost', 'u00001', 'U00002']) + [
        {'cohorttype': {'type': 'name', 'value': 'W'}, 'usertype': {'type': 'id', 'value': '1'}},
        {'cohorttype': {'type': 'idnumber', 'value': 'nope'}, 'usertype': {'type': 'username', 'value': 'u00003'}}]
    answer = fresh.call('core_cohort_add_cohort_members', {'members': items})
    assert sorted(warning['warningcode'] for warning in answer['warnings']) == ['1', '2', '2', '2', '3']
    assert {'warningcode': '3', 'message': 'record already exists: cohort(idnumber=w username=u00001)'} in answer['warnings']
    assert all(isinstance(warning['warningcode'], str) for warning in answer['warnings'])


# --- order ------------------------------------------------------------------------------------
def test_list_results_are_shuffled(site):
    cohorts = [system_cohort('Shuffle %02d' % n, 'shuffle-%02d' % n) for n in range(12)]
    site.call('core_cohort_create_cohorts', {'cohorts': cohorts})
    site.call('core_cohort_add_cohort_members', {'members': add('shuffle-00', ['u%05d' % n for n in range(1, 41)])})
    orders = set()
    member_orders = set()
    for _attempt in range(6):
        found = site.call('core_cohort_search_cohorts', {'query': 'shuffle', 'context': {'contextid': 1}, 'limitnum': 0})
        orders.add(tuple(cohort['id'] for cohort in found['cohorts']))
        first = [cohort['id'] for cohort in found['cohorts'] if cohort['idnumber'] == 'shuffle-00']
        member_orders.add(tuple(site.call('core_cohort_get_cohort_members', {'cohortids': first})[0]['userids']))
    assert len(orders) > 1 and len(member_orders) > 1
    assert len({len(order) for order in orders}) == 1 and len({len(order) for order in member_orders}) == 1


def test_no_shuffle_keeps_database_order():
    with start_simulator(no_shuffle=True, seed_users=30) as sim:
        sim.call('core_cohort_create_cohorts', {'cohorts': [system_cohort('C%d' % n, 'c%d' % n) for n in range(10)]})
        orders = {tuple(cohort['id'] for cohort in sim.call('core_cohort_get_cohorts')) for _attempt in range(4)}
        assert orders == {tuple(range(1, 11))}


# --- faults -----------------------------------------------------------------------------------
def test_fault_modes(fresh):
    get = ('core_cohort_get_cohorts', {})
    fresh.set_faults('503', count=1)
    answer = fresh.post([('wstoken', 'simtoken'), ('wsfunction', get[0]), ('moodlewsrestformat', 'json')])
    assert answer.status == 503 and answer.content_type.startswith('text/html')
    assert fresh.call(*get) == []
    fresh.set_faults('html', count=1)
    answer = fresh.post([('wstoken', 'simtoken'), ('wsfunction', get[0]), ('moodlewsrestformat', 'json')])
    assert answer.status == 200 and answer.content_type.startswith('text/html') and 'login' in answer.text
    fresh.set_faults('404', count=1)
    assert fresh.post([('wstoken', 'simtoken'), ('wsfunction', get[0])]).status == 404
    fresh.set_faults('xml', functions=['core_cohort_create_cohorts'], count=1)
    answer = fresh.post([('wstoken', 'simtoken'), ('wsfunction', 'core_cohort_create_cohorts'),
                         ('moodlewsrestformat', 'json'), ('cohorts[0][categorytype][type]', 'system'),
                         ('cohorts[0][categorytype][value]', ''), ('cohorts[0][name]', 'X'), ('cohorts[0][idnumber]', 'x')])
    assert answer.content_type.startswith('application/xml') and '<KEY name="idnumber"><VALUE>x</VALUE>' in answer.text
    fresh.set_faults('reset', count=1)
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        fresh.call(*get)
    fresh.set_faults('lost', writes_only=True, count=1)
    assert fresh.call(*get)[0]['idnumber'] == 'x'
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        fresh.call('core_cohort_create_cohorts', {'cohorts': [system_cohort('Lost', 'lost')]})
    assert {cohort['idnumber'] for cohort in fresh.call(*get)} == {'x', 'lost'}
    log = fresh.requests()
    assert [entry['fault'] for entry in log] == ['503', None, 'html', '404', 'xml', 'reset', None, 'lost', None]
    assert [entry['status'] for entry in log] == [503, 200, 200, 404, 200, None, 200, None, 200]


def test_fault_plan_skip_count_and_clear(fresh):
    fresh.set_faults('503', functions=['core_cohort_get_cohorts'], skip=1, count=2)
    statuses = []
    for _attempt in range(4):
        statuses.append(fresh.post([('wstoken', 'simtoken'), ('wsfunction', 'core_cohort_get_cohorts')]).status)
        fresh.post([('wstoken', 'simtoken'), ('wsfunction', 'core_webservice_get_site_info')])
    assert statuses == [200, 503, 503, 200]
    fresh.set_faults('503')
    assert fresh.post([('wstoken', 'simtoken'), ('wsfunction', 'core_cohort_get_cohorts')]).status == 503
    fresh.clear_faults()
    assert fresh.post([('wstoken', 'simtoken'), ('wsfunction', 'core_cohort_get_cohorts')]).status == 200
    assert fresh.request('POST', '/_sim/faults', body=b'{"mode": "nonsense"}').status == 400


def test_timeout_fault_holds_the_request_and_stops_promptly():
    sim = start_simulator(timeout_fault_s=30)
    try:
        sim.set_faults('timeout', count=1)
        with pytest.raises((socket.timeout, TimeoutError, OSError)):
            sim.call('core_cohort_get_cohorts', timeout=0.5)
        sim.set_faults('timeout', count=1)
        connection = http.client.HTTPConnection('127.0.0.1', sim.port, timeout=30)
        connection.request('POST', '/webservice/rest/server.php', body='wstoken=simtoken&wsfunction=core_cohort_get_cohorts',
                           headers={'Content-Type': 'application/x-www-form-urlencoded'})
        time.sleep(0.3)
        started = time.monotonic()
        assert sim.stop() == 0
        assert time.monotonic() - started < 5
        connection.close()
    finally:
        sim.kill()


def test_random_faults_follow_the_seed():
    def run():
        with start_simulator(fail_rate=0.5, fail_mode='503', fail_seed=7) as sim:
            return [sim.post([('wstoken', 'simtoken'), ('wsfunction', 'core_cohort_get_cohorts')]).status
                    for _attempt in range(12)]
    first, second = run(), run()
    assert first == second
    assert set(first) == {200, 503}


def test_latency_is_added():
    with start_simulator(latency_ms=150) as sim:
        started = time.monotonic()
        sim.call('core_cohort_get_cohorts')
        assert time.monotonic() - started >= 0.15


# --- request log ------------------------------------------------------------------------------
def test_request_log(fresh):
    fresh.reset_log()
    fresh.call('core_cohort_get_cohorts')
    fresh.call('core_cohort_create_cohorts', {'cohorts': [system_cohort('Log', 'log')]})
    fresh.call('core_cohort_delete_cohorts', {'cohortids': [999]})
    fresh.post([('wstoken', 'simtoken')] + [('cohortids[%d]' % n, '1') for n in range(6000)])
    log = fresh.requests()
    assert log == [
        {'wsfunction': 'core_cohort_get_cohorts', 'fields': 3, 'write': False, 'errorcode': None, 'status': 200,
         'fault': None},
        {'wsfunction': 'core_cohort_create_cohorts', 'fields': 7, 'write': True, 'errorcode': None, 'status': 200,
         'fault': None},
        {'wsfunction': 'core_cohort_delete_cohorts', 'fields': 4, 'write': True, 'errorcode': 'invalidrecord',
         'status': 200, 'fault': None},
        {'wsfunction': None, 'fields': 6001, 'write': False, 'errorcode': 'invalidparameter', 'status': 200,
         'fault': None},
    ]
    assert 'simtoken' not in json.dumps(log)
    fresh.reset_log()
    assert fresh.requests() == []


# --- seeding and persistence --------------------------------------------------------------------
SEED = {
    'categories': [{'idnumber': 'TOP', 'name': 'Top'}, {'idnumber': 'SUB', 'name': 'Sub', 'parent': 'TOP'},
                   {'idnumber': 'HID', 'name': 'Hidden', 'visible': 0}],
    'users': [{'username': 'alice', 'email': 'alice@example.com', 'idnumber': 'A1', 'firstname': 'Alice', 'lastname': 'A'},
              {'username': 'bob', 'email': 'bob@example.com', 'firstname': 'Bob', 'lastname': 'B', 'suspended': True},
              {'username': 'carol', 'email': 'carol@example.com', 'firstname': 'Carol', 'lastname': 'C', 'deleted': True}],
    'cohorts': [{'idnumber': 'staff', 'name': 'Staff', 'description': '*hi*', 'descriptionformat': 4,
                 'members': ['alice', 'bob', 'carol']},
                {'idnumber': 'sub-c', 'name': 'Sub cohort', 'category': 'SUB', 'visible': 0, 'theme': 'classic',
                 'component': 'auth_test'}],
}


def test_seed_file_and_restart_persistence(tmp_path):
    seed = tmp_path / 'seed.json'
    seed.write_text(json.dumps(SEED), encoding='utf-8')
    state = str(tmp_path / 'site.sqlite')
    sim = SimulatorProcess(state=state, seed_file=str(seed), token=TOKENS, seed_users=3)
    with sim:
        dump = sim.state()
        assert [cat['idnumber'] for cat in dump['categories']] == [None, 'TOP', 'SUB', 'HID']
        users = {user['username']: user for user in dump['users']}
        assert {'u00001', 'u00003', 'alice', 'bob'} <= set(users) and 'carol' not in users
        assert users['bob']['suspended'] and any(user['deleted'] for user in dump['users'])
        staff = sim.call('core_cohort_get_cohorts', {'cohortids': [1]})[0]
        assert staff['description'] == '<p><em>hi</em></p>\n' and staff['descriptionformat'] == 1
        assert members(sim, 1) == sorted([users['alice']['id'], users['bob']['id']])
        sub = sim.call('core_cohort_get_cohorts', {'cohortids': [2]})[0]
        assert sub['theme'] is None and sub['visible'] is False
        found = sim.call('core_cohort_search_cohorts', {'query': '', 'context': {'contextlevel': 'coursecat',
                                                                                 'instanceid': 3}, 'includes': 'self'})
        assert [cohort['id'] for cohort in found['cohorts']] == [2]
        sim.call('core_cohort_create_cohorts', {'cohorts': [system_cohort('Kept', 'kept')]})
        sim.call('core_cohort_create_cohorts', {'cohorts': [system_cohort('Lost', 'lost'), system_cohort('Dup', 'kept')]})
        sim.call('core_cohort_add_cohort_members', {'members': add('kept', ['u00001'])})
        before = sim.state()
        assert sim.stop() == 0
        sim.restart()
        after = sim.state()
        assert after == before
        created = sim.call('core_cohort_create_cohorts', {'cohorts': [system_cohort('Next', 'next')]})
        assert created[0]['id'] == 5


def test_seed_yaml_and_generated_users(tmp_path):
    seed = tmp_path / 'seed.yaml'
    seed.write_text('categories:\n  - {idnumber: CAT, name: Cat}\ncohorts:\n  - {idnumber: c1, name: C1, category: CAT,'
                    ' members: [u00002]}\n', encoding='utf-8')
    with start_simulator(seed_file=str(seed), seed_users=12) as sim:
        users = sim.call('core_user_get_users_by_field', {'field': 'idnumber', 'values': ['EMP00012']})
        assert [(user['username'], user['email']) for user in users] == [('u00012', 'u00012@example.com')]
        assert len(members(sim, 1)) == 1


def test_yaml_seed_without_pyyaml_says_what_to_do(tmp_path, monkeypatch):
    from tests.simulator import server  # pylint: disable=import-outside-toplevel
    seed = tmp_path / 'seed.yml'
    seed.write_text('users: []\n', encoding='utf-8')
    monkeypatch.setitem(sys.modules, 'yaml', None)  # as in a Python without PyYAML
    with pytest.raises(SystemExit) as failure:
        server.load_seed(str(seed))
    assert 'needs PyYAML' in str(failure.value) and 'JSON seed' in str(failure.value)
    json_seed = tmp_path / 'seed.json'
    json_seed.write_text('{"users": []}', encoding='utf-8')
    assert server.load_seed(str(json_seed)) == {'users': []}


def test_ready_and_pid_files_and_sigint(tmp_path):
    ready, pid = tmp_path / 'ready', tmp_path / 'pid'
    sim = start_simulator(ready_file=str(ready), pid_file=str(pid))
    try:
        assert ready.read_text(encoding='utf-8').strip() == sim.url
        assert int(pid.read_text(encoding='utf-8')) == sim.process.pid
        sim.process.send_signal(signal.SIGINT)
        assert sim.process.wait(10) == 0
        assert not ready.exists() and not pid.exists()
    finally:
        sim.kill()


# --- roles and functions ----------------------------------------------------------------------
def test_roles(site):
    site.call('core_cohort_create_cohorts', {'cohorts': [system_cohort('Roles', 'roles')]})
    lookup = ('core_user_get_users_by_field', {'field': 'username', 'values': ['u00001']})
    assert len(site.call(*lookup)) == 1
    assert site.call(*lookup, token='cm') == [] and site.call(*lookup, token='view') == []
    create = ('core_cohort_create_cohorts', {'cohorts': [system_cohort('V', 'v')]})
    answer = site.call(*create, token='view')
    assert answer['message'] == 'Sorry, but you do not currently have permissions to do that (Create, delete and move cohorts).'
    assert site.call(*create, token='cm')[0]['idnumber'] == 'v'
    answer = site.call('core_cohort_get_cohorts', token='none')
    assert answer['message'] == 'Sorry, but you do not currently have permissions to do that (View site-wide cohorts).'
    assert site.call('core_cohort_get_cohorts', token='norest')['errorcode'] == 'accessexception'
    assert site.call('core_cohort_delete_cohorts', {'cohortids': [1]}, token='limited')['errorcode'] == 'accessexception'
    assert site.call('core_cohort_frobnicate')['errorcode'] == 'invalidrecord'
    info = site.call('core_webservice_get_site_info', token='limited')
    names = {function['name'] for function in info['functions']}
    assert 'core_cohort_delete_cohorts' not in names and 'core_cohort_add_cohort_members' in names
    assert info['release'].startswith('4.5.6 (Build: ') and info['userissiteadmin'] is False
    admin = site.call('core_webservice_get_site_info', token='admintoken')
    assert admin['userissiteadmin'] is True and admin['userid'] == 2
    userids = {site.call('core_webservice_get_site_info', token=token)['userid'] for token in ('simtoken', 'cm', 'view')}
    assert len(userids) == 3


def test_categories(site):
    every = site.call('core_course_get_categories')
    assert [(cat['id'], cat['idnumber']) for cat in every] == [(1, None)]
    with start_simulator(seed_file=os.path.join(REPO_ROOT, 'tests', 'simulator', 'contract', 'seed.yaml'),
                         token=['m:manager', 'cm:cohortmanager']) as sim:
        by_idnumber = sim.call('core_course_get_categories', {'criteria': [{'key': 'idnumber', 'value': 'CATA'}]},
                               token='m')
        assert sorted(cat['idnumber'] for cat in by_idnumber) == ['CATA', 'CATB']
        only = sim.call('core_course_get_categories', {'criteria': [{'key': 'idnumber', 'value': 'CATA'}],
                                                       'addsubcategories': 0}, token='m')
        assert [(cat['id'], cat['parent'], cat['path']) for cat in only] == [(2, 0, '/2')]
        answer = sim.call('core_course_get_categories', {'criteria': [{'key': 'idnumber', 'value': 'CATA'}]}, token='cm')
        assert answer['errorcode'] == 'criteriaerror' and answer['message'] == 'Missing permissions to search on a criterion.'
        by_id = sim.call('core_course_get_categories', {'criteria': [{'key': 'id', 'value': 3}]}, token='cm')
        assert [cat['id'] for cat in by_id] == [3] and 'idnumber' not in by_id[0]


def test_search_defaults_to_25(site):
    site.call('core_cohort_create_cohorts', {'cohorts': [system_cohort('Many %02d' % n, 'many-%02d' % n) for n in range(30)]})
    found = site.call('core_cohort_search_cohorts', {'query': 'MANY', 'context': {'contextid': 1}})
    assert len(found['cohorts']) == 25
    page = site.call('core_cohort_search_cohorts', {'query': 'many', 'context': {'contextid': 1}, 'includes': 'all',
                                                    'limitfrom': 1, 'limitnum': 20})
    assert sorted(cohort['name'] for cohort in page['cohorts']) == ['Many %02d' % n for n in range(20, 30)]
    answer = site.call('core_cohort_search_cohorts', {'query': '', 'context': {'contextid': 1}, 'includes': 'foo'})
    assert answer['errorcode'] == 'codingerror'


def test_update_semantics_and_themes():
    with start_simulator(allow_cohort_themes=True) as sim:
        created = sim.call('core_cohort_create_cohorts', {'cohorts': [
            system_cohort('T', 't', theme='classic', description='a\nb', descriptionformat=2),
            system_cohort('', 'blank')]})
        assert created[0]['theme'] == 'classic' and created[1]['name'] == ''
        update = {'id': created[0]['id'], 'categorytype': {'type': 'system', 'value': ''}, 'name': 'T2', 'idnumber': 'blank'}
        assert sim.call('core_cohort_update_cohorts', {'cohorts': [update]}) is None
        raw = sim.post([('wstoken', 'simtoken'), ('wsfunction', 'core_cohort_get_cohorts'), ('moodlewsrestformat', 'json'),
                        ('cohortids[0]', str(created[0]['id'])), ('moodlewssettingraw', '1')]).json()[0]
        assert (raw['idnumber'], raw['description'], raw['descriptionformat'], raw['theme']) == ('blank', 'a\nb', 1, 'classic')
        update['name'] = '   '
        assert sim.call('core_cohort_update_cohorts', {'cohorts': [update]})['errorcode'] == 'invalidparameter'
        long_name = system_cohort('N' * 255, 'long')
        assert sim.call('core_cohort_create_cohorts', {'cohorts': [long_name]})['errorcode'] == 'dmlwriteexception'
        bad = system_cohort('F', 'f', description='x', descriptionformat=7)
        assert sim.call('core_cohort_create_cohorts', {'cohorts': [bad]})['errorcode'] == 'formatnotsupported'


def test_users_lookup_rules(site):
    answer = site.call('core_user_get_users_by_field', {'field': 'username', 'values': ['U00001']})
    assert answer['errorcode'] == 'invalidparameter'
    assert site.call('core_user_get_users_by_field', {'field': 'email', 'values': ['U00001@EXAMPLE.COM']}) == []
    assert site.call('core_user_get_users_by_field', {'field': 'firstname', 'values': ['x']})['errorcode'] == 'codingerror'
    created = site.call('core_user_create_users', {'users': [{'username': 'temp1', 'password': 'Passw0rd!x',
                                                              'firstname': 'T', 'lastname': 'One', 'email': 'temp1@example.com'}]})
    assert site.call('core_user_delete_users', {'userids': [created[0]['id']]}) is None
    assert site.call('core_user_get_users_by_field', {'field': 'username', 'values': ['temp1']}) == []
    by_id = site.call('core_user_get_users_by_field', {'field': 'id', 'values': [created[0]['id']]})
    assert by_id[0]['username'].startswith('temp1@example.com.') and 'idnumber' not in by_id[0]


# --- scale ------------------------------------------------------------------------------------
def test_large_cohorts_are_fast(tmp_path):
    seed = tmp_path / 'seed.json'
    seed.write_text(json.dumps({'cohorts': [{'idnumber': 'huge', 'name': 'Huge',
                                             'members': ['u%05d' % n for n in range(1, 50001)]},
                                            {'idnumber': 'small', 'name': 'Small'}]}), encoding='utf-8')
    with start_simulator(seed_users=50500, seed_file=str(seed)) as sim:
        assert len(sim.call('core_cohort_get_cohort_members', {'cohortids': [1]})[0]['userids']) == 50000
        started = time.monotonic()
        answer = sim.call('core_cohort_add_cohort_members', {'members': add('small', ['u%05d' % n for n in range(1, 501)])})
        assert answer == {'warnings': []}
        assert time.monotonic() - started < 1.0
        answer = sim.call('core_cohort_add_cohort_members', {'members': add('huge', ['u%05d' % n for n in range(50001, 50501)])})
        assert answer == {'warnings': []}
        assert len(members(sim, 1)) == 50500

"""The simulator's database kinds (--db), concurrent writes (--race-window-ms, race faults) and workers."""

from __future__ import annotations

import os
import sys
import threading

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

# pylint: disable=wrong-import-position
from tests.simulator.collation import exact_key, key_function, mariadb_key  # noqa: E402
from tests.simulator.process import start_simulator  # noqa: E402
from tests.simulator.pytest_fixtures import together  # noqa: E402

INVALID = {'exception': 'core\\exception\\invalid_parameter_exception', 'errorcode': 'invalidparameter',
           'message': 'Invalid parameter value detected'}
DML_WRITE = {'exception': 'dml_write_exception', 'errorcode': 'dmlwriteexception',
             'message': 'Error writing to database'}
USERS = {'users': [
    {'username': 'jdoe', 'email': 'Jane.Doe@Example.edu', 'firstname': 'Jane', 'lastname': 'Doe'},
    {'username': 'mcase', 'email': 'Mixed.Case@Example.EDU', 'idnumber': 'ID-Mixed-01', 'firstname': 'Mixed',
     'lastname': 'Case'},
    {'username': 'ucafe', 'email': 'ucafe@example.edu', 'idnumber': 'café', 'firstname': 'Cafe', 'lastname': 'User'},
    {'username': 'uemoji', 'email': 'uemoji@example.edu', 'idnumber': '🍣-1', 'firstname': 'Emoji',
     'lastname': 'User'},
    {'username': 'gone', 'email': 'gone@example.edu', 'idnumber': 'GONE-1', 'deleted': True},
]}


def system_cohort(name, idnumber):
    """A create_cohorts item in the system context."""
    return {'categorytype': {'type': 'system', 'value': ''}, 'name': name, 'idnumber': idnumber}


def create(sim, idnumber, name=None):
    """Create one system cohort; the answer as JSON."""
    return sim.call('core_cohort_create_cohorts', {'cohorts': [system_cohort(name or idnumber, idnumber)]})


def add_by(cohort_type, cohort, user_type, users):
    """add_cohort_members items."""
    return {'members': [{'cohorttype': {'type': cohort_type, 'value': cohort},
                         'usertype': {'type': user_type, 'value': user}} for user in users]}


def cohorts_by_idnumber(sim):
    """idnumber -> sorted ids of every cohort."""
    result = {}
    for cohort in sim.state()['cohorts']:
        result.setdefault(cohort['idnumber'], []).append(cohort['id'])
    return {key: sorted(value) for key, value in result.items()}


def members_of(sim, cohortid):
    """Sorted member ids of a cohort, from the state."""
    for cohort in sim.state()['cohorts']:
        if cohort['id'] == cohortid:
            return sorted(cohort['members'])
    raise AssertionError('no cohort %d' % cohortid)


def lookup(sim, field, values, token='simtoken'):
    """core_user_get_users_by_field."""
    return sim.call('core_user_get_users_by_field', {'field': field, 'values': list(values)}, token=token)


# --- the collation function -----------------------------------------------------------------
@pytest.mark.parametrize('left,right', [('staff', 'Staff'), ('staff', 'STAFF'), ('staff', 'staff '),
                                        ('café', 'cafe'), ('café', 'CAFÉ'), ('straße', 'strasse'),
                                        ('team-🍣', 'team-🍺'), ('team-🍣', 'team-😀'), ('ID-Mixed-01', 'id-mixed-01')])
def test_mariadb_collation_equal(left, right):
    """utf8mb4_unicode_ci: case, accents, trailing spaces, ß and which emoji do not count."""
    assert mariadb_key(left) == mariadb_key(right)
    assert exact_key(left) != exact_key(right)


@pytest.mark.parametrize('left,right', [('staff', ' staff'), ('a🍣', 'a'), ('staff', 'staf'), ('ops', 'ops2')])
def test_mariadb_collation_different(left, right):
    """Leading spaces count; an emoji is not nothing."""
    assert mariadb_key(left) != mariadb_key(right)


def test_key_function_rejects_unknown_kinds():
    """Only the two database kinds exist."""
    assert key_function('postgres') is exact_key
    assert key_function('mariadb') is mariadb_key
    with pytest.raises(ValueError):
        key_function('oracle')


# --- one site per kind --------------------------------------------------------------------
@pytest.fixture(name='sites', scope='module')
def fixture_sites(tmp_path_factory):
    """A PostgreSQL-like and a MariaDB-like site with the same users."""
    import json  # pylint: disable=import-outside-toplevel
    path = tmp_path_factory.mktemp('seed') / 'seed.json'
    path.write_text(json.dumps(USERS), encoding='utf-8')
    started = {db: start_simulator(seed_users=10, seed_file=str(path), db=db, no_shuffle=True)
               for db in ('postgres', 'mariadb')}
    try:
        yield started
    finally:
        for sim in started.values():
            sim.stop()


@pytest.mark.parametrize('existing,again', [('staff', 'Staff'), ('staff2', 'STAFF2 '), ('café', 'CAFE'),
                                            ('straße', 'STRASSE'), ('team-🍣', 'team-🍺')])
def test_create_checks_idnumber_with_the_collation(sites, existing, again):
    """MariaDB refuses an idnumber equal under its collation; PostgreSQL makes a second cohort."""
    for db, sim in sites.items():
        first = create(sim, existing)
        assert first[0]['idnumber'] == existing, (db, first)
        second = create(sim, again)
        if db == 'mariadb':
            assert second == INVALID
        else:
            assert second[0]['idnumber'] == again, second


def test_create_leading_space_is_another_idnumber(sites):
    """' lead' differs from 'lead' on both kinds."""
    for sim in sites.values():
        assert create(sim, 'lead')[0]['idnumber'] == 'lead'
        assert create(sim, ' lead')[0]['idnumber'] == ' lead'


def test_create_refuses_collation_twins_within_one_request(sites):
    """Two items equal under MariaDB's collation in one request: refused whole there."""
    items = {'cohorts': [system_cohort('Twin', 'twin-x'), system_cohort('Twin 2', 'TWIN-X')]}
    assert sites['mariadb'].call('core_cohort_create_cohorts', items) == INVALID
    assert 'twin-x' not in cohorts_by_idnumber(sites['mariadb'])
    assert len(sites['postgres'].call('core_cohort_create_cohorts', items)) == 2


def test_search_is_accent_and_emoji_sensitive_on_both(sites):
    """Search lowers case on both kinds, but an accent or another emoji is another text."""
    for sim in sites.values():
        create(sim, 'srch-été')
        create(sim, 'srch-🍣')

        def found(query):
            answer = sim.call('core_cohort_search_cohorts', {'query': query, 'context': {'contextid': 1},
                                                             'includes': 'all', 'limitnum': 0})
            return sorted(cohort['idnumber'] for cohort in answer['cohorts'])

        assert found('SRCH-ÉTÉ') == ['srch-été']
        assert found('srch-ete') == []
        assert found('srch-🍺') == []
        assert found('srch-🍣') == ['srch-🍣']


def test_add_members_matches_cohort_idnumber_and_username_loosely_on_mariadb(sites):
    """MariaDB: OPS, 'ops ' and JDOE find ops and jdoe; PostgreSQL answers warning 2."""
    for db, sim in sites.items():
        cohortid = create(sim, 'ops')[0]['id']
        answers = [sim.call('core_cohort_add_cohort_members', add_by('idnumber', 'OPS', 'username', ['u00001'])),
                   sim.call('core_cohort_add_cohort_members', add_by('idnumber', 'ops ', 'username', ['u00002'])),
                   sim.call('core_cohort_add_cohort_members', add_by('idnumber', ' ops', 'username', ['u00003'])),
                   sim.call('core_cohort_add_cohort_members', add_by('idnumber', 'ops', 'username', ['JDOE'])),
                   sim.call('core_cohort_add_cohort_members', add_by('idnumber', 'ops', 'username', [' jdoe']))]
        codes = [[warning['warningcode'] for warning in answer['warnings']] for answer in answers]
        users = {user['username']: user['id'] for user in sim.state()['users']}
        if db == 'mariadb':
            assert codes == [[], [], ['2'], [], ['2']]
            assert members_of(sim, cohortid) == sorted([users['u00001'], users['u00002'], users['jdoe']])
        else:
            assert codes == [['2'], ['2'], ['2'], ['2'], ['2']]
            assert members_of(sim, cohortid) == []


def test_add_by_duplicated_idnumber_goes_to_the_lower_id(sites):
    """A case-only twin made by update: MariaDB puts both adds into the older cohort."""
    for db, sim in sites.items():
        first = create(sim, 'dept-x')[0]['id']
        second = create(sim, 'dept-y')[0]['id']
        assert sim.call('core_cohort_update_cohorts', {'cohorts': [
            dict(system_cohort('Dept Y', 'DEPT-X'), id=second)]}) is None
        sim.call('core_cohort_add_cohort_members', add_by('idnumber', 'dept-x', 'username', ['u00008']))
        sim.call('core_cohort_add_cohort_members', add_by('idnumber', 'DEPT-X', 'username', ['u00009']))
        users = {user['username']: user['id'] for user in sim.state()['users']}
        if db == 'mariadb':
            assert members_of(sim, first) == [users['u00008'], users['u00009']]
            assert members_of(sim, second) == []
            assert create(sim, 'Dept-X') == INVALID
        else:
            assert members_of(sim, first) == [users['u00008']]
            assert members_of(sim, second) == [users['u00009']]


@pytest.mark.parametrize('field,value,username', [
    ('email', 'jane.doe@example.edu', 'jdoe'), ('email', 'JANE.DOE@EXAMPLE.EDU', 'jdoe'),
    ('email', 'mixed.case@example.edu', 'mcase'), ('email', 'U00001@EXAMPLE.COM', 'u00001'),
    ('idnumber', 'id-mixed-01', 'mcase'), ('idnumber', 'CAFE', 'ucafe'), ('idnumber', '🍺-1', 'uemoji'),
    ('idnumber', 'emp00001 ', 'u00001')])
def test_user_lookup_is_loose_on_mariadb_and_answers_the_stored_spelling(sites, field, value, username):
    """MariaDB finds the user and returns the stored spelling; PostgreSQL finds nobody."""
    stored = {user['username']: user for user in sites['mariadb'].state()['users']}[username]
    answer = lookup(sites['mariadb'], field, [value])
    assert [(user['username'], user[field]) for user in answer] == [(username, stored[field])]
    assert lookup(sites['postgres'], field, [value]) == []


def test_user_lookup_exact_and_leading_space(sites):
    """Exact values work on both; a leading space in an idnumber finds nobody on both."""
    for sim in sites.values():
        assert [user['username'] for user in lookup(sim, 'idnumber', ['ID-Mixed-01'])] == ['mcase']
        assert lookup(sim, 'idnumber', [' ID-Mixed-01']) == []
        both = lookup(sim, 'email', ['Jane.Doe@Example.edu', 'Jane.Doe@Example.edu'])
        assert [user['username'] for user in both] == ['jdoe']


def test_user_lookup_two_spellings_give_one_user_on_mariadb(sites):
    """Both spellings of one address in one call: one user, not two."""
    answer = lookup(sites['mariadb'], 'email', ['jane.doe@example.edu', 'Jane.Doe@Example.edu'])
    assert [user['username'] for user in answer] == ['jdoe']


@pytest.mark.parametrize('field,values', [('username', ['JDOE']), ('username', ['jdoe ']),
                                          ('username', ['u00001', 'Jdoe']), ('email', [' jane.doe@example.edu']),
                                          ('email', ['Jane.Doe@Example.edu '])])
def test_user_lookup_refuses_capitals_and_spaces_on_both(sites, field, values):
    """Usernames with capitals or spaces, emails with outer spaces: invalidparameter on both kinds."""
    for sim in sites.values():
        assert lookup(sim, field, values) == INVALID


def test_deleted_users_are_not_found_on_either_kind(sites):
    """A deleted user is omitted from lookups and 'not exists' in adds."""
    for sim in sites.values():
        assert lookup(sim, 'username', ['gone']) == []
        create(sim, 'del-target')
        answer = sim.call('core_cohort_add_cohort_members', add_by('idnumber', 'del-target', 'username', ['gone']))
        assert [warning['warningcode'] for warning in answer['warnings']] == ['2']


# --- races ------------------------------------------------------------------------------------
@pytest.mark.parametrize('db', ['postgres', 'mariadb'])
def test_overlapping_creates_make_a_duplicate(db):
    """Both check before either inserts: both succeed; the twins stay visible and block another create."""
    with start_simulator(seed_users=3, db=db, race_window_ms=300) as sim:
        first, second = together(lambda: create(sim, 'race-a', 'Request 1'), lambda: create(sim, 'race-a', 'Request 2'))
        assert first[0]['idnumber'] == second[0]['idnumber'] == 'race-a', (first, second)
        ids = sorted([first[0]['id'], second[0]['id']])
        assert cohorts_by_idnumber(sim)['race-a'] == ids
        assert sorted(c['id'] for c in sim.call('core_cohort_get_cohorts', {'cohortids': ids})) == ids
        found = sim.call('core_cohort_search_cohorts', {'query': 'race-a', 'context': {'contextid': 1},
                                                        'includes': 'all', 'limitnum': 0})
        assert sorted(cohort['id'] for cohort in found['cohorts']) == ids
        assert create(sim, 'race-a') == INVALID
        assert sim.call('core_cohort_add_cohort_members',
                        add_by('idnumber', 'race-a', 'username', ['u00001'])) == {'warnings': []}
        u00001 = {user['username']: user['id'] for user in sim.state()['users']}['u00001']
        assert members_of(sim, ids[0]) == [u00001]
        assert members_of(sim, ids[1]) == []


def test_one_worker_serialises_the_same_creates():
    """With a single worker the two requests run one after the other: the second is refused."""
    with start_simulator(seed_users=3, workers=1, race_window_ms=300) as sim:
        answers = together(lambda: create(sim, 'race-w'), lambda: create(sim, 'race-w'))
        assert sorted(isinstance(answer, list) for answer in answers) == [False, True]
        assert INVALID in answers
        assert len(cohorts_by_idnumber(sim)['race-w']) == 1


def test_control_endpoints_are_served_while_every_worker_is_busy():
    """/_sim answers while the only worker is held by a slow write."""
    with start_simulator(seed_users=3, workers=1, race_window_ms=1500) as sim:
        done = threading.Event()
        worker = threading.Thread(target=lambda: (create(sim, 'slow'), done.set()))
        worker.start()
        try:
            while not sim.requests():
                pass
            assert sim.state()['cohorts'] == []
            assert not done.is_set()
        finally:
            worker.join(30)
        assert done.is_set()
        assert 'slow' in cohorts_by_idnumber(sim)


@pytest.mark.parametrize('db', ['postgres', 'mariadb'])
def test_overlapping_adds_fail_one_request_whole(db):
    """Request 2 holds the shared users first; request 1 waits for its commit, then fails and is rolled back."""
    with start_simulator(seed_users=60, db=db, race_window_ms=20) as sim:
        cohortid = create(sim, 'race-b')[0]['id']
        users = {user['username']: user['id'] for user in sim.state()['users']}
        ids = [users['u%05d' % number] for number in range(1, 51)]
        first, second = together(
            lambda: sim.call('core_cohort_add_cohort_members', add_by('id', cohortid, 'id', ids[:30])),
            lambda: sim.call('core_cohort_add_cohort_members', add_by('id', cohortid, 'id', ids[20:])))
        assert first == DML_WRITE
        assert second == {'warnings': []}
        assert members_of(sim, cohortid) == sorted(ids[20:])


def test_failed_add_says_why_with_debugging():
    """With --debug the loser names the duplicate key."""
    with start_simulator(seed_users=60, db='mariadb', race_window_ms=20, debug=True) as sim:
        cohortid = create(sim, 'race-dbg')[0]['id']
        ids = [user['id'] for user in sim.state()['users'] if user['username'].startswith('u0')][:50]
        first, _second = together(
            lambda: sim.call('core_cohort_add_cohort_members', add_by('id', cohortid, 'id', ids[:30])),
            lambda: sim.call('core_cohort_add_cohort_members', add_by('id', cohortid, 'id', ids[20:])))
        assert first['errorcode'] == 'dmlwriteexception'
        assert first['debuginfo'].startswith("Duplicate entry '%d-%d' for key 'mdl_cohomemb_cohuse_uix'"
                                             % (cohortid, ids[20]))


def test_adds_that_do_not_overlap_in_time_give_warnings_3():
    """The later request sees the first one's committed rows."""
    with start_simulator(seed_users=20) as sim:
        cohortid = create(sim, 'race-seq')[0]['id']
        ids = [user['id'] for user in sim.state()['users'] if user['username'].startswith('u0')]
        assert sim.call('core_cohort_add_cohort_members', add_by('id', cohortid, 'id', ids[:10])) == {'warnings': []}
        later = sim.call('core_cohort_add_cohort_members', add_by('id', cohortid, 'id', ids[5:15]))
        assert [warning['warningcode'] for warning in later['warnings']] == ['3'] * 5
        assert members_of(sim, cohortid) == sorted(ids[:15])


def test_disjoint_concurrent_adds_both_succeed():
    """Different users in one cohort never conflict."""
    with start_simulator(seed_users=40, race_window_ms=10) as sim:
        cohortid = create(sim, 'race-c')[0]['id']
        ids = [user['id'] for user in sim.state()['users'] if user['username'].startswith('u0')]
        answers = together(
            lambda: sim.call('core_cohort_add_cohort_members', add_by('id', cohortid, 'id', ids[:20])),
            lambda: sim.call('core_cohort_add_cohort_members', add_by('id', cohortid, 'id', ids[20:])))
        assert answers == [{'warnings': []}, {'warnings': []}]
        assert members_of(sim, cohortid) == sorted(ids)


# --- race faults (no threads) -------------------------------------------------------------------
@pytest.mark.parametrize('db', ['postgres', 'mariadb'])
def test_concurrent_create_fault_leaves_a_twin(db):
    """Another client creates the same idnumber between check and insert: success, and a twin exists."""
    with start_simulator(seed_users=3, db=db) as sim:
        sim.set_faults('concurrent_create', count=1)
        answer = create(sim, 'twin')
        assert answer[0]['idnumber'] == 'twin'
        ids = cohorts_by_idnumber(sim)['twin']
        assert len(ids) == 2 and ids[1] == answer[0]['id']
        assert sim.requests()[-1]['fault'] == 'concurrent_create'
        assert create(sim, 'twin') == INVALID
        assert len(sim.requests()) == 2


@pytest.mark.parametrize('db', ['postgres', 'mariadb'])
def test_concurrent_create_first_fault_refuses_the_create(db):
    """Another client's create of the same idnumber commits just before the check: the loser's invalidparameter."""
    with start_simulator(seed_users=3, db=db) as sim:
        sim.set_faults('concurrent_create_first', count=1)
        assert create(sim, 'first') == INVALID
        assert len(cohorts_by_idnumber(sim)['first']) == 1
        assert sim.requests()[-1]['fault'] == 'concurrent_create_first'
        assert create(sim, 'other')[0]['idnumber'] == 'other'


def test_concurrent_create_fault_waits_for_a_create():
    """The fault is kept for the function it concerns."""
    with start_simulator(seed_users=3) as sim:
        sim.set_faults('concurrent_create', count=1)
        assert sim.call('core_cohort_get_cohorts') == []
        assert sim.requests()[-1]['fault'] is None
        create(sim, 'later')
        assert len(cohorts_by_idnumber(sim)['later']) == 2


@pytest.mark.parametrize('db', ['postgres', 'mariadb'])
def test_concurrent_add_fault_fails_the_request_whole(db):
    """The other client's add of the same users commits first: this request fails, the other's users are there."""
    with start_simulator(seed_users=10, db=db) as sim:
        cohortid = create(sim, 'fault-add')[0]['id']
        ids = [user['id'] for user in sim.state()['users'] if user['username'].startswith('u0')]
        sim.set_faults('concurrent_add', count=1)
        assert sim.call('core_cohort_add_cohort_members', add_by('id', cohortid, 'id', ids[:5])) == DML_WRITE
        assert members_of(sim, cohortid) == sorted(ids[:5])
        again = sim.call('core_cohort_add_cohort_members', add_by('id', cohortid, 'id', ids[:5]))
        assert [warning['warningcode'] for warning in again['warnings']] == ['3'] * 5


def test_concurrent_add_fault_with_the_other_clients_users():
    """Overlap: fail whole, only the other's users present. No overlap: both sets present."""
    with start_simulator(seed_users=10) as sim:
        cohortid = create(sim, 'fault-add2')[0]['id']
        ids = [user['id'] for user in sim.state()['users'] if user['username'].startswith('u0')]
        sim.set_faults('concurrent_add', count=1, userids=ids[3:7])
        assert sim.call('core_cohort_add_cohort_members', add_by('id', cohortid, 'id', ids[:5])) == DML_WRITE
        assert members_of(sim, cohortid) == sorted(ids[3:7])
        other = create(sim, 'fault-add3')[0]['id']
        sim.set_faults('concurrent_add', count=1, userids=ids[8:])
        assert sim.call('core_cohort_add_cohort_members', add_by('id', other, 'id', ids[:5])) == {'warnings': []}
        assert members_of(sim, other) == sorted(ids[:5] + ids[8:])


def test_fault_plan_rejects_userids_for_other_modes():
    """userids belongs to concurrent_add."""
    with start_simulator() as sim:
        answer = sim.request('POST', '/_sim/faults', body=b'{"mode": "503", "userids": [3]}',
                             headers={'Content-Type': 'application/json'})
        assert answer.status == 400
        plan = sim.set_faults('concurrent_add', userids=[3, 4])
        assert plan['mode'] == 'concurrent_add' and plan['userids'] == [3, 4]


# --- partial user-view rights -------------------------------------------------------------------
RIGHTS_TOKENS = ['simtoken:manager', 'details:viewdetails', 'alldetails:viewalldetails',
                 'identity:viewuseridentity', 'view:viewer']


@pytest.fixture(name='rights_site', scope='module')
def fixture_rights_site():
    """A site with one token per user-view role."""
    sim = start_simulator(seed_users=3, token=RIGHTS_TOKENS, no_shuffle=True)
    try:
        yield sim
    finally:
        sim.stop()


@pytest.mark.parametrize('token,found,hidden', [
    ('details', {'id'}, {'username', 'email', 'idnumber', 'auth', 'lang', 'department'}),
    ('alldetails', {'id', 'username', 'idnumber'}, {'email'}),
    ('identity', {'id', 'email'}, {'username', 'idnumber', 'auth'}),
    ('simtoken', {'id', 'username', 'idnumber', 'email'}, set()),
    ('view', set(), set())])
def test_lookups_follow_the_tokens_view_rights(rights_site, token, found, hidden):
    """Which lookups find users, and which keys they carry, per role."""
    user = {row['username']: row for row in rights_site.state()['users']}['u00001']
    for field in ('id', 'username', 'idnumber', 'email'):
        answer = lookup(rights_site, field, [str(user[field])], token=token)
        if field in found:
            assert [row['id'] for row in answer] == [user['id']], (token, field)
            assert not hidden & set(answer[0]), (token, field, sorted(answer[0]))
            assert {'id', 'firstname', 'lastname', 'fullname', 'suspended', 'timezone'} <= set(answer[0])
        else:
            assert answer == [], (token, field)


def test_cohort_members_need_only_cohort_view(rights_site):
    """Every role with moodle/cohort:view reads member ids."""
    cohortid = create(rights_site, 'rights-c')[0]['id']
    users = {row['username']: row['id'] for row in rights_site.state()['users']}
    rights_site.call('core_cohort_add_cohort_members', add_by('id', cohortid, 'username', ['u00001', 'u00002']))
    for token in ('details', 'alldetails', 'identity', 'view'):
        answer = rights_site.call('core_cohort_get_cohort_members', {'cohortids': [cohortid]}, token=token)
        assert sorted(answer[0]['userids']) == sorted([users['u00001'], users['u00002']]), token


# --- small switches -------------------------------------------------------------------------------
def test_debug_in_message_appends_the_reason():
    """--debug-in-message: the message ends with the debug information too."""
    with start_simulator(debug=True, debug_in_message=True) as sim:
        create(sim, 'dbg')
        answer = create(sim, 'dbg')
        assert answer['debuginfo'] == 'record already exists: idnumber=dbg'
        assert answer['message'] == 'Invalid parameter value detected (record already exists: idnumber=dbg)'
    with start_simulator(debug=True) as sim:
        create(sim, 'dbg')
        assert create(sim, 'dbg')['message'] == 'Invalid parameter value detected'


def test_state_parts_keep_only_the_keys_asked():
    """GET /_sim/state?parts=... answers only those parts."""
    with start_simulator(seed_users=2) as sim:
        create(sim, 'parts')
        state = sim.state(['cohorts', 'sequences'])
        assert set(state) == {'cohorts', 'sequences'}
        assert [cohort['idnumber'] for cohort in state['cohorts']] == ['parts']
        assert set(sim.state()) == {'categories', 'users', 'cohorts', 'sequences'}


def test_race_window_changes_while_running():
    """PUT /_sim/race-window: overlapping creates duplicate only while the window is open."""
    with start_simulator(seed_users=3) as sim:
        assert sim.request('GET', '/_sim/race-window').json() == {'ms': 0.0}
        assert sim.set_race_window(300) == 300.0
        first, second = together(lambda: create(sim, 'opened', 'Request 1'), lambda: create(sim, 'opened', 'Request 2'))
        assert isinstance(first, list) and isinstance(second, list), (first, second)
        assert sim.set_race_window(0) == 0.0
        assert len(cohorts_by_idnumber(sim)['opened']) == 2
        for body in (b'{"ms": -1}', b'{}', b'not json'):
            assert sim.request('PUT', '/_sim/race-window', body=body).status == 400
        assert sim.request('GET', '/_sim/race-window').json() == {'ms': 0.0}

"""Contract tests: replay the recorded Moodle 4.5 exchanges against the simulator, in their order.

The recorded site changed settings between exchanges (developer debugging on and off,
cohort themes on for a few cases); the replay restarts the simulator on the same state
file with the matching switches. A few steps the recording implies but does not show
(creating users u0102..u1601, suspending and deleting two of them, emptying and refilling
a big cohort, creating a second plugin-owned cohort) are replayed through the web service
itself so that every later id and member list lines up.
"""

from __future__ import annotations

import json
import os
import re
import sys
import xml.etree.ElementTree as ET

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from tests.simulator.process import SimulatorProcess, encode_params  # noqa: E402 pylint: disable=wrong-import-position

CONTRACT_DIR = os.path.join(REPO_ROOT, 'tests', 'simulator', 'contract')
WS_PATH = '/webservice/rest/server.php'
TOKENS = {
    '<TOKEN>': 'contracttoken0000000000000000000',
    '<TOKEN_wsnoproto>': 'norestoken0000000000000000000000',
    '<TOKEN_wslimited>': 'noaccesstoken0000000000000000000',
    '<TOKEN_wsviewer>': 'viewertoken000000000000000000000',
}
TOKEN_ARGS = ['%s:admin' % TOKENS['<TOKEN>'], '%s:norest' % TOKENS['<TOKEN_wsnoproto>'],
              '%s:noaccess' % TOKENS['<TOKEN_wslimited>'], '%s:viewer' % TOKENS['<TOKEN_wsviewer>']]
ELIDED = re.compile(r'^(\d+) form fields total \(elided\)$')


def load_cases():
    """The recorded exchanges, in order."""
    with open(os.path.join(CONTRACT_DIR, 'cases.jsonl'), encoding='utf-8') as handle:
        return [json.loads(line) for line in handle if line.strip()]


# --- the elided big requests -------------------------------------------------------------
def _head(function):
    return [('wstoken', '<TOKEN>'), ('wsfunction', function), ('moodlewsrestformat', 'json')]


def _adds(cohortid, userids):
    pairs = []
    for index, userid in enumerate(userids):
        pairs += [('members[%d][cohorttype][type]' % index, 'id'),
                  ('members[%d][cohorttype][value]' % index, str(cohortid)),
                  ('members[%d][usertype][type]' % index, 'id'),
                  ('members[%d][usertype][value]' % index, str(userid))]
    return pairs


def _removals(entries):
    pairs = []
    for index, (cohortid, userid) in enumerate(entries):
        pairs += [('members[%d][cohortid]' % index, str(cohortid)), ('members[%d][userid]' % index, str(userid))]
    return pairs


def _users(numbers):
    pairs = []
    for index, number in enumerate(numbers):
        for key, value in (('username', 'u%04d' % number), ('password', 'Passw0rd!x'),
                           ('firstname', 'First%d' % number), ('lastname', 'Last%d' % number),
                           ('email', 'u%04d@example.com' % number), ('idnumber', 'EMP%04d' % number)):
            pairs.append(('users[%d][%s]' % (index, key), value))
    return pairs


ADD = 'core_cohort_add_cohort_members'
REMOVE = 'core_cohort_delete_cohort_members'
EXPANSIONS = {
    'create_users_batch_0': lambda: _head('core_user_create_users') + _users(range(2, 102)),
    'max_input_vars_1500_members_all_in_body': lambda: _head(ADD) + _adds(19, range(8, 1508)),
    'max_input_vars_1500_members_ws_params_in_query': lambda: _adds(19, range(8, 1508)),
    'max_input_vars_1500_members_ws_params_last_in_body': lambda: _adds(19, range(8, 1508)) + _head(ADD),
    'max_input_vars_1249_members_exact_fit': lambda: _head(ADD) + _adds(19, range(8, 1257)),
    'max_input_vars_1250_members_5003_vars': lambda: _head(ADD) + _adds(19, range(8, 1258)),
    'timing_add_750_members_call1': lambda: _head(ADD) + _adds(19, range(8, 758)),
    'max_input_vars_delete_members_2600_silent_truncation': lambda: _head(REMOVE) + _removals(
        [(18, 8 + index % 1500) for index in range(2400)] + [(19, 8 + index) for index in range(200)]),
    'timing_add_250_members_one_call': lambda: _head(ADD) + _adds(20, range(8, 258)),
    'timing_delete_250_members_one_call': lambda: _head(REMOVE) + _removals([(20, userid) for userid in range(8, 258)]),
}


def expand_form(case):
    """The full field list of a case; elided ones are rebuilt and checked against what was recorded."""
    form = [tuple(pair) for pair in case['request'].get('form', [])]
    markers = [index for index, (name, _value) in enumerate(form) if name == '...']
    if not markers:
        return form
    total = int(ELIDED.match(form[markers[0]][1]).group(1))
    full = EXPANSIONS[case['case']]()
    prefix, suffix = form[:markers[0]], form[markers[0] + 1:]
    assert len(full) == total, '%s: rebuilt %d fields, recorded %d' % (case['case'], len(full), total)
    assert full[:len(prefix)] == prefix, '%s: rebuilt fields do not start as recorded' % case['case']
    assert full[len(full) - len(suffix):] == suffix, '%s: rebuilt fields do not end as recorded' % case['case']
    return full


def _token(value):
    return TOKENS.get(value, value)


# --- comparison --------------------------------------------------------------------------
_DELETED_USERNAME = re.compile(r'^(.+@.+)\.\d{9,}$')
_TIMESTAMP_EXPORT = re.compile(r"'(timecreated|timemodified)' => \d+")
_SITE = re.compile(r'^https?://[^/]+')


def normalise(value, key=None):
    """Mask what legitimately differs between the recorded site and the simulator."""
    if isinstance(value, dict):
        return {name: normalise(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, str):
        if key in ('profileimageurl', 'profileimageurlsmall'):
            return _SITE.sub('<site>', value)
        if key == 'username':
            return _DELETED_USERNAME.sub(r'\1.<time>', value)
        if key == 'debuginfo':
            return _TIMESTAMP_EXPORT.sub(r"'\1' => <time>", value)
    return value


def canonical(value):
    """Lists become sorted multisets (the simulator shuffles every list whose order is unspecified)."""
    if isinstance(value, dict):
        return {name: canonical(item) for name, item in value.items()}
    if isinstance(value, list):
        items = [canonical(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value


def canonical_xml(text):
    """XML text with MULTIPLE children in a fixed order (whitespace and escaping kept)."""
    root = ET.fromstring(text.encode('utf-8'))

    def walk(element):
        for child in element:
            walk(child)
        if element.tag == 'MULTIPLE':
            children = list(element)
            for child in children:
                element.remove(child)
            for child in sorted(children, key=lambda item: ET.tostring(item, encoding='unicode')):
                element.append(child)

    walk(root)
    return ET.tostring(root, encoding='unicode')


def family(content_type):
    """json, xml or html."""
    for name in ('json', 'xml', 'html'):
        if name in (content_type or ''):
            return name
    return content_type


def compare(case, answer, sim):
    """Differences between a recorded exchange and the simulator's answer (empty when they agree)."""
    problems = []
    if answer.status != case['http_status']:
        problems.append('status %s, recorded %s' % (answer.status, case['http_status']))
    if family(answer.content_type) != family(case['content_type']):
        problems.append('content type %r, recorded %r' % (answer.content_type, case['content_type']))
    if problems:
        return problems + ['body: %s' % answer.text[:400]]
    expected = case['response']
    kind = family(case['content_type'])
    if isinstance(expected, dict) and 'summary_by_prober' in expected:
        return compare_summary(expected['summary_by_prober'], sim)
    if kind == 'json':
        actual = answer.json()
        left, right = canonical(normalise(expected)), canonical(normalise(actual))
        if left != right:
            problems.append('JSON differs:\n  recorded  %s\n  simulator %s' % (
                json.dumps(left, sort_keys=True)[:1500], json.dumps(right, sort_keys=True)[:1500]))
    elif kind == 'xml':
        if not answer.text.startswith('<?xml version="1.0" encoding="UTF-8" ?>\n'):
            problems.append('XML declaration differs: %r' % answer.text[:60])
        if canonical_xml(expected) != canonical_xml(answer.text):
            problems.append('XML differs:\n  recorded  %r\n  simulator %r' % (expected[:800], answer.text[:800]))
    elif answer.text != expected:
        problems.append('body differs:\n  recorded  %r\n  simulator %r' % (expected[:300], answer.text[:300]))
    return problems


def compare_summary(summary, sim):
    """The prober's summary of the silently truncated removal (case 226)."""
    members = sim.call('core_cohort_get_cohort_members', {'cohortids': [19]}, token=TOKENS['<TOKEN>'])[0]['userids']
    removed = sorted(set(range(8, 1508)) - set(members))
    problems = []
    if len(members) != summary['members_after']:
        problems.append('members after: %d, recorded %d' % (len(members), summary['members_after']))
    span = [removed[0], removed[-1]] if removed else []
    if len(removed) != summary['actually_removed'] or span != summary['removed_userid_range']:
        problems.append('removed %s..%s (%d), recorded %s (%d)' % (
            removed[:1], removed[-1:], len(removed), summary['removed_userid_range'], summary['actually_removed']))
    return problems


# --- the steps the recording implies -------------------------------------------------------
def _ok(sim, function, params):
    answer = sim.call(function, params, token=TOKENS['<TOKEN>'])
    assert not (isinstance(answer, dict) and 'exception' in answer), '%s: %s' % (function, answer)
    return answer


def _members(cohortid, userids):
    return [{'cohorttype': {'type': 'id', 'value': cohortid}, 'usertype': {'type': 'id', 'value': userid}}
            for userid in userids]


def _more_users(sim):
    for start in range(102, 1602, 100):
        users = [{'username': 'u%04d' % number, 'password': 'Passw0rd!x', 'firstname': 'First%d' % number,
                  'lastname': 'Last%d' % number, 'email': 'u%04d@example.com' % number, 'idnumber': 'EMP%04d' % number}
                 for number in range(start, start + 100)]
        created = _ok(sim, 'core_user_create_users', {'users': users})
        assert created[0]['id'] == start + 6, created[0]
    _ok(sim, 'core_user_update_users', {'users': [{'id': 1606, 'suspended': 1}]})
    _ok(sim, 'core_user_delete_users', {'userids': [1607]})


def _empty_big_cohort(sim):
    for start in range(8, 1257, 1000):
        entries = [{'cohortid': 19, 'userid': userid} for userid in range(start, min(start + 1000, 1257))]
        _ok(sim, REMOVE, {'members': entries})


def _fill_big_cohort(sim):
    _ok(sim, ADD, {'members': _members(19, range(758, 1508))})


def _refill_big_cohort(sim):
    _ok(sim, ADD, {'members': _members(19, range(8, 107))})


def _second_plugin_cohort(sim):
    created = _ok(sim, 'core_cohort_create_cohorts', {'cohorts': [{
        'categorytype': {'type': 'system', 'value': ''}, 'name': 'Plugin owned cohort 2', 'idnumber': 'plugin-owned-2'}]})
    assert created[0]['id'] == 27, created


INTERLUDES = {
    'setup_create_member_test_cohorts': _more_users,
    'timing_add_750_members_call1': _empty_big_cohort,
    'max_input_vars_delete_members_2600_silent_truncation': _fill_big_cohort,
    'timing_add_250_members_one_call': _refill_big_cohort,
    'plugin_owned_delete_via_ws': _second_plugin_cohort,
}


def send(sim, case):
    """Send a recorded request (tokens unmasked, elided fields rebuilt)."""
    request = case['request']
    form = [(name, _token(value) if name == 'wstoken' else value) for name, value in expand_form(case)]
    query = [(name, _token(value) if name == 'wstoken' else value) for name, value in
             (request.get('query') or {}).items()]
    path = WS_PATH
    if case['case'] == 'wrong_path':
        path = re.search(r'<code class="url">([^<]+)</code>', case['response']).group(1)
    if request.get('raw_body') is not None:
        return sim.post(None, query=query, method=request['method'], path=path, body=request['raw_body'],
                        content_type='application/json')
    return sim.post(form, query=query, method=request['method'], path=path)


def phase_of(case):
    """The site settings a case was recorded with."""
    debug = (case.get('site_debug') or '').startswith('DEVELOPER')
    themes = 'allowcohortthemes=1' in (case.get('note') or '')
    return debug, themes


def test_replay_recorded_exchanges(tmp_path):
    """Every recorded exchange, in order, gives the recorded answer (lists compared as multisets)."""
    cases = load_cases()
    state = str(tmp_path / 'site.sqlite')
    seed = os.path.join(CONTRACT_DIR, 'seed.yaml')
    sim = None
    current = None
    failures = []
    try:
        for number, case in enumerate(cases):
            phase = phase_of(case)
            if phase != current:
                if sim is not None:
                    assert sim.stop() == 0
                sim = SimulatorProcess(state=state, seed_file=seed, token=TOKEN_ARGS, debug=phase[0],
                                       allow_cohort_themes=phase[1]).start()
                current = phase
            if case['case'] in INTERLUDES:
                INTERLUDES[case['case']](sim)
            answer = send(sim, case)
            problems = compare(case, answer, sim)
            if problems:
                failures.append('#%d %s: %s' % (number, case['case'], '\n    '.join(problems)))
    finally:
        if sim is not None:
            sim.stop()
    assert not failures, '%d of %d recorded exchanges differ:\n%s' % (len(failures), len(cases), '\n'.join(failures))


def test_contract_covers_enough_cases():
    """The contract keeps the recorded exchanges (at least 100) with their names."""
    cases = load_cases()
    names = [case['case'] for case in cases]
    assert len(cases) >= 100
    assert 'max_input_vars_delete_members_2600_silent_truncation' in names
    for case in cases:
        request = case['request']
        values = [value for name, value in request.get('form', []) if name == 'wstoken']
        values += [value for name, value in (request.get('query') or {}).items() if name == 'wstoken']
        assert all(value in TOKENS or value in ('', '0123456789abcdef0123456789abcdef') for value in values), case['case']


def test_encode_params_matches_recorded_field_names():
    """The test helper writes the same field names as the recorded client."""
    pairs = encode_params({'members': [{'cohorttype': {'type': 'id', 'value': 17},
                                        'usertype': {'type': 'id', 'value': 6}}]})
    assert pairs == [('members[0][cohorttype][type]', 'id'), ('members[0][cohorttype][value]', '17'),
                     ('members[0][usertype][type]', 'id'), ('members[0][usertype][value]', '6')]

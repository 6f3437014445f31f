"""Contract tests per database kind: replay the exchanges recorded on a PostgreSQL and a MariaDB site.

``contract/cases-2.jsonl`` holds the recorded exchanges of two Moodle 4.5.6 sites, one on
PostgreSQL and one on MariaDB (``site_db``), except the cost measurements (``cost_*``: timings
for the cost model, with no answer to check beyond what the other records check). For each kind
the replay starts a simulator with ``--db`` of that kind, seeded like the real site, and sends
that site's records in file order.

Races (``race_*``) cannot replay byte for byte: which request of a pair wins depends on timing.
The replay checks every try's outcome class (two creates: both succeed, a duplicate, or one
``invalidparameter``; two adds: one ``dmlwriteexception`` and rolled back, or both succeed with
warnings ``"3"``) and reproduces the recorded class, so that both answers match the recording,
and so does every record after them:

- a pair the site ran one after the other (one create refused, the later add warned ``"3"``) is
  sent in that order;
- a pair of adds that overlapped (one failed whole) is sent together with a short race window
  for the first try of each experiment, so that the real interleaving stays tested; the other
  tries get it without timing from the ``concurrent_add`` fault: the loser meets the winner's
  open add of the same users and fails whole, the stand-in's rows are removed, and the winner
  is then sent;
- a pair of creates that both succeeded (a duplicate) needs both checks before either insert,
  which only a real overlap gives with both requests answered: sent together in the race window;
- adds of disjoint users or to other cohorts never conflict however they overlap: the first try
  of each experiment is sent together in the race window, the others one after the other.

The race window is set on the running simulator (``PUT /_sim/race-window``) just for the
overlapping pairs, so nothing else waits and no phase restarts the simulator.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

# pylint: disable=wrong-import-position
from tests.simulator.process import SimulatorProcess, encode_params  # noqa: E402
from tests.unit.test_simulator_contract import canonical, family  # noqa: E402

CONTRACT_DIR = os.path.join(REPO_ROOT, 'tests', 'simulator', 'contract')
KINDS = ('postgres', 'mariadb')
SERVICE_TOKEN = 'sitetoken00000000000000000000000'
SETUP_TOKEN = 'setuptoken0000000000000000000000'
# The rights cases were recorded with one token per site user; the user is in the case name.
RIGHTS_TOKENS = {
    'admin': SERVICE_TOKEN,
    'wsviewer': 'viewertoken000000000000000000000',
    'wsrights1': 'detailstoken00000000000000000000',
    'wsrights2': 'alldetailstoken00000000000000000',
    'wsrights3': 'fullrightstoken00000000000000000',
    'wsrights4': 'identitytoken0000000000000000000',
}
# The recorded service has 12 functions; the setup token may also update users.
SERVICE_ARGS = ['%s:admin:-core_user_update_users,-core_user_delete_users' % SERVICE_TOKEN,
                '%s:admin' % SETUP_TOKEN]
ROLE_ARGS = ['%s:viewer' % RIGHTS_TOKENS['wsviewer'], '%s:viewdetails' % RIGHTS_TOKENS['wsrights1'],
             '%s:viewalldetails' % RIGHTS_TOKENS['wsrights2'], '%s:manager' % RIGHTS_TOKENS['wsrights3'],
             '%s:viewuseridentity' % RIGHTS_TOKENS['wsrights4']]
# Of an overlapping pair, the recorded winner is sent first and the other RACE_STAGGER_S after the
# simulator has received the first. Creates wait CREATE_WINDOW_MS between check and insert, so both
# check before either inserts; adds wait ADD_WINDOW_MS after every insert, so the winner holds the
# shared users long before the other reaches them (300 users take 0.6 s).
CREATE_WINDOW_MS = 150
ADD_WINDOW_MS = 2
RACE_STAGGER_S = 0.04
# Add pairs sent truly concurrently per experiment (and debug setting); the other overlapping
# ones get their outcome from the concurrent_add fault, the non-conflicting ones go one by one.
CONCURRENT_ADD_TRIES = 1

# Records that cannot replay, with the reason. Reviewed: nothing else may differ.
SKIPPED = {
    'site_info': 'the two sites run other site settings than the first recorded site, which the simulator '
                 'models (files, quotas, advanced features, the theme revision); get_site_info is checked by '
                 'cases.jsonl',
}
ELIDED = re.compile(r'^(\d+) form fields total \(elided\)$')
USER_RANGE = re.compile(r'add users (\d+)\.\.(\d+) \(ids\) to cohort (\d+)')
WARNINGS_TOTAL = re.compile(r'^\.\.\. (\d+) warnings in total \(elided\)$')


def load_cases():
    """The recorded exchanges of both sites, in file order."""
    with open(os.path.join(CONTRACT_DIR, 'cases-2.jsonl'), encoding='utf-8') as handle:
        return [json.loads(line) for line in handle if line.strip()]


# --- the real sites' users ----------------------------------------------------------------------
def site_seed(db):
    """Users, ids 3..3014, and categories as both real sites have them."""
    users = [{'username': 'u%05d' % number, 'firstname': 'First%d' % number, 'lastname': 'Last%d' % number,
              'email': 'u%05d@example.edu' % number, 'idnumber': 'id%05d' % number}
             for number in range(1, 3001)]

    def person(username, first, last, email=None, idnumber=''):
        return {'username': username, 'firstname': first, 'lastname': last,
                'email': email or username + '@example.edu', 'idnumber': idnumber}

    users += [person('jdoe', 'Jane', 'Doe', 'Jane.Doe@Example.edu'), person('asmith', 'Alex', 'Smith'),
              person('mlopez', 'Maria', 'Lopez'), person('wsviewer', 'Web service', 'viewer'),
              person('wscohortmgr', 'Web service', 'cohort manager'),
              person('mcase', 'Mixed', 'Case', 'Mixed.Case@Example.EDU', 'ID-Mixed-01'),
              person('ucafe', 'Cafe', 'User', idnumber='café'), person('uemoji', 'Emoji', 'User', idnumber='🍣-1')]
    users += [person('wsrights%d' % number, 'Web service', 'rights %d' % number) for number in range(1, 5)]
    del db  # both sites start alike; jdoe's email is set per part by the replay
    return {'categories': [{'idnumber': 'SCI', 'name': 'Science'}, {'idnumber': 'ARTS', 'name': 'Arts'}],
            'users': users}


# --- comparison ---------------------------------------------------------------------------------
_SITE = re.compile(r'^https?://[^/]+')
_THEME_REVISION = re.compile(r'/theme/image\.php/boost/core/\d+/')
_TIMEADDED = re.compile(r"(\n  2 => )\d+(,\n\))")


def normalise(value, key=None):
    """Mask what legitimately differs between a recorded site and the simulator."""
    if isinstance(value, dict):
        return {name: normalise(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, str):
        if key in ('profileimageurl', 'profileimageurlsmall', 'userpictureurl'):
            return _THEME_REVISION.sub('/theme/image.php/boost/core/<rev>/', _SITE.sub('<site>', value))
        if key in ('debuginfo', 'message'):
            return _TIMEADDED.sub(r'\1<time>\2', value)
    return value


def elided_list_matches(recorded, actual):
    """A list kept as its first 3 items, a '... N warnings in total (elided)' marker and its last item."""
    marker = [index for index, item in enumerate(recorded) if isinstance(item, str) and WARNINGS_TOTAL.match(item)]
    if not marker:
        return None
    total = int(WARNINGS_TOTAL.match(recorded[marker[0]]).group(1))
    head, tail = recorded[:marker[0]], recorded[marker[0] + 1:]
    return len(actual) == total and actual[:len(head)] == head and actual[len(actual) - len(tail):] == tail


def compare(case, answer):
    """Differences between a recorded exchange and the simulator's answer (empty when they agree)."""
    problems = []
    if answer.status != case['http_status']:
        problems.append('status %s, recorded %s' % (answer.status, case['http_status']))
    if family(answer.content_type) != family(case['content_type']):
        problems.append('content type %r, recorded %r' % (answer.content_type, case['content_type']))
    if problems:
        return problems + ['body: %s' % answer.text[:400]]
    expected, actual = normalise(case['response']), normalise(answer.json())
    if isinstance(expected, dict) and isinstance(actual, dict) and isinstance(expected.get('warnings'), list):
        # Warnings keep the order of the request's items, on the site as here.
        matches = elided_list_matches(expected['warnings'], actual.get('warnings') or [])
        if matches is not None:
            return [] if matches else ['elided warnings differ: %s' % json.dumps(actual)[:600]]
    if canonical(expected) != canonical(actual):
        problems.append('JSON differs:\n  recorded  %s\n  simulator %s' % (
            json.dumps(canonical(expected), sort_keys=True, ensure_ascii=False)[:1500],
            json.dumps(canonical(actual), sort_keys=True, ensure_ascii=False)[:1500]))
    return problems


# --- sending ------------------------------------------------------------------------------------
def token_for(case):
    """The simulator token that stands for the recorded one."""
    match = re.match(r'rights_(admin|wsviewer|wsrights\d)_', case['case'])
    return RIGHTS_TOKENS[match.group(1)] if match else SERVICE_TOKEN


def rebuild_elided_add(case):
    """An elided add_cohort_members request, rebuilt from its note (users a..b by id, one cohort)."""
    start, end, cohortid = (int(number) for number in USER_RANGE.search(case['note']).groups())
    pairs = [('wstoken', '<TOKEN>'), ('wsfunction', 'core_cohort_add_cohort_members'), ('moodlewsrestformat', 'json')]
    for index, userid in enumerate(range(start, end + 1)):
        prefix = 'members[%d]' % index
        pairs += [(prefix + '[cohorttype][type]', 'id'), (prefix + '[cohorttype][value]', str(cohortid)),
                  (prefix + '[usertype][type]', 'id'), (prefix + '[usertype][value]', str(userid))]
    return pairs


def form_of(case):
    """The full field list of a case (elided ones rebuilt and checked against what was kept)."""
    form = [tuple(pair) for pair in case['request']['form']]
    markers = [index for index, (name, _value) in enumerate(form) if name == '...']
    if not markers:
        return form
    total = int(ELIDED.match(form[markers[0]][1]).group(1))
    full = rebuild_elided_add(case)
    prefix, suffix = form[:markers[0]], form[markers[0] + 1:]
    assert len(full) == total, '%s: rebuilt %d fields, recorded %d' % (case['case'], len(full), total)
    assert full[:len(prefix)] == prefix and full[len(full) - len(suffix):] == suffix, case['case']
    return full


def send(sim, case):
    """Send a recorded request with the simulator's token."""
    token = token_for(case)
    form = [(name, token if name == 'wstoken' else value) for name, value in form_of(case)]
    return sim.post(form)


def call_ok(sim, function, params):
    """A set-up call through the web service (the recording implies it but does not show it)."""
    answer = sim.call(function, params, token=SETUP_TOKEN)
    assert not (isinstance(answer, dict) and 'exception' in answer), '%s: %s' % (function, answer)
    return answer


def next_cohort_id(sim):
    """The id the next created cohort gets."""
    return sim.state(['sequences'])['sequences']['cohort'] + 1


def consume_cohort_ids(sim, wanted):
    """Create and delete cohorts until the next one gets id ``wanted`` (the recording's unrecorded creates)."""
    missing = wanted - next_cohort_id(sim)
    assert missing >= 0, 'the next cohort id is past %d' % wanted
    while missing > 0:
        size = min(missing, 1000)
        created = call_ok(sim, 'core_cohort_create_cohorts', {'cohorts': [
            {'categorytype': {'type': 'system', 'value': ''}, 'name': 'filler', 'idnumber': 'filler-%d' % number}
            for number in range(size)]})
        call_ok(sim, 'core_cohort_delete_cohorts', {'cohortids': [cohort['id'] for cohort in created]})
        missing -= size


def ensure_cohorts(sim, cohortids):
    """The new empty cohorts a race try adds to, with their recorded ids.

    Ids below the next one exist already: the tries' cohorts are made here in id order (a wrong
    guess would show as warnings "2" in the replayed answers).
    """
    next_id = next_cohort_id(sim)
    runs = []
    for cohortid in sorted(cohortid for cohortid in set(cohortids) if cohortid >= next_id):
        if runs and runs[-1][-1] == cohortid - 1:
            runs[-1].append(cohortid)
        else:
            runs.append([cohortid])
    for run in runs:
        # Consecutive ids in one create, as one site request would.
        consume_cohort_ids(sim, run[0])
        created = call_ok(sim, 'core_cohort_create_cohorts', {'cohorts': [
            {'categorytype': {'type': 'system', 'value': ''}, 'name': 'Race target %d' % cohortid,
             'idnumber': 'race-target-%d' % cohortid} for cohortid in run]})
        assert [cohort['id'] for cohort in created] == run


def delete_all_cohorts(sim):
    """The recordings deleted their cohorts between parts."""
    ids = [cohort['id'] for cohort in sim.state(['cohorts'])['cohorts']]
    if ids:
        call_ok(sim, 'core_cohort_delete_cohorts', {'cohortids': ids})


def created_id(case):
    """The id a recorded successful create of one cohort got, or None."""
    response = case['response']
    if isinstance(response, list) and len(response) == 1 and isinstance(response[0], dict) and 'id' in response[0]:
        if dict(case['request']['form']).get('wsfunction') == 'core_cohort_create_cohorts':
            return response[0]['id']
    return None


def succeeded(case):
    """Did the recorded request succeed?"""
    return not (isinstance(case['response'], dict) and 'exception' in case['response'])


# --- races --------------------------------------------------------------------------------------
def outcome_class(first, second):
    """The outcome class of a race pair, from the two recorded (or simulated) answers."""
    answers = [first, second]
    errors = sorted(answer.get('errorcode') for answer in answers if isinstance(answer, dict) and 'exception' in answer)
    if any(isinstance(answer, list) for answer in answers) or errors == ['invalidparameter'] * len(errors) and errors:
        return {(): 'duplicate', ('invalidparameter',): 'one refused'}.get(tuple(errors), 'unexpected %s' % errors)
    if errors == ['dmlwriteexception']:
        return 'one failed whole'
    if not errors:
        warned = [answer for answer in answers if any(item.get('warningcode') == '3'
                                                      for item in answer.get('warnings', []) if isinstance(item, dict))]
        return 'both succeeded, the later with warnings 3' if warned else 'both succeeded'
    return 'unexpected %s' % errors


ALLOWED_CLASSES = {
    'race_a': {'duplicate', 'one refused'},
    'race_b': {'one failed whole', 'both succeeded, the later with warnings 3'},
    'race_c': {'both succeeded'},
    'race_d': {'both succeeded'},
}


def send_pair(sim, first, second, together):
    """Send two recorded requests: overlapping (``first`` a moment ahead) or one after the other."""
    answers = {}
    if not together:
        answers[first['case']] = send(sim, first)
        answers[second['case']] = send(sim, second)
        return answers

    def run(case):
        answers[case['case']] = send(sim, case)

    sim.reset_log()
    received = 0
    leader = threading.Thread(target=run, args=(first,))
    leader.start()
    while len(sim.requests()) == received and leader.is_alive():
        time.sleep(0.005)
    time.sleep(RACE_STAGGER_S)
    run(second)
    leader.join(120)
    return answers


def members_of(case):
    """The (cohort id, user id) pairs of a recorded add by ids, in request order."""
    fields = dict(form_of(case))
    pairs = []
    index = 0
    while 'members[%d][cohorttype][value]' % index in fields:
        prefix = 'members[%d]' % index
        assert fields[prefix + '[cohorttype][type]'] == 'id' and fields[prefix + '[usertype][type]'] == 'id', case['case']
        pairs.append((int(fields[prefix + '[cohorttype][value]']), int(fields[prefix + '[usertype][value]'])))
        index += 1
    return pairs


def send_pair_by_fault(sim, winner, loser):
    """An overlapping add pair without timing: the loser meets the winner's open add (concurrent_add).

    The fault's other client holds the winner's users in the loser's cohorts and commits when the
    loser reaches the first shared one: the loser fails whole. Its rows stand for the winner's
    uncommitted ones; they are removed, and the winner's own request then adds them.
    """
    pairs = members_of(winner)
    sim.set_faults('concurrent_add', functions=['core_cohort_add_cohort_members'], count=1,
                   userids=sorted({userid for _cohortid, userid in pairs}))
    sim.reset_log()
    answers = {loser['case']: send(sim, loser)}
    sim.clear_faults()
    fault = [entry['fault'] for entry in sim.requests()]
    assert fault == ['concurrent_add'], '%s: the fault did not apply: %s' % (loser['case'], fault)
    call_ok(sim, 'core_cohort_delete_cohort_members', {'members': [
        {'cohortid': cohortid, 'userid': userid} for cohortid, userid in pairs]})
    answers[winner['case']] = send(sim, winner)
    return answers


def replay_race_pair(sim, req1, req2, concurrent_tries):
    """Reproduce a recorded race try; returns (problems, recorded class).

    ``concurrent_tries`` counts the overlapping add pairs already sent together, by experiment.
    """
    experiment = re.match(r'race_[a-d]', req1['case']).group(0)
    recorded = outcome_class(req1['response'], req2['response'])
    problems = []
    if recorded not in ALLOWED_CLASSES[experiment]:
        problems.append('recorded outcome %r is not among %s' % (recorded, sorted(ALLOWED_CLASSES[experiment])))
    window = 0
    by_fault = False
    if experiment == 'race_a':
        ids = [created_id(case) for case in (req1, req2) if created_id(case) is not None]
        consume_cohort_ids(sim, min(ids))
        ordered = sorted((req1, req2), key=lambda case: (not succeeded(case), created_id(case) or 0))
        together = recorded == 'duplicate'
        window = CREATE_WINDOW_MS if together else 0
    else:
        targets = []
        for case in (req1, req2):
            targets += [int(value) for name, value in form_of(case) if name.endswith('[cohorttype][value]')]
        ensure_cohorts(sim, targets)
        if recorded == 'one failed whole':
            ordered = sorted((req1, req2), key=succeeded, reverse=True)
            label = re.sub(r'_try\d+_req\d', '', req1['case'])
            by_fault = concurrent_tries.get(label, 0) >= CONCURRENT_ADD_TRIES
            if not by_fault:
                concurrent_tries[label] = concurrent_tries.get(label, 0) + 1
                together = True
                window = ADD_WINDOW_MS
        else:
            warned = [case for case in (req1, req2) if '"warningcode": "3"' in json.dumps(case['response'])]
            ordered = [case for case in (req1, req2) if case not in warned] + warned
            together = False
            if experiment in ('race_c', 'race_d'):
                label = re.sub(r'_try\d+_req\d', '', req1['case'])
                together = concurrent_tries.get(label, 0) < CONCURRENT_ADD_TRIES
                if together:
                    concurrent_tries[label] = concurrent_tries.get(label, 0) + 1
                    window = ADD_WINDOW_MS
    if by_fault:
        answers = send_pair_by_fault(sim, ordered[0], ordered[1])
    else:
        if window:
            sim.set_race_window(window)
        try:
            answers = send_pair(sim, ordered[0], ordered[1], together)
        finally:
            if window:
                sim.set_race_window(0)
    simulated = outcome_class(*(answers[case['case']].json() for case in (req1, req2)))
    if simulated != recorded:
        problems.append('simulated outcome %r, recorded %r' % (simulated, recorded))
    for case in (req1, req2):
        problems += ['%s: %s' % (case['case'], problem) for problem in compare(case, answers[case['case']])]
    return problems, recorded


# --- the replay ---------------------------------------------------------------------------------
class Replay:
    """One simulator per database kind, restarted on its state file when the debug setting changes."""

    def __init__(self, tmp_path, db):
        self.db = db
        self.state = str(tmp_path / ('%s.sqlite' % db))
        self.seed = str(tmp_path / ('%s-seed.json' % db))
        with open(self.seed, 'w', encoding='utf-8') as handle:
            json.dump(site_seed(db), handle)
        self.sim = None
        self.phase = None
        self.started_once = False

    def ensure(self, debug):
        """A simulator with this debug setting (race window 0: the race pairs set it when they need it)."""
        phase = debug
        if self.sim is not None and phase == self.phase:
            return self.sim
        self.stop()
        # The first start seeds users 3..3014 before any token user exists, so that ids match the sites.
        tokens = SERVICE_ARGS + (ROLE_ARGS if self.started_once else [])
        # These sites answered with the debug information in the message too (the first recorded site did not).
        self.sim = SimulatorProcess(state=self.state, seed_file=self.seed, token=tokens, db=self.db, debug=debug,
                                    debug_in_message=debug, sitename='Pluto').start()
        self.started_once = True
        self.phase = phase
        if len(tokens) == len(SERVICE_ARGS):
            self.stop()
            return self.ensure(debug)
        return self.sim

    def stop(self):
        """Stop the simulator (exit status 0)."""
        if self.sim is not None:
            assert self.sim.stop() == 0
        self.sim = None
        self.phase = None


def replay_kind(tmp_path, db):
    """Replay one site's records; returns (failures, counts, race classes)."""
    cases = [case for case in load_cases() if case['site_db'] == db]
    replay = Replay(tmp_path, db)
    failures = []
    counts = {'replayed': 0, 'skipped': 0, 'race pairs': 0}
    classes = {}
    index = 0
    jdoe_email_reset = False
    race_part_started = False
    concurrent_tries = {}
    try:
        while index < len(cases):
            case = cases[index]
            name = case['case']
            debug = '[debug=DEVELOPER]' in name
            if name in SKIPPED:
                counts['skipped'] += 1
                index += 1
                continue
            if name.startswith('race_'):
                if not race_part_started:
                    # Between the parts the site's cohorts were deleted and the cost runs used up cohort ids.
                    sim = replay.ensure(debug)
                    delete_all_cohorts(sim)
                    consume_cohort_ids(sim, min(created_id(other) for other in cases[index:]
                                                if created_id(other) is not None))
                    race_part_started = True
                sim = replay.ensure(debug)
                if re.search(r'_try\d+_req1', name):
                    problems, recorded = replay_race_pair(sim, case, cases[index + 1], concurrent_tries)
                    failures += ['%s: %s' % (name, problem) for problem in problems]
                    experiment = re.match(r'race_[a-z]+_[a-z_]+?_try', name).group(0)[:-4] + (
                        ' [debug=DEVELOPER]' if debug else '')
                    classes.setdefault(experiment, {}).setdefault(recorded, 0)
                    classes[experiment][recorded] += 1
                    counts['race pairs'] += 1
                    counts['replayed'] += 2
                    index += 2
                    continue
            else:
                sim = replay.ensure(debug)
            if name.startswith('rights_') and db == 'postgres' and not jdoe_email_reset:
                # The PostgreSQL site had jdoe's mixed-case email only while the part 1 cases ran.
                call_ok(sim, 'core_user_update_users', {'users': [{'id': 3003, 'email': 'jane.doe@example.edu'}]})
                jdoe_email_reset = True
            if created_id(case) is not None:
                consume_cohort_ids(sim, created_id(case))
            problems = compare(case, send(sim, case))
            failures += ['%s: %s' % (name, problem) for problem in problems]
            counts['replayed'] += 1
            index += 1
    finally:
        replay.stop()
    return failures, counts, classes


def check_kind(tmp_path, db):
    """Every record of one site replays (or is on the reviewed skip list)."""
    failures, counts, classes = replay_kind(tmp_path, db)
    print('%s: %d replayed, %d skipped, %d race pairs; race classes %s' % (
        db, counts['replayed'], counts['skipped'], counts['race pairs'], json.dumps(classes, sort_keys=True)))
    assert not failures, '%s: %d differences:\n%s' % (db, len(failures), '\n'.join(failures))
    return counts, classes


def test_replay_postgres_site(tmp_path):
    """The PostgreSQL site's records replay against --db postgres."""
    counts, classes = check_kind(tmp_path, 'postgres')
    assert counts['replayed'] >= 390
    assert classes['race_a_create_same_idnumber'] == {'duplicate': 8, 'one refused': 12}


def test_replay_mariadb_site(tmp_path):
    """The MariaDB site's records replay against --db mariadb."""
    counts, classes = check_kind(tmp_path, 'mariadb')
    assert counts['replayed'] >= 420
    assert classes['race_a_create_same_idnumber'] == {'duplicate': 15, 'one refused': 5}


def test_contract_2_keeps_both_sites_and_no_cost_records():
    """The copied records: both kinds, every part but the cost measurements, masked tokens only."""
    cases = load_cases()
    kinds = {case['site_db'] for case in cases}
    assert kinds == set(KINDS)
    assert not [case for case in cases if case['case'].startswith('cost_')]
    for part in ('case_', 'coll_', 'user_', 'rights_', 'race_a_', 'race_b_', 'race_c_', 'race_d_'):
        for db in KINDS:
            assert [case for case in cases if case['case'].startswith(part) and case['site_db'] == db], (part, db)
    for case in cases:
        assert [value for name, value in case['request']['form'] if name == 'wstoken'] == ['<TOKEN>'], case['case']
    assert set(SKIPPED) <= {case['case'] for case in cases}


def test_encode_params_still_matches_the_field_names():
    """The helper writes what the recorder sent."""
    assert encode_params({'cohortids': [3]}) == [('cohortids[0]', '3')]

"""Unit tests of the simulator's building blocks, in process: PHP field parsing, validation, formats, state."""

from __future__ import annotations

import json
import os
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

# pylint: disable=wrong-import-position
from tests.simulator import phpform  # noqa: E402
from tests.simulator.errors import WSError  # noqa: E402
from tests.simulator.functions import FUNCTIONS, Site  # noqa: E402
from tests.simulator.output import error_body, php_json, result_body  # noqa: E402
from tests.simulator.params import DEFAULT, OPTIONAL, Multiple, Single, Value, validate  # noqa: E402
from tests.simulator.server import Simulator, Token, parse_token  # noqa: E402
from tests.simulator.store import Store  # noqa: E402
from tests.simulator.textformat import format_text  # noqa: E402


def parse(body, limit=5000):
    """$_POST for a form body."""
    return phpform.build(phpform.truncate_body(phpform.split_pairs(body), limit))


# --- PHP field parsing ---------------------------------------------------------------------
def test_nested_fields_become_nested_arrays():
    post = parse('members[0][usertype][value]=janedoe&members[0][usertype][type]=username&x=1')
    assert post == {'members': {0: {'usertype': {'value': 'janedoe', 'type': 'username'}}}, 'x': '1'}


def test_sparse_and_appended_indexes():
    post = parse('ids[5]=3&ids[9]=5&ids[]=7&list[]=a&list[]=b')
    assert list(post['ids'].items()) == [(5, '3'), (9, '5'), (10, '7')]
    assert list(post['list'].items()) == [(0, 'a'), (1, 'b')]


def test_numeric_keys_only_when_canonical():
    post = parse('a[05]=x&a[5]=y&a[-1]=z&a[1.5]=w')
    assert post['a'] == {'05': 'x', 5: 'y', -1: 'z', '1.5': 'w'}


def test_later_fields_overwrite_and_scalars_become_arrays():
    assert parse('a=1&a[0]=2')['a'] == {0: '2'}
    assert parse('a[0]=2&a=1')['a'] == '1'
    assert parse('a[x]=1&a[x][y]=2')['a'] == {'x': {'y': '2'}}


def test_names_are_normalised_like_php():
    post = parse('my.field=1&my+other=2&bad[name=3&+lead=4&=5')
    assert post == {'my_field': '1', 'my_other': '2', 'bad_name': '3', 'lead': '4'}


def test_values_are_url_decoded():
    post = parse('name=%C3%9Cn%C3%AFc+%3Cb%3E&empty=&flag')
    assert post == {'name': 'Ünïc <b>', 'empty': '', 'flag': ''}


def test_body_keeps_max_input_vars_plus_one_fields():
    pairs = [('f%d' % number, 'v') for number in range(10)]
    assert len(phpform.truncate_body(pairs, 5)) == 6
    assert len(phpform.truncate_query(pairs, 5)) == 5


def test_truncation_inside_an_item_leaves_a_partial_item():
    """3 ws fields + 4 fields per member; 5001 kept of 5003 cuts the 1250th member in half."""
    pairs = [('wstoken', 't'), ('wsfunction', 'f'), ('moodlewsrestformat', 'json')]
    for index in range(1250):
        pairs += [('members[%d][cohorttype][type]' % index, 'id'), ('members[%d][cohorttype][value]' % index, '1'),
                  ('members[%d][usertype][type]' % index, 'id'), ('members[%d][usertype][value]' % index, '2')]
    post = phpform.build(phpform.truncate_body(pairs, 5000))
    assert len(post['members']) == 1250
    assert post['members'][1249] == {'cohorttype': {'type': 'id', 'value': '1'}}


def test_truncation_on_an_item_boundary_drops_the_tail_silently():
    """2 fields per removal: 5001 kept of 5203 is 3 + 2499 complete items."""
    pairs = [('wstoken', 't'), ('wsfunction', 'f'), ('moodlewsrestformat', 'json')]
    for index in range(2600):
        pairs += [('members[%d][cohortid]' % index, '1'), ('members[%d][userid]' % index, str(index))]
    post = phpform.build(phpform.truncate_body(pairs, 5000))
    assert len(post['members']) == 2499
    assert all(len(item) == 2 for item in post['members'].values())


def test_array_merge_lets_the_body_win():
    merged = phpform.array_merge(parse('wstoken=query&a=1'), parse('wstoken=body'))
    assert merged == {'wstoken': 'body', 'a': '1'}


# --- parameter validation ------------------------------------------------------------------
ITEM = Single({'id': Value('int'), 'name': Value('raw'), 'visible': Value('bool', OPTIONAL),
               'kind': Value('alphanumext', DEFAULT, 'x')})
PARAMS = Single({'items': Multiple(ITEM)})


def debuginfo(value):
    """The debuginfo of the validation error for ``value``."""
    with pytest.raises(WSError) as caught:
        validate(PARAMS, value)
    assert caught.value.errorcode == 'invalidparameter'
    return caught.value.debuginfo


def test_validation_cleans_and_fills_defaults():
    result = validate(PARAMS, {'items': {3: {'id': '7', 'name': ' n ', 'visible': '0'}}})
    assert result == {'items': [{'id': 7, 'name': ' n ', 'visible': False, 'kind': 'x'}]}


@pytest.mark.parametrize('value, expected', [
    ({}, 'Missing required key in single structure: items'),
    ({'items': ''}, "items => Invalid parameter value detected: Only arrays accepted. The bad value is: ''"),
    ({'items': {0: {'id': '1'}}}, 'items => Invalid parameter value detected: Missing required key in single structure: name'),
    ({'items': {0: {'id': '1', 'name': 'n', 'x': 1, 'y': 2}}},
     'items => Invalid parameter value detected: Unexpected keys (x, y) detected in parameter array.'),
    ({'items': {0: {'id': '03', 'name': 'n'}}},
     'items => Invalid parameter value detected: id => Invalid parameter value detected: Invalid external api '
     'parameter: the value is "03", the server was expecting "int" type'),
    ({'items': {0: {'id': '1', 'name': 'n', 'visible': 'true'}}},
     'items => Invalid parameter value detected: visible => Invalid parameter value detected: Invalid external api '
     'parameter: the value is "true", the server was expecting "bool" type'),
    ({'items': {0: {'id': '1', 'name': {0: 'x'}}}},
     'items => Invalid parameter value detected: name => Invalid parameter value detected: Scalar type expected, '
     'array or object received.'),
    ({'items': {0: {'id': '1', 'name': 'n'}}, 'foo': 'bar'}, 'Unexpected keys (foo) detected in parameter array.'),
])
def test_validation_errors_read_like_moodle(value, expected):
    assert debuginfo(value) == expected


@pytest.mark.parametrize('raw', ['3x', ' 3', '+3', '', '3.0', '99999999999999999999'])
def test_int_parameters_must_be_canonical(raw):
    assert 'expecting "int" type' in debuginfo({'items': {0: {'id': raw, 'name': 'n'}}})


# --- text formats ----------------------------------------------------------------------------
def test_plain_text_is_escaped_with_line_breaks():
    assert format_text('line1\nline2 <b>x</b>', 2) == ('line1<br />\nline2 &lt;b&gt;x&lt;/b&gt;', 1)


def test_raw_mode_returns_stored_text_and_format():
    assert format_text('line1\nline2', 2, raw=True) == ('line1\nline2', 2)
    assert format_text('', 2) == ('', 2)


def test_moodle_and_markdown_formats_become_html():
    assert format_text('Hello\nworld', 0) == ('<div class="text_to_html">Hello<br />\nworld</div>', 1)
    html, textformat = format_text('# Title\n\nSome **bold** and `code`', 4)
    assert textformat == 1
    assert html == '<h1>Title</h1>\n\n<p>Some <strong>bold</strong> and <code>code</code></p>\n'


def test_html_is_cleaned_of_scripts():
    assert format_text('<p onclick="x()">Hi<script>alert(1)</script></p>', 1) == ('<p>Hi</p>', 1)


# --- output ----------------------------------------------------------------------------------
def test_json_escapes_like_php():
    assert php_json({'a': 'x/y', 'b': 'Ü', 'c': None, 'd': {}}) == '{"a":"x\\/y","b":"\\u00dc","c":null,"d":[]}'


def test_xml_shows_missing_optional_keys_as_null():
    desc = Single({'warnings': Multiple(Single({'item': Value('text', OPTIONAL), 'warningcode': Value('alphanum')}))})
    body, ctype = result_body({'warnings': [{'warningcode': '2'}]}, desc, 'xml')
    assert ctype == 'application/xml; charset=utf-8'
    assert '<KEY name="item"><VALUE null="null"/>\n</KEY>' in body
    assert result_body(None, None, 'xml')[0] == '<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n</RESPONSE>\n'
    assert result_body(None, None, 'json')[0] == 'null'


def test_errors_carry_debuginfo_only_in_debug_mode():
    error = WSError('core\\exception\\invalid_parameter_exception', 'invalidparameter', 'Invalid', 'why')
    assert 'debuginfo' not in json.loads(error_body(error, 'json', False)[0])
    assert json.loads(error_body(error, 'json', True)[0])['debuginfo'] == 'why'
    assert '<DEBUGINFO>why</DEBUGINFO>' in error_body(error, 'xml', True)[0]


# --- state and the REST pipeline in process -----------------------------------------------------
def make_simulator(**kwargs):
    """A Simulator over an in-memory store, without HTTP."""
    store = Store(':memory:')
    tokens = [parse_token('t:manager'), parse_token('v:viewer'), parse_token('n:noaccess:-core_cohort_get_cohorts')]
    return Simulator(store, tokens, Site(store, shuffle=False, **kwargs))


def call(sim, body):
    """Run one request body through the REST pipeline."""
    status, ctype, text, errorcode = sim.handle(phpform.PHPArray(), parse(body))
    assert status == 200
    return (json.loads(text) if 'json' in ctype else text), errorcode


def test_rolled_back_ids_are_not_reused():
    sim = make_simulator()
    base = 'wstoken=t&wsfunction=core_cohort_create_cohorts&moodlewsrestformat=json'
    item = '&cohorts[%d][categorytype][type]=system&cohorts[%d][categorytype][value]=&cohorts[%d][name]=%s' \
           '&cohorts[%d][idnumber]=%s'
    first = call(sim, base + item % (0, 0, 0, 'A', 0, 'a'))[0]
    failed, errorcode = call(sim, base + item % (0, 0, 0, 'B', 0, 'b') + item % (1, 1, 1, 'Dup', 1, 'a'))
    third = call(sim, base + item % (0, 0, 0, 'C', 0, 'c'))[0]
    assert errorcode == 'invalidparameter' and 'exception' in failed
    assert [first[0]['id'], third[0]['id']] == [1, 3]
    assert [cohort['idnumber'] for cohort in sim.store.dump()['cohorts']] == ['a', 'c']


def test_token_roles_and_services():
    sim = make_simulator()
    answer, errorcode = call(sim, 'wstoken=n&wsfunction=core_cohort_get_cohorts&moodlewsrestformat=json')
    assert errorcode == 'accessexception' and answer['message'] == 'Access control exception'
    errorcode = call(sim, 'wstoken=v&wsfunction=core_cohort_delete_cohorts&moodlewsrestformat=json&cohortids[0]=1')[1]
    assert errorcode == 'invalidrecord'
    answer, errorcode = call(sim, 'wstoken=nope&wsfunction=core_cohort_get_cohorts')
    assert errorcode == 'invalidtoken' and answer.startswith('<?xml')
    assert Token('x').service == frozenset(FUNCTIONS)
    with pytest.raises(ValueError):
        parse_token('x:superuser')

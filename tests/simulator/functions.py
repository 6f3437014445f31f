"""The web-service functions of the simulated site, written after Moodle 4.5's externallib code.

Each function validates its parameters like ``external_api::validate_parameters()``,
checks capabilities where Moodle does (sometimes only after producing warnings), and
runs inside one SQLite transaction so that a failure leaves nothing behind.
"""

from __future__ import annotations

import random
import re
import time

from . import errors
from .concurrency import Concurrency, Deadlock, DuplicateKey, Transaction
from .errors import WSError, invalid_parameter, nopermissions
from .params import (DEFAULT, OPTIONAL, INSTALLED_LANGS, INSTALLED_THEMES, AUTH_PLUGINS, Multiple, Single, Value,
                     clean_param, php_empty, php_str, php_trim, valid_email, validate)
from .collation import POSTGRES
from .store import SYSTEM_CONTEXT, chunks
from .textformat import FORMAT_HTML, FORMAT_PLAIN, KNOWN_FORMATS, format_text

SITE_VERSION = '2024100706.00'
SITE_RELEASE = '4.5.6 (Build: 20250811)'

REST_USE = 'webservice/rest:use'
COHORT_VIEW = 'moodle/cohort:view'
COHORT_MANAGE = 'moodle/cohort:manage'
COHORT_ASSIGN = 'moodle/cohort:assign'
USER_VIEW = 'moodle/user:viewdetails'
USER_VIEW_ALL = 'moodle/user:viewalldetails'
VIEW_IDENTITY = 'moodle/site:viewuseridentity'
USER_CREATE = 'moodle/user:create'
USER_UPDATE = 'moodle/user:update'
USER_DELETE = 'moodle/user:delete'
CATEGORY_MANAGE = 'moodle/category:manage'
CATEGORY_VIEWHIDDEN = 'moodle/category:viewhiddencategories'

_COHORT = {COHORT_VIEW, COHORT_MANAGE, COHORT_ASSIGN}
_EVERYTHING = {REST_USE, USER_VIEW, USER_VIEW_ALL, VIEW_IDENTITY, USER_CREATE, USER_UPDATE, USER_DELETE, CATEGORY_MANAGE, CATEGORY_VIEWHIDDEN} | _COHORT
ROLE_CAPABILITIES = {
    'admin': frozenset(_EVERYTHING),
    'manager': frozenset(_EVERYTHING),
    'cohortmanager': frozenset({REST_USE} | _COHORT),
    'viewer': frozenset({REST_USE, COHORT_VIEW}),
    # Partial user-view rights (each with moodle/cohort:view): what a lookup finds and shows depends on them.
    'viewdetails': frozenset({REST_USE, COHORT_VIEW, USER_VIEW}),
    'viewalldetails': frozenset({REST_USE, COHORT_VIEW, USER_VIEW, USER_VIEW_ALL}),
    'viewuseridentity': frozenset({REST_USE, COHORT_VIEW, USER_VIEW, VIEW_IDENTITY}),
    'noaccess': frozenset({REST_USE}),
    'norest': frozenset(),
}

# Functions that exist on a Moodle 4.5 site but are not part of the simulated service.
OTHER_SITE_FUNCTIONS = (
    'core_course_get_courses', 'core_course_create_courses', 'core_course_create_categories',
    'core_course_update_categories', 'core_course_delete_categories', 'core_course_search_courses',
    'core_user_get_users', 'core_user_update_picture', 'core_enrol_get_enrolled_users',
    'enrol_manual_enrol_users', 'core_role_assign_roles', 'core_group_get_course_groups',
    'core_webservice_get_site_info_legacy',
)

_PG_INT = re.compile(r'\s*[+-]?[0-9]+\s*')
PG_BIGINT_MAX = 2 ** 63 - 1


class Site:
    """Configuration and state of one simulated site."""

    def __init__(self, store, debug=False, allow_cohort_themes=False, shuffle=True, sitename='Pluto LMS',
                 rng=None, race_window_ms=0.0, stopping=None):
        self.store = store
        self.races = Concurrency(store, race_window_ms, stopping)
        self.debug = debug
        self.debug_in_message = False
        self.allow_cohort_themes = allow_cohort_themes
        self.shuffle_results = shuffle
        self.sitename = sitename
        self.siteurl = 'http://127.0.0.1'
        self.rng = rng or random.Random()

    def shuffle(self, items):
        """Result order is unspecified on the real site: make it so here, unless switched off."""
        if self.shuffle_results and len(items) > 1:
            self.rng.shuffle(items)
        return items


class Call:
    """One web-service call: the site, the token's user and role, and the request settings."""

    def __init__(self, site, role, userid, raw=False, service=(), fault=None):
        self.site = site
        self.fault = fault or {}
        self.service = service
        self.store = site.store
        self.conn = site.store.conn
        self.role = role
        self.userid = userid
        self.raw = raw

    def has(self, capability):
        """Does the token's user hold this capability (everywhere)?"""
        return capability in ROLE_CAPABILITIES.get(self.role, ())

    def require(self, capability):
        """require_capability()."""
        if not self.has(capability):
            raise nopermissions(capability)

    def issiteadmin(self):
        """is_siteadmin() for the token's user."""
        return self.role == 'admin'


def pg_int(value):
    """A value PostgreSQL accepts for a bigint column, or None (the query would fail)."""
    text = php_str(value)
    if not _PG_INT.fullmatch(text):
        return None
    number = int(text.strip())
    if abs(number) > PG_BIGINT_MAX:
        return None
    return number


def php_is_numeric(text):
    """PHP is_numeric() for strings."""
    return bool(re.fullmatch(r'[ \t\n\r\x0b\x0c]*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\n\r\x0b\x0c]*',
                             text))


def php_loose_equal(left, right):
    """PHP 8 ``==`` between a request string and a cleaned value."""
    if isinstance(right, int) and not isinstance(right, bool):
        if php_is_numeric(left):
            return float(left) == right
        return left == str(right)
    right = php_str(right)
    if php_is_numeric(left) and php_is_numeric(right):
        return float(left) == float(right)
    return left == right


def _in_clause(values):
    return ','.join('?' * len(values))


def _rows_by(conn, sql, values):
    rows = []
    for part in chunks(values):
        rows.extend(conn.execute(sql % _in_clause(part), part).fetchall())
    return rows


def _validate_format(value):
    if value not in KNOWN_FORMATS:
        raise errors.moodle_exception('formatnotsupported', 'webservice', None,
                                      'The format with value=%s is not supported by this Moodle site' % php_str(value))
    return value


def _read_error(sql, params):
    return WSError('dml_read_exception', 'dmlreadexception', 'Error reading from database',
                   'ERROR:  invalid input syntax for type bigint\n%s\n[%s]' % (sql, errors.var_export(params)))


def _category_id(store, field, value):
    """$DB->get_field('course_categories', 'id', [field => value]) (first row when several match)."""
    conn = store.conn
    if field == 'id':
        number = pg_int(value)
        if number is None:
            error = _read_error('SELECT id FROM {course_categories} WHERE id = ?', [value])
            raise error
        row = conn.execute('SELECT id FROM category WHERE id = ?', (number,)).fetchone()
    else:
        row = conn.execute('SELECT id FROM category WHERE %s ORDER BY id LIMIT 1' % store.equal_sql('idnumber'),
                           (store.text_key(php_str(value)),)).fetchone()
    return row['id'] if row else None


def _length_problem(fields, limits):
    for column, value in fields.items():
        limit = limits.get(column)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            return 'ERROR:  value too long for type character varying(%d)' % limit
    return None


COHORT_LIMITS = {'name': 254, 'idnumber': 100, 'component': 100, 'theme': 50}


# --- descriptions -----------------------------------------------------------------------
CATEGORYTYPE = Single({'type': Value('text'), 'value': Value('raw')})
CUSTOMFIELDS_IN = Multiple(Single({'shortname': Value('alphanumext'), 'value': Value('raw')}), OPTIONAL)
CUSTOMFIELDS_OUT = Multiple(Single({'name': Value('raw'), 'shortname': Value('raw'), 'type': Value('alphanumext'),
                                    'valueraw': Value('raw'), 'value': Value('raw')}), OPTIONAL)
COHORT_OUT = {
    'id': Value('int'), 'name': Value('raw'), 'idnumber': Value('raw'), 'description': Value('raw'),
    'descriptionformat': Value('int'), 'visible': Value('bool'), 'theme': Value('theme', OPTIONAL),
}
COHORT_WITH_FIELDS_OUT = Single(dict(COHORT_OUT, customfields=CUSTOMFIELDS_OUT))
WARNINGS = Multiple(Single({'item': Value('text', OPTIONAL), 'itemid': Value('int', OPTIONAL),
                            'warningcode': Value('alphanum'), 'message': Value('raw')}), DEFAULT, [])

CREATE_COHORTS_IN = Single({'cohorts': Multiple(Single({
    'categorytype': CATEGORYTYPE, 'name': Value('raw'), 'idnumber': Value('raw'),
    'description': Value('raw', OPTIONAL), 'descriptionformat': Value('int', DEFAULT, FORMAT_HTML),
    'visible': Value('bool', OPTIONAL, True), 'theme': Value('theme', OPTIONAL), 'customfields': CUSTOMFIELDS_IN,
}))})
CREATE_COHORTS_OUT = Multiple(Single(dict(COHORT_OUT)))
UPDATE_COHORTS_IN = Single({'cohorts': Multiple(Single({
    'id': Value('int'), 'categorytype': CATEGORYTYPE, 'name': Value('raw'), 'idnumber': Value('raw'),
    'description': Value('raw', OPTIONAL), 'descriptionformat': Value('int', DEFAULT, FORMAT_HTML),
    'visible': Value('bool', OPTIONAL), 'theme': Value('theme', OPTIONAL), 'customfields': CUSTOMFIELDS_IN,
}))})
COHORTIDS_IN = Single({'cohortids': Multiple(Value('int'))})
GET_COHORTS_IN = Single({'cohortids': Multiple(Value('int'), DEFAULT, [])})
GET_COHORTS_OUT = Multiple(COHORT_WITH_FIELDS_OUT)
SEARCH_COHORTS_IN = Single({
    'query': Value('raw'),
    'context': Single({'contextid': Value('int', DEFAULT, 0), 'contextlevel': Value('alpha', DEFAULT, ''),
                       'instanceid': Value('int', DEFAULT, 0)}),
    'includes': Value('alpha', DEFAULT, 'parents'), 'limitfrom': Value('int', DEFAULT, 0),
    'limitnum': Value('int', DEFAULT, 25),
})
SEARCH_COHORTS_OUT = Single({'cohorts': GET_COHORTS_OUT})
ADD_MEMBERS_IN = Single({'members': Multiple(Single({
    'cohorttype': Single({'type': Value('alphanumext'), 'value': Value('raw')}),
    'usertype': Single({'type': Value('alphanumext'), 'value': Value('raw')}),
}))})
ADD_MEMBERS_OUT = Single({'warnings': WARNINGS})
DELETE_MEMBERS_IN = Single({'members': Multiple(Single({'cohortid': Value('int'), 'userid': Value('int')}))})
GET_MEMBERS_OUT = Multiple(Single({'cohortid': Value('int'), 'userids': Multiple(Value('int'))}))

USER_OUT = Single({
    'id': Value('int'), 'username': Value('raw', OPTIONAL), 'firstname': Value('notags', OPTIONAL),
    'lastname': Value('notags', OPTIONAL), 'fullname': Value('notags'), 'email': Value('text', OPTIONAL),
    'address': Value('text', OPTIONAL), 'phone1': Value('notags', OPTIONAL), 'phone2': Value('notags', OPTIONAL),
    'department': Value('text', OPTIONAL), 'institution': Value('text', OPTIONAL),
    'idnumber': Value('raw', OPTIONAL), 'interests': Value('text', OPTIONAL),
    'firstaccess': Value('int', OPTIONAL), 'lastaccess': Value('int', OPTIONAL), 'auth': Value('plugin', OPTIONAL),
    'suspended': Value('bool', OPTIONAL), 'confirmed': Value('bool', OPTIONAL), 'lang': Value('safedir', OPTIONAL),
    'calendartype': Value('plugin', OPTIONAL), 'theme': Value('plugin', OPTIONAL),
    'timezone': Value('timezone', OPTIONAL), 'mailformat': Value('int', OPTIONAL),
    'trackforums': Value('int', OPTIONAL), 'description': Value('raw', OPTIONAL),
    'descriptionformat': Value('int', OPTIONAL), 'city': Value('notags', OPTIONAL),
    'country': Value('alpha', OPTIONAL), 'profileimageurlsmall': Value('url'), 'profileimageurl': Value('url'),
    'customfields': Multiple(Single({'type': Value('alphanumext'), 'value': Value('raw'),
                                     'displayvalue': Value('raw', OPTIONAL), 'name': Value('raw'),
                                     'shortname': Value('raw')}), OPTIONAL),
    'preferences': Multiple(Single({'name': Value('raw'), 'value': Value('raw')}), OPTIONAL),
})
GET_USERS_IN = Single({'field': Value('alpha'), 'values': Multiple(Value('raw'))})
_USER_FIELDS_IN = {
    'createpassword': Value('bool', OPTIONAL), 'username': Value('username'),
    'auth': Value('auth', DEFAULT, 'manual'), 'password': Value('raw', OPTIONAL), 'firstname': Value('notags'),
    'lastname': Value('notags'), 'email': Value('raw_trimmed'), 'maildisplay': Value('int', OPTIONAL),
    'city': Value('notags', OPTIONAL), 'country': Value('alpha', OPTIONAL),
    'timezone': Value('timezone', OPTIONAL), 'description': Value('raw', OPTIONAL),
    'firstnamephonetic': Value('notags', OPTIONAL), 'lastnamephonetic': Value('notags', OPTIONAL),
    'middlename': Value('notags', OPTIONAL), 'alternatename': Value('notags', OPTIONAL),
    'interests': Value('text', OPTIONAL), 'idnumber': Value('raw', DEFAULT, ''),
    'institution': Value('text', OPTIONAL), 'department': Value('text', OPTIONAL),
    'phone1': Value('notags', OPTIONAL), 'phone2': Value('notags', OPTIONAL), 'address': Value('text', OPTIONAL),
    'lang': Value('lang', DEFAULT, 'en'), 'calendartype': Value('plugin', DEFAULT, 'gregorian'),
    'theme': Value('theme', OPTIONAL), 'mailformat': Value('int', OPTIONAL),
    'customfields': Multiple(Single({'type': Value('alphanumext'), 'value': Value('raw')}), OPTIONAL),
    'preferences': Multiple(Single({'type': Value('raw'), 'value': Value('raw')}), OPTIONAL),
}
CREATE_USERS_IN = Single({'users': Multiple(Single(_USER_FIELDS_IN))})
CREATE_USERS_OUT = Multiple(Single({'id': Value('int'), 'username': Value('username')}))


def _update_fields():
    fields = {'id': Value('int')}
    for key, value in _USER_FIELDS_IN.items():
        if key != 'createpassword':
            fields[key] = Value(value.ptype, OPTIONAL) if isinstance(value, Value) else value
    fields['suspended'] = Value('int', OPTIONAL)
    fields['userpicture'] = Value('int', OPTIONAL)
    return fields


UPDATE_USERS_IN = Single({'users': Multiple(Single(_update_fields()))})
UPDATE_USERS_OUT = Single({'warnings': WARNINGS})
DELETE_USERS_IN = Single({'userids': Multiple(Value('int'))})
GET_CATEGORIES_IN = Single({
    'criteria': Multiple(Single({'key': Value('alpha'), 'value': Value('raw')}), DEFAULT, []),
    'addsubcategories': Value('bool', DEFAULT, 1),
})
GET_CATEGORIES_OUT = Multiple(Single({
    'id': Value('int'), 'name': Value('raw'), 'idnumber': Value('raw', OPTIONAL), 'description': Value('raw'),
    'descriptionformat': Value('int'), 'parent': Value('int'), 'sortorder': Value('int'),
    'coursecount': Value('int'), 'visible': Value('int', OPTIONAL), 'visibleold': Value('int', OPTIONAL),
    'timemodified': Value('int', OPTIONAL), 'depth': Value('int'), 'path': Value('text'),
    'theme': Value('theme', OPTIONAL),
}))
SITE_INFO_IN = Single({'serviceshortnames': Multiple(Value('alphanumext'), DEFAULT, [])})
SITE_INFO_OUT = Single({
    'sitename': Value('raw'), 'username': Value('raw'), 'firstname': Value('text'), 'lastname': Value('text'),
    'fullname': Value('text'), 'lang': Value('lang'), 'userid': Value('int'), 'siteurl': Value('raw'),
    'userpictureurl': Value('url'),
    'functions': Multiple(Single({'name': Value('raw'), 'version': Value('text')})),
    'downloadfiles': Value('int', OPTIONAL), 'uploadfiles': Value('int', OPTIONAL),
    'release': Value('text', OPTIONAL), 'version': Value('text', OPTIONAL), 'mobilecssurl': Value('url', OPTIONAL),
    'advancedfeatures': Multiple(Single({'name': Value('alpha'), 'value': Value('int')}), OPTIONAL),
    'usercanmanageownfiles': Value('bool', OPTIONAL), 'userquota': Value('int', OPTIONAL),
    'usermaxuploadfilesize': Value('int', OPTIONAL), 'userhomepage': Value('int', OPTIONAL),
    'userprivateaccesskey': Value('alphanum', OPTIONAL), 'siteid': Value('int', OPTIONAL),
    'sitecalendartype': Value('plugin', OPTIONAL), 'usercalendartype': Value('plugin', OPTIONAL),
    'userissiteadmin': Value('bool', OPTIONAL), 'theme': Value('theme', OPTIONAL),
    'limitconcurrentlogins': Value('int', OPTIONAL), 'usersessionscount': Value('int', OPTIONAL),
    'policyagreed': Value('int', OPTIONAL),
})


# --- cohorts ----------------------------------------------------------------------------
def _cohort_out(call, row, with_fields=True):
    theme = row['theme']
    if theme and not call.site.allow_cohort_themes:
        theme = None
    description, descriptionformat = format_text(row['description'], row['descriptionformat'], call.raw)
    result = {'id': row['id'], 'name': row['name'], 'idnumber': row['idnumber'], 'description': description,
              'descriptionformat': descriptionformat, 'visible': bool(row['visible']), 'theme': theme}
    if with_fields:
        result['customfields'] = []
    return result


def get_cohorts(call, params):
    """core_cohort_get_cohorts."""
    ids = params['cohortids']
    conn = call.conn
    if not ids:
        rows = conn.execute('SELECT * FROM cohort ORDER BY heap').fetchall()
    else:
        rows = _rows_by(conn, 'SELECT * FROM cohort WHERE id IN (%s)', sorted(set(ids)))
        rows.sort(key=lambda row: row['heap'])
    result = []
    for row in rows:
        if not (call.has(COHORT_MANAGE) or call.has(COHORT_VIEW)):
            raise nopermissions(COHORT_VIEW)
        result.append(_cohort_out(call, row))
    return call.site.shuffle(result)


def _matches(row, query):
    if not query:
        return True
    needle = query.lower()
    return any(needle in (row[field] or '').lower() for field in ('name', 'idnumber', 'description'))


def _sorted_by_name(rows):
    return sorted(rows, key=lambda row: (row['name'], row['idnumber'] or ''))


def _page(rows, offset, limit):
    offset = max(0, offset)
    if limit and limit > 0:
        return rows[offset:offset + limit]
    return rows[offset:]


def _context_from_params(call, context):
    if not php_empty(context['contextid']):
        return context['contextid'] if call.store.context_info(context['contextid']) else None
    if not php_empty(context['contextlevel']) and context.get('instanceid') is not None:
        level = context['contextlevel']
        if level not in ('system', 'user', 'coursecat', 'course', 'module', 'block'):
            raise invalid_parameter('Invalid context level = ' + level)
        if level == 'system':
            return SYSTEM_CONTEXT
        if level == 'coursecat':
            return call.store.context_of_category(context['instanceid'])
        return None
    raise invalid_parameter('Missing parameters, please provide either context level with instance id or contextid')


def search_cohorts(call, params):
    """core_cohort_search_cohorts (limitfrom is a page number for 'self' and 'all', as in Moodle)."""
    contextid = _context_from_params(call, params['context'])
    if contextid is None:
        raise invalid_parameter('Context does not exist')
    if not call.has(COHORT_MANAGE):
        call.require(COHORT_VIEW)
    query, includes = params['query'], params['includes']
    limitfrom, limitnum = params['limitfrom'], params['limitnum']
    conn = call.conn
    page_offset = max(0, limitfrom) * max(0, limitnum)
    if includes in ('self', 'parents'):
        rows = [row for row in conn.execute('SELECT * FROM cohort WHERE contextid = ?', (contextid,))
                if _matches(row, query)]
        results = [_cohort_out(call, row) for row in _page(_sorted_by_name(rows), page_offset, limitnum)]
        if includes == 'parents' and contextid != SYSTEM_CONTEXT:
            seen = {item['id'] for item in results}
            parents = call.store.parent_contexts(contextid)
            anywhere = [ctx for ctx in parents if call.has(COHORT_VIEW)]
            visible_only = [ctx for ctx in parents if ctx not in anywhere]
            rows = []
            if anywhere:
                rows += _rows_by(conn, 'SELECT * FROM cohort WHERE contextid IN (%s)', anywhere)
            if visible_only:
                rows += [row for row in _rows_by(conn, 'SELECT * FROM cohort WHERE contextid IN (%s)', visible_only)
                         if row['visible']]
            rows = [row for row in rows if _matches(row, query)]
            for row in _page(_sorted_by_name(rows), limitfrom, limitnum):
                if row['id'] in seen:
                    continue
                description, descriptionformat = format_text('', FORMAT_PLAIN, call.raw)
                results.append({'id': row['id'], 'name': row['name'], 'idnumber': row['idnumber'],
                                'description': description, 'descriptionformat': descriptionformat,
                                'visible': bool(row['visible']), 'customfields': []})
    elif includes == 'all':
        rows = [row for row in conn.execute('SELECT * FROM cohort') if _matches(row, query)]
        results = [_cohort_out(call, row) for row in _page(_sorted_by_name(rows), page_offset, limitnum)]
    else:
        raise errors.coding_exception("Invalid parameter value for 'includes'.")
    return {'cohorts': call.site.shuffle(results)}


def _resolve_context(store, categorytype, on_missing):
    kind, value = categorytype['type'], categorytype['value']
    if kind not in ('idnumber', 'id', 'system'):
        raise invalid_parameter('category type must be id, idnumber or system:' + kind)
    if kind == 'system':
        return SYSTEM_CONTEXT
    catid = _category_id(store, kind, value)
    if not catid:
        raise invalid_parameter(on_missing(kind, value))
    return store.conn.execute('SELECT contextid FROM category WHERE id = ?', (catid,)).fetchone()['contextid']


def _insert_cohort(store, row):
    store.conn.execute('INSERT INTO cohort (id, contextid, name, idnumber, description, descriptionformat, visible,'
                       ' component, theme, timecreated, timemodified, heap) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
                       (row['id'], row['contextid'], row['name'], row['idnumber'], row['description'],
                        row['descriptionformat'], row['visible'], '', row['theme'], row['timecreated'],
                        row['timemodified'], row['heap']))


def _insert_twin_first(store, item, contextid):
    now = int(time.time())
    row = {'contextid': contextid, 'name': item['name'], 'idnumber': item['idnumber'],
           'description': '', 'descriptionformat': 1, 'visible': 1, 'theme': '', 'timecreated': now, 'timemodified': now}
    with store.transaction():
        _insert_cohort(store, dict(row, id=store.nextval('cohort'), heap=store.nextval('heap')))


def create_cohorts(call, params):
    """core_cohort_create_cohorts: all or nothing; each item checks its idnumber, then inserts.

    Runs in steps (see :mod:`concurrency`): the check reads committed rows, the insert stays
    private to this request until it commits, and nothing unique guards ``cohort.idnumber``.
    """
    site = call.site
    store = site.store
    races = site.races
    created = []
    pending = []
    twins = call.fault.get('mode') == 'concurrent_create'
    first = call.fault.get('mode') == 'concurrent_create_first'
    for item in params['cohorts']:
        with store.lock:
            contextid = _resolve_context(store, item['categorytype'],
                                         lambda kind, value: 'category not exists: category %s = %s' % (kind, value))
            if first:
                # Another client's create of the same idnumber commits just before this check: this one is refused.
                _insert_twin_first(store, item, contextid)
            taken = store.conn.execute('SELECT 1 FROM cohort WHERE %s' % store.equal_sql('idnumber'),
                                       (store.text_key(item['idnumber']),)).fetchone()
            if taken or any(store.text_equal(row['idnumber'], item['idnumber']) for row in pending):
                raise invalid_parameter('record already exists: idnumber=' + item['idnumber'])
            call.require(COHORT_MANAGE)
            if 'theme' in item and item['theme'] is not None and site.allow_cohort_themes:
                if item['theme'] not in INSTALLED_THEMES:
                    raise errors.moodle_exception('errorinvalidparam', 'webservice', 'theme')
            # The record as PHP builds it: parameters in order, then what cohort_add_cohort() adds.
            record = {key: value for key, value in item.items() if key not in ('categorytype', 'customfields')}
            record['contextid'] = contextid
            record['descriptionformat'] = _validate_format(item['descriptionformat'])
            record.setdefault('description', '')
            record.setdefault('visible', 1)
            record['component'] = ''
            if not site.allow_cohort_themes:
                record.pop('theme', None)
            if php_empty(record.get('theme')) or not site.allow_cohort_themes:
                record['theme'] = ''
            now = int(time.time())
            record['timecreated'] = now
            record['timemodified'] = now
            problem = _length_problem(record, COHORT_LIMITS)
            if problem:
                columns = list(record)
                sql = 'INSERT INTO mdl_cohort (%s) VALUES(%s) RETURNING id' % (
                    ','.join(columns), ','.join('$%d' % number for number in range(1, len(columns) + 1)))
                raise errors.write_exception(problem, sql, record)
            row = {'contextid': contextid, 'name': record['name'], 'idnumber': record['idnumber'],
                   'description': record['description'], 'descriptionformat': record['descriptionformat'],
                   'visible': int(bool(record['visible'])), 'theme': record['theme'], 'timecreated': now,
                   'timemodified': now}
            if twins:
                # Another client's create of the same idnumber commits between this check and this insert.
                with store.transaction():
                    _insert_cohort(store, dict(row, id=store.nextval('cohort'), heap=store.nextval('heap')))
        races.pause()
        with store.lock:
            row['id'] = store.nextval('cohort')
            row['heap'] = store.nextval('heap')
            pending.append(row)
        description, descriptionformat = format_text(record['description'], record['descriptionformat'], call.raw)
        created.append({'id': row['id'], 'name': record['name'], 'idnumber': record['idnumber'],
                        'description': description, 'descriptionformat': descriptionformat,
                        'visible': record['visible'], 'theme': record['theme']})
        races.pause()
    with store.transaction():
        for row in pending:
            _insert_cohort(store, row)
    return created


def _create_cohorts_keeping_sequences(call, params):
    try:
        return create_cohorts(call, params)
    except BaseException:
        # Ids handed out before the failure stay used, as PostgreSQL's sequences do.
        with call.store.transaction():
            pass
        raise


def _get_cohort(conn, cohortid):
    row = conn.execute('SELECT * FROM cohort WHERE id = ?', (cohortid,)).fetchone()
    if row is None:
        raise errors.missing_cohort(cohortid)
    return row


def update_cohorts(call, params):
    """core_cohort_update_cohorts: all or nothing, no idnumber uniqueness check, format reset to html when omitted."""
    conn = call.conn
    site = call.site
    for item in params['cohorts']:
        if php_trim(item['name']) == '':
            raise invalid_parameter('Invalid cohort name')
        old = _get_cohort(conn, item['id'])
        call.require(COHORT_MANAGE)
        contextid = _resolve_context(call.store, item['categorytype'],
                                     lambda kind, value: 'category not exists: category=%s' % value)
        if contextid != old['contextid']:
            call.require(COHORT_MANAGE)
        theme = item.get('theme')
        if not php_empty(theme) and site.allow_cohort_themes and theme not in INSTALLED_THEMES:
            raise errors.moodle_exception('errorinvalidparam', 'webservice', 'theme',
                                          'The following cohort theme is not installed on this site: ' + theme)
        if not php_empty(item.get('description')):
            _validate_format(item['descriptionformat'])
        record = {key: value for key, value in item.items() if key not in ('id', 'categorytype', 'customfields')}
        record['contextid'] = contextid
        if not site.allow_cohort_themes:
            record.pop('theme', None)
        record['timemodified'] = int(time.time())
        problem = _length_problem(record, COHORT_LIMITS)
        if problem:
            columns = list(record)
            sql = 'UPDATE mdl_cohort SET %s WHERE id=$%d' % (
                ','.join('%s = $%d' % (column, number) for number, column in enumerate(columns, 1)),
                len(columns) + 1)
            values = dict(record)
            values[0] = item['id']
            raise errors.write_exception(problem, sql, values)
        assignments = dict(record)
        if 'visible' in assignments:
            assignments['visible'] = int(bool(assignments['visible']))
        assignments['heap'] = site.store.nextval('heap')
        conn.execute('UPDATE cohort SET %s WHERE id = ?' % ', '.join('%s = ?' % column for column in assignments),
                     tuple(assignments.values()) + (item['id'],))


def delete_cohorts(call, params):
    """core_cohort_delete_cohorts: any unknown id fails the whole call."""
    conn = call.conn
    for cohortid in params['cohortids']:
        _get_cohort(conn, cohortid)
        call.require(COHORT_MANAGE)
        conn.execute('DELETE FROM cohort_members WHERE cohortid = ?', (cohortid,))
        conn.execute('DELETE FROM cohort WHERE id = ?', (cohortid,))


def _resolve_cohorts_by_idnumber(store, idnumbers):
    """cohort idnumber -> id, as ``$DB->get_record('cohort', ['idnumber' => ...])`` picks one row."""
    found = {}
    if store.db == POSTGRES:
        rows = _rows_by(store.conn, 'SELECT id, idnumber, heap FROM cohort WHERE idnumber IN (%s)', sorted(idnumbers))
        for row in sorted(rows, key=lambda row: row['heap']):
            found.setdefault(row['idnumber'], row['id'])
        return found
    # MariaDB reads the collation index: equal idnumbers come in primary-key order, the lowest id first.
    keys = {store.text_key(value) for value in idnumbers}
    by_key = {}
    for row in sorted(_rows_by(store.conn, 'SELECT id, idnumber FROM cohort WHERE ' + store.in_sql('idnumber'),
                               sorted(keys)), key=lambda row: row['id']):
        by_key.setdefault(store.text_key(row['idnumber']), row['id'])
    for value in idnumbers:
        if store.text_key(value) in by_key:
            found[value] = by_key[store.text_key(value)]
    return found


def _resolve_usernames(store, usernames):
    """username -> id of a live local user, compared under the site's collation."""
    found = {}
    sql = 'SELECT id, username FROM users WHERE deleted = 0 AND mnethostid = 1 AND ' + store.in_sql('username')
    if store.db == POSTGRES:
        for row in _rows_by(store.conn, sql, sorted(usernames)):
            found.setdefault(row['username'], row['id'])
        return found
    by_key = {}
    for row in sorted(_rows_by(store.conn, sql, sorted({store.text_key(name) for name in usernames})),
                      key=lambda row: row['id']):
        by_key.setdefault(store.text_key(row['username']), row['id'])
    for name in usernames:
        if store.text_key(name) in by_key:
            found[name] = by_key[store.text_key(name)]
    return found


def _duplicate_member_error(store, pair, now):
    cohortid, userid = pair
    if store.db == POSTGRES:
        error = ('ERROR:  duplicate key value violates unique constraint "mdl_cohomemb_cohuse_uix"\n'
                 'DETAIL:  Key (cohortid, userid)=(%d, %d) already exists.' % pair)
        sql = 'INSERT INTO mdl_cohort_members (cohortid,userid,timeadded) VALUES($1,$2,$3) RETURNING id'
    else:
        error = "Duplicate entry '%d-%d' for key 'mdl_cohomemb_cohuse_uix'" % pair
        sql = 'INSERT INTO mdl_cohort_members (cohortid,userid,timeadded) VALUES(?,?,?)'
    return errors.write_exception(error, sql, [str(cohortid), str(userid), now])


def _insert_members(store, pairs, now):
    """Commit member rows, leaving out cohorts and users deleted meanwhile."""
    conn = store.conn
    cohorts = {row['id'] for row in _rows_by(conn, 'SELECT id FROM cohort WHERE id IN (%s)',
                                             sorted({cohortid for cohortid, _userid in pairs}))}
    users = {row['id'] for row in _rows_by(conn, 'SELECT id FROM users WHERE deleted = 0 AND id IN (%s)',
                                           sorted({userid for _cohortid, userid in pairs}))}
    conn.executemany('INSERT OR IGNORE INTO cohort_members (cohortid, userid, timeadded) VALUES (?, ?, ?)',
                     [(cohortid, userid, now) for cohortid, userid in pairs if cohortid in cohorts and userid in users])


def _other_client_add(call, members, cohort_ids):
    """The test-control fault ``concurrent_add``: another client's open add of overlapping users."""
    store = call.store
    spec = call.fault
    wanted = spec.get('userids')
    if wanted is None:
        pairs = list(members)
    else:
        known = {row['id'] for row in _rows_by(store.conn, 'SELECT id FROM users WHERE deleted = 0 AND id IN (%s)',
                                               sorted({int(userid) for userid in wanted}))}
        pairs = [(cohortid, int(userid)) for cohortid in sorted(cohort_ids) for userid in wanted
                 if int(userid) in known]
    pairs = [pair for pair in dict.fromkeys(pairs)
             if not store.conn.execute('SELECT 1 FROM cohort_members WHERE cohortid = ? AND userid = ?',
                                       pair).fetchone()]
    other = Transaction('other client')

    def commit(txn):
        with store.transaction():
            _insert_members(store, txn.rows, int(time.time()))

    other.on_commit = commit
    for pair in pairs:
        call.site.races.claim_member(other, pair)
    return other


def add_cohort_members(call, params):
    """core_cohort_add_cohort_members: per-item warnings, hard errors roll everything back.

    One transaction per request, item by item as Moodle's loop runs (see :mod:`concurrency`):
    "already a member?" reads committed rows, and the insert goes into the unique
    ``(cohortid, userid)`` index, where it waits for another open request holding the same
    pair and fails the whole request with ``dmlwriteexception`` once that one commits.
    """
    store = call.store
    races = call.site.races
    members = params['members']
    cohort_ids, cohort_idnumbers, user_ids, usernames = set(), set(), set(), set()
    for member in members:
        ctype, cvalue = member['cohorttype']['type'], member['cohorttype']['value']
        utype, uvalue = member['usertype']['type'], member['usertype']['value']
        if ctype == 'id' and pg_int(cvalue) is not None:
            cohort_ids.add(pg_int(cvalue))
        elif ctype == 'idnumber':
            cohort_idnumbers.add(cvalue)
        if utype == 'id' and pg_int(uvalue) is not None:
            user_ids.add(pg_int(uvalue))
        elif utype == 'username':
            usernames.add(uvalue)
    with store.lock:
        conn = store.conn
        cohorts_by_id = {row['id']: row['id'] for row in _rows_by(conn, 'SELECT id FROM cohort WHERE id IN (%s)',
                                                                  sorted(cohort_ids))}
        cohorts_by_idnumber = _resolve_cohorts_by_idnumber(store, cohort_idnumbers)
        users_by_id = {row['id']: row['id'] for row in _rows_by(
            conn, 'SELECT id FROM users WHERE deleted = 0 AND mnethostid = 1 AND id IN (%s)', sorted(user_ids))}
        users_by_name = _resolve_usernames(store, usernames)

    def lookup(kind, value, by_id, by_other):
        if kind == 'id':
            number = pg_int(value)
            if number is None:
                raise errors.moodle_exception('Error', 'cohort')
            return by_id.get(number)
        return by_other.get(value)

    txn = Transaction()
    other = None
    if call.fault.get('mode') == 'concurrent_add':
        wanted = []
        for member in members:
            cohortid = userid = None
            try:
                ctype, utype = member['cohorttype']['type'], member['usertype']['type']
                if ctype in ('id', 'idnumber') and utype in ('id', 'username'):
                    cohortid = lookup(member['cohorttype']['type'], member['cohorttype']['value'], cohorts_by_id,
                                      cohorts_by_idnumber)
                    userid = lookup(member['usertype']['type'], member['usertype']['value'], users_by_id,
                                    users_by_name)
            except WSError:
                pass
            if cohortid and userid:
                wanted.append((cohortid, userid))
        with races.cond:
            other = _other_client_add(call, wanted, {cohortid for cohortid, _userid in wanted})
    warnings = []
    try:
        for member in members:
            ctype, cvalue = member['cohorttype']['type'], member['cohorttype']['value']
            utype, uvalue = member['usertype']['type'], member['usertype']['value']
            if ctype not in ('id', 'idnumber'):
                warnings.append({'warningcode': '1', 'message': 'invalid parameter: cohortype=' + ctype})
                continue
            if utype not in ('id', 'username'):
                warnings.append({'warningcode': '1', 'message': 'invalid parameter: usertype=' + utype})
                continue
            cohortid = lookup(ctype, cvalue, cohorts_by_id, cohorts_by_idnumber)
            if not cohortid:
                warnings.append({'warningcode': '2', 'message': 'cohort %s=%s not exists' % (ctype, cvalue)})
                continue
            userid = lookup(utype, uvalue, users_by_id, users_by_name)
            if not userid:
                warnings.append({'warningcode': '2', 'message': 'user %s=%s not exists' % (utype, uvalue)})
                continue
            pair = (cohortid, userid)
            with races.cond:
                if pair in txn.rows or store.conn.execute(
                        'SELECT 1 FROM cohort_members WHERE cohortid = ? AND userid = ?', pair).fetchone():
                    warnings.append({'warningcode': '3', 'message': 'record already exists: cohort(%s=%s %s=%s)'
                                     % (ctype, cvalue, utype, uvalue)})
                    continue
                if not (call.has(COHORT_MANAGE) or call.has(COHORT_ASSIGN)):
                    raise nopermissions(COHORT_ASSIGN)
                try:
                    races.claim_member(txn, pair)
                except (DuplicateKey, Deadlock) as error:
                    raise _duplicate_member_error(store, error.pair, int(time.time())) from None
            races.pause()
        with races.cond:
            if other is not None:
                races.finish(other, commit=True)
            with store.transaction():
                _insert_members(store, txn.rows, int(time.time()))
            races.finish(txn, commit=True)
    except BaseException:
        with races.cond:
            races.finish(txn, commit=False)
            if other is not None:
                races.finish(other, commit=True)
        raise
    return {'warnings': warnings}


def delete_cohort_members(call, params):
    """core_cohort_delete_cohort_members: unknown cohort or user fails the whole call."""
    conn = call.conn
    members = params['members']
    cohorts = {row['id'] for row in _rows_by(conn, 'SELECT id FROM cohort WHERE id IN (%s)',
                                             sorted({member['cohortid'] for member in members}))}
    users = {row['id'] for row in _rows_by(conn, 'SELECT id FROM users WHERE deleted = 0 AND mnethostid = 1'
                                                 ' AND id IN (%s)', sorted({member['userid'] for member in members}))}
    removals = []
    for member in members:
        if member['cohortid'] not in cohorts:
            raise errors.missing_cohort(member['cohortid'])
        if member['userid'] not in users:
            raise errors.missing_user(member['userid'])
        if not (call.has(COHORT_MANAGE) or call.has(COHORT_ASSIGN)):
            raise nopermissions(COHORT_ASSIGN)
        removals.append((member['cohortid'], member['userid']))
    conn.executemany('DELETE FROM cohort_members WHERE cohortid = ? AND userid = ?', removals)


def get_cohort_members(call, params):
    """core_cohort_get_cohort_members: any unknown id fails the whole call."""
    conn = call.conn
    result = []
    for cohortid in params['cohortids']:
        _get_cohort(conn, cohortid)
        if not (call.has(COHORT_MANAGE) or call.has(COHORT_VIEW)):
            raise nopermissions(COHORT_VIEW)
        rows = conn.execute('SELECT u.id FROM users u JOIN cohort_members cm ON cm.userid = u.id'
                            ' WHERE cm.cohortid = ? ORDER BY u.lastname, u.firstname', (cohortid,)).fetchall()
        result.append({'cohortid': cohortid, 'userids': call.site.shuffle([row['id'] for row in rows])})
    return result


# --- users ------------------------------------------------------------------------------
def user_details(call, row):
    """user_get_user_details() as the token's user sees it.

    moodle/user:viewdetails shows the name and a few settings; moodle/user:viewalldetails adds
    username, idnumber, department and the account settings; moodle/site:viewuseridentity adds
    email (the site's showuseridentity is the default, ``email``).
    """
    image = '%s/theme/image.php/boost/core/1795729633/u/' % call.site.siteurl
    all_details = call.has(USER_VIEW_ALL)
    identity = call.has(VIEW_IDENTITY)
    details = {'id': row['id'], 'firstname': row['firstname'], 'lastname': row['lastname'],
               'fullname': ('%s %s' % (row['firstname'], row['lastname']))}
    if all_details:
        details['username'] = row['username']
    if identity:
        details['email'] = row['email']
    if all_details:
        details['department'] = row['department']
        if row['institution']:
            details['institution'] = row['institution']
        if row['idnumber']:
            details['idnumber'] = row['idnumber']
    details.update({'firstaccess': 0, 'lastaccess': 0})
    if all_details:
        details['auth'] = row['auth']
    details['suspended'] = bool(row['suspended'])
    if all_details:
        details.update({'confirmed': bool(row['confirmed']), 'lang': row['lang'], 'theme': row['theme']})
    details['timezone'] = row['timezone']
    if all_details:
        details.update({'mailformat': row['mailformat'], 'trackforums': 0})
    if row['description']:
        text, textformat = format_text(row['description'], FORMAT_HTML, call.raw)
        details['description'], details['descriptionformat'] = text, textformat
    if row['city']:
        details['city'] = row['city']
    if row['country']:
        details['country'] = row['country']
    details['profileimageurlsmall'] = image + 'f2'
    details['profileimageurl'] = image + 'f1'
    return details


USER_FIELD_TYPES = {'id': 'int', 'idnumber': 'raw', 'username': 'username', 'email': 'raw_trimmed'}


def get_users_by_field(call, params):
    """core_user_get_users_by_field: a token without user-view rights finds nobody."""
    field = params['field']
    if field not in USER_FIELD_TYPES:
        raise errors.coding_exception('invalid field parameter', "The search field '%s' is not supported, "
                                      "look at the web service documentation" % field)
    cleaned = []
    for value in params['values']:
        clean = clean_param(value, USER_FIELD_TYPES[field])
        if not php_loose_equal(value, clean):
            raise invalid_parameter("The field '%s' value is invalid: %s(cleaned value: %s)"
                                    % (field, value, php_str(clean)))
        cleaned.append(clean)
    store = call.store
    if field == 'id' or store.db == POSTGRES:
        rows = _rows_by(call.conn, 'SELECT * FROM users WHERE %s IN (%%s)' % field, sorted(set(cleaned), key=str))
    else:
        # MariaDB's IN compares through the column's collation; the rows keep their stored spelling.
        rows = _rows_by(call.conn, 'SELECT * FROM users WHERE ' + store.in_sql(field),
                        sorted({store.text_key(value) for value in cleaned}))
    rows.sort(key=lambda row: row['id'])
    if not call.has(USER_VIEW):
        return []
    result = []
    for row in rows:
        details = user_details(call, row)
        if details.get(field) not in (None, '', 0):
            result.append(details)
    return call.site.shuffle(result)


def _lower_email_sql(store):
    """Moodle's ``LOWER(email) = LOWER(?)``; on MariaDB the collation also ignores accents."""
    if store.db == POSTGRES:
        return 'lower(email) = lower(?)'
    return store.equal_sql('email')


def _lower_email_value(store, email):
    return email if store.db == POSTGRES else store.text_key(email)


def _password_problems(password):
    problems = []
    if len(password) < 8:
        problems.append('Passwords must be at least 8 characters long.')
    if len(re.findall('[0-9]', password)) < 1:
        problems.append('Passwords must have at least 1 digit(s).')
    if len(re.findall('[a-z]', password)) < 1:
        problems.append('Passwords must have at least 1 lower case letter(s).')
    if len(re.findall('[A-Z]', password)) < 1:
        problems.append('Passwords must have at least 1 upper case letter(s).')
    if len(re.findall('[^a-zA-Z0-9]', password)) < 1:
        problems.append('The password must have at least 1 special character(s) such as *, -, or #.')
    return ''.join('<div>%s</div>' % problem for problem in problems)


INTERNAL_AUTHS = ('manual', 'email')


def create_users(call, raw_params):
    """core_user_create_users: all or nothing; the capability is checked before the parameters."""
    call.require(USER_CREATE)
    params = validate(CREATE_USERS_IN, raw_params)
    conn = call.conn
    created = []
    for user in params['users']:
        for fieldname in ('username', 'firstname', 'lastname'):
            if php_trim(user[fieldname]) == '':
                raise invalid_parameter('The field %s cannot be blank' % fieldname)
        if conn.execute('SELECT 1 FROM users WHERE %s AND mnethostid = 1' % call.store.equal_sql('username'),
                        (call.store.text_key(user['username']),)).fetchone():
            raise invalid_parameter('Username already exists: ' + user['username'])
        if user['auth'] not in AUTH_PLUGINS or user['auth'] in ('mnet', 'webservice'):
            raise invalid_parameter('Invalid authentication type: ' + php_str(user['auth']))
        if user['lang'] not in INSTALLED_LANGS:
            raise invalid_parameter('Invalid language code: ' + php_str(user['lang']))
        if not php_empty(user.get('theme')) and user['theme'] not in INSTALLED_THEMES:
            raise invalid_parameter('Invalid theme: ' + user['theme'])
        internal = user['auth'] in INTERNAL_AUTHS
        if internal and php_empty(user.get('password')) and php_empty(user.get('createpassword')):
            raise invalid_parameter('Invalid password: you must provide a password, or set createpassword.')
        if not valid_email(user['email']):
            raise invalid_parameter('Email address is invalid: ' + user['email'])
        if conn.execute('SELECT 1 FROM users WHERE %s AND mnethostid = 1' % _lower_email_sql(call.store),
                        (_lower_email_value(call.store, user['email']),)).fetchone():
            raise invalid_parameter('Email address already exists: ' + user['email'])
        if internal and php_empty(user.get('createpassword')):
            problems = _password_problems(php_str(user.get('password')))
            if problems:
                raise errors.moodle_exception(problems)
        userid = call.store.insert_user(conn, user, int(time.time()))
        created.append({'id': userid, 'username': user['username']})
    return created


def update_users(call, raw_params):
    """core_user_update_users: users that cannot be updated are skipped with a warning."""
    call.require(USER_UPDATE)
    params = validate(UPDATE_USERS_IN, raw_params)
    conn = call.conn
    warnings = []
    columns = ('username', 'auth', 'suspended', 'firstname', 'lastname', 'email', 'idnumber', 'department',
               'institution', 'city', 'country', 'lang', 'theme', 'timezone', 'mailformat', 'description')
    for user in params['users']:
        row = conn.execute('SELECT * FROM users WHERE id = ?', (user['id'],)).fetchone()
        problem = None
        if row is None:
            problem = ('invaliduserid', 'Invalid user ID')
        elif row['id'] == 2 and not call.issiteadmin() and row['id'] != call.userid:
            problem = ('usernotupdatedadmin', 'Cannot update admin accounts')
        elif row['deleted'] or row['id'] == 1:
            problem = ('usernotupdatedguest' if row['id'] == 1 else 'usernotupdateddeleted', 'Cannot update user')
        elif 'email' in user and user['email'] != row['email']:
            if not valid_email(user['email']):
                problem = ('useremailinvalid', 'Invalid email address')
            elif conn.execute('SELECT 1 FROM users WHERE %s AND id <> ?' % _lower_email_sql(call.store),
                              (_lower_email_value(call.store, user['email']), row['id'])).fetchone():
                problem = ('useremailduplicate', 'Duplicate email address')
        if problem:
            warnings.append({'item': 'user', 'itemid': user['id'], 'warningcode': problem[0], 'message': problem[1]})
            continue
        changes = {column: user[column] for column in columns if column in user}
        if 'suspended' in changes:
            changes['suspended'] = int(bool(changes['suspended']))
        changes['timemodified'] = int(time.time())
        conn.execute('UPDATE users SET %s WHERE id = ?' % ', '.join('%s = ?' % column for column in changes),
                     tuple(changes.values()) + (row['id'],))
    return {'warnings': warnings}


def delete_users(call, raw_params):
    """core_user_delete_users: all or nothing; memberships go with the user."""
    call.require(USER_DELETE)
    params = validate(DELETE_USERS_IN, raw_params)
    conn = call.conn
    for userid in params['userids']:
        row = conn.execute('SELECT * FROM users WHERE id = ? AND deleted = 0', (userid,)).fetchone()
        if row is None:
            raise errors.missing_record('user', 'SELECT * FROM {user} WHERE id = ? AND deleted = ?', [userid, 0])
        if row['id'] == 2:
            raise errors.moodle_exception('useradminodelete')
        if row['id'] == call.userid:
            raise errors.moodle_exception('usernotdeletederror')
        call.store.delete_user(conn, row)


# --- categories and site ----------------------------------------------------------------
def get_categories(call, params):
    """core_course_get_categories: subcategories included by default; idnumber search needs management rights."""
    conn = call.conn
    manage = call.has(CATEGORY_MANAGE)
    if params['criteria']:
        conditions = {}
        wheres = []
        values = []
        for crit in params['criteria']:
            key = php_trim(crit['key'])
            if key in conditions:
                continue
            value = crit['value']
            if key in ('id', 'parent'):
                conditions[key] = clean_param(value, 'int')
            elif key == 'ids':
                ids = [int(part) for part in clean_param(value, 'sequence').split(',') if part]
                conditions[key] = ids
                wheres.append('id IN (%s)' % _in_clause(ids))
                values.extend(ids)
                continue
            elif key == 'idnumber':
                if not manage:
                    raise errors.moodle_exception('criteriaerror', 'webservice', None,
                                                  'You don\'t have the permissions to search on the "idnumber" field.')
                conditions[key] = php_str(value)
            elif key == 'name':
                conditions[key] = clean_param(value, 'text')
            elif key == 'visible':
                if not call.has(CATEGORY_VIEWHIDDEN):
                    raise errors.moodle_exception('criteriaerror', 'webservice', None,
                                                  'You don\'t have the permissions to search on the "visible" field.')
                conditions[key] = clean_param(value, 'int')
            elif key == 'theme':
                if not manage:
                    raise errors.moodle_exception('criteriaerror', 'webservice', None,
                                                  'You don\'t have the permissions to search on the "theme" field.')
                conditions[key] = clean_param(value, 'theme')
            else:
                raise errors.moodle_exception('criteriaerror', 'webservice', None,
                                              'You can not search on this criteria: ' + key)
            if key in ('idnumber', 'name', 'theme'):
                wheres.append(call.store.equal_sql(key))
                values.append(call.store.text_key(conditions[key]))
            else:
                wheres.append('%s = ?' % key)
                values.append(conditions[key])
        rows = conn.execute('SELECT * FROM category WHERE %s' % ' AND '.join(wheres), values).fetchall()
        if rows and params['addsubcategories']:
            found = {row['id'] for row in rows}
            extra_sql = ''
            extra = []
            for key in ('visible', 'theme'):
                if key in conditions:
                    extra_sql += ' AND %s = ?' % key
                    extra.append(conditions[key])
            for row in list(rows):
                for sub in conn.execute('SELECT * FROM category WHERE path LIKE ?' + extra_sql,
                                        [row['path'] + '/%'] + extra):
                    if sub['id'] not in found:
                        found.add(sub['id'])
                        rows.append(sub)
    else:
        rows = conn.execute('SELECT * FROM category').fetchall()
    rows.sort(key=lambda row: row['path'])
    excluded = {}
    result = []
    for row in rows:
        for parent in row['path'].strip('/').split('/'):
            if excluded.get(int(parent)) not in (None, 'context'):
                excluded[row['id']] = 'parent'
        if row['id'] in excluded:
            continue
        if not row['visible'] and not call.has(CATEGORY_VIEWHIDDEN):
            excluded[row['id']] = 'visibility'
            continue
        description, descriptionformat = format_text(row['description'], row['descriptionformat'], call.raw)
        info = {'id': row['id'], 'name': row['name'], 'description': description,
                'descriptionformat': descriptionformat, 'parent': row['parent'], 'sortorder': row['sortorder'],
                'coursecount': row['coursecount'], 'depth': row['depth'], 'path': row['path']}
        if manage:
            info.update({'idnumber': row['idnumber'], 'visible': row['visible'], 'visibleold': row['visibleold'],
                         'timemodified': row['timemodified'], 'theme': clean_param(row['theme'], 'theme')})
        result.append(info)
    result.sort(key=lambda info: str(info['sortorder']))
    return call.site.shuffle(result)


def get_site_info(call, _params):
    """core_webservice_get_site_info: the token's user and the service's functions."""
    row = call.conn.execute('SELECT * FROM users WHERE id = ?', (call.userid,)).fetchone()
    functions = [{'name': name, 'version': SITE_VERSION.split('.', maxsplit=1)[0]}
                 for name in sorted(call.service)]
    return {
        'sitename': call.site.sitename, 'username': row['username'], 'firstname': row['firstname'],
        'lastname': row['lastname'], 'fullname': '%s %s' % (row['firstname'], row['lastname']), 'lang': 'en',
        'userid': row['id'], 'siteurl': call.site.siteurl,
        'userpictureurl': '%s/theme/image.php/boost/core/1795729633/u/f1' % call.site.siteurl,
        'functions': functions, 'downloadfiles': 1, 'uploadfiles': 1, 'release': SITE_RELEASE,
        'version': SITE_VERSION.split('.', maxsplit=1)[0], 'mobilecssurl': '',
        'advancedfeatures': [{'name': 'usecomments', 'value': 1}, {'name': 'usetags', 'value': 1},
                             {'name': 'enablenotes', 'value': 1}, {'name': 'messaging', 'value': 1},
                             {'name': 'enablebadges', 'value': 1}, {'name': 'enablecompletion', 'value': 1},
                             {'name': 'mnet_dispatcher_mode', 'value': 0}],
        'usercanmanageownfiles': True, 'userquota': 104857600, 'usermaxuploadfilesize': 104857600,
        'userhomepage': 1, 'siteid': 1, 'sitecalendartype': 'gregorian', 'usercalendartype': 'gregorian',
        'userissiteadmin': call.issiteadmin(), 'theme': 'boost', 'limitconcurrentlogins': 0, 'policyagreed': 0,
    }


class Function:
    """A web-service function: parameters, returns, implementation, and whether it writes."""

    def __init__(self, handler, params, returns, write=False, validate_first=True, stepwise=False):
        self.handler = handler
        # Stepwise functions manage their own locking and transactions (see concurrency.py).
        self.stepwise = stepwise
        self.params = params
        self.returns = returns
        self.write = write
        self.validate_first = validate_first


FUNCTIONS = {
    'core_cohort_get_cohorts': Function(get_cohorts, GET_COHORTS_IN, GET_COHORTS_OUT),
    'core_cohort_search_cohorts': Function(search_cohorts, SEARCH_COHORTS_IN, SEARCH_COHORTS_OUT),
    'core_cohort_create_cohorts': Function(_create_cohorts_keeping_sequences, CREATE_COHORTS_IN, CREATE_COHORTS_OUT,
                                           write=True, stepwise=True),
    'core_cohort_update_cohorts': Function(update_cohorts, UPDATE_COHORTS_IN, None, write=True),
    'core_cohort_delete_cohorts': Function(delete_cohorts, COHORTIDS_IN, None, write=True),
    'core_cohort_add_cohort_members': Function(add_cohort_members, ADD_MEMBERS_IN, ADD_MEMBERS_OUT, write=True,
                                               stepwise=True),
    'core_cohort_delete_cohort_members': Function(delete_cohort_members, DELETE_MEMBERS_IN, None, write=True),
    'core_cohort_get_cohort_members': Function(get_cohort_members, COHORTIDS_IN, GET_MEMBERS_OUT),
    'core_course_get_categories': Function(get_categories, GET_CATEGORIES_IN, GET_CATEGORIES_OUT),
    'core_user_get_users_by_field': Function(get_users_by_field, GET_USERS_IN, Multiple(USER_OUT)),
    'core_user_create_users': Function(create_users, CREATE_USERS_IN, CREATE_USERS_OUT, write=True,
                                       validate_first=False),
    'core_user_update_users': Function(update_users, UPDATE_USERS_IN, UPDATE_USERS_OUT, write=True,
                                       validate_first=False),
    'core_user_delete_users': Function(delete_users, DELETE_USERS_IN, None, write=True, validate_first=False),
    'core_webservice_get_site_info': Function(get_site_info, SITE_INFO_IN, SITE_INFO_OUT),
}

WRITE_FUNCTIONS = frozenset(name for name, function in FUNCTIONS.items() if function.write)

"""Moodle exceptions as the Pluto web service reports them (class, errorcode, message, debuginfo)."""

from __future__ import annotations

ACCESS_DEBUGINFO = (
    "Access to the function {0}() is not allowed.\n"
    "                     There could be multiple reasons for this:\n"
    "                     1. The service linked to the user token does not contain the function.\n"
    "                     2. The service is user-restricted and the user is not listed.\n"
    "                     3. The service is IP-restricted and the user IP is not listed.\n"
    "                     4. The service is time-restricted and the time has expired.\n"
    "                     5. The token is time-restricted and the time has expired.\n"
    "                     6. The service requires a specific capability which the user does not have.\n"
    "                     7. The function is called with username/password (no user token is sent)\n"
    "                     and none of the services has the function to allow the user.\n"
    "                     These settings can be found in Administration > Site administration\n"
    "                     > Server > Web services > External services and Manage tokens."
)

CAPABILITY_NAMES = {
    'moodle/cohort:view': 'View site-wide cohorts',
    'moodle/cohort:manage': 'Create, delete and move cohorts',
    'moodle/cohort:assign': 'Add and remove cohort members',
    'moodle/user:create': 'Create users',
    'moodle/user:update': 'Update user profiles',
    'moodle/user:delete': 'Delete users',
    'moodle/category:manage': 'Manage course categories',
}

# Language strings the site knows; a missing string shows as "component/identifier".
STRINGS = {
    ('error', 'invalidtoken'): 'Invalid token - token not found',
    ('webservice', 'criteriaerror'): 'Missing permissions to search on a criterion.',
    ('error', 'useradminodelete'): 'You cannot delete an admin user',
    ('error', 'usernotdeletederror'): 'You cannot delete yourself',
    ('webservice', 'errorinvalidparam'): 'The param "{$a}" is invalid.',
}


class WSError(Exception):
    """An exception the web service answers with (HTTP 200, error envelope)."""

    def __init__(self, exception, errorcode, message, debuginfo=None):
        super().__init__(message)
        self.exception = exception
        self.errorcode = errorcode
        self.message = message
        self.debuginfo = debuginfo


def var_export(value, indent=''):
    """PHP var_export() of scalars and lists/dicts, as Moodle prints query parameters."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if value is None:
        return 'NULL'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple, dict)):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        lines = ['array (']
        for key, item in items:
            lines.append('%s  %s => %s,' % (indent, var_export(key), var_export(item, indent + '  ')))
        lines.append(indent + ')')
        return '\n'.join(lines)
    text = str(value).replace('\\', '\\\\').replace("'", "\\'")
    return "'%s'" % text


def invalid_parameter(debuginfo=None):
    """core\\exception\\invalid_parameter_exception."""
    return WSError('core\\exception\\invalid_parameter_exception', 'invalidparameter',
                   'Invalid parameter value detected', debuginfo)


def moodle_exception(errorcode, module='error', a=None, debuginfo=None):
    """core\\exception\\moodle_exception with the site's language string (or its identifier)."""
    module = module or 'error'
    text = STRINGS.get((module, errorcode))
    if text is None:
        text = '%s/%s' % (module, errorcode)
    elif a is not None:
        text = text.replace('{$a}', str(a))
    return WSError('core\\exception\\moodle_exception', errorcode, text, debuginfo)


def coding_exception(hint, debuginfo=None):
    """core\\exception\\coding_exception."""
    return WSError('core\\exception\\coding_exception', 'codingerror',
                   'Coding error detected, it must be fixed by a programmer: ' + hint, debuginfo)


def missing_record(table, sql, params):
    """dml_missing_record_exception for a MUST_EXIST read."""
    debuginfo = '%s\n[%s]' % (sql, var_export(list(params)))
    if table == 'user':
        return WSError('dml_missing_record_exception', 'invaliduser', 'Invalid user', debuginfo)
    return WSError('dml_missing_record_exception', 'invalidrecord',
                   "Can't find data record in database table %s." % table, debuginfo)


def missing_cohort(cohortid):
    """The read of one cohort by id that found nothing."""
    return missing_record('cohort', 'SELECT * FROM {cohort} WHERE id = ?', [cohortid])


def missing_user(userid):
    """The read of one live local user by id that found nothing."""
    return missing_record('user', 'SELECT * FROM {user} WHERE id = ? AND deleted = ? AND mnethostid = ?',
                          [userid, 0, '1'])


def write_exception(error, sql, params):
    """dml_write_exception as PostgreSQL reports it."""
    debuginfo = '%s\n%s\n[%s]' % (error, sql, var_export(params))
    return WSError('dml_write_exception', 'dmlwriteexception', 'Error writing to database', debuginfo)


def nopermissions(capability):
    """core\\exception\\required_capability_exception."""
    name = CAPABILITY_NAMES.get(capability, capability)
    return WSError('core\\exception\\required_capability_exception', 'nopermissions',
                   'Sorry, but you do not currently have permissions to do that (%s).' % name)


def access_exception(debuginfo):
    """webservice_access_exception."""
    return WSError('webservice_access_exception', 'accessexception', 'Access control exception', debuginfo)

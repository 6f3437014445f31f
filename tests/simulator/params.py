"""Moodle external-API parameter descriptions, PARAM_* cleaning and validation."""

from __future__ import annotations

import re

from .errors import WSError, invalid_parameter

REQUIRED = 1
DEFAULT = 0
OPTIONAL = 2

INSTALLED_THEMES = ('boost', 'classic')
INSTALLED_LANGS = ('en',)
AUTH_PLUGINS = ('manual', 'nologin', 'email', 'db', 'ldap', 'cas', 'lti', 'mnet', 'oauth2', 'shibboleth',
                'webservice', 'none')

_PHP_WS = ' \t\n\r\x00\x0b'
_INT_PREFIX = re.compile(r'[ \t\n\r\x0b\x0c]*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)')
_TAG = re.compile(r'<(?:[a-zA-Z/!?][^>]*)(?:>|$)', re.S)
_PLUGIN = re.compile(r'^[a-z](?:[a-z0-9_](?!__))*[a-z0-9]+$')
_TIMEZONE = re.compile(r'^(([+-]?(0?[0-9](\.[5|0])?|1[0-3](\.0)?|1[0-2]\.5))|(99)|[A-Za-z0-9]+(/?[A-Za-z_-])+)$')
_EMAIL = re.compile(r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
                    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")
PHP_INT_MAX = 2 ** 63 - 1


class Value:
    """external_value."""

    def __init__(self, ptype, required=REQUIRED, default=None, allownull=True):
        self.ptype = ptype
        self.required = required
        self.default = default
        self.allownull = allownull


class Single:
    """external_single_structure (keys in declaration order)."""

    def __init__(self, keys, required=REQUIRED, default=None):
        self.keys = keys
        self.required = required
        self.default = default


class Multiple:
    """external_multiple_structure."""

    def __init__(self, content, required=REQUIRED, default=None):
        self.content = content
        self.required = required
        self.default = default


def php_str(value):
    """PHP's (string) cast."""
    if value is True:
        return '1'
    if value is False or value is None:
        return ''
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def php_trim(value):
    """PHP trim() with its default character list."""
    return value.strip(_PHP_WS)


def php_empty(value):
    """PHP empty()."""
    return value is None or value is False or value in ('', '0', 0, 0.0) or (isinstance(value, (dict, list)) and not value)


def php_intval(value):
    """PHP (int) cast of a scalar."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    match = _INT_PREFIX.match(php_str(value))
    if not match:
        return 0
    number = match.group(1)
    try:
        result = int(number)
    except ValueError:
        try:
            result = int(float(number))
        except (ValueError, OverflowError):
            return PHP_INT_MAX if not number.startswith('-') else -PHP_INT_MAX - 1
    return max(-PHP_INT_MAX - 1, min(PHP_INT_MAX, result))


def strip_tags(value):
    """Roughly PHP strip_tags()."""
    return _TAG.sub('', value)


def valid_email(address):
    """Moodle validate_email()."""
    if not address:
        return False
    return bool(_EMAIL.match(address)) and not re.search('[<>]', address)


def valid_plugin_name(name):
    """Moodle is_valid_plugin_name()."""
    return bool(_PLUGIN.match(name))


def clean_param(value, ptype):
    """Moodle clean_param() for the PARAM_* types the simulator uses."""
    if isinstance(value, (dict, list)):
        return value
    text = php_str(value)
    result = value
    if ptype == 'int':
        result = php_intval(value)
    elif ptype == 'bool':
        lowered = text.lower()
        if lowered in ('on', 'yes', 'true'):
            result = 1
        elif lowered in ('off', 'no', 'false'):
            result = 0
        else:
            result = 0 if php_empty(value) else 1
    elif ptype == 'alpha':
        result = re.sub('[^a-zA-Z]', '', text)
    elif ptype == 'alphanum':
        result = re.sub('[^a-zA-Z0-9]', '', text)
    elif ptype == 'alphanumext':
        result = re.sub('[^a-zA-Z0-9_-]', '', text)
    elif ptype == 'sequence':
        result = re.sub('[^0-9,]', '', text)
    elif ptype in ('text', 'notags'):
        result = strip_tags(text)
    elif ptype == 'raw_trimmed':
        result = php_trim(text)
    elif ptype == 'username':
        result = re.sub(r'[^-.@_a-z0-9]', '', php_trim(text).lower().replace(' ', ''))
    elif ptype == 'email':
        result = text if valid_email(text) else ''
    elif ptype == 'plugin':
        result = text if valid_plugin_name(text) else ''
    elif ptype == 'theme':
        result = text if valid_plugin_name(text) and text in INSTALLED_THEMES else ''
    elif ptype == 'lang':
        result = text if text in INSTALLED_LANGS else ''
    elif ptype == 'auth':
        result = text if valid_plugin_name(text) and text in AUTH_PLUGINS else ''
    elif ptype == 'timezone':
        result = text if _TIMEZONE.match(text) else ''
    return result


def _value_debug(value, ptype):
    return 'Invalid external api parameter: the value is "%s", the server was expecting "%s" type' % (
        php_str(value), ptype)


def _nested(key, error):
    return invalid_parameter('%s => Invalid parameter value detected: %s' % (key, error.debuginfo))


def _print_r(value):
    return php_str(value)


def validate(desc, value):
    """external_api::validate_parameters(): the cleaned value, or WSError(invalidparameter)."""
    if isinstance(desc, Value):
        if isinstance(value, (dict, list)):
            raise invalid_parameter('Scalar type expected, array or object received.')
        if desc.ptype == 'bool' and (isinstance(value, bool) or value in (0, 1) or value in ('0', '1')):
            return bool(int(value))
        if value is None:
            if desc.allownull:
                return None
            raise invalid_parameter(_value_debug(value, desc.ptype))
        cleaned = clean_param(value, desc.ptype)
        if php_str(value) != php_str(cleaned):
            raise invalid_parameter(_value_debug(value, desc.ptype))
        return cleaned
    if isinstance(desc, Single):
        if not isinstance(value, dict):
            raise invalid_parameter("Only arrays accepted. The bad value is: '%s'" % _print_r(value))
        result = {}
        rest = dict(value)
        for key, sub in desc.keys.items():
            if key not in value:
                if sub.required == REQUIRED:
                    raise invalid_parameter('Missing required key in single structure: ' + key)
                if sub.required == DEFAULT:
                    try:
                        result[key] = validate(sub, sub.default)
                    except WSError as error:
                        raise _nested(key, error) from None
            else:
                try:
                    result[key] = validate(sub, value[key])
                except WSError as error:
                    raise _nested(key, error) from None
            rest.pop(key, None)
        if rest:
            raise invalid_parameter('Unexpected keys (%s) detected in parameter array.'
                                    % ', '.join(str(key) for key in rest))
        return result
    if isinstance(desc, Multiple):
        if isinstance(value, list):
            items = value
        elif isinstance(value, dict):
            items = list(value.values())
        else:
            raise invalid_parameter("Only arrays accepted. The bad value is: '%s'" % _print_r(value))
        return [validate(desc.content, item) for item in items]
    raise TypeError('unknown description %r' % (desc,))


def clean_return(desc, value):
    """external_api::clean_returnvalue(): keep declared keys in declared order, cast scalar types."""
    if desc is None:
        return None
    if isinstance(desc, Value):
        if value is None:
            return None
        if desc.ptype == 'int':
            return php_intval(value)
        if desc.ptype == 'bool':
            return bool(php_intval(value)) if not isinstance(value, bool) else value
        return php_str(value)
    if isinstance(desc, Single):
        result = {}
        for key, sub in desc.keys.items():
            if key not in value:
                if isinstance(sub, Value) and sub.required == DEFAULT:
                    result[key] = clean_return(sub, sub.default)
                continue
            result[key] = clean_return(sub, value[key])
        return result
    items = value.values() if isinstance(value, dict) else (value or [])
    return [clean_return(desc.content, item) for item in items]

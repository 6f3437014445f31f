"""How the REST server writes answers: PHP json_encode() or Moodle's XML, for results and errors."""

from __future__ import annotations

import json

from .params import Multiple, Single, Value

JSON_TYPE = 'application/json'
XML_TYPE = 'application/xml; charset=utf-8'
HTML_TYPE = 'text/html; charset=UTF-8'

XML_HEAD = '<?xml version="1.0" encoding="UTF-8" ?>\n'

NOT_FOUND_PAGE = (
    '<!doctype html><html><head><title>404 Not Found</title><style>\n'
    'body { background-color: #fcfcfc; color: #333333; margin: 0; padding:0; }\n'
    'h1 { font-size: 1.5em; font-weight: normal; background-color: #9999cc; min-height:2em; '
    'line-height:2em; border-bottom: 1px inset black; margin: 0; }\n'
    'h1, p { padding-left: 10px; }\n'
    'code.url { background-color: #eeeeee; font-family:monospace; padding:0 2px;}\n'
    '</style>\n'
    '</head><body><h1>Not Found</h1><p>The requested resource <code class="url">{path}</code> '
    'was not found on this server.</p></body></html>'
)

UNAVAILABLE_PAGE = (
    '<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head><body>\n'
    '<h1>Service Unavailable</h1>\n'
    '<p>The server is temporarily unable to service your request due to maintenance downtime or '
    'capacity problems. Please try again later.</p>\n</body></html>\n'
)

LOGIN_PAGE = (
    '<!DOCTYPE html>\n<html dir="ltr" lang="en" xml:lang="en">\n<head>\n'
    '    <title>Log in to the site | Pluto LMS</title>\n'
    '    <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />\n</head>\n'
    '<body id="page-login-index" class="format-site path-login">\n'
    '<div id="page-wrapper"><div role="main"><h1 class="login-heading">Log in to Pluto LMS</h1>\n'
    '<form class="login-form" action="/login/index.php" method="post" id="login">\n'
    '<input type="text" name="username" id="username" value="" placeholder="Username">\n'
    '<input type="password" name="password" id="password" value="" placeholder="Password">\n'
    '<button class="btn btn-primary" type="submit" id="loginbtn">Log in</button>\n'
    '</form></div></div>\n</body>\n</html>\n'
)


def php_json(value):
    """PHP json_encode() with default flags: \\uXXXX escapes and escaped slashes."""
    return json.dumps(_php_arrays(value), ensure_ascii=True, separators=(',', ':')).replace('/', '\\/')


def _php_arrays(value):
    if isinstance(value, dict):
        if not value:
            return []
        return {str(key): _php_arrays(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_php_arrays(item) for item in value]
    return value


def htmlspecialchars(text):
    """PHP htmlspecialchars($text, ENT_COMPAT, 'UTF-8')."""
    return text.replace('&', '&amp;').replace('"', '&quot;').replace('<', '&lt;').replace('>', '&gt;')


def _scalar(value):
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def xmlize(value, desc):
    """webservice_rest_server::xmlize_result()."""
    if desc is None:
        return ''
    if isinstance(desc, Value):
        if value is None:
            return '<VALUE null="null"/>\n'
        return '<VALUE>%s</VALUE>\n' % htmlspecialchars(_scalar(value))
    if isinstance(desc, Multiple):
        parts = ['<MULTIPLE>\n']
        for item in value or []:
            parts.append(xmlize(item, desc.content))
        parts.append('</MULTIPLE>\n')
        return ''.join(parts)
    if isinstance(desc, Single):
        parts = ['<SINGLE>\n']
        for key, sub in desc.keys.items():
            item = value.get(key) if isinstance(value, dict) else None
            parts.append('<KEY name="%s">%s</KEY>\n' % (key, xmlize(item, sub)))
        parts.append('</SINGLE>\n')
        return ''.join(parts)
    raise TypeError('unknown description %r' % (desc,))


def result_body(value, desc, restformat):
    """Body and content type of a successful answer (``value`` already cleaned)."""
    if restformat == 'json':
        return php_json(value), JSON_TYPE
    return XML_HEAD + '<RESPONSE>\n' + xmlize(value, desc) + '</RESPONSE>\n', XML_TYPE


def error_body(error, restformat, debug, debug_in_message=False):
    """Body and content type of an exception answer.

    ``debug_in_message``: with debugging on, the message also ends with `` (debuginfo)``.
    """
    message = error.message
    if debug and debug_in_message and error.debuginfo:
        message = '%s (%s)' % (message, error.debuginfo)
    if restformat == 'json':
        envelope = {'exception': error.exception, 'errorcode': error.errorcode, 'message': message}
        if debug and error.debuginfo is not None:
            envelope['debuginfo'] = error.debuginfo
        return php_json(envelope), JSON_TYPE
    parts = [XML_HEAD, '<EXCEPTION class="%s">\n' % error.exception]
    parts.append('<ERRORCODE>%s</ERRORCODE>\n' % htmlspecialchars(error.errorcode))
    parts.append('<MESSAGE>%s</MESSAGE>\n' % htmlspecialchars(message))
    if debug and error.debuginfo is not None:
        parts.append('<DEBUGINFO>%s</DEBUGINFO>\n' % htmlspecialchars(error.debuginfo))
    parts.append('</EXCEPTION>\n')
    return ''.join(parts), XML_TYPE

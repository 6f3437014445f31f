# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one web-service client of pluto.lms: transport and the one retry loop.

Everything that talks to a Pluto LMS (Moodle) site goes through PlutoClient.call(): form
encoding, the retry rule of the function table (_functions.py), read-back verification of the
writes that may not be resent, and the mapping of every failure (transport, HTTP, non-JSON
answers, the site's error envelope) to PlutoError. Request sizing comes from one setting,
max_input_vars: every request's field count, the header fields included, stays under
min(2,003, max_input_vars).

What to read is SiteReader's business (_reader.py), what to write the executor's (_executor.py).

Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import threading
import time
import traceback
import warnings

try:
    import requests
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised by the import sanity test
    requests = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported, but keep compile happy
    from urlparse import urlsplit  # type: ignore

from ansible_collections.pluto.lms.plugins.module_utils._errors import PlutoError, one_line
from ansible_collections.pluto.lms.plugins.module_utils._functions import (
    HEADER_FIELDS,
    ID_CHUNK,
    MAX_ARGUMENT_FIELDS,
    READ,
    READ_FUNCTIONS,
    USER_LOOKUP_CHUNK,
    argument_field_budget,
    function,
)

__all__ = ["PlutoClient", "PlutoError", "one_line", "encode_fields", "encode_args", "chunk_by_fields",
           "normalize_endpoint", "capability_hint", "HAS_REQUESTS", "REQUESTS_IMPORT_ERROR", "ID_CHUNK",
           "USER_LOOKUP_CHUNK", "READ_FUNCTIONS"]

REST_PATH = "/webservice/rest/server.php"

# The default of the max_input_vars option: PHP's own default, the least a Moodle 4.x site accepts.
DEFAULT_MAX_INPUT_VARS = 5000
# Kept for callers that size requests themselves: argument fields a request carries at most.
MAX_FIELDS_PER_REQUEST = MAX_ARGUMENT_FIELDS

RETRY_HTTP_STATUSES = (502, 503, 504)

# The capability behind each "nopermissions" text Moodle sends for cohort functions.
CAPABILITY_HINTS = (
    ("View site-wide cohorts", "moodle/cohort:view"),
    ("Create, delete and move cohorts", "moodle/cohort:manage"),
    ("Add and remove cohort members", "moodle/cohort:assign"),
)

DESCRIPTION_FORMATS = {"moodle": 0, "html": 1, "plain": 2, "markdown": 4}
DESCRIPTION_FORMAT_NAMES = dict((v, k) for k, v in DESCRIPTION_FORMATS.items())


def encode_fields(name, value):
    """PHP-style form fields for one argument: lists as name[i], dicts as name[key].

    Booleans become 1/0 (Moodle rejects 'true'/'false'); None values are left out.
    """
    if value is None:
        return []
    if isinstance(value, bool):
        return [(name, "1" if value else "0")]
    if isinstance(value, dict):
        fields = []
        for key, item in value.items():
            fields.extend(encode_fields("%s[%s]" % (name, key), item))
        return fields
    if isinstance(value, (list, tuple)):
        fields = []
        for index, item in enumerate(value):
            fields.extend(encode_fields("%s[%d]" % (name, index), item))
        return fields
    return [(name, str(value))]


def encode_args(args):
    """Form fields for a dict of arguments, in the dict's order."""
    fields = []
    for name, value in (args or {}).items():
        fields.extend(encode_fields(name, value))
    return fields


def chunk_by_fields(items, max_fields=MAX_FIELDS_PER_REQUEST, max_items=None):
    """Split items into lists whose encoded form never passes max_fields (nor max_items).

    Works for any item shape: each item's field count is measured, not assumed.
    """
    chunks, current, used = [], [], 0
    for item in items:
        size = max(1, len(encode_fields("x", item)))
        if current and (used + size > max_fields or (max_items and len(current) >= max_items)):
            chunks.append(current)
            current, used = [], 0
        current.append(item)
        used += size
    if current:
        chunks.append(current)
    return chunks


def normalize_endpoint(url):
    """The REST endpoint for a site's base URL, or PlutoError naming what is wrong with it."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PlutoError("url must be the site's address starting with https:// (or http://), got %r" % url)
    if parts.query or parts.fragment:
        raise PlutoError("url must not carry a query string or fragment, got %r; give the site's base URL" % url)
    base = url.rstrip("/")
    if base.endswith(REST_PATH):
        return base
    return base + REST_PATH


# How the operating system and the HTTP libraries say that a host name does not resolve, or that
# the other side closed the connection.
NAME_NOT_RESOLVED = ("name or service not known", "failed to resolve", "nodename nor servname", "getaddrinfo failed",
                     "temporary failure in name resolution", "no address associated", "name resolution")
CONNECTION_CLOSED = ("connection reset", "connection aborted", "remote end closed", "remotedisconnected",
                     "broken pipe")


def innermost_reason(exc):
    """The operating system's words for a failure ("Connection refused"), without the HTTP libraries' wrapping
    ("Max retries exceeded", pool and class names)."""
    text = str(exc)
    found = re.findall(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if found:
        return found[-1].strip()
    found = re.findall(r"\[SSL: [A-Z_]+\] ([^'\")(\]]+)", text)
    if found:
        return found[-1].strip()
    for pattern in (r"Failed to resolve '[^']*'", r"Remote end closed connection without response", r"Connection reset by peer"):
        match = re.search(pattern, text)
        if match:
            return match.group(0)
    reason = getattr(exc, "args", None) and exc.args[0]
    reason = getattr(reason, "reason", reason)
    text = one_line(reason if reason is not None else exc, 200)
    # Whatever is left, without the library's retry wrapper.
    return re.sub(r"^.*?Max retries exceeded with url: \S+ \(Caused by ", "", text).rstrip(")")


def with_attempts(message, attempts):
    """The message with how often the request was sent, right after what went wrong (before the advice)."""
    depth = 0
    for index, char in enumerate(message):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and message.startswith("; ", index):
            return "%s (after %d attempts)%s" % (message[:index], attempts, message[index:])
    return "%s (after %d attempts)" % (message, attempts)


def access_causes(wsfunction):
    """Every reason Moodle answers accessexception for, since its answer does not say which."""
    return ("the site refuses access when any of these holds: the token's external service does not include %s "
            "(Site administration > Server > Web services > External services > Functions); the token's user lacks "
            "the capability webservice/rest:use; the token is restricted to IP addresses this controller is not among; "
            "the service is restricted to authorised users and the token's user is not one of them" % wsfunction)


def capability_hint(message):
    for text, capability in CAPABILITY_HINTS:
        if text in message:
            return capability
    return None


class PlutoClient(object):
    """A session with one site. Not a module: no Ansible objects in here."""

    def __init__(self, url, token, validate_certs=True, ca_path=None, timeout=30, retries=3,
                 check_mode=False, backoff=0.5, max_fields=None, session=None,
                 max_input_vars=DEFAULT_MAX_INPUT_VARS, lookup_concurrency=4):
        if not HAS_REQUESTS:
            raise PlutoError("the Python library 'requests' is required on the Ansible controller")
        self.endpoint = normalize_endpoint(url)
        if not token or not str(token).strip():
            raise PlutoError("token is empty: give the site's web-service token (option token or PLUTO_TOKEN)")
        self._token = str(token)
        self._token_pattern = re.compile(r"(?<![A-Za-z0-9])%s(?![A-Za-z0-9])" % re.escape(self._token))
        if len(self._token) >= 8 and self._token in self.endpoint:
            # Web servers and proxies log URLs: a token in one would end up in their logs.
            raise PlutoError("url contains the token: give the site's base URL as url and the token only as token")
        if validate_certs and ca_path and not os.path.exists(ca_path):
            raise PlutoError("ca_path %r does not exist: give the path of a PEM file of the CA certificates to trust, "
                             "or leave ca_path out to trust the controller's usual CAs" % (ca_path,))
        self.verify = ca_path if (validate_certs and ca_path) else bool(validate_certs)
        # requests refuses a timeout of 0 with an exception of its own; a negative retries would be ignored.
        if timeout is None or timeout <= 0:
            raise PlutoError("timeout must be a number of seconds greater than 0, got %r" % (timeout,))
        if retries is None or int(retries) < 0:
            raise PlutoError("retries must be 0 or more, got %r" % (retries,))
        if max_input_vars is None or int(max_input_vars) < HEADER_FIELDS + 10:
            raise PlutoError("max_input_vars must be the site's PHP max_input_vars (at least %d), got %r"
                             % (HEADER_FIELDS + 10, max_input_vars))
        self.timeout = timeout
        self.retries = int(retries)
        self.check_mode = check_mode
        self.backoff = backoff
        self.max_input_vars = int(max_input_vars)
        if lookup_concurrency is None or int(lookup_concurrency) < 1:
            raise PlutoError("lookup_concurrency must be 1 or more, got %r" % (lookup_concurrency,))
        # How many user lookups the reader sends at once; the client itself sends what it is given.
        self.lookup_concurrency = int(lookup_concurrency)
        if max_fields is not None:
            # An explicit argument-field limit (tests, benchmarks) narrows the one from max_input_vars.
            self.max_input_vars = min(self.max_input_vars, int(max_fields) + HEADER_FIELDS)
        self.warnings = []
        self.requests_sent = 0
        self.writes_sent = 0
        self._count_lock = threading.Lock()
        self._site_info = None
        self._session = session or requests.Session()
        if urlsplit(self.endpoint).scheme == "http" and urlsplit(self.endpoint).hostname not in ("127.0.0.1", "localhost", "::1"):
            self.warnings.append("url uses http://: the token travels unencrypted; use https:// for a real site")

    @property
    def max_fields(self):
        """Argument fields a request without extra header fields may carry."""
        return argument_field_budget(self.max_input_vars)

    def field_budget(self, raw=False, extra_args=None):
        """Argument fields left for items in one request: the header fields and the fixed arguments counted."""
        header = HEADER_FIELDS + (1 if raw else 0)
        return argument_field_budget(self.max_input_vars, header) - len(encode_args(extra_args))

    def close(self):
        self._session.close()

    # ---- the one choke point ---------------------------------------------------------

    def redact(self, text):
        """Mask the token wherever it stands as a word of its own (a short token inside a word is left)."""
        return self._token_pattern.sub("********", str(text))

    def call(self, wsfunction, args=None, raw=False, verify_items=None):
        """Call one web-service function and return its decoded answer (None for `null`).

        The one retry loop: `retries` N means at most N + 1 sends of this request, whatever
        the fault. After a transport failure the request is sent again when the function
        table says it may be (reads, update, add and delete members), or when it certainly
        never left (the connection was refused). A create or delete whose answer was lost is
        first verified by reading the site back (verify_items: the items the request carried):
        the read-back answer is returned when it was applied, else it is sent again.
        """
        entry = function(wsfunction)
        if self.check_mode and entry.kind != READ:
            # A bug guard: plans must never reach a write in check mode.
            raise PlutoError("refusing to send %s in check mode" % wsfunction)
        fields = [("wstoken", self._token), ("wsfunction", wsfunction), ("moodlewsrestformat", "json")]
        if raw:
            fields.append(("moodlewssettingraw", "1"))
        fields.extend(encode_args(args))
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._post_once(wsfunction, fields)
            except PlutoError as error:
                if not error.transport or attempt == attempts:
                    if error.transport and attempt > 1:
                        error.message = with_attempts(error.message, attempt)
                    raise
                if not (entry.resend or error.not_sent):
                    if entry.verify is None or verify_items is None:
                        raise
                    answer = entry.verify(self, verify_items)
                    if answer is not False:
                        return answer
            time.sleep(min(self.backoff * (2 ** (attempt - 1)), 10))
        raise PlutoError("unreachable")  # pragma: no cover

    def _count(self, wsfunction):
        with self._count_lock:
            self.requests_sent += 1
            if wsfunction not in READ_FUNCTIONS:
                self.writes_sent += 1

    def _post_once(self, wsfunction, fields):
        self._count(wsfunction)
        try:
            with warnings.catch_warnings():
                # validate_certs: false is the user's choice; urllib3 would print a Python warning on every
                # request, straight to the terminal, past Ansible's output.
                warnings.filterwarnings("ignore", message="Unverified HTTPS request")
                response = self._session.post(self.endpoint, data=fields, timeout=self.timeout, verify=self.verify,
                                              headers={"Accept": "application/json"}, allow_redirects=False)
        except requests.exceptions.SSLError as exc:
            raise PlutoError(self.redact(self._tls_text(wsfunction, exc)), wsfunction=wsfunction)
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            kind, text = self._transport_text(wsfunction, exc)
            # Nothing reached the site when the connection itself could not be opened.
            not_sent = kind in ("refused", "unresolved", "connect-timeout")
            raise PlutoError(self.redact(text), wsfunction=wsfunction, transport=True, not_sent=not_sent)
        except requests.exceptions.RequestException as exc:
            raise PlutoError(self.redact("request failed: %s (%s to %s)" % (innermost_reason(exc), wsfunction, self.endpoint)),
                             wsfunction=wsfunction)
        except (IOError, OSError, ValueError) as exc:
            # requests reads ca_path only when it opens a connection: a file that is not a PEM bundle fails here.
            if self.verify not in (True, False):
                raise PlutoError("ca_path %r cannot be used as CA certificates (%s): give a PEM file of the CA certificates "
                                 "to trust" % (self.verify, one_line(exc, 160)), wsfunction=wsfunction)
            raise PlutoError(self.redact("request failed: %s (%s to %s)" % (one_line(exc, 200), wsfunction, self.endpoint)),
                             wsfunction=wsfunction)
        return self._decode(wsfunction, response)

    def _tls_text(self, wsfunction, exc):
        """A TLS failure: a certificate that could not be verified, or no TLS at that address at all."""
        text = str(exc)
        reason = re.search(r"certificate verify failed: ([^'\"()]+)", text)
        if reason:
            return ("certificate not verified: the TLS certificate of %s could not be verified (%s) (%s); for a test site "
                    "set validate_certs: false, for a private CA set ca_path"
                    % (self.endpoint, reason.group(1).strip(), wsfunction))
        if "CERTIFICATE_VERIFY_FAILED" in text or "hostname" in text.lower() and "match" in text.lower():
            return ("certificate not verified: the TLS certificate of %s does not match or cannot be trusted (%s); "
                    "check url's host name; for a test site set validate_certs: false, for a private CA set ca_path"
                    % (self.endpoint, wsfunction))
        return ("no TLS at that address: %s does not answer TLS (https) at that address (%s; %s); it may serve plain "
                "http there: check url's scheme and port" % (self.endpoint, innermost_reason(exc), wsfunction))

    def _transport_text(self, wsfunction, exc):
        """(kind, message): the reason first, then the URL, then what to check; never a library's internals."""
        host = urlsplit(self.endpoint).hostname
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return "connect-timeout", ("timed out: %s could not connect to %s within %s seconds; check url (host and "
                                       "port) and any firewall or proxy between this controller and the site"
                                       % (wsfunction, self.endpoint, self.timeout))
        if isinstance(exc, requests.exceptions.Timeout):
            return "read-timeout", ("timed out: %s got no answer from %s within %s seconds; the site may be busy, or the "
                                    "request larger than it can answer in that time: raise timeout, or check the site"
                                    % (wsfunction, self.endpoint, self.timeout))
        reason = innermost_reason(exc)
        lowered = str(exc).lower() + " " + reason.lower()
        if "refused" in lowered:
            return "refused", ("connection refused: nothing accepts connections at %s (%s); check url (host and port) and "
                               "that the site's web server is running" % (self.endpoint, wsfunction))
        if any(text in lowered for text in NAME_NOT_RESOLVED):
            return "unresolved", ("name not resolved: the host name %s of %s cannot be resolved (%s); check url for a "
                                  "typo, and the controller's DNS" % (host, self.endpoint, wsfunction))
        if any(text in lowered for text in CONNECTION_CLOSED):
            return "closed", ("connection closed: %s closed the connection before answering (%s); the site or a proxy "
                              "in front of it may be restarting or overloaded" % (self.endpoint, wsfunction))
        return "other", "connection failed: %s (%s to %s); check url and the network between this controller and the site" % (
            reason, wsfunction, self.endpoint)

    def _decode(self, wsfunction, response):
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        text = response.text
        if status in RETRY_HTTP_STATUSES:
            raise PlutoError("%s: the site at %s answered HTTP %d (%s), it may be overloaded or down"
                             % (wsfunction, self.endpoint, status, content_type or "no content type"), wsfunction=wsfunction,
                             transport=True)
        if status == 404:
            raise PlutoError("%s: HTTP 404 from %s: there is no web service at that address; check url (the site's base URL)"
                             % (wsfunction, self.endpoint), wsfunction=wsfunction)
        if status in (301, 302, 303, 307, 308):
            raise PlutoError("%s: the site redirected to %s (HTTP %d); check url (https://? the site's own address?)"
                             % (wsfunction, response.headers.get("Location", "?"), status), wsfunction=wsfunction)
        if status != 200:
            raise PlutoError("%s: the site at %s answered HTTP %d (%s); check url and the site's web-service settings"
                             % (wsfunction, self.endpoint, status, content_type or "no content type"), wsfunction=wsfunction)
        stripped = text.lstrip()
        if stripped.startswith("<"):
            raise PlutoError(self.redact(self._markup_text(wsfunction, content_type, stripped)), wsfunction=wsfunction)
        try:
            data = json.loads(text)
        except ValueError:
            raise PlutoError("%s: the site's answer is not JSON (HTTP %d, %s): %s"
                             % (wsfunction, status, content_type or "no content type", self.redact(one_line(text, 120))),
                             wsfunction=wsfunction)
        if isinstance(data, dict) and "exception" in data and "errorcode" in data:
            raise self._site_error(wsfunction, data)
        return data

    def _markup_text(self, wsfunction, content_type, body):
        if body.startswith("<?xml"):
            code = re.search(r"<ERRORCODE>(.*?)</ERRORCODE>", body)
            return ("%s: the site at %s answered XML instead of JSON (HTTP 200, %s)%s; the REST endpoint ignored "
                    "moodlewsrestformat=json: check url and that the REST protocol is enabled"
                    % (wsfunction, self.endpoint, content_type, " with errorcode %s" % code.group(1) if code else ""))
        title = re.search(r"<title[^>]*>(.*?)</title>", body, re.I | re.S)
        title_text = ", title %r" % one_line(title.group(1), 80) if title else ""
        return ("%s: the site at %s answered an HTML page instead of JSON (HTTP 200, %s%s): a login page, a proxy or "
                "maintenance page, or a wrong url" % (wsfunction, self.endpoint, content_type or "no content type", title_text))

    def _site_error(self, wsfunction, data):
        errorcode = str(data.get("errorcode"))
        message = one_line(data.get("message", ""))
        debuginfo = data.get("debuginfo")
        text = "%s failed: %s (errorcode %s)" % (wsfunction, message, errorcode)
        if debuginfo:
            text += ": " + one_line(debuginfo, 240)
        if errorcode == "invalidtoken":
            text += "; check token (it may be wrong, expired or revoked)"
        elif errorcode == "accessexception":
            text += "; " + access_causes(wsfunction)
        elif errorcode == "nopermissions":
            capability = capability_hint(message)
            if capability:
                text += "; the token's user needs the capability %s" % capability
        return PlutoError(self.redact(text), errorcode=errorcode, debuginfo=debuginfo, wsfunction=wsfunction)

    # ---- chunking -----------------------------------------------------------------

    def chunks(self, wsfunction, items, max_items=None, extra_args=None, raw=False):
        """items split as the function table and max_input_vars allow (fields measured per item)."""
        entry = function(wsfunction)
        limits = [n for n in (entry.max_items, max_items) if n]
        return chunk_by_fields(items, self.field_budget(raw, extra_args), min(limits) if limits else None)

    # ---- site info and the functions of the token's service ------------------------------

    def site_info(self):
        if self._site_info is None:
            self._site_info = self.call("core_webservice_get_site_info") or {}
        return self._site_info

    def service_functions(self):
        return set(f.get("name") for f in self.site_info().get("functions") or [])

    def require_functions(self, names):
        """Fail once, naming every function the token's service lacks."""
        try:
            info = self.site_info()
        except PlutoError as error:
            if error.errorcode == "accessexception":
                raise PlutoError("the site refused access to core_webservice_get_site_info, which pluto.lms uses to check "
                                 "the token's service (this task also needs %s); %s%s"
                                 % (", ".join(sorted(names)), access_causes("core_webservice_get_site_info"),
                                    ": " + one_line(error.debuginfo, 240) if error.debuginfo else ""),
                                 errorcode="accessexception", debuginfo=error.debuginfo)
            raise
        missing = sorted(set(names) - self.service_functions())
        if missing:
            raise PlutoError("the token's web service lacks %d function(s) this task needs: %s; add them to the "
                             "service in Site administration > Server > Web services > External services"
                             % (len(missing), ", ".join(missing)), errorcode="accessexception")
        return info

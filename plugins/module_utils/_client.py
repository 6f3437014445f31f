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


def capability_hint(message):
    for text, capability in CAPABILITY_HINTS:
        if text in message:
            return capability
    return None


class PlutoClient(object):
    """A session with one site. Not a module: no Ansible objects in here."""

    def __init__(self, url, token, validate_certs=True, ca_path=None, timeout=30, retries=3,
                 check_mode=False, backoff=0.5, max_fields=None, session=None,
                 max_input_vars=DEFAULT_MAX_INPUT_VARS):
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
                        error.message = "%s (after %d attempts)" % (error.message, attempt)
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
            # The reason ("self-signed certificate", "certificate has expired", ...) sits deep in the exception text.
            reason = re.search(r"certificate verify failed: ([^'\"()]+)", str(exc))
            reason = reason.group(1).strip() if reason else one_line(exc, 160)
            raise PlutoError(self.redact(
                "%s: the TLS certificate of %s could not be verified (%s); for a test site set validate_certs: false, "
                "for a private CA set ca_path" % (wsfunction, self.endpoint, reason)), wsfunction=wsfunction)
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            # Nothing reached the site when the connection itself could not be opened.
            not_sent = isinstance(exc, requests.exceptions.ConnectTimeout) or "refused" in str(exc).lower()
            raise PlutoError(self.redact(self._transport_text(wsfunction, exc)), wsfunction=wsfunction, transport=True,
                             not_sent=not_sent)
        except requests.exceptions.RequestException as exc:
            raise PlutoError(self.redact("%s: request to %s failed: %s" % (wsfunction, self.endpoint, one_line(exc))),
                             wsfunction=wsfunction)
        return self._decode(wsfunction, response)

    def _transport_text(self, wsfunction, exc):
        if isinstance(exc, (requests.exceptions.ReadTimeout,)) or (
                isinstance(exc, requests.exceptions.Timeout) and not isinstance(exc, requests.exceptions.ConnectTimeout)):
            return "%s: no answer from %s within %s seconds" % (wsfunction, self.endpoint, self.timeout)
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return "%s: could not connect to %s within %s seconds" % (wsfunction, self.endpoint, self.timeout)
        reason = one_line(exc, 200)
        if "refused" in str(exc).lower():
            return "%s: could not connect to %s (connection refused): check url" % (wsfunction, self.endpoint)
        return "%s: connection to %s failed: %s" % (wsfunction, self.endpoint, reason)

    def _decode(self, wsfunction, response):
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        text = response.text
        if status in RETRY_HTTP_STATUSES:
            raise PlutoError("%s: the site answered HTTP %d (%s), it may be overloaded or down"
                             % (wsfunction, status, content_type or "no content type"), wsfunction=wsfunction, transport=True)
        if status == 404:
            raise PlutoError("%s: HTTP 404 from %s: there is no web service at that address; check url (the site's base URL)"
                             % (wsfunction, self.endpoint), wsfunction=wsfunction)
        if status in (301, 302, 303, 307, 308):
            raise PlutoError("%s: the site redirected to %s (HTTP %d); check url (https://? the site's own address?)"
                             % (wsfunction, response.headers.get("Location", "?"), status), wsfunction=wsfunction)
        if status != 200:
            raise PlutoError("%s: the site answered HTTP %d (%s); check url and the site's web-service settings"
                             % (wsfunction, status, content_type or "no content type"), wsfunction=wsfunction)
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
            return ("%s: the site answered XML instead of JSON (HTTP 200, %s)%s; the REST endpoint ignored "
                    "moodlewsrestformat=json: check url and that the REST protocol is enabled"
                    % (wsfunction, content_type, " with errorcode %s" % code.group(1) if code else ""))
        title = re.search(r"<title[^>]*>(.*?)</title>", body, re.I | re.S)
        title_text = ", title %r" % one_line(title.group(1), 80) if title else ""
        return ("%s: the site answered an HTML page instead of JSON (HTTP 200, %s%s): a login page, a proxy or "
                "maintenance page, or a wrong url" % (wsfunction, content_type or "no content type", title_text))

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
            text += "; the token's web service must include %s and its user needs webservice/rest:use" % wsfunction
        elif errorcode == "nopermissions":
            capability = capability_hint(message)
            if capability:
                text += "; the token's user needs the capability %s" % capability
        return PlutoError(self.redact(text), errorcode=errorcode, debuginfo=debuginfo, wsfunction=wsfunction)

    # ---- chunked calls -----------------------------------------------------------------

    def chunks(self, wsfunction, items, max_items=None, extra_args=None, raw=False):
        """items split as the function table and max_input_vars allow (fields measured per item)."""
        entry = function(wsfunction)
        limits = [n for n in (entry.max_items, max_items) if n]
        return chunk_by_fields(items, self.field_budget(raw, extra_args), min(limits) if limits else None)

    def call_chunked(self, wsfunction, key, items, max_items=None, extra_args=None, raw=False):
        """Send items in as many requests as the field limit needs; return the answers.

        If chunk k fails after earlier chunks were applied, the PlutoError carries
        result['applied'] (the items already applied) and says which chunk failed.
        """
        chunks = self.chunks(wsfunction, items, max_items, extra_args, raw)
        answers, applied = [], []
        for index, chunk in enumerate(chunks):
            args = dict(extra_args or {})
            args[key] = chunk
            try:
                answers.append(self.call(wsfunction, args, raw=raw, verify_items=chunk))
            except PlutoError as error:
                if index:
                    error.message = "%s (request %d of %d; the %d items of the earlier requests were applied)" % (
                        error.message, index + 1, len(chunks), len(applied))
                error.result.setdefault("applied", applied)
                error.answers = answers
                raise
            if wsfunction not in READ_FUNCTIONS:
                applied.extend(chunk)
        return answers

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
                raise PlutoError("the token's web service lacks core_webservice_get_site_info, which pluto.lms uses to "
                                 "check the service; add it (and %s) to the service" % ", ".join(sorted(names)),
                                 errorcode="accessexception")
            raise
        available = set(f.get("name") for f in info.get("functions") or [])
        missing = sorted(set(names) - available)
        if missing:
            raise PlutoError("the token's web service lacks %d function(s) this task needs: %s; add them to the "
                             "service in Site administration > Server > Web services > External services"
                             % (len(missing), ", ".join(missing)), errorcode="accessexception")
        return info

    # ---- typed calls of the modules not yet written as plans (reads go through SiteReader) ----

    def reader(self):
        from ansible_collections.pluto.lms.plugins.module_utils._reader import SiteReader
        if getattr(self, "_reader", None) is None:
            self._reader = SiteReader(self)
        return self._reader

    def get_cohorts(self, ids=None):
        return self.reader().cohorts(ids)

    def search_cohorts(self, query="", category_id=None, includes="self"):
        return self.reader().search_cohorts(query, category_id, includes)

    def find_cohorts_by_idnumber(self, idnumber):
        return self.reader().cohorts_by_idnumber(idnumber)

    def find_cohort(self, idnumber=None, cohort_id=None):
        return self.reader().find_cohort(idnumber=idnumber, cohort_id=cohort_id)

    def get_cohort_members(self, cohort_ids):
        return self.reader().members(cohort_ids)

    def get_users_by_field(self, field, values):
        return self.reader().users_by_field(field, values)

    def get_categories(self, key=None, value=None):
        return self.reader().categories(key, value)

    def create_cohorts(self, cohorts):
        """Create cohorts (all or nothing per request). A lost answer is checked by reading back."""
        created = []
        for answer in self.call_chunked("core_cohort_create_cohorts", "cohorts", cohorts):
            created.extend(answer or [])
        return created

    def update_cohorts(self, cohorts):
        self.call_chunked("core_cohort_update_cohorts", "cohorts", cohorts)

    def delete_cohorts(self, ids):
        self.call_chunked("core_cohort_delete_cohorts", "cohortids", sorted(set(ids)))

    def add_cohort_members(self, cohort_id, user_ids, batch_size):
        """Add users (by id) to one cohort; return the site's warnings of all requests."""
        items = [{"cohorttype": {"type": "id", "value": int(cohort_id)}, "usertype": {"type": "id", "value": int(u)}}
                 for u in user_ids]
        warnings = []
        for answer in self.call_chunked("core_cohort_add_cohort_members", "members", items, max_items=batch_size):
            warnings.extend((answer or {}).get("warnings") or [])
        return warnings

    def delete_cohort_members(self, cohort_id, user_ids, batch_size):
        items = [{"cohortid": int(cohort_id), "userid": int(u)} for u in user_ids]
        self.call_chunked("core_cohort_delete_cohort_members", "members", items, max_items=batch_size)

    def create_users(self, users):
        created = []
        for answer in self.call_chunked("core_user_create_users", "users", users):
            created.extend(answer or [])
        return created

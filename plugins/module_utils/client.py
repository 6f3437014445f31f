# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one web-service client of pluto.lms.

Everything that talks to a Pluto LMS (Moodle) site goes through PlutoClient.call():
form encoding, chunking under PHP's max_input_vars, retries, and the mapping of every
failure (transport, HTTP, non-JSON answers, the site's error envelope) to PlutoError.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re
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


REST_PATH = "/webservice/rest/server.php"

# PHP keeps only the first max_input_vars (5000 by default) form fields and silently drops
# the rest. Every request stays far below that; the count excludes the 3 leading fields.
MAX_FIELDS_PER_REQUEST = 2000
# Values per core_user_get_users_by_field request (one field each).
USER_LOOKUP_CHUNK = 1000
# Ids per get_cohorts / get_cohort_members / delete_cohorts request.
ID_CHUNK = 1000

READ_FUNCTIONS = frozenset([
    "core_webservice_get_site_info",
    "core_cohort_get_cohorts",
    "core_cohort_search_cohorts",
    "core_cohort_get_cohort_members",
    "core_user_get_users_by_field",
    "core_course_get_categories",
])

# The retry rule, in one place. A request whose answer was lost may still have been applied,
# so it is sent again only when a second delivery cannot apply anything twice:
# - reads;
# - update_cohorts (it sets absolute values);
# - add_cohort_members (a repeat answers warning "3", already a member);
# - delete_cohort_members (removing a non-member is a silent no-op).
# create_cohorts, delete_cohorts and create_users are resent only when the request
# certainly never left (the connection was refused or never opened), or after the client
# has read back that the first delivery did not apply (see create_cohorts/delete_cohorts).
SAFE_TO_RESEND = READ_FUNCTIONS | frozenset([
    "core_cohort_update_cohorts",
    "core_cohort_add_cohort_members",
    "core_cohort_delete_cohort_members",
])

RETRY_HTTP_STATUSES = (502, 503, 504)

# The capability behind each "nopermissions" text Moodle sends for cohort functions.
CAPABILITY_HINTS = (
    ("View site-wide cohorts", "moodle/cohort:view"),
    ("Create, delete and move cohorts", "moodle/cohort:manage"),
    ("Add and remove cohort members", "moodle/cohort:assign"),
)

DESCRIPTION_FORMATS = {"moodle": 0, "html": 1, "plain": 2, "markdown": 4}
DESCRIPTION_FORMAT_NAMES = dict((v, k) for k, v in DESCRIPTION_FORMATS.items())


class PlutoError(Exception):
    """A failure the user should read: one line, never a traceback, never the token.

    errorcode: the site's errorcode when the site answered with an error envelope.
    result: extra keys for the task result (for example what a bulk write applied before it failed).
    answers: after call_chunked failed part-way, the decoded answers of the requests applied before.
    """

    def __init__(self, message, errorcode=None, debuginfo=None, wsfunction=None, result=None, transport=False,
                 not_sent=False):
        super(PlutoError, self).__init__(message)
        self.message = message
        self.errorcode = errorcode
        self.debuginfo = debuginfo
        self.wsfunction = wsfunction
        self.result = dict(result or {})
        self.answers = []
        # True when the request may not have reached the site, or its answer was lost.
        self.transport = transport
        # True when the request certainly never reached the site (safe to send again).
        self.not_sent = not_sent

    def __str__(self):
        return self.message


def one_line(text, limit=300):
    """Collapse whitespace so that a site's text fits in one message line."""
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= limit else text[:limit - 3] + "..."


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
                 check_mode=False, backoff=0.5, max_fields=MAX_FIELDS_PER_REQUEST, session=None):
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
        self.timeout = timeout
        self.retries = int(retries)
        self.check_mode = check_mode
        self.backoff = backoff
        self.max_fields = max_fields
        self.warnings = []
        self.requests_sent = 0
        self.writes_sent = 0
        self._site_info = None
        self._session = session or requests.Session()
        if urlsplit(self.endpoint).scheme == "http" and urlsplit(self.endpoint).hostname not in ("127.0.0.1", "localhost", "::1"):
            self.warnings.append("url uses http://: the token travels unencrypted; use https:// for a real site")

    def close(self):
        self._session.close()

    # ---- the one choke point ---------------------------------------------------------

    def redact(self, text):
        """Mask the token wherever it stands as a word of its own (a short token inside a word is left)."""
        return self._token_pattern.sub("********", str(text))

    def call(self, wsfunction, args=None, raw=False, resend_always=None):
        """Call one web-service function and return its decoded answer (None for `null`)."""
        if self.check_mode and wsfunction not in READ_FUNCTIONS:
            # A bug guard: plans must never reach a write in check mode.
            raise PlutoError("refusing to send %s in check mode" % wsfunction)
        fields = [("wstoken", self._token), ("wsfunction", wsfunction), ("moodlewsrestformat", "json")]
        if raw:
            fields.append(("moodlewssettingraw", "1"))
        fields.extend(encode_args(args))
        resend = wsfunction in SAFE_TO_RESEND if resend_always is None else resend_always
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._post_once(wsfunction, fields)
            except PlutoError as error:
                retryable = error.transport and (resend or error.not_sent)
                if not retryable or attempt == attempts:
                    if error.transport and attempt > 1:
                        error.message = "%s (after %d attempts)" % (error.message, attempt)
                    raise
                time.sleep(min(self.backoff * (2 ** (attempt - 1)), 10))
        raise PlutoError("unreachable")  # pragma: no cover

    def _post_once(self, wsfunction, fields):
        self.requests_sent += 1
        if wsfunction not in READ_FUNCTIONS:
            self.writes_sent += 1
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
        if "refused" in reason.lower():
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

    def call_chunked(self, wsfunction, key, items, max_items=None, extra_args=None, raw=False):
        """Send items in as many requests as the field limit needs; return the answers.

        If chunk k fails after earlier chunks were applied, the PlutoError carries
        result['applied'] (the items already applied) and says which chunk failed.
        """
        chunks = chunk_by_fields(items, self.max_fields, max_items)
        answers, applied = [], []
        for index, chunk in enumerate(chunks):
            args = dict(extra_args or {})
            args[key] = chunk
            try:
                answers.append(self.call(wsfunction, args, raw=raw))
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

    # ---- typed methods: no module logic below --------------------------------------------

    def site_info(self):
        if self._site_info is None:
            self._site_info = self.call("core_webservice_get_site_info") or {}
        return self._site_info

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

    def get_cohorts(self, ids=None):
        """Cohorts with their stored (raw) description and format; all of them when ids is None."""
        if ids is None:
            return self.call("core_cohort_get_cohorts", raw=True) or []
        cohorts = []
        for chunk in chunk_by_fields(sorted(set(ids)), self.max_fields, ID_CHUNK):
            cohorts.extend(self.call("core_cohort_get_cohorts", {"cohortids": chunk}, raw=True) or [])
        return cohorts

    def search_cohorts(self, query="", category_id=None, includes="self"):
        """Every cohort matching query (a case-insensitive substring of name, idnumber or description).

        category_id None searches the system context. Reads to the end (limitnum 0).
        """
        if category_id is None:
            context = {"contextlevel": "system", "instanceid": 0}
        else:
            context = {"contextlevel": "coursecat", "instanceid": int(category_id)}
        answer = self.call("core_cohort_search_cohorts", {
            "query": query, "context": context, "includes": includes, "limitfrom": 0, "limitnum": 0}, raw=True)
        return (answer or {}).get("cohorts") or []

    def find_cohorts_by_idnumber(self, idnumber):
        """All cohorts (any context) whose idnumber is exactly idnumber."""
        return [c for c in self.search_cohorts(idnumber, includes="all") if c.get("idnumber") == idnumber]

    def find_cohort(self, idnumber=None, cohort_id=None):
        """The one cohort with this id (or else idnumber), or None.

        The site's update does not keep idnumbers unique, so duplicates can exist: never
        pick one of them silently.
        """
        if cohort_id is not None:
            found = self.get_cohorts([cohort_id])
            return found[0] if found else None
        matches = self.find_cohorts_by_idnumber(idnumber)
        if len(matches) > 1:
            ids = ", ".join(str(c["id"]) for c in sorted(matches, key=lambda c: c["id"]))
            raise PlutoError("the site holds %d cohorts with idnumber %r (ids %s); give cohort_id, or make the "
                             "idnumbers unique on the site first" % (len(matches), idnumber, ids))
        return matches[0] if matches else None

    def create_cohorts(self, cohorts):
        """Create cohorts (all or nothing per request). A lost answer is checked by reading back."""
        created = []
        for chunk in chunk_by_fields(cohorts, self.max_fields):
            created.extend(self._write_verified(
                "core_cohort_create_cohorts", {"cohorts": chunk},
                lambda chunk=chunk: self._created_if_applied(chunk)))
        return created

    def _created_if_applied(self, chunk):
        found = []
        for item in chunk:
            matches = self.find_cohorts_by_idnumber(item["idnumber"])
            if len(matches) != 1 or matches[0].get("name") != item.get("name"):
                return None
            found.extend(matches)
        return found

    def update_cohorts(self, cohorts):
        self.call_chunked("core_cohort_update_cohorts", "cohorts", cohorts)

    def delete_cohorts(self, ids):
        for chunk in chunk_by_fields(sorted(set(ids)), self.max_fields, ID_CHUNK):
            self._write_verified("core_cohort_delete_cohorts", {"cohortids": chunk},
                                 lambda chunk=chunk: [] if not self.get_cohorts(chunk) else None)

    def _write_verified(self, wsfunction, args, applied_result):
        """Send a write that must not be repeated blindly.

        After a transport failure, applied_result() reads the site back: it returns the
        answer the write would have given if it was applied, or None if it was not, in
        which case the write is sent again (bounded by retries).
        """
        for attempt in range(1, self.retries + 2):
            try:
                return self.call(wsfunction, args)
            except PlutoError as error:
                if not error.transport or attempt > self.retries:
                    raise
                answer = applied_result()
                if answer is not None:
                    return answer
                time.sleep(min(self.backoff * (2 ** (attempt - 1)), 10))
        return None  # pragma: no cover

    def get_cohort_members(self, cohort_ids):
        """{cohort id: set of user ids}. Every id must exist (the site fails the call otherwise)."""
        members = {}
        for chunk in chunk_by_fields(sorted(set(cohort_ids)), self.max_fields, ID_CHUNK):
            for entry in self.call("core_cohort_get_cohort_members", {"cohortids": chunk}) or []:
                members[int(entry["cohortid"])] = set(int(u) for u in entry.get("userids") or [])
        return members

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

    def get_users_by_field(self, field, values):
        """Users whose field is one of values; unknown users are simply absent."""
        users = []
        values = list(values)
        for start in range(0, len(values), USER_LOOKUP_CHUNK):
            chunk = values[start:start + USER_LOOKUP_CHUNK]
            users.extend(self.call("core_user_get_users_by_field", {"field": field, "values": chunk}) or [])
        return users

    def get_categories(self, key=None, value=None):
        """Course categories; with key/value only those matching exactly (no subcategories)."""
        args = {"addsubcategories": 0}
        if key is not None:
            args["criteria"] = [{"key": key, "value": value}]
        categories = self.call("core_course_get_categories", args) or []
        if key is not None:
            categories = [c for c in categories if str(c.get(key)) == str(value)]
        return categories

    def create_users(self, users):
        created = []
        for answer in self.call_chunked("core_user_create_users", "users", users):
            created.extend(answer or [])
        return created

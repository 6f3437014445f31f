# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Listed users: from the values a task lists to the site's users, through a SiteReader.

Used by every module that names users (pluto_cohort_member, pluto_cohorts). The API:

    invalid = []
    keys = normalize_users(values, user_field, invalid)
        # the distinct lookup keys, sorted. PlutoError naming every blank value and every id that
        # is not a positive integer. Values that cannot name a user of any Moodle site
        # (a username breaking Moodle's username rule, an email without the shape of one) go to
        # `invalid` when it is given (the caller applies missing_users to them), else they are an
        # error too.
    resolution = resolve_users(reader, user_field, values, known_ids=())
        # one Resolution (below). known_ids: user ids known to exist (the members of the cohort):
        # with user_field id, listed ids among them need no lookup.
    identity = identify_members(reader, resolution, member_ids)
        # which members the task lists, which it positively does not list, and which cannot be
        # told (see MemberIdentity); may move keys of resolution.missing to resolution.found.
    records, refused = lookup_values(reader, user_field, values, chunk, sentinel, unconfirmed)
        # one bulk lookup: the answers, and the values the site refused (a refused request is split);
        # with a sentinel, the values a cut request may have lost go to `unconfirmed`
    lookup(reader, user_field, values, records=None), match_users(users, user_field, keys),
    names_by_id(reader, user_field, user_ids), sort_names(names), is_deleted(record)
        # smaller helpers (exact matching; no second lookup)

    resolution.found      {key: UserRef} the keys that name exactly one (not deleted) site user
    resolution.ids        {key: user id}
    resolution.missing    [keys] not found (deleted and invalid ones included), sorted
    resolution.invalid    [keys] values no site user can have (never sent, or refused by the site)
    resolution.deleted    [keys] found, but as deleted users (Moodle keeps their rows)
    resolution.ambiguous  {key: [user ids]} keys that name several users
    resolution.relooked   [keys] found only when looked up again in small requests: the site
                          dropped the end of a bigger request (PHP max_input_vars)
    resolution.records    {user id: UserRef} every user record read
    resolution.names()            {user id: key}
    resolution.ambiguity_error()  PlutoError naming every ambiguous key, or None
    resolution.warnings()         texts for the task's warnings (truncation, refused values)
    resolution.rights_hint()      why a lookup may find nobody: the capability it needs

How values are matched (the same result on PostgreSQL and MySQL/MariaDB sites where the site
lets it be): ids exactly; usernames lowercased and exactly; idnumbers exactly, else, when no
user holds the exact value, by how MySQL/MariaDB compare text (_collation.loose_key: those
sites answer with the stored spelling); emails ignoring case (and as MySQL/MariaDB compare
them), so that two users whose emails differ only in case make the listed email ambiguous.

Nothing is concluded from a bulk answer that may be cut: a request of at most RELOOKUP_CHUNK
values is small enough for any site; a bigger one ends with a sentinel (the token's own user),
and when its answer lacks the sentinel, the values at its end that the answer does not cover are
looked up again in small requests (see lookup_values). Emails not found, or found only in
another spelling, are also looked up in lowercase, the way most sites store them.
A request the site refuses (invalidparameter: a value it would clean into another) is split
until the refused values are known. Requests are sized by max_input_vars and sent concurrently,
at most reader.lookup_concurrency at once; writes are never made here.

Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.pluto.lms.plugins.module_utils._collation import loose_key
from ansible_collections.pluto.lms.plugins.module_utils._errors import PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._functions import USER_LOOKUP_CHUNK, argument_field_budget
from ansible_collections.pluto.lms.plugins.module_utils._model import UserRef
from ansible_collections.pluto.lms.plugins.module_utils._reader import bounded_map

GET_USERS_BY_FIELD = "core_user_get_users_by_field"
USER_FIELDS = ("username", "email", "idnumber", "id")

EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+$")
# Moodle's username rule (PARAM_USERNAME without extendedusernamechars): lowercase letters,
# digits and - . _ @. A lookup of any other value is refused whole (invalidparameter).
USERNAME_RULE = re.compile(r"^[-.@_a-z0-9]+$")
ASCII_DIGITS = re.compile(r"^[0-9]+$")
# What Moodle's delete_user() leaves of a user: the username becomes the email plus a timestamp,
# the email becomes an md5 hash.
DELETED_EMAIL = re.compile(r"^[0-9a-f]{32}$")
DELETED_USERNAME = re.compile(r"@.*\.[0-9]{9,}$")
# Values a second, small lookup carries: far below any max_input_vars a site runs.
RELOOKUP_CHUNK = 100
# Values a message shows before "... and N more" (the result keys hold them all).
MESSAGE_NAMES = 10

# The capability a lookup by each field needs to find anyone (Moodle returns a user only when
# the token's user may see the searched field).
LOOKUP_CAPABILITY = {
    "id": "moodle/user:viewdetails",
    "username": "moodle/user:viewalldetails",
    "idnumber": "moodle/user:viewalldetails",
    "email": "moodle/site:viewuseridentity (with email in showuseridentity)",
}
# The capability without which a user record lacks each field.
FIELD_CAPABILITY = {
    "username": "moodle/user:viewalldetails",
    "idnumber": "moodle/user:viewalldetails",
    "email": "moodle/site:viewuseridentity",
}


# ---- values --------------------------------------------------------------------------------

def normalize_users(values, user_field, invalid=None):
    """The distinct lookup keys of the listed values, sorted (see the module's docstring)."""
    keys, blank, bad_ids, bad = [], [], [], []
    for value in values or []:
        text = u"" if value is None else u"%s" % (value,)
        if not text.strip():
            blank.append(text)
            continue
        if user_field == "id":
            key = text.strip()
            if not ASCII_DIGITS.match(key) or int(key) < 1:
                bad_ids.append(text)
                continue
            keys.append(int(key))
        elif user_field == "username":
            key = text.strip().lower()
            (keys if USERNAME_RULE.match(key) else bad).append(key)
        elif user_field == "email":
            key = text.strip()
            (keys if EMAIL_SHAPE.match(key) else bad).append(key)
        else:
            keys.append(text)
    problems = []
    if blank:
        problems.append("%d value(s) that are not a non-empty %s: %s"
                        % (len(blank), user_field, ", ".join(repr(b) for b in blank)))
    if bad_ids:
        problems.append("%d value(s) that are not a positive integer user id: %s"
                        % (len(bad_ids), ", ".join(repr(b) for b in bad_ids)))
    if bad and invalid is None:
        problems.append(invalid_text(bad, user_field))
    if problems:
        raise PlutoError("users holds %s; nothing was sent to the site" % "; and ".join(problems))
    if invalid is not None:
        invalid.extend(_distinct(bad))
    return sort_names(set(keys))


def _distinct(values):
    """values without repeats, in their order."""
    seen = set()
    return [v for v in values if not (v in seen or seen.add(v))]


def invalid_text(values, user_field):
    """The phrase naming values no site user can have, in the order given."""
    values = _distinct(values)
    if user_field == "username":
        why = ("that are not Moodle usernames (lowercase letters, digits and - . _ @ only; the site stores no "
               "other and refuses a lookup of one)")
    else:
        why = "that are not an email address"
    return "%d value(s) %s: %s" % (len(values), why, ", ".join(repr(v) for v in values))


def sort_names(names):
    """Distinct names sorted; ids numerically, before any text."""
    return sorted(set(names), key=lambda n: (0, n, "") if isinstance(n, int) else (1, 0, u"%s" % (n,)))


def shown(names, where, limit=MESSAGE_NAMES):
    """The first limit of names (distinct, sorted) for a message; the result key `where` holds them all."""
    names = sort_names(names)
    text = ", ".join(str(n) for n in names[:limit])
    if len(names) > limit:
        text += " ... and %d more (all in %s)" % (len(names) - limit, where)
    return text


# Why a user the site has may still be "missing": a PostgreSQL site compares these fields exactly as
# stored (a MySQL/MariaDB site ignores case, and for idnumbers accents and trailing spaces too).
EXACT_ON_POSTGRES = {
    "email": "a PostgreSQL site finds an email only as stored, case included (the module also asks for it in "
             "lowercase): if such a user exists, list the email as the site stores it, or the user by username or id",
    "idnumber": "a PostgreSQL site finds an idnumber only as stored (case, accents and spaces count): if such a "
                "user exists, list the idnumber as the site stores it, or the user by username or id",
}


def check_missing(resolution, missing_users, user_field, listed, key, limit=MESSAGE_NAMES):
    """The option missing_users before any write: no warning when no listed user is missing or it is
    ignore; else the warning naming them (warn), or PlutoError (fail) whose result key `key` holds them all.

    listed: how many values the task listed; limit: how many names the message shows.
    """
    missing = resolution.missing
    if not missing or missing_users == "ignore":
        return []
    text = "%d of the %d listed users do not exist on the site (looked up by %s): %s" % (
        len(missing), listed, user_field, shown(missing, key, limit))
    if resolution.deleted:
        text += " (deleted on the site: %s)" % shown(resolution.deleted, key, limit)
    if resolution.invalid:
        text += "; %s" % invalid_text(resolution.invalid, user_field)
    if not resolution.found:
        text += "; " + resolution.rights_hint()
    if user_field in EXACT_ON_POSTGRES:
        text += "; " + EXACT_ON_POSTGRES[user_field]
    if missing_users == "fail":
        raise PlutoError(text + "; nothing was changed (missing_users: warn or ignore goes on without them)",
                         result={key: missing})
    return [text]


def is_deleted(record):
    """True for a user record of a deleted user (Moodle keeps the row, scrambled)."""
    if record.get("deleted"):
        return True
    email, username = record.get("email"), record.get("username")
    return bool(email and username and DELETED_EMAIL.match(str(email)) and DELETED_USERNAME.search(str(username)))


# ---- the result ----------------------------------------------------------------------------

class Resolution(object):
    """What the site answered for the listed users, in the task's own terms (its keys)."""

    def __init__(self, user_field, keys):
        self.user_field = user_field
        self.keys = list(keys)
        self.found = {}
        self.ambiguous = {}
        self.invalid = []
        self.refused = []
        self.deleted = []
        self.relooked = []
        # The sentinel value of each field (see lookup_values), read at most once.
        self.sentinels = {}
        # Every record read, by user id (UserRef), members' included.
        self.records = {}

    @property
    def ids(self):
        return dict((key, user.id) for key, user in self.found.items())

    @property
    def missing(self):
        return sort_names(k for k in self.keys + self.invalid if k not in self.found and k not in self.ambiguous)

    def names(self):
        """{user id: the key that named it}; a user named twice (two spellings of an email) keeps the first."""
        names = {}
        for key in sort_names(self.found):
            names.setdefault(self.found[key].id, key)
        return names

    def ambiguity_error(self):
        """PlutoError naming every key that matches several users; None when there is none."""
        if not self.ambiguous:
            return None
        text = ["%s (user ids %s)" % (key, ", ".join(str(i) for i in ids)) for key, ids in sorted(self.ambiguous.items())]
        why = " (Moodle compares emails ignoring case)" if self.user_field == "email" else ""
        more = " ... and %d more (all in ambiguous)" % (len(text) - MESSAGE_NAMES) if len(text) > MESSAGE_NAMES else ""
        return PlutoError("%d listed %s value(s) match more than one site user%s, so the member cannot be chosen: %s%s; "
                          "list those users by username or id instead; nothing was changed"
                          % (len(text), self.user_field, why, "; ".join(text[:MESSAGE_NAMES]), more),
                          result={"ambiguous": text})

    def rights_hint(self):
        """Why a lookup by this field may find nobody who exists."""
        return ("if they do exist, the token's user may not see users by %s: a lookup by %s needs %s, and the site "
                "answers one it may not make with no users at all"
                % (self.user_field, self.user_field, LOOKUP_CAPABILITY[self.user_field]))

    def warnings(self):
        texts = []
        if self.relooked:
            texts.append(truncation_warning(len(self.relooked)))
        if self.refused:
            texts.append("the site refused a lookup of %s; they are taken as missing users" % invalid_text(
                self.refused, self.user_field))
        return texts


def truncation_warning(count):
    return ("the site's answer to a lookup lacked %d listed users that smaller requests then found: the site keeps "
            "only the first max_input_vars form fields of a request (PHP's max_input_vars, below what the request "
            "needed) and silently drops the rest; set the option max_input_vars to the site's value (then every "
            "request fits), or raise max_input_vars in the site's PHP settings (Moodle recommends 5000)" % count)


# ---- lookups -------------------------------------------------------------------------------

def _request_size(reader, cap, extra=0):
    """Values one lookup request carries: cap, and what max_input_vars leaves besides `field` (and extra values)."""
    return max(1, min(cap, argument_field_budget(reader.max_input_vars) - 1 - extra))


def lookup_values(reader, user_field, values, chunk=USER_LOOKUP_CHUNK, sentinel=None, unconfirmed=None):
    """(records, refused): the site's users whose user_field is one of values, and the values the
    site refused. One request per `chunk` values (fewer when max_input_vars says so), sent
    concurrently; a refused request is split in halves until each refused value stands alone.

    A site whose PHP max_input_vars is too low keeps the start of a request and silently drops the
    rest. A request of more than RELOOKUP_CHUNK values therefore ends with `sentinel`, a value
    known to name a user the token sees (its own): when the answer holds that user, the request
    arrived whole. When it does not (no sentinel, or the request was cut), the values at the end of
    the request that no user of the answer answers to are appended to `unconfirmed` (a list): the
    caller looks them up again in small requests."""
    values = list(values)
    if not values:
        return [], []
    size = _request_size(reader, chunk)
    if size > RELOOKUP_CHUNK and sentinel is not None:
        size = _request_size(reader, chunk, extra=1)  # room for the sentinel
    groups = [values[start:start + size] for start in range(0, len(values), size)]

    def one(group):
        sent = list(group)
        checked = len(group) > RELOOKUP_CHUNK
        if checked and sentinel is not None:
            sent = [v for v in group if v != sentinel] + [sentinel]
        try:
            users = reader.read(GET_USERS_BY_FIELD, {"field": user_field, "values": sent}) or []
        except PlutoError as error:
            if error.errorcode != "invalidparameter":
                raise
            if len(group) == 1:
                return [], list(group), []
            half = len(group) // 2
            first, second = one(group[:half]), one(group[half:])
            return first[0] + second[0], first[1] + second[1], first[2] + second[2]
        tail = []
        if checked and not (sentinel is not None and any(_value(u, user_field) == sentinel for u in users)):
            index = _Index(user_field, users)
            for value in reversed(group):
                candidates, gone, _exact = index.candidates(value)
                if candidates or gone:
                    break
                tail.append(value)
        return users, [], tail

    records, refused = [], []
    for found, bad, tail in bounded_map(one, groups, int(getattr(reader, "lookup_concurrency", 1) or 1)):
        records.extend(found)
        refused.extend(bad)
        if unconfirmed is not None:
            unconfirmed.extend(tail)
    return records, refused


def sentinel_value(reader, user_field):
    """The token's own user's user_field value (a user the site always shows it), or None.

    username and id come with the site info; an email or idnumber takes one lookup by id."""
    info = reader.site_info() or {}
    userid = info.get("userid")
    if user_field == "username":
        username = info.get("username")
        return username if username and USERNAME_RULE.match(username) else None
    if not userid:
        return None
    if user_field == "id":
        return int(userid)
    users = reader.read(GET_USERS_BY_FIELD, {"field": "id", "values": [int(userid)]}) or []
    value = users[0].get(user_field) if users else None
    if not value or (user_field == "email" and not EMAIL_SHAPE.match(value)):
        return None
    return value


def _checked_lookup(reader, resolution, user_field, values):
    """lookup_values of a bulk lookup, with the sentinel (read once per field) when a request can be cut;
    returns (records, refused, unconfirmed values)."""
    unconfirmed = []
    sentinel = None
    if len(values) > RELOOKUP_CHUNK and _request_size(reader, USER_LOOKUP_CHUNK) > RELOOKUP_CHUNK:
        if user_field not in resolution.sentinels:
            resolution.sentinels[user_field] = sentinel_value(reader, user_field)
        sentinel = resolution.sentinels[user_field]
    users, refused = lookup_values(reader, user_field, values, sentinel=sentinel, unconfirmed=unconfirmed)
    if not [u for u in users if _value(u, user_field) != sentinel]:
        # A site that answers no user at all does not show a cut: the token may not see users (the
        # caller says so), and asking again would find no one either.
        unconfirmed = []
    return users, refused, unconfirmed


class _Index(object):
    """The users of some answers, by exact value and by loose value (emails, idnumbers)."""

    def __init__(self, field, users):
        self.field = field
        self.exact, self.loose, self.gone_exact, self.gone_loose = {}, {}, {}, {}
        for user in users:
            value = _value(user, field)
            if value is None or value == "":
                continue
            exact, loose = (self.gone_exact, self.gone_loose) if is_deleted(user) else (self.exact, self.loose)
            exact.setdefault(value, set()).add(int(user["id"]))
            if field in ("email", "idnumber"):
                loose.setdefault(loose_key(value), set()).add(int(user["id"]))

    def candidates(self, key):
        """The (not deleted) user ids key names; and whether a deleted user answers to it."""
        exact = self.exact.get(key, set())
        loose = self.loose.get(loose_key(key), set()) if self.field in ("email", "idnumber") else set()
        if self.field == "email":
            found = exact | loose
        else:
            found = exact or loose
        gone = bool(self.gone_exact.get(key)) or (
            self.field in ("email", "idnumber") and bool(self.gone_loose.get(loose_key(key))))
        return set(found), gone, bool(exact)


def lookup(reader, user_field, values, records=None):
    """The site's users whose user_field is one of values (refused values are simply absent); records,
    when given, collects them as {user id: UserRef}."""
    users = lookup_values(reader, user_field, values)[0]
    if records is not None:
        records.update((int(u["id"]), UserRef.from_site(u)) for u in users)
    return users


def match_users(users, user_field, keys):
    """{key: sorted user ids whose user_field equals it exactly} for the keys among users."""
    wanted = set(keys)
    found = {}
    for user in users:
        value = _value(user, user_field)
        if value in wanted:
            found.setdefault(value, set()).add(int(user["id"]))
    return dict((key, sorted(ids)) for key, ids in found.items())


def _match(resolution, keys, users):
    """Map answers back to keys; return (keys not found, keys found by another spelling only).

    Deleted and ambiguous keys are neither."""
    index = _Index(resolution.user_field, users)
    unfound, inexact = [], []
    for key in keys:
        resolution.found.pop(key, None)
        resolution.ambiguous.pop(key, None)
        if key in resolution.deleted:
            resolution.deleted.remove(key)
        candidates, gone, exact = index.candidates(key)
        if len(candidates) > 1:
            resolution.ambiguous[key] = sorted(candidates)
        elif candidates:
            resolution.found[key] = resolution.records[candidates.pop()]
            if not exact:
                inexact.append(key)
        elif gone:
            resolution.deleted.append(key)
        else:
            unfound.append(key)
    return unfound, inexact


def _value(user, field):
    value = user.get(field)
    if field == "id" and value is not None:
        return int(value)
    return value


def resolve_users(reader, user_field, values, known_ids=()):
    """The Resolution of the listed values (normalised first: see normalize_users; invalid values are
    missing, never sent)."""
    invalid = []
    keys = normalize_users(values, user_field, invalid)
    resolution = Resolution(user_field, keys)
    resolution.invalid = invalid
    known = set(int(i) for i in known_ids or ())
    pending = list(keys)
    if user_field == "id" and known:
        for key in keys:
            if key in known:
                resolution.found[key] = UserRef(key, None, None, None)
        pending = [key for key in keys if key not in known]
    if not pending:
        return resolution
    users, refused, unconfirmed = _checked_lookup(reader, resolution, user_field, pending)
    _remember(resolution, users)
    checked = [k for k in pending if k not in refused]
    unfound, inexact = _match(resolution, checked, users)
    unconfirmed = set(unconfirmed)
    # Never conclude from one bulk answer: values a request may have lost are asked again in small requests.
    again = [k for k in unfound if k in unconfirmed]
    if user_field == "email":
        # Most sites store emails in lowercase; and an email matched only in another spelling may have
        # a twin in lowercase that a PostgreSQL site shows only when asked.
        again.extend(sorted(set(k.lower() for k in unfound + inexact) - set(pending)))
    if again:
        more, more_refused = lookup_values(reader, user_field, again, chunk=RELOOKUP_CHUNK)
        _remember(resolution, more)
        recheck = unfound + inexact
        still = _match(resolution, recheck, users + more)[0]
        relooked = set(_value(u, user_field) for u in more)
        resolution.relooked = sort_names(k for k in unfound if k not in still and k in relooked)
        refused = list(refused) + [v for v in more_refused if v in unfound]
    resolution.refused = sort_names(set(refused))
    resolution.invalid = _distinct(list(resolution.invalid) + list(resolution.refused))
    resolution.keys = [k for k in resolution.keys if k not in resolution.refused]
    return resolution


def _remember(resolution, users):
    for user in users:
        if not is_deleted(user):
            resolution.records[int(user["id"])] = UserRef.from_site(user)


# ---- members -------------------------------------------------------------------------------

class MemberIdentity(object):
    """The members of a cohort seen against a Resolution.

    listed: member ids the task lists (found by the lookup, or a member whose value answers to a
    listed value the lookup did not find: an email in another case, an idnumber in another
    spelling); unlisted: member ids positively not listed (their value was read and answers to no
    listed value); unknown: member ids whose value could not be read (the token's user lacks a
    capability, or the site did not answer for them): a sync keeps them. names: {member id: its
    value} for reporting."""

    def __init__(self):
        self.listed = set()
        self.unlisted = set()
        self.unknown = set()
        self.names = {}
        self.lacking = None

    def warnings(self, user_field):
        if not self.unknown:
            return []
        shown = ", ".join("id=%d" % i for i in sorted(self.unknown)[:100])
        more = " ... and %d more" % (len(self.unknown) - 100) if len(self.unknown) > 100 else ""
        why = ("the site answered for them without their %s: the token's user lacks %s"
               % (user_field, FIELD_CAPABILITY.get(user_field)) if self.lacking else
               "the site did not answer for them (the token's user may lack moodle/user:viewdetails)")
        return ["%d members could not be identified by %s, so they are kept: %s; %s%s"
                % (len(self.unknown), user_field, why, shown, more)]


def identify_members(reader, resolution, member_ids):
    """The MemberIdentity of member_ids (a lookup by id of the members not already known; with
    user_field id none: an id is its own identity)."""
    field = resolution.user_field
    identity = MemberIdentity()
    members = set(int(m) for m in member_ids)
    found_ids = set(resolution.ids.values())
    identity.listed = members & found_ids
    others = members - found_ids
    if field == "id":
        listed = set(resolution.keys) | set(resolution.invalid)
        identity.listed |= others & listed
        identity.unlisted = others - listed
        identity.names = dict((m, m) for m in members)
        return identity
    to_read = sorted(m for m in others if m not in resolution.records)
    if to_read:
        users, _refused, unconfirmed = _checked_lookup(reader, resolution, "id", to_read)
        unanswered = set(unconfirmed) - set(int(u["id"]) for u in users)
        if unanswered:
            more = lookup_values(reader, "id", sorted(unanswered), chunk=RELOOKUP_CHUNK)[0]
            users = users + more
        _remember(resolution, users)
    unfound = set(k for k in resolution.missing if k not in resolution.invalid)
    exact_keys = set(resolution.keys)
    loose_keys = {}
    if field in ("email", "idnumber"):
        for key in resolution.keys:
            loose_keys.setdefault(loose_key(key), []).append(key)
    by_key = {}
    for member in sorted(others):
        record = resolution.records.get(member)
        value = record.field(field) if record is not None else None
        if value is None and field == "idnumber" and record is not None and record.username is not None:
            # A token that sees usernames sees idnumbers too: this member has none.
            value = ""
        if value is None:
            identity.unknown.add(member)
            if record is not None:
                identity.lacking = True
            continue
        if value != "":
            identity.names[member] = value
        matches = set([value]) & exact_keys if value != "" else set()
        if value != "" and field in ("email", "idnumber"):
            matches.update(loose_keys.get(loose_key(value), []))
        matches = sort_names(matches)
        taken = [k for k in matches if k in resolution.found]
        if field == "email" and taken:
            # Two users whose emails differ only in case: the listed email is ambiguous.
            for key in taken:
                resolution.ambiguous[key] = sorted(set([resolution.found.pop(key).id, member]))
            continue
        waiting = [k for k in matches if k in unfound]
        if waiting:
            for key in waiting:
                by_key.setdefault(key, []).append(member)
            continue
        identity.unlisted.add(member)
    for key, owners in by_key.items():
        if len(owners) > 1:
            resolution.ambiguous[key] = sorted(owners)
            identity.unknown.update(owners)
        else:
            resolution.found[key] = resolution.records[owners[0]]
            identity.listed.add(owners[0])
    return identity


def names_by_id(reader, user_field, user_ids):
    """{user id: its user_field value} for users the task did not list (a lookup by id; none for id)."""
    if user_field == "id" or not user_ids:
        return {}
    users = lookup_values(reader, "id", sorted(user_ids))[0]
    return dict((int(u["id"]), u[user_field]) for u in users if u.get(user_field))

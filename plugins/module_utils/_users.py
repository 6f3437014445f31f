# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Listed users: from the values a task lists to the site's users, through a SiteReader.

    keys = normalize_users(values, user_field)        # PlutoError naming every bad value
    resolution = resolve_users(reader, user_field, values)
    resolution.found      # {key: UserRef} for the keys that name exactly one user
    resolution.missing    # [keys] the site did not find
    resolution.ambiguous  # {key: [user ids]} for keys that name several users
    resolution.ids        # {key: user id}

Lookups are bulk (chunked as max_input_vars allows, and sent concurrently by the reader).

Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.pluto.lms.plugins.module_utils._errors import PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._model import UserRef

EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+$")


class Resolution(object):
    """What the site answered for the listed users, in the task's own terms (its keys)."""

    def __init__(self, user_field, keys, found, missing, ambiguous):
        self.user_field = user_field
        self.keys = list(keys)
        self.found = dict(found)
        self.missing = list(missing)
        self.ambiguous = dict(ambiguous)

    @property
    def ids(self):
        return dict((key, user.id) for key, user in self.found.items())

    def ambiguity_error(self):
        """PlutoError naming every key that matches several users; None when there is none."""
        if not self.ambiguous:
            return None
        text = ["%s (user ids %s)" % (key, ", ".join(str(i) for i in ids)) for key, ids in sorted(self.ambiguous.items())]
        return PlutoError("%d listed %s value(s) match more than one site user, so the member cannot be chosen: %s; "
                          "list those users by username or id instead; nothing was changed"
                          % (len(text), self.user_field, "; ".join(text)))


def normalize_users(values, user_field):
    """The distinct lookup keys of the listed users, or PlutoError naming every bad value.

    usernames: stripped and lowercased (the site stores them lowercase and rejects capitals in a
    lookup); emails: stripped, kept as given (see resolve_users); idnumbers: verbatim; ids:
    positive integers.
    """
    keys, bad = [], []
    for value in values or []:
        text = "" if value is None else str(value)
        if user_field == "idnumber":
            key = text
        elif user_field == "username":
            key = text.strip().lower()
        else:
            key = text.strip()
        if user_field == "id":
            if not key.isdigit() or int(key) < 1:
                bad.append(text)
                continue
            key = int(key)
        elif user_field == "email" and not EMAIL_SHAPE.match(key):
            bad.append(text)
            continue
        elif key == "":
            bad.append(text)
            continue
        keys.append(key)
    if bad:
        what = {"id": "a positive integer user id", "email": "an email address"}.get(user_field, "a non-empty " + user_field)
        raise PlutoError("users holds %d value(s) that are not %s: %s; nothing was sent to the site"
                         % (len(bad), what, ", ".join(repr(b) for b in bad)))
    return sort_names(set(keys))


def resolve_users(reader, user_field, values):
    """The Resolution of the listed values (normalised first: PlutoError naming every bad value).

    Emails are matched as the site stores them (case-sensitively); the emails not found as given
    that hold capitals are looked up once more in lowercase, all of them in one more bulk pass.
    """
    keys = normalize_users(values, user_field)
    records = {}
    found = match_users(lookup(reader, user_field, keys, records), user_field, keys)
    if user_field == "email":
        retry = {}
        for key in keys:
            if key not in found and key.lower() != key:
                retry.setdefault(key.lower(), []).append(key)
        if retry:
            lowered = sorted(retry)
            for lower, ids in match_users(lookup(reader, "email", lowered, records), "email", lowered).items():
                for key in retry[lower]:
                    found[key] = ids
    ambiguous = dict((key, ids) for key, ids in found.items() if len(ids) > 1)
    users = dict((key, records[ids[0]]) for key, ids in found.items() if len(ids) == 1)
    return Resolution(user_field, keys, users, [key for key in keys if key not in found], ambiguous)


def lookup(reader, user_field, values, records=None):
    """The site's users whose user_field is one of values (bulk, chunked, concurrent); records, when
    given, collects them as {user id: UserRef}."""
    if not values:
        return []
    try:
        users = reader.users_by_field(user_field, values)
        if records is not None:
            records.update((int(u["id"]), UserRef.from_site(u)) for u in users)
        return users
    except PlutoError as error:
        if error.errorcode == "invalidparameter":
            error.message += ("; the site refused one of the listed %s values in a lookup (a value it would clean to "
                              "something else, such as a character a %s cannot hold)" % (user_field, user_field))
        raise


def match_users(users, user_field, keys):
    """{key: sorted user ids whose field equals it exactly} for the keys among the answer."""
    wanted = set(keys)
    found = {}
    for user in users:
        value = user.get(user_field)
        if user_field == "id":
            value = int(value)
        if value in wanted:
            found.setdefault(value, set()).add(int(user["id"]))
    return dict((key, sorted(ids)) for key, ids in found.items())


def names_by_id(reader, user_field, user_ids):
    """{user id: its user_field value} for members about to be removed that the task did not list."""
    if user_field == "id" or not user_ids:
        return {}
    names = {}
    for user in lookup(reader, "id", sorted(user_ids)):
        if user.get(user_field):
            names[int(user["id"])] = user[user_field]
    return names


def sort_names(names):
    """Distinct names sorted; ids numerically, before any text."""
    return sorted(set(names), key=lambda n: (0, n, "") if isinstance(n, int) else (1, 0, str(n)))

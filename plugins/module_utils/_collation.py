# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the two kinds of Moodle database compare text, for the checks made before a write.

PostgreSQL sites compare idnumbers, usernames and emails exactly. MySQL and MariaDB sites
(utf8mb4_unicode_ci, what Moodle's installer creates) compare them ignoring case, accents and
trailing spaces, with "ß" equal to "ss" and every emoji equal to every other emoji, in the
create's uniqueness check, in member adds by idnumber or username, and in user lookups by
email or idnumber; their cohort search stays accent- and emoji-sensitive. The collection does
not know which kind a site runs, so it treats two values as clashing when either kind would.

Private to pluto.lms: not a public API.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import unicodedata

# utf8mb4_unicode_ci is built on UCA 4.0, which gives every character outside the Basic
# Multilingual Plane the same weight: one stand-in for all of them.
_SUPPLEMENTARY = u"\U000FFFFD"


def loose_key(text):
    """The value MySQL/MariaDB's utf8mb4_unicode_ci would compare text as.

    Trailing spaces are dropped (the collation pads), leading ones kept; case folded ("ß" becomes
    "ss"); accents dropped; every supplementary-plane character (emoji) made one and the same.
    """
    text = u"%s" % (text,)
    folded = unicodedata.normalize("NFKD", text.rstrip(u" ").casefold())
    return u"".join(_SUPPLEMENTARY if ord(char) > 0xFFFF else char
                    for char in folded if not unicodedata.combining(char))


def same_loosely(first, second):
    """True when a MySQL/MariaDB site would take the two values as equal."""
    return loose_key(first) == loose_key(second)


def loose_clashes(value, others):
    """The values among others that differ from value but that a MySQL/MariaDB site takes as equal to it."""
    key = loose_key(value)
    return [other for other in others if other != value and loose_key(other) == key]

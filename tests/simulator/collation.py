"""How the simulated site's database compares text, per database kind.

PostgreSQL (Moodle's default ``C.UTF-8`` database collation) compares text exactly.
MariaDB, as Moodle's installer creates it, stores every text column as ``utf8mb4_unicode_ci``:
an ``=`` or ``IN`` ignores case, accents and trailing spaces, expands ``ß`` to ``ss``, and
weighs every character outside the Basic Multilingual Plane (all emoji) the same, so any
emoji equals any other. Leading spaces count. :func:`mariadb_key` is the one place that
rule lives: two strings are equal under ``utf8mb4_unicode_ci`` when their keys are equal.

Search (``LIKE``) is not a collation comparison on either database: Moodle lower-cases both
sides and compares them binary, so it stays accent- and emoji-sensitive (see ``search_cohorts``).
"""

from __future__ import annotations

import unicodedata

POSTGRES = 'postgres'
MARIADB = 'mariadb'
DB_KINDS = (POSTGRES, MARIADB)

# UCA 4.0 (the base of utf8mb4_unicode_ci) gives every supplementary character one weight.
_SUPPLEMENTARY_WEIGHT = '\ufffd'


def _strip_marks(text):
    return ''.join(char for char in unicodedata.normalize('NFKD', text) if not unicodedata.combining(char))


def mariadb_key(value):
    """The comparison key of ``value`` under MariaDB's ``utf8mb4_unicode_ci`` (None stays None)."""
    if value is None:
        return None
    text = str(value).rstrip(' ')
    text = _strip_marks(text).casefold()
    text = _strip_marks(text)
    return ''.join(_SUPPLEMENTARY_WEIGHT if ord(char) > 0xFFFF else char for char in text)


def exact_key(value):
    """PostgreSQL with the C collation: the text itself."""
    return None if value is None else str(value)


def key_function(db):
    """The comparison key function of a database kind."""
    if db == MARIADB:
        return mariadb_key
    if db == POSTGRES:
        return exact_key
    raise ValueError('unknown database kind %r (kinds: %s)' % (db, ', '.join(DB_KINDS)))

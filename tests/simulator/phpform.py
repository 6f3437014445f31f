"""PHP request-variable parsing: what $_GET and $_POST look like to the site.

Form fields such as ``members[0][usertype][value]=janedoe`` become nested ordered
arrays exactly as PHP builds them (numeric-string keys become integers, ``[]``
appends, later fields overwrite earlier ones), and ``max_input_vars`` is applied the
way PHP applies it: the query string keeps its first N fields, a form body its
first N + 1; the rest is dropped without a word.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

PHP_INT_MAX = 2 ** 63 - 1
PHP_INT_MIN = -2 ** 63
_NUMERIC_KEY = re.compile(r'(?:0|-?[1-9][0-9]*)')


class PHPArray(dict):
    """An ordered PHP array: integer or string keys, and PHP's next free integer index."""

    __slots__ = ('next_free',)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.next_free = 0
        for key in self:
            if isinstance(key, int) and key >= self.next_free:
                self.next_free = key + 1

    def put(self, key, value):
        """Set ``key``, keeping the next free index as PHP does."""
        if isinstance(key, int) and key >= self.next_free:
            self.next_free = key + 1
        self[key] = value

    def append(self, value):
        """PHP ``$a[] = value``."""
        self.put(self.next_free, value)


def array_key(name):
    """PHP's key normalisation: canonical integer strings become integers."""
    if isinstance(name, str) and _NUMERIC_KEY.fullmatch(name):
        number = int(name)
        if PHP_INT_MIN <= number <= PHP_INT_MAX:
            return number
    return name


def _decode(raw):
    return unquote_to_bytes(raw.replace(b'+', b' ')).decode('utf-8', 'replace')


def split_pairs(data):
    """Split an ``application/x-www-form-urlencoded`` string or bytes into ``(name, value)`` pairs."""
    if isinstance(data, str):
        data = data.encode('utf-8')
    pairs = []
    for piece in data.split(b'&'):
        if not piece:
            continue
        name, _sep, value = piece.partition(b'=')
        pairs.append((_decode(name), _decode(value)))
    return pairs


def _parse_name(name):
    """Return ``(base, [index or None, ...])`` for a PHP variable name, or None to ignore it."""
    name = name.lstrip(' ')
    bracket = name.find('[')
    base = name if bracket < 0 else name[:bracket]
    base = base.replace(' ', '_').replace('.', '_')
    if not base:
        return None
    if bracket < 0:
        return base, []
    indexes = []
    pos = bracket
    while True:
        close = name.find(']', pos + 1)
        if close < 0:
            if not indexes:
                rest = name[pos + 1:]
                for char in ' .[':
                    rest = rest.replace(char, '_')
                return base + '_' + rest, []
            break
        index = name[pos + 1:close]
        indexes.append(index if index != '' else None)
        pos = close + 1
        if pos < len(name) and name[pos] == '[':
            continue
        break
    return base, indexes


def register(target, name, value):
    """Store one field into ``target`` (a PHPArray) the way PHP registers a request variable."""
    parsed = _parse_name(name)
    if parsed is None:
        return
    base, indexes = parsed
    current = target
    key = array_key(base)
    for index in indexes:
        child = current.get(key)
        if not isinstance(child, PHPArray):
            child = PHPArray()
            current.put(key, child)
        current = child
        key = current.next_free if index is None else array_key(index)
    current.put(key, value)


def build(pairs):
    """Build the PHP superglobal array for already-truncated pairs."""
    result = PHPArray()
    for name, value in pairs:
        register(result, name, value)
    return result


def truncate_query(pairs, max_input_vars):
    """The query string keeps its first ``max_input_vars`` fields (fields without a name do not count)."""
    kept = []
    count = 0
    for name, value in pairs:
        if name.lstrip(' ') == '':
            continue
        count += 1
        if count > max_input_vars:
            break
        kept.append((name, value))
    return kept


def truncate_body(pairs, max_input_vars):
    """A form body keeps its first ``max_input_vars + 1`` fields; PHP stops after the one that overflows."""
    return list(pairs[:max_input_vars + 1])


def array_merge(first, second):
    """PHP array_merge(): string keys of the second win, integer keys are renumbered."""
    result = PHPArray()
    for source in (first, second):
        for key, value in source.items():
            if isinstance(key, int):
                result.append(value)
            else:
                result.put(key, value)
    return result


def to_python(value):
    """Plain dict/str copy of a PHPArray tree (for tests and debugging)."""
    if isinstance(value, dict):
        return {key: to_python(item) for key, item in value.items()}
    return value

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Diffs a person reads at a glance.

Ansible's callbacks print a diff whose before/after are strings as a unified diff of their
lines, headed by before_header/after_header. Rendering a record as short `key: value` lines
(YAML-like) gives one changed line per changed field, under a header that names the record;
a dict would be printed as sorted, quoted JSON instead.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

# A string printed without quotes: starts with a letter or digit and holds no character that
# could make two different values print alike or read as something else (a number, a bool).
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.,/()@+'-]*\Z")
_NOT_PLAIN_WORDS = frozenset(["true", "false", "null", "yes", "no", "on", "off", "~"])
_NUMBER = re.compile(r"^[-+]?[0-9][0-9_.eE+-]*\Z")


def render_scalar(value):
    """One value as it reads in a line; distinct values always render differently."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    plain = _PLAIN.match(text) and not text.endswith(" ") and not _NUMBER.match(text)
    if plain and text.lower() not in _NOT_PLAIN_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def first_lines(values, limit, line, more):
    """line(value) for the first limit values, then more.format(how many were left out) when any were:
    a long list reads at a glance in a diff, its count says the rest."""
    lines = [line(value) for value in values[:limit]]
    if len(values) > limit:
        lines.append(more.format(len(values) - limit))
    return lines


def _block_lines(text):
    """Multi-line text as an indented block (`|-`), or None when a block could not show it exactly."""
    lines = text.split("\n")
    if text.endswith("\n") or any(line != line.rstrip() for line in lines) or lines[0] != lines[0].lstrip():
        return None
    return ["  " + line if line else "" for line in lines]


def render_fields(fields):
    """A list of (key, value) pairs as `key: value` lines; dict values become indented sub-keys.

    Returns "" for no fields (what the callback shows as an empty side: created or deleted).
    """
    lines = []
    for key, value in fields:
        if isinstance(value, dict):
            if not value:
                lines.append("%s: {}" % key)
                continue
            lines.append("%s:" % key)
            for sub_key in sorted(value):
                lines.append("  %s: %s" % (render_scalar(sub_key), render_scalar(value[sub_key])))
        elif isinstance(value, str) and "\n" in value and _block_lines(value) is not None:
            lines.append("%s: |-" % key)
            lines.extend(_block_lines(value))
        else:
            lines.append("%s: %s" % (key, render_scalar(value)))
    return "".join(line + "\n" for line in lines)


def text_diff(before_fields, after_fields, before_header, after_header):
    """The diff dict of a task result: before/after as lines, each side with its header."""
    return {
        "before": render_fields(before_fields),
        "after": render_fields(after_fields),
        "before_header": before_header,
        "after_header": after_header,
    }

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare the results parity.yml registered through the action plugin and through the module process.

    python parity.py ACTION.json MODULE_PROCESS.json

Every key of every result must be equal, but for `invocation`: Ansible's own record of a task's arguments, which
ansible-core 2.21 no longer keeps in a module process's registered result.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re
import sys

# Ansible lists the valid booleans from a set, in an order that changes from process to process.
BOOLEANS = re.compile(r"(Valid booleans include: )(.*)$")


def normalized(value):
    if isinstance(value, dict):
        return dict((k, normalized(v)) for k, v in value.items())
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, str):
        return BOOLEANS.sub(lambda m: m.group(1) + ", ".join(sorted(m.group(2).split(", "))), value)
    return value


def differences(left, right, path="result"):
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted((set(left) | set(right)) - set(["invocation"])):
            if key not in left or key not in right:
                yield "%s.%s: only in %s" % (path, key, "the action plugin's" if key in left else "the module process's")
            else:
                yield from differences(left[key], right[key], "%s.%s" % (path, key))
    elif left != right:
        yield "%s: %r (action plugin) != %r (module process)" % (path, left, right)


def main(action_file, process_file):
    with open(action_file) as handle:
        action = json.load(handle)
    with open(process_file) as handle:
        process = json.load(handle)
    found = list(differences(normalized(action), normalized(process)))
    for line in found:
        print(line)
    print("%d results compared, %d differences" % (len(action), len(found)))
    return 1 if found or len(action) < 12 else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/simulator.md names every switch, fault mode and control endpoint the simulator has, and no other switch."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from tests.simulator.server import FAULT_MODES, build_parser

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, 'docs', 'simulator.md')
CONTROL_ENDPOINTS = ('GET /_sim/requests', 'POST /_sim/reset', 'POST /_sim/faults', 'GET /_sim/faults',
                     'DELETE /_sim/faults', 'GET /_sim/state', 'PUT /_sim/race-window')


def doc_text():
    with open(DOC, encoding='utf-8') as handle:
        return handle.read()


def parser_switches():
    return {option for action in build_parser()._actions for option in action.option_strings  # pylint: disable=protected-access
            if option.startswith('--') and option != '--help'}


def test_every_switch_is_documented_and_every_documented_switch_exists():
    table = doc_text().split('## Switches', 1)[1].split('\n## ', 1)[0]
    documented = set(re.findall(r'^\| `(--[a-z0-9-]+)', table, re.M))
    assert documented == parser_switches()


def test_every_fault_mode_and_control_endpoint_is_documented():
    text = doc_text()
    for mode in FAULT_MODES:
        assert '`%s`' % mode in text, mode
    for endpoint in CONTROL_ENDPOINTS:
        assert '`%s`' % endpoint in text or '`%s` (or' % endpoint in text, endpoint

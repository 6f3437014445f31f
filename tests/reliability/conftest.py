# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pytest set-up of the reliability suite: imports from the checkout, and the report's JSON.

Run it with `python -m pytest tests/reliability` from the collection root. Each test that
checks a matrix row keeps it (harness.row); at the end every row gets its test's outcome and
all of them go to tests/output/reliability.json, which tests/reliability/report.py renders
as docs/reliability.md.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tests.reliability import harness  # noqa: E402 pylint: disable=wrong-import-position

OUTCOMES = {}
STARTED = time.time()


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        outcome = report.outcome
        if hasattr(report, "wasxfail"):
            outcome = "xfailed (known gap)" if report.outcome == "skipped" else "xpassed"
        OUTCOMES[report.nodeid] = outcome


def pytest_sessionfinish(session, exitstatus):
    if not harness.ROWS:
        return
    rows = []
    for nodeid, data in harness.ROWS.items():
        data = dict(data, outcome=OUTCOMES.get(nodeid, "not run"))
        rows.append(data)
    os.makedirs(os.path.dirname(harness.OUTPUT), exist_ok=True)
    with open(harness.OUTPUT, "w") as handle:
        json.dump({"rows": rows, "seconds": round(time.time() - STARTED, 1)}, handle, indent=1, sort_keys=True)

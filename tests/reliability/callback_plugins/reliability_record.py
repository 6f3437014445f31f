# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: records every task result of a reliability playbook, case by case.

A task whose name starts with "Case " opens a case (the rest of the name is its id); every
result after it, the role's own tasks included, belongs to that case until the next play task.
RELIABILITY_WHOLE_RUN names one case that holds the whole run instead.
At each case's start the simulators named in RELIABILITY_SIMULATORS get their request log
cleared and the faults of the case (RELIABILITY_CASES, a JSON file {case id: {site: faults}})
set; at its end their request logs are kept with the case. Everything goes to the JSON file
RELIABILITY_RECORD. No module process is started for any of this, so cases cost milliseconds.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: reliability_record
type: aggregate
short_description: Record task results and simulator request logs per test case (pluto.lms tests only)
description:
  - Used by tests/reliability; not part of the collection's content.
requirements:
  - enabled with ANSIBLE_CALLBACKS_ENABLED
"""

import json
import os
import ssl
import time
from urllib.request import Request, urlopen

from ansible.plugins.callback import CallbackBase

# The simulators are on loopback; one of them serves a self-signed certificate.
UNVERIFIED = ssl._create_unverified_context()  # pylint: disable=protected-access


def control(base, method, path, value=None):
    """One request to a simulator's /_sim endpoint; the decoded JSON answer."""
    data = json.dumps(value).encode("utf-8") if value is not None else None
    request = Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urlopen(request, timeout=30, context=UNVERIFIED) as answer:  # nosec - loopback test simulator
        return json.loads(answer.read().decode("utf-8"))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "reliability_record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.path = os.environ.get("RELIABILITY_RECORD")
        self.sites = json.loads(os.environ.get("RELIABILITY_SIMULATORS") or "{}")
        cases_file = os.environ.get("RELIABILITY_CASES")
        self.faults = {}
        if cases_file:
            with open(cases_file) as handle:
                self.faults = json.load(handle)
        # A playbook without "case" tasks (one of the collection's own) is recorded as this one case.
        self.whole_run = os.environ.get("RELIABILITY_WHOLE_RUN")
        self.cases = {}
        self.order = []
        self.current = None

    # ---- cases ------------------------------------------------------------------------
    def _close_case(self):
        if self.current is None:
            return
        case = self.cases[self.current]
        case["seconds"] = round(time.time() - case["started"], 3)
        for name, base in self.sites.items():
            case["requests"][name] = control(base, "GET", "/_sim/requests")
            control(base, "DELETE", "/_sim/faults")
        self.current = None

    def _open_case(self, case_id):
        self._close_case()
        if case_id in self.cases:
            raise ValueError("case %s appears twice in the playbook" % case_id)
        self.cases[case_id] = {"results": [], "requests": {}, "started": time.time()}
        self.order.append(case_id)
        self.current = case_id
        for name, base in self.sites.items():
            control(base, "POST", "/_sim/reset")
            faults = (self.faults.get(case_id) or {}).get(name)
            if faults:
                control(base, "POST", "/_sim/faults", faults)

    def v2_playbook_on_task_start(self, task, is_conditional):
        name = task.get_name().strip()
        if self.whole_run:
            if self.current is None:
                self._open_case(self.whole_run)
            return
        if name.lower().startswith("case "):
            self._open_case(name[len("case "):].strip())
        elif task._role is None:  # pylint: disable=protected-access
            # A play task of its own (set-up, a rescue): the case is over. A role's tasks belong to the case.
            self._close_case()

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    # ---- results ------------------------------------------------------------------------
    def _record(self, result, status):
        if self.current is None:
            return
        task = result._task  # pylint: disable=protected-access
        self.cases[self.current]["results"].append({
            "task": task.get_name(),
            "host": result._host.get_name(),  # pylint: disable=protected-access
            "action": task.action,
            "status": status,
            "result": self._clean(result._result),  # pylint: disable=protected-access
        })

    @staticmethod
    def _clean(value):
        return json.loads(json.dumps(value, default=str))

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_runner_item_on_ok(self, result):
        self._record(result, "item ok")

    def v2_runner_item_on_failed(self, result):
        self._record(result, "item failed")

    def v2_runner_item_on_skipped(self, result):
        self._record(result, "item skipped")

    def v2_playbook_on_stats(self, stats):
        self._close_case()
        if self.path:
            with open(self.path, "w") as handle:
                json.dump({"order": self.order, "cases": self.cases}, handle)

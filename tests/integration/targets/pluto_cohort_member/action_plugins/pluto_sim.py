# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper for this target: observe and steer the simulator in one controller-side task.

    - pluto_sim:
        url: "{{ pluto_url }}"
        cohort: main          # optional: also return members, the usernames of its members, sorted
        ids: true             # optional: also return users {username: id} and cohorts {idnumber: id}
        faults: {mode: "503", functions: [...], skip: 2, count: 100}   # optional; "clear" removes them
      register: seen

Always returns requests (the simulator's requests since the previous pluto_sim task, whose log it then
clears), reads and writes (the requests split by kind). A task per observation keeps the many
observations of this target fast (no module process, one HTTP round trip each).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible.module_utils.urls import open_url
from ansible.plugins.action import ActionBase


def control(url, path, method="GET", body=None):
    data = None if body is None else json.dumps(body).encode("utf-8")
    answer = open_url(url.rstrip("/") + path, method=method, data=data, use_proxy=False,
                      headers={"Content-Type": "application/json"} if data is not None else None)
    return json.loads(answer.read() or b"null")


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        url = args["url"]
        requests = control(url, "/_sim/requests")
        control(url, "/_sim/reset", method="POST", body={})
        result.update(changed=False, requests=requests, reads=[r for r in requests if not r["write"]],
                      writes=[r for r in requests if r["write"]])
        if args.get("cohort") or args.get("ids"):
            state = control(url, "/_sim/state")
            usernames = dict((user["id"], user["username"]) for user in state["users"])
            if args.get("cohort"):
                cohort = [c for c in state["cohorts"] if c["idnumber"] == args["cohort"]][0]
                result["members"] = sorted(usernames[u] for u in cohort["members"])
            if args.get("ids"):
                result["users"] = dict((name, user_id) for user_id, name in usernames.items())
                result["cohorts"] = dict((c["idnumber"], c["id"]) for c in state["cohorts"])
        faults = args.get("faults")
        if faults == "clear":
            control(url, "/_sim/faults", method="DELETE")
        elif faults:
            control(url, "/_sim/faults", method="POST", body=faults)
        return result

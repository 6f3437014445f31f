# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hooks (see _plan.Hooks) that more than one module needs.

Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pluto.lms.plugins.module_utils._plan import Hooks, Recovery


class ResendMissingMembers(Hooks):
    """For core_cohort_add_cohort_members items by id: after the site failed a whole add request with
    dmlwriteexception (another run added some of the same users at the same moment, and the site rolled
    the request back), read the members of those cohorts again and send only the pairs still missing.
    The pairs now present count as applied. The executor bounds the attempts (max_recoveries) and backs
    off with jitter between them, so two runs that keep colliding drift apart."""

    max_recoveries = 3

    def on_error(self, error, items, reader):
        if error.errorcode != "dmlwriteexception":
            return None
        if any(item["cohorttype"]["type"] != "id" or item["usertype"]["type"] != "id" for item in items):
            return None
        members = reader.members(set(int(item["cohorttype"]["value"]) for item in items))
        applied, resend = [], []
        for item in items:
            present = int(item["usertype"]["value"]) in members.get(int(item["cohorttype"]["value"]), set())
            (applied if present else resend).append(item)
        return Recovery(resend=resend, applied=applied)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hooks (see _plan.Hooks) that more than one module needs.

Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.pluto.lms.plugins.module_utils._errors import PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._plan import Hooks, Recovery


def _added_pairs(items):
    """(cohort id, user id) of core_cohort_add_cohort_members items, or None unless all are by id."""
    if any("usertype" not in item or item["cohorttype"]["type"] != "id" or item["usertype"]["type"] != "id"
           for item in items):
        return None
    return [(int(item["cohorttype"]["value"]), int(item["usertype"]["value"])) for item in items]


def _removed_pairs(items):
    """(cohort id, user id) of core_cohort_delete_cohort_members items, or None for other items."""
    if any("userid" not in item for item in items):
        return None
    return [(int(item["cohortid"]), int(item["userid"])) for item in items]


class ResendMissingMembers(Hooks):
    """Member additions and removals by id that the site refused as a whole because the members
    changed under the task:
    - dmlwriteexception on an addition: another run added some of the same users at the same
      moment, and the site rolled the request back;
    - invaliduser on a removal: a member to remove was deleted from the site (its memberships
      went with it).
    The members of the items' cohorts are read again: the items already as wanted count as
    applied, only the others are sent again. The failure stands for any other error, when the
    members cannot be read, and for a refused removal with no member gone (it has another
    cause, and the same request would fail again). The executor bounds the attempts
    (max_recoveries) and backs off with jitter between them, so two runs that keep colliding
    drift apart."""

    max_recoveries = 4

    def on_error(self, error, items, reader):
        if error.errorcode == "dmlwriteexception":
            pairs, wanted_member = _added_pairs(items), True
        elif error.errorcode == "invaliduser":
            pairs, wanted_member = _removed_pairs(items), False
        else:
            return None
        if pairs is None:
            return None
        try:
            members = reader.members(set(cohort_id for cohort_id, _user_id in pairs))
        except PlutoError:
            return None
        applied, resend = [], []
        for item, (cohort_id, user_id) in zip(items, pairs):
            done = (user_id in members.get(cohort_id, set())) == wanted_member
            (applied if done else resend).append(item)
        if not wanted_member and not applied:
            return None
        return Recovery(resend=resend, applied=applied)

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Change a site behind the collection's back, as a person in the site's web UI would: rename a
cohort and drop one of its members, straight through the web service (not through pluto.lms).

    python drift.py URL TOKEN COHORT_IDNUMBER NEW_NAME USERNAME
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import requests


def call(url, token, wsfunction, fields):
    body = [("wstoken", token), ("wsfunction", wsfunction), ("moodlewsrestformat", "json")] + fields
    answer = requests.post(url.rstrip("/") + "/webservice/rest/server.php", data=body, timeout=30).json()
    if isinstance(answer, dict) and "exception" in answer:
        sys.exit("%s failed: %s (%s)" % (wsfunction, answer.get("message"), answer.get("errorcode")))
    return answer


def main(url, token, idnumber, new_name, username):
    found = call(url, token, "core_cohort_search_cohorts", [
        ("query", idnumber), ("context[contextlevel]", "system"), ("context[instanceid]", "0"),
        ("includes", "all"), ("limitfrom", "0"), ("limitnum", "0"), ("moodlewssettingraw", "1")])
    cohort = [c for c in found["cohorts"] if c["idnumber"] == idnumber][0]
    # An update must resend id, category, name and idnumber, and the format (or the site resets it to html).
    call(url, token, "core_cohort_update_cohorts", [
        ("cohorts[0][id]", str(cohort["id"])), ("cohorts[0][categorytype][type]", "system"),
        ("cohorts[0][categorytype][value]", ""), ("cohorts[0][name]", new_name),
        ("cohorts[0][idnumber]", idnumber), ("cohorts[0][descriptionformat]", str(cohort["descriptionformat"]))])
    user = call(url, token, "core_user_get_users_by_field", [("field", "username"), ("values[0]", username)])[0]
    call(url, token, "core_cohort_delete_cohort_members", [
        ("members[0][cohortid]", str(cohort["id"])), ("members[0][userid]", str(user["id"]))])
    print("renamed cohort %s (id %s) from %r to %r; removed member %s" % (idnumber, cohort["id"], cohort["name"], new_name, username))


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])

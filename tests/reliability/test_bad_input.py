# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bad-input matrix: every case fails with one message naming the bad value, and the site sees no
write request (from the simulator's request log of that case). A few cases are accepted input whose
handling users ask about (unicode, surrounding spaces, duplicates, plain http): they say what is kept.

The modules and the role run in playbooks/bad_input.yml (one ansible-playbook run); the CSV cases run
the collection's own playbooks/sync_cohort_members.yml, one inventory host per CSV file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from tests.reliability.harness import ROOT, outcome, row, run_playbook
from tests.simulator.process import start_simulator

TOKEN = "Tk-bad-input-5e1f"
SEED = os.path.join(ROOT, "tests", "reliability", "files", "seed.yml")
LONG_IDNUMBER = "i" * 101

# case -> (input, expected message parts: each must be in the message). Every one of these fails and writes nothing.
REFUSED = {
    # pluto_cohort
    "cohort-name-blank": ("pluto_cohort name: '   ' (3 spaces)", ["cohort 'new-1': name is blank"]),
    "cohort-name-empty": ("pluto_cohort name: ''", ["cohort 'new-1': name is blank"]),
    "cohort-name-too-long": ("pluto_cohort name of 255 characters", ["name is 255 characters long, the site allows 254"]),
    "cohort-idnumber-too-long": ("pluto_cohort idnumber of 101 characters",
                                 [LONG_IDNUMBER, "idnumber is 101 characters long, the site allows 100"]),
    "cohort-idnumber-empty": ("pluto_cohort idnumber: ''", ["cohort '': idnumber is blank"]),
    "cohort-idnumber-blank": ("pluto_cohort idnumber: '  '", ["cohort '  ': idnumber is blank"]),
    "cohort-every-error-at-once": ("pluto_cohort: idnumber of 101, name of 255 characters, category_id: -1",
                                   ["idnumber is 101 characters long", "name is 255 characters long", "got -1"]),
    "cohort-neither-idnumber-nor-id": ("pluto_cohort with name only", ["one of the following is required: idnumber, id"]),
    "cohort-both-category-options": ("pluto_cohort category_id and category_idnumber",
                                     ["mutually exclusive: category_idnumber|category_id"]),
    "cohort-unknown-option": ("pluto_cohort nmae: New (a typo)", ["nmae", "Supported parameters include"]),
    "cohort-visible-not-a-bool": ("pluto_cohort visible: sometimes", ["'visible'", "'sometimes' is not a valid boolean"]),
    "cohort-id-not-an-int": ("pluto_cohort id: twelve", ["'id'", "'twelve'", "cannot be converted to an int"]),
    "cohort-custom-fields-not-a-dict": ("pluto_cohort custom_fields: [a, b]", ["'custom_fields'", "unable to convert to dict"]),
    "cohort-description-format-unknown": ("pluto_cohort description_format: rtf",
                                          ["description_format must be one of: html, moodle, plain, markdown, got: rtf"]),
    "cohort-state-unknown": ("pluto_cohort state: gone", ["state must be one of: present, absent, got: gone"]),
    "cohort-category-id-negative": ("pluto_cohort category_id: -1",
                                    ["category_id must be 0 (the system context) or a category id, got -1"]),
    "cohort-category-unknown": ("pluto_cohort category_idnumber: NOPE", ["there is no course category with idnumber 'NOPE'"]),
    "cohort-create-without-name": ("pluto_cohort of a new idnumber without name",
                                   ["cohort 'new-2': name is required to create the cohort"]),
    "cohort-id-unknown": ("pluto_cohort id: 9999", ["there is no cohort with id 9999"]),
    "cohort-category-idnumber-blank": ("pluto_cohort category_idnumber: ''",
                                       ["cohort 'new-3': category_idnumber is blank"]),
    "cohort-rename-to-a-taken-idnumber": ("pluto_cohort id: 1, idnumber: catcohort (held by cohort 2)",
                                          ["idnumber 'catcohort' is already used by cohort id 2"]),
    # pluto_cohort_member
    "member-users-not-a-list": ("pluto_cohort_member users: {u00001: yes}", ["'users' is of type dict", "convert to list"]),
    "member-users-missing": ("pluto_cohort_member without users", ["missing required arguments: users"]),
    "member-both-cohort-and-cohort-id": ("pluto_cohort_member cohort and cohort_id", ["mutually exclusive: cohort|cohort_id"]),
    "member-neither-cohort-nor-cohort-id": ("pluto_cohort_member without cohort",
                                            ["one of the following is required: cohort, cohort_id"]),
    "member-empty-username": ("pluto_cohort_member users: [u00004, '']", ["not a non-empty username: ''"]),
    "member-blank-username": ("pluto_cohort_member users: [u00004, '   ']", ["not a non-empty username: '   '"]),
    "member-null-username": ("pluto_cohort_member users: [u00004, null]", ["not a non-empty username: ''"]),
    "member-ids-not-positive-integers": ("pluto_cohort_member user_field: id, users: ['7', abc, '0', '-4', '1.5']",
                                         ["4 value(s) that are not a positive integer user id: 'abc', '0', '-4', '1.5'"]),
    "member-emails-malformed": ("pluto_cohort_member user_field: email, users: [u00004@example.com, not-an-email, a@b@c]",
                                ["2 value(s) that are not an email address: 'not-an-email', 'a@b@c'"]),
    "member-idnumber-spaces-kept-verbatim": ("pluto_cohort_member user_field: idnumber, users: [EMP00004, ' EMP00005']",
                                             ["1 of the 2 listed users do not exist", "(looked up by idnumber):  EMP00005"]),
    "member-batch-size-zero": ("pluto_cohort_member batch_size: 0", ["batch_size must be between 1 and 500", "got 0"]),
    "member-batch-size-too-big": ("pluto_cohort_member batch_size: 501", ["batch_size must be between 1 and 500", "got 501"]),
    "member-batch-size-not-an-int": ("pluto_cohort_member batch_size: many", ["'batch_size'", "'many'"]),
    "member-user-field-unknown": ("pluto_cohort_member user_field: login",
                                  ["user_field must be one of: username, email, idnumber, id, got: login"]),
    "member-state-unknown": ("pluto_cohort_member state: sync", ["state must be one of: present, absent, exact, got: sync"]),
    "member-missing-users-unknown": ("pluto_cohort_member missing_users: maybe",
                                     ["missing_users must be one of: fail, warn, ignore, got: maybe"]),
    "member-unknown-users": ("pluto_cohort_member users: [u00004, nosuch1, nosuch2]",
                             ["2 of the 3 listed users do not exist on the site (looked up by username): nosuch1, nosuch2",
                              "nothing was changed"]),
    "member-cohort-unknown": ("pluto_cohort_member cohort: nosuch", ["there is no cohort with idnumber 'nosuch' on the site"]),
    "member-exact-finds-nobody": ("pluto_cohort_member state: exact, missing_users: ignore, users: [nosuch1, nosuch2]",
                                  ["none of the 2 listed users was found", "state exact would remove all 3 members",
                                   "nothing was changed"]),
    "member-100000-users": ("pluto_cohort_member users: 100,000 usernames, 50 of them on the site",
                            ["99950 of the 100000 listed users do not exist", "u00051, u00052", "u00060 ... and 99940 more (all in missing)"]),
    # pluto_cohort_info
    "info-id-not-an-int": ("pluto_cohort_info id: [x]", ["option 'id'", "'x'", "cannot be converted to an int"]),
    "info-both-category-options": ("pluto_cohort_info category_id and category_idnumber",
                                   ["mutually exclusive: category_idnumber|category_id"]),
    "info-unknown-option": ("pluto_cohort_info idnumbers: [staff] (a typo)", ["idnumbers", "Supported parameters include"]),
    "info-category-unknown": ("pluto_cohort_info category_idnumber: NOPE", ["there is no course category with idnumber 'NOPE'"]),
    "info-include-members-not-a-bool": ("pluto_cohort_info include_members: perhaps", ["'include_members'", "'perhaps'"]),
    # connection options
    "url-without-scheme": ("url: 127.0.0.1:PORT", ["url must be the site's address starting with https://", "got '127.0.0.1:"]),
    "url-with-query-string": ("url: http://SITE/?lang=en", ["url must not carry a query string", "?lang=en"]),
    "url-other-scheme": ("url: ftp://SITE", ["url must be the site's address starting with https://", "got 'ftp://"]),
    "url-empty": ("url: ''", ["url must be the site's address", "got ''"]),
    "url-missing": ("no url (and no PLUTO_URL)", ["missing required arguments: url"]),
    "token-empty": ("token: ''", ["token is empty"]),
    "token-blank": ("token: '   '", ["token is empty"]),
    "timeout-zero": ("timeout: 0", ["timeout must be a number of seconds greater than 0, got 0"]),
    "retries-negative": ("retries: -1", ["retries must be 0 or more, got -1"]),
    "validate-certs-not-a-bool": ("validate_certs: sometimes", ["'validate_certs'", "'sometimes' is not a valid boolean"]),
    # the role cohort_bootstrap
    "role-cohorts-not-a-list": ("cohort_bootstrap_cohorts: students", ["cohort_bootstrap_cohorts", "is of type str"]),
    "role-cohort-not-a-dict": ("cohort_bootstrap_cohorts: [students]", ["cohort_bootstrap_cohorts", "is of type str"]),
    "role-cohort-without-idnumber": ("cohort_bootstrap_cohorts: [{name: Students}]",
                                     ["missing required arguments: idnumber found in cohort_bootstrap_cohorts"]),
    "role-cohort-unknown-key": ("a cohort with nmae: (a typo)", ["cohort_bootstrap_cohorts.nmae", "Supported parameters include"]),
    "role-cohort-present-without-name": ("cohort_bootstrap_cohorts: [{idnumber: students}]",
                                         ["state is present but all of the following are missing: name"]),
    "role-cohort-both-category-options": ("a cohort with category_id and category_idnumber",
                                          ["mutually exclusive: category_idnumber|category_id found in cohort_bootstrap_cohorts"]),
    "role-members-not-a-list": ("a cohort with members: {u00001: yes}", ["'members' is of type dict", "cohort_bootstrap_cohorts"]),
    "role-visible-not-a-bool": ("a cohort with visible: sometimes", ["'visible'", "'sometimes' is not a valid boolean"]),
    "role-prune-not-a-bool": ("cohort_bootstrap_prune: perhaps", ["'cohort_bootstrap_prune'", "'perhaps' is not a valid boolean"]),
    "role-keep-not-a-list": ("cohort_bootstrap_keep: {staff: yes}", ["'cohort_bootstrap_keep' is of type dict"]),
    "role-user-field-unknown": ("cohort_bootstrap_user_field: login",
                                ["cohort_bootstrap_user_field must be one of: username, email, idnumber, id, got: login"]),
    "role-unknown-variable": ("cohort_bootstrap_prnue: true (a typo)", ["unknown variable(s) cohort_bootstrap_prnue"]),
    "role-duplicate-idnumber": ("students in cohort_bootstrap_cohorts and cohort_bootstrap_extra_cohorts",
                                ["idnumber(s) students appear more than once"]),
    "role-member-unknown": ("a new cohort with members: [u00001, nosuch]", ["1 of the 2 listed users do not exist", "nosuch"]),
}
# Known gaps: the case is in the matrix, fails its check today, and says why (strict: a fix makes the test fail
# until the mark is removed).
GAPS = {
}

# Accepted input: case -> (input, expected, check(run) -> bool, the site's state after the run)
ACCEPTED = {
    "cohort-unicode-and-spaces-kept-verbatim": (
        "pluto_cohort idnumber: ' ünï-1 ', name: '  Ünïcødé 名前  '",
        "created with idnumber and name exactly as given (spaces and unicode kept, as the site stores them); "
        "the rerun changes nothing",
        lambda run, state: (not run["cohort-unicode-and-spaces-kept-verbatim"].failed
                            and [(c["idnumber"], c["name"]) for c in state["cohorts"] if "ünï" in c["idnumber"]]
                            == [(" ünï-1 ", "  Ünïcødé 名前  ")]
                            and not run["cohort-unicode-and-spaces-kept-verbatim/rerun"].changed
                            and not run["cohort-unicode-and-spaces-kept-verbatim/rerun"].writes())),
    "member-duplicates-uppercase-and-spaces": (
        "pluto_cohort_member users: [u00004, U00004, ' u00004 ', u00005, u00005]",
        "usernames are stripped and lowercased, duplicates dropped: one add request of 2 users; the rerun changes nothing",
        lambda run, state: (run["member-duplicates-uppercase-and-spaces"].result["result"].get("added") == ["u00004", "u00005"]
                            and [w["fields"] for w in run["member-duplicates-uppercase-and-spaces"].writes()] == [3 + 2 * 4]
                            and not run["member-duplicates-uppercase-and-spaces/rerun"].changed)),
    "url-plain-http-to-a-remote-host": (
        "url: http://127.0.0.2:PORT (plain http to a host other than this one)",
        "works, with a warning that the token travels unencrypted",
        lambda run, state: (not run["url-plain-http-to-a-remote-host"].failed
                            and any("the token travels unencrypted" in w for w in run["url-plain-http-to-a-remote-host"].warnings))),
}

CSV_FILES = {
    "csv-bad-header": ("cohort,user\nstaff,u00001\n", "header cohort,user",
                       ["line 1: the header must be 'cohort_idnumber,username', found 'cohort,user'"]),
    "csv-wrong-field-count": ("cohort_idnumber,username\nstaff,u00001,extra\n", "a row of 3 fields",
                              ["line 2: expected 2 fields (cohort_idnumber,username), found 3"]),
    "csv-empty-username": ("cohort_idnumber,username\nstaff,\n", "a row without username", ["line 2: empty username"]),
    "csv-every-bad-line-named": ("cohort_idnumber,username\nstaff,u00001\n,u00002\nstaff\nstaff,u00003,x\n",
                                 "3 bad rows among good ones",
                                 ["line 3: empty cohort_idnumber", "line 4: expected 2 fields", "line 5: expected 2 fields"]),
    "csv-empty-file": ("", "an empty file", ["line 1: the header must be"]),
    "csv-unknown-cohort": ("cohort_idnumber,username\nnosuch,u00001\n", "a well-formed row naming no cohort of the site",
                           ["there is no cohort with idnumber 'nosuch'"]),
    "csv-unknown-user": ("cohort_idnumber,username\nstaff,nosuch9\n", "a well-formed row naming no user of the site",
                         ["1 of the 1 listed users do not exist", "nosuch9"]),
    "csv-file-missing": (None, "cohort_members_csv naming no file", ["no-such-file.csv", "no such file or directory"]),
    "csv-not-given": (False, "no cohort_members_csv", ["give the CSV file: -e cohort_members_csv=PATH"]),
}


@pytest.fixture(scope="module")
def bad_run():
    site = start_simulator(seed_users=50, seed_file=SEED, token=[TOKEN + ":manager"])
    remote = start_simulator(host="127.0.0.2", token=[TOKEN + ":manager"])
    try:
        run = run_playbook("bad_input.yml", {"site": site, "remote": remote}, {"pluto_token": TOKEN})
        yield run, site.state()
    finally:
        site.stop()
        remote.stop()


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    """playbooks/sync_cohort_members.yml with one inventory host per CSV case (each its own site)."""
    directory = tmp_path_factory.mktemp("csv")
    sites = dict((name, start_simulator(seed_users=10, seed_file=SEED, token=[TOKEN + ":manager"])) for name in CSV_FILES)
    hosts = []
    for name, (content, _what, _parts) in sorted(CSV_FILES.items()):
        line = "%s pluto_url=%s" % (name, sites[name].url)
        if content is None:
            line += " cohort_members_csv=%s" % directory.joinpath("no-such-file.csv")
        elif content is not False:
            path = directory.joinpath(name + ".csv")
            path.write_text(content)
            line += " cohort_members_csv=%s" % path
        hosts.append(line)
    inventory = directory.joinpath("inventory.ini")
    inventory.write_text("[pluto_tenants]\n%s\n" % "\n".join(hosts))
    try:
        run = run_playbook(os.path.join(ROOT, "playbooks", "sync_cohort_members.yml"), sites, {"pluto_token": TOKEN},
                           inventory=str(inventory), args=["--forks", "10"], env={"RELIABILITY_WHOLE_RUN": "csv"})
        yield run
    finally:
        for sim in sites.values():
            sim.stop()


def test_every_case_of_the_playbook_is_in_the_matrix(bad_run):
    run = bad_run[0]
    ran = set(name.split("/")[0] for name in run.order)
    assert ran == set(REFUSED) | set(ACCEPTED)


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=GAPS[name])) if name in GAPS
                                  else name for name in sorted(REFUSED)])
def test_refused(request, bad_run, name):
    run = bad_run[0]
    what, parts = REFUSED[name]
    case = run[name]
    requests = case.log() + case.log("remote")
    row(request, "bad input", name, what, "fails naming %s; no write request" % " / ".join(repr(p) for p in parts),
        "%s; requests: %d, writes: %d" % (outcome(case), len(requests), len([r for r in requests if r["write"]])),
        gap=GAPS.get(name))
    assert case.failed, outcome(case)
    for part in parts:
        assert part in case.msg
    assert [r for r in requests if r["write"]] == []
    assert "Traceback" not in case.msg


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted(request, bad_run, name):
    run, state = bad_run
    what, expected, check = ACCEPTED[name]
    case = run[name]
    rerun = run.cases.get(name + "/rerun")
    observed = "%s; writes: %d" % (outcome(case), len(case.writes()))
    if rerun is not None:
        observed += "; rerun: %s, writes: %d" % (outcome(rerun), len(rerun.writes()))
    row(request, "bad input", name, what, expected, observed)
    assert check(run, state), observed


def test_hundred_thousand_users_are_looked_up_in_bulk(bad_run):
    case = bad_run[0]["member-100000-users"]
    assert case.calls().count("core_user_get_users_by_field") == 100
    assert len(case.log()) == 103
    assert len(case.result["result"]["missing"]) == 99950


@pytest.mark.parametrize("name", sorted(CSV_FILES))
def test_csv(request, csv_run, name):
    _content, what, parts = CSV_FILES[name]
    case = csv_run["csv"]
    failed = [r for r in case.results if r["host"] == name and r["status"] in ("failed", "item failed")]
    msg = str(failed[0]["result"].get("msg", "")) if failed else ""
    requests = case.log(name)
    row(request, "bad input", name, "sync_cohort_members.yml: " + what,
        "fails naming %s; no write request" % " / ".join(repr(p) for p in parts),
        "%s; requests: %d, writes: %d" % ("failed: " + msg if failed else "ok", len(requests),
                                          len([r for r in requests if r["write"]])))
    assert failed, [r for r in case.results if r["host"] == name]
    for part in parts:
        assert part in msg
    assert [r for r in requests if r["write"]] == []

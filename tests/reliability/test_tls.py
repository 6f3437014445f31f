# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""validate_certs against a site with a self-signed certificate (playbooks/tls.yml), in both paths."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from tests.reliability.harness import outcome, row, run_playbook
from tests.reliability.tls import self_signed_certificate
from tests.simulator.process import start_simulator

TOKEN = "Tk-tls-manager-2c2c"
REFUSED = ["the TLS certificate of https://", "could not be verified (self-signed certificate)",
           "for a test site set validate_certs: false", "for a private CA set ca_path"]

# case -> (input, expected, check(case))
CASES = {
    "tls-refused-by-default": (
        "pluto_cohort with the default validate_certs",
        "fails before any write: the certificate could not be verified (self-signed certificate); says "
        "validate_certs: false and ca_path",
        lambda case: case.failed and all(text in case.msg for text in REFUSED) and not case.log()),
    "tls-accepted-with-validate-certs-false": (
        "pluto_cohort with validate_certs: false",
        "ok, the cohort is created",
        lambda case: not case.failed and case.changed and len(case.writes()) == 1),
    "tls-accepted-with-its-certificate-as-ca-path": (
        "pluto_cohort_member with ca_path: the site's certificate",
        "ok, the member is added (the certificate is verified against ca_path)",
        lambda case: not case.failed and case.changed and len(case.writes()) == 1),
    "tls-validate-certs-false-from-the-task-environment": (
        "pluto_cohort_info with PLUTO_VALIDATE_CERTS=false in the task's environment:",
        "ok, in the action path as in the module process",
        lambda case: not case.failed and [c["idnumber"] for c in case.result["result"]["cohorts"]] == ["tls-1"]),
    "tls-role-with-pluto-validate-certs-false": (
        "the role with the host variable pluto_validate_certs: false",
        "ok, the members are synced",
        lambda case: not case.failed and case.changed),
    "tls-role-refused-by-default": (
        "the role without pluto_validate_certs",
        "fails at its first read, with the same message",
        lambda case: case.failed and all(text in case.msg for text in REFUSED) and not case.writes()),
}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed_certificate(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="module", params=["action", "module process"])
def tls_run(request, certificate):
    cert, key = certificate
    site = start_simulator(seed_users=10, token=[TOKEN + ":manager"], tls_cert=cert, tls_key=key)
    try:
        yield run_playbook("tls.yml", {"site": site}, {"pluto_token": TOKEN, "certificate": cert},
                           module_process=request.param == "module process")
    finally:
        site.stop()


@pytest.mark.parametrize("name", sorted(CASES))
def test_tls(request, tls_run, name):
    what, expected, check = CASES[name]
    case = tls_run[name]
    if "[action-" in request.node.nodeid:
        row(request, "tls", name, what, expected, outcome(case))
    assert check(case), outcome(case)


def test_validate_certs_false_prints_no_python_warning(tls_run):
    # urllib3's InsecureRequestWarning used to reach the terminal raw, past Ansible's output, on every request.
    assert "InsecureRequestWarning" not in tls_run.stderr + tls_run.stdout
    assert "errantly sent data directly to stderr" not in tls_run.stderr

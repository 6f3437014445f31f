# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The messages a user reads when the site cannot be reached or refuses access: the reason first, then
the URL and what to check; no HTTP library internals; never cut before the reason. Against the simulator,
a closed port, and the simulator spoken to with https."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import socket

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._client import PlutoClient, PlutoError

TOKEN = "messages-unit-token-6c2e"
NO_COHORTS = "messages-unit-nocohorts-7d3f"
NOREST = "messages-unit-norest-8e4a"
LIBRARY_WORDS = ("Max retries", "urllib3", "HTTPConnection", "HTTPSConnection", "NewConnectionError", "Caused by",
                 "NameResolutionError", "ProtocolError", "SSLError", "object at 0x")


@pytest.fixture(scope="module")
def site(request):
    from tests.simulator.process import start_simulator
    sim = start_simulator("--token", TOKEN, "--token", NO_COHORTS + ":manager:-core_cohort_get_cohorts",
                          "--token", NOREST + ":norest", "--seed-users", "3", "--debug")
    request.addfinalizer(sim.stop)
    return sim


def message(url, wsfunction="core_cohort_get_cohorts", token=TOKEN, **kw):
    kw.setdefault("backoff", 0.001)
    kw.setdefault("retries", 0)
    with pytest.raises(PlutoError) as error:
        PlutoClient(url, token, **kw).call(wsfunction)
    text = str(error.value)
    assert "\n" not in text and token not in text
    for word in LIBRARY_WORDS:
        assert word not in text, "library internals in: " + text
    return text


def closed_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.mark.parametrize("retries", [0, 2])
def test_connection_refused_says_so_first(retries):
    url = "http://127.0.0.1:%d" % closed_port()
    text = message(url, retries=retries)
    assert text.startswith("connection refused: nothing accepts connections at %s/webservice/rest/server.php" % url)
    assert "check url (host and port)" in text
    assert ("after 3 attempts" in text) == (retries == 2)


def test_a_name_that_does_not_resolve_says_so_first(monkeypatch):
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == "courses.example.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    # The resolver is the operating system's: only its answer for this one name is replaced (no network is used).
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    text = message("https://courses.example.invalid")
    assert text.startswith("name not resolved: the host name courses.example.invalid of https://courses.example.invalid/")
    assert "check url for a typo" in text


def test_https_to_a_plain_http_site_says_it_does_not_answer_tls(site):
    https = site.url.replace("http://", "https://")
    for validate_certs in (True, False):
        text = message(https, validate_certs=validate_certs)
        assert text.startswith("no TLS at that address: %s/webservice/rest/server.php does not answer TLS" % https)
        assert "plain http" in text and "validate_certs" not in text and "certificate" not in text


def test_a_read_timeout_says_so_first(site):
    site.set_faults(mode="timeout", count=-1)
    try:
        text = message(site.url, timeout=1)
    finally:
        site.clear_faults()
    assert text.startswith("timed out: core_cohort_get_cohorts got no answer from %s/webservice/rest/server.php within 1 "
                           "seconds; " % site.url)


def test_the_attempts_follow_what_went_wrong(site):
    site.set_faults(mode="timeout", count=-1)
    try:
        text = message(site.url, timeout=1, retries=1)
    finally:
        site.clear_faults()
    assert "within 1 seconds (after 2 attempts); the site may be busy" in text


def test_a_connection_closed_before_the_answer_says_so_first(site):
    site.set_faults(mode="reset", count=-1)
    try:
        text = message(site.url)
    finally:
        site.clear_faults()
    assert text.startswith("connection closed: %s/webservice/rest/server.php closed the connection" % site.url)


@pytest.mark.parametrize("mode, words", [("503", "answered HTTP 503"), ("html", "answered an HTML page instead of JSON")])
def test_503_and_login_pages_name_the_url(site, mode, words):
    site.set_faults(mode=mode, count=-1)
    try:
        text = message(site.url)
    finally:
        site.clear_faults()
    assert "the site at %s/webservice/rest/server.php %s" % (site.url, words) in text


@pytest.mark.parametrize("token", [NO_COHORTS, NOREST])
def test_accessexception_names_every_cause_and_the_debuginfo(site, token):
    text = message(site.url, token=token)
    assert "errorcode accessexception" in text
    for cause in ("does not include core_cohort_get_cohorts", "webservice/rest:use", "IP addresses",
                  "restricted to authorised users"):
        assert cause in text
    # The simulator runs with --debug: the site's debuginfo is passed on.
    assert text.split("(errorcode accessexception)")[1].startswith(": ")


def test_require_functions_on_a_token_without_rest_names_every_cause(site):
    with pytest.raises(PlutoError) as error:
        PlutoClient(site.url, NOREST).require_functions(["core_cohort_get_cohorts"])
    text = str(error.value)
    assert "core_webservice_get_site_info" in text and "webservice/rest:use" in text and "IP addresses" in text


def test_a_ca_path_that_does_not_exist_is_one_line_naming_the_option(site, tmp_path):
    missing = str(tmp_path / "no-such-ca.pem")
    with pytest.raises(PlutoError) as error:
        PlutoClient(site.url, TOKEN, ca_path=missing)
    assert str(error.value).startswith("ca_path %r does not exist" % missing) and "\n" not in str(error.value)


def test_the_attempts_never_split_a_parenthesis(site):
    site.set_faults(mode="503", count=-1)
    try:
        text = message(site.url, retries=1)
    finally:
        site.clear_faults()
    assert "text/html; charset=UTF-8), it may be overloaded or down (after 2 attempts)" in text

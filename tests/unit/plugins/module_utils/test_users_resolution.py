# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""resolve_users(reader, user_field, values) -> Resolution, against the simulator over real HTTP."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.pluto.lms.plugins.module_utils._client import PlutoClient, PlutoError
from ansible_collections.pluto.lms.plugins.module_utils._model import UserRef
from ansible_collections.pluto.lms.plugins.module_utils._reader import SiteReader
from ansible_collections.pluto.lms.plugins.module_utils._users import resolve_users

TOKEN = "users-unit-token-3b8f"


@pytest.fixture(scope="module")
def reader(request):
    from tests.simulator.process import start_simulator
    sim = start_simulator("--token", TOKEN, "--seed-users", "1500")
    request.addfinalizer(sim.stop)
    return SiteReader(PlutoClient(sim.url, TOKEN), lookup_concurrency=2)


def test_found_and_missing_in_the_task_terms(reader):
    resolution = resolve_users(reader, "username", [" U00001", "u00002", "u00002", "nobody"])
    assert sorted(resolution.found) == ["u00001", "u00002"]
    assert all(isinstance(user, UserRef) and user.username == key for key, user in resolution.found.items())
    assert resolution.missing == ["nobody"]
    assert resolution.ambiguous == {} and resolution.ambiguity_error() is None
    assert resolution.ids == dict((key, user.id) for key, user in resolution.found.items())


def test_more_values_than_one_request_holds(reader):
    values = ["u%05d" % n for n in range(1, 1501)] + ["ghost%d" % n for n in range(3)]
    resolution = resolve_users(reader, "username", values)
    assert len(resolution.found) == 1500 and resolution.missing == ["ghost0", "ghost1", "ghost2"]


def test_bad_values_are_named_before_any_lookup(reader):
    with pytest.raises(PlutoError) as error:
        resolve_users(reader, "id", ["3", "x", "-1"])
    assert "'x'" in str(error.value) and "'-1'" in str(error.value)

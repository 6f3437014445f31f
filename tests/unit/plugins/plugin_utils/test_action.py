# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action base's helpers with the installed ansible-core: the task's environment (the one place that
reads ansible-core's task internals), environment fallbacks without os.environ, and validation messages
worded as the module process words them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.pluto.lms.plugins.module_utils._runner import full_argument_spec
from ansible_collections.pluto.lms.plugins.plugin_utils.action import (
    as_module_receives,
    no_log_values,
    task_environment,
    validation_failure,
    with_environment_fallbacks,
)

try:  # ansible-core 2.19 and later template only what the playbook marked as trusted
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - older ansible-core templates every string
    def trust_as_template(value):
        return value

SPEC = full_argument_spec(dict(name=dict(type="str")))


class Task(object):
    def __init__(self, environment):
        self.environment = environment


def templar(**variables):
    return Templar(loader=DataLoader(), variables=variables)


def test_the_task_environment_is_merged_in_order_and_templated():
    environment = [{"PLUTO_URL": "http://play.example", "PLUTO_TOKEN": "play"},
                   None,
                   {"PLUTO_URL": trust_as_template("{{ site }}"), "PLUTO_MAX_INPUT_VARS": 1000}]
    assert task_environment(Task(environment), templar(site="http://task.example")) == {
        "PLUTO_URL": "http://task.example", "PLUTO_TOKEN": "play", "PLUTO_MAX_INPUT_VARS": "1000"}


def test_a_task_without_environment_has_none():
    assert task_environment(Task(None), templar()) == {}
    assert task_environment(Task([]), templar()) == {}


def test_an_environment_that_is_not_a_dict_fails_clearly():
    with pytest.raises(AnsibleError) as error:
        task_environment(Task(["PLUTO_URL=x"]), templar())
    assert "environment must be a dictionary" in str(error.value)


def test_fallbacks_come_from_the_task_environment_and_never_touch_os_environ(monkeypatch):
    monkeypatch.setenv("PLUTO_TOKEN", "from-the-controller")
    before = dict(os.environ)
    args = with_environment_fallbacks(SPEC, {"name": "x"}, {"PLUTO_URL": "http://task.example",
                                                            "PLUTO_VALIDATE_CERTS": "false",
                                                            "PLUTO_MAX_INPUT_VARS": "1000"})
    assert dict(os.environ) == before
    params = ArgumentSpecValidator(SPEC).validate(args).validated_parameters
    assert params["url"] == "http://task.example" and params["validate_certs"] is False
    assert params["max_input_vars"] == 1000
    # Not in the task's environment: the controller's own, as a module process on the controller would see.
    assert params["token"] == "from-the-controller"


def test_given_options_win_over_the_environment():
    args = with_environment_fallbacks(SPEC, {"url": "http://given"}, {"PLUTO_URL": "http://env"})
    assert args["url"] == "http://given"


def test_unknown_options_are_worded_as_the_module_process_words_them():
    validation = ArgumentSpecValidator(SPEC).validate({"url": "u", "token": "t", "nmae": "x"})
    message = validation_failure(validation, "pluto.lms.pluto_cohort")
    assert message.startswith("Unsupported parameters for (pluto.lms.pluto_cohort) module: nmae. Supported parameters include: ")


def test_only_the_first_error_is_the_message_as_in_the_module_process():
    validation = ArgumentSpecValidator(SPEC).validate({"url": "u", "token": "t", "timeout": "x", "retries": "y"})
    assert len(validation.error_messages) == 2
    assert validation_failure(validation, "m") == validation.error_messages[0]


def test_no_log_values_are_the_token_as_given_and_as_resolved():
    assert no_log_values(SPEC, {"token": "a"}, {"token": "b", "url": "c"}) == {"a", "b"}


def exact_types(value):
    """Every type in value, exactly (a str subclass is not str)."""
    if isinstance(value, dict):
        return set([type(value)]).union(*[exact_types(k) | exact_types(v) for k, v in value.items()])
    if isinstance(value, list):
        return set([type(value)]).union(*[exact_types(item) for item in value])
    return set([type(value)])


def test_task_arguments_reach_validation_as_a_module_process_receives_them():
    # Task arguments as the playbook parser makes them: AnsibleUnicode (2.16-2.18) or tagged values (2.19+).
    args = DataLoader().load("include_members: perhaps\nusers: [jdoe, 'u00001']\nbatch: 3\nkeep: {a: [1, yes]}\n")
    plain = as_module_receives(args)
    assert plain == {"include_members": "perhaps", "users": ["jdoe", "u00001"], "batch": 3, "keep": {"a": [1, True]}}
    assert exact_types(plain) <= set([dict, list, str, int, bool])
    spec = full_argument_spec(dict(include_members=dict(type="bool")))
    message = validation_failure(ArgumentSpecValidator(spec).validate(plain), "pluto.lms.pluto_cohort_info")
    module_message = validation_failure(ArgumentSpecValidator(spec).validate({"include_members": "perhaps"}),
                                        "pluto.lms.pluto_cohort_info")
    assert "AnsibleUnicode" not in message and message == module_message

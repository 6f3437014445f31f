# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One action base for every pluto.lms module.

A module process costs about 0.35 s a task; the same plan run here, in the controller
process, costs milliseconds. The action validates the task's arguments against the module's
own argument spec, as AnsibleModule would, and runs the module's plan through the same
run_plan(), so a task never starts a module process and both paths give the same result.

Only public ansible-core interfaces are used, except the task's `environment:` (see
task_environment(), the one guarded helper).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import functools
import json
import os

from ansible.errors import AnsibleError
from ansible.module_utils.basic import missing_required_lib, remove_values
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase

try:  # ansible-core 2.19 and later: the encoder a module's arguments are sent with
    from ansible.module_utils.common.json import Direction, get_module_encoder
    MODULE_ARGS_ENCODER = get_module_encoder("legacy", Direction.CONTROLLER_TO_MODULE)
except ImportError:  # ansible-core 2.16 to 2.18: what module_common sends a module's arguments with
    from ansible.module_utils.common.json import AnsibleJSONEncoder
    MODULE_ARGS_ENCODER = functools.partial(AnsibleJSONEncoder, vault_to_text=True)

from ansible_collections.pluto.lms.plugins.module_utils._client import HAS_REQUESTS
from ansible_collections.pluto.lms.plugins.module_utils._runner import full_argument_spec, run_plan

MODULE_PROCESS_SWITCH = "PLUTO_LMS_MODULE_PROCESS"


def task_environment(task, templar):
    """The task's `environment:` (play, block and task merged, the task's last), templated: what a
    module process of the task would find in its environment on top of the target's own.

    The one place that reads ansible-core's task internals: Task.environment (a list of dicts or
    templates, or one of them) and the action's templar. Anything else fails with a message naming
    the ansible-core version, never with a traceback or a silent empty environment.
    """
    environments = getattr(task, "environment", None)
    if environments is None:
        return {}
    if not isinstance(environments, list):
        environments = [environments]
    merged = {}
    for environment in environments:
        if not environment:
            continue
        try:
            value = templar.template(environment)
        except AttributeError as error:  # an ansible-core whose templar has no template()
            raise AnsibleError("pluto.lms cannot read the task's environment with this ansible-core (%s)" % error)
        if not isinstance(value, dict):
            raise AnsibleError("environment must be a dictionary, received %s (%s)" % (value, type(value)))
        merged.update(value)
    return dict((str(key), value if isinstance(value, str) else str(value)) for key, value in merged.items())


def as_module_receives(args):
    """The task's arguments as a module process receives them: through JSON, with ansible-core's own encoder.
    Plain str, int, list and dict, so validation and its messages match the module's (no AnsibleUnicode or
    tagged values), vaulted values decrypted, and a large argument cheap to validate."""
    return json.loads(json.dumps(args, cls=MODULE_ARGS_ENCODER))


def with_environment_fallbacks(argument_spec, args, environment):
    """args plus, for each option not given whose fallback is env_fallback, the first of its variables
    the task's environment sets. Options still missing fall back to the controller's own environment
    when the validator runs, as a module process on the controller would: os.environ is never changed."""
    resolved = dict(args)
    for name, option in argument_spec.items():
        fallback = option.get("fallback") or (None,)
        if name in resolved or fallback[0] is None or getattr(fallback[0], "__name__", "") != "env_fallback":
            continue
        for variable in (fallback[1] if len(fallback) > 1 else []):
            if variable in environment:
                resolved[name] = environment[variable]
                break
    return resolved


def no_log_values(argument_spec, *parameter_sets):
    """Every value of a no_log option among the parameter sets, as text (what results must never show)."""
    values = set()
    for parameters in parameter_sets:
        for name, option in argument_spec.items():
            value = (parameters or {}).get(name)
            if option.get("no_log") and value not in (None, ""):
                values.add(str(value))
    return values


def validation_failure(validation, module_name):
    """The message AnsibleModule fails with for the same arguments: the first error, unknown options named
    the way the module process names them."""
    error = validation.errors[0]
    message = validation.errors.msg
    if isinstance(error, UnsupportedError):
        message = "Unsupported parameters for (%s) module: %s" % (module_name, message)
    return message


class PlutoActionBase(ActionBase):
    """Subclasses set MODULE_ARGS (the module's AnsibleModule keyword arguments) and PLAN (its plan function)."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    MODULE_ARGS = None
    PLAN = None

    def run(self, tmp=None, task_vars=None):
        result = super(PlutoActionBase, self).run(tmp, task_vars)
        if os.environ.get(MODULE_PROCESS_SWITCH, "").lower() in ("1", "true", "yes"):
            # Troubleshooting switch (and how the parity test proves both paths agree): run the module itself.
            result.update(self._execute_module(module_name=self._task.action, module_args=self._task.args, task_vars=task_vars))
            return result
        if self.MODULE_ARGS is None or self.PLAN is None:
            raise AnsibleError("%s does not name its module arguments and plan" % type(self).__name__)
        spec = full_argument_spec(self.MODULE_ARGS["argument_spec"])
        rules = dict((k, v) for k, v in self.MODULE_ARGS.items() if k != "argument_spec")
        args = with_environment_fallbacks(spec, as_module_receives(self._task.args),
                                          task_environment(self._task, self._templar))
        validation = ArgumentSpecValidator(spec, **rules).validate(args)
        params = validation.validated_parameters
        secrets = no_log_values(spec, args, params)
        if validation.error_messages:
            invocation = dict(args)
            invocation.update(params)
            result.update(failed=True, msg=validation_failure(validation, self._task.action),
                          invocation={"module_args": invocation})
            return remove_values(result, secrets)
        if not HAS_REQUESTS:
            result.update(failed=True, msg=missing_required_lib("requests"))
            return result
        check_mode, diff = bool(self._task.check_mode), bool(self._task.diff)
        outcome = run_plan(type(self).PLAN, params, check_mode=check_mode, diff=diff)
        outcome["invocation"] = {"module_args": params}
        result.update(remove_values(outcome, secrets))
        return result

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One action base for every pluto.lms module.

A module process costs about 0.35 s a task; the same logic run here, in the controller
process, costs milliseconds. The action validates the module's own argument spec and calls
the module's logic function, so a task never starts a module process and both paths give
the same result.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.errors import AnsibleError
from ansible.module_utils.basic import missing_required_lib, remove_values
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.pluto.lms.plugins.module_utils._client import HAS_REQUESTS
from ansible_collections.pluto.lms.plugins.module_utils._runner import full_argument_spec, run_logic, run_plan


class PlutoActionBase(ActionBase):
    """Subclasses set MODULE_ARGS (the module's AnsibleModule keyword arguments) and PLAN (or LOGIC, for a
    module not yet written as a plan)."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    MODULE_ARGS = None
    PLAN = None
    LOGIC = None

    def run(self, tmp=None, task_vars=None):
        result = super(PlutoActionBase, self).run(tmp, task_vars)
        if os.environ.get("PLUTO_LMS_MODULE_PROCESS", "").lower() in ("1", "true", "yes"):
            # Troubleshooting switch (and how the tests prove both paths agree): run the module itself.
            result.update(self._execute_module(module_name=self._task.action, module_args=self._task.args, task_vars=task_vars))
            return result
        if self.MODULE_ARGS is None or (self.PLAN is None and self.LOGIC is None):
            raise AnsibleError("%s does not name its module arguments and plan" % type(self).__name__)
        rules = dict((k, v) for k, v in self.MODULE_ARGS.items() if k != "argument_spec")
        validator = ArgumentSpecValidator(full_argument_spec(self.MODULE_ARGS["argument_spec"]), **rules)
        validation = self._validate_in_task_environment(validator)
        no_log_values = validation._no_log_values  # pylint: disable=protected-access
        if validation.error_messages:
            result.update(failed=True, msg=remove_values("; ".join(validation.error_messages), no_log_values))
            return result
        if not HAS_REQUESTS:
            result.update(failed=True, msg=missing_required_lib("requests"))
            return result
        params = validation.validated_parameters
        if type(self).PLAN is not None:
            outcome = run_plan(type(self).PLAN, params, check_mode=bool(self._task.check_mode), diff=bool(self._task.diff))
        else:
            outcome = run_logic(type(self).LOGIC, params, check_mode=bool(self._task.check_mode), diff=bool(self._task.diff))
        outcome["invocation"] = {"module_args": params}
        result.update(remove_values(outcome, no_log_values))
        return result

    def _validate_in_task_environment(self, validator):
        """Validate the task's arguments with the task's `environment:` in effect.

        The module process sees it, so its options fall back to PLUTO_URL, PLUTO_TOKEN and
        PLUTO_VALIDATE_CERTS set there; the controller's own environment does not hold them.
        """
        task_environment = {}
        self._compute_environment_string(task_environment)
        saved = dict((key, os.environ.get(key)) for key in task_environment)
        os.environ.update((key, str(value)) for key, value in task_environment.items())
        try:
            return validator.validate(self._task.args)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

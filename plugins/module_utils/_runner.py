# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every pluto.lms module shares: connection options, and running one plan.

A module's logic is plan(params, reader) -> Plan (see _plan.py). run_plan() is the one way a
plan runs, for the module (a separate process, run_module) and for the module's action plugin
(the controller): it builds the client and the reader, plans, checks once the
functions the plan needs (derived from its operations and the reads its planner used), then
returns the plan's result in check mode, or applies it (_executor.apply) and returns what the
plan reports of the outcome. It always returns a result dict and never raises.


Private to pluto.lms: not a public API, it may change in any release.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.pluto.lms.plugins.module_utils._client import (
    DEFAULT_MAX_INPUT_VARS,
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    PlutoClient,
    PlutoError,
)
from ansible_collections.pluto.lms.plugins.module_utils._executor import apply
from ansible_collections.pluto.lms.plugins.module_utils._functions import READ_FUNCTIONS, required_functions
from ansible_collections.pluto.lms.plugins.module_utils._reader import DEFAULT_LOOKUP_CONCURRENCY, SiteReader

CONNECTION_ARGUMENT_SPEC = dict(
    # Required, but checked by client_from_params(): tools that validate a task alone (ansible-lint) see neither
    # module_defaults nor the environment, and would report a correct task.
    url=dict(type="str", fallback=(env_fallback, ["PLUTO_URL"])),
    token=dict(type="str", no_log=True, fallback=(env_fallback, ["PLUTO_TOKEN"])),
    validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["PLUTO_VALIDATE_CERTS"])),
    ca_path=dict(type="path"),
    timeout=dict(type="int", default=30),
    retries=dict(type="int", default=3),
    max_input_vars=dict(type="int", default=DEFAULT_MAX_INPUT_VARS, fallback=(env_fallback, ["PLUTO_MAX_INPUT_VARS"])),
    lookup_concurrency=dict(type="int", default=DEFAULT_LOOKUP_CONCURRENCY),
)


def full_argument_spec(module_options):
    """A module's own options plus the connection options."""
    spec = dict(CONNECTION_ARGUMENT_SPEC)
    spec.update(module_options)
    return spec


def given(params, name, default):
    """The option's value; default only when it is not set at all (0 stays 0, and fails as it should)."""
    value = params.get(name)
    return default if value is None else value


def client_from_params(params, check_mode):
    missing = sorted(name for name in ("url", "token") if params.get(name) is None)
    if missing:
        raise PlutoError("missing required arguments: %s" % ", ".join(missing))
    client = PlutoClient(params["url"], params["token"], validate_certs=params["validate_certs"],
                         ca_path=params.get("ca_path"), timeout=params["timeout"], retries=params["retries"],
                         check_mode=check_mode,
                         max_input_vars=given(params, "max_input_vars", DEFAULT_MAX_INPUT_VARS),
                         lookup_concurrency=given(params, "lookup_concurrency", DEFAULT_LOOKUP_CONCURRENCY))
    return client


def failure_result(error, extra=None):
    """A failed task's result: msg first, the errorcode, then the error's own keys."""
    result = {"failed": True, "msg": str(error)}
    if error.errorcode:
        result["errorcode"] = error.errorcode
    for key, value in dict(extra or {}, **error.result).items():
        result.setdefault(key, value)
    result.setdefault("changed", False)
    return result


def finish(result, client, diff):
    warnings = list(client.warnings if client is not None else []) + list(result.get("warnings") or [])
    if warnings:
        result["warnings"] = warnings
    else:
        result.pop("warnings", None)
    if not diff:
        result.pop("diff", None)
    result.setdefault("changed", False)
    return result


def check_functions(client, plan, check_mode):
    """Fail once, naming every function the plan needs that the token's service lacks.

    Check mode never writes: a missing write function is then a warning (the real run would fail).
    """
    needed = required_functions(plan)
    if not check_mode:
        client.require_functions(needed)
        return
    client.require_functions([name for name in needed if name in READ_FUNCTIONS])
    missing = sorted(set(needed) - READ_FUNCTIONS - client.service_functions())
    if missing:
        plan.warnings.append("the token's web service lacks %s: a run without check mode would fail" % ", ".join(missing))


def settle(plan, outcome, client, reader):
    """The result of an applied plan.

    A plan may define follow_up(outcome, reader): after its writes it reads the site back and
    returns the plan whose report is the task's result (its writes are applied first), or None
    for the plan's own report. pluto_cohort uses it to report what the site stored and to
    converge creates of one idnumber by concurrent runs.
    """
    follow_up = getattr(plan, "follow_up", None)
    final = follow_up(outcome, reader) if follow_up is not None else None
    if final is None:
        return plan.report(outcome)
    if final.operations:
        client.require_functions(required_functions(final))
    return final.report(apply(final, client, reader))


def run_plan(plan_fn, params, check_mode, diff):
    """Plan, check, then report (check mode) or apply and report; always a result dict."""
    client = None
    try:
        client = client_from_params(params, check_mode)
        reader = SiteReader(client, client.lookup_concurrency)
        plan = plan_fn(params, reader)
        if plan.operations or check_mode:
            check_functions(client, plan, check_mode)
        if check_mode or not plan.operations:
            result = plan.report(None)
        else:
            result = settle(plan, apply(plan, client, reader), client, reader)
    except PlutoError as error:
        result = failure_result(error)
    finally:
        if client is not None:
            client.close()
    return finish(result, client, diff)


def _module(module_args):
    module = AnsibleModule(argument_spec=full_argument_spec(module_args["argument_spec"]), supports_check_mode=True,
                           **dict((k, v) for k, v in module_args.items() if k != "argument_spec"))
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    return module


def _exit(module, result):
    for warning in result.pop("warnings", []):
        module.warn(warning)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


def run_module(module_args, plan_fn):
    """main() of every pluto.lms module."""
    module = _module(module_args)
    _exit(module, run_plan(plan_fn, module.params, module.check_mode, module._diff))

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every pluto.lms module shares: connection options, and running one plan-then-apply function.

A module's logic is a function logic(params, client, check_mode, diff) -> result dict that
raises PlutoError for anything the user must read. run_logic() calls it the same way for the
module (a separate process) and for the module's action plugin (the controller).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.pluto.lms.plugins.module_utils.client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    PlutoClient,
    PlutoError,
)

CONNECTION_ARGUMENT_SPEC = dict(
    # Required, but checked by run_logic(): tools that validate a task alone (ansible-lint) see neither
    # module_defaults nor the environment, and would report a correct task.
    url=dict(type="str", fallback=(env_fallback, ["PLUTO_URL"])),
    token=dict(type="str", no_log=True, fallback=(env_fallback, ["PLUTO_TOKEN"])),
    validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["PLUTO_VALIDATE_CERTS"])),
    ca_path=dict(type="path"),
    timeout=dict(type="int", default=30),
    retries=dict(type="int", default=3),
)


def full_argument_spec(module_options):
    """A module's own options plus the connection options."""
    spec = dict(CONNECTION_ARGUMENT_SPEC)
    spec.update(module_options)
    return spec


def client_from_params(params, check_mode):
    return PlutoClient(params["url"], params["token"], validate_certs=params["validate_certs"],
                       ca_path=params.get("ca_path"), timeout=params["timeout"], retries=params["retries"],
                       check_mode=check_mode)


def run_logic(logic, params, check_mode, diff):
    """Run a module's logic against the site; always return a result dict, never raise."""
    missing = sorted(name for name in ("url", "token") if params.get(name) is None)
    if missing:
        return dict(failed=True, changed=False, msg="missing required arguments: %s" % ", ".join(missing))
    client = None
    try:
        client = client_from_params(params, check_mode)
        result = logic(params, client, check_mode=check_mode, diff=diff)
    except PlutoError as error:
        result = dict(error.result)
        result.update(failed=True, msg=str(error))
        result.setdefault("changed", False)
        if error.errorcode:
            result["errorcode"] = error.errorcode
    finally:
        if client is not None:
            client.close()
    warnings = list(client.warnings if client is not None else []) + list(result.get("warnings") or [])
    if warnings:
        result["warnings"] = warnings
    else:
        result.pop("warnings", None)
    if not diff:
        result.pop("diff", None)
    result.setdefault("changed", False)
    return result


def run_module(module_args, logic):
    """main() of every pluto.lms module."""
    module = AnsibleModule(argument_spec=full_argument_spec(module_args["argument_spec"]), supports_check_mode=True,
                           **dict((k, v) for k, v in module_args.items() if k != "argument_spec"))
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    result = run_logic(logic, module.params, module.check_mode, module._diff)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)

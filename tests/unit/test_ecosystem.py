# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What users meet before any code runs: the action group, the versions claimed, the EE, and the README.

The README's examples must use only options the modules and the role accept, and it must name
every module, role, playbook and web-service function the collection has.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib
import os
import re

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ansible_collections.pluto.lms.plugins.module_utils._runner import CONNECTION_ARGUMENT_SPEC

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FQCN = "pluto.lms."


def read(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return handle.read()


def names(directory, suffix):
    return sorted(n[:-len(suffix)] for n in os.listdir(os.path.join(ROOT, directory))
                  if n.endswith(suffix) and not n.startswith("_"))


MODULES = names("plugins/modules", ".py")
ROLES = sorted(d for d in os.listdir(os.path.join(ROOT, "roles")) if os.path.isdir(os.path.join(ROOT, "roles", d)))
PLAYBOOKS = names("playbooks", ".yml")
README = read("README.md")
RUNTIME = yaml.safe_load(read("meta", "runtime.yml"))


def module_options(module):
    spec = importlib.import_module("ansible_collections.pluto.lms.plugins.modules." + module).MODULE_ARGS["argument_spec"]
    return set(spec) | set(CONNECTION_ARGUMENT_SPEC)


def role_options(role):
    specs = yaml.safe_load(read("roles", role, "meta", "argument_specs.yml"))["argument_specs"]
    return set(specs["main"]["options"])


def readme_yaml_blocks():
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", README, re.S)]


def walk_tasks(node):
    """Every dict of a YAML example that can be a play, a task or a block (depth first)."""
    if isinstance(node, list):
        for item in node:
            yield from walk_tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always"):
            yield from walk_tasks(node.get(key))


def test_every_module_is_in_the_action_group():
    assert MODULES, "no modules found"
    assert sorted(RUNTIME["action_groups"]["pluto"]) == MODULES


def test_every_module_runs_in_its_routed_action_plugin_of_another_name():
    """meta/runtime.yml routes each module to plugins/action/_<module>.py. An action plugin with the module's
    own name would make ansible-lint's args rule skip every task that calls the module."""
    action_files = sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, "plugins", "action")) if n.endswith(".py"))
    assert not set(action_files) & set(MODULES), "action plugins named as modules: %s" % (set(action_files) & set(MODULES))
    routing = RUNTIME.get("plugin_routing", {}).get("modules", {})
    for module in MODULES:
        assert routing.get(module, {}).get("action_plugin") == FQCN + "_" + module, module
        assert "_" + module in action_files, module
    assert sorted(action_files) == sorted("_" + m for m in MODULES), "action plugins without a module: %s" % action_files


def test_the_execution_environment_installs_every_release_the_collection_claims_and_the_newest():
    """docs/execution-environment.yml: ansible-core as meta/runtime.yml claims it, with no upper bound (the build
    installs the newest), on a Python that every claimed release runs on (2.20 and later need 3.12)."""
    ee = yaml.safe_load(read("docs", "execution-environment.yml"))["dependencies"]
    requirement = ee["ansible_core"]["package_pip"]
    assert requirement.startswith("ansible-core"), requirement
    installs = SpecifierSet(requirement[len("ansible-core"):])
    claimed = SpecifierSet(RUNTIME["requires_ansible"])
    for minor in range(10, 40):
        version = "2.%d.0" % minor
        assert installs.contains(version) == claimed.contains(version), (version, str(installs), str(claimed))
    python = re.search(r"python(3\.\d+)$", ee["python_interpreter"]["python_path"]).group(1)
    assert Version(python) >= Version("3.12"), python
    assert python in ee["python_interpreter"]["package_system"]


def test_the_readme_names_every_module_role_and_playbook():
    missing = [FQCN + n for n in MODULES + ROLES + PLAYBOOKS if FQCN + n not in README]
    assert not missing, "README.md does not mention %s" % ", ".join(missing)


def test_every_module_has_a_readme_example():
    used = set()
    for block in readme_yaml_blocks():
        for task in walk_tasks(block):
            used.update(k[len(FQCN):] for k in task if isinstance(k, str) and k.startswith(FQCN))
    assert set(MODULES) <= used, "README.md has no example task for %s" % ", ".join(sorted(set(MODULES) - used))


def test_readme_examples_use_only_options_that_exist():
    problems = []
    for block in readme_yaml_blocks():
        for task in walk_tasks(block):
            for key, args in task.items():
                if key == "module_defaults":
                    for group, defaults in args.items():
                        assert group == "group/pluto.lms.pluto", group
                        problems.extend("module_defaults: %s" % o for o in set(defaults) - set(CONNECTION_ARGUMENT_SPEC))
                elif isinstance(key, str) and key.startswith(FQCN) and key[len(FQCN):] in MODULES:
                    problems.extend("%s: %s" % (key, o) for o in set(args or {}) - module_options(key[len(FQCN):]))
                elif key == "roles":
                    for role in args:
                        name = role["role"] if isinstance(role, dict) else role
                        assert name.startswith(FQCN) and name[len(FQCN):] in ROLES, name
                        wrong = set(role.get("vars", {}) if isinstance(role, dict) else {}) - role_options(name[len(FQCN):])
                        problems.extend("%s: %s" % (name, o) for o in wrong)
    assert not problems, "README.md examples use options that do not exist: %s" % ", ".join(sorted(problems))


def test_the_readme_lists_every_web_service_function_the_modules_call():
    sources = "".join(read("plugins", "module_utils", n) for n in os.listdir(os.path.join(ROOT, "plugins", "module_utils"))
                      if n.endswith(".py"))
    used = set(re.findall(r"\b(core_[a-z]+_[a-z_]+)\b", sources))
    used.discard("core_user_create_users")  # the client's helper for tests, not used by any module
    assert used, "no web-service functions found"
    missing = sorted(f for f in used if f not in README)
    assert not missing, "README.md does not list the functions %s" % ", ".join(missing)


@pytest.mark.parametrize("name", ["PLUTO_URL", "PLUTO_TOKEN", "PLUTO_VALIDATE_CERTS", "PLUTO_LMS_MODULE_PROCESS"])
def test_environment_variables_in_the_readme_exist_in_the_code(name):
    code = read("plugins", "module_utils", "_runner.py") + read("plugins", "plugin_utils", "action.py")
    assert name in README and '"%s"' % name in code


def test_the_benchmark_block_is_there_once():
    assert README.count("<!-- bench:start -->") == 1 and README.count("<!-- bench:end -->") == 1
    assert README.index("<!-- bench:start -->") < README.index("<!-- bench:end -->")

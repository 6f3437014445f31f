"""What a user's `ansible-lint --profile production` says about tasks that call pluto.lms modules.

Writes a user project with the README's `.ansible-lint` (the args rule on), then runs ansible-lint there:
- for every module of the collection, one playbook per mistake a user makes: an unknown option (`nmae`), a value
  that is not one of the option's choices, a required option left out, a value of the wrong type. Each must be
  reported by the args rule, at its task, naming the option, and nothing else may be reported;
- correct playbooks: one task per module with every option it accepts set, and the README's examples. Nothing may
  be reported for them (the connection comes from module_defaults, which ansible-lint does not read).
Usage (the collection on ANSIBLE_COLLECTIONS_PATH): python .ci/users_lint.py COLLECTION_ROOT
"""

import importlib
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

FQCN = "pluto.lms."
SAMPLES = {"str": "x", "int": 1, "bool": True, "float": 1.5, "path": "/tmp/x", "dict": {}, "raw": "x"}
WRONG_TYPE = ("int", "bool", "float", "dict")


def import_modules(root):
    """Each module's AnsibleModule arguments (MODULE_ARGS), imported from the collection on the collections path."""
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    paths = [p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p]
    _AnsibleCollectionFinder(paths=paths)._install()  # pylint: disable=protected-access
    names = sorted(n[:-3] for n in os.listdir(os.path.join(root, "plugins", "modules")) if n.endswith(".py") and n[0] != "_")
    return dict((n, importlib.import_module("ansible_collections.pluto.lms.plugins.modules." + n).MODULE_ARGS) for n in names)


def sample(option):
    if option.get("choices"):
        return option["choices"][0]
    if option.get("type") == "list":
        return [SAMPLES[option.get("elements", "str")]]
    return SAMPLES[option.get("type", "str")]


def valid_args(module_args, every_option=False):
    """Arguments that pass the module's validation: required options, one of each required_one_of group, and
    with every_option, every other option too (only the first of mutually exclusive ones)."""
    spec = module_args["argument_spec"]
    excluded = set(o for group in module_args.get("mutually_exclusive", []) for o in group[1:])
    wanted = [o for o in spec if spec[o].get("required")]
    wanted += [group[0] for group in module_args.get("required_one_of", [])]
    if every_option:
        wanted += [o for o in spec if o not in excluded]
    return dict((o, sample(spec[o])) for o in spec if o in wanted)


def mistakes(module_args):
    """(rule, arguments, what the report must say) for each mistake the module's argument spec allows."""
    spec = module_args["argument_spec"]
    args = valid_args(module_args)
    found = [("unknown option", dict(args, nmae="x"), r"Unsupported parameters .*\bnmae\b")]
    choice = next((o for o in spec if spec[o].get("choices")), None)
    if choice:
        found.append(("bad choice", dict(args, **{choice: "not-a-choice"}),
                      r"value of %s must be one of: .*got: not-a-choice" % choice))
    required = next((o for o in spec if spec[o].get("required")), None)
    if required:
        found.append(("missing required option", dict((k, v) for k, v in args.items() if k != required),
                      r"missing required arguments: .*\b%s\b" % required))
    elif module_args.get("required_one_of"):
        group = module_args["required_one_of"][0]
        found.append(("missing required option", dict((k, v) for k, v in args.items() if k not in group),
                      r"one of the following is required: %s" % ", ".join(group)))
    exclusive = set(o for group in module_args.get("mutually_exclusive", []) for o in group)
    typed = next((o for o in spec if spec[o].get("type") in WRONG_TYPE and not spec[o].get("choices")
                  and o not in exclusive and o not in args), None)
    if typed:
        found.append(("wrong type", dict(args, **{typed: "not-a-%s" % spec[typed]["type"]}),
                      r"argument '%s' is of type str and we were unable to convert to %s" % (typed, spec[typed]["type"])))
    return found


def play(name, tasks):
    return [{
        "name": name,
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "module_defaults": {"group/pluto.lms.pluto": {"url": "https://courses.example.edu", "token": "{{ pluto_token }}"}},
        "tasks": tasks,
    }]


def readme_lint_config(readme):
    """The README's `.ansible-lint`, offline (no Galaxy here)."""
    for block in re.findall(r"```yaml\n(.*?)```", readme, re.S):
        if block.startswith("# .ansible-lint\n"):
            return dict(yaml.safe_load(block), offline=True)
    raise SystemExit("README.md has no `.ansible-lint` block")


def readme_examples(readme):
    """The README's YAML blocks that are plays or tasks calling the collection, as plays."""
    plays, tasks = [], []
    for block in re.findall(r"```yaml\n(.*?)```", readme, re.S):
        data = yaml.safe_load(block)
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            continue
        if all("hosts" in item for item in data):
            plays.extend(data)
        elif all(any(str(k).startswith(FQCN) for k in item) for item in data):
            tasks.extend(data)
    if tasks:
        plays.extend(play("The README's example tasks", tasks))
    return plays


class IndentedDumper(yaml.SafeDumper):
    """Indents the items of a list under their key, as yamllint (part of ansible-lint) wants."""

    def increase_indent(self, flow=False, indentless=False):
        return super(IndentedDumper, self).increase_indent(flow, False)


def write(path, data):
    with open(path, "w") as handle:
        yaml.dump(data, handle, Dumper=IndentedDumper, explicit_start=True, sort_keys=False, width=150)


def main(root):
    modules = import_modules(root)
    with open(os.path.join(root, "README.md")) as handle:
        readme = handle.read()
    project = tempfile.mkdtemp(prefix="pluto-lms-users-lint-")
    write(os.path.join(project, ".ansible-lint"), readme_lint_config(readme))
    expected = {}
    for module, module_args in modules.items():
        for rule, args, message in mistakes(module_args):
            name = "%s-%s.yml" % (module, rule.replace(" ", "-"))
            task = {"name": "A task with a mistake (%s)" % rule, FQCN + module: args}
            write(os.path.join(project, name), play("Mistake in %s: %s" % (module, rule), [task]))
            expected[name] = message
    correct = [{"name": "Every option of %s" % m, FQCN + m: valid_args(a, every_option=True)} for m, a in modules.items()]
    write(os.path.join(project, "correct.yml"), play("Every module, correctly", correct))
    write(os.path.join(project, "readme.yml"), readme_examples(readme))
    files = sorted(expected) + ["correct.yml", "readme.yml"]
    run = subprocess.run(["ansible-lint", "-f", "json"] + files, cwd=project, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, check=False)
    try:
        issues = json.loads(run.stdout or "[]")
    except ValueError:
        sys.exit("ansible-lint did not answer JSON (exit %d):\n%s\n%s" % (run.returncode, run.stdout, run.stderr))
    failures = []
    for name in files:
        found = [i for i in issues if i["location"]["path"] == name]
        shown = "; ".join("%s: %s" % (i["check_name"], i["description"]) for i in found) or "nothing"
        if name in expected:
            ok = len(found) == 1 and found[0]["check_name"] == "args[module]" and re.search(expected[name], found[0]["description"])
            print("%s %-55s reported %s" % ("ok  " if ok else "FAIL", name, shown))
        else:
            ok = not found
            print("%s %-55s reported %s" % ("ok  " if ok else "FAIL", name, shown))
        if not ok:
            failures.append(name)
    rules = sorted(set(re.sub(r"^[a-z_]+-", "", n[:-4]) for n in expected))
    print("users' lint: %d modules, %d mistakes (%s), %d correct playbooks; %d failed"
          % (len(modules), len(expected), ", ".join(rules), len(files) - len(expected), len(failures)))
    missing_rules = set(["unknown-option", "bad-choice", "missing-required-option", "wrong-type"]) - set(rules)
    if missing_rules:
        failures.append("no module allows the mistake %s" % ", ".join(sorted(missing_rules)))
    if run.returncode not in (0, 2) or "Traceback" in run.stderr:
        print(run.stderr)
        failures.append("ansible-lint exit %d" % run.returncode)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.getcwd()))

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The development tree, which the tarball does not ship: the Makefile, the CI suite and the CI workflow.

Every `make` target that the README and the docs name runs a command (a target in .PHONY that only a pattern
rule could build prints "Nothing to be done" and exits 0); the ansible-core matrix is what the collection claims.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import subprocess

import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return handle.read()


MAKEFILE = read("Makefile")
TEST_SUITE = read(".ci", "test-suite.sh")
RUNTIME = yaml.safe_load(read("meta", "runtime.yml"))
DOCS = ["README.md"] + ["docs/" + n for n in sorted(os.listdir(os.path.join(ROOT, "docs"))) if n.endswith(".md")]
STAGES = re.findall(r"^(?:run_|background_)?stage +([a-z0-9.-]+) ", TEST_SUITE, re.M)
# What each target must run (what the README says it does), as `make -n` shows it.
RUNS = {
    "help": r"echo .make test-<stage>  one stage of make test: lint .*core-2\.21",
    "test": r"bash \.ci/test-suite\.sh$",
    "test-matrix": r"bash \.ci/test-suite\.sh core-2\.16 .*core-2\.21",
    "demo": r"playbooks/demo/run-demo\.sh",
    "bench": r"benchmarks/run\.py",
    "build": r"ansible-galaxy collection build .*--output-path dist",
    "reliability-report": r"tests/reliability/report\.py --run",
    "docs": r"\.ci/docs\.sh build",
    "docs-screenshots": r"\.ci/docs\.sh screenshots",
}
RUNS.update(("test-" + stage, r"bash \.ci/test-suite\.sh %s$" % re.escape(stage)) for stage in STAGES)


def make_dry_run(target):
    """What `make -n TARGET` would run (the venv's stamp counts as up to date, so only the target's own commands)."""
    run = subprocess.run(["make", "-n", "-C", ROOT, "-o", ".venv/.requirements-stamp", target], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    return run.returncode, run.stdout


def named_targets():
    """Every `make X` the README and the docs name; `make test-<stage>` stands for every stage."""
    found = set()
    for doc in DOCS:
        for target in re.findall(r"`make ([a-z][a-z0-9.<>-]*)", read(doc)):
            found.update(["test-" + s for s in STAGES] if target == "test-<stage>" else [target])
    return sorted(found)


def test_the_readme_names_make_targets_and_each_has_a_known_command():
    targets = named_targets()
    assert "test" in targets and "test-units" in targets, targets
    unknown = [t for t in targets if t not in RUNS]
    assert not unknown, "no expected command for %s: add it to RUNS" % unknown


def test_every_named_target_runs_its_command():
    problems = []
    for target in named_targets():
        code, output = make_dry_run(target)
        if code != 0 or "Nothing to be done" in output or not re.search(RUNS[target], output, re.M):
            problems.append("make %s (exit %d): %s" % (target, code, output.strip() or "runs nothing"))
    assert not problems, "\n".join(problems)


def test_every_stage_of_the_suite_is_a_make_target():
    assert "units" in STAGES and "galaxy-import" in STAGES, STAGES
    for stage in STAGES:
        code, output = make_dry_run("test-" + stage)
        assert code == 0 and re.search(RUNS["test-" + stage], output, re.M), (stage, output)


def test_an_unknown_stage_is_an_error():
    code, output = make_dry_run("test-no-such-stage")
    assert code != 0, output


def test_the_claimed_ansible_core_releases_are_those_the_matrix_tests():
    matrix = re.search(r"^CORE_MATRIX := (.*)$", MAKEFILE, re.M).group(1).split()
    needs_3_12 = re.search(r"^CORE_NEEDS_3_12 := (.*)$", MAKEFILE, re.M).group(1).split()
    assert matrix == sorted(matrix, key=Version)
    ee = yaml.safe_load(read("docs", "execution-environment.yml"))["dependencies"]["ansible_core"]["package_pip"]
    for release in matrix:
        pin = re.search(r"^ansible-core==(\S+)$", read(".ci", "requirements-%s.txt" % release), re.M).group(1)
        assert Version(pin).release[:2] == Version(release).release[:2], (release, pin)
        assert re.search(r"^(run_|background_)?stage +core-%s " % re.escape(release), TEST_SUITE, re.M), release
        # the execution environment definition can install every release of the matrix
        assert SpecifierSet(ee[len("ansible-core"):]).contains(pin), (ee, pin)
    # The main run (Python 3.11) is the newest release that runs on Python 3.11.
    main_pin = re.search(r"^ansible-core==(\S+)$", read(".ci", "requirements.txt"), re.M).group(1)
    newest_on_3_11 = [r for r in matrix if r not in needs_3_12][-1]
    assert Version(main_pin).release[:2] == Version(newest_on_3_11).release[:2], (main_pin, newest_on_3_11)
    claimed = SpecifierSet(RUNTIME["requires_ansible"])
    for release in matrix:
        assert claimed.contains(release + ".0"), (release, str(claimed))
    oldest = Version(matrix[0]).release
    assert not claimed.contains("%d.%d.99" % (oldest[0], oldest[1] - 1)), "claims a release older than the matrix"


def test_make_test_runs_the_oldest_and_the_newest_release_the_machine_can_run():
    matrix = re.search(r"^CORE_MATRIX := (.*)$", MAKEFILE, re.M).group(1).split()
    # the oldest unconditionally (a stage, or a background stage in `all`)
    oldest = re.escape(matrix[0])
    assert re.search(r"^(stage +core-%s|background_stage +core-%s +yes) " % (oldest, oldest), TEST_SUITE, re.M), matrix[0]
    newest = subprocess.run(["make", "-s", "-C", ROOT, "print-core-newest"], stdout=subprocess.PIPE,
                            universal_newlines=True, check=True).stdout.strip()
    with_3_12 = subprocess.run(["make", "-s", "-C", ROOT, "print-core-newest", "PYTHON_3_12=/usr/bin/python3.12"],
                               stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.strip()
    without = subprocess.run(["make", "-s", "-C", ROOT, "print-core-newest", "PYTHON_3_12="],
                             stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.strip()
    assert with_3_12 == matrix[-1]
    needs_3_12 = re.search(r"^CORE_NEEDS_3_12 := (.*)$", MAKEFILE, re.M).group(1).split()
    assert without == [r for r in matrix if r not in needs_3_12][-1]
    assert newest in (with_3_12, without)


WORKFLOW = os.path.join(ROOT, ".github", "workflows", "ci.yml")


def lint_workflow(path):
    """The schema of GitHub workflows (check-jsonschema's copy, no download) and zizmor offline; (exit, output)."""
    outputs, worst = [], 0
    for command in (["check-jsonschema", "--builtin-schema", "vendor.github-workflows", path],
                    ["zizmor", "--offline", "--no-progress", "--config", os.path.join(ROOT, ".github", "zizmor.yml"), path]):
        run = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
        outputs.append("$ %s\n%s" % (" ".join(command), run.stdout))
        worst = worst or run.returncode
    return worst, "\n".join(outputs)


def test_the_ci_workflow_passes_the_workflow_linters():
    code, output = lint_workflow(WORKFLOW)
    assert code == 0, output


def test_the_workflow_linters_catch_a_broken_workflow(tmp_path):
    workflow = yaml.safe_load(read(".github", "workflows", "ci.yml"))
    workflow["jobs"]["lint"]["runs-onn"] = workflow["jobs"]["lint"].pop("runs-on")
    broken = tmp_path / "ci.yml"
    broken.write_text(yaml.safe_dump(workflow))
    code, output = lint_workflow(str(broken))
    assert code != 0 and "runs-onn" in output, output
    workflow = yaml.safe_load(read(".github", "workflows", "ci.yml"))
    workflow["jobs"]["lint"]["steps"].append({"run": "echo ${{ github.event.pull_request.title }}"})
    injected = tmp_path / "injected.yml"
    injected.write_text(yaml.safe_dump(workflow))
    code, output = lint_workflow(str(injected))
    assert code != 0 and "template-injection" in output, output


def test_the_ci_workflow_tests_every_claimed_release_and_runs_the_suite_stages():
    workflow = yaml.load(read(".github", "workflows", "ci.yml"), Loader=yaml.BaseLoader)  # "on" stays a string
    matrix = re.search(r"^CORE_MATRIX := (.*)$", MAKEFILE, re.M).group(1).split()
    needs_3_12 = re.search(r"^CORE_NEEDS_3_12 := (.*)$", MAKEFILE, re.M).group(1).split()
    jobs = workflow["jobs"]
    assert jobs["sanity"]["strategy"]["matrix"]["ansible"] == matrix
    for job in ("units", "integration"):
        entries = jobs[job]["strategy"]["matrix"]["include"]
        assert [e["ansible"] for e in entries] == matrix, job
        for entry in entries:
            if entry["ansible"] in needs_3_12:
                assert Version(entry["python"]) >= Version("3.12"), (job, entry)
    integration = " ".join(step.get("run", "") for step in jobs["integration"]["steps"])
    assert "ansible-test integration" in integration and ".ci/requirements-${{ matrix.ansible }}.txt" in integration
    for job, stages in (("lint", ["lint", "users-lint"]), ("galaxy-import", ["galaxy-import"]), ("docs", ["docs-site"])):
        commands = " ".join(step.get("run", "") for step in jobs[job]["steps"])
        for stage in stages:
            assert "test-" + stage in commands.split() and stage in STAGES, (job, stage)
    assert read(".ci", "run").strip().endswith("exec make test")

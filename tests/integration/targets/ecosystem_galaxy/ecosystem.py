# -*- coding: utf-8 -*-
# Copyright: (c) 2026, pluto.lms maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of the ecosystem_galaxy target.

    python ecosystem.py tarball TARBALL SOURCE_DIR PLANTED_PATH...
        What users need is in the tarball; development state (the PLANTED_PATHs among it) is not.
    python ecosystem.py readme-block README FIRST_LINE
        Print the fenced YAML block of README whose first line is FIRST_LINE (fails if there is none).
    python ecosystem.py resolved DIR FQCN...
        ansible-doc finds each plugin in DIR (the installed copy), not anywhere else.
    python ecosystem.py sim-reset URL
    python ecosystem.py sim-writes URL N
        Empty the simulator's request log; assert it logged exactly N writes since.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
import sys
import tarfile

from urllib.request import Request, urlopen

# Files a user of the installed collection reads, or a tool (ansible-builder, antsibull) needs.
REQUIRED_FILES = ["MANIFEST.json", "FILES.json", "README.md", "COPYING", "CHANGELOG.md", "requirements.txt",
                  "bindep.txt", "meta/runtime.yml", "meta/execution-environment.yml", "changelogs/changelog.yaml"]
# Every file of these source directories is shipped (the simulator too: users run it in their own CI).
SHIPPED_DIRS = ["plugins", "roles", "playbooks", "docs", "changelogs", "meta", "tests/simulator",
                "tests/integration/targets/setup_pluto_simulator"]
# Development tooling and its state: never shipped.
FORBIDDEN_PREFIXES = (".ci/", ".github/", "build/", ".venv/", ".venv-", ".ansible/", ".pytest_cache/", "tests/output/", "benchmarks/",
                      "demo-output/", "dist/", "collections/", "Makefile", ".ansible-lint", ".gitignore",
                      "changelogs/.plugin-cache.yaml")


def shipped_source_files(source, planted):
    found = []
    for directory in SHIPPED_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(source, directory)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for name in filenames:
                path = os.path.relpath(os.path.join(dirpath, name), source)
                if not name.endswith(".pyc") and path not in planted and not path.startswith(FORBIDDEN_PREFIXES):
                    found.append(path)
    return found


def check_tarball(tarball, source, *planted):
    with tarfile.open(tarball) as archive:
        files = set(archive.getnames())
        manifest = json.load(archive.extractfile("MANIFEST.json"))
    problems = []
    for name in sorted(files):
        if name.startswith(FORBIDDEN_PREFIXES) or "__pycache__" in name.split("/") or name.endswith(".pyc"):
            problems.append("development file shipped: %s" % name)
    problems.extend("planted development state shipped: %s" % name for name in planted if name in files)
    wanted = REQUIRED_FILES + shipped_source_files(source, planted)
    problems.extend("missing from the tarball: %s" % name for name in wanted if name not in files)
    info = manifest["collection_info"]
    if (info["namespace"], info["name"], info.get("license")) != ("pluto", "lms", ["GPL-3.0-or-later"]):
        problems.append("MANIFEST.json: %s.%s, license %r" % (info["namespace"], info["name"], info.get("license")))
    if problems:
        raise SystemExit("\n".join(problems))
    print("tarball ok: %d entries; %d required files present; %d planted paths left out"
          % (len(files), len(wanted), len(planted)))


def readme_block(readme, first_line):
    lines = open(readme).read().splitlines()
    for start, line in enumerate(lines):
        if line.strip() == "```yaml" and start + 1 < len(lines) and lines[start + 1].strip() == first_line:
            end = lines.index("```", start + 1)
            print("\n".join(lines[start + 1:end]))
            return
    raise SystemExit("no ```yaml block starting with %r in %s" % (first_line, readme))


def resolved(directory, *names):
    docs = json.loads(subprocess.check_output(["ansible-doc", "--json"] + list(names)))
    directory = os.path.realpath(directory)
    for name in names:
        path = os.path.realpath(docs[name]["doc"]["filename"])
        if not path.startswith(directory + os.sep):
            raise SystemExit("%s resolves to %s, not to the installed copy %s" % (name, path, directory))
        print("%s -> %s" % (name, path))


def sim(url, path, method="GET"):
    request = Request(url.rstrip("/") + path, data=b"" if method == "POST" else None)
    request.get_method = lambda: method
    return json.loads(urlopen(request, timeout=10).read().decode("utf-8"))


def sim_reset(url):
    sim(url, "/_sim/reset", "POST")


def sim_writes(url, expected):
    writes = [entry["wsfunction"] for entry in sim(url, "/_sim/requests") if entry.get("write")]
    if len(writes) != int(expected):
        raise SystemExit("expected %s writes, the simulator logged %d: %s" % (expected, len(writes), writes))
    print("simulator logged %d writes" % len(writes))


COMMANDS = {"tarball": check_tarball, "readme-block": readme_block, "resolved": resolved,
            "sim-reset": sim_reset, "sim-writes": sim_writes}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])

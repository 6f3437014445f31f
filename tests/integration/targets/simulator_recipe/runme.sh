#!/usr/bin/env bash
# The README's "Test your playbooks against the simulator in CI", run exactly as written: the recipe between
# <!-- simulator-ci:start --> and <!-- simulator-ci:end -->, in an empty project holding the README's seed.yml and
# the quick start's cohorts.yml, with the collection installed from a freshly built tarball (PLUTO_LMS, the
# recipe's one variable) and `python3` the test's Python. Then: the simulator it started is gone, and the
# playbook really ran against it.
set -eux
COLLECTION_ROOT="${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/pluto/lms"
PYTHON="${ANSIBLE_TEST_PYTHON_INTERPRETER:-$(command -v python3)}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pluto-recipe.XXXXXX")"
PROJECT="$WORK/project"
cleanup() {
    if [ -s "$PROJECT/sim.pid" ]; then
        kill "$(cat "$PROJECT/sim.pid")" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# The fenced block of README.md that follows the line matching $1 (markers), or whose first line is $1.
readme_block_after() {
    awk -v start="$1" '
        index($0, start) == 1 { found = 1; next }
        found && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }' "$COLLECTION_ROOT/README.md"
}
readme_block_named() {
    awk -v first="$1" '
        /^```/ { if (inside) { if (keep) exit; inside = 0; next } inside = 1; keep = 0; line = 0; next }
        inside { line++; if (line == 1 && $0 == first) keep = 1; if (keep) print }' "$COLLECTION_ROOT/README.md"
}

mkdir -p "$PROJECT" "$WORK/bin"
readme_block_after '<!-- simulator-ci:start -->' > "$WORK/recipe.sh"
grep -q 'tests/simulator' "$WORK/recipe.sh"
# The recipe ends where the markers say.
awk '/<!-- simulator-ci:start -->/,/<!-- simulator-ci:end -->/' "$COLLECTION_ROOT/README.md" | grep -q 'kill "$(cat sim.pid)"'
readme_block_named '# seed.yml' > "$PROJECT/seed.yml"
readme_block_named '# cohorts.yml' > "$PROJECT/cohorts.yml"
grep -q 'pluto.lms.pluto_cohort_member' "$PROJECT/cohorts.yml"

ansible-galaxy collection build --output-path "$WORK/dist" "$COLLECTION_ROOT"
TARBALL="$(ls "$WORK"/dist/pluto-lms-*.tar.gz)"
# A wrapper, not a symlink: a symlink to a venv's python runs the base interpreter, without the venv's packages.
printf '#!/bin/sh\nexec "%s" "$@"\n' "$PYTHON" > "$WORK/bin/python3"
chmod +x "$WORK/bin/python3"

# As a CI job runs it: a fresh shell in the project, nothing of this test's Ansible settings, bash -e.
cd "$PROJECT"
env -u ANSIBLE_COLLECTIONS_PATH -u ANSIBLE_COLLECTIONS_PATHS PATH="$WORK/bin:$PATH" PLUTO_LMS="$TARBALL" \
    bash -eu "$WORK/recipe.sh" 2>&1 | tee "$WORK/recipe.log"
[ "${PIPESTATUS[0]}" -eq 0 ]

# The collection was installed where the recipe says, and the simulator started from it.
[ -f "$PROJECT/collections/ansible_collections/pluto/lms/MANIFEST.json" ]
grep -q 'changed=0' "$PROJECT/second-run.log"
# The first run created the cohort and added the three users on the simulator.
grep -Eq 'changed=[1-9]' "$WORK/recipe.log"
# The recipe stopped its simulator: at exit the simulator removes the ready and pid files it wrote.
for _ in $(seq 100); do
    [ -e "$PROJECT/sim.url" ] || [ -e "$PROJECT/sim.pid" ] || break
    sleep 0.1
done
if [ -e "$PROJECT/sim.url" ] || [ -e "$PROJECT/sim.pid" ]; then
    echo "the recipe's simulator is still running" >&2
    exit 1
fi

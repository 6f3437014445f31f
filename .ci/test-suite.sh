#!/usr/bin/env bash
# The whole pluto.lms suite (what `make test` and CI run). The repository root is the collection root.
#   bash .ci/test-suite.sh            all stages
#   bash .ci/test-suite.sh units      one stage (lint, sanity, units, integration, ...)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv}"
case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac
export PATH="$VENV/bin:$PATH"
export PIP_DISABLE_PIP_VERSION_CHECK=1 ANSIBLE_NOCOLOR=1 PY_COLORS=0 NO_COLOR=1
# Never rely on interpreter discovery: it can find pyenv shims without the collection's requirements.
export ANSIBLE_PYTHON_INTERPRETER="$VENV/bin/python"
PYV="$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
ONLY="${1:-all}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/pluto-lms-test.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# ansible-test downloads get-pip from a host this network cannot reach: put an offline stand-in in its cache.
AT="$(python -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')"
PIPV="$(sed -n "s/^ *pip='\([0-9.]*\)',\{0,1\}$/\1/p" "$AT/_internal/python_requirements.py" | head -1)"
mkdir -p "$HOME/.ansible/test/cache"
cp .ci/get_pip_offline.py "$HOME/.ansible/test/cache/get_pip_${PIPV//./_}.py"

# ansible-test needs the physical cwd to be .../ansible_collections/pluto/lms: copy the files git knows.
COLL="$WORK/ansible_collections/pluto/lms"
mkdir -p "$COLL"
git ls-files -z -co --exclude-standard | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$COLL"
export ANSIBLE_COLLECTIONS_PATH="$WORK"

PASSED=0; FAILED=0; SUMMARY=()
stage() {
    local name="$1" t0=$SECONDS; shift
    [ "$ONLY" = all ] || [ "$ONLY" = "$name" ] || return 0
    echo "=== $name: $*"
    if (cd "$COLL" && timeout 1500 "$@"); then PASSED=$((PASSED + 1)); SUMMARY+=("PASS $name $((SECONDS - t0))s")
    else FAILED=$((FAILED + 1)); SUMMARY+=("FAIL $name $((SECONDS - t0))s"); fi
}

ansible --version | head -1
stage lint        ansible-lint --offline
stage sanity      ansible-test sanity --python "$PYV" --color no
stage units       ansible-test units --python "$PYV" --requirements --color no
stage integration ansible-test integration --python "$PYV" --color no
[ -f tests/extra-stages.sh ] && . tests/extra-stages.sh

mkdir -p "$ROOT/tests/output" && cp -r "$COLL/tests/output/junit" "$ROOT/tests/output/" 2>/dev/null
printf '%s\n' "${SUMMARY[@]}"
echo "suite: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]

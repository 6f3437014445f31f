#!/usr/bin/env bash
# The whole pluto.lms suite (what `make test` and CI run). The repository root is the collection root.
#   bash .ci/test-suite.sh                     all stages of `make test`
#   bash .ci/test-suite.sh units integration   only the named stages
# Stages in `make test`: lint users-lint sanity units integration reliability galaxy galaxy-import docs docs-site
# changelog ee repo-tests core-2.16, and core-X.Y for the newest release this machine's Pythons run (core-2.21 with a Python 3.12).
# The other core-X.Y only when named (`make test-matrix` names every core-X.Y of the Makefile's CORE_MATRIX).
# core-X.Y runs, with ansible-core X.Y (in .venv-X.Y, made by make), what depends on ansible-core (CORE_SCOPE below):
# the unit tests of the code that imports it, the integration targets that go through its interfaces, and galaxy.
# The core-X.Y stages run in the background, two at a time (background_stage), as do integration and reliability.
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
SELECTED=("$@")
[ "${#SELECTED[@]}" -gt 0 ] || SELECTED=(all)
ONLY="${SELECTED[0]}"
# Where the junit reports of ansible-test end up (core-X.Y runs keep theirs apart).
JUNIT_DIR="${JUNIT_DIR:-$ROOT/tests/output/junit}"

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
export ROOT VENV PYV WORK COLL

# wanted NAME [in_all]: was the stage named, or is it part of `all`?
wanted() {
    local s
    for s in "${SELECTED[@]}"; do
        [ "$s" = "$1" ] && return 0
        [ "$s" = all ] && [ "${2:-yes}" = yes ] && return 0
    done
    return 1
}

PASSED=0; FAILED=0; SUMMARY=()
# run_stage NAME IN_ALL COMMAND...: a stage fails when its command fails. A shell function of this
# file runs in a fresh bash with `set -euo pipefail`, so any failing command inside it fails the stage.
run_stage() {
    local name="$1" in_all="$2" t0=$SECONDS rc; shift 2
    wanted "$name" "$in_all" || return 0
    echo "=== $name: $*"
    if declare -F "$1" >/dev/null; then
        (cd "$COLL" && timeout 1500 bash -c "$(declare -f); set -euo pipefail; $*")
    else
        (cd "$COLL" && timeout 1500 "$@")
    fi
    rc=$?
    if [ "$rc" -eq 0 ]; then PASSED=$((PASSED + 1)); SUMMARY+=("PASS $name $((SECONDS - t0))s")
    else FAILED=$((FAILED + 1)); SUMMARY+=("FAIL $name $((SECONDS - t0))s (exit $rc)"); fi
}
stage() { local name="$1"; shift; run_stage "$name" yes "$@"; }

# ---- the stage functions ---------------------------------------------------------------------

# shellcheck source=.ci/ecosystem-tools.sh
. "$ROOT/.ci/ecosystem-tools.sh"

# render_doc TYPE NAME: ansible-doc must render the plugin, with no error or warning on stderr
# (ansible-doc exits 0 for a plugin whose documentation is missing, and says so only there).
render_doc() {
    local type="$1" name="$2" out="$WORK/doc.out" err="$WORK/doc.err"
    if ! ansible-doc -t "$type" "$name" >"$out" 2>"$err"; then
        echo "FAIL ansible-doc -t $type $name"; cat "$err"; return 1
    fi
    if grep -q . "$err"; then
        echo "FAIL ansible-doc -t $type $name wrote to stderr:"; cat "$err"; return 1
    fi
    if ! grep -q "pluto\.lms\.${name#pluto.lms.}" "$out"; then
        echo "FAIL ansible-doc -t $type $name: the output does not name the plugin"; cat "$out"; return 1
    fi
    case "$type" in
        module)
            local section
            for section in OPTIONS ATTRIBUTES EXAMPLES "RETURN VALUES"; do
                grep -q "^$section" "$out" || { echo "FAIL ansible-doc $name: no $section"; cat "$out"; return 1; }
            done ;;
        role)
            grep -q "ENTRY POINT: .*main" "$out" || { echo "FAIL ansible-doc -t role $name: no main entry point"; cat "$out"; return 1; }
            grep -qi "^options" "$out" || { echo "FAIL ansible-doc -t role $name: no options"; cat "$out"; return 1; } ;;
    esac
    echo "ok   ansible-doc -t $type $name ($(wc -l <"$out") lines)"
}

# Every module, every role and every other documented plugin renders with ansible-doc, and
# antsibull-docs lints the whole collection's documentation (references between plugins included).
check_docs() {
    ecosystem_tools
    local failed=0 file name type names
    for file in plugins/modules/*.py; do
        render_doc module "pluto.lms.$(basename "$file" .py)" || failed=$((failed + 1))
    done
    for file in roles/*/meta/argument_specs.yml; do
        [ -e "$file" ] || continue
        name="${file#roles/}"; render_doc role "pluto.lms.${name%%/*}" || failed=$((failed + 1))
    done
    for file in roles/*/; do
        [ -e "$file/meta/argument_specs.yml" ] || { echo "FAIL role ${file%/}: no meta/argument_specs.yml"; failed=$((failed + 1)); }
    done
    for type in filter test lookup inventory callback connection; do
        names="$(ansible-doc -t "$type" -l pluto.lms --json 2>/dev/null | python -c 'import json, sys; print("\n".join(sorted(json.load(sys.stdin))))')"
        for name in $names; do
            render_doc "$type" "$name" || failed=$((failed + 1))
        done
    done
    antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs all --disallow-unknown-collection-refs . \
        || failed=$((failed + 1))
    [ "$failed" -eq 0 ] || { echo "docs: $failed check(s) failed"; return 1; }
}

# Fragments and changelogs/changelog.yaml lint; CHANGELOG.md is what antsibull-changelog generates
# from changelog.yaml; the version in galaxy.yml has a release entry.
check_changelog() {
    ecosystem_tools
    antsibull-changelog lint
    antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
    cp CHANGELOG.md "$WORK/CHANGELOG.md.committed"
    antsibull-changelog generate
    diff -u "$WORK/CHANGELOG.md.committed" CHANGELOG.md || { echo "CHANGELOG.md is stale: run antsibull-changelog generate"; return 1; }
    python - <<'PY'
import yaml
version = yaml.safe_load(open("galaxy.yml"))["version"]
releases = yaml.safe_load(open("changelogs/changelog.yaml"))["releases"]
assert version in releases, "galaxy.yml version %s has no entry in changelogs/changelog.yaml (%s)" % (version, sorted(releases))
print("galaxy.yml version %s has a release entry" % version)
PY
}

# The execution environment: ansible-builder reads meta/execution-environment.yml of the installed
# collection and finds exactly our Python and system requirements; `ansible-builder create` makes a
# build context from the EE definition shown to users (docs/execution-environment.yml). No image build.
check_ee() {
    ecosystem_tools
    local ee="$WORK/ee"
    mkdir -p "$ee"
    ansible-galaxy collection build --output-path "$ee/dist" .
    # (only its own path: ansible-galaxy skips a collection it finds on the configured path)
    ANSIBLE_COLLECTIONS_PATH="$ee/collections" ansible-galaxy collection install -p "$ee/collections" "$ee"/dist/pluto-lms-*.tar.gz
    # ansible-builder would guess requirements.txt and bindep.txt without the metadata: require it, naming both
    python - "$ee/collections/ansible_collections/pluto/lms" <<'PY'
import os
import sys
import yaml
meta = yaml.safe_load(open(os.path.join(sys.argv[1], "meta", "execution-environment.yml")))
deps = meta["dependencies"]
for kind in ("python", "system"):
    assert os.path.isfile(os.path.join(sys.argv[1], deps[kind])), "%s requirements %s are not installed" % (kind, deps[kind])
print("meta/execution-environment.yml: python %(python)s, system %(system)s" % deps)
PY
    ansible-builder introspect --sanitize --write-pip "$ee/pip.txt" --write-bindep "$ee/bindep.txt" "$ee/collections"
    local kind ours found
    for kind in pip:requirements.txt bindep:bindep.txt; do
        ours="$(grep -v '^\s*#' "${kind#*:}" | sed '/^\s*$/d' | sort)"
        found="$(sed 's/  # from collection pluto\.lms$//' "$ee/${kind%%:*}.txt" | sed '/^\s*$/d' | sort)"
        echo "ansible-builder introspect ${kind%%:*}: $found"
        [ -n "$ours" ] && [ "$ours" = "$found" ] || { echo "FAIL: expected ${kind#*:}: $ours"; return 1; }
    done
    ansible-builder create -f docs/execution-environment.yml -c "$ee/context" --output-filename Containerfile
    test -s "$ee/context/Containerfile"
    grep -q "introspect" "$ee/context/Containerfile"
    python - "$ee/context/_build/requirements.yml" <<'PY'
import sys
import yaml
names = [c["name"] for c in yaml.safe_load(open(sys.argv[1]))["collections"]]
assert "pluto.lms" in names, names
print("build context installs %s" % ", ".join(names))
PY
}

# The reliability suite (tests/reliability): the fault and bad-input matrices, the token kept secret and TLS,
# as ansible-playbook runs against simulators; docs/reliability.md must be what this run observes.
check_reliability() {
    python -m pytest tests/reliability -q -p no:cacheprovider
    python tests/reliability/report.py --check
}

# The import that Galaxy and Automation Hub run on an upload: galaxy-importer on the tarball, with every check it
# has but its container-based ansible-test (.ci/galaxy-importer.cfg). Any ERROR or WARNING line fails the stage,
# except the one kind the importer causes by itself: it runs flake8 on every file under plugins/filter/, the YAML
# documentation of each filter included, and reports that YAML as a Python syntax error (E999).
check_galaxy_import() {
    local gi="$ROOT/.venv-galaxy-importer" out="$WORK/galaxy-importer.out" problems
    make -s -C "$ROOT" venv-galaxy-importer
    ansible-galaxy collection build --force --output-path "$WORK/galaxy-import" .
    local rc=0
    PATH="$gi/bin:$PATH" GALAXY_IMPORTER_CONFIG="$ROOT/.ci/galaxy-importer.cfg" \
        "$gi/bin/python" -m galaxy_importer.main "$WORK"/galaxy-import/pluto-lms-*.tar.gz >"$out" 2>&1 || rc=$?
    grep -v '^\s*$' "$out" | grep -Ev '^(Loading|Linting) ' || true
    [ "$rc" -eq 0 ] || { echo "FAIL: galaxy-importer exited $rc"; return 1; }
    grep -q '^Importer processing completed successfully' "$out" || { echo "FAIL: the import did not complete"; return 1; }
    problems="$(grep -E '^(ERROR|WARNING)' "$out" | grep -Ev '^WARNING: plugins/filter/[^/: ]+\.ya?ml:[0-9]+:[0-9]+: E999 ' || true)"
    [ -z "$problems" ] || { echo "FAIL: the import reported:"; echo "$problems"; return 1; }
    echo "galaxy-importer $("$gi/bin/python" -c 'import importlib.metadata as m; print(m.version("galaxy-importer"))'):" \
        "imported with no error and no warning from the collection" \
        "($(grep -c '^WARNING: plugins/filter/.*E999 ' "$out" || true) flake8 E999 on filter YAML docs, the importer's own)"
}

# Units from the collection as users get it: the tarball built and installed, and ansible-test units run in the
# installed copy, so the shipped tests need nothing that the tarball leaves out.
units_installed() {
    local inst="$WORK/units-installed"
    ansible-galaxy collection build --force --output-path "$inst/dist" .
    ANSIBLE_COLLECTIONS_PATH="$inst/collections" ansible-galaxy collection install -p "$inst/collections" "$inst"/dist/pluto-lms-*.tar.gz
    cd "$inst/collections/ansible_collections/pluto/lms"
    test ! -e .ci && test ! -e benchmarks && test ! -e Makefile
    # shellcheck disable=SC2086 # UNIT_TARGETS: paths, split on purpose
    ansible-test units --python "$PYV" --requirements --color no ${UNIT_TARGETS:-}
    mkdir -p "$COLL/tests/output/junit" && cp -r tests/output/junit/. "$COLL/tests/output/junit/"
}

# The documentation site built with antsibull-docs and Sphinx from the tarball (what `make docs` builds), and its
# pages checked: each module page has its options, attributes, examples and return values; no markup left as text.
check_docs_site() {
    DOCS_OUT="$WORK/docs-site" bash .ci/docs.sh build
    DOCS_OUT="$WORK/docs-site" bash .ci/docs.sh check
}

# The development tree's own tests, which the tarball does not ship (.ci/tests: the Makefile's targets, the matrix,
# the CI workflow and its linters; benchmarks/tests: the benchmark report).
check_repo() {
    ecosystem_tools
    python -m pytest -q -p no:cacheprovider .ci/tests benchmarks/tests
}

# core_in_make_test X.Y: is core-X.Y part of `make test`? The oldest claimed release is (its own line below), and
# so is the newest one this machine's Pythons run (the Makefile's CORE_NEWEST) unless the main run is that release.
core_in_make_test() {
    [ "$1" = "$CORE_NEWEST" ] && [ "$1" != "$CORE_MAIN" ] && echo yes || echo no
}


# What another ansible-core release can change: the unit tests of the code that imports ansible-core (the action
# base, the filters, the documentation and metadata checks), and the integration targets that go through its
# interfaces (both paths of every module in pluto_parity, the CSV filter and playbooks, a whole tenant, an install
# from the tarball; galaxy runs the role, the playbooks and the AWX patterns). The plans, the executor and the
# simulator import nothing of ansible-core: the main run tests them.
# core_matrix X.Y: that scope with ansible-core X.Y in its own venv.
core_matrix() {
    make -s -C "$ROOT" "venv-$1"
    VENV="$ROOT/.venv-$1" JUNIT_DIR="$ROOT/tests/output/junit-core-$1" \
        UNIT_TARGETS="tests/unit/plugins/plugin_utils/ tests/unit/plugins/filter/ tests/unit/test_ecosystem.py tests/unit/test_user_docs.py" \
        INTEGRATION_TARGETS="pluto_parity pluto_cohorts playbooks_sync_members simulator_recipe" \
        bash "$ROOT/.ci/test-suite.sh" units integration galaxy
}

# background_stage NAME IN_ALL COMMAND...: run_stage, in the background, at most STAGES_AT_ONCE (default 2) at a time;
# wait_background_stages prints each one's output, in order, once it is done, and counts it as a stage.
BACKGROUND=()
background_stage() {
    local name="$1"
    wanted "$name" "$2" || return 0
    while [ "$(jobs -pr | wc -l)" -ge "${STAGES_AT_ONCE:-2}" ]; do wait -n || true; done
    ( run_stage "$@"; printf '%s\n' "${SUMMARY[@]}" >"$WORK/$name.summary" ) >"$WORK/$name.log" 2>&1 &
    BACKGROUND+=("$name:$!")
}
wait_background_stages() {
    local entry name line
    for entry in "${BACKGROUND[@]}"; do
        name="${entry%%:*}"
        wait "${entry##*:}" || true
        cat "$WORK/$name.log"
        line="$(tail -n 1 "$WORK/$name.summary" 2>/dev/null || echo "FAIL $name (no result)")"
        case "$line" in PASS*) PASSED=$((PASSED + 1)) ;; *) FAILED=$((FAILED + 1)) ;; esac
        SUMMARY+=("$line (in the background)")
    done
    BACKGROUND=()
}

# ---- the stages ------------------------------------------------------------------------------

ansible --version | sed -n 1p
CORE_MAIN="$(python -c 'import ansible.release as r; print(".".join(r.__version__.split(".")[:2]))')"
CORE_NEWEST="$(make -s -C "$ROOT" print-core-newest)"
if [ "$ONLY" = all ]; then
    echo "ansible-core in this run: $CORE_MAIN (the main run, Python $PYV), 2.16 (core-2.16, the oldest claimed)," \
         "$CORE_NEWEST (the newest this machine's Pythons run$([ "$CORE_NEWEST" = "$CORE_MAIN" ] && echo ': the main run' || echo ", core-$CORE_NEWEST"))"
fi
stage lint        ansible-lint --offline
stage users-lint  python .ci/users_lint.py .
stage sanity      ansible-test sanity --python "$PYV" --color no
stage units       units_installed
# integration and reliability run ansible-playbook against simulators, one target or case at a time (about one
# core each): side by side in the background.
# shellcheck disable=SC2086 # INTEGRATION_TARGETS: target names, split on purpose
background_stage integration yes ansible-test integration --python "$PYV" --color no --exclude ecosystem_galaxy ${INTEGRATION_TARGETS:-}
background_stage reliability yes check_reliability
wait_background_stages
stage galaxy      ansible-test integration --python "$PYV" --color no ecosystem_galaxy
stage galaxy-import check_galaxy_import
stage docs        check_docs
stage docs-site   check_docs_site
stage changelog   check_changelog
stage ee          check_ee
stage repo-tests  check_repo
# `make test` runs the oldest ansible-core the collection claims and the newest this machine runs (see above).
# The core-X.Y stages go on two at a time: their integration targets keep about one core busy each.
background_stage core-2.16 yes                             core_matrix 2.16
background_stage core-2.17 "$(core_in_make_test 2.17)"     core_matrix 2.17
background_stage core-2.18 "$(core_in_make_test 2.18)"     core_matrix 2.18
background_stage core-2.19 "$(core_in_make_test 2.19)"     core_matrix 2.19
background_stage core-2.20 "$(core_in_make_test 2.20)"     core_matrix 2.20
background_stage core-2.21 "$(core_in_make_test 2.21)"     core_matrix 2.21
wait_background_stages
[ -f tests/extra-stages.sh ] && . tests/extra-stages.sh

mkdir -p "$JUNIT_DIR" && cp -r "$COLL/tests/output/junit/." "$JUNIT_DIR/" 2>/dev/null
printf '%s\n' "${SUMMARY[@]}"
echo "suite: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]

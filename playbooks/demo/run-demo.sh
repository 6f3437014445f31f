#!/usr/bin/env bash
# make demo: the collection's main job, end to end, on two simulated Pluto LMS tenants.
#   1. start two simulators (tenants lakeside and hillcrest, 40 seeded users each) on free ports
#   2. provision both with the cohort_bootstrap role (playbooks/provision_tenants.yml)
#   3. audit both in check mode (playbooks/audit_cohorts.yml): clean
#   4. change hillcrest behind the collection's back, through the web service: rename a cohort, drop a member
#   5. audit again: the report names exactly that drift; show it
# The simulators are stopped on exit, whatever happens. The script checks its own outcome and exits non-zero if
# the first audit is not clean or the second does not name exactly the drift made in step 4.
# Environment: VENV (the Makefile's), DEMO_OUTPUT (default: demo-output/ in the repository).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
START=$SECONDS
if [ -n "${VENV:-}" ]; then
    case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac
    export PATH="$VENV/bin:$PATH"
fi
# The venv's Python (make demo), else the test's (ansible-test), else python3; it needs requests.
if [ -x "${VENV:-/nonexistent}/bin/python" ]; then
    PYTHON="$VENV/bin/python"
else
    PYTHON="${ANSIBLE_TEST_PYTHON_INTERPRETER:-$(command -v python3)}"
fi
OUT="${DEMO_OUTPUT:-$ROOT/demo-output}"
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
WORK="$(mktemp -d "${TMPDIR:-/tmp}/pluto-demo.XXXXXX")"
say() { printf '\n==> %s\n' "$*"; }

# Ansible finds the collection through a tree that links to this checkout.
mkdir -p "$WORK/ansible_collections/pluto"
ln -s "$ROOT" "$WORK/ansible_collections/pluto/lms"
export ANSIBLE_COLLECTIONS_PATH="$WORK"
export ANSIBLE_RETRY_FILES_ENABLED=false ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false

export ANSIBLE_PYTHON_INTERPRETER="$PYTHON"

# The simulators, started with the documented command (docs/simulator.md), as users start it from an
# installed collection: python3 COLLECTION/tests/simulator. Every one is stopped on exit.
SIM_PIDS=()
stop_simulators() {
    local pid
    for pid in "${SIM_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${SIM_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap 'stop_simulators; rm -rf "$WORK"' EXIT

# start_simulator NAME TOKEN: one tenant's simulator, 40 seeded users; sets <NAME>_PLUTO_URL and _TOKEN.
start_simulator() {
    local name="${1^^}" token="$2" ready="$WORK/$1.url" waited=0
    "$PYTHON" "$ROOT/tests/simulator" --port 0 --ready-file "$ready" --exit-with-parent \
        --seed-users 40 --token "$token:manager" >"$WORK/$1.log" 2>&1 &
    SIM_PIDS+=("$!")
    until [ -s "$ready" ]; do
        sleep 0.1
        waited=$((waited + 1))
        if [ "$waited" -gt 300 ]; then
            echo "the simulator of $1 did not start:" >&2
            cat "$WORK/$1.log" >&2
            return 1
        fi
    done
    printf -v "${name}_PLUTO_URL" '%s' "$(cat "$ready")"
    printf -v "${name}_PLUTO_TOKEN" '%s' "$token"
    export "${name}_PLUTO_URL" "${name}_PLUTO_TOKEN"
}

playbook() {
    ansible-playbook -i "$ROOT/playbooks/inventory/example.yml" "$@"
}

say "Starting two simulated tenants"
start_simulator lakeside "lakeside-manager-token"
start_simulator hillcrest "hillcrest-manager-token"
echo "lakeside:  $LAKESIDE_PLUTO_URL"
echo "hillcrest: $HILLCREST_PLUTO_URL"

say "Provisioning both tenants with the cohort_bootstrap role"
playbook "$ROOT/playbooks/provision_tenants.yml"

rm -rf "$OUT"
mkdir -p "$OUT"
say "Auditing both tenants (check mode): expect clean"
playbook "$ROOT/playbooks/audit_cohorts.yml" -e "cohort_audit_dir=$OUT/first-audit"

say "Changing hillcrest behind the collection's back: rename cohort faculty, drop u00002 from it"
"$PYTHON" "$ROOT/playbooks/demo/drift.py" "$HILLCREST_PLUTO_URL" "$HILLCREST_PLUTO_TOKEN" faculty "Faculty (renamed by hand)" u00002

say "Auditing both tenants again: expect exactly that drift on hillcrest"
playbook "$ROOT/playbooks/audit_cohorts.yml" -e "cohort_audit_dir=$OUT"

"$PYTHON" - "$OUT/first-audit/cohort-audit.json" "$OUT/cohort-audit.json" <<'EOF'
"""The demo checks itself: a clean first audit, then exactly the drift drift.py made."""
import json
import sys

first, second = (json.load(open(path)) for path in sys.argv[1:3])
clean = {"status": "clean", "created": [], "changed": [], "deleted": [], "members": []}
problems = []
for name in ("lakeside", "hillcrest"):
    if {k: v for k, v in first["tenants"][name].items() if k != "url"} != clean:
        problems.append("first audit: %s is not clean: %s" % (name, first["tenants"][name]))
if {k: v for k, v in second["tenants"]["lakeside"].items() if k != "url"} != clean:
    problems.append("second audit: lakeside is not clean: %s" % second["tenants"]["lakeside"])
expected = dict(clean, status="drift",
                changed=[{"idnumber": "faculty", "fields": {"name": {"old": "Faculty (renamed by hand)", "new": "Faculty"}}}],
                members=[{"idnumber": "faculty", "added": ["u00002"], "removed": []}])
got = {k: v for k, v in second["tenants"]["hillcrest"].items() if k != "url"}
if got != expected:
    problems.append("second audit: hillcrest shows %s, expected %s" % (got, expected))
if problems:
    sys.exit("demo check FAILED:\n" + "\n".join(problems))
print("demo check: first audit clean; second audit names exactly the drift made on hillcrest")
EOF

say "The audit report: $OUT/cohort-audit.md (and cohort-audit.json; the first, clean one in $OUT/first-audit/)"
cat "$OUT/cohort-audit.md"
say "Done in $((SECONDS - START)) s; stopping the simulators (pids ${SIM_PIDS[*]})"

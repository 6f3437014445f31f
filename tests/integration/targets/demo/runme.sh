#!/usr/bin/env bash
# make demo, as make test runs it: the demo script itself (two simulated tenants, provision, a clean audit,
# drift made behind the collection's back, a second audit), then an independent check that the second report
# names exactly that drift and that no simulator is left running.
set -eux
COLLECTION_ROOT="${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/pluto/lms"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/demo-target.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT

DEMO_OUTPUT="$OUT/report" bash "$COLLECTION_ROOT/playbooks/demo/run-demo.sh" | tee "$OUT/demo.txt"

grep -q 'demo check: first audit clean; second audit names exactly the drift made on hillcrest' "$OUT/demo.txt"
ansible-playbook check_report.yml -e "report_dir=$OUT/report"

# Nothing left running: every simulator the demo started is gone.
pids="$(sed -n 's/.*stopping the simulators (pids \(.*\))$/\1/p' "$OUT/demo.txt")"
[ -n "$pids" ]
for pid in $pids; do
    if kill -0 "$pid" 2>/dev/null; then
        echo "simulator $pid is still running" >&2
        exit 1
    fi
done

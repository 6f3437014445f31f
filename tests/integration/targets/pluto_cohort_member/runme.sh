#!/usr/bin/env bash
# pluto_cohort_member against the simulator:
# - main.yml: every path in check mode with diff, for real and once more (the module process gives the same
#   results: pluto_parity);
# - diff.yml: the text --check --diff shows;
# - bulk.yml: 5,000 users in one task, at the default max_input_vars and at a low one;
# - faults.yml: a write failing part-way, the report, and a rerun that converges;
# - new_cohort.yml: a play that creates the cohort, then fills it: with --check, for real, and once more;
# - main.yml once more on a MySQL/MariaDB-like site (--db mariadb): the same results.
# The playbooks use separate simulators and run side by side; their output follows in order.
set -eux
source ../setup_pluto_simulator/simulator.sh
HERE="$(pwd)"
TOKENS=(--token member-manager-token:manager --token member-cm-token:cohortmanager --token member-viewer-token:viewer)
SEED=(--seed-users 60 --seed-file "$HERE/seed.yml")
sim_start SITE_ACTION "${TOKENS[@]}" "${SEED[@]}"
sim_start SITE_DIFF "${TOKENS[@]}" "${SEED[@]}"
sim_start SITE_FAULTS "${TOKENS[@]}" "${SEED[@]}"
sim_start SITE_NEW "${TOKENS[@]}" "${SEED[@]}"
sim_start SITE_MARIADB "${TOKENS[@]}" "${SEED[@]}" --db mariadb
sim_start SITE_BULK "${TOKENS[@]}" --seed-users 5000 --seed-file "$HERE/seed.yml"
sim_start SITE_BULK_LOW "${TOKENS[@]}" --seed-users 5000 --seed-file "$HERE/seed.yml" --max-input-vars 1100
OUT="$(mktemp -d "${TMPDIR:-/tmp}/pluto-cohort-member.XXXXXX")"
trap 'rm -rf "$OUT"; sim_stop_all' EXIT
VARS=(-e pluto_token=member-manager-token -e cohortmanager_token=member-cm-token -e viewer_token=member-viewer-token)

JOBS=()
JOB_PIDS=()
job() {  # job NAME COMMAND...: run in the background, output in $OUT/NAME.log, exit status in $OUT/NAME.rc
    local name="$1"
    shift
    JOBS+=("$name")
    ( set +e; "$@" >"$OUT/$name.log" 2>&1; echo $? >"$OUT/$name.rc" ) &
    JOB_PIDS+=("$!")
}

job main ansible-playbook main.yml -e "pluto_url=$SITE_ACTION" "${VARS[@]}"
job diff ansible-playbook diff.yml -e "pluto_url=$SITE_DIFF" "${VARS[@]}" --check --diff
job bulk ansible-playbook bulk.yml -e "pluto_url=$SITE_BULK" -e max_input_vars=5000 -e batch=500 "${VARS[@]}" --diff
job bulk_low_max_input_vars \
    ansible-playbook bulk.yml -e "pluto_url=$SITE_BULK_LOW" -e max_input_vars=1100 -e batch=250 "${VARS[@]}"
job faults ansible-playbook faults.yml -e "pluto_url=$SITE_FAULTS" "${VARS[@]}"
job main_mariadb ansible-playbook main.yml -e "pluto_url=$SITE_MARIADB" "${VARS[@]}"
new_cohort() {
    ansible-playbook new_cohort.yml -e "pluto_url=$SITE_NEW" -e phase=check "${VARS[@]}" --check &&
        ansible-playbook new_cohort.yml -e "pluto_url=$SITE_NEW" -e phase=first "${VARS[@]}" &&
        ansible-playbook new_cohort.yml -e "pluto_url=$SITE_NEW" -e phase=rerun "${VARS[@]}"
}
job new_cohort new_cohort
wait "${JOB_PIDS[@]}"  # not the simulators

failed=0
for name in "${JOBS[@]}"; do
    echo "=== $name (exit status $(cat "$OUT/$name.rc"))"
    cat "$OUT/$name.log"
    [ "$(cat "$OUT/$name.rc")" = 0 ] || failed=1
done
[ "$failed" = 0 ]

# What --check --diff shows: the counts and the changed names.
grep -q -- '^--- before: cohort main (id [0-9]*) members$' "$OUT/diff.log"
grep -q -- '^-members: 3$' "$OUT/diff.log"
grep -q -- '^+members: 4$' "$OUT/diff.log"
grep -q -- '^-u00002$' "$OUT/diff.log"
grep -q -- '^+u00008$' "$OUT/diff.log"
grep -q -- '^+u00009$' "$OUT/diff.log"
# and at 5,000 members: the counts, the first 100 names (bulk.yml counts them), and how many more.
grep -q -- '^+members: 5,000$' "$OUT/bulk.log"
grep -q -- '^+\.\.\. and 4,900 more added$' "$OUT/bulk.log"

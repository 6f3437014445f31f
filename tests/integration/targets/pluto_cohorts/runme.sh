#!/usr/bin/env bash
# pluto_cohorts against the simulator:
# - gather.yml then apply.yml: a tenant read in the module's own input shape, written to a vars file, and applied
#   back (merged and replaced, check mode and real) with zero writes; again through the module process;
# - main.yml: a tenant converged in one task (check mode first, the same result for real, one request per write
#   function, a rerun that changes nothing, overridden sparing a cohort without idnumber);
# - diff.yml: the text --check --diff shows; the token never shows, even at -vvvv.
set -eux
source ../setup_pluto_simulator/simulator.sh
TOKEN=cohorts-manager-token
sim_start SITE --token "$TOKEN:manager" --seed-users 20 --seed-file "$PWD/seed.yml"
OUT="$(mktemp -d "${TMPDIR:-/tmp}/pluto-cohorts.XXXXXX")"
trap 'rm -rf "$OUT"; sim_stop_all' EXIT
SITE_VARS=(-e "pluto_url=$SITE" -e "pluto_token=$TOKEN")

ansible-playbook gather.yml "${SITE_VARS[@]}" -e "out=$OUT/tenant.yml"
grep -q 'tenant_cohorts:' "$OUT/tenant.yml"
ansible-playbook apply.yml "${SITE_VARS[@]}" -e "vars_file=$OUT/tenant.yml"
PLUTO_LMS_MODULE_PROCESS=1 ansible-playbook apply.yml "${SITE_VARS[@]}" -e "vars_file=$OUT/tenant.yml"

ansible-playbook main.yml "${SITE_VARS[@]}"

PLUTO_TOKEN="$TOKEN" ansible-playbook diff.yml -e "pluto_url=$SITE" --check --diff -vvvv > "$OUT/diff.txt" 2>&1
grep -q 'cohorts on the site: 5' "$OUT/diff.txt"
grep -q '2 listed: 1 created, 0 updated, 0 deleted, 1 unchanged; members +1 -0; 0 missing user(s)' "$OUT/diff.txt"
grep -q '    + u00009' "$OUT/diff.txt"
if grep -q "$TOKEN" "$OUT/diff.txt"; then
    echo "the token shows in the -vvvv output" >&2
    exit 1
fi

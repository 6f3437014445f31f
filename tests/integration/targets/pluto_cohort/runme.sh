#!/usr/bin/env bash
# pluto_cohort against simulated sites: every path in check mode first (no write), applied, rerun; the checks
# before any write; duplicates; read-only and incomplete tokens; themes; the same again through the module
# process; blank references, custom fields, collation clashes and concurrent creates on PostgreSQL and MariaDB
# sites; and a --check --diff audit whose output a person can read.
set -eux
source ../setup_pluto_simulator/simulator.sh
MANAGER=0f1e2d3c4b5a69788796a5b4c3d2e1f0
VIEWER=1e2d3c4b5a69788796a5b4c3d2e1f00f
NOCREATE=2d3c4b5a69788796a5b4c3d2e1f00f1e
TOKENS=(--token "$MANAGER:manager" --token "$VIEWER:viewer" --token "$NOCREATE:manager:-core_cohort_create_cohorts")
sim_start SITE_MAIN "${TOKENS[@]}" --seed-users 50 --seed-file "$PWD/seed.yml"
sim_start SITE_PROCESS "${TOKENS[@]}" --seed-users 50 --seed-file "$PWD/seed.yml" --db mariadb
sim_start SITE_THEMES "${TOKENS[@]}" --allow-cohort-themes
sim_start SITE_THEMES_PROCESS "${TOKENS[@]}" --allow-cohort-themes
sim_start SITE_AUDIT --token "$MANAGER:manager" --seed-file "$PWD/seed.yml"
sim_start SITE_SAFETY_POSTGRES --token "$MANAGER:manager" --seed-users 5 --seed-file "$PWD/safety_seed.yml" --db postgres
sim_start SITE_SAFETY_MARIADB --token "$MANAGER:manager" --seed-users 5 --seed-file "$PWD/safety_seed.yml" --db mariadb
OUT="$(mktemp -d "${TMPDIR:-/tmp}/pluto-cohort.XXXXXX")"
trap 'rm -rf "$OUT"; sim_stop_all' EXIT
VARS=(-e "manager_token=$MANAGER" -e "viewer_token=$VIEWER" -e "nocreate_token=$NOCREATE")

ansible-playbook main.yml "${VARS[@]}" -e "main_url=$SITE_MAIN" -e "themes_url=$SITE_THEMES"
# The module process (instead of the action plugin) gives the same results.
PLUTO_LMS_MODULE_PROCESS=1 ansible-playbook main.yml "${VARS[@]}" -e "main_url=$SITE_PROCESS" -e "themes_url=$SITE_THEMES_PROCESS"

# Blank references, undefined custom fields, collation clashes, concurrent creates and deletes: the same
# playbook behaves the same on a PostgreSQL and a MariaDB site.
ansible-playbook safety.yml -e "manager_token=$MANAGER" -e "pluto_url=$SITE_SAFETY_POSTGRES"
ansible-playbook safety.yml -e "manager_token=$MANAGER" -e "pluto_url=$SITE_SAFETY_MARIADB"

# An audit: the site as it is, then a --check --diff run of a playbook that would create, change and delete.
AUDIT=(-e "pluto_url=$SITE_AUDIT" -e "manager_token=$MANAGER")
ansible-playbook audit.yml "${AUDIT[@]}" -e audit_stage=before
"$SIM_PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/_sim/reset", method="POST"))' "$SITE_AUDIT"
ansible-playbook audit.yml "${AUDIT[@]}" -e audit_stage=wanted --check --diff | tee "$OUT/audit.txt"
ansible-playbook audit_no_writes.yml "${AUDIT[@]}" -e sim_mark=0
# One diff per changed cohort, headed by the cohort, one line per changed field.
grep -qx -- '--- before: cohort aud-new (absent)' "$OUT/audit.txt"
grep -qx -- '+++ after: cohort aud-new (new)' "$OUT/audit.txt"
grep -qx -- '+idnumber: aud-new' "$OUT/audit.txt"
grep -qx -- '+context: category SCI (id [0-9]*)' "$OUT/audit.txt"
grep -qx -- '-name: Renamed by hand' "$OUT/audit.txt"
grep -qx -- '+name: Staff' "$OUT/audit.txt"
grep -qx -- '-visible: true' "$OUT/audit.txt"
grep -qx -- '+visible: false' "$OUT/audit.txt"
grep -qx -- '+++ after: cohort aud-old (id [0-9]*, deleted)' "$OUT/audit.txt"
grep -qx -- '-idnumber: aud-old' "$OUT/audit.txt"
# The unchanged cohort prints no diff at all; the recap counts the one task as changed.
if grep -q 'cohort aud-same' "$OUT/audit.txt"; then echo "the unchanged cohort printed a diff" >&2; exit 1; fi
grep -Eq 'localhost +: ok=[0-9]+ +changed=1 +unreachable=0 +failed=0' "$OUT/audit.txt"

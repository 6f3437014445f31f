#!/usr/bin/env bash
# The cohort_bootstrap role against simulated sites: check mode on a fresh site (zero writes), provisioning,
# rerun (nothing changed), drift found in check mode and fixed, prune on and off (and cohorts without idnumber), categories,
# check mode resolving members as the real run, request counts for 204 cohorts, argument errors, and the
# three ways to give the connection.
set -eux
source ../setup_pluto_simulator/simulator.sh
TOKEN=role-manager-token
sim_start SITE_MAIN --token "$TOKEN:manager" --seed-users 50
sim_start SITE_PRUNE --token "$TOKEN:manager" --seed-users 10
sim_start SITE_CONN --token "$TOKEN:manager" --seed-users 10
sim_start SITE_CAT --token "$TOKEN:manager" --seed-file "$PWD/seed_categories.yml"
sim_start SITE_BARE --token "$TOKEN:manager" --seed-file "$PWD/seed_without_idnumber.yml"
sim_start SITE_SCALE --token "$TOKEN:manager" --seed-users 10
OUT="$(mktemp -d "${TMPDIR:-/tmp}/role-cohort-bootstrap.XXXXXX")"
trap 'rm -rf "$OUT"; sim_stop_all' EXIT
MAIN=(-e "pluto_url=$SITE_MAIN" -e "pluto_token=$TOKEN")

# Check mode on a fresh site: the whole plan, and not one write.
ansible-playbook check_fresh.yml "${MAIN[@]}"

# Provision, then a rerun changes nothing (the recap says so too).
ansible-playbook provision.yml "${MAIN[@]}" -e expect=created
ansible-playbook provision.yml "${MAIN[@]}" -e expect=clean | tee "$OUT/rerun.txt"
grep -Eq 'localhost +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "$OUT/rerun.txt"

# Drift made behind the role's back: check mode names it (and --diff shows it), a real run fixes it.
"$SIM_PYTHON" "$COLLECTION_ROOT/playbooks/demo/drift.py" "$SITE_MAIN" "$TOKEN" faculty "Faculty (renamed by hand)" u00002
ansible-playbook drift.yml "${MAIN[@]}" --diff | tee "$OUT/drift.txt"
grep -q 'Faculty (renamed by hand)' "$OUT/drift.txt"

# Prune off, prune in check mode, prune on.
ansible-playbook prune.yml -e "pluto_url=$SITE_PRUNE" -e "pluto_token=$TOKEN"

# Categories: the role's default, an item's own, the system context; a move shown field by field.
ansible-playbook category.yml -e "pluto_url=$SITE_CAT" -e "pluto_token=$TOKEN"

# Prune never deletes cohorts without idnumber unless cohort_bootstrap_prune_without_idnumber asks.
ansible-playbook prune_without_idnumber.yml -e "pluto_url=$SITE_BARE" -e "pluto_token=$TOKEN"

# Check mode resolves members as the real run does; a missing user fails both before any write.
ansible-playbook check_members.yml -e "pluto_url=$SITE_CONN" -e "pluto_token=$TOKEN"

# 204 cohorts on a fresh site, then a rerun: request counts from the simulator's log.
ansible-playbook scale.yml -e "pluto_url=$SITE_SCALE" -e "pluto_token=$TOKEN" -e expect=created
ansible-playbook scale.yml -e "pluto_url=$SITE_SCALE" -e "pluto_token=$TOKEN" -e expect=clean

# Bad input is a clear error before any request.
ansible-playbook argspec.yml -e "pluto_url=$SITE_CONN" -e "pluto_token=$TOKEN"

# The connection from module_defaults, then from the environment (no pluto_url / pluto_token variables).
ansible-playbook connection_module_defaults.yml -e "site_url=$SITE_CONN" -e "site_token=$TOKEN"
PLUTO_URL="$SITE_CONN" PLUTO_TOKEN="$TOKEN" ansible-playbook connection_environment.yml -e "site_url=$SITE_CONN"

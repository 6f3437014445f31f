#!/usr/bin/env bash
# The action plugin and the module process (PLUTO_LMS_MODULE_PROCESS=1) give identical results for a
# representative set of tasks (parity.yml); the other targets run through the action plugin only.
set -eux
source ../setup_pluto_simulator/simulator.sh
TOKEN=5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b
sim_start SITE_ACTION --token "$TOKEN:manager" --seed-users 5
sim_start SITE_PROCESS --token "$TOKEN:manager" --seed-users 5
OUT="$(mktemp -d "${TMPDIR:-/tmp}/pluto-parity.XXXXXX")"
trap 'rm -rf "$OUT"; sim_stop_all' EXIT

ansible-playbook parity.yml -e "pluto_url=$SITE_ACTION" -e "pluto_token=$TOKEN" -e "results_file=$OUT/action.json"
PLUTO_LMS_MODULE_PROCESS=1 ansible-playbook parity.yml -e "pluto_url=$SITE_PROCESS" -e "pluto_token=$TOKEN" \
    -e "results_file=$OUT/process.json"
# Each site's own URL appears in some results: compare them with one placeholder.
sed -i "s#$SITE_ACTION#SITE#g" "$OUT/action.json"
sed -i "s#$SITE_PROCESS#SITE#g" "$OUT/process.json"
"$SIM_PYTHON" parity.py "$OUT/action.json" "$OUT/process.json"

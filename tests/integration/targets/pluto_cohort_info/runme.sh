#!/usr/bin/env bash
# pluto_cohort_info against a seeded simulated site: filters, contexts, members in bulk, request counts, check
# mode, tokens without user-view rights or without core_course_get_categories (both paths agree: pluto_parity).
set -eux
source ../setup_pluto_simulator/simulator.sh
MANAGER=3c4b5a69788796a5b4c3d2e1f00f1e2d
VIEWER=4b5a69788796a5b4c3d2e1f00f1e2d3c
NOCATEGORIES=5a69788796a5b4c3d2e1f00f1e2d3c4b
sim_start SITE --token "$MANAGER:manager" --token "$VIEWER:viewer" \
    --token "$NOCATEGORIES:manager:-core_course_get_categories" --seed-users 20 --seed-file "$PWD/seed.yml"
VARS=(-e "pluto_url=$SITE" -e "manager_token=$MANAGER" -e "viewer_token=$VIEWER" -e "nocategories_token=$NOCATEGORIES")

ansible-playbook main.yml "${VARS[@]}"
ansible-playbook main.yml "${VARS[@]}" --check

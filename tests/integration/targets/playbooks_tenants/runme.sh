#!/usr/bin/env bash
# The tenant playbooks on the example inventory (two simulated tenants): provision, audit clean, drift of
# every kind made outside the role, audit with and without prune (the report's content is asserted, and no
# write reaches a site), a tenant that cannot be audited, and what audits of one large and of twenty tenants cost.
set -eux
source ../setup_pluto_simulator/simulator.sh
sim_start LAKESIDE_PLUTO_URL --token lakeside-token:manager --seed-users 40
sim_start HILLCREST_PLUTO_URL --token hillcrest-token:manager --seed-users 40
export LAKESIDE_PLUTO_TOKEN=lakeside-token HILLCREST_PLUTO_TOKEN=hillcrest-token
OUT="$(mktemp -d "${TMPDIR:-/tmp}/playbooks-tenants.XXXXXX")"
trap 'rm -rf "$OUT"; sim_stop_all' EXIT
INVENTORY="$COLLECTION_ROOT/playbooks/inventory/example.yml"
PLAYBOOKS="$COLLECTION_ROOT/playbooks"
SITES=(-e "lakeside_url=$LAKESIDE_PLUTO_URL" -e "hillcrest_url=$HILLCREST_PLUTO_URL")

ansible-playbook -i "$INVENTORY" "$PLAYBOOKS/provision_tenants.yml"
ansible-playbook -i "$INVENTORY" "$PLAYBOOKS/provision_tenants.yml" | tee "$OUT/rerun.txt"
grep -Eq 'lakeside +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "$OUT/rerun.txt"
grep -Eq 'hillcrest +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "$OUT/rerun.txt"

# A clean audit, from another working directory: the default report directory is ./cohort-audit.
ansible-playbook sim_reset.yml "${SITES[@]}"
(cd "$OUT" && ansible-playbook -i "$INVENTORY" "$PLAYBOOKS/audit_cohorts.yml")
ansible-playbook assert_report.yml "${SITES[@]}" -e "report_dir=$OUT/cohort-audit" -e scenario=clean

# Drift made outside the role, then audits without and with prune.
ansible-playbook make_drift.yml "${SITES[@]}"
ansible-playbook sim_reset.yml "${SITES[@]}"
ansible-playbook -i "$INVENTORY" "$PLAYBOOKS/audit_cohorts.yml" -e "cohort_audit_dir=$OUT/drift" | tee "$OUT/audit.txt"
grep -q '2 tenant(s): 0 clean, 2 with drift, 0 failed' "$OUT/audit.txt"
ansible-playbook assert_report.yml "${SITES[@]}" -e "report_dir=$OUT/drift" -e scenario=drift
ansible-playbook -i "$INVENTORY" "$PLAYBOOKS/audit_cohorts.yml" -e "cohort_audit_dir=$OUT/prune" -e '{"cohort_bootstrap_prune": true}'
ansible-playbook assert_report.yml "${SITES[@]}" -e "report_dir=$OUT/prune" -e scenario=prune

# A tenant that cannot be audited (its token is wrong): the report says so, the other tenant is still
# audited, and the run fails at the end.
# At -vvvv, no token shows anywhere (neither the wrong one nor lakeside's).
if HILLCREST_PLUTO_TOKEN=wrong-token ansible-playbook -i "$INVENTORY" "$PLAYBOOKS/audit_cohorts.yml" \
        -e "cohort_audit_dir=$OUT/error" -vvvv > "$OUT/error.txt" 2>&1; then
    echo "the audit succeeded although a tenant could not be audited" >&2
    exit 1
fi
grep -q 'hillcrest could not be audited' "$OUT/error.txt"
if grep -q -e wrong-token -e lakeside-token "$OUT/error.txt"; then
    echo "a token shows in the -vvvv output" >&2
    exit 1
fi

# --limit: the report covers the tenants of the run.
ansible-playbook -i "$INVENTORY" "$PLAYBOOKS/audit_cohorts.yml" -l lakeside -e "cohort_audit_dir=$OUT/limit"
ansible-playbook assert_report.yml "${SITES[@]}" -e "report_dir=$OUT/limit" -e scenario=limit
ansible-playbook assert_report.yml "${SITES[@]}" -e "report_dir=$OUT/error" -e scenario=error

# Audit costs, counted from the simulator's request log: one tenant with 204 cohorts in at most 8 requests;
# twenty tenants of 4 cohorts each in at most 5 requests a tenant. Each audit finds drift (one cohort renamed).
sim_start SCALE_PLUTO_URL --token scale-token:manager --seed-users 10
SCALE=(-e "pluto_url=$SCALE_PLUTO_URL")
# big and t01 share one site and the four standard idnumbers: provisioned one after the other (--forks 1), so that
# this cost test does not race. (Two runs at once converge in most interleavings: a batched create refused because
# the other run made some of its cohorts goes on with those and creates the rest. In one interleaving both runs
# fill a cohort of the same idnumber, and the run that made the lower id fails naming both: see test_cohorts_site.)
ansible-playbook -i inventory_scale.yml "$PLAYBOOKS/provision_tenants.yml" -l big,t01 --forks 1
"$SIM_PYTHON" "$COLLECTION_ROOT/playbooks/demo/drift.py" "$SCALE_PLUTO_URL" scale-token faculty "Faculty (renamed by hand)" u00002
ansible-playbook reset_log.yml "${SCALE[@]}"
ansible-playbook -i inventory_scale.yml "$PLAYBOOKS/audit_cohorts.yml" -l big -e "cohort_audit_dir=$OUT/big" | tee "$OUT/big.txt"
grep -q '1 tenant(s): 0 clean, 1 with drift, 0 failed' "$OUT/big.txt"
ansible-playbook assert_cost.yml "${SCALE[@]}" -e max_requests=8
ansible-playbook reset_log.yml "${SCALE[@]}"
ansible-playbook -i inventory_scale.yml "$PLAYBOOKS/audit_cohorts.yml" -l twenty -e "cohort_audit_dir=$OUT/twenty" | tee "$OUT/twenty.txt"
grep -q '20 tenant(s): 0 clean, 20 with drift, 0 failed' "$OUT/twenty.txt"
ansible-playbook assert_cost.yml "${SCALE[@]}" -e max_requests=100

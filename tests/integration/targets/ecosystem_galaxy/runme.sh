#!/usr/bin/env bash
# The collection as users get it: build the tarball (build_ignore keeps a working tree's development state out),
# install it with ansible-galaxy (from the file, and through a requirements.yml), then, with only the installed
# copy on the collections path, start the simulator from the installed copy (as users' own CI does) and run
# the README's quick start, the modules, and the tenant playbooks by their FQCN and through an AWX-style project
# that gets its connection from the environment (what an AWX credential injects).
set -eux
source ../setup_pluto_simulator/simulator.sh
HERE="$(pwd)"
ECO="$(mktemp -d "${TMPDIR:-/tmp}/pluto-ecosystem.XXXXXX")"
trap 'sim_stop_all; rm -rf "$ECO"' EXIT
PYTHON="$ANSIBLE_PYTHON_INTERPRETER"
TOKEN="eco-Tok3n-$RANDOM$RANDOM"

# 1. A copy of the collection holding the development state a working tree accumulates.
SRC="$ECO/src"
mkdir -p "$SRC"
(cd "$COLLECTION_ROOT" && tar --exclude=./tests/output -cf - .) | tar -xf - -C "$SRC"
PLANTED=(.venv/pyvenv.cfg .venv-2.16/bin/python .ansible/collections/ansible_collections/x/y/MANIFEST.json
         .pytest_cache/v/cache/nodeids tests/output/junit/python3.11-units.xml tests/output/.tmp/x.json
         benchmarks/results/raw/run.json demo-output/cohort-audit.md dist/pluto-lms-0.0.1.tar.gz build/docs/html/index.html
         collections/ansible_collections/pluto/lms/README.md changelogs/.plugin-cache.yaml
         plugins/module_utils/__pycache__/client.cpython-311.pyc tests/simulator/__pycache__/store.cpython-311.pyc)
for path in "${PLANTED[@]}"; do
    mkdir -p "$SRC/$(dirname "$path")"
    echo "development state" > "$SRC/$path"
done

# 2. Build, and check what is shipped.
ansible-galaxy collection build --output-path "$ECO/dist" "$SRC"
VERSION="$("$PYTHON" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$SRC/galaxy.yml")"
TARBALL="$ECO/dist/pluto-lms-$VERSION.tar.gz"
"$PYTHON" ecosystem.py tarball "$TARBALL" "$SRC" "${PLANTED[@]}"

# 3. Install it: from the file, and the way a project's requirements.yml names a tarball.
# (Each install sees only its own path: ansible-galaxy skips a collection it finds on the configured path.)
ANSIBLE_COLLECTIONS_PATH="$ECO/installed" ansible-galaxy collection install "$TARBALL" -p "$ECO/installed"
printf -- '---\ncollections:\n  - name: %s\n    type: file\n' "$TARBALL" > "$ECO/requirements.yml"
ANSIBLE_COLLECTIONS_PATH="$ECO/from-requirements" ansible-galaxy collection install -r "$ECO/requirements.yml" \
    -p "$ECO/from-requirements"
for path in "$ECO/installed" "$ECO/from-requirements"; do
    ANSIBLE_COLLECTIONS_PATH="$path" ansible-galaxy collection list pluto.lms -p "$path" | tee "$ECO/list.txt"
    grep -Eq "^pluto\.lms +$VERSION\b" "$ECO/list.txt"
done
# The installed files are those the tarball's manifest lists, with their checksums.
ANSIBLE_COLLECTIONS_PATH="$ECO/installed" ansible-galaxy collection verify --offline -p "$ECO/installed" pluto.lms

# 4. From here on, only the installed copy is on the collections path, and commands run outside any checkout.
export ANSIBLE_COLLECTIONS_PATH="$ECO/installed" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
INSTALLED="$ECO/installed/ansible_collections/pluto/lms"
mkdir -p "$ECO/project"
cp "$HERE"/modules.yml "$HERE"/awx_provision.yml "$HERE"/awx_audit.yml "$HERE"/tenants.yml "$ECO/project/"
cd "$ECO/project"
"$PYTHON" "$HERE/ecosystem.py" resolved "$INSTALLED" $(cd "$INSTALLED/plugins/modules" && ls *.py | sed 's/^/pluto.lms./; s/\.py$//')

# The simulator, started from the installed copy and seeded with the README's seed file, as the README shows.
"$PYTHON" "$HERE/ecosystem.py" readme-block "$INSTALLED/README.md" "# seed.yml" > seed.yml
COLLECTION_ROOT="$INSTALLED" sim_start SITE --token "$TOKEN:manager" --seed-users 20 --seed-file "$ECO/project/seed.yml"

# The README's quick start, verbatim, with the connection from the environment: create, rerun (no change),
# then a member removed behind its back, which check mode reports (and --diff names) without a write.
"$PYTHON" "$HERE/ecosystem.py" readme-block "$INSTALLED/README.md" "# cohorts.yml" > cohorts.yml
export PLUTO_URL="$SITE" PLUTO_TOKEN="$TOKEN"
ansible-playbook cohorts.yml | tee run.txt
grep -Eq 'localhost +: ok=2 +changed=2 +unreachable=0 +failed=0' run.txt
ansible-playbook cohorts.yml | tee rerun.txt
grep -Eq 'localhost +: ok=2 +changed=0 +unreachable=0 +failed=0' rerun.txt
ansible localhost -m pluto.lms.pluto_cohort_member -a "cohort=staff-2026 users=mlopez state=absent"
"$PYTHON" "$HERE/ecosystem.py" sim-reset "$SITE"
ansible-playbook cohorts.yml --check --diff | tee check.txt
grep -Eq 'localhost +: ok=2 +changed=1 +unreachable=0 +failed=0' check.txt
grep -q 'mlopez' check.txt
"$PYTHON" "$HERE/ecosystem.py" sim-writes "$SITE" 0
unset PLUTO_URL PLUTO_TOKEN

# Every module of the installed copy, the connection from module_defaults of the action group.
ansible-playbook modules.yml -e "pluto_url=$SITE" -e "pluto_token=$TOKEN"

# The tenant playbooks by FQCN, the connection given as variables; a second run changes nothing.
CONNECTION=(-e "pluto_url=$SITE" -e "pluto_token=$TOKEN")
ansible-playbook -i tenants.yml pluto.lms.provision_tenants "${CONNECTION[@]}" | tee provision.txt
grep -Eq 'tenant1 +: ok=[0-9]+ +changed=[1-9][0-9]* +unreachable=0 +failed=0' provision.txt
ansible-playbook -i tenants.yml pluto.lms.provision_tenants "${CONNECTION[@]}" | tee again.txt
grep -Eq 'tenant1 +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' again.txt

# AWX / Automation Platform: a project's playbooks import the collection's, and a credential injects
# PLUTO_URL and PLUTO_TOKEN into the environment; the inventory holds no connection.
export PLUTO_URL="$SITE" PLUTO_TOKEN="$TOKEN"
ansible-playbook -i tenants.yml awx_provision.yml | tee awx.txt
grep -Eq 'tenant1 +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' awx.txt
"$PYTHON" "$HERE/ecosystem.py" sim-reset "$SITE"
ansible-playbook -i tenants.yml awx_audit.yml -e "cohort_audit_dir=$ECO/audit"
"$PYTHON" "$HERE/ecosystem.py" sim-writes "$SITE" 0
"$PYTHON" -c 'import json, sys; t = json.load(open(sys.argv[1]))["totals"]; assert (t["tenants"], t["clean"]) == (1, 1), t' \
    "$ECO/audit/cohort-audit.json"
# The token never shows, not even at -vvvv.
ansible-playbook -i tenants.yml awx_provision.yml -vvvv > verbose.txt 2>&1
if grep -q "$TOKEN" verbose.txt; then echo "the token appears in the -vvvv output"; exit 1; fi

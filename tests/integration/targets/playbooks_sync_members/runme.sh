#!/usr/bin/env bash
# playbooks/sync_cohort_members.yml: a CSV makes each cohort it names hold exactly its rows' users (others are
# left alone); check mode writes nothing; a rerun changes nothing; a malformed CSV fails naming its bad lines,
# before any request. A "CSV UTF-8" file (byte order mark, CRLF) is read like any other, one in another
# encoding fails with one line naming it, and a relative path is resolved against the current directory;
# 200 cohorts x 50 users (10,000 memberships) within a request budget, and its rerun.
set -eux
source ../setup_pluto_simulator/simulator.sh
sim_start LAKESIDE_PLUTO_URL --token lakeside-token:manager --seed-users 40
export LAKESIDE_PLUTO_TOKEN=lakeside-token
OUT="$(mktemp -d "${TMPDIR:-/tmp}/playbooks-sync.XXXXXX")"
trap 'rm -rf "$OUT"; sim_stop_all' EXIT
INVENTORY="$COLLECTION_ROOT/playbooks/inventory/example.yml"
SYNC="$COLLECTION_ROOT/playbooks/sync_cohort_members.yml"
SITE=(-e "pluto_url=$LAKESIDE_PLUTO_URL" -e "pluto_token=$LAKESIDE_PLUTO_TOKEN")

ansible-playbook -i "$INVENTORY" -l lakeside "$COLLECTION_ROOT/playbooks/provision_tenants.yml"

# Check mode first: the plan, and no write.
ansible-playbook sim_reset.yml "${SITE[@]}"
ansible-playbook -i "$INVENTORY" -l lakeside "$SYNC" -e "cohort_members_csv=$PWD/files/members.csv" --check --diff \
    | tee "$OUT/check.txt"
grep -q 'u00002' "$OUT/check.txt"
ansible-playbook assert_members.yml "${SITE[@]}" -e expect=provisioned -e writes=0

# For real, then a rerun that changes nothing.
ansible-playbook -i "$INVENTORY" -l lakeside "$SYNC" -e "cohort_members_csv=$PWD/files/members.csv"
ansible-playbook assert_members.yml "${SITE[@]}" -e expect=synced
ansible-playbook -i "$INVENTORY" -l lakeside "$SYNC" -e "cohort_members_csv=$PWD/files/members.csv" | tee "$OUT/rerun.txt"
grep -Eq 'lakeside +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "$OUT/rerun.txt"

# Malformed files: a clear error that names every bad line, and nothing sent to the site.
ansible-playbook sim_reset.yml "${SITE[@]}"
for csv in malformed bad_header missing; do
    if ansible-playbook -i "$INVENTORY" -l lakeside "$SYNC" -e "cohort_members_csv=$PWD/files/$csv.csv" \
            > "$OUT/$csv.txt" 2>&1; then
        echo "the sync accepted $csv.csv" >&2
        exit 1
    fi
done
grep -q "malformed.csv is malformed: line 3: expected 2 fields (cohort_idnumber,username), found 1: 'faculty'; line 4: expected 2 fields (cohort_idnumber,username), found 3: 'staff,u00005,extra'; line 5: empty cohort_idnumber: ',u00009'" "$OUT/malformed.txt"
grep -q "bad_header.csv is malformed: line 1: the header must be 'cohort_idnumber,username', found 'cohort,user'" "$OUT/bad_header.txt"
grep -q "missing.csv" "$OUT/missing.txt"
ansible-playbook assert_members.yml "${SITE[@]}" -e expect=synced -e requests=0

# Encodings, generated here (spreadsheet programs write "CSV UTF-8" with a byte order mark and CRLF line ends).
printf '\xef\xbb\xbfcohort_idnumber,username\r\nfaculty,u00001\r\nfaculty,u00008\r\nstaff,u00005\r\n' > "$OUT/bom.csv"
printf 'cohort_idnumber,username\nfaculty,u00001\nfaculty,jos\xe9\n' > "$OUT/latin1.csv"
printf '\xff\xfec\x00o\x00h\x00' > "$OUT/utf16.csv"
ansible-playbook sim_reset.yml "${SITE[@]}"
for csv in latin1 utf16; do
    if ansible-playbook -i "$INVENTORY" -l lakeside "$SYNC" -e "cohort_members_csv=$OUT/$csv.csv" > "$OUT/$csv.txt" 2>&1; then
        echo "the sync accepted $csv.csv" >&2
        exit 1
    fi
    # The cause, on the task's one failure line; no Python or Ansible decoding error, no deprecation notice.
    grep -q "^fatal: \[lakeside\]: FAILED! => .*$OUT/$csv.csv cannot be read: it is " "$OUT/$csv.txt"
    if grep -Eqi 'Traceback|UnicodeDecodeError|codec|could not be decoded|DEPRECATION' "$OUT/$csv.txt"; then
        cat "$OUT/$csv.txt" >&2
        exit 1
    fi
done
grep -q "latin1.csv cannot be read: it is not UTF-8 text: byte 0xe9 at line 3, column 12 is not valid UTF-8 (save it as" "$OUT/latin1.txt"
grep -q "utf16.csv cannot be read: it is UTF-16 text" "$OUT/utf16.txt"
ansible-playbook assert_members.yml "${SITE[@]}" -e expect=synced -e requests=0

ansible-playbook -i "$INVENTORY" -l lakeside "$SYNC" -e "cohort_members_csv=$OUT/bom.csv"
ansible-playbook assert_members.yml "${SITE[@]}" -e expect=bom

# A relative path, from a directory that is neither the playbook's nor this target's.
mkdir "$OUT/elsewhere"
cp files/members.csv "$OUT/elsewhere/my-members.csv"
(cd "$OUT/elsewhere" && ansible-playbook -i "$INVENTORY" -l lakeside "$SYNC" -e cohort_members_csv=my-members.csv)
ansible-playbook assert_members.yml "${SITE[@]}" -e expect=synced
ansible-playbook sim_reset.yml "${SITE[@]}"
if (cd "$OUT/elsewhere" && ansible-playbook -i "$INVENTORY" -l lakeside "$SYNC" -e cohort_members_csv=members.csv) \
        > "$OUT/relative-missing.txt" 2>&1; then
    echo "the sync accepted a file that is not in the current directory" >&2
    exit 1
fi
grep -q "cannot read the CSV file members.csv ($OUT/elsewhere/members.csv): no such file or directory; a relative path is resolved against the directory ansible-playbook runs in, $OUT/elsewhere" "$OUT/relative-missing.txt"
ansible-playbook assert_members.yml "${SITE[@]}" -e expect=synced -e requests=0

# 200 cohorts x 50 users (10,000 memberships, 2,900 distinct users) on a site whose cohorts exist and are empty:
# at most 40 requests and 22 writes; the rerun at most 15 requests and no write.
sim_start BIG_URL --token big-token:manager --seed-users 3000
BIG=(-e "pluto_url=$BIG_URL" -e "pluto_token=big-token")
ansible-playbook make_cohorts.yml "${BIG[@]}" -e count=200
"$SIM_PYTHON" - "$OUT/big.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as out:
    out.write("cohort_idnumber,username\n")
    for cohort in range(200):
        for member in range(50):
            out.write("sync-%03d,u%05d\n" % (cohort + 1, 1 + (cohort * 37 + member * 53) % 2900))
PY
for run in first rerun; do
    ansible-playbook sim_reset.yml "${BIG[@]}"
    ansible-playbook -i "$INVENTORY" -l lakeside "$SYNC" "${BIG[@]}" -e "cohort_members_csv=$OUT/big.csv" | tee "$OUT/big-$run.txt"
    if [ "$run" = first ]; then
        ansible-playbook assert_cost.yml "${BIG[@]}" -e max_requests=40 -e max_writes=22
    else
        grep -Eq 'lakeside +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "$OUT/big-rerun.txt"
        ansible-playbook assert_cost.yml "${BIG[@]}" -e max_requests=15 -e max_writes=0
    fi
done

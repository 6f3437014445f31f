#!/usr/bin/env bash
# Shared by the runme.sh integration targets: start Pluto simulators and stop them on exit.
#   source ../setup_pluto_simulator/simulator.sh
#   sim_start VAR [simulator options...]   -> exports VAR=http://127.0.0.1:PORT
# Every simulator started here is stopped when the calling script exits.

COLLECTION_ROOT="${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/pluto/lms"
export COLLECTION_ROOT
# Module (not action) runs and the simulator use the test's own Python, never discovery.
export ANSIBLE_PYTHON_INTERPRETER="${ANSIBLE_TEST_PYTHON_INTERPRETER:-$(command -v python3)}"
SIM_PYTHON="$ANSIBLE_PYTHON_INTERPRETER"
SIM_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pluto-sim.XXXXXX")"
SIM_PIDS=()

sim_stop_all() {
    local pid
    for pid in "${SIM_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${SIM_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$SIM_DIR"
}
trap sim_stop_all EXIT

sim_start() {
    local var="$1"
    shift
    local ready="$SIM_DIR/$var.url"
    (cd "$COLLECTION_ROOT" && exec "$SIM_PYTHON" -m tests.simulator --exit-with-parent --port 0 --ready-file "$ready" "$@") \
        >"$SIM_DIR/$var.log" 2>&1 &
    SIM_PIDS+=("$!")
    local waited=0
    until [ -s "$ready" ]; do
        sleep 0.1
        waited=$((waited + 1))
        if [ "$waited" -gt 300 ]; then
            echo "simulator $var did not start:" >&2
            cat "$SIM_DIR/$var.log" >&2
            return 1
        fi
    done
    printf -v "$var" '%s' "$(cat "$ready")"
    export "${var?}"
}

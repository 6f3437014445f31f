# shellcheck shell=bash
# Sourced by .ci/test-suite.sh and .ci/docs.sh (ROOT and VENV set, the venv first on PATH).
# ecosystem_tools: the release tooling (antsibull-docs, antsibull-changelog, ansible-builder, Sphinx and its theme),
# pinned, installed into the venv once; the main pins are constraints, so it never changes ansible-core or ansible-lint.
ecosystem_tools() {
    local stamp="$VENV/.ecosystem-stamp"
    if ! cmp -s "$ROOT/.ci/requirements-ecosystem.txt" "$stamp"; then
        python -m pip install -q -r "$ROOT/.ci/requirements-ecosystem.txt" -c "$ROOT/.ci/requirements.txt"
        cp "$ROOT/.ci/requirements-ecosystem.txt" "$stamp"
    fi
}

#!/usr/bin/env bash
# The collection's documentation site. antsibull-docs writes reStructuredText for every module, role and filter
# of the collection as it ships (the tarball, built and installed), with the guides of docs/docsite and, when the
# collection has it, docs/simulator.md; Sphinx makes the HTML. No network: the few labels of the Ansible docs that
# generated pages name are defined in .ci/docs-site/ansible_references.rst.
#   bash .ci/docs.sh build         build/docs/html/index.html (DOCS_OUT=DIR to write elsewhere)
#   bash .ci/docs.sh check         checks the built pages (the docs-site stage of make test runs build and check)
#   bash .ci/docs.sh screenshots   build/docs/screenshots/*.png of the built pages, in headless Chromium
#                                  (installs Debian's chromium with apt-get; for a person to look at, not a test)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac
export PATH="$VENV/bin:$PATH"
OUT="${DOCS_OUT:-$ROOT/build/docs}"
SITE="$ROOT/.ci/docs-site"

# shellcheck source=.ci/ecosystem-tools.sh
. "$ROOT/.ci/ecosystem-tools.sh"

build() {
    ecosystem_tools
    local work installed
    work="$(mktemp -d "${TMPDIR:-/tmp}/pluto-lms-docs.XXXXXX")"
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" EXIT
    ansible-galaxy collection build --force --output-path "$work/dist" "$ROOT" >/dev/null
    ANSIBLE_COLLECTIONS_PATH="$work/collections" ansible-galaxy collection install -p "$work/collections" \
        "$work"/dist/pluto-lms-*.tar.gz >/dev/null
    installed="$work/collections/ansible_collections/pluto/lms"
    if [ -f "$installed/docs/simulator.md" ]; then
        # A guide of the site: antsibull-docs lists it (from a placeholder page), Sphinx renders the Markdown (MyST).
        printf '.. _ansible_collections.pluto.lms.docsite.simulator:\n\nThe simulator\n=============\n' \
            > "$installed/docs/docsite/rst/simulator.rst"
        printf '      - simulator\n' >> "$installed/docs/docsite/extra-docs.yml"
    fi
    rm -rf "$OUT/rst" "$OUT/html"
    mkdir -p "$OUT"
    mkdir -m 700 "$OUT/rst"
    ANSIBLE_COLLECTIONS_PATH="$work/collections" antsibull-docs --config-file "$SITE/antsibull-docs.cfg" collection \
        --use-current --squash-hierarchy --fail-on-error --cleanup everything --dest-dir "$OUT/rst" pluto.lms
    cp "$SITE/ansible_references.rst" "$OUT/rst/"
    if [ -f "$installed/docs/simulator.md" ]; then
        rm "$OUT/rst/docsite/simulator.rst"
        { printf '(ansible_collections.pluto.lms.docsite.simulator)=\n\n'; cat "$installed/docs/simulator.md"; } \
            > "$OUT/rst/docsite/simulator.md"
    fi
    sphinx-build -q -W --keep-going -b html -c "$SITE" "$OUT/rst" "$OUT/html"
    echo "docs: $OUT/html/index.html ($(find "$OUT/html" -maxdepth 1 -name '*.html' | wc -l) pages)"
}

# Every module page shows its options, attributes, examples and return values; the role, every filter and every
# guide has a page the index links to; no page shows the markup of the docs sources (C(...), I(...), O(...)).
check() {
    python - "$ROOT" "$OUT/html" <<'PY'
import html
import os
import re
import sys

import yaml

root, site = sys.argv[1:]
problems = []


def text_of(name):
    with open(os.path.join(site, name)) as handle:
        page = handle.read()
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return page, html.unescape(re.sub(r"<[^>]+>", " ", body))


def listed(directory, suffix):
    return sorted(n[:-len(suffix)] for n in os.listdir(os.path.join(root, directory)) if n.endswith(suffix) and n[0] != "_")


index_page, index_text = text_of("index.html")
pages = ["index.html"]
expected = {}
for module in listed("plugins/modules", ".py"):
    expected["%s_module.html" % module] = ["Parameters", "Attributes", "Examples", "Return Values"]
for role in sorted(os.listdir(os.path.join(root, "roles"))):
    expected["%s_role.html" % role] = ["Entry point", "Parameters"]
for doc in listed("plugins/filter", ".yml"):
    expected["%s_filter.html" % doc] = ["Input", "Examples", "Return Value"]
guides = yaml.safe_load(open(os.path.join(root, "docs", "docsite", "extra-docs.yml")))["sections"][0]["toctree"]
if os.path.isfile(os.path.join(root, "docs", "simulator.md")):
    guides.append("simulator")
for guide in guides:
    expected["docsite/%s.html" % guide] = []
for name, sections in sorted(expected.items()):
    if not os.path.isfile(os.path.join(site, name)):
        problems.append("%s: missing" % name)
        continue
    pages.append(name)
    if 'href="%s' % name not in index_page:
        problems.append("%s: the index does not link to it" % name)
    page, text = text_of(name)
    for section in sections:
        if not re.search(r"<h[1-4][^>]*>\s*(<[^>]+>\s*)*%s" % re.escape(section), page):
            problems.append("%s: no section %r" % (name, section))
for name in pages:
    page, text = text_of(name)
    left = sorted(set(re.findall(r"\b(?:[ICBMULOVER]|RV)\([^)\s][^)]*\)", text)))
    if left:
        problems.append("%s: markup left as text: %s" % (name, ", ".join(left[:5])))
    if "noreply" in text:
        problems.append("%s: a placeholder address" % name)
for problem in problems:
    print("FAIL " + problem)
print("docs site: %d pages checked (%d modules, %d guides), %d problems"
      % (len(pages), sum(1 for n in expected if n.endswith("_module.html")), len(guides), len(problems)))
sys.exit(1 if problems else 0)
PY
}

# PNGs of the built pages for a person to look at; Debian's chromium, installed here only (never in make test).
screenshots() {
    [ -f "$OUT/html/index.html" ] || build
    if ! command -v chromium >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
    mkdir -p "$OUT/screenshots"
    local page name
    for page in "$OUT"/html/*.html "$OUT"/html/docsite/*.html; do
        [ -f "$page" ] || continue
        case "$(basename "$page")" in search.html|genindex.html|ansible_references.html) continue ;; esac
        name="$(basename "$page" .html).png"
        chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2400 \
            --screenshot="$OUT/screenshots/$name" "file://$page" >/dev/null 2>&1
        echo "screenshot: $OUT/screenshots/$name"
    done
}

case "${1:-build}" in
    build) build ;;
    check) check ;;
    screenshots) screenshots ;;
    *) echo "usage: $0 build|check|screenshots" >&2; exit 2 ;;
esac

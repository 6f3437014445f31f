# pluto.lms: every command sets itself up (a .venv with pinned tools) on a machine with Python 3.11 and git.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-stamp

# The stages of .ci/test-suite.sh: `make test-<stage>` runs one (an explicit rule: a pattern rule never builds a
# target listed in .PHONY, it would print "Nothing to be done").
TEST_STAGES := $(shell sed -n 's/^\(run_\|background_\)\{0,1\}stage  *\([a-z0-9.-]\{1,\}\) .*/\2/p' .ci/test-suite.sh)

.PHONY: help venv test test-matrix lint demo bench build clean docs docs-screenshots print-core-newest $(addprefix test-,$(TEST_STAGES))

# ansible-core releases the collection claims (meta/runtime.yml): `make test` runs 2.19 (.venv, Python 3.11), the
# oldest (.venv-2.16) and the newest this machine's Pythons run (CORE_NEWEST, .venv-2.21 with a Python 3.12);
# `make test-matrix` runs the core-X.Y stages of the suite on each (what depends on ansible-core), in .venv-X.Y.
# 2.20 and later need Python 3.12 on the controller: pyenv's 3.12, or python3.12 on PATH (PYTHON_3_12=... to choose).
CORE_MATRIX := 2.16 2.17 2.18 2.19 2.20 2.21
CORE_NEEDS_3_12 := 2.20 2.21
PYTHON_3_12 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12.*/bin/python3.12) $(shell command -v python3.12 2>/dev/null))
CORE_NEWEST := $(lastword $(if $(PYTHON_3_12),$(CORE_MATRIX),$(filter-out $(CORE_NEEDS_3_12),$(CORE_MATRIX))))
core_python = $(if $(filter $(1),$(CORE_NEEDS_3_12)),$(or $(PYTHON_3_12),$(error ansible-core $(1) needs Python 3.12: set PYTHON_3_12)),$(PYTHON))

help:
	@echo "make demo   start two simulated sites, provision them with the role, audit them in check mode"
	@echo "make test   everything CI runs: ansible-lint, ansible-test sanity, units, integration, the tarball"
	@echo "            installed and run, ansible-doc and antsibull-docs, the changelog, the EE build context,"
	@echo "            and what depends on ansible-core again on the oldest claimed release and the newest this machine runs"
	@echo "make bench  benchmarks (not part of make test)"
	@echo "make test-matrix  what depends on ansible-core, on every claimed release ($(CORE_MATRIX))"
	@echo "make build  the collection tarball in dist/ (what Galaxy and Automation Hub get)"
	@echo "make test-<stage>  one stage of make test: $(TEST_STAGES)"
	@echo "make docs   the HTML documentation (antsibull-docs, Sphinx) in build/docs/html"
	@echo "make docs-screenshots  PNGs of the built pages in headless Chromium (installs Debian's chromium)"

$(STAMP): .ci/requirements.txt requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r .ci/requirements.txt -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	VENV=$(VENV) bash .ci/test-suite.sh

$(addprefix test-,$(TEST_STAGES)): test-%: $(STAMP)
	VENV=$(VENV) bash .ci/test-suite.sh $*

print-core-newest:
	@echo $(CORE_NEWEST)

lint: test-lint

# One venv per ansible-core release of the matrix: .venv-X.Y from .ci/requirements-X.Y.txt.
.venv-%/.requirements-stamp: .ci/requirements-%.txt requirements.txt
	@test -x .venv-$*/bin/python || $(call core_python,$*) -m venv .venv-$*
	.venv-$*/bin/python -m pip install -q --disable-pip-version-check -r .ci/requirements-$*.txt -r requirements.txt
	@touch $@

.PRECIOUS: .venv-%/.requirements-stamp
venv-%: .venv-%/.requirements-stamp
	@:

test-matrix: $(STAMP) $(foreach v,$(CORE_MATRIX),.venv-$(v)/.requirements-stamp)
	VENV=$(VENV) bash .ci/test-suite.sh $(foreach v,$(CORE_MATRIX),core-$(v))

build: $(STAMP)
	$(BIN)/ansible-galaxy collection build --force --output-path dist

demo: $(STAMP)
	VENV=$(VENV) bash playbooks/demo/run-demo.sh

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .venv-[0-9]* .venv-galaxy-importer tests/output .ansible collections dist build demo-output

# docs/reliability.md from a fresh run of the reliability tests (tests/reliability, also a stage of make test).
.PHONY: reliability-report
reliability-report: $(STAMP)
	$(BIN)/python tests/reliability/report.py --run

# The collection's HTML documentation (antsibull-docs and Sphinx): build/docs/html/index.html.
docs: $(STAMP)
	VENV=$(VENV) bash .ci/docs.sh build

# PNGs of the built pages for a person to look at (build/docs/screenshots); installs Debian's chromium with apt-get.
docs-screenshots: docs
	VENV=$(VENV) bash .ci/docs.sh screenshots

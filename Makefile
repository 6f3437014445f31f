# pluto.lms: every command sets itself up (a .venv with pinned tools) on a machine with Python 3.11 and git.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-stamp

.PHONY: help venv test test-sanity test-units test-integration lint demo bench clean

help:
	@echo "make demo   start two simulated sites, provision them with the role, audit them in check mode"
	@echo "make test   everything CI runs: ansible-lint, ansible-test sanity, units, integration"
	@echo "make bench  benchmarks (not part of make test)"

$(STAMP): .ci/requirements.txt requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r .ci/requirements.txt -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	VENV=$(VENV) bash .ci/test-suite.sh

test-%: $(STAMP)
	VENV=$(VENV) bash .ci/test-suite.sh $*

lint: test-lint

demo: $(STAMP)
	VENV=$(VENV) bash playbooks/demo/run-demo.sh

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) tests/output .ansible collections dist demo-output

# spec3nb developer tasks. `make test` works on a fresh machine: it creates .venv, installs
# the package with its test extras, and runs ruff and the whole test suite.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: help install lint test demo bench clean

help:
	@echo "make install  create .venv and install spec3nb with its test extras"
	@echo "make lint     ruff"
	@echo "make test     install, lint and run every test (what CI runs)"
	@echo "make demo     simulate a small dataset of every mode and run Stage 3 on it"
	@echo "make bench    time spec3nb's steps against jwst 3.0.0 on full-size simulated data"
	@echo "make clean    remove .venv and build products"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "spec3nb needs Python >= 3.11; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the dependency declaration changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check spec3nb tests

test: $(STAMP) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/spec3nb demo

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_steps.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache

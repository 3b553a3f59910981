# spec3nb developer tasks. `make test` works on a fresh machine: it creates .venv, installs
# the JupyterLab extension's npm packages (npm ci, from the lock file), installs the package
# with its test extras (which builds the extension into it), installs Debian's Chromium when
# it is missing, and runs ruff, jest, the browser tests, the tutorial notebooks (nbval) and the
# whole pytest suite.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
UI_ARGS ?=
NBVAL_ARGS ?=

# The tutorials nbval runs (notebooks/README.md lists them). notebooks/real_data.ipynb is
# left out on purpose: it needs an association the user downloads from MAST.
NOTEBOOKS := quickstart nirspec_fs nirspec_mos nirspec_ifu miri_lrs miri_mrs niriss_soss \
             niriss_wfss nircam_wfss
NOTEBOOK_FILES := $(patsubst %,notebooks/%.ipynb,$(NOTEBOOKS))

# The JupyterLab extension (labextension/): its npm packages, sources and build output.
EXT        := labextension
NODE_STAMP := $(EXT)/node_modules/.npm-ci-stamp
EXT_SRC    := $(wildcard $(EXT)/src/*.ts) $(wildcard $(EXT)/style/*) $(EXT)/package.json \
              $(EXT)/tsconfig.json $(EXT)/install.json
CHROMIUM   ?= /usr/bin/chromium
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Playwright must never download a browser: the tests use Debian's Chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: help install lint test jest ui-test nbval notebooks pytest demo lab bench clean

help:
	@echo "make install  create .venv and install spec3nb with its test extras"
	@echo "make lint     ruff"
	@echo "make test     install, lint and run every test (what CI runs)"
	@echo "make jest     the extension's TypeScript unit tests"
	@echo "make ui-test  the browser tests (JupyterLab in Debian's Chromium; artefacts in test-artifacts/ui)"
	@echo "make nbval    run the tutorial notebooks and compare their outputs with the stored ones"
	@echo "make notebooks  re-execute the tutorials and store their outputs (after a deliberate change)"
	@echo "make demo     simulate a small dataset of every mode and run Stage 3 on it"
	@echo "make lab      start JupyterLab (with the spec3nb extension) in notebooks/"
	@echo "make bench    spec3nb against jwst 3.0.0 on full-size simulated data: steps, whole runs, re-runs, MOS scale"
	@echo "make clean    remove .venv and build products"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "spec3nb needs Python >= 3.11; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The extension's npm packages, exactly as locked.
$(NODE_STAMP): $(EXT)/package.json $(EXT)/package-lock.json
	cd $(EXT) && npm ci --no-audit --no-fund
	@touch $@

# Reinstall whenever the dependency declaration or the extension changes. The install builds
# the extension (hatch-jupyter-builder) into .venv/share/jupyter/labextensions/spec3nb: the
# old build is removed first so that the installed copy is always the current one.
$(STAMP): pyproject.toml $(NODE_STAMP) $(EXT_SRC) | $(BIN)/python
	rm -rf spec3nb/labextension
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# The build hook's `npm install` rewrites the (unchanged) lock file: not a reason to npm ci again.
	@touch $(NODE_STAMP) $@

$(CHROMIUM):
	$(SUDO) apt-get update
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check spec3nb tests notebooks

jest: $(NODE_STAMP)
	cd $(EXT) && npx jest

ui-test: $(STAMP) $(NODE_STAMP) | $(CHROMIUM)
	cd $(EXT) && PATH="$(abspath $(BIN)):$$PATH" SPEC3NB_CHROMIUM=$(CHROMIUM) \
		npx playwright test -c ui-tests/playwright.config.js $(UI_ARGS)

# The tutorials as regression tests: each cell's output must equal the stored one, up to
# notebooks/nbval_sanitize.cfg. The kernel is this environment's Python; each notebook runs
# in notebooks/ and writes its products into the git-ignored notebooks/products/.
nbval: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider --nbval --nbval-current-env \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg --nbval-cell-timeout=300 \
		$(NBVAL_ARGS) $(NOTEBOOK_FILES)

# Store new expected outputs (after a change meant to alter them): review the diff.
notebooks: $(STAMP)
	$(BIN)/python notebooks/execute.py $(NOTEBOOK_FILES)

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# pytest last: its summary closes the run.
test: $(STAMP) lint jest ui-test nbval pytest

demo: $(STAMP)
	$(BIN)/spec3nb demo

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache test-artifacts \
		spec3nb/labextension $(EXT)/node_modules $(EXT)/lib $(EXT)/tsconfig.tsbuildinfo

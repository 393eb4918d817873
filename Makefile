# Every target installs what it needs into .venv first; see README.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A local copy of mnist_sample.tgz for machines without internet (see README, "Data offline").
MNIST_ARCHIVE ?=
export MNIST_ARCHIVE
HOST ?= 127.0.0.1
PORT ?= 4000

.DEFAULT_GOAL := help
.PHONY: help site serve execute test test-lib test-notebooks lint format data lab bench golden clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

site: $(STAMP) ## Build the blog into _site/ from the notebooks' stored outputs
	$(PY) -m lib.blog build

serve: $(STAMP) ## Serve _site on http://$(HOST):$(PORT) and rebuild when a source changes
	$(PY) -m lib.blog serve --host $(HOST) --port $(PORT)

execute: $(STAMP) data ## Run notebooks whose code, lib, data or versions changed; store their outputs
	$(PY) -m lib.blog execute

data: $(STAMP) ## Make sure the MNIST sample is on disk (MNIST_ARCHIVE=path/to/mnist_sample.tgz offline)
	@$(PY) -c "from lib.digits import main; raise SystemExit(main())"

test: test-notebooks test-lib ## Run every test: the notebooks, then lint and pytest (lib, builder, browser)

lint: $(STAMP) ## ruff on lib/, tests/ and the notebooks
	$(VENV)/bin/ruff check lib tests _notebooks
	$(VENV)/bin/ruff format --check lib tests

format: $(STAMP) ## Format lib/ and tests/ with ruff
	$(VENV)/bin/ruff format lib tests
	$(VENV)/bin/ruff check --fix lib tests

test-lib: lint data ## pytest: the lib functions, the site builder, the browser checks
	$(PY) -m pytest

test-notebooks: data ## Run the notebooks (nbdev-test), lint them, and check fresh outputs = published ones
	$(VENV)/bin/nbdev-test _notebooks --do-print --timing
	$(PY) -m lib.blog lint
	$(PY) -m lib.blog check

lab: $(STAMP) ## JupyterLab on the notebooks, with the project's environment
	$(VENV)/bin/jupyter lab --notebook-dir=_notebooks --ServerApp.ip=$(HOST)

bench: $(STAMP) data ## Speed figures, measured side by side in one run
	$(PY) -m lib.bench

golden: $(STAMP) ## Rebuild the expected site of the test fixtures (tests/golden)
	$(PY) -m lib.blog build --root tests/fixtures/site --out tests/golden --no-search --no-cache

clean: ## Remove _site, caches and .venv
	rm -rf _site _site.* .cache .pytest_cache .ruff_cache $(VENV)
	find . -name __pycache__ -prune -exec rm -rf {} +

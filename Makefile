# Every target installs what it needs into .venv first; see README.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Local copies of mnist_sample.tgz and mnist_png.tgz for machines without internet (README, "Data").
MNIST_ARCHIVE ?=
MNIST_FULL_ARCHIVE ?=
export MNIST_ARCHIVE MNIST_FULL_ARCHIVE
REVEAL_VERSION := 5.2.1
REVEAL := lib/blog/templates/assets/reveal
# Chart libraries that notebook outputs load from CDNs, served from the site instead (lib/blog/vendor.py):
# package@version:file in the package[:package whose LICENSE it takes]. vega's npm package ships no
# LICENSE, so it takes the one of vega-typings, from the same repository and release.
VENDOR := lib/blog/templates/assets/vendor
CHART_LIBS := vega@5.33.1:build/vega.min.js:vega-typings@1.5.1 vega-lite@4.17.0:build/vega-lite.min.js \
	vega-lite@5.23.0:build/vega-lite.min.js vega-embed@6.29.0:build/vega-embed.min.js \
	plotly.js-dist-min@2.35.3:plotly.min.js
# KaTeX renders the math latex2mathml cannot convert (lib/blog/markdown.py: KATEX, and post.html, name it too).
KATEX := $(VENDOR)/katex@0.19.1
# BokehJS for Bokeh's outputs, which load it from cdn.bokeh.org: the release of the Python bokeh that writes
# them (only its major.minor maps, lib/blog/vendor.py), from npm's @bokeh/bokehjs. The builds its output
# loads; bokeh-api, which it never loads, and the ESM builds stay out.
BOKEH := $(VENDOR)/bokehjs@3.9.2
BOKEH_BUILDS := bokeh bokeh-gl bokeh-widgets bokeh-tables bokeh-mathjax
HOST ?= 127.0.0.1
PORT ?= 4000

.DEFAULT_GOAL := help
.PHONY: help site slides handouts serve execute vendor test test-lib test-notebooks lint format data lab bench golden clean

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

slides: site ## Build the site; reveal.js slides of each notebook post are in _site/slides/<slug>.html

handouts: $(STAMP) ## Write the student notebooks (exercises open) into _notebooks/_student/
	$(PY) -m lib.blog handouts

serve: $(STAMP) ## Serve _site on http://127.0.0.1:4000 (HOST=, PORT= to change) and rebuild on changes
	$(PY) -m lib.blog serve --host $(HOST) --port $(PORT)

execute: $(STAMP) data ## Run notebooks whose code, lib, data or versions changed; store their outputs
	$(PY) -m lib.blog execute

data: $(STAMP) ## Make sure MNIST is on disk (offline: MNIST_ARCHIVE=.../mnist_sample.tgz MNIST_FULL_ARCHIVE=.../mnist_png.tgz)
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

test-notebooks: data ## Lint the notebooks, run them (nbdev-test), and check fresh outputs = published ones
	$(PY) -m lib.blog lint
	$(VENV)/bin/nbdev-test _notebooks --do-print --timing
	$(PY) -m lib.blog check

lab: $(STAMP) ## JupyterLab on the notebooks, with the project's environment
	$(VENV)/bin/jupyter lab --notebook-dir=_notebooks --ServerApp.ip=$(HOST)

bench: $(STAMP) data ## Speed figures, measured side by side in one run
	$(PY) -m lib.bench

golden: $(STAMP) ## Rebuild the expected site of the test fixtures (tests/golden)
	$(PY) -m lib.blog build --root tests/fixtures/site --out tests/golden --no-search --no-cache

vendor: ## Refresh the vendored reveal.js, chart libraries, KaTeX and BokehJS (from the npm registry, committed: the site works offline)
	rm -rf $(REVEAL) && mkdir -p $(REVEAL)/dist/theme $(REVEAL)/plugin/notes
	tmp=$$(mktemp -d) && (cd $$tmp && npm pack -q reveal.js@$(REVEAL_VERSION) >/dev/null && tar xzf reveal.js-$(REVEAL_VERSION).tgz) && \
	cp $$tmp/package/LICENSE $(REVEAL)/ && \
	cp $$tmp/package/dist/reveal.js $$tmp/package/dist/reveal.css $(REVEAL)/dist/ && \
	cp $$tmp/package/plugin/notes/notes.js $(REVEAL)/plugin/notes/ && \
	grep -v '@import url(./fonts/' $$tmp/package/dist/theme/white.css > $(REVEAL)/dist/theme/white.css && \
	rm -rf $$tmp
	@echo "reveal.js $(REVEAL_VERSION) in $(REVEAL) (theme without its web font: system fonts instead)"
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	@# Minified builds only, without their source map line (the maps are not vendored).
	tmp=$$(mktemp -d) && for lib in $(CHART_LIBS); do \
		IFS=: read -r pkg file license <<< "$$lib" && dir=$(VENDOR)/$$pkg && mkdir -p $$dir && \
		(cd $$tmp && rm -rf package *.tgz && npm pack -q $$pkg >/dev/null && tar xzf *.tgz) && \
		sed '/^\/\/# sourceMappingURL=/d' $$tmp/package/$$file > $$dir/$$(basename $$file) && \
		if [ -n "$$license" ]; then (cd $$tmp && rm -rf package *.tgz && npm pack -q $$license >/dev/null && tar xzf *.tgz); fi && \
		cp $$tmp/package/LICENSE $$dir/ || { rm -rf $$tmp; exit 1; }; \
	done && rm -rf $$tmp
	@du -sh $(VENDOR) | sed 's|^|chart libraries: |'
	@# KaTeX's fonts as woff2 only, which every browser KaTeX runs in reads: its stylesheet's woff and ttf go.
	mkdir -p $(KATEX)/fonts && tmp=$$(mktemp -d) && \
	(cd $$tmp && npm pack -q $(notdir $(KATEX)) >/dev/null && tar xzf *.tgz) && \
	cp $$tmp/package/LICENSE $$tmp/package/dist/katex.min.js $(KATEX)/ && \
	cp $$tmp/package/dist/fonts/*.woff2 $(KATEX)/fonts/ && \
	sed -E 's/,url\(fonts\/[^)]*\.(woff|ttf)\) format\("(woff|truetype)"\)//g' \
		$$tmp/package/dist/katex.min.css > $(KATEX)/katex.min.css && \
	rm -rf $$tmp
	@du -sh $(KATEX) | sed 's|^|KaTeX: |'
	@# Copied as they are: no source map line to drop, and Bokeh's CDN serves the same bytes.
	mkdir -p $(BOKEH) && tmp=$$(mktemp -d) && \
	(cd $$tmp && npm pack -q @bokeh/$(notdir $(BOKEH)) >/dev/null && tar xzf *.tgz) && \
	cp $$tmp/package/LICENSE $(BOKEH_BUILDS:%=$$tmp/package/build/js/%.min.js) $(BOKEH)/ && \
	rm -rf $$tmp
	@du -sh $(BOKEH) | sed 's|^|BokehJS: |'

clean: ## Remove _site, caches and .venv
	rm -rf _site _site.* .cache .pytest_cache .ruff_cache $(VENV)
	find . -name __pycache__ -prune -exec rm -rf {} +

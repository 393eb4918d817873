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
# LICENSE, so it takes the one of vega-typings, from the same repository and release. 3Dmol.js draws
# py3Dmol's molecule viewers; jQuery is for py3Dmol's outputs before 2.0, which call the classic notebook's `$`.
# Mermaid draws the diagrams of ```mermaid blocks (post.html loads it once one nears the screen).
VENDOR := lib/blog/templates/assets/vendor
CHART_LIBS := vega@5.33.1:build/vega.min.js:vega-typings@1.5.1 vega-lite@4.17.0:build/vega-lite.min.js \
	vega-lite@5.23.0:build/vega-lite.min.js vega-embed@6.29.0:build/vega-embed.min.js \
	plotly.js-dist-min@2.35.3:plotly.min.js 3dmol@2.5.5:build/3Dmol-min.js jquery@3.7.1:dist/jquery.min.js \
	mermaid@11.17.2:dist/mermaid.min.js
# KaTeX renders the math latex2mathml cannot convert (lib/blog/markdown.py: KATEX, and post.html, name it too).
KATEX := $(VENDOR)/katex@0.19.1
# BokehJS for Bokeh's outputs, which load it from cdn.bokeh.org: the release of the Python bokeh that writes
# them (only its major.minor maps, lib/blog/vendor.py), from npm's @bokeh/bokehjs. The builds its output
# loads; bokeh-api, which it never loads, and the ESM builds stay out.
BOKEH := $(VENDOR)/bokehjs@3.9.2
BOKEH_BUILDS := bokeh bokeh-gl bokeh-widgets bokeh-tables bokeh-mathjax
HOST ?= 127.0.0.1
PORT ?= 4000
TEACHER_PORT ?= 4001

.DEFAULT_GOAL := help
.PHONY: help site slides handouts teacher grade classroom serve serve-teacher class-lab execute vendor test test-lib test-notebooks lint format data lab bench class-times golden audit clean

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

teacher: $(STAMP) ## Write _teacher/ (keep it private): answer keys, the site with answers, how to grade
	$(PY) -m lib.blog teacher --out _teacher

grade: $(STAMP) data ## Grade student notebooks, each in a sandbox: make grade SUBMISSIONS=folder/ [KEY=...] [JOBS=n] -> _grades/<post>/
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder/ [KEY=_notebooks/...ipynb] [JOBS=n] [NO_SANDBOX=1]"; exit 2; }
	$(PY) -m lib.blog grade "$(SUBMISSIONS)" $(if $(KEY),--key "$(KEY)") $(if $(JOBS),--jobs $(JOBS)) \
		$(if $(NO_SANDBOX),--no-sandbox) --out _grades

classroom: $(STAMP) ## GitHub Classroom: the assignment's template repository, graded on each push -> _classroom/<post>/ [KEY=...]
	$(PY) -m lib.blog classroom $(if $(KEY),--key "$(KEY)") --out _classroom

serve: $(STAMP) ## Serve _site on http://127.0.0.1:4000/<baseurl>/ (HOST=, PORT= to change) and rebuild on changes
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

# Jupyter refuses to start as root without --allow-root (containers, classroom machines set up as root).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP) ## JupyterLab on the notebooks (answer keys included: the author's lab, not the class's)
	$(VENV)/bin/jupyter lab --notebook-dir=_notebooks --ServerApp.ip=$(HOST) $(ALLOW_ROOT)

class-lab: $(STAMP) data ## JupyterLab for a class: the student notebooks only (_class/), kernels sandboxed (HOST=0.0.0.0: the room)
	$(PY) -m lib.blog class --out _class $(if $(NO_SANDBOX),--no-sandbox)
	JUPYTER_PATH=$(CURDIR)/.cache/class-kernels $(VENV)/bin/jupyter lab --notebook-dir=_class --ServerApp.ip=$(HOST) \
		$(if $(NO_SANDBOX),,--KernelSpecManager.allowed_kernelspecs=blog-class --MappingKernelManager.default_kernel_name=blog-class) \
		$(ALLOW_ROOT)

serve-teacher: $(STAMP) ## Serve _teacher/site (make teacher first) under the blog's baseurl, on TEACHER_PORT (4001)
	$(PY) -m lib.blog serve --out _teacher/site --no-build --host $(HOST) --port $(TEACHER_PORT)

bench: $(STAMP) data ## Speed figures, measured side by side in one run
	$(PY) -m lib.bench

class-times: $(STAMP) data ## Time each section of each notebook on this machine, for the teacher's guide (_data/class_times.json)
	$(PY) -m lib.bench class

golden: $(STAMP) ## Rebuild the expected site of the test fixtures (tests/golden)
	$(PY) -m lib.blog build --root tests/fixtures/site --out tests/golden --no-search --no-cache

vendor: ## Refresh the vendored reveal.js, chart libraries, 3Dmol.js, KaTeX and BokehJS (from the npm registry, committed: the site works offline)
	rm -rf $(REVEAL) && mkdir -p $(REVEAL)/dist/theme $(REVEAL)/plugin/notes
	tmp=$$(mktemp -d) && (cd $$tmp && npm pack -q reveal.js@$(REVEAL_VERSION) >/dev/null && tar xzf reveal.js-$(REVEAL_VERSION).tgz) && \
	cp $$tmp/package/LICENSE $(REVEAL)/ && \
	cp $$tmp/package/dist/reveal.js $$tmp/package/dist/reveal.css $(REVEAL)/dist/ && \
	cp $$tmp/package/plugin/notes/notes.js $(REVEAL)/plugin/notes/ && \
	grep -v '@import url(./fonts/' $$tmp/package/dist/theme/white.css > $(REVEAL)/dist/theme/white.css && \
	rm -rf $$tmp
	@echo "reveal.js $(REVEAL_VERSION) in $(REVEAL) (theme without its web font: system fonts instead)"
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	@# Minified builds only, without their source map line (the maps are not vendored); LICENSE or LICENSE.txt.
	tmp=$$(mktemp -d) && for lib in $(CHART_LIBS); do \
		IFS=: read -r pkg file license <<< "$$lib" && dir=$(VENDOR)/$$pkg && mkdir -p $$dir && \
		(cd $$tmp && rm -rf package *.tgz && npm pack -q $$pkg >/dev/null && tar xzf *.tgz) && \
		sed '/^\/\/# sourceMappingURL=/d' $$tmp/package/$$file > $$dir/$$(basename $$file) && \
		if [ -n "$$license" ]; then (cd $$tmp && rm -rf package *.tgz && npm pack -q $$license >/dev/null && tar xzf *.tgz); fi && \
		cp "$$(ls $$tmp/package/LICENSE* | head -1)" $$dir/LICENSE || { rm -rf $$tmp; exit 1; }; \
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

# Lighthouse for `make audit` only, from npm into .cache/ (git ignores it); 13 needs Node 22, 12.2.3 runs on Node 20.
LIGHTHOUSE_VERSION := 12.2.3
LIGHTHOUSE_DIR := .cache/lighthouse-$(LIGHTHOUSE_VERSION)
LIGHTHOUSE := $(LIGHTHOUSE_DIR)/node_modules/.bin/lighthouse
CHROME_PATH ?= /usr/bin/chromium
AUDIT_PORT ?= 4010
AUDIT_PAGES := / /2021/08/20/pytorch-broadcasting.html /2021/09/04/teachers-guide.html /2021/09/10/figures-references-and-citations.html /categories.html /search.html
# Chrome's own setting of the reader's scheme (0 dark, 1 light): the pages follow it through CSS alone.
AUDIT_SCHEMES := light:1 dark:0
AUDIT_SCORES := const c = require(process.argv[1]).categories; \
	["performance", "accessibility", "best-practices", "seo"].map((k) => Math.round(c[k].score * 100)).join(" ")
# The built site on 127.0.0.1, gzipped as GitHub Pages serves it, so Lighthouse weighs what readers download.
define AUDIT_SERVER
import gzip, http.server, os, sys
class Gzip(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        path = self.translate_path(self.path)
        path = os.path.join(path, "index.html") if self.path.split("?")[0].endswith("/") else path
        if not os.path.isfile(path) or "gzip" not in self.headers.get("Accept-Encoding", ""):
            return super().do_GET()  # folders without their slash, missing files: as http.server answers them
        with open(path, "rb") as f:
            body = gzip.compress(f.read())
        self.send_response(200)
        for name, value in (("Content-Type", self.guess_type(path)), ("Content-Encoding", "gzip"),
                            ("Content-Length", str(len(body)))):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), lambda *a: Gzip(*a, directory=sys.argv[1]))
server.serve_forever()
endef
export AUDIT_SERVER

$(LIGHTHOUSE):
	mkdir -p $(LIGHTHOUSE_DIR) && cd $(LIGHTHOUSE_DIR) && npm i -E --no-audit --no-fund lighthouse@$(LIGHTHOUSE_VERSION)

audit: $(STAMP) $(LIGHTHOUSE) ## Lighthouse scores of five pages, light and dark, on a local build (not in make test)
	@tmp=$$(mktemp -d) && trap 'kill $$server 2>/dev/null; rm -rf $$tmp' EXIT && \
	base=$$($(PY) -c 'from lib.blog.config import load_config; print(load_config(__import__("pathlib").Path(".")).baseurl.rstrip("/"))') && \
	$(PY) -m lib.blog build --out $$tmp/root$$base --no-cache >/dev/null && \
	{ $(PY) -c "$$AUDIT_SERVER" $$tmp/root $(AUDIT_PORT) & server=$$!; } && sleep 1 && kill -0 $$server && \
	printf '%-40s %-6s %12s %14s %15s %4s\n' page scheme performance accessibility best-practices seo && \
	for page in $(AUDIT_PAGES); do for scheme in $(AUDIT_SCHEMES); do \
		CHROME_PATH=$(CHROME_PATH) $(LIGHTHOUSE) "http://127.0.0.1:$(AUDIT_PORT)$$base$$page" --quiet \
			--chrome-flags="--headless=new --no-sandbox --blink-settings=preferredColorScheme=$${scheme#*:}" \
			--only-categories=performance,accessibility,best-practices,seo \
			--output=json --output-path=$$tmp/report.json || exit 1; \
		scores=$$(node -p '$(AUDIT_SCORES)' $$tmp/report.json) && \
		printf '%-40s %-6s %12s %14s %15s %4s\n' $$page $${scheme%%:*} $$scores; \
	done; done

clean: ## Remove _site, caches and .venv
	rm -rf _site _site.* .cache .pytest_cache .ruff_cache $(VENV)
	find . -name __pycache__ -prune -exec rm -rf {} +

# rag-claimcheck: set-up, real servers, demo and tests.
#   make demo   - set everything up, then answer a question on an embedded dev server
#   make test   - set everything up, then run every test (unit, integration, notebooks)

SHELL := /bin/bash
TOOLS_BIN := $(CURDIR)/.tools/bin
TEMPORAL_CLI_VERSION := v1.5.1
# The CLI's version lives in this variable; `go install` leaves it at 0.0.0-DEV unless -ldflags sets it.
TEMPORAL_CLI_VERSION_VAR := github.com/temporalio/cli/temporalcli.Version
# MinIO publishes source only; pin the module version of a known commit (2026-02-12).
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=

.PHONY: help setup tools temporal-cli browser dev-server demo test test-browser test-fast lint bench soak strip-notebooks clean-tools

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

setup: ## Install Python dependencies from uv.lock into .venv
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet

tools: ## Find (PATH, then .tools/bin) or build all three servers: temporal, minio and temporal-devserver
	@mkdir -p $(TOOLS_BIN)
	@# All at once: a cold build of each takes minutes, and go splits the cores between them.
	@$(MAKE) --no-print-directory temporal-cli & t=$$!; \
	 bash scripts/ensure-tool.sh minio github.com/minio/minio@$(MINIO_VERSION) "$(TOOLS_BIN)" & m=$$!; \
	 bash scripts/ensure-devserver.sh "$(TOOLS_BIN)" & d=$$!; \
	 wait $$t; tr=$$?; wait $$m; mr=$$?; wait $$d; dr=$$?; exit $$(( tr || mr || dr ))

temporal-cli: ## Find or build only the Temporal CLI (v1.5.1): all that make demo and make dev-server need
	@mkdir -p $(TOOLS_BIN)
	@bash scripts/ensure-tool.sh temporal github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION) "$(TOOLS_BIN)" $(TEMPORAL_CLI_VERSION_VAR)

browser: ## Find Chromium for the browser tests, or install Debian's package (as root)
	@command -v chromium >/dev/null 2>&1 || [ -x "$${CHROMIUM_PATH:-/usr/bin/chromium}" ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium for the browser tests (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "no chromium: the browser tests need it (sudo apt-get install chromium, or set CHROMIUM_PATH)"; \
	  fi; }

TEMPORAL = $(shell command -v temporal 2>/dev/null || echo $(TOOLS_BIN)/temporal)

DEVSERVER = $(shell command -v temporal-devserver 2>/dev/null || echo $(TOOLS_BIN)/temporal-devserver)

dev-server: $(if $(filter 1.32,$(SERVER)),tools,temporal-cli) ## A dev server on localhost:7233, Web UI :8233 (CODEC_ENDPOINT=url; SERVER=1.32: counts external payloads)
	@$(if $(filter 1.32,$(SERVER)),$(DEVSERVER) server start-dev --dynamic-config-value history.externalPayloadsEnabled=true,$(TEMPORAL) server start-dev) $(if $(CODEC_ENDPOINT),--ui-codec-endpoint $(CODEC_ENDPOINT))

demo: setup temporal-cli ## Answer a question on the embedded stack and compare history sizes per mode
	@$(UV) run python start_workflow.py --embedded --compare

NBVAL := --nbval-lax --nbval-current-env --nbval-cell-timeout=300
# Test files run side by side in TEST_WORKERS processes (pytest-xdist; a file stays in one process, so a
# notebook's cells run in order on one kernel). Most tests wait on servers, so more processes than cores pay.
TEST_WORKERS ?= 3
PARALLEL := $(if $(filter-out 0 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile)

test: setup tools browser ## Run every test against the real dev server and MinIO, notebooks and browser included
	@$(UV) run pytest $(NBVAL) $(PARALLEL) -p tests.suite_times $(PYTEST_ARGS) tests notebooks

test-browser: setup tools browser ## Only the real-browser tests (JupyterLab and the Web UI in Chromium)
	@$(UV) run pytest -p no:nbval $(PYTEST_ARGS) tests/browser

test-fast: setup ## Unit tests only (no servers)
	@$(UV) run pytest -m "not integration" -p no:nbval tests

lint: setup ## ruff, mypy and the import layers (lint-imports)
	@$(UV) run ruff check . && $(UV) run ruff format --check . && $(UV) run mypy rag_claimcheck && $(UV) run lint-imports

bench: setup tools ## Run the benchmarks (JSON on stdout; see docs/benchmarks.md)
	@$(UV) run python benchmarks/codec_bench.py
	@$(UV) run python benchmarks/rag_bench.py
	@$(UV) run python benchmarks/recovery_bench.py

soak: setup tools ## Chaos soak at full size, codec and extstore (about 30 minutes; JSON on stdout)
	@$(UV) run python benchmarks/soak_bench.py

strip-notebooks: setup ## Remove outputs from the notebooks before committing
	@$(UV) run python scripts/strip_notebooks.py notebooks/*.ipynb

clean-tools: ## Remove the built servers
	rm -rf $(CURDIR)/.tools

# langchain-assistants: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help install bubblewrap browser test test-postgres unit integration lint format type serve demo bench clean notebook

help: ## Show this help (every target)
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory bubblewrap
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

install: bubblewrap $(STAMP) browser ## Create .venv with the package, every extra and the dev tools (+ bubblewrap, chromium)

bubblewrap: ## Install bubblewrap (bwrap), the code_interpreter sandbox (apt-get, as root)
	@if command -v bwrap >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; \
	else \
		echo "bubblewrap (bwrap) is missing: the code_interpreter sandbox needs it."; \
		echo "  Debian/Ubuntu: sudo apt-get install bubblewrap   Fedora: sudo dnf install bubblewrap"; \
		echo "  (or run the server with --code-interpreter unsafe-local, without kernel isolation)"; \
	fi

# The playground's browser tests drive Debian's chromium through chromium-driver (no download).
browser: ## Install chromium + chromium-driver when missing (as root, with apt-get)
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium + chromium-driver for the playground's browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "note: the playground's browser tests need chromium + chromium-driver (apt-get install chromium chromium-driver)"; fi

test: $(STAMP) browser ## Run unit and integration tests (the server runs on loopback)
	$(PY) -m pytest -q tests

test-postgres: $(STAMP) ## Integration tests on PostgreSQL: PG_URL=postgresql://user@127.0.0.1/db
	@test -n "$(PG_URL)" || { echo "set PG_URL=postgresql://user@host:port/db"; exit 2; }
	LANGCHAIN_ASSISTANTS_TEST_DB=$(PG_URL) $(PY) -m pytest -q tests/integration_tests

unit: $(STAMP) ## Run unit tests only
	$(PY) -m pytest -q tests/unit_tests

integration: $(STAMP) browser ## Run integration tests only
	$(PY) -m pytest -q tests/integration_tests

lint: $(STAMP) ## ruff lint + format check
	$(VENV)/bin/ruff check langchain_assistants tests examples bench
	$(VENV)/bin/ruff format --check langchain_assistants tests examples bench

format: $(STAMP) ## ruff format + autofix
	$(VENV)/bin/ruff format langchain_assistants tests examples bench
	$(VENV)/bin/ruff check --fix langchain_assistants tests examples bench

type: $(STAMP) ## mypy
	$(VENV)/bin/mypy

MODEL ?= scripted:langchain_assistants/demo/scripts/interpreter.json

serve: $(STAMP) ## Start the server on 127.0.0.1:8000 (MODEL=openai:gpt-4.1-mini; default: scripted demo model)
	$(VENV)/bin/langchain-assistants serve --model $(MODEL)

demo: $(STAMP) ## Run the seed page end to end, offline, on the embedded server (ARGS="--model ...")
	$(PY) -m langchain_assistants.demo $(ARGS)

notebook: $(STAMP) ## Re-run notebooks/openai_assistants.ipynb offline and store it with its outputs
	$(PY) notebooks/execute.py

bench: $(STAMP) ## Benchmark ours vs legacy vs raw SDK on the bundled server, write bench/RESULTS.md (ARGS=--quick)
	$(PY) -m bench $(ARGS)

clean: ## Remove .venv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# langchain-assistants: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help install test unit integration lint format type serve demo bench clean

help: ## Show this help
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv with the package, every extra and the dev tools

test: $(STAMP) ## Run unit and integration tests (the server runs on loopback)
	$(PY) -m pytest -q tests

unit: $(STAMP) ## Run unit tests only
	$(PY) -m pytest -q tests/unit_tests

integration: $(STAMP) ## Run integration tests only
	$(PY) -m pytest -q tests/integration_tests

lint: $(STAMP) ## ruff lint + format check
	$(VENV)/bin/ruff check langchain_assistants tests examples bench
	$(VENV)/bin/ruff format --check langchain_assistants tests examples bench

format: $(STAMP) ## ruff format + autofix
	$(VENV)/bin/ruff format langchain_assistants tests examples bench
	$(VENV)/bin/ruff check --fix langchain_assistants tests examples bench

type: $(STAMP) ## mypy
	$(VENV)/bin/mypy

serve: $(STAMP) ## Start the bundled server on 127.0.0.1:8000 (scripted demo model unless MODEL=... is set)
	$(VENV)/bin/langchain-assistants serve $(if $(MODEL),--model $(MODEL),)

demo: $(STAMP) ## Run the seed page end to end, offline, on the embedded server
	$(PY) -m langchain_assistants.demo $(DEMO_ARGS)

bench: $(STAMP) ## Run benchmarks and write bench/RESULTS.md
	$(PY) -m bench

clean: ## Remove .venv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

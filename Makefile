# langchain-assistants: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help install bubblewrap browser postgres-server fault-tools kernel-vm test test-postgres unit integration lint format type serve demo bench clean notebook

help: ## Show this help (every target)
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory bubblewrap
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

install: bubblewrap $(STAMP) browser postgres-server fault-tools kernel-vm ## Create .venv (package, every extra, dev tools); bubblewrap, chromium, PostgreSQL, QEMU

# The sandbox's seccomp filter is compiled with libseccomp (Debian `libseccomp2`, loaded by
# the pyseccomp package); bwrap itself does not depend on it.
bubblewrap: ## Install bubblewrap (bwrap) and libseccomp, the code_interpreter sandbox (apt-get, as root)
	@if command -v bwrap >/dev/null 2>&1 && \
	    $$(command -v ldconfig || echo /sbin/ldconfig) -p 2>/dev/null | grep -q 'libseccomp\.so\.2 '; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap libseccomp2; \
	else \
		echo "bubblewrap (bwrap) or libseccomp is missing: the code_interpreter sandbox needs both."; \
		echo "  Debian/Ubuntu: sudo apt-get install bubblewrap libseccomp2   Fedora: sudo dnf install bubblewrap libseccomp"; \
		echo "  (or run the server with --code-interpreter unsafe-local, without kernel isolation)"; \
	fi

# The playground's browser tests drive Debian's chromium through chromium-driver (no download).
browser: ## Install chromium + chromium-driver when missing (as root, with apt-get)
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium + chromium-driver for the playground's browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "note: the playground's browser tests need chromium + chromium-driver (apt-get install chromium chromium-driver)"; fi

# The suite starts its own throwaway PostgreSQL cluster, so the server programs (initdb, pg_ctl)
# must be installed: from Debian's `postgresql` package when we are root (or have sudo).
postgres-server: ## Install PostgreSQL's server programs (Debian package `postgresql`) if missing
	@if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null; then :; \
	elif ! command -v apt-get >/dev/null; then \
	  echo "PostgreSQL (initdb, pg_ctl) is missing: install it with your package manager"; exit 1; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	elif sudo -n true 2>/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	else echo "PostgreSQL is missing: sudo apt-get install postgresql"; exit 1; fi

# The fault matrix makes a database file immutable (chattr, Debian `e2fsprogs`) and mounts a
# tiny tmpfs (mount, Debian `mount`); both are in Debian's base system, installed if missing.
fault-tools: ## Install chattr and mount (Debian e2fsprogs, mount) if missing
	@if command -v chattr >/dev/null && command -v mount >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq e2fsprogs mount; \
	elif sudo -n true 2>/dev/null && command -v apt-get >/dev/null; then \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq e2fsprogs mount; \
	else echo "chattr/mount are missing: install e2fsprogs and mount"; exit 1; fi

# The sandbox's cgroup v2 test boots a real kernel with cgroup v2 in a software-emulated VM
# (tests/integration_tests/kernel_vm.py): QEMU, Debian's kernel and a static busybox.
kernel-vm: ## Install QEMU, a Linux kernel and busybox-static for the cgroup v2 test (apt-get)
	@if command -v qemu-system-x86_64 >/dev/null && [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 && \
	    ls /boot/vmlinuz-* >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null && { [ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }; then \
	  S=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$S apt-get update -qq && $$S env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    qemu-system-x86 linux-image-amd64 busybox-static >/dev/null; \
	else echo "note: the cgroup v2 test needs qemu-system-x86, linux-image-amd64 and busybox-static"; fi

test: $(STAMP) browser postgres-server fault-tools kernel-vm ## Unit + integration tests on SQLite, then integration tests on PostgreSQL
	$(PY) -m pytest -q tests
	$(PY) -m pytest -q tests/integration_tests --db postgres

test-postgres: $(STAMP) ## Integration tests on PostgreSQL: PG_URL=postgresql://user@127.0.0.1/db
	@test -n "$(PG_URL)" || { echo "set PG_URL=postgresql://user@host:port/db"; exit 2; }
	$(PY) -m pytest -q tests/integration_tests --db "$(PG_URL)"

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

# The PostgreSQL rows run on a throwaway cluster the bench starts itself (BENCH_POSTGRES_URL
# overrides); without PostgreSQL they say "not run" and the rest of the bench still runs.
bench: $(STAMP) ## Benchmark ours vs legacy vs raw SDK on the bundled server, write bench/RESULTS.md (ARGS=--quick)
	@$(MAKE) --no-print-directory postgres-server || echo "note: no PostgreSQL: the bench's PostgreSQL rows will say 'not run'"
	$(PY) -m bench $(ARGS)

clean: ## Remove .venv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# The project's commands. `make run` and `make test` work on a bare machine with
# Python 3.11, git and make: everything else is installed from the project's own files.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Two test processes by default (pytest-xdist); PYTEST_ARGS="-n 0" runs in one. Work stealing:
# the browser tests come first (tests/conftest.py) and xdist hands each process a contiguous
# share, so with plain `load` one process got every browser test and the other sat idle for the
# last quarter of the run; an idle process now takes tests from the other's queue.
PYTEST_ARGS ?= -n 2 --dist worksteal

.PHONY: help install run serve test a11y screenshots test-fast lint format bench messages browser a11y-tools scanner clean

help:  ## List the commands
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	UV_PYTHON_DOWNLOADS=never $(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(VENV)/.installed  ## Create .venv with the locked dependencies

.env:
	cp .env.example .env

run: install .env  ## Migrate, load demo data, serve :8000 with a Celery worker and beat (Ctrl-C stops all)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Serving http://$(HOST):$(PORT)/  (admin: /admin/, portal: /portal/, give: /give/)"
	@trap 'kill 0' EXIT; \
	$(VENV)/bin/celery -A config worker --loglevel=info --concurrency=2 & \
	$(VENV)/bin/celery -A config beat --loglevel=info --schedule var/celerybeat-schedule & \
	$(PY) manage.py runserver $(HOST):$(PORT); \
	wait

# Korean text needs a Korean font in screenshots (fonts-nanum); Chromium itself for the tests.
browser:  ## Install Debian's Chromium and a Korean font for the browser tests (when possible)
	@if (command -v chromium >/dev/null 2>&1 || [ -x "$${CHROMIUM_PATH:-/usr/bin/chromium}" ]) \
		&& fc-list 2>/dev/null | grep -qi nanum; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		(apt-get install -y -qq chromium fonts-nanum >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null && apt-get install -y -qq chromium fonts-nanum >/dev/null)) || \
		echo "WARNING: could not install chromium: browser tests will be SKIPPED."; \
	else echo "WARNING: no chromium and no root apt-get: browser tests will be SKIPPED (see README)."; fi

# axe-core and the Nu HTML Checker for the accessibility checks, from tests/a11y's lock file.
a11y-tools:  ## Install the accessibility checkers (axe-core, vnu-jar) with npm (when possible)
	@if [ -f tests/a11y/node_modules/.package-lock.json ] && \
		[ tests/a11y/node_modules/.package-lock.json -nt tests/a11y/package-lock.json ]; then :; \
	elif command -v npm >/dev/null 2>&1; then \
		(cd tests/a11y && npm ci --no-audit --no-fund --loglevel=error) || \
		echo "WARNING: npm ci failed: accessibility checks will be SKIPPED."; \
	else echo "WARNING: npm not found: accessibility checks (axe-core, vnu) will be SKIPPED."; fi
	@command -v java >/dev/null 2>&1 || \
		echo "WARNING: java not found: the HTML validity check (vnu) will be SKIPPED."

# The document tests start a real clamd with a home-made signature (no signature download).
scanner:  ## Install ClamAV's daemon for the document scanning tests (when possible)
	@if command -v clamd >/dev/null 2>&1 && command -v sigtool >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing clamav-daemon for the document scanning tests..."; \
		(apt-get install -y -qq clamav-daemon >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null && apt-get install -y -qq clamav-daemon >/dev/null)) || \
		echo "WARNING: could not install clamav-daemon: scanning tests will be SKIPPED."; \
	else echo "WARNING: no clamd and no root apt-get: scanning tests will be SKIPPED (see docs/documents.md)."; fi

# `PYTHONDONTWRITEBYTECODE=`: where the environment turns bytecode caching off, every test
# process would compile Django and the project afresh (~10 s of CPU each); the caches stay out
# of git (.gitignore).
test: install browser a11y-tools scanner  ## Run the whole test suite (SQLite and an in-process broker by default)
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest $(PYTEST_ARGS)

# Every page of every role in three languages: ~560 pages through axe-core and the Nu checker,
# a few minutes of CPU, so it is its own step (CI runs it after `make test`).
a11y: install browser a11y-tools  ## The accessibility crawl: every page, every role, en/fr/ko (axe + Nu)
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -m crawl $(PYTEST_ARGS) tests/browser/test_accessibility.py

screenshots: install browser  ## The browser tests, keeping a picture of every page they pass in test-artifacts/
	SCREENSHOTS=1 PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -m browser $(PYTEST_ARGS)

lint: install  ## ruff, the import contracts (import-linter) and the types (mypy)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DJANGO_DEBUG=true $(VENV)/bin/mypy

format: install  ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Strings that only a library contains are listed in config/library_strings.py, or makemessages
# would mark their translations obsolete. No fuzzy matching (config/management/commands/
# makemessages.py): a guessed translation is left out of the compiled catalogue; a new
# string comes in empty and the translation test names it.
messages: install  ## Extract and compile the en/fr/ko translation catalogues
	DJANGO_DEBUG=true $(PY) manage.py makemessages -l fr -l ko $(MAKEMESSAGES_IGNORE)
	DJANGO_DEBUG=true $(PY) manage.py compilemessages --ignore=.venv

MAKEMESSAGES_IGNORE := --ignore=.venv --ignore=var --ignore=static/vendor --ignore=test-artifacts \
	--ignore=benchmarks --ignore=tests --ignore=tmp

bench: install browser a11y-tools scanner  ## Benchmarks on a production-like stack; writes benchmarks/results.md
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		echo "Installing wrk for the benchmarks..." && \
		(apt-get install -y -qq wrk >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null)); } || true
	$(PY) benchmarks/run.py

clean:  ## Remove local data (database, broker queue, mail) but keep .venv
	rm -rf var/

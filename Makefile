# Archway: `make run` to try it, `make test` to check it. See README.md.
SHELL := /bin/bash
PY := .venv/bin/python
STAMP := .venv/.installed
export REDIS_URL ?= redis://127.0.0.1:6379/0
# The system python3 when it is 3.11 to 3.13, else python3.11 if installed; empty: apt installs python3.
PYTHON := $(shell for p in python3 python3.13 python3.12 python3.11; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null && { echo $$p; break; }; done)

.PHONY: run prod test bench lint setup system deps db redis clean

run: setup redis
	ARCHWAY_PROBE_ALLOW="$${ARCHWAY_PROBE_ALLOW-127.0.0.0/8,::1}" DEBUG="$${DEBUG-1}" bin/run-all

# Production on this machine: gunicorn, Celery workers, one beat, PostgreSQL and Redis
# from the environment (docs/operations.md). No demo data.
prod: system deps
	bin/run-prod

test: setup redis lint
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup redis
	$(PY) bench/bench_scale.py --build
	$(PY) bench/run.py

lint: deps
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

setup: system deps db
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py seed_demo

# System packages from apt, only when something is missing.
system:
	@missing=""; \
	command -v dot >/dev/null || missing="$$missing graphviz"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v pdftoppm >/dev/null || missing="$$missing poppler-utils"; \
	[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$$missing fonts-dejavu-core"; \
	[ -n "$(PYTHON)" ] || missing="$$missing python3 python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing from apt:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# The virtualenv, reinstalled when pyproject.toml changes.
deps: $(STAMP)
$(STAMP): pyproject.toml
	[ -x $(PY) ] || $(or $(PYTHON),python3) -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

db: deps
	$(PY) bin/ensure-database

redis: deps
	$(PY) bin/ensure-redis

clean:
	rm -rf var/static var/test-*.sqlite3*

# Two commands for a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: run test bench lint typecheck services install install-test clean up down

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## Install if needed, migrate the SQLite file, start API + worker + scheduler.
run: install
	RENEWALS_LOG_LEVEL=$${RENEWALS_LOG_LEVEL:-WARNING} $(BIN)/renewals migrate
	$(BIN)/renewals dev

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install-test
	$(BIN)/mypy

## Lint, type-check, then the whole suite on SQLite and Postgres, with Apache Kafka and the
## console in Chromium (PostgreSQL, Chromium and the Kafka jars are installed on the first run).
test: lint typecheck services
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

## PostgreSQL started (installed with apt when missing), Chromium for the console's browser
## tests (apt too) and Apache Kafka's jars cached.
services:
	bash .ci/postgres-up
	bash .ci/chromium-up
	bash .ci/kafka-jars >/dev/null

## Every figure of docs/benchmarks.md beside its same-run baseline (Postgres and the test
## broker as in the tests; about 12 minutes); refreshes bench/results.json and docs/benchmarks.md.
bench: install-test services
	$(BIN)/python -m bench $(BENCH_ARGS)

## docs/console-radar.png refreshed from the demo portfolio, in Chromium as the console's
## browser tests see it.
.PHONY: screenshots
screenshots: install-test
	bash .ci/chromium-up
	$(BIN)/python -m tests.console.screenshots

LOCK_ARGS ?=

## Re-lock the image's dependencies after changing pyproject.toml's: deploy/requirements.lock,
## resolved for the image's Python and platform, with hashes. Pins already in the lock are
## kept; `make lock LOCK_ARGS=--upgrade` takes the newest versions the ranges allow.
.PHONY: lock
lock: | $(BIN)/python
	$(BIN)/python -m pip install -q 'uv>=0.5,<1'
	$(BIN)/uv pip compile --quiet pyproject.toml --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 --generate-hashes \
		--custom-compile-command 'make lock' --output-file deploy/requirements.lock $(LOCK_ARGS)

COMPOSE := docker compose -f deploy/compose.yaml

## The whole system in containers (Postgres, Kafka, migrate, API, relay, worker); see deploy/README.md.
up:
	$(COMPOSE) up --build --detach --wait
	@echo "API http://127.0.0.1:8000/v1 - first key: $(COMPOSE) exec api renewals apikey create --name me --scopes admin"

down:
	$(COMPOSE) down

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis renewals.db*

# Every command a person needs. `make run` and `make test` do their own setup.
SHELL := /bin/bash
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PYTHON ?= python3
export PATH := $(BIN):$(PATH)
export CRM_VAR_DIR ?= $(CURDIR)/var

.PHONY: help install broker migrate seed run test test-unit test-integration test-e2e lint format typecheck dlq bench fuzz clean

help:
	@echo "make run        start the whole system (gateway on http://127.0.0.1:8080)"
	@echo "make test       run every test (unit, integration, e2e)"
	@echo "make lint       ruff check + format check;  make format  to fix"
	@echo "make typecheck  mypy over shared/"
	@echo "make migrate    apply every service's migrations;  make seed  create the admin user"
	@echo "make dlq ARGS='list <queue>'   list / show / replay dead letters"
	@echo "make bench      benchmarks with figures and ratios"
	@echo "make fuzz       schemathesis against a running system (ARGS='--max-examples 200')"

$(VENV)/.installed: pyproject.toml
	@ldconfig -p | grep -q libmagic.so.1 || apt-get install -y -q libmagic1  # python-magic needs it
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

broker:
	@scripts/ensure-rabbitmq.sh

migrate: install
	@scripts/run.sh migrate

seed: install
	@scripts/run.sh seed

run: install
	@scripts/run.sh

# Two pytest workers: one file (and the whole of tests/e2e, which shares one running system)
# never splits across them; see conftest.py.
TEST_WORKERS ?= 2

test: install broker lint typecheck
	@$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

test-unit: install
	@$(BIN)/pytest -m "not integration and not e2e"

test-e2e: install broker
	@$(BIN)/pytest tests/e2e

lint: install
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

format: install
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

typecheck: install
	@$(BIN)/mypy

bench: install broker
	@scripts/ensure-wrk.sh
	@$(BIN)/python -m bench.run

fuzz: install broker
	@$(BIN)/python -m tests.fuzz $(ARGS)

dlq: install
	@$(BIN)/python -m shared.dlq $(ARGS)

clean:
	rm -rf var .pytest_cache .ruff_cache .mypy_cache

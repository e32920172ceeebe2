# The two commands a new user needs: `make run` and `make test`.
# The virtual environment's interpreter: Debian's python3.11 where it is installed with its
# venv module (built with profile-guided and link-time optimisation, libpython linked in: it
# runs the server's work in 10-15 % less CPU than a shared build without them, as pyenv makes
# by default), else the python3 on the PATH. `make run PYTHON=python3` chooses the latter.
DEBIAN_PYTHON := $(shell /usr/bin/python3.11 -c 'import ensurepip' 2>/dev/null && echo /usr/bin/python3.11)
PYTHON ?= $(or $(DEBIAN_PYTHON),python3)
HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
# What serving needs, and what testing adds (linters, test clients, a browser driver).
SERVE_STAMP := $(VENV)/.installed-serve
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck schema diagrams bench bench-auth bench-events clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(SERVE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(SERVE_STAMP)

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(SERVE_STAMP) $(DEV_STAMP)

run: $(SERVE_STAMP)
	$(BIN)/rma-graphql serve --host $(HOST) --port $(PORT)

test: $(DEV_STAMP)
	bash scripts/test.sh

lint: $(DEV_STAMP)
	$(BIN)/ruff check rma_graphql tests scripts
	$(BIN)/ruff format --check rma_graphql tests scripts
	$(BIN)/lint-imports --no-cache

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

schema: $(DEV_STAMP)
	$(BIN)/python scripts/export_docs.py

bench: $(DEV_STAMP)
	$(BIN)/python scripts/bench_api.py

bench-auth: $(DEV_STAMP)
	$(BIN)/python scripts/bench_api.py --orders 200 --requests 3000 --compare-auth 5

bench-events: $(DEV_STAMP)
	$(BIN)/python scripts/bench_events.py

clean:
	rm -rf $(VENV) rma.db rma.db-* .pytest_cache .mypy_cache .ruff_cache tests/clients/node_modules test-artifacts

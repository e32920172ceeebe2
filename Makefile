# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck schema diagrams bench bench-auth bench-events clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/rma-graphql serve

test: $(STAMP)
	bash scripts/test.sh

lint: $(STAMP)
	$(BIN)/ruff check rma_graphql tests scripts
	$(BIN)/ruff format --check rma_graphql tests scripts

typecheck: $(STAMP)
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/python scripts/export_docs.py

bench: $(STAMP)
	$(BIN)/python scripts/bench_api.py

bench-auth: $(STAMP)
	$(BIN)/python scripts/bench_api.py --orders 200 --requests 3000 --compare-auth 5

bench-events: $(STAMP)
	$(BIN)/python scripts/bench_events.py

clean:
	rm -rf $(VENV) rma.db rma.db-* .pytest_cache .mypy_cache .ruff_cache

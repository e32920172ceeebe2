#!/usr/bin/env bash
# The whole suite: ruff, mypy, then every test on SQLite and on a real PostgreSQL, with the
# real clients: the graphql-ws library and Apollo Client under Node, GraphiQL in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

bash scripts/test-deps.sh

echo "== ruff"
$BIN/ruff check rma_graphql tests scripts
$BIN/ruff format --check rma_graphql tests scripts
echo "== mypy"
$BIN/mypy
echo "== import contracts"
$BIN/lint-imports --no-cache

echo "== tests on SQLite, with the coverage report (its floor is in pyproject.toml)"
RMA_TEST_DATABASE=sqlite $BIN/pytest -q -p no:cacheprovider --cov --cov-report=term

echo "== tests on PostgreSQL"
PG_URL="$(bash scripts/postgres.sh)"
RMA_TEST_DATABASE=postgresql RMA_TEST_POSTGRES_URL="$PG_URL" $BIN/pytest -q -p no:cacheprovider

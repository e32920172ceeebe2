#!/usr/bin/env bash
# The whole suite: ruff, mypy, then every test on SQLite and on a real PostgreSQL, with the
# real clients: the graphql-ws library and Apollo Client under Node, GraphiQL in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

bash scripts/test-deps.sh
START=$SECONDS

echo "== ruff"
$BIN/ruff check rma_graphql tests scripts
$BIN/ruff format --check rma_graphql tests scripts
echo "== mypy"
$BIN/mypy
echo "== import contracts"
$BIN/lint-imports --no-cache

# Two pytest-xdist workers (one per core), each with databases of its own; work stealing
# keeps both busy to the end however long the slowest tests are.
PYTEST=($BIN/pytest -q -p no:cacheprovider -n "${RMA_TEST_WORKERS:-2}" --dist worksteal --durations=10)

# The API tests a compiled plan answered something for, noted by the first run for the last.
PLANNED="$(mktemp -d)"
trap 'rm -rf "$PLANNED"' EXIT

echo "== tests on SQLite, with the coverage report (its floor is in pyproject.toml)"
RMA_TEST_DATABASE=sqlite RMA_TEST_RECORD_PLANNED="$PLANNED" "${PYTEST[@]}" --cov --cov-report=term

# The unit tests never touch a database: they ran above.
echo "== tests on PostgreSQL"
PG_URL="$(bash scripts/postgres.sh)"
RMA_TEST_DATABASE=postgresql RMA_TEST_POSTGRES_URL="$PG_URL" "${PYTEST[@]}" tests/api tests/e2e tests/integration
# Compiled plans are on by default: the API tests a plan answered something for run once more
# with them off (per-field execution must answer them the same); the others ran per-field
# execution only, as they would again.
echo "== API tests a compiled plan answered, on SQLite with compiled reads off"
RMA_TEST_DATABASE=sqlite RMA_COMPILED_READS=0 RMA_TEST_ONLY_PLANNED="$PLANNED" "${PYTEST[@]}" tests/api
echo "== lint, types and both test runs took $((SECONDS - START)) s (installs excluded)"

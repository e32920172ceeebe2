#!/usr/bin/env bash
# What the suite needs beyond Python, installed when missing: Debian's postgresql and
# chromium packages (one apt-get update for both; needs root) and the pinned JavaScript
# clients under tests/clients (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "test-deps.sh: $*" >&2; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
bash scripts/apt-install.sh ${missing[@]+"${missing[@]}"}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "Node.js 20 and npm are needed for the JavaScript clients' tests."
  exit 1
fi
lock=tests/clients/package-lock.json
stamp=tests/clients/node_modules/.installed
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
  log "installing the pinned JavaScript clients (npm ci)"
  (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error >&2)
  touch "$stamp"
fi

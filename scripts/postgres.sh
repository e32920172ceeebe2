#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the test suite and prints its DATABASE_URL.
# Installs Debian's postgresql package when no server is found (CI runs as root, so the
# server itself runs as the postgres user). Idempotent: reuses a server it started before.
set -euo pipefail

PGPORT="${RMA_TEST_PGPORT:-55432}"
# The cluster is throwaway and not durable (fsync off): it lives in memory (/dev/shm) when
# that has room, where the kernel's writeback of its files (every 5 s on disk) cannot stall
# its commits, and on disk (/tmp) otherwise (a container's /dev/shm may hold only 64 MB).
in_memory() {
  [ -d /dev/shm ] && [ -w /dev/shm ] || return 1
  local free_kb
  free_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
  [ -n "$free_kb" ] && [ "$free_kb" -ge $((4 * 1024 * 1024)) ]
}
if [ -n "${RMA_TEST_PGDATA:-}" ]; then
  PGDATA="$RMA_TEST_PGDATA"
elif in_memory; then
  PGDATA="/dev/shm/rma_graphql-pg-$PGPORT"
else
  PGDATA="/tmp/rma_graphql-pg-$PGPORT"
fi
DBNAME=rma_test
log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
  done
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"; return 0
  fi
  return 1
}

BINDIR="$(find_bindir || true)"
if [ -z "$BINDIR" ]; then
  bash "$(dirname "$0")/apt-install.sh" postgresql
  BINDIR="$(find_bindir)"
fi

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres
fi

if ! "$BINDIR/pg_isready" -h 127.0.0.1 -p "$PGPORT" -q 2>/dev/null; then
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    rm -rf "$PGDATA"
    mkdir -p "$PGDATA"
    [ "$(id -u)" = 0 ] && chown postgres "$PGDATA"
    as_pg "$BINDIR/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  as_pg "$BINDIR/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 \
    -o "-p $PGPORT -c listen_addresses=127.0.0.1 -k $PGDATA -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
fi

if ! psql -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DBNAME'" | grep -q 1; then
  psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE $DBNAME" >/dev/null
fi
echo "postgresql+asyncpg://postgres@127.0.0.1:$PGPORT/$DBNAME"

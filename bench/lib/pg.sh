# shellcheck shell=bash
# Throwaway PostgreSQL 15 for the benchmark, sourced by bench/run.sh.
#
#   bench_pg_start PORT      start a cluster on 127.0.0.1:PORT configured for the benchmark,
#                            create its roles; sets BENCH_PG_DIR, BENCH_PG_SOCK, BENCH_PG_LOG
#   bench_pg_stop [keep]     stop it; delete its directory unless "keep"
#   bench_psql [args...]     psql as superuser over the private Unix socket
#
# The cluster comes from scripts/pg_sandbox.sh (the project's shared sandbox) when that
# file is there and works; otherwise from the initdb below. Either way the benchmark then
# adds its own settings and restarts once (shared_preload_libraries needs a restart):
#   max_connections = 1200          room for 900 held sessions, or 90 + 1,000 fleet targets; the same
#                                   value at every level, so only the session count changes
#   shared_preload_libraries        pg_stat_statements: server-side cost per exporter role
#   pg_stat_statements.track = all, track_planning = on   (planning time is a cost too)
#   log_connections = on            count the connections each exporter opens
#   client_connection_check_interval = 2s   held pg_sleep sessions die with their client
#   fsync/synchronous_commit/full_page_writes off: a benchmark, not a database
# Authentication: both exporters use SCRAM over TCP, as in production; the held
# application sessions (role bench_app) use trust so 900 connects take seconds.

BENCH_PG_BIN=${BENCH_PG_BIN:-/usr/lib/postgresql/15/bin}
BENCH_PG_SANDBOX=0

# Runs "$@" as the postgres OS user. With BENCH_PG_NICE_NOW set, under that niceness:
# nice goes first because only root may lower it; runuser and what it runs inherit it.
bench_pg__as_postgres() {
  local pre=()
  [ -n "${BENCH_PG_NICE_NOW:-}" ] && pre=(nice -n "$BENCH_PG_NICE_NOW")
  if [ "$(id -u)" = "0" ]; then
    "${pre[@]}" runuser -u postgres -- "$@"
  elif [ "$(id -un)" = "postgres" ]; then
    "${pre[@]}" "$@"
  else
    "${pre[@]}" sudo -n -u postgres -- "$@"
  fi
}

bench_pg__own_initdb() {
  local port=$1
  BENCH_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pgconn-bench-pg.XXXXXX")
  chmod 700 "$BENCH_PG_DIR"
  chown postgres:postgres "$BENCH_PG_DIR" 2>/dev/null || true
  bench_pg__as_postgres mkdir -p "$BENCH_PG_DIR/sock"
  bench_pg__as_postgres "$BENCH_PG_BIN/initdb" -D "$BENCH_PG_DIR/data" -U postgres -E UTF8 \
    --locale=C --auth-local=trust --auth-host=scram-sha-256 --no-sync \
    >"$BENCH_PG_DIR/initdb.log" 2>&1 || {
    cat "$BENCH_PG_DIR/initdb.log" >&2
    return 1
  }
  bench_pg__as_postgres tee -a "$BENCH_PG_DIR/data/postgresql.conf" >/dev/null <<EOF

# pgconn_exporter benchmark: base
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$BENCH_PG_DIR/sock'
EOF
  BENCH_PG_SOCK=$BENCH_PG_DIR/sock
  BENCH_PG_LOG=$BENCH_PG_DIR/postgres.log
}

bench_pg_start() {
  local port=$1 root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  # shellcheck source=/dev/null
  if [ -f "$root/scripts/pg_sandbox.sh" ] && . "$root/scripts/pg_sandbox.sh" &&
    declare -F pg_sandbox_start >/dev/null && pg_sandbox_start "$port" 1000 &&
    [ -n "${PG_SANDBOX_DIR:-}" ] && [ -f "$PG_SANDBOX_DIR/data/postgresql.conf" ]; then
    BENCH_PG_SANDBOX=1
    BENCH_PG_DIR=$PG_SANDBOX_DIR
    BENCH_PG_SOCK=$PG_SANDBOX_SOCKET_DIR
    BENCH_PG_LOG=$PG_SANDBOX_LOG
    bench_pg__as_postgres "$BENCH_PG_BIN/pg_ctl" -D "$BENCH_PG_DIR/data" -m fast -w -t 60 stop \
      >/dev/null
  else
    [ -n "${PG_SANDBOX_DIR:-}" ] && declare -F pg_sandbox_stop >/dev/null && pg_sandbox_stop
    echo "bench: scripts/pg_sandbox.sh unavailable; using bench/lib/pg.sh's own initdb" >&2
    BENCH_PG_SANDBOX=0
    bench_pg__own_initdb "$port" || return 1
  fi
  export BENCH_PG_DIR BENCH_PG_SOCK BENCH_PG_LOG BENCH_PG_PORT=$port
  bench_pg__as_postgres tee -a "$BENCH_PG_DIR/data/postgresql.conf" >/dev/null <<EOF

# pgconn_exporter benchmark: measurement settings (see bench/lib/pg.sh)
max_connections = 1200
shared_buffers = 128MB
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
pg_stat_statements.track_planning = on
pg_stat_statements.max = 5000
log_connections = on
log_line_prefix = '%m [%p] %u@%d '
client_connection_check_interval = '2s'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  bench_pg__as_postgres tee "$BENCH_PG_DIR/data/pg_hba.conf" >/dev/null <<EOF
local all all trust
host all bench_app 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
EOF
  # BENCH_PG_NICE (run.sh --nice): inherited by pg_ctl, the postmaster and every backend.
  BENCH_PG_NICE_NOW=${BENCH_PG_NICE:-} bench_pg__as_postgres "$BENCH_PG_BIN/pg_ctl" \
    -D "$BENCH_PG_DIR/data" -l "$BENCH_PG_LOG" -w -t 60 start >"$BENCH_PG_DIR/pg_ctl.log" 2>&1 || {
    cat "$BENCH_PG_DIR/pg_ctl.log" >&2
    tail -n 30 "$BENCH_PG_LOG" >&2
    return 1
  }
  bench_psql -v ON_ERROR_STOP=1 -q <<'EOF'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
DROP ROLE IF EXISTS pgconn_exporter;
DROP ROLE IF EXISTS postgres_exporter;
CREATE ROLE pgconn_exporter LOGIN PASSWORD 'bench-pgconn' IN ROLE pg_monitor;
CREATE ROLE postgres_exporter LOGIN PASSWORD 'bench-pgexp' IN ROLE pg_monitor;
CREATE ROLE bench_app LOGIN;
CREATE DATABASE benchdb;
GRANT CONNECT ON DATABASE benchdb TO bench_app;
EOF
}

bench_pg_stop() {
  local keep=${1:-}
  [ -n "${BENCH_PG_DIR:-}" ] || return 0
  if [ -f "$BENCH_PG_DIR/data/postmaster.pid" ]; then
    bench_pg__as_postgres "$BENCH_PG_BIN/pg_ctl" -D "$BENCH_PG_DIR/data" -m fast -w -t 60 stop \
      >/dev/null 2>&1 ||
      bench_pg__as_postgres "$BENCH_PG_BIN/pg_ctl" -D "$BENCH_PG_DIR/data" -m immediate -w \
        -t 30 stop >/dev/null 2>&1 || true
  fi
  [ "$keep" = keep ] && return 0
  if [ "$BENCH_PG_SANDBOX" = 1 ]; then
    pg_sandbox_stop 2>/dev/null || rm -rf "$BENCH_PG_DIR"
  else
    rm -rf "$BENCH_PG_DIR"
  fi
}

bench_psql() {
  "$BENCH_PG_BIN/psql" -X -h "$BENCH_PG_SOCK" -p "$BENCH_PG_PORT" -U postgres -d postgres "$@"
}

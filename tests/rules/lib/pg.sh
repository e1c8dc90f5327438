# shellcheck shell=bash
# Sourceable helpers for the rules/dashboards/e2e tests: a throwaway PostgreSQL 15 on a free
# loopback port (scripts/pg_sandbox.sh when present, else its own initdb in a temp dir), plus
# process bookkeeping so every test cleans up after itself.
#
#   source tests/rules/lib/pg.sh
#   pgt_init                      # temp dir in $PGT_ROOT, EXIT trap that stops everything
#   pgt_pg_start 43 3             # max_connections, superuser_reserved_connections
#   pgt_psql "SELECT 1"           # as the superuser over the Unix socket
#   pgt_spawn NAME cmd args...    # background process, stopped (by its pid) at exit
#
# Roles created: pgconn_exporter (LOGIN, pg_monitor, CONNECTION LIMIT 5, password in
# $PGT_EXPORTER_PASSWORD), app (LOGIN, CONNECTION LIMIT 60), batch (LOGIN, CONNECTION LIMIT 4);
# database appdb (CONNECTION LIMIT 50).

PGT_BIN="${PGT_BIN:-/usr/lib/postgresql/15/bin}"
PGT_EXPORTER_PASSWORD="exporter-test-pw"
PGT_APP_PASSWORD="app-test-pw"
PGT_PIDS=()
PGT_NAMES=()

pgt_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
pgt_die() { pgt_log "FAIL: $*"; exit 1; }

# A loopback TCP port nobody listens on (racy by nature; the range avoids the ephemeral one).
pgt_free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  pgt_die "no free port found"
}

pgt_as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pgt_init() {
  PGT_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/pgconn-rules.XXXXXX")"
  chmod 755 "$PGT_ROOT"
  trap pgt_cleanup EXIT
  trap 'exit 130' INT TERM
}

pgt_cleanup() {
  local rc=$?
  local i
  for ((i = ${#PGT_PIDS[@]} - 1; i >= 0; i--)); do
    kill "${PGT_PIDS[$i]}" 2>/dev/null || true
  done
  for ((i = ${#PGT_PIDS[@]} - 1; i >= 0; i--)); do
    wait "${PGT_PIDS[$i]}" 2>/dev/null || true
  done
  if [ $rc -ne 0 ] && [ -n "${PGT_ROOT:-}" ]; then
    local f
    for f in "$PGT_ROOT"/*.log; do
      [ -f "$f" ] || continue
      case "$(basename "$f")" in initdb.log | pgbench-* | sandbox.log) continue ;; esac
      echo "---- last lines of $(basename "$f") ----" >&2
      tail -n 25 "$f" >&2 || true
    done
  fi
  if [ -n "${PGT_SANDBOX:-}" ]; then
    pg_sandbox_stop 2>/dev/null || true
  elif [ -n "${PGT_DATA:-}" ] && [ -f "$PGT_DATA/postmaster.pid" ]; then
    pgt_as_postgres "$PGT_BIN/pg_ctl" -D "$PGT_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  if [ -n "${PGT_ROOT:-}" ] && [ -z "${PGT_KEEP:-}" ]; then
    rm -rf "$PGT_ROOT"
  fi
  exit $rc
}

# pgt_spawn NAME CMD...: start CMD in the background, output to $PGT_ROOT/NAME.log.
pgt_spawn() {
  local name=$1
  shift
  "$@" >"$PGT_ROOT/$name.log" 2>&1 &
  PGT_PIDS+=("$!")
  PGT_NAMES+=("$name")
  PGT_LAST_PID=$!
}

# pgt_stop_pid PID: stop one process we started and forget it.
pgt_stop_pid() {
  local pid=$1 i
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for i in "${!PGT_PIDS[@]}"; do
    if [ "${PGT_PIDS[$i]}" = "$pid" ]; then unset 'PGT_PIDS[i]'; fi
  done
  PGT_PIDS=("${PGT_PIDS[@]}")
}

pgt_psql() {
  pgt_as_postgres "$PGT_BIN/psql" -X -q -v ON_ERROR_STOP=1 -At -h "$PGT_SOCK" -p "$PGT_PORT" \
    -U postgres -d "${PGT_DB:-postgres}" -c "$1"
}

# pgt_pg_start MAX_CONNECTIONS SUPERUSER_RESERVED
# Uses scripts/pg_sandbox.sh (the project's sandbox) when it is there, else initdb itself.
pgt_pg_start() {
  local max=${1:-43} reserved=${2:-3}
  [ -x "$PGT_BIN/initdb" ] || pgt_die "PostgreSQL 15 not found in $PGT_BIN (package postgresql-15)"
  local sandbox
  sandbox="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/scripts/pg_sandbox.sh"
  if [ -f "$sandbox" ] && [ -z "${PGT_NO_SANDBOX:-}" ]; then
    # shellcheck source=scripts/pg_sandbox.sh
    source "$sandbox"
    PGCONN_PG_BINDIR="$PGT_BIN" pg_sandbox_start "$(pgt_free_port)" "$max" 2>"$PGT_ROOT/sandbox.log" ||
      { cat "$PGT_ROOT/sandbox.log" >&2; pgt_die "scripts/pg_sandbox.sh could not start PostgreSQL"; }
    PGT_SANDBOX=1
    PGT_PORT=$PG_SANDBOX_PORT
    PGT_SOCK=$PG_SANDBOX_SOCKET_DIR
    PGT_DATA=$PG_SANDBOX_DIR/data
    ln -sf "$PG_SANDBOX_LOG" "$PGT_ROOT/postgres.log"
    if [ "$(pgt_psql "SHOW superuser_reserved_connections")" != "$reserved" ]; then
      pgt_psql "ALTER SYSTEM SET superuser_reserved_connections = $reserved"
      pgt_as_postgres "$PGT_BIN/pg_ctl" -D "$PGT_DATA" -l "$PG_SANDBOX_LOG" -w -t 60 restart \
        >/dev/null || pgt_die "pg_ctl restart"
    fi
  else
    pgt_initdb_start "$max" "$reserved"
  fi
  pgt_psql "CREATE ROLE pgconn_exporter LOGIN PASSWORD '$PGT_EXPORTER_PASSWORD' IN ROLE pg_monitor CONNECTION LIMIT 5"
  pgt_psql "CREATE ROLE app LOGIN PASSWORD '$PGT_APP_PASSWORD' CONNECTION LIMIT 60"
  pgt_psql "CREATE ROLE batch LOGIN PASSWORD '$PGT_APP_PASSWORD' CONNECTION LIMIT 4"
  pgt_psql "CREATE DATABASE appdb CONNECTION LIMIT 50"
  pgt_psql "GRANT ALL ON DATABASE appdb TO app, batch"
  [ "$(pgt_psql "SHOW max_connections")" = "$max" ] || pgt_die "max_connections is not $max"
  pgt_log "PostgreSQL on 127.0.0.1:$PGT_PORT (max_connections=$max, superuser_reserved=$reserved${PGT_SANDBOX:+, scripts/pg_sandbox.sh})"
}

pgt_initdb_start() {
  local max=$1 reserved=$2
  PGT_DATA="$PGT_ROOT/pgdata"
  PGT_SOCK="$PGT_ROOT/sock"
  mkdir -p "$PGT_SOCK" "$PGT_DATA"
  chmod 700 "$PGT_DATA"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PGT_SOCK" "$PGT_DATA"; fi
  PGT_PORT="$(pgt_free_port)"
  pgt_as_postgres "$PGT_BIN/initdb" -D "$PGT_DATA" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync >"$PGT_ROOT/initdb.log" 2>&1 ||
    { cat "$PGT_ROOT/initdb.log" >&2; pgt_die "initdb"; }
  cat >>"$PGT_DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PGT_PORT
unix_socket_directories = '$PGT_SOCK'
max_connections = $max
superuser_reserved_connections = $reserved
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 16MB
EOF
  touch "$PGT_ROOT/postgres.log"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PGT_ROOT/postgres.log"; fi
  pgt_as_postgres "$PGT_BIN/pg_ctl" -D "$PGT_DATA" -l "$PGT_ROOT/postgres.log" -w -t 60 start \
    >/dev/null || pgt_die "pg_ctl start"
}

# pgt_client_count: client backends right now (as seen by the superuser; excludes this query's).
pgt_client_count() {
  pgt_psql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
}

# pgt_hold APPNAME USER DB N [SCRIPT]: one pgbench process holding N connections with
# application_name APPNAME until stopped. SCRIPT is a pgbench script (default: mostly idle).
# Sets PGT_LAST_PID. Waits until the N sessions exist. When the server is nearly full, the
# backend of our own last psql may still be exiting and pgbench's setup connection is refused:
# it is retried a few times.
pgt_hold() {
  local app=$1 user=$2 db=$3 n=$4 script=${5:-idle}
  local file="$PGT_ROOT/pgbench-$script.sql"
  case "$script" in
    idle) printf '\\sleep 200 ms\nSELECT 1;\n' >"$file" ;;
    busy) printf 'SELECT pg_sleep(0.5);\n' >"$file" ;;
    idletx) printf 'BEGIN;\nSELECT 1;\n\\sleep 1000 ms\nCOMMIT;\n' >"$file" ;;
    *) pgt_die "unknown hold script $script" ;;
  esac
  local before attempt pid i have log="$PGT_ROOT/pgbench-$app-$n.log"
  before="$(pgt_psql "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$app'")"
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    pgt_spawn "pgbench-$app-$n" env PGPASSWORD="$PGT_APP_PASSWORD" PGAPPNAME="$app" \
      "$PGT_BIN/pgbench" -n -h 127.0.0.1 -p "$PGT_PORT" -U "$user" -c "$n" -j 1 -T 3600 \
      -f "$file" "$db"
    pid=$PGT_LAST_PID
    for i in $(seq 1 100); do
      # Wait before looking: our own psql (a superuser) takes an ordinary slot while it
      # runs, and would otherwise race pgbench for the last free one.
      sleep 0.3
      kill -0 "$pid" 2>/dev/null || break
      have="$(pgt_psql "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$app'")"
      if [ "$have" -ge $((before + n)) ]; then
        PGT_LAST_PID=$pid
        return 0
      fi
    done
    if kill -0 "$pid" 2>/dev/null; then
      pgt_die "pgbench $app did not open $n connections (have $have)"
    fi
    pgt_stop_pid "$pid"
    grep -q "remaining connection slots are reserved\|too many clients" "$log" ||
      { cat "$log" >&2; pgt_die "pgbench $app exited"; }
    pgt_log "pgbench $app: server full for its setup connection (attempt $attempt), retrying"
    sleep 0.5
  done
  cat "$log" >&2
  pgt_die "pgbench $app could not connect"
}

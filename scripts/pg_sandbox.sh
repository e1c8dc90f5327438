#!/usr/bin/env bash
# A throwaway PostgreSQL 15 in a temp dir on a loopback port, for demo.sh and benchmarks.
# Source it, then:
#
#   pg_sandbox_start PORT [MAX_CONNECTIONS]   # initdb + start on 127.0.0.1:PORT
#   pg_sandbox_create_exporter_role PASSWORD [ROLE]   # LOGIN, pg_monitor, CONNECTION LIMIT 5
#   pg_sandbox_create_login_role ROLE PASSWORD        # an ordinary application role
#   pg_sandbox_psql [psql args...]            # superuser psql over the Unix socket
#   pg_sandbox_dsn [USER] [DB]                # "host=127.0.0.1 port=PORT dbname=DB user=USER"
#   pg_sandbox_stop                           # stop and delete everything
#
# After pg_sandbox_start: PG_SANDBOX_DIR, PG_SANDBOX_PORT, PG_SANDBOX_SOCKET_DIR,
# PG_SANDBOX_LOG are set. PostgreSQL runs as the `postgres` OS user when we are root.
# PGCONN_PG_BINDIR overrides /usr/lib/postgresql/15/bin. A sandbox left over from a killed
# run on the same port is stopped and removed first, so starting again is safe.
#
# Running the file (not sourcing it) supports: pg_sandbox.sh start PORT | stop-port PORT.

PG_SANDBOX_BINDIR="${PGCONN_PG_BINDIR:-/usr/lib/postgresql/15/bin}"
PG_SANDBOX_PREFIX="${TMPDIR:-/tmp}/pgconn-sandbox-"

pg_sandbox__log() { printf 'pg_sandbox: %s\n' "$*" >&2; }

pg_sandbox__as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# pg_sandbox__port_busy PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
pg_sandbox__port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Stops and removes sandboxes of earlier runs that still hold PORT.
pg_sandbox_stop_port() {
  local port="$1" pidfile dir
  for pidfile in "${PG_SANDBOX_PREFIX}"*/data/postmaster.pid; do
    [ -f "$pidfile" ] || continue
    # postmaster.pid line 4 is the port.
    if [ "$(sed -n 4p "$pidfile" 2>/dev/null)" = "$port" ]; then
      dir="$(dirname "$(dirname "$pidfile")")"
      pg_sandbox__log "stopping the leftover sandbox in $dir"
      pg_sandbox__as_postgres "$PG_SANDBOX_BINDIR/pg_ctl" -D "$dir/data" -m immediate -w stop \
        >/dev/null 2>&1 || true
      rm -rf "$dir"
    fi
  done
}

pg_sandbox_start() {
  local port="${1:?usage: pg_sandbox_start PORT [MAX_CONNECTIONS]}"
  local max_connections="${2:-100}"
  if [ ! -x "$PG_SANDBOX_BINDIR/initdb" ]; then
    pg_sandbox__log "no PostgreSQL in $PG_SANDBOX_BINDIR (install postgresql-15)"
    return 1
  fi
  pg_sandbox_stop_port "$port"
  if pg_sandbox__port_busy "$port"; then
    pg_sandbox__log "127.0.0.1:$port is already in use by something else"
    return 1
  fi
  PG_SANDBOX_DIR="$(mktemp -d "${PG_SANDBOX_PREFIX}XXXXXX")" || return 1
  PG_SANDBOX_PORT="$port"
  PG_SANDBOX_SOCKET_DIR="$PG_SANDBOX_DIR/sock"
  PG_SANDBOX_LOG="$PG_SANDBOX_DIR/postgres.log"
  export PG_SANDBOX_DIR PG_SANDBOX_PORT PG_SANDBOX_SOCKET_DIR PG_SANDBOX_LOG
  mkdir -p "$PG_SANDBOX_SOCKET_DIR"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$PG_SANDBOX_DIR"; fi

  if ! pg_sandbox__as_postgres "$PG_SANDBOX_BINDIR/initdb" -D "$PG_SANDBOX_DIR/data" \
    -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync \
    >"$PG_SANDBOX_DIR/initdb.log" 2>&1; then
    pg_sandbox__log "initdb failed:"
    cat "$PG_SANDBOX_DIR/initdb.log" >&2
    return 1
  fi
  cat >>"$PG_SANDBOX_DIR/data/postgresql.conf" <<EOF

# pgconn_exporter sandbox
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$PG_SANDBOX_SOCKET_DIR'
max_connections = $max_connections
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  if ! pg_sandbox__as_postgres "$PG_SANDBOX_BINDIR/pg_ctl" -D "$PG_SANDBOX_DIR/data" \
    -l "$PG_SANDBOX_LOG" -w -t 60 start >/dev/null; then
    pg_sandbox__log "PostgreSQL did not start:"
    tail -n 20 "$PG_SANDBOX_LOG" >&2 || true
    return 1
  fi
  pg_sandbox__log "PostgreSQL 15 on 127.0.0.1:$port (data in $PG_SANDBOX_DIR)"
}

pg_sandbox_psql() {
  "$PG_SANDBOX_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SANDBOX_SOCKET_DIR" \
    -p "$PG_SANDBOX_PORT" -U postgres -d postgres "$@"
}

pg_sandbox_dsn() {
  printf 'host=127.0.0.1 port=%s dbname=%s user=%s' "$PG_SANDBOX_PORT" "${2:-postgres}" \
    "${1:-pgconn_exporter}"
}

# pg_sandbox__ensure_role ROLE PASSWORD ATTRIBUTES: creates or updates (idempotent).
pg_sandbox__ensure_role() {
  pg_sandbox_psql -v role="$1" -v pw="$2" <<EOF
SET client_min_messages = warning;
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') AS missing \\gset
\\if :missing
CREATE ROLE :"role";
\\endif
ALTER ROLE :"role" $3 PASSWORD :'pw';
EOF
}

pg_sandbox_create_exporter_role() {
  local password="${1:?usage: pg_sandbox_create_exporter_role PASSWORD [ROLE]}"
  local role="${2:-pgconn_exporter}"
  pg_sandbox__ensure_role "$role" "$password" "LOGIN CONNECTION LIMIT 5" || return 1
  pg_sandbox_psql -v role="$role" <<'EOF'
SET client_min_messages = warning;
GRANT pg_monitor TO :"role";
EOF
}

pg_sandbox_create_login_role() {
  pg_sandbox__ensure_role "${1:?role}" "${2:?password}" "LOGIN"
}

pg_sandbox_stop() {
  [ -n "${PG_SANDBOX_DIR:-}" ] || return 0
  if [ -f "$PG_SANDBOX_DIR/data/postmaster.pid" ]; then
    pg_sandbox__as_postgres "$PG_SANDBOX_BINDIR/pg_ctl" -D "$PG_SANDBOX_DIR/data" -m fast -w \
      -t 30 stop >/dev/null 2>&1 ||
      pg_sandbox__as_postgres "$PG_SANDBOX_BINDIR/pg_ctl" -D "$PG_SANDBOX_DIR/data" \
        -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_SANDBOX_DIR"
  pg_sandbox__log "stopped and removed $PG_SANDBOX_DIR"
  unset PG_SANDBOX_DIR PG_SANDBOX_PORT PG_SANDBOX_SOCKET_DIR PG_SANDBOX_LOG
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    start)
      pg_sandbox_start "${2:?port}" "${3:-100}"
      echo "PG_SANDBOX_DIR=$PG_SANDBOX_DIR"
      ;;
    stop-port) pg_sandbox_stop_port "${2:?port}" ;;
    *)
      echo "usage: $0 start PORT [MAX_CONNECTIONS] | stop-port PORT (or source it)" >&2
      exit 2
      ;;
  esac
fi

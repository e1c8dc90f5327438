#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions run from traps / run_step, invisible to shellcheck
# Demo: installs missing packages, builds, starts a throwaway PostgreSQL 15 on 127.0.0.1:54329,
# starts pgconn_exporter on :10432 with config/demo.toml, opens a few sample client sessions
# (idle, idle in transaction, active) with distinct application names, and keeps a small
# batch job coming and going so the numbers move. A PgBouncer (127.0.0.1:64329, pool of 3)
# carries a 12-client pgbench load, so clients queue in it (pgconn_pgbouncer_*). Ctrl-C stops everything it started.
#
# Environment: PGCONN_DEMO_PASSWORD (default "demo"), PGCONN_DEMO_SKIP_BUILD=1 to use the
# existing build/pgconn_exporter, PGCONN_DEMO_DURATION=N to stop by itself after N seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/pg_sandbox.sh
source scripts/pg_sandbox.sh

PG_PORT=54329
WEB_PORT=10432
CONFIG="$ROOT/config/demo.toml"
EXPORTER="$ROOT/build/pgconn_exporter"
export PGCONN_DEMO_PASSWORD="${PGCONN_DEMO_PASSWORD:-demo}"
APP_ROLE=demo_app
APP_PASSWORD=demo-app-pw

say() { printf '\033[1mdemo:\033[0m %s\n' "$*"; }

declare -a SESSION_PGIDS=()
EXPORTER_PID=""
cleaned=0
cleanup() {
  [ "$cleaned" -eq 0 ] || return 0
  cleaned=1
  trap - INT TERM
  say "stopping everything the demo started"
  local pgid
  for pgid in "${SESSION_PGIDS[@]}"; do kill -TERM -- "-$pgid" 2>/dev/null || true; done
  if [ -n "$EXPORTER_PID" ]; then
    kill -TERM "$EXPORTER_PID" 2>/dev/null || true
    wait "$EXPORTER_PID" 2>/dev/null || true
  fi
  pg_sandbox_stop || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if port_busy "$WEB_PORT"; then
  say "port $WEB_PORT is already in use (another exporter or demo still running?)"
  exit 1
fi

bash scripts/install-deps.sh
if [ "${PGCONN_DEMO_SKIP_BUILD:-0}" != "1" ] || [ ! -x "$EXPORTER" ]; then
  say "building (cmake, build/)"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target pgconn_exporter
fi

pg_sandbox_start "$PG_PORT"
pg_sandbox_create_exporter_role "$PGCONN_DEMO_PASSWORD"
pg_sandbox_create_login_role "$APP_ROLE" "$APP_PASSWORD"
pg_sandbox_psql <<'EOF'
CREATE DATABASE shop;
\connect shop
CREATE TABLE orders (id bigserial PRIMARY KEY, item text);
GRANT ALL ON orders, orders_id_seq TO demo_app;
EOF

# PgBouncer in front of the demo PostgreSQL: transaction pooling, a pool of 3 for "shop", so
# the client load below (12 clients) queues in PgBouncer where PostgreSQL cannot see it.
PGB_PORT=64329
PGB_DIR="$PG_SANDBOX_DIR/pgbouncer"
mkdir -p "$PGB_DIR"
printf '"pgconn_exporter" "%s"\n"%s" "%s"\n' "$PGCONN_DEMO_PASSWORD" "$APP_ROLE" "$APP_PASSWORD" \
  >"$PGB_DIR/users.txt"
cat >"$PGB_DIR/pgbouncer.ini" <<INI
[databases]
shop = host=127.0.0.1 port=$PG_PORT dbname=shop
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir =
auth_type = md5
auth_file = $PGB_DIR/users.txt
stats_users = pgconn_exporter
pool_mode = transaction
default_pool_size = 3
max_client_conn = 50
INI
pgbouncer_cmd=(/usr/sbin/pgbouncer "$PGB_DIR/pgbouncer.ini")
if [ "$(id -u)" = 0 ]; then # PgBouncer refuses root; setpriv execs, so the TERM reaches it
  chown -R postgres "$PGB_DIR"
  pgbouncer_cmd=(setpriv --reuid=postgres --regid=postgres --init-groups "${pgbouncer_cmd[@]}")
fi
setsid "${pgbouncer_cmd[@]}" >"$PGB_DIR/pgbouncer.log" 2>&1 &
SESSION_PGIDS+=("$!")
for _ in $(seq 1 50); do
  if port_busy "$PGB_PORT"; then break; fi
  sleep 0.1
done

EXPORTER_LOG="$PG_SANDBOX_DIR/exporter.log"
"$EXPORTER" --config.file "$CONFIG" >"$EXPORTER_LOG" 2>&1 &
EXPORTER_PID=$!
for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$WEB_PORT/healthz" 2>/dev/null; then break; fi
  if ! kill -0 "$EXPORTER_PID" 2>/dev/null; then
    say "pgconn_exporter exited:"
    cat "$EXPORTER_LOG" >&2
    exit 1
  fi
  sleep 0.1
done

# session APP DB SQL...: a psql that runs the SQL lines then stays connected (its stdin never
# ends), in its own process group so cleanup can end it with everything it spawned.
session() {
  local app="$1" db="$2"
  shift 2
  local sql
  sql="$(printf '%s\n' "$@")"
  # shellcheck disable=SC2016  # expanded by the inner bash, from its arguments
  setsid bash -c '
    { printf "%s\n" "$1"; exec sleep infinity; } |
      PGPASSWORD="$2" PGAPPNAME="$3" "$4/psql" -X -q -h 127.0.0.1 -p "$5" -U "$6" -d "$7" \
        >/dev/null 2>&1' \
    _ "$sql" "$APP_PASSWORD" "$app" "$PG_SANDBOX_BINDIR" "$PG_PORT" "$APP_ROLE" "$db" &
  SESSION_PGIDS+=("$!")
}

say "opening sample client sessions"
session web-1 shop ""
session web-1 shop ""
session web-1 shop ""
session web-2 shop ""
session web-2 shop "BEGIN;" "INSERT INTO orders (item) VALUES ('demo');"
session worker-1 shop "SELECT pg_sleep(86400);"
session worker-2 postgres "BEGIN;" "SELECT 1/0;"
session report postgres "SELECT pg_sleep(86400);"

# A batch job that connects for 10 s every 20 s: the numbers change while you watch.
# shellcheck disable=SC2016  # expanded by the inner bash, from its arguments
setsid bash -c '
  while true; do
    PGPASSWORD="$1" PGAPPNAME=batch-job "$2/psql" -X -q -h 127.0.0.1 -p "$3" -U "$4" -d shop \
      -c "SELECT pg_sleep(10)" >/dev/null 2>&1
    sleep 10
  done' _ "$APP_PASSWORD" "$PG_SANDBOX_BINDIR" "$PG_PORT" "$APP_ROLE" &
SESSION_PGIDS+=("$!")

# Client load through PgBouncer: 12 clients, each transaction 50 ms, on a pool of 3.
printf 'SELECT pg_sleep(0.05);\n' >"$PGB_DIR/load.sql"
# shellcheck disable=SC2016  # expanded by the inner bash, from its arguments
setsid bash -c 'PGPASSWORD="$1" "$2/pgbench" -n -h 127.0.0.1 -p "$3" -U "$4" -c 12 -T 86400 \
  -f "$5" shop >/dev/null 2>&1' _ "$APP_PASSWORD" "$PG_SANDBOX_BINDIR" "$PGB_PORT" "$APP_ROLE" \
  "$PGB_DIR/load.sql" &
SESSION_PGIDS+=("$!")

cat <<EOF

  PostgreSQL 15   127.0.0.1:$PG_PORT   (data: $PG_SANDBOX_DIR)
  pgconn_exporter http://localhost:$WEB_PORT/   (config: config/demo.toml)
  PgBouncer       127.0.0.1:$PGB_PORT   (pool of 3 for "shop", 12 pgbench clients: they queue)

  Look at:
    curl -s localhost:$WEB_PORT/metrics | grep -v '^#' | grep pgconn_
    curl -s localhost:$WEB_PORT/metrics | grep pgconn_connections
    curl -s localhost:$WEB_PORT/metrics | grep -E 'pgconn_pool_|pgconn_process_'
    curl -s localhost:$WEB_PORT/metrics | grep -E 'pgconn_pgbouncer_(clients|max_wait|pool_sat)'
    PGCONN_DEMO_PASSWORD=$PGCONN_DEMO_PASSWORD build/pgconn_exporter plan --config.file config/demo.toml
    http://localhost:$WEB_PORT/          (landing page: used / usable per target)

  Open your own sessions and watch the numbers move (password $APP_PASSWORD):
    PGAPPNAME=me psql -h 127.0.0.1 -p $PG_PORT -U $APP_ROLE shop

  Exporter log: $EXPORTER_LOG
  Ctrl-C stops the exporter, the sessions and PostgreSQL.

EOF

if [ -n "${PGCONN_DEMO_DURATION:-}" ]; then
  sleep "$PGCONN_DEMO_DURATION" &
  wait $! || true
  say "PGCONN_DEMO_DURATION=${PGCONN_DEMO_DURATION}s elapsed"
  exit 0
fi
# Wait for Ctrl-C (or the exporter dying).
wait "$EXPORTER_PID" || true
say "pgconn_exporter exited unexpectedly; its log:"
tail -n 30 "$EXPORTER_LOG" >&2 || true
exit 1

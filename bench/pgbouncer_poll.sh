#!/usr/bin/env bash
# Poll cost of one PgBouncer with 100 pools: a throwaway PostgreSQL 15, a Debian PgBouncer in
# front of it (a wildcard database, transaction pooling), one client login per database
# db001..db100 so SHOW POOLS has 100 pools, then pgconn_exporter with one [[pgbouncer]] at a
# 1 s interval. Prints the poll duration (pgconn_pgbouncer_poll_duration_seconds) over N polls
# and the exporter's CPU per poll. Nothing asserts; the figure goes to bench/README.md.
#   bench/pgbouncer_poll.sh [PATH/TO/pgconn_exporter] [POLLS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXPORTER="${1:-$ROOT/build/pgconn_exporter}"
POLLS="${2:-30}"
POOLS=100
# shellcheck source=tests/rules/lib/pg.sh
source "$ROOT/tests/rules/lib/pg.sh"
# shellcheck source=tests/rules/lib/pgbouncer.sh
source "$ROOT/tests/rules/lib/pgbouncer.sh"

pgt_init
pgt_pg_start $((POOLS + 30)) 3
# A wildcard entry: every dbname maps to postgres, one pool per (database, user).
pgt_pgbouncer_start "* = host=127.0.0.1 port=$PGT_PORT dbname=postgres"
pgt_psql "ALTER ROLE app CONNECTION LIMIT -1"
for i in $(seq -f '%03g' 1 "$POOLS"); do
  PGPASSWORD="$PGT_APP_PASSWORD" "$PGT_BIN/psql" -X -q -At -h 127.0.0.1 \
    -p "$PGT_PGBOUNCER_PORT" -U app -d "db$i" -c "SELECT 1" >/dev/null
done
pgt_log "$POOLS pools created through PgBouncer"

cat >"$PGT_ROOT/exporter.toml" <<EOF
[exporter]
poll_interval = "1s"
[[target]]
name = "main"
dsn = "host=127.0.0.1 port=$PGT_PORT dbname=postgres user=pgconn_exporter"
password_env = "PGCONN_TEST_PASSWORD"
EOF
pgt_pgbouncer_config "$PGT_ROOT/exporter.toml"
pgt_exporter_port="$(pgt_free_port)"
pgt_spawn exporter env PGCONN_TEST_PASSWORD="$PGT_EXPORTER_PASSWORD" "$EXPORTER" \
  --config.file "$PGT_ROOT/exporter.toml" --web.listen-address "127.0.0.1:$pgt_exporter_port"
pid=$PGT_LAST_PID
sleep 3
cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
durations=()
for _ in $(seq 1 "$POLLS"); do
  sleep 1
  d=$(curl -fsS "http://127.0.0.1:$pgt_exporter_port/metrics" |
    awk '/^pgconn_pgbouncer_poll_duration_seconds/ {print $2}')
  durations+=("$d")
done
cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
pools=$(curl -fsS "http://127.0.0.1:$pgt_exporter_port/metrics" |
  grep -c '^pgconn_pgbouncer_max_wait_seconds{' || true)
ticks=$(getconf CLK_TCK)
printf '%s\n' "${durations[@]}" | sort -g | awk -v pools="$pools" -v polls="$POLLS" \
  -v cpu="$(((cpu1 - cpu0) * 1000 / ticks))" '
  { d[NR] = $1 }
  END {
    printf "pgbouncer poll, %d pools: p50 %.2f ms, max %.2f ms over %d polls; exporter CPU %.1f ms/s (all pollers)\n",
      pools, d[int((NR + 1) / 2)] * 1000, d[NR] * 1000, NR, cpu / polls
  }'

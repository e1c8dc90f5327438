#!/usr/bin/env bash
# Soak test (not in CI): pgconn_exporter against a throwaway PostgreSQL 15 for a long run of
# session churn (application sessions coming and going, the exporter's own session terminated
# every few seconds) and continuous scrapes. Prints, at the start and at the end: the
# exporter's RSS, open fds and threads, and whether pgconn_client_connections matches a direct
# count of client backends; plus scrape and lost-session totals.
#
#   bench/soak.sh [--minutes 20] [--interval 1s] [--kill-every 5] [--exporter-bin PATH]
#
# Needs root (initdb runs as the postgres OS user, see bench/lib/pg.sh), psql and curl.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/pg.sh
. "$ROOT/bench/lib/pg.sh"

MINUTES=20
INTERVAL=1s
KILL_EVERY=5
BIN="$ROOT/build/pgconn_exporter"
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) MINUTES=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    --kill-every) KILL_EVERY=$2; shift 2 ;;
    --exporter-bin) BIN=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$BIN" ] || { echo "no exporter binary at $BIN (build it or pass --exporter-bin)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
say() { printf '[soak %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

WORK=$(mktemp -d /tmp/pgconn-soak.XXXXXX)
EXPORTER_PID=""
CHURN_PIDS=()
cleanup() {
  for pid in "${CHURN_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "$EXPORTER_PID" ] && kill "$EXPORTER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  bench_pg_stop
  rm -rf "$WORK"
}
trap cleanup EXIT

PG_PORT=$(free_port)
bench_pg_start "$PG_PORT"
HTTP_PORT=$(free_port)
cat >"$WORK/config.toml" <<EOF
[exporter]
poll_interval = "$INTERVAL"
log_level = "info"

[[target]]
name = "main"
dsn = "host=127.0.0.1 port=$PG_PORT dbname=postgres user=pgconn_exporter sslmode=disable"
password_env = "SOAK_PASSWORD"
EOF
SOAK_PASSWORD=bench-pgconn "$BIN" --config.file "$WORK/config.toml" \
  --web.listen-address "127.0.0.1:$HTTP_PORT" >"$WORK/exporter.log" 2>&1 &
EXPORTER_PID=$!
URL="http://127.0.0.1:$HTTP_PORT/metrics"

metric() { curl -fsS --max-time 5 "$URL" | awk -v m="$1" '!found && $1 ~ "^"m"[{]" && $1 ~ /target="main"/ {print $2; found = 1}'; }
direct_count() {
  bench_psql -Atc "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name <> 'psql_soak_probe'" 2>/dev/null
}
status_field() { awk -v f="$1:" '$1 == f {print $2}' "/proc/$EXPORTER_PID/status"; }

# With churn paused: the exporter's count after two polls against a direct count.
accuracy() {
  local direct reported
  sleep 3
  direct=$(PGAPPNAME=psql_soak_probe direct_count)
  reported=$(metric pgconn_client_connections)
  echo "client backends: direct=$direct exporter=${reported:-absent}"
}

resources() {
  echo "rss=$(status_field VmRSS) KiB fds=$(ls "/proc/$EXPORTER_PID/fd" | wc -l) threads=$(status_field Threads)"
}
report() {
  say "$1: rss=$(status_field VmRSS) KiB fds=$(ls "/proc/$EXPORTER_PID/fd" | wc -l) threads=$(status_field Threads) up=$(metric pgconn_up) $(accuracy)"
}

for _ in $(seq 50); do curl -fsS --max-time 1 "$URL" >/dev/null 2>&1 && break; sleep 0.2; done
for _ in $(seq 50); do [ "$(metric pgconn_up)" = 1 ] && break; sleep 0.2; done
report start

# Churn: 8 workers each open a session as bench_app, hold it 0-5 s, close it, repeat; the
# exporter's own session is terminated every KILL_EVERY seconds.
END=$(($(date +%s) + MINUTES * 60))
for w in $(seq 8); do
  (while [ "$(date +%s)" -lt "$END" ]; do
    psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U bench_app -d benchdb \
      -c "SELECT pg_sleep($((RANDOM % 50)) / 10.0)" >/dev/null 2>&1 || true
  done) &
  CHURN_PIDS+=($!)
done
(while [ "$(date +%s)" -lt "$END" ]; do
  sleep "$KILL_EVERY"
  bench_psql -Atc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgconn_exporter'" >/dev/null 2>&1 || true
done) &
CHURN_PIDS+=($!)

scrapes=0
failures=0
down=0
WARM=$(($(date +%s) + 60))
warm_reported=0
while [ "$(date +%s)" -lt "$END" ]; do
  # After a minute the allocator's arenas and civetweb's workers are warm: growth from here
  # on is what a leak would show.
  if [ "$warm_reported" = 0 ] && [ "$(date +%s)" -ge "$WARM" ]; then
    say "warm (1 min, churn running): $(resources)"
    warm_reported=1
  fi
  if body=$(curl -fsS --max-time 5 "$URL" 2>/dev/null); then
    scrapes=$((scrapes + 1))
    grep -q '^pgconn_up{target="main"} 0' <<<"$body" && down=$((down + 1))
  else
    failures=$((failures + 1))
  fi
  sleep 0.2
done
for pid in "${CHURN_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
CHURN_PIDS=()
report end
lost=$(curl -fsS "$URL" | awk '/^pgconn_poll_errors_total\{target="main"/ {s += $2} END {print s}')
say "scrapes=$scrapes failed=$failures up0_scrapes=$down poll_errors_total=$lost minutes=$MINUTES"
say "exporter log lines: $(wc -l <"$WORK/exporter.log") (rate-limited state changes)"

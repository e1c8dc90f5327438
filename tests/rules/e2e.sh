#!/usr/bin/env bash
# End to end: a real Prometheus (Debian's prometheus, loopback port, temp storage, scrape and
# evaluation every 1 s) loaded with the real rule files of deploy/prometheus/ (unchanged `for:`
# durations) scrapes the real pgconn_exporter, which polls a real throwaway PostgreSQL 15.
# Sessions held by pgbench push the server near its limit, step by step:
#   1. 34 of 40 usable connections (85%): PgconnUtilizationHigh must go pending, and
#      PgconnUtilizationCritical must not; the role `batch` at its CONNECTION LIMIT and its
#      saturated pool `worker` make PgconnRoleNearConnectionLimit and PgconnPoolSaturated pending.
#   2. 39 of 40 (97.5%): PgconnUtilizationCritical must go pending, then firing after its 1m.
#      Meanwhile every PromQL query of both dashboards (and every variable query) must return
#      data through Prometheus' HTTP API.
#   3. 40 of 40: PgconnNoAvailableConnections must fire after its 30 s.
# It prints how many seconds after each step every alert went pending and firing.
#   tests/rules/e2e.sh [PATH/TO/pgconn_exporter]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
EXPORTER="${1:-${PGCONN_EXPORTER_BIN:-$ROOT/build/pgconn_exporter}}"
PROMETHEUS="${PROMETHEUS_BIN:-/usr/bin/prometheus}"
# shellcheck source=tests/rules/lib/pg.sh
source "$ROOT/tests/rules/lib/pg.sh"
# shellcheck source=tests/rules/lib/exporter.sh
source "$ROOT/tests/rules/lib/exporter.sh"
# shellcheck source=tests/rules/lib/pgbouncer.sh
source "$ROOT/tests/rules/lib/pgbouncer.sh"
for tool in curl jq node; do
  command -v "$tool" >/dev/null || pgt_die "$tool not found"
done
[ -x "$PROMETHEUS" ] || pgt_die "$PROMETHEUS not found (Debian package prometheus)"
# shellcheck source=tests/dashboards/npm-env.sh
source "$ROOT/tests/dashboards/npm-env.sh"
dash_npm_ci

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
T_START=$(now)
failures=0
check() { # check DESCRIPTION ok|fail
  if [ "$2" = ok ]; then pgt_log "ok: $1"; else pgt_log "FAIL: $1"; failures=$((failures + 1)); fi
}
expect() { # expect DESCRIPTION COMMAND...: ok when COMMAND succeeds
  local what=$1
  shift
  if "$@"; then check "$what" ok; else check "$what" fail; fi
}

pgt_init
# 43 - 3 superuser-reserved = 40 usable connections.
pgt_pg_start 43 3
pgt_exporter_config "$PGT_ROOT/exporter.toml" "$EXPORTER"
pgt_pgbouncer_start "" # the PgBouncer dashboard's queries need a [[pgbouncer]] (no server slot used)
pgt_pgbouncer_config "$PGT_ROOT/exporter.toml"
pgt_exporter_start "$EXPORTER" "$PGT_ROOT/exporter.toml"

PROM_PORT="$(pgt_free_port)"
PROM="http://127.0.0.1:$PROM_PORT"
mkdir -p "$PGT_ROOT/prometheus-data"
cat >"$PGT_ROOT/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files:
  - $ROOT/deploy/prometheus/pgconn-recording-rules.yml
  - $ROOT/deploy/prometheus/pgconn-alerts.yml
scrape_configs:
  - job_name: pgconn
    static_configs:
      - targets: ['127.0.0.1:$PGT_EXPORTER_PORT']
EOF
pgt_spawn prometheus "$PROMETHEUS" --config.file="$PGT_ROOT/prometheus.yml" \
  --storage.tsdb.path="$PGT_ROOT/prometheus-data" --web.listen-address="127.0.0.1:$PROM_PORT" \
  --storage.tsdb.retention.time=1d --log.level=warn
PROM_PID=$PGT_LAST_PID

prom_query() { # prom_query EXPR -> the API's JSON
  curl -fsS "$PROM/api/v1/query" --data-urlencode "query=$1"
}
prom_value() { # the first sample's value, or empty
  prom_query "$1" | jq -r '.data.result[0].value[1] // empty'
}
alert_state() { # alert_state ALERTNAME [TARGET] -> pending|firing|""
  curl -fsS "$PROM/api/v1/alerts" |
    jq -r --arg a "$1" --arg t "${2:-main}" \
      '[.data.alerts[] | select(.labels.alertname == $a and ((.labels.target // $t) == $t)) | .state] | first // empty'
}
# wait_alert NAME STATE TIMEOUT_S -> sets WAITED (seconds) or fails
wait_alert() {
  local name=$1 want=$2 timeout=$3 t0 s
  t0=$(now)
  while :; do
    s="$(alert_state "$name")"
    if [ "$s" = "$want" ] || { [ "$want" = pending ] && [ "$s" = firing ]; }; then
      return 0
    fi
    if awk -v a="$t0" -v b="$(now)" -v t="$timeout" 'BEGIN { exit !(b - a > t) }'; then
      pgt_log "timeout: $name is '${s:-inactive}' after ${timeout}s, expected $want"
      return 1
    fi
    kill -0 "$PROM_PID" 2>/dev/null || pgt_die "prometheus exited"
    sleep 0.25
  done
}
wait_value() { # wait_value EXPR VALUE TIMEOUT_S
  local i
  for i in $(seq 1 $(($3 * 4))); do
    [ "$(prom_value "$1")" = "$2" ] && return 0
    sleep 0.25
  done
  pgt_log "timeout: $1 = '$(prom_value "$1")', expected $2"
  return 1
}

for i in $(seq 1 120); do
  curl -fsS "$PROM/-/ready" >/dev/null 2>&1 && break
  kill -0 "$PROM_PID" 2>/dev/null || pgt_die "prometheus exited"
  sleep 0.25
done
wait_value 'pgconn_up{job="pgconn",target="main"}' 1 30 || pgt_die "Prometheus never scraped pgconn_up 1"
pgt_log "Prometheus $("$PROMETHEUS" --version 2>&1 | head -1 | awk '{print $3}') on $PROM scrapes the exporter ($(since "$T_START") s after start)"

client() { prom_value 'pgconn_client_connections{job="pgconn",target="main"}'; }

# ---- step 1: 85% -------------------------------------------------------------------------
pgt_hold web-1 app appdb 15 idle
pgt_hold web-2 app appdb 14 busy
pgt_hold worker batch postgres 4 idletx
T1=$(now)
pgt_log "step 1: holding 33 sessions + the exporter's = 34/40 (85%)"
wait_value 'pgconn_client_connections{job="pgconn",target="main"}' 34 15 || check "client connections reach 34" fail
if wait_alert PgconnUtilizationHigh pending 30; then
  HIGH_PENDING=$(since "$T1")
  check "PgconnUtilizationHigh pending ${HIGH_PENDING}s after 85%" ok
else
  check "PgconnUtilizationHigh pending at 85%" fail
fi
sleep 2
s="$(alert_state PgconnUtilizationCritical)"
expect "PgconnUtilizationCritical silent at 85% (state: '${s:-inactive}')" [ -z "$s" ]
# (The worker sessions are idle, not idle in transaction, for an instant between COMMIT and
# BEGIN: a poll that sees it restarts the pool alert's pending state, so allow some seconds.)
expect "PgconnRoleNearConnectionLimit pending for role batch at 4/4" wait_alert PgconnRoleNearConnectionLimit pending 10
expect "PgconnPoolSaturated pending for pool worker, 4 of 4 sessions idle in transaction" wait_alert PgconnPoolSaturated pending 10

# ---- step 2: 97.5% -----------------------------------------------------------------------
pgt_hold web-3 app appdb 5 busy
T2=$(now)
pgt_log "step 2: 39/40 (97.5%)"
if wait_alert PgconnUtilizationCritical pending 30; then
  CRIT_PENDING=$(since "$T2")
  check "PgconnUtilizationCritical pending ${CRIT_PENDING}s after 97.5%" ok
else
  check "PgconnUtilizationCritical pending at 97.5%" fail
fi

# Every dashboard query returns data (while the critical alert waits out its 1m).
node "$ROOT/tests/dashboards/dashcheck.mjs" exprs --set job=pgconn --set target=main --set pool=.+ \
  --set __rate_interval=1m --set __interval=15s --set __range=5m "$ROOT"/dashboards/*.json \
  >"$PGT_ROOT/exprs.jsonl"
empty=0
total=0
while IFS=$'\t' read -r kind label where expr; do
  total=$((total + 1))
  if [ "$kind" = variable ]; then
    n=$(curl -fsS -G "$PROM/api/v1/label/$label/values" --data-urlencode "match[]=$expr" | jq '.data | length')
  else
    n=$(prom_query "$expr" | jq '.data.result | length')
  fi
  if [ "$n" -eq 0 ]; then
    pgt_log "no data: $where: $expr"
    empty=$((empty + 1))
  fi
done < <(jq -r '[.kind, (.label // "-"), "\(.file | split("/") | last): \(.panel) \(.ref)", (.expr | gsub("\\s+"; " "))] | @tsv' \
  "$PGT_ROOT/exprs.jsonl")
if [ $empty -eq 0 ]; then
  check "all $total dashboard queries return data" ok
else
  check "$empty of $total dashboard queries return no data${PGT_EXPORTER_CONFIG_NOTE:+ ($PGT_EXPORTER_CONFIG_NOTE)}" fail
fi

if wait_alert PgconnUtilizationCritical firing 90; then
  CRIT_FIRING=$(since "$T2")
  check "PgconnUtilizationCritical firing ${CRIT_FIRING}s after 97.5% (for: 1m)" ok
  desc="$(curl -fsS "$PROM/api/v1/alerts" | jq -r '.data.alerts[] | select(.labels.alertname == "PgconnUtilizationCritical") | .annotations.description')"
  expect "description names the target and the value: $desc" grep -q "target main hold 97.5%" <<<"$desc"
else
  check "PgconnUtilizationCritical firing at 97.5%" fail
fi

# ---- step 3: 40/40 -----------------------------------------------------------------------
pgt_hold filler app appdb 1 idle
T3=$(now)
pgt_log "step 3: 40/40 (no slot left for ordinary roles)"
if wait_alert PgconnNoAvailableConnections firing 60; then
  NOAVAIL_FIRING=$(since "$T3")
  check "PgconnNoAvailableConnections firing ${NOAVAIL_FIRING}s after the server filled (for: 30s)" ok
else
  check "PgconnNoAvailableConnections firing when full" fail
fi
s="$(alert_state PgconnTargetDown)"
expect "PgconnTargetDown silent while the exporter's session keeps polling a full server (state: '${s:-inactive}')" [ -z "$s" ]
s="$(alert_state PgconnUtilizationHigh)"
expect "PgconnUtilizationHigh still pending, its for: 5m not over (state: '${s:-inactive}')" [ "$s" = pending ]

echo
echo "e2e summary (Prometheus scrape/evaluation 1 s, real rules):"
echo "  PgconnUtilizationHigh        pending ${HIGH_PENDING:-never} s after 34/40 (85%); for: 5m, not awaited"
echo "  PgconnUtilizationCritical    pending ${CRIT_PENDING:-never} s, firing ${CRIT_FIRING:-never} s after 39/40 (97.5%)"
echo "  PgconnNoAvailableConnections firing ${NOAVAIL_FIRING:-never} s after 40/40"
echo "  dashboard queries: $((total - empty))/$total returned data"
echo "  total $(since "$T_START") s"
if [ $failures -gt 0 ]; then
  echo "e2e: $failures checks failed" >&2
  exit 1
fi
echo "e2e: OK"

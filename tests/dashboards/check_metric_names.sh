#!/usr/bin/env bash
# Every metric name in the dashboards' PromQL and in the Prometheus rules must be one that the
# real exporter serves (or one that a recording rule records), and every label they match on,
# group by or print in a legend must exist on those metrics. The names come from a real run:
# a throwaway PostgreSQL 15, sessions held by pgbench (matching the configured pools and the
# watched process), and one scrape of pgconn_exporter's /metrics. Nothing is hand-listed.
#   tests/dashboards/check_metric_names.sh [PATH/TO/pgconn_exporter]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
EXPORTER="${1:-${PGCONN_EXPORTER_BIN:-$ROOT/build/pgconn_exporter}}"
# shellcheck source=tests/dashboards/npm-env.sh
source "$HERE/npm-env.sh"
# shellcheck source=tests/rules/lib/pg.sh
source "$ROOT/tests/rules/lib/pg.sh"
# shellcheck source=tests/rules/lib/exporter.sh
source "$ROOT/tests/rules/lib/exporter.sh"
# shellcheck source=tests/rules/lib/pgbouncer.sh
source "$ROOT/tests/rules/lib/pgbouncer.sh"
for tool in curl jq yq; do
  command -v "$tool" >/dev/null || pgt_die "$tool not found (Debian package $tool)"
done
dash_npm_ci

pgt_init
pgt_pg_start 43 3
pgt_hold web-1 app appdb 3 idle
pgt_hold web-2 app appdb 2 busy
pgt_hold worker batch postgres 2 idletx
pgt_exporter_config "$PGT_ROOT/exporter.toml" "$EXPORTER"
pgt_pgbouncer_start ""
pgt_pgbouncer_config "$PGT_ROOT/exporter.toml"
pgt_exporter_start "$EXPORTER" "$PGT_ROOT/exporter.toml"
sleep 2.5 # a few polls, so per-instance pool series and socket counts are there
pgt_scrape "$PGT_ROOT/metrics.txt"
pgt_log "scraped $(grep -c '^pgconn_' "$PGT_ROOT/metrics.txt") pgconn_ samples, $(grep -c '^# TYPE' "$PGT_ROOT/metrics.txt") families"

for f in "$ROOT"/deploy/prometheus/*.yml; do
  # shellcheck disable=SC2016 # jq variables
  yq --arg f "${f#"$ROOT"/}" '{file: $f, groups: .groups}' "$f"
done | jq -s '[.[] | select(.groups != null)]' >"$PGT_ROOT/rules.json"

if ! node "$HERE/dashcheck.mjs" names --exposition "$PGT_ROOT/metrics.txt" --rules "$PGT_ROOT/rules.json" \
  "$ROOT"/dashboards/*.json; then
  [ -z "${PGT_EXPORTER_CONFIG_NOTE:-}" ] || echo "note: $PGT_EXPORTER_CONFIG_NOTE" >&2
  echo "FAIL: the dashboards or rules use names the exporter does not serve (see above)" >&2
  exit 1
fi
[ -z "${PGT_EXPORTER_CONFIG_NOTE:-}" ] || { echo "FAIL: $PGT_EXPORTER_CONFIG_NOTE" >&2; exit 1; }

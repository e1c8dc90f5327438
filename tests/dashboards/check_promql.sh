#!/usr/bin/env bash
# Structure of dashboards/*.json (fixed uid, id null, schemaVersion 36-39, datasource/job/target
# (/pool) variables, units and descriptions on every panel, layout) and every PromQL expression
# in them, template variables substituted, parsed by promtool.
#   tests/dashboards/check_promql.sh [DASHBOARD.json...]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=tests/dashboards/npm-env.sh
source "$HERE/npm-env.sh"
dash_npm_ci
command -v promtool >/dev/null || { echo "promtool not found (Debian package prometheus)" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq not found (Debian package jq)" >&2; exit 1; }
command -v yq >/dev/null || { echo "yq not found (Debian package yq)" >&2; exit 1; }

if [ $# -gt 0 ]; then files=("$@"); else files=("$ROOT"/dashboards/*.json); fi
tmp="$(mktemp -d "${TMPDIR:-/tmp}/pgconn-promql.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

node "$HERE/dashcheck.mjs" lint "${files[@]}"

# The provisioning example: a Prometheus data source and a file provider.
prov="$ROOT/deploy/grafana/provisioning"
yq -e '.apiVersion == 1 and (.datasources | length > 0) and all(.datasources[]; .type == "prometheus" and .access == "proxy" and (.url | length > 0))' \
  "$prov/datasources/pgconn-prometheus.yaml" >/dev/null || { echo "FAIL: $prov/datasources/pgconn-prometheus.yaml" >&2; exit 1; }
yq -e '.apiVersion == 1 and all(.providers[]; .type == "file" and (.options.path | startswith("/")))' \
  "$prov/dashboards/pgconn.yaml" >/dev/null || { echo "FAIL: $prov/dashboards/pgconn.yaml" >&2; exit 1; }
if command -v yamllint >/dev/null; then
  yamllint -c "$ROOT/tests/rules/yamllint.yml" "$prov"/*/*.yaml
fi
echo "provisioning: $prov OK"

# Every expression becomes a recording rule; promtool check rules parses each one and reports
# the rule (so the panel) that does not.
node "$HERE/dashcheck.mjs" exprs "${files[@]}" >"$tmp/exprs.jsonl"
jq -s '{groups: [{name: "dashboard-expressions",
          rules: (to_entries | map({record: ("dashboard:expr_" + (.key|tostring)), expr: .value.expr,
                                     labels: {file: .value.file, panel: .value.panel, ref: .value.ref}}))}]}' \
  "$tmp/exprs.jsonl" >"$tmp/dashboard-exprs.json"
# promtool reads YAML; JSON is YAML.
cp "$tmp/dashboard-exprs.json" "$tmp/dashboard-exprs.yml"
n=$(jq '.groups[0].rules | length' "$tmp/dashboard-exprs.json")
if ! promtool check rules "$tmp/dashboard-exprs.yml" >"$tmp/promtool.out" 2>&1; then
  cat "$tmp/promtool.out" >&2
  # Name the panels behind the failing rule numbers.
  grep -o 'dashboard:expr_[0-9]*' "$tmp/promtool.out" | sort -u | while read -r rec; do
    jq -r --arg r "$rec" '.groups[0].rules[] | select(.record == $r) | "  \(.labels.file): \(.labels.panel) \(.labels.ref): \(.expr)"' "$tmp/dashboard-exprs.json" >&2
  done
  echo "FAIL: dashboard PromQL does not parse" >&2
  exit 1
fi
echo "promql: $n expressions from ${#files[@]} dashboards parse with $(promtool --version 2>&1 | head -1)"

#!/usr/bin/env bash
# deploy/kubernetes/prometheusrule.yaml is generated from deploy/prometheus/*.yml by
# scripts/gen-prometheusrule.sh: it must be up to date, and its spec must be exactly the groups
# of the rule files (checked as data, then by promtool as a rule file of its own), and it must
# validate against the prometheus-operator CRD schema (npm @kubernetes-models/prometheus-operator,
# installed under tests/dashboards/).
#   tests/rules/check_prometheusrule.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
for tool in promtool yq jq node; do
  command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 1; }
done
tmp="$(mktemp -d "${TMPDIR:-/tmp}/pgconn-prule.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
out=deploy/kubernetes/prometheusrule.yaml

scripts/gen-prometheusrule.sh --check

yq -e '.apiVersion == "monitoring.coreos.com/v1" and .kind == "PrometheusRule" and (.metadata.name | length > 0)' \
  "$out" >/dev/null || { echo "FAIL: $out is not a PrometheusRule" >&2; exit 1; }
yq -S '.spec.groups' "$out" >"$tmp/generated.json"
yq -S -s '[.[].groups[]]' deploy/prometheus/pgconn-recording-rules.yml deploy/prometheus/pgconn-alerts.yml \
  >"$tmp/source.json"
if ! diff -u "$tmp/source.json" "$tmp/generated.json" >&2; then
  echo "FAIL: the groups in $out differ from deploy/prometheus/*.yml" >&2
  exit 1
fi
yq -y '.spec' "$out" >"$tmp/spec.yml"
promtool check rules "$tmp/spec.yml" >/dev/null || { echo "FAIL: promtool rejects the spec of $out" >&2; exit 1; }
# shellcheck source=tests/dashboards/npm-env.sh
source "$ROOT/tests/dashboards/npm-env.sh"
dash_npm_ci
yq . "$out" | node "$ROOT/tests/dashboards/validate-k8s.mjs"
echo "check_prometheusrule: $out is up to date and holds $(jq '[.[].rules[]] | length' "$tmp/generated.json") rules"

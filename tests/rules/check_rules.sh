#!/usr/bin/env bash
# Static checks of the Prometheus rules in deploy/prometheus/:
#   1. promtool check rules on every rule file (syntax, PromQL, duplicates)
#   2. promtool test rules on every unit test file in deploy/prometheus/tests/
#   3. every alert has severity (warning|critical), summary, description (with the target or the
#      process/instance and the current value) and a runbook_url whose anchor is a section of
#      docs/runbook.md; every alert section of the runbook belongs to an alert
#   4. yamllint on the rule files and the generated PrometheusRule
# The generated PrometheusRule is checked by tests/rules/check_prometheusrule.sh.
#   tests/rules/check_rules.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
for tool in promtool yq jq yamllint; do
  command -v "$tool" >/dev/null || { echo "$tool not found (Debian package ${tool/promtool/prometheus})" >&2; exit 1; }
done
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

rule_files=(deploy/prometheus/pgconn-recording-rules.yml deploy/prometheus/pgconn-alerts.yml)
test_files=(deploy/prometheus/tests/*.test.yml)

echo "== promtool check rules"
promtool check rules "${rule_files[@]}" || fail "promtool check rules"

echo "== promtool check config (the example scrape configuration loads the rules)"
promtool check config deploy/prometheus/prometheus.example.yml >/dev/null || fail "promtool check config"

echo "== promtool test rules"
start=$(date +%s%N)
promtool test rules "${test_files[@]}" || fail "promtool test rules"
echo "   ($(( ($(date +%s%N) - start) / 1000000 )) ms)"

echo "== alert metadata and runbook sections"
runbook=docs/runbook.md
[ -f "$runbook" ] || fail "$runbook missing"
# GitHub's anchor for each heading: lower case, punctuation dropped, spaces to hyphens.
anchors="$( (grep -E '^#{1,4} ' "$runbook" || true) | sed -E 's/^#+ +//' | tr '[:upper:]' '[:lower:]' |
  sed -E 's/[^a-z0-9 _-]//g; s/ /-/g')"
alerts_json="$(yq '[.groups[].rules[] | select(.alert)]' deploy/prometheus/pgconn-alerts.yml)"
n_alerts=$(jq length <<<"$alerts_json")
[ "$n_alerts" -gt 0 ] || fail "no alerts found"
while IFS=$'\t' read -r name severity summary description runbook_url; do
  case "$severity" in warning | critical) ;; *) fail "$name: severity must be warning or critical, got '$severity'" ;; esac
  if [ -z "$summary" ] || [ "$summary" = null ]; then fail "$name: no summary"; fi
  if [ -z "$description" ] || [ "$description" = null ]; then fail "$name: no description"; fi
  # shellcheck disable=SC2016 # literal template text
  grep -q '{{ \$value' <<<"$description" || fail "$name: description must show the current value ({{ \$value }})"
  # shellcheck disable=SC2016
  grep -Eq '\{\{ \$labels\.(target|process|instance) \}\}' <<<"$description" ||
    fail "$name: description must name the target (or process/instance)"
  case "$runbook_url" in
    */docs/runbook.md#*) ;;
    *) fail "$name: runbook_url must point at docs/runbook.md#section, got '$runbook_url'"; continue ;;
  esac
  anchor="${runbook_url##*#}"
  [ "$anchor" = "$(tr '[:upper:]' '[:lower:]' <<<"$name")" ] || fail "$name: runbook_url anchor should be #$(tr '[:upper:]' '[:lower:]' <<<"$name"), got #$anchor"
  grep -qxF "$anchor" <<<"$anchors" || fail "$name: $runbook has no section for #$anchor"
done < <(jq -r '.[] | [.alert, .labels.severity, .annotations.summary, .annotations.description, .annotations.runbook_url] | @tsv' <<<"$alerts_json")
# Each "## Pgconn..." section of the runbook is an alert that exists.
while read -r section; do
  jq -e --arg a "$section" 'any(.[]; .alert == $a)' <<<"$alerts_json" >/dev/null ||
    fail "$runbook has a section for $section, which is no alert"
done < <(grep -E '^## Pgconn[A-Za-z]+$' "$runbook" | sed 's/^## //')
# Every alert is exercised by at least one unit test.
for name in $(jq -r '.[].alert' <<<"$alerts_json"); do
  grep -q "alertname: $name\$" "${test_files[@]}" || fail "$name has no promtool unit test"
done
echo "   $n_alerts alerts checked"

echo "== yamllint"
yamllint -c "$ROOT/tests/rules/yamllint.yml" "${rule_files[@]}" "${test_files[@]}" \
  deploy/prometheus/prometheus.example.yml deploy/kubernetes/prometheusrule.yaml || fail "yamllint"

if [ $fails -gt 0 ]; then
  echo "check_rules: $fails failures" >&2
  exit 1
fi
echo "check_rules: OK"

#!/usr/bin/env bash
# Type-checks dashboards/*.json offline against the TypeScript types of @grafana/schema (npm):
# each dashboard as a Dashboard, and each panel's options and fieldConfig against its panel
# plugin's Options/FieldConfig types, with `tsc --noEmit --strict`. String enums are accepted as
# their literal values (JSON cannot hold an enum member); everything else is exact: unknown keys,
# wrong types and misspelt enum values fail.
#   tests/dashboards/typecheck.sh [DASHBOARD.json...]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=tests/dashboards/npm-env.sh
source "$HERE/npm-env.sh"
dash_npm_ci

if [ $# -gt 0 ]; then files=("$@"); else files=("$ROOT"/dashboards/*.json); fi
tmp="$(mktemp -d "${TMPDIR:-/tmp}/pgconn-tsc.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
ln -s "$HERE/node_modules" "$tmp/node_modules"
node "$HERE/dashcheck.mjs" typescript "${files[@]}" >"$tmp/dashboards.ts"
start=$(date +%s%N)
if ! "$HERE/node_modules/.bin/tsc" --noEmit --strict --skipLibCheck --target es2020 \
  --module nodenext --moduleResolution nodenext "$tmp/dashboards.ts"; then
  echo "FAIL: dashboards do not type-check against @grafana/schema $(node -p "require('$HERE/node_modules/@grafana/schema/package.json').version")" >&2
  exit 1
fi
printf 'typecheck: %d dashboards OK against @grafana/schema %s (tsc %s, %.1f s)\n' "${#files[@]}" \
  "$(node -p "require('$HERE/node_modules/@grafana/schema/package.json').version")" \
  "$("$HERE/node_modules/.bin/tsc" --version | awk '{print $2}')" "$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN{print (b-a)/1e9}')"

#!/usr/bin/env bash
# The examples users copy: the scrape configs for /probe and for shards, and the web config.
# promtool checks each; the exporter itself loads the web config (--check-config).
#   tests/deploy/check_examples.sh PATH_TO_BUILT_pgconn_exporter
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BINARY="$(realpath "${1:?usage: check_examples.sh PATH_TO_pgconn_exporter}")"
command -v promtool >/dev/null || { echo "promtool not found (Debian package prometheus)" >&2; exit 1; }
command -v yamllint >/dev/null || { echo "yamllint not found (Debian package yamllint)" >&2; exit 1; }
cd "$ROOT"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/pgconn-examples.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

yamllint -s -c tests/deploy/yamllint.yml deploy/scrape-configs config/web-config.example.yml
for file in deploy/scrape-configs/*.yml; do
  promtool check config "$file" >/dev/null
  echo "promtool check config: $file"
done
out="$(promtool check web-config config/web-config.example.yml 2>&1)" || { echo "$out" >&2; exit 1; }
echo "promtool check web-config: config/web-config.example.yml"

printf '[[target]]\nname = "main"\ndsn = "host=127.0.0.1 user=x"\n' >"$tmp/pgconn.toml"
"$BINARY" --config.file="$tmp/pgconn.toml" --web.config.file=config/web-config.example.yml \
  --check-config >/dev/null
echo "pgconn_exporter --check-config --web.config.file: config/web-config.example.yml"
# The TOML the Debian package installs, with its credential path pointed at a readable file.
toml=deploy/systemd/pgconn_exporter.toml
sed "s#^password_file = .*#password_file = \"$tmp/pgconn.toml\"#" "$toml" >"$tmp/check.toml"
"$BINARY" --config.file="$tmp/check.toml" --check-config >/dev/null
echo "pgconn_exporter --check-config: $toml"
echo "check_examples: OK"

#!/usr/bin/env bash
# deploy/docker without a Docker engine: the Dockerfile linted by dockerfile-utils (npm) and
# checked for a multi-stage build that runs the unit tests, a bookworm-slim non-root runtime and
# a HEALTHCHECK; compose.yaml validated against the compose-spec JSON schema (npm) and parsed by
# docker-compose (Debian) with every bind-mount source, secret file and the Dockerfile present;
# the exporter's TOML accepted by --check-config; prometheus.yml accepted by promtool with the
# rule files it mounts.
#   tests/deploy/check_docker.sh PATH_TO_BUILT_pgconn_exporter
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BINARY="$(realpath "${1:?usage: check_docker.sh PATH_TO_pgconn_exporter}")"
# shellcheck source=npm-env.sh source-path=SCRIPTDIR
. "$ROOT/tests/deploy/npm-env.sh"
for tool in yamllint promtool docker-compose; do
  command -v "$tool" >/dev/null || { echo "$tool not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
cd "$ROOT/deploy/docker"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/pgconn-docker.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

yamllint -s -c "$ROOT/tests/deploy/yamllint.yml" compose.yaml prometheus.yml grafana-datasource.yml
echo "yamllint: compose.yaml prometheus.yml grafana-datasource.yml"

deploy_npm_ci
node "$ROOT/tests/deploy/check_manifests.mjs" dockerfile Dockerfile
node "$ROOT/tests/deploy/check_manifests.mjs" compose --exporter "$BINARY" compose.yaml

# docker-compose 1.29 (Debian) parses and interpolates the file without an engine.
docker-compose --project-directory . -f compose.yaml config --quiet
echo "docker-compose config: OK"

# prometheus.yml as the container sees it: the rule files are mounted from deploy/prometheus.
sed "s#/etc/prometheus/rules/#$ROOT/deploy/prometheus/#" prometheus.yml >"$tmp/prometheus.yml"
promtool check config "$tmp/prometheus.yml" >/dev/null
echo "promtool check config: deploy/docker/prometheus.yml with deploy/prometheus/*.yml"
sh -n initdb/10-pgconn-exporter-role.sh
echo "check_docker: OK"

#!/usr/bin/env bash
# deploy/kubernetes: yamllint, then every object validated offline with kubernetes-models and
# @kubernetes-models/prometheus-operator (JSON schema, plus a TypeScript excess-property check
# that catches unknown fields), then our own rules: non-root, read-only root filesystem, all
# capabilities dropped, requests and limits, /healthz probes, Service/ServiceMonitor ports that
# exist, and each ConfigMap's TOML accepted by `pgconn_exporter --check-config` with its
# password files mounted from a Secret that has the key.
#   tests/deploy/check_kubernetes.sh PATH_TO_BUILT_pgconn_exporter
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BINARY="$(realpath "${1:?usage: check_kubernetes.sh PATH_TO_pgconn_exporter}")"
# shellcheck source=npm-env.sh source-path=SCRIPTDIR
. "$ROOT/tests/deploy/npm-env.sh"
command -v yamllint >/dev/null || { echo "yamllint not found (Debian package yamllint)" >&2; exit 1; }
cd "$ROOT"

mapfile -t base < <(find deploy/kubernetes -maxdepth 1 -name '*.yaml' | sort)
mapfile -t sidecar < <(find deploy/kubernetes/sidecar -name '*.yaml' | sort)
yamllint -s -c tests/deploy/yamllint.yml "${base[@]}" "${sidecar[@]}"
echo "yamllint: ${#base[@]} + ${#sidecar[@]} files"

deploy_npm_ci
# The two ways to deploy are checked apart: each must be complete on its own (the sidecar's
# Services are scraped by the shared ServiceMonitor).
node tests/deploy/check_manifests.mjs kubernetes --exporter "$BINARY" "${base[@]}"
node tests/deploy/check_manifests.mjs kubernetes --exporter "$BINARY" "${sidecar[@]}" \
  deploy/kubernetes/servicemonitor.yaml
echo "check_kubernetes: OK"

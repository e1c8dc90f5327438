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
mapfile -t tls < <(find deploy/kubernetes/tls -name '*.yaml' | sort)
yamllint -s -c tests/deploy/yamllint.yml "${base[@]}" "${sidecar[@]}" "${tls[@]}"
echo "yamllint: ${#base[@]} + ${#sidecar[@]} + ${#tls[@]} files"

deploy_npm_ci
# The two ways to deploy are checked apart: each must be complete on its own (the sidecar's
# Services are scraped by the shared ServiceMonitor).
node tests/deploy/check_manifests.mjs kubernetes --exporter "$BINARY" "${base[@]}"
node tests/deploy/check_manifests.mjs kubernetes --exporter "$BINARY" "${sidecar[@]}" \
  deploy/kubernetes/servicemonitor.yaml
# The TLS variant replaces deployment.yaml, service.yaml and servicemonitor.yaml (deploy/tls).
node tests/deploy/check_manifests.mjs kubernetes --exporter "$BINARY" "${tls[@]}" \
  deploy/kubernetes/configmap.yaml deploy/kubernetes/secret.yaml
tls_image="$(sed -n 's/^ *image: \(nginx-tls-front:.*\)/\1/p' deploy/kubernetes/tls/deployment.yaml)"
grep -q "docker build -t $tls_image deploy/tls" deploy/tls/Dockerfile ||
  { echo "FAIL: deploy/tls/Dockerfile does not say it builds $tls_image" >&2; exit 1; }
# shellcheck disable=SC2016  # JavaScript, not shell
node --input-type=module -e '
  import { createRequire } from "node:module";
  import { readFileSync } from "node:fs";
  const require = createRequire(process.argv[1] + "/");
  const problems = require("dockerfile-utils").validate(readFileSync("deploy/tls/Dockerfile", "utf8"));
  for (const d of problems) console.error(`FAIL deploy/tls/Dockerfile:${d.range.start.line + 1}: ${d.message}`);
  process.exit(problems.length ? 1 : 0);' "$ROOT/tests/deploy"
echo "dockerfile-utils: deploy/tls/Dockerfile ($tls_image)"
echo "check_kubernetes: OK"

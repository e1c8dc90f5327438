# shellcheck shell=bash
# Sourceable: makes tests/deploy/node_modules match package-lock.json (npm ci when it is
# missing or was installed from another lock file). Serialized with flock: CTest may run the
# deploy checks in parallel.
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

deploy_npm_ci() {
  command -v node >/dev/null || { echo "node not found (Node.js 18 or later)" >&2; return 1; }
  command -v npm >/dev/null || { echo "npm not found" >&2; return 1; }
  local want stamp="$DEPLOY_DIR/node_modules/.pgconn-lock-sha256"
  want="$(sha256sum "$DEPLOY_DIR/package-lock.json" | cut -d' ' -f1)"
  (
    flock 9
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
      echo "npm ci in $DEPLOY_DIR" >&2
      (cd "$DEPLOY_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
      echo "$want" >"$stamp"
    fi
  ) 9>"${TMPDIR:-/tmp}/pgconn-deploy-npm.lock"
}

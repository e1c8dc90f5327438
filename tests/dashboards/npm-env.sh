# shellcheck shell=bash
# Sourceable: makes tests/dashboards/node_modules match package-lock.json (npm ci when it is
# missing or installed from another lock file). Serialized with flock: CTest may run the
# dashboard tests in parallel.
DASH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

dash_npm_ci() {
  command -v node >/dev/null || { echo "node not found (Debian package nodejs)" >&2; return 1; }
  command -v npm >/dev/null || { echo "npm not found (Debian package npm)" >&2; return 1; }
  local want stamp="$DASH_DIR/node_modules/.pgconn-lock-sha256"
  want="$(sha256sum "$DASH_DIR/package-lock.json" | cut -d' ' -f1)"
  (
    flock 9
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
      echo "npm ci in $DASH_DIR" >&2
      (cd "$DASH_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
      echo "$want" >"$stamp"
    fi
  ) 9>"${TMPDIR:-/tmp}/pgconn-dashboards-npm.lock"
}

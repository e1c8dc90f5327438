# shellcheck shell=bash
# Sourceable: npm_ci_in DIR makes DIR/node_modules match DIR/package-lock.json (npm ci when it
# is missing or was installed from another lock file). Serialized with flock per DIR: CTest
# runs the checks that share a node_modules in parallel.
npm_ci_in() {
  local dir="$1"
  command -v node >/dev/null || { echo "node not found (Debian package nodejs)" >&2; return 1; }
  command -v npm >/dev/null || { echo "npm not found (Debian package npm)" >&2; return 1; }
  local want stamp="$dir/node_modules/.pgconn-lock-sha256"
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  (
    flock 9
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
      echo "npm ci in $dir" >&2
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
      echo "$want" >"$stamp"
    fi
  ) 9>"${TMPDIR:-/tmp}/pgconn-npm-$(basename "$dir").lock"
}

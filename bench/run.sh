#!/usr/bin/env bash
# pgconn_exporter vs Debian's prometheus-postgres-exporter, side by side on one throwaway
# PostgreSQL 15. One entry point: installs what is missing (apt-get), builds in Release,
# starts PostgreSQL on a free loopback port, runs the micro-benchmarks and the end-to-end
# scenarios (bench/bench.py), prints one table and writes bench/results/<UTC stamp>.{json,md}.
#
#   bench/run.sh            full run (~10 minutes on 2 cores)
#   bench/run.sh --quick    smoke run with small counts (~2 minutes)
#
# Options:
#   --quick               small counts: 10 and 900 connections, 200/1,000 scrapes, wrk 3 s,
#                         fleet of 1 and 20 targets at a 5 s interval
#   --ours-bin PATH       benchmark this pgconn_exporter binary instead of building one
#   --build-dir DIR       CMake build directory (default: build-bench in the repository)
#   --results-dir DIR     where the JSON/Markdown go (default: bench/results)
#   --skip-install        do not call apt-get even if something is missing
#   --skip-micro          skip the Google Benchmark micro-benchmarks
#   --keep                keep the PostgreSQL data directory and logs (path printed)
#   --rt                  the sequential-scrape phase (latency p50/p99) runs at SCHED_FIFO:
#                         the exporter's threads, its database sessions and curl, for that
#                         phase only; the rest of the machine keeps >= 5% (RT throttling)
#   --server-cost         only the server cost per poll (ours) and per scrape (theirs) at
#                         10/90/900 connections, and one accept probe's cost (~2 minutes)
#   --nice N              run PostgreSQL, both exporters and the load generators at nice N
#                         (e.g. -10) so unrelated load on a shared machine disturbs less;
#                         both exporters get the same priority. Recorded in the results.
#
# Needs root (or passwordless sudo) for apt-get and to run initdb as the postgres OS user.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
QUICK=0
OURS_BIN=""
BUILD_DIR="$ROOT/build-bench"
RESULTS_DIR="$BENCH_DIR/results"
SKIP_INSTALL=0
SKIP_MICRO=0
KEEP=0
NICE=""
RT=0
SERVER_COST=0
ORIG_ARGS=("$@")

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --ours-bin) OURS_BIN=$(realpath "$2"); shift ;;
    --ours-bin=*) OURS_BIN=$(realpath "${1#*=}") ;;
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift ;;
    --build-dir=*) BUILD_DIR=$(realpath -m "${1#*=}") ;;
    --results-dir) RESULTS_DIR=$(realpath -m "$2"); shift ;;
    --results-dir=*) RESULTS_DIR=$(realpath -m "${1#*=}") ;;
    --skip-install) SKIP_INSTALL=1 ;;
    --skip-micro) SKIP_MICRO=1 ;;
    --keep) KEEP=1 ;;
    --rt) RT=1 ;;
    --server-cost) SERVER_COST=1; SKIP_MICRO=1 ;;
    --nice) NICE=$2; shift ;;
    --nice=*) NICE=${1#*=} ;;
    -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '[run.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

as_root() {
  if [ "$(id -u)" = "0" ]; then "$@"; else sudo -n "$@"; fi
}

# ---------------------------------------------------------------- dependencies
PG_BIN=/usr/lib/postgresql/15/bin
need_pkgs=()
dpkg_has() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
# What the benchmark itself runs, then what building the exporter needs (the same names
# as scripts/install-deps.sh, which also installs the test and packaging tools).
BENCH_PKGS=(prometheus-postgres-exporter wrk curl postgresql-15 libbenchmark-dev python3)
BUILD_PKGS=(build-essential cmake pkg-config libpq-dev prometheus-cpp-dev
            libcivetweb-dev libtomlplusplus-dev libspdlog-dev libfmt-dev zlib1g-dev
            libcrypt-dev libyaml-cpp-dev)
for pkg in "${BENCH_PKGS[@]}" "${BUILD_PKGS[@]}"; do
  dpkg_has "$pkg" || need_pkgs+=("$pkg")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$SKIP_INSTALL" = 1 ]; then
    echo "run.sh: missing packages: ${need_pkgs[*]} (and --skip-install given)" >&2
    exit 1
  fi
  say "installing ${need_pkgs[*]}"
  # No service may start from the install: policy-rc.d tells invoke-rc.d to leave them
  # alone, so a packaged postgres_exporter or PostgreSQL never competes with the run.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    created_policy=1
  fi
  install_rc=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${need_pkgs[@]}" >/dev/null || install_rc=$?
  if [ "$created_policy" = 1 ]; then as_root rm -f "$policy"; fi
  [ "$install_rc" = 0 ] || { echo "run.sh: apt-get failed ($install_rc)" >&2; exit 1; }
fi
THEIRS_BIN=$(command -v prometheus-postgres-exporter || echo /usr/bin/prometheus-postgres-exporter)

# We start our own postgres_exporter process on a port of our own and read /proc of that
# PID only; a packaged service (if any) would just be noise on the same cores: say so.
other_pgexp=$(pgrep -x prometheus-post 2>/dev/null | wc -l || true)
if [ "${other_pgexp:-0}" -gt 0 ]; then
  say "warning: $other_pgexp other prometheus-postgres-exporter process(es) are running" \
      "(e.g. the packaged service); they are not measured but share the CPU"
fi

# ---------------------------------------------------------------- build
BUILD_LOG="$BUILD_DIR/bench-build.log"
build_once() {
  mkdir -p "$BUILD_DIR"
  { cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DPGCONN_BUILD_TESTS=OFF \
      -DPGCONN_BUILD_BENCHMARKS=ON &&
      cmake --build "$BUILD_DIR" -j"$(nproc)"; } >"$BUILD_LOG" 2>&1
}
say "building in Release ($BUILD_DIR)"
if ! build_once; then
  # Other people edit the tree concurrently: one retry after a pause.
  say "build failed; retrying in 60 s (tail of $BUILD_LOG below)"
  tail -n 15 "$BUILD_LOG" >&2 || true
  sleep 60
  build_once || {
    tail -n 40 "$BUILD_LOG" >&2
    exit 1
  }
fi
[ -n "$OURS_BIN" ] || OURS_BIN="$BUILD_DIR/pgconn_exporter"
HOLD_BIN="$BUILD_DIR/bench/pg_hold"
MICRO_BIN="$BUILD_DIR/bench/pgconn_micro_bench"
for f in "$OURS_BIN" "$HOLD_BIN"; do
  [ -x "$f" ] || { echo "run.sh: $f was not built" >&2; exit 1; }
done

# 900 held sessions need 900+ descriptors in pg_hold.
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 4096 ]; then
  ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
fi

# ---------------------------------------------------------------- PostgreSQL
# shellcheck source=lib/pg.sh
. "$BENCH_DIR/lib/pg.sh"
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pgconn-bench-run.XXXXXX")
PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$KEEP" = 1 ] || [ $rc -ne 0 ]; then
    bench_pg_stop keep || true
    say "kept for inspection: $RUN_DIR and ${BENCH_PG_DIR:-} (server log ${BENCH_PG_LOG:-})"
  else
    bench_pg_stop || true
    rm -rf "$RUN_DIR"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -n "$NICE" ]; then
  case "$NICE" in -[0-9]*|[0-9]*) ;; *) echo "run.sh: --nice needs a number" >&2; exit 2 ;; esac
  export BENCH_PG_NICE=$NICE  # pg.sh starts the postmaster under it; backends inherit it
fi
say "starting PostgreSQL 15 on 127.0.0.1:$PG_PORT"
bench_pg_start "$PG_PORT"
say "PostgreSQL ready in $BENCH_PG_DIR ($([ "$BENCH_PG_SANDBOX" = 1 ] && echo "via scripts/pg_sandbox.sh" || echo "own initdb"))"

# ---------------------------------------------------------------- micro-benchmarks
MICRO_JSON=""
if [ "$SKIP_MICRO" = 0 ] && [ -x "$MICRO_BIN" ]; then
  MICRO_JSON="$RUN_DIR/micro.json"
  min_time=0.5
  [ "$QUICK" = 1 ] && min_time=0.05
  say "micro-benchmarks (min time ${min_time}s each)"
  timeout 300 ${NICE:+nice -n "$NICE"} "$MICRO_BIN" --benchmark_min_time="$min_time" --benchmark_format=console \
    --benchmark_out="$MICRO_JSON" --benchmark_out_format=json >&2 || MICRO_JSON=""
fi

# ---------------------------------------------------------------- end to end
py_args=(--ours-bin "$OURS_BIN" --theirs-bin "$THEIRS_BIN" --hold-bin "$HOLD_BIN"
         --pg-bin "$PG_BIN" --pg-port "$PG_PORT" --pg-sock "$BENCH_PG_SOCK"
         --pg-log "$BENCH_PG_LOG" --results-dir "$RESULTS_DIR" --workdir-parent "$RUN_DIR"
         --command "bench/run.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}")
[ -n "$MICRO_JSON" ] && py_args+=(--micro-json "$MICRO_JSON")
[ "$QUICK" = 1 ] && py_args+=(--quick)
say "end-to-end scenarios"
[ -n "$NICE" ] && py_args+=(--nice "$NICE")
[ "$RT" = 1 ] && py_args+=(--rt)
[ "$SERVER_COST" = 1 ] && py_args+=(--server-cost-only)
runner=()
[ -n "$NICE" ] && runner=(nice -n "$NICE")
timeout 1800 "${runner[@]}" python3 "$BENCH_DIR/bench.py" "${py_args[@]}"

#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build, test and demo pgconn_exporter; only those
# missing (apt-get update only when something is). Run as root. Idempotent.
#
# Extend the list below, or pass extra package names as arguments, or set
# PGCONN_EXTRA_PACKAGES="pkg1 pkg2" in the environment.
#
# Installing postgresql-15 or prometheus must not leave their system services running on
# 5432/9090 (the tests start their own PostgreSQL): service starts are denied while apt runs.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential
  cmake
  pkg-config
  git
  clang-format
  clang             # libFuzzer targets (tests/fuzz)
  libclang-rt-14-dev # libFuzzer and sanitizer runtimes for clang
  ccache
  curl
  # libraries
  libpq-dev
  prometheus-cpp-dev
  libcivetweb-dev
  libtomlplusplus-dev
  libspdlog-dev
  libfmt-dev
  zlib1g-dev
  libcrypt-dev
  libyaml-cpp-dev # --web.config.file
  libcli11-dev    # command-line flags (header-only)
  nlohmann-json3-dev # JSON output: plan --format=json, JSON logs (header-only)
  # tests and benchmarks
  libgtest-dev
  libgmock-dev
  googletest
  libbenchmark-dev
  postgresql-15
  prometheus # promtool
  pgbouncer  # tests/integration/pgbouncer_test.cpp, demo; its service must not start
  # rules, dashboards and deploy checks
  jq
  yq
  yamllint
  nodejs
  systemd        # systemd-analyze security/verify (tests/deploy)
  docker-compose # parses deploy/docker/compose.yaml without an engine
  file           # CPack's dependency generation for the Debian package
  # TLS and IPv6 front (deploy/tls, tests/tls)
  nginx
  openssl
  iproute2 # ss
)

# Debian's npm conflicts with a NodeSource nodejs that bundles its own npm: ask for it only
# when there is none.
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

# shellcheck disable=SC2206  # word splitting is intended
PACKAGES+=("$@" ${PGCONN_EXTRA_PACKAGES:-})

log() { printf 'install-deps: %s\n' "$*" >&2; }

is_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

# not_installed PKG...: prints the ones dpkg does not have installed, one per line.
not_installed() {
  local pkg
  for pkg in "$@"; do is_installed "$pkg" || printf '%s\n' "$pkg"; done
}

mapfile -t missing < <(not_installed "${PACKAGES[@]}")

if [ "${#missing[@]}" -eq 0 ]; then
  log "all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  log "missing packages: ${missing[*]}"
  log "run as root (or install them yourself)"
  exit 1
fi

log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive

# Deny service starts during the install (invoke-rc.d and deb-systemd-invoke honour
# policy-rc.d). Only when no policy exists already; removed again on exit.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# temporary, from pgconn_exporter scripts/install-deps.sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi
cleanup() {
  if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi
}
trap cleanup EXIT

apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

# On a systemd machine the units are enabled (not started, thanks to the policy): keep the
# services we just installed from starting at boot and grabbing 5432/9090 later.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  for pkg in "${missing[@]}"; do
    case "$pkg" in
      postgresql-15) systemctl disable --now postgresql.service >/dev/null 2>&1 || true ;;
      prometheus) systemctl disable --now prometheus.service >/dev/null 2>&1 || true ;;
      nginx) systemctl disable --now nginx.service >/dev/null 2>&1 || true ;;
      pgbouncer) systemctl disable --now pgbouncer.service >/dev/null 2>&1 || true ;;
    esac
  done
fi

mapfile -t still_missing < <(not_installed "${missing[@]}")
if [ "${#still_missing[@]}" -ne 0 ]; then
  log "still missing after apt-get install: ${still_missing[*]}"
  exit 1
fi
log "done"

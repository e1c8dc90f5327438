#!/usr/bin/env bash
# The Debian package: built with CPack (`cmake --build BUILD --target package`), its control data
# and contents checked, installed with `dpkg -i`, then the installed binary, config and unit are
# exercised (`pgconn_exporter --version`, --check-config, systemd-analyze verify), and the package
# is purged again unless it was installed before. Needs root for dpkg; exits 77 (skipped) when
# not root or when PGCONN_SKIP_DPKG_INSTALL=1, after the build and content checks.
#   tests/deploy/check_package.sh BUILD_DIR
set -euo pipefail
BUILD="$(cd "${1:?usage: check_package.sh BUILD_DIR}" && pwd)"
PACKAGE=pgconn-exporter
tmp="$(mktemp -d "${TMPDIR:-/tmp}/pgconn-package.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

cmake --build "$BUILD" --target package >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log" >&2; exit 1; }
version="$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")"
deb="$(ls "$BUILD/${PACKAGE}_${version}_"*.deb)"
echo "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = "$PACKAGE" ] || { echo "FAIL: Package is $(field Package)" >&2; exit 1; }
for lib in libpq5 libcivetweb1 libyaml-cpp0.7 libcrypt1; do
  field Depends | grep -q "$lib" || { echo "FAIL: Depends lacks $lib: $(field Depends)" >&2; exit 1; }
done
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#' >"$tmp/contents"
for path in /usr/bin/pgconn_exporter /lib/systemd/system/pgconn_exporter.service \
  /etc/pgconn_exporter/pgconn_exporter.toml /etc/default/pgconn_exporter \
  /usr/share/pgconn_exporter/dashboards/pgconn-overview.json \
  /usr/share/pgconn_exporter/prometheus/pgconn-alerts.yml \
  /usr/share/pgconn_exporter/prometheus/pgconn-recording-rules.yml \
  /usr/share/pgconn_exporter/web-config.example.yml \
  /usr/share/pgconn_exporter/systemd/watch-processes.conf \
  /usr/share/pgconn_exporter/tls/nginx.conf /usr/share/pgconn_exporter/tls/pgconn_exporter-tls.service \
  /usr/share/doc/pgconn_exporter/example.toml; do
  grep -qx "$path" "$tmp/contents" || { echo "FAIL: the package lacks $path" >&2; exit 1; }
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles >"$tmp/conffiles"
grep -qx /etc/pgconn_exporter/pgconn_exporter.toml "$tmp/conffiles" ||
  { echo "FAIL: the config is not a conffile" >&2; exit 1; }
echo "control data and contents: OK"

if [ "${PGCONN_SKIP_DPKG_INSTALL:-0}" = 1 ] || [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: dpkg -i needs root (and PGCONN_SKIP_DPKG_INSTALL unset)"
  exit 77
fi

install_and_check() {
  local preinstalled=0
  dpkg-query -W -f='${db:Status-Status}' "$PACKAGE" 2>/dev/null | grep -qx installed && preinstalled=1
  dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; return 1; }
  local rc=0
  check_installed || rc=$?
  if [ "$preinstalled" -eq 0 ]; then
    dpkg --purge "$PACKAGE" >>"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; rc=1; }
    [ ! -e /usr/bin/pgconn_exporter ] || { echo "FAIL: purge left /usr/bin/pgconn_exporter" >&2; rc=1; }
  fi
  return "$rc"
}

check_installed() {
  local out
  out="$(/usr/bin/pgconn_exporter --version)"
  echo "installed: $out"
  [[ "$out" == "pgconn_exporter $version "* ]] || { echo "FAIL: unexpected --version output" >&2; return 1; }
  # The installed config, with the credential the unit would provide pointed at a readable file.
  printf 'x\n' >"$tmp/main.password"
  sed "s#/run/credentials/pgconn_exporter.service/main.password#$tmp/main.password#" \
    /etc/pgconn_exporter/pgconn_exporter.toml >"$tmp/installed.toml"
  /usr/bin/pgconn_exporter --config.file="$tmp/installed.toml" --check-config
  if command -v systemd-analyze >/dev/null; then
    out="$(systemd-analyze verify /lib/systemd/system/pgconn_exporter.service 2>&1)" || true
    [ -z "$out" ] || { echo "$out" >&2; echo "FAIL: systemd-analyze verify on the installed unit" >&2; return 1; }
    echo "systemd-analyze verify (installed unit): no warnings"
  fi
}

# dpkg takes its own lock; this one keeps two test runs from purging each other's install.
(
  flock 9
  install_and_check
) 9>"${TMPDIR:-/tmp}/pgconn-package-install.lock"
echo "check_package: OK"

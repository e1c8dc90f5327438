#!/usr/bin/env bash
# deploy/systemd: the unit parses without warnings (systemd-analyze verify, with ExecStart
# pointed at the built binary), and its exposure score is at most 2.0 both alone and with the
# opt-in watch-processes.conf drop-in (systemd-analyze security --offline=yes). The same for the
# TLS front's unit, pgconn_exporter-tls.service (deploy/tls), whose ExecStart is Debian's nginx.
#   tests/deploy/check_systemd.sh PATH_TO_BUILT_pgconn_exporter
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
UNIT="$ROOT/deploy/systemd/pgconn_exporter.service"
DROPIN="$ROOT/deploy/systemd/watch-processes.conf"
TLS_UNIT="$ROOT/deploy/systemd/pgconn_exporter-tls.service"
BINARY="$(realpath "${1:?usage: check_systemd.sh PATH_TO_pgconn_exporter}")"
MAX_EXPOSURE="2.0"
THRESHOLD=20  # --threshold counts tenths: 20 is an exposure of 2.0
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not found (Debian package systemd)" >&2; exit 1; }
tmp="$(mktemp -d "${TMPDIR:-/tmp}/pgconn-systemd.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
failed=0

# security NAME ROOT [UNIT]: scores UNIT (default pgconn_exporter.service) under
# ROOT/etc/systemd/system, fails above the limit or on any parse warning.
security() {
  local name="$1" root="$2" unit="${3:-pgconn_exporter.service}" out score
  out="$(systemd-analyze security --offline=yes --root="$root" --threshold="$THRESHOLD" \
    "$unit" 2>&1)" || { echo "$out" >&2; echo "FAIL: $name scores above $MAX_EXPOSURE" >&2; failed=1; }
  score="$(printf '%s\n' "$out" | sed -n "s/.*Overall exposure level for $unit: \([0-9.]*\).*/\1/p")"
  if printf '%s\n' "$out" | grep -E "Unknown|ignoring|Failed to" >&2; then
    echo "FAIL: $name has directives systemd does not understand" >&2
    failed=1
  fi
  [ -n "$score" ] || { echo "FAIL: no score for $name" >&2; failed=1; return; }
  if ! awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'; then
    echo "FAIL: $name exposure $score is above $MAX_EXPOSURE" >&2
    failed=1
  fi
  echo "systemd-analyze security: $name exposure $score (limit $MAX_EXPOSURE)"
}

mkdir -p "$tmp/plain/etc/systemd/system" "$tmp/opt-in/etc/systemd/system/pgconn_exporter.service.d"
cp "$UNIT" "$tmp/plain/etc/systemd/system/"
cp "$UNIT" "$tmp/opt-in/etc/systemd/system/"
cp "$DROPIN" "$tmp/opt-in/etc/systemd/system/pgconn_exporter.service.d/"
security "pgconn_exporter.service" "$tmp/plain"
security "pgconn_exporter.service + watch-processes.conf" "$tmp/opt-in"
cp "$TLS_UNIT" "$tmp/plain/etc/systemd/system/"
security "pgconn_exporter-tls.service" "$tmp/plain" pgconn_exporter-tls.service

# verify checks ExecStart= exists and every directive parses; it only warns, so any output fails.
if [ -x "$BINARY" ]; then
  mkdir -p "$tmp/verify"
  sed "s|/usr/bin/pgconn_exporter|$BINARY|g" "$UNIT" >"$tmp/verify/pgconn_exporter.service"
  out="$(systemd-analyze verify "$tmp/verify/pgconn_exporter.service" 2>&1)" || true
  if [ -n "$out" ]; then
    echo "$out" >&2
    echo "FAIL: systemd-analyze verify complained" >&2
    failed=1
  else
    echo "systemd-analyze verify: no warnings"
  fi
  # The environment file's default arguments are flags the binary accepts.
  # shellcheck disable=SC1090,SC1091,SC2086  # the arguments are a list, as in the unit
  (set -a; . "$ROOT/deploy/systemd/pgconn_exporter.default"; "$BINARY" $PGCONN_EXPORTER_ARGS --help >/dev/null) ||
    { echo "FAIL: PGCONN_EXPORTER_ARGS in pgconn_exporter.default is refused" >&2; failed=1; }
else
  echo "FAIL: $BINARY is not an executable: cannot run systemd-analyze verify" >&2
  failed=1
fi
# The TLS front's unit runs /usr/sbin/nginx (Debian package nginx), which verify needs to find.
out="$(systemd-analyze verify "$TLS_UNIT" 2>&1)" || true
if [ -n "$out" ]; then
  echo "$out" >&2
  echo "FAIL: systemd-analyze verify complained about $(basename "$TLS_UNIT") (is nginx installed?)" >&2
  failed=1
else
  echo "systemd-analyze verify: $(basename "$TLS_UNIT"): no warnings"
fi
[ "$failed" -eq 0 ] && echo "check_systemd: OK"
exit "$failed"

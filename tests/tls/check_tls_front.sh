#!/usr/bin/env bash
# The TLS and IPv6 front of deploy/tls, for real: a throwaway CA signs a server certificate (for
# ::1, 127.0.0.1 and localhost), a client certificate, and a second CA a rogue client
# certificate. The real pgconn_exporter runs on 127.0.0.1 behind Debian's nginx, which is started
# with deploy/tls/nginx.conf unchanged but for its two ports. Its target is a PostgreSQL port
# nobody listens on, so /metrics answers at once with pgconn_up 0 (the front is under test, not
# the polling). A real Prometheus (Debian's) then scrapes through the front:
#   - over https://[::1]:PORT with the client certificate: up 1 and pgconn_ series arrive;
#   - over https://127.0.0.1:PORT with it (the IPv4 listener): up 1;
#   - over https://[::1]:PORT without one, and with the rogue one: up 0.
# curl checks the same by hand (200 / 403 / 400), /healthz without a certificate (200, for
# probes), plain HTTP on the TLS port (refused), and that the two listeners are [::]:PORT
# (IPv6 only) and 0.0.0.0:PORT.
#   tests/tls/check_tls_front.sh [PATH/TO/pgconn_exporter]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
EXPORTER="${1:-${PGCONN_EXPORTER_BIN:-$ROOT/build/pgconn_exporter}}"
PROMETHEUS="${PROMETHEUS_BIN:-/usr/bin/prometheus}"
NGINX="${NGINX_BIN:-/usr/sbin/nginx}"
# shellcheck source=tests/rules/lib/pg.sh
source "$ROOT/tests/rules/lib/pg.sh"
for tool in curl jq openssl ss; do
  command -v "$tool" >/dev/null || pgt_die "$tool not found"
done
[ -x "$EXPORTER" ] || pgt_die "exporter binary $EXPORTER not found (cmake --build build --target pgconn_exporter)"
[ -x "$PROMETHEUS" ] || pgt_die "$PROMETHEUS not found (Debian package prometheus)"
[ -x "$NGINX" ] || pgt_die "$NGINX not found (Debian package nginx)"
grep -qs ' lo$' /proc/net/if_inet6 || pgt_die "no IPv6 on loopback (::1)"

T_START=$(date +%s.%N)
failures=0
check() { # check DESCRIPTION COMMAND...: counts a failure when COMMAND fails
  local what=$1
  shift
  if "$@"; then pgt_log "ok: $what"; else pgt_log "FAIL: $what"; failures=$((failures + 1)); fi
}

# A port free on both 127.0.0.1 and ::1 (the front binds the wildcard of each).
free_port() {
  local p
  for _ in $(seq 1 50); do
    p="$(pgt_free_port)"
    if ! (exec 3<>"/dev/tcp/::1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  pgt_die "no port free on both 127.0.0.1 and ::1"
}

pgt_init
PKI="$PGT_ROOT/pki"
FRONT="$PGT_ROOT/front"   # the config directory: nginx.conf beside its certificates
mkdir -p "$PKI" "$FRONT" "$PGT_ROOT/front-run"

# ---- throwaway PKI -------------------------------------------------------------------------
# new_ca NAME; new_cert CA NAME SUBJECT EXTENSIONS
new_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "/CN=pgconn test $1" -keyout "$PKI/$1.key" -out "$PKI/$1.crt" 2>/dev/null
}
new_cert() {
  local ca=$1 name=$2 subject=$3 ext=$4
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subject" \
    -keyout "$PKI/$name.key" -out "$PKI/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" \
    -CAcreateserial -days 1 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
}
new_ca ca
new_ca rogue-ca
new_cert ca server /CN=localhost \
  $'subjectAltName=DNS:localhost,IP:::1,IP:127.0.0.1\nextendedKeyUsage=serverAuth'
new_cert ca client /CN=prometheus 'extendedKeyUsage=clientAuth'
new_cert rogue-ca rogue /CN=prometheus 'extendedKeyUsage=clientAuth'
cp "$PKI/ca.crt" "$PKI/server.crt" "$PKI/server.key" "$FRONT/"
pgt_log "throwaway CA, server certificate (::1, 127.0.0.1, localhost), client and rogue client certificates"

# ---- exporter on loopback, nginx in front ------------------------------------------------------
EXPORTER_PORT="$(pgt_free_port)"
DOWN_PORT="$(pgt_free_port)"
cat >"$PGT_ROOT/exporter.toml" <<EOF
[exporter]
listen_address = ":10432"
poll_interval = "1s"

[[target]]
name = "main"
dsn = "host=127.0.0.1 port=$DOWN_PORT dbname=postgres user=pgconn_exporter"
connect_timeout = "2s"
EOF
# --web.listen-address overrides the TOML, as in deploy/tls/README.md.
pgt_spawn exporter "$EXPORTER" --config.file="$PGT_ROOT/exporter.toml" \
  --web.listen-address="127.0.0.1:$EXPORTER_PORT"
EXPORTER_PID=$PGT_LAST_PID

FRONT_PORT="$(free_port)"
grep -q 'listen \[::\]:10443 ssl;' "$ROOT/deploy/tls/nginx.conf" || pgt_die "deploy/tls/nginx.conf: no listen [::]:10443"
sed -e "s/:10443 ssl;/:$FRONT_PORT ssl;/" -e "s#http://127.0.0.1:10432;#http://127.0.0.1:$EXPORTER_PORT;#g" \
  "$ROOT/deploy/tls/nginx.conf" >"$FRONT/nginx.conf"
if [ "$(grep -c ":$FRONT_PORT ssl;" "$FRONT/nginx.conf")" -ne 2 ] ||
  grep -v '^ *#' "$FRONT/nginx.conf" | grep -q '10432\|10443'; then
  pgt_die "deploy/tls/nginx.conf: expected two 'listen ...:10443 ssl;' and proxy_pass http://127.0.0.1:10432; only"
fi
# Unprivileged, as under systemd (DynamicUser) and in Kubernetes: no root, nothing outside the
# config and runtime directories.
as_front_user=()
if [ "$(id -u)" = 0 ]; then
  chown -R nobody "$FRONT" "$PGT_ROOT/front-run"
  as_front_user=(runuser -u nobody --)
fi
"${as_front_user[@]}" "$NGINX" -t -q -e stderr -p "$PGT_ROOT/front-run/" -c "$FRONT/nginx.conf" ||
  pgt_die "nginx -t refuses deploy/tls/nginx.conf"
pgt_spawn nginx "${as_front_user[@]}" "$NGINX" -e stderr -p "$PGT_ROOT/front-run/" \
  -c "$FRONT/nginx.conf" -g 'daemon off;'
NGINX_PID=$PGT_LAST_PID

V6="https://[::1]:$FRONT_PORT"
V4="https://127.0.0.1:$FRONT_PORT"
WITH_CERT=(--cacert "$PKI/ca.crt" --cert "$PKI/client.crt" --key "$PKI/client.key")
for _ in $(seq 1 100); do
  curl -fsS "${WITH_CERT[@]}" "$V6/metrics" 2>/dev/null | grep -q '^pgconn_up{target="main"} 0' && break
  kill -0 "$EXPORTER_PID" 2>/dev/null || pgt_die "exporter exited"
  kill -0 "$NGINX_PID" 2>/dev/null || pgt_die "nginx exited"
  sleep 0.1
done
pgt_log "exporter on 127.0.0.1:$EXPORTER_PORT, nginx $("$NGINX" -v 2>&1 | sed 's#.*/##') front on port $FRONT_PORT"

# ---- listeners ---------------------------------------------------------------------------
listeners="$(ss -Hltn "sport = :$FRONT_PORT" | awk '{print $4}' | sort | tr '\n' ' ')"
check "the front listens on [::]:$FRONT_PORT and 0.0.0.0:$FRONT_PORT (have: $listeners)" \
  [ "$listeners" = "0.0.0.0:$FRONT_PORT [::]:$FRONT_PORT " ]
check "the exporter listens on 127.0.0.1 only" \
  [ "$(ss -Hltn "sport = :$EXPORTER_PORT" | awk '{print $4}' | tr '\n' ' ')" = "127.0.0.1:$EXPORTER_PORT " ]
v6only="$(ss -Hltne "sport = :$FRONT_PORT" | grep -c 'v6only:1' || true)"
check "the [::] listener is IPv6 only, so IPv4 goes to the 0.0.0.0 one" [ "$v6only" -eq 1 ]

# ---- by hand: curl -----------------------------------------------------------------------
status() { # status URL CURL_ARGS... -> HTTP status, or 000 when no response
  local url=$1
  shift
  curl -sS -o /dev/null -w '%{http_code}' "$@" "$url" 2>/dev/null || true
}
body="$(curl -fsS "${WITH_CERT[@]}" "$V6/metrics" || true)"
check "curl over [::1] with the client certificate gets /metrics with pgconn_ series" \
  grep -q '^pgconn_up{target="main"} 0$' <<<"$body"
check "curl over 127.0.0.1 with the client certificate gets 200" \
  [ "$(status "$V4/metrics" "${WITH_CERT[@]}")" = 200 ]
code="$(status "$V6/metrics" --cacert "$PKI/ca.crt")"
check "curl without a client certificate is refused ($code)" [ "$code" = 403 ]
body="$(curl -sS --cacert "$PKI/ca.crt" "$V6/metrics" 2>/dev/null || true)"
lacks() { ! grep -q "$1" <<<"$2"; }
check "... and gets no metrics" lacks pgconn_ "$body"
code="$(status "$V4/" --cacert "$PKI/ca.crt")"
check "curl without a client certificate over IPv4 is refused, every path ($code on /)" [ "$code" = 403 ]
code="$(status "$V6/metrics" --cacert "$PKI/ca.crt" --cert "$PKI/rogue.crt" --key "$PKI/rogue.key")"
check "curl with a client certificate from another CA is refused ($code)" [ "$code" = 400 ]
check "/healthz answers without a client certificate (for probes)" \
  [ "$(status "$V6/healthz" --cacert "$PKI/ca.crt")" = 200 ]
code="$(status "http://[::1]:$FRONT_PORT/metrics")"
check "plain HTTP on the TLS port gets no metrics ($code)" [ "$code" = 400 ]
check "the server certificate does not verify against another CA" \
  [ "$(status "$V6/healthz" --cacert "$PKI/rogue-ca.crt")" = 000 ]

# ---- idle connections wait in nginx, not in the exporter ---------------------------------
# (civetweb gives each connection a worker thread: a few dozen idle ones silence it, issue 13.)
IDLE=300
# shellcheck disable=SC2016  # expanded by the inner bash
pgt_spawn idle bash -c 'for _ in $(seq 1 "$1"); do exec {fd}<>"/dev/tcp/::1/$2" || exit 1; done
  echo ready; exec sleep 600' _ "$IDLE" "$FRONT_PORT"
IDLE_PID=$PGT_LAST_PID
for _ in $(seq 1 100); do
  grep -q ready "$PGT_ROOT/idle.log" && break
  kill -0 "$IDLE_PID" 2>/dev/null || pgt_die "could not open $IDLE idle connections"
  sleep 0.1
done
t="$(curl -fsS -o /dev/null -w '%{time_total}' "${WITH_CERT[@]}" "$V6/metrics" || echo 99)"
check "a scrape through the front with $IDLE idle connections open to it takes ${t} s (limit 2 s)" \
  awk -v t="$t" 'BEGIN { exit !(t < 2) }'
pgt_stop_pid "$IDLE_PID"

# ---- a real Prometheus -------------------------------------------------------------------
PROM_PORT="$(pgt_free_port)"
PROM="http://127.0.0.1:$PROM_PORT"
mkdir -p "$PGT_ROOT/prometheus-data"
cat >"$PGT_ROOT/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: tls-client-cert
    scheme: https
    tls_config: {ca_file: $PKI/ca.crt, cert_file: $PKI/client.crt, key_file: $PKI/client.key}
    static_configs: [{targets: ['[::1]:$FRONT_PORT']}]
  - job_name: tls-client-cert-ipv4
    scheme: https
    tls_config: {ca_file: $PKI/ca.crt, cert_file: $PKI/client.crt, key_file: $PKI/client.key}
    static_configs: [{targets: ['127.0.0.1:$FRONT_PORT']}]
  - job_name: tls-no-client-cert
    scheme: https
    tls_config: {ca_file: $PKI/ca.crt}
    static_configs: [{targets: ['[::1]:$FRONT_PORT']}]
  - job_name: tls-rogue-client-cert
    scheme: https
    tls_config: {ca_file: $PKI/ca.crt, cert_file: $PKI/rogue.crt, key_file: $PKI/rogue.key}
    static_configs: [{targets: ['[::1]:$FRONT_PORT']}]
EOF
pgt_spawn prometheus "$PROMETHEUS" --config.file="$PGT_ROOT/prometheus.yml" \
  --storage.tsdb.path="$PGT_ROOT/prometheus-data" --web.listen-address="127.0.0.1:$PROM_PORT" \
  --storage.tsdb.retention.time=1d --log.level=warn
PROM_PID=$PGT_LAST_PID

prom_value() { # the first sample's value, or empty
  curl -fsS "$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    jq -r '.data.result[0].value[1] // empty'
}
wait_value() { # wait_value EXPR VALUE TIMEOUT_S
  local i
  for i in $(seq 1 $(($3 * 4))); do
    [ "$(prom_value "$1")" = "$2" ] && return 0
    kill -0 "$PROM_PID" 2>/dev/null || pgt_die "prometheus exited"
    sleep 0.25
  done
  pgt_log "timeout: $1 = '$(prom_value "$1")', expected $2"
  return 1
}
last_error() { # the scrape error Prometheus reports for JOB
  curl -fsS "$PROM/api/v1/targets" | jq -r --arg j "$1" \
    '.data.activeTargets[] | select(.labels.job == $j) | .lastError'
}
check "Prometheus scrapes https://[::1]:$FRONT_PORT with the client certificate: up 1" \
  wait_value 'up{job="tls-client-cert"}' 1 30
check "... and pgconn_ series arrive through the front (pgconn_up 0: the target is down)" \
  wait_value 'pgconn_up{job="tls-client-cert",target="main"}' 0 10
n="$(prom_value 'count({job="tls-client-cert",__name__=~"pgconn_.+"})')"
check "... $n pgconn_ series" [ "${n:-0}" -ge 2 ]
check "Prometheus scrapes the IPv4 listener https://127.0.0.1:$FRONT_PORT: up 1" \
  wait_value 'up{job="tls-client-cert-ipv4"}' 1 10
for job in tls-no-client-cert tls-rogue-client-cert; do
  wait_value "up{job=\"$job\"}" 0 10 || true
  check "Prometheus job $job is down ($(last_error "$job"))" [ "$(prom_value "up{job=\"$job\"}")" = 0 ]
done
check "... and neither stored a pgconn_ series" \
  [ -z "$(prom_value 'count({job=~"tls-no-client-cert|tls-rogue-client-cert",__name__=~"pgconn_.+"})')" ]

total="$(awk -v a="$T_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
if [ "$failures" -gt 0 ]; then
  echo "check_tls_front: $failures checks failed (${total} s)" >&2
  exit 1
fi
echo "check_tls_front: OK (${total} s)"

# shellcheck shell=bash
# Sourceable (after lib/pg.sh): start the real pgconn_exporter against the sandbox PostgreSQL,
# with application pools ([[pool]]) and watched processes ([[process]]) configured, so that it
# serves every metric family the dashboards and rules use.
#
#   pgt_exporter_config FILE     writes the config; falls back to a core-only config (and says
#                                so in PGT_EXPORTER_CONFIG_NOTE) if this build rejects pools or
#                                processes
#   pgt_exporter_start BIN FILE  starts it on a free loopback port ($PGT_EXPORTER_PORT) and waits
#                                until target "main" is up
#   pgt_scrape FILE              saves one /metrics scrape to FILE

# The sessions the fixture opens (pgt_hold), by application_name:
#   web-1, web-2, web-3 ... -> pool "web" (instances by application_name, size 15, 2 expected)
#   worker                  -> pool "worker" (size from a Prisma-style database_url, 1 instance)
# and every pgbench process is the [[process]] group "pgbench".
pgt_exporter_config() {
  local file=$1 bin=$2
  local core
  core=$(cat <<EOF
[exporter]
listen_address = "127.0.0.1:10432"
poll_interval = "1s"
log_level = "info"

[[target]]
name = "main"
dsn = "host=127.0.0.1 port=$PGT_PORT dbname=postgres user=pgconn_exporter"
password_env = "PGCONN_TEST_PASSWORD"
connect_timeout = "3s"
query_timeout = "2s"
by_client_addr = true
server_log = "$PGT_ROOT/postgres.log"
EOF
)
  cat >"$file" <<EOF
$core
reserve = 5

[[pool]]
name = "web"
target = "main"
application_name = "web-*"
size = 15
instances = 2
instance_by = "application_name"

[[pool]]
name = "worker"
target = "main"
application_name = "worker"
database_url = "postgresql://batch@127.0.0.1:$PGT_PORT/postgres?connection_limit=4"
instances = 1
instance_by = "none"

[[process]]
name = "pgbench"
exe = "pgbench"
EOF
  PGT_EXPORTER_CONFIG_NOTE=""
  local out
  if ! out="$(PGCONN_TEST_PASSWORD="$PGT_EXPORTER_PASSWORD" "$bin" --config.file "$file" --check-config 2>&1)"; then
    PGT_EXPORTER_CONFIG_NOTE="this pgconn_exporter rejects the [[pool]]/[[process]] configuration (${out//$'\n'/ }); running it with targets only, so pool and process metrics are missing"
    pgt_log "WARNING: $PGT_EXPORTER_CONFIG_NOTE"
    printf '%s\n' "$core" >"$file"
  fi
}

pgt_exporter_start() {
  local bin=$1 file=$2
  [ -x "$bin" ] || pgt_die "exporter binary $bin not found: build it (cmake --build build --target pgconn_exporter)"
  PGT_EXPORTER_PORT="$(pgt_free_port)"
  pgt_spawn exporter env PGCONN_TEST_PASSWORD="$PGT_EXPORTER_PASSWORD" "$bin" \
    --config.file "$file" --web.listen-address "127.0.0.1:$PGT_EXPORTER_PORT"
  PGT_EXPORTER_PID=$PGT_LAST_PID
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$PGT_EXPORTER_PORT/metrics" 2>/dev/null | grep -q '^pgconn_up{target="main"} 1'; then
      pgt_log "exporter on 127.0.0.1:$PGT_EXPORTER_PORT, target main up"
      return 0
    fi
    kill -0 "$PGT_EXPORTER_PID" 2>/dev/null || pgt_die "exporter exited"
    sleep 0.1
  done
  pgt_die "exporter did not report target main up within 10 s"
}

pgt_scrape() {
  curl -fsS "http://127.0.0.1:$PGT_EXPORTER_PORT/metrics" >"$1"
}

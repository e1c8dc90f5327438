#!/usr/bin/env bash
# A Debian PgBouncer in front of the pgt_pg_start server (transaction pooling, pool of 2), and
# the [[pgbouncer]] table for the exporter config. Source after tests/rules/lib/pg.sh.

# pgt_pgbouncer_start [DATABASE_LINE]: listens on 127.0.0.1:$PGT_PGBOUNCER_PORT; stopped by
# pgt_cleanup. DATABASE_LINE is one more [databases] entry (e.g. a "* = ..." wildcard).
pgt_pgbouncer_start() {
  local extra_database="${1:-}"
  local bin="${PGT_PGBOUNCER_BIN:-/usr/sbin/pgbouncer}"
  [ -x "$bin" ] || pgt_die "pgbouncer not found (Debian package pgbouncer; scripts/install-deps.sh)"
  local dir="$PGT_ROOT/pgbouncer"
  mkdir -p "$dir"
  PGT_PGBOUNCER_PORT="$(pgt_free_port)"
  printf '"pgconn_exporter" "%s"\n"app" "%s"\n' "$PGT_EXPORTER_PASSWORD" "$PGT_APP_PASSWORD" \
    >"$dir/users.txt"
  cat >"$dir/pgbouncer.ini" <<EOF
[databases]
postgres = host=127.0.0.1 port=$PGT_PORT dbname=postgres
$extra_database
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGT_PGBOUNCER_PORT
unix_socket_dir =
auth_type = md5
auth_file = $dir/users.txt
stats_users = pgconn_exporter
pool_mode = transaction
default_pool_size = 2
EOF
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$dir"; fi
  # setpriv execs (runuser would fork, and pgt_cleanup's SIGTERM would not reach PgBouncer).
  if [ "$(id -u)" = 0 ]; then
    pgt_spawn pgbouncer setpriv --reuid=postgres --regid=postgres --init-groups "$bin" "$dir/pgbouncer.ini"
  else
    pgt_spawn pgbouncer "$bin" "$dir/pgbouncer.ini"
  fi
  local _
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PGT_PGBOUNCER_PORT") 2>/dev/null; then
      pgt_log "pgbouncer on 127.0.0.1:$PGT_PGBOUNCER_PORT"
      return 0
    fi
    sleep 0.1
  done
  pgt_die "pgbouncer did not listen within 10 s: $(tail -5 "$PGT_ROOT/pgbouncer.log")"
}

# pgt_pgbouncer_config FILE: appends the [[pgbouncer]] table (pooling for target main).
pgt_pgbouncer_config() {
  cat >>"$1" <<EOF

[[pgbouncer]]
name = "bouncer"
dsn = "host=127.0.0.1 port=$PGT_PGBOUNCER_PORT dbname=pgbouncer user=pgconn_exporter"
password_env = "PGCONN_TEST_PASSWORD"
target = "main"
EOF
}

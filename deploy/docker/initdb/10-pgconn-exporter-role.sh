#!/bin/sh
# Run once by the postgres image on an empty data directory: the monitoring role of the README,
# with its password from the Compose secret.
set -eu
password="$(cat /run/secrets/pgconn_exporter_password)"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v exporter_password="$password" <<'SQL'
CREATE ROLE pgconn_exporter LOGIN CONNECTION LIMIT 3;
ALTER ROLE pgconn_exporter PASSWORD :'exporter_password';
GRANT pg_monitor TO pgconn_exporter;
SQL

#!/bin/bash
# Runs once, when the Compose Postgres initializes its data directory: a read-only login for
# Grafana's Postgres data source (the dashboards read the services' schemas, never write).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v password="${GRAFANA_PG_PASSWORD:-grafana-dev-only}" <<'SQL'
CREATE ROLE grafana LOGIN PASSWORD :'password';
GRANT pg_read_all_data TO grafana;
ALTER ROLE grafana SET default_transaction_read_only = on;
SQL

#!/bin/bash
# The flow's writer and Grafana's read-only user, with passwords from the environment.
#
# Run by the ClickHouse image's entrypoint as the admin user (CLICKHOUSE_USER), at every
# start (CLICKHOUSE_ALWAYS_RUN_INITDB_SCRIPTS): a changed password in .env takes effect on
# restart. Passwords never reach SQL text or the command line: only their SHA-256 (hex,
# which needs no quoting) does. Roles and grants follow in 20-grants.sql.
set -euo pipefail

: "${VOC_CH_WRITER_PASSWORD:?set VOC_CH_WRITER_PASSWORD}"
: "${VOC_GRAFANA_CLICKHOUSE_PASSWORD:?set VOC_GRAFANA_CLICKHOUSE_PASSWORD}"

sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
writer_hash="$(sha256 "$VOC_CH_WRITER_PASSWORD")"
grafana_hash="$(sha256 "$VOC_GRAFANA_CLICKHOUSE_PASSWORD")"

clickhouse client --multiquery --host 127.0.0.1 \
    --user "$CLICKHOUSE_USER" --password "$CLICKHOUSE_PASSWORD" <<SQL
CREATE USER IF NOT EXISTS voc_writer IDENTIFIED WITH sha256_hash BY '${writer_hash}';
ALTER USER voc_writer IDENTIFIED WITH sha256_hash BY '${writer_hash}';
CREATE USER IF NOT EXISTS voc_grafana IDENTIFIED WITH sha256_hash BY '${grafana_hash}';
ALTER USER voc_grafana IDENTIFIED WITH sha256_hash BY '${grafana_hash}';
SQL

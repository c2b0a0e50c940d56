-- Roles, grants and the Grafana settings profile of voc-stream's ClickHouse users.
--
-- Applied by the ClickHouse image's entrypoint after 10-users.sh, at every start; every
-- statement is idempotent. The admin user (CLICKHOUSE_USER) runs `voc migrate`; nobody else
-- may change the schema.
--
--   voc_writer   the flow: reads the schema version, inserts rows. No DDL, no DROP.
--   voc_grafana  Grafana: SELECT only, readonly = 1, and may change max_execution_time
--                (the ClickHouse plugin sends it with every query).

CREATE ROLE IF NOT EXISTS voc_writer_role;
GRANT SELECT, INSERT ON voc.* TO voc_writer_role;

CREATE ROLE IF NOT EXISTS voc_reader_role;
GRANT SELECT ON voc.* TO voc_reader_role;

CREATE SETTINGS PROFILE OR REPLACE voc_grafana_profile
    SETTINGS readonly = 1, max_execution_time = 60 MIN 1 MAX 600 CHANGEABLE_IN_READONLY;

GRANT voc_writer_role TO voc_writer;
ALTER USER voc_writer DEFAULT ROLE voc_writer_role;

GRANT voc_reader_role TO voc_grafana;
ALTER USER voc_grafana DEFAULT ROLE voc_reader_role SETTINGS PROFILE 'voc_grafana_profile';

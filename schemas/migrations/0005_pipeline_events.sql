-- 0005: pipeline events: what happened to the flow itself, for the pipeline-health board.
--
-- A sink writes one row when a write succeeds after failures (ClickHouse unreachable or
-- overloaded): the outage's start and end, how many attempts it took and the last error.
-- The id is stable for one outage of one writer, so a replayed row collapses.

CREATE TABLE IF NOT EXISTS pipeline_events
(
    id          String COMMENT 'hash of step, table, worker and the outage start',
    kind        LowCardinality(String) COMMENT 'sink_recovered',
    step        LowCardinality(String) COMMENT 'the flow step that saw it, e.g. write-messages',
    table_name  LowCardinality(String) COMMENT 'the table the step writes',
    worker      LowCardinality(String) COMMENT 'worker N (server) or process N (embedded)',
    started_at  DateTime64(3, 'UTC') COMMENT 'wall-clock time of the first failed attempt',
    ended_at    DateTime64(3, 'UTC') COMMENT 'wall-clock time of the write that succeeded',
    downtime_s  Float64,
    attempts    UInt32 COMMENT 'attempts of the write, the successful one included',
    last_error  String,
    recorded_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(recorded_at)
PARTITION BY toYYYYMM(started_at)
ORDER BY (kind, started_at, id)
TTL toDateTime(started_at) + INTERVAL 400 DAY;

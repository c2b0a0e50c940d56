-- 0003: items that arrived after their event-time window had closed.
--
-- The detectors count on event-time minute windows; a message older than the watermark
-- cannot change a closed window. It is still stored in messages, and recorded here so the
-- pipeline-health board shows lateness instead of losing it silently. One row per message
-- and stage: a replay collapses onto the same row.

CREATE TABLE IF NOT EXISTS late_items
(
    id         String COMMENT 'message id',
    stage      LowCardinality(String) COMMENT 'the windowed step that found it late',
    source     LowCardinality(String),
    channel    LowCardinality(String),
    created_at DateTime64(3, 'UTC') COMMENT 'event time of the message',
    watermark  DateTime64(3, 'UTC') COMMENT 'the window clock when it arrived',
    seen_at    DateTime64(3, 'UTC') COMMENT 'wall-clock time it was found late'
)
ENGINE = ReplacingMergeTree(seen_at)
PARTITION BY toYYYYMM(created_at)
ORDER BY (stage, id);

-- 0001: the core tables: messages, dead letters, alerts.
--
-- Every table is idempotent under replay: delivery is at-least-once, so a re-delivered row
-- collapses onto the same sorting key of a ReplacingMergeTree. Read with FINAL (or
-- argMax/LIMIT 1 BY) where exact counts matter.

CREATE TABLE IF NOT EXISTS messages
(
    id                String,
    source            LowCardinality(String),
    channel           LowCardinality(String),
    brand             LowCardinality(String) DEFAULT '',
    product           String DEFAULT '',
    rating            Nullable(UInt8),
    author_hash       String DEFAULT '' COMMENT 'HMAC-SHA256 of the author id with the configured salt',
    conversation_id   String DEFAULT '',
    role              LowCardinality(String) DEFAULT '' COMMENT 'customer | agent for chats, empty otherwise',
    url               String DEFAULT '',
    reach             Nullable(UInt64),
    likes             Nullable(UInt64),
    attributes        String DEFAULT '{}' COMMENT 'JSON object of extra fields',
    -- Text: PII redacted before it gets here. Raw text is kept for a year after ingestion.
    text              String TTL toDateTime(ingested_at) + INTERVAL 365 DAY,
    text_normalized   String TTL toDateTime(ingested_at) + INTERVAL 365 DAY,
    text_search       String TTL toDateTime(ingested_at) + INTERVAL 365 DAY
                      COMMENT 'normalized, diacritics removed (đ -> d): search with LIKE',
    pii_kinds         Array(LowCardinality(String)),
    language          LowCardinality(String),
    -- Enrichment
    sentiment         LowCardinality(String),
    sentiment_score   Float32,
    topics            Array(LowCardinality(String)),
    topic_scores      Array(Float32),
    topic_sentiments  Array(LowCardinality(String)),
    aspects           Array(LowCardinality(String)),
    aspect_scores     Array(Float32),
    aspect_sentiments Array(LowCardinality(String)),
    flags             Array(LowCardinality(String)),
    model_version     LowCardinality(String),
    -- Time
    created_at        DateTime64(3, 'UTC') COMMENT 'event time',
    ingested_at       DateTime64(3, 'UTC') COMMENT 'when the flow wrote the row',
    INDEX idx_text_search text_search TYPE ngrambf_v1(3, 65536, 2, 0) GRANULARITY 4,
    INDEX idx_topics topics TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(created_at)
ORDER BY (toStartOfHour(created_at), source, channel, id);

CREATE TABLE IF NOT EXISTS dead_letters
(
    id           String COMMENT 'hash of origin, position and step: stable under replay',
    step         LowCardinality(String) COMMENT 'the flow step that rejected the payload',
    error_type   LowCardinality(String),
    reason       String,
    origin       String COMMENT 'file path, stdin, simulator partition or topic/partition',
    position     UInt64 COMMENT 'line number or offset within the origin',
    payload      String TTL toDateTime(received_at) + INTERVAL 90 DAY COMMENT 'raw payload, PII redacted',
    payload_size UInt64,
    received_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(received_at)
PARTITION BY toYYYYMM(received_at)
ORDER BY (step, id);

CREATE TABLE IF NOT EXISTS alerts
(
    id                String COMMENT 'stable incident id: the same incident keeps it across replays',
    revision          UInt32 COMMENT 'increases with every state change of the incident',
    kind              LowCardinality(String) COMMENT 'volume_spike | negative_share | emerging_phrase',
    status            LowCardinality(String) COMMENT 'open | resolved',
    severity          LowCardinality(String) COMMENT 'info | warning | critical',
    key_type          LowCardinality(String) COMMENT 'topic | topic_channel | topic_brand | topic_product | phrase',
    topic             LowCardinality(String) DEFAULT '',
    channel           LowCardinality(String) DEFAULT '',
    brand             LowCardinality(String) DEFAULT '',
    product           String DEFAULT '',
    phrase            String DEFAULT '',
    window_start      DateTime64(3, 'UTC'),
    window_end        DateTime64(3, 'UTC'),
    observed          Float64,
    expected          Float64,
    score             Float64,
    top_terms         Array(String),
    channel_breakdown Map(String, UInt64),
    sample_ids        Array(String),
    sample_texts      Array(String),
    opened_at         DateTime64(3, 'UTC') COMMENT 'event time the incident opened',
    updated_at        DateTime64(3, 'UTC') COMMENT 'event time of this revision',
    resolved_at       Nullable(DateTime64(3, 'UTC')),
    detector_version  LowCardinality(String)
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(opened_at)
ORDER BY id;

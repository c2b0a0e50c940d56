-- 0002: per-minute rollups for the boards, fed by materialized views on messages.
--
-- Counts are uniqExact states over message ids, never summed counters: a message
-- re-delivered in another batch adds the same id again and the merged count does not
-- change. Agent turns of chats are not customer voice and are left out.

CREATE TABLE IF NOT EXISTS volume_1m
(
    minute    DateTime('UTC'),
    source    LowCardinality(String),
    channel   LowCardinality(String),
    brand     LowCardinality(String),
    sentiment LowCardinality(String),
    messages  AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, source, channel, brand, sentiment);

CREATE MATERIALIZED VIEW IF NOT EXISTS volume_1m_mv TO volume_1m AS
SELECT
    toStartOfMinute(created_at) AS minute,
    source,
    channel,
    brand,
    sentiment,
    uniqExactState(id) AS messages
FROM messages
WHERE role != 'agent'
GROUP BY minute, source, channel, brand, sentiment;

CREATE TABLE IF NOT EXISTS topics_1m
(
    minute    DateTime('UTC'),
    topic     LowCardinality(String),
    source    LowCardinality(String),
    channel   LowCardinality(String),
    brand     LowCardinality(String),
    sentiment LowCardinality(String) COMMENT 'sentiment towards the topic',
    messages  AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, topic, source, channel, brand, sentiment);

CREATE MATERIALIZED VIEW IF NOT EXISTS topics_1m_mv TO topics_1m AS
SELECT
    toStartOfMinute(created_at) AS minute,
    topic,
    source,
    channel,
    brand,
    topic_sentiment AS sentiment,
    uniqExactState(id) AS messages
FROM messages
ARRAY JOIN topics AS topic, topic_sentiments AS topic_sentiment
WHERE role != 'agent'
GROUP BY minute, topic, source, channel, brand, sentiment;

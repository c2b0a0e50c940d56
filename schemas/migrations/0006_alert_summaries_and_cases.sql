-- 0006: alerts that explain themselves, and customer cases.
--
-- Every revision of an alert now says which time scale's evidence opened it and carries a
-- one-line Vietnamese summary (what, where, how much), refreshed with the figures; the
-- headline is the summary as of the opening (or the latest change of severity), what a
-- notification shows, so an alert instance keeps its labels while its figures move.
-- Message-level cases (kind 'case': one customer who needs action now) share the table
-- and the alert path; conversation_id names the chat they came from.

ALTER TABLE alerts
    ADD COLUMN IF NOT EXISTS scale LowCardinality(String) DEFAULT ''
        COMMENT 'window whose evidence opened the alert: 1m | 5m | 15m | 60m; empty for a case',
    ADD COLUMN IF NOT EXISTS summary String DEFAULT ''
        COMMENT 'one line in Vietnamese: what, where, how much; refreshed by every revision',
    ADD COLUMN IF NOT EXISTS headline String DEFAULT ''
        COMMENT 'the summary as of the opening or the latest severity change (notifications)',
    ADD COLUMN IF NOT EXISTS conversation_id String DEFAULT ''
        COMMENT 'the chat conversation of a case; empty otherwise',
    COMMENT COLUMN kind 'volume_spike | negative_share | emerging_phrase | emerging_issue | case',
    COMMENT COLUMN key_type 'topic | topic_channel | topic_brand | topic_product | phrase | terms | case';

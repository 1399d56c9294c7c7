-- Bulletin schema, version 5: what delivery to Discord keeps between sends.

-- A row claimed for one message: that message's nonce, so that after a crash the same rows are
-- sent again together, under the same nonce (Discord then returns the first message).
ALTER TABLE deliveries ADD COLUMN batch TEXT;
ALTER TABLE deliveries ADD COLUMN batch_more INTEGER NOT NULL DEFAULT 0;  -- "and K more" it says
-- A throttled edit waits for its minute without holding back the subscription's later rows.
ALTER TABLE deliveries ADD COLUMN deferred INTEGER NOT NULL DEFAULT 0;

ALTER TABLE subscriptions ADD COLUMN starter_message_id INTEGER;  -- thread mode: the key points
ALTER TABLE subscriptions ADD COLUMN announced_status TEXT;       -- the last story status posted
ALTER TABLE subscriptions ADD COLUMN backfilled_at INTEGER;

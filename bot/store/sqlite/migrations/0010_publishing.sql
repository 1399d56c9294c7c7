-- Bulletin schema, version 9: publishing in announcement channels. A subscription's `publish`
-- option, and one row per message Bulletin published or left unpublished: the channel's hourly
-- budget is counted from these rows, so it holds across restarts.

ALTER TABLE subscriptions ADD COLUMN publish INTEGER NOT NULL DEFAULT 0;

CREATE TABLE publications (
    id INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL,
    guild_id INTEGER,
    subscription_id INTEGER REFERENCES subscriptions(id) ON DELETE SET NULL,
    delivery_id INTEGER,                 -- the outbox row whose message it is (rows are pruned)
    message_id INTEGER NOT NULL,
    key INTEGER NOT NULL,                -- 1: key points or a status, which may use the reserve
    outcome TEXT NOT NULL
        CHECK (outcome IN ('sending', 'published', 'failed', 'no_budget', 'waiting')),
    detail TEXT,                         -- what Discord said
    at INTEGER NOT NULL,                 -- when it was decided
    wait_until INTEGER                   -- Discord: no publish in the channel before then
);
CREATE INDEX publications_channel_at ON publications (channel_id, at);
CREATE INDEX publications_delivery ON publications (delivery_id);

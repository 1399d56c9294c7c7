-- Bulletin schema, version 8: a subscription's exclusions and pattern beside its keywords (NULL
-- for the subscriptions made before: none), and why a subscription was left without an update.

ALTER TABLE subscriptions ADD COLUMN exclusions TEXT;  -- comma-separated phrases, as given
ALTER TABLE subscriptions ADD COLUMN pattern TEXT;     -- one RE2 pattern, as given

-- One row per (update or edit, subscription) that a poll's routing left out, written in the
-- poll's transaction: why, and the value that decided it then (kept for the retention window).
-- Nothing is written for what a subscription gets: the outbox and the delivery history say it.
CREATE TABLE routing_decisions (
    id INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    entry_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('new', 'edited')),
    reason TEXT NOT NULL CHECK (reason IN ('mode', 'keywords', 'exclusions', 'pattern')),
    value TEXT,                          -- the filter's value then (the mode's, for 'mode')
    at INTEGER NOT NULL                  -- when the poll routed it
);
CREATE INDEX routing_decisions_entry ON routing_decisions (source_id, entry_id);
CREATE INDEX routing_decisions_at ON routing_decisions (at);

-- The newest attempt of an outbox row (what /why says of an update that went unposted).
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);

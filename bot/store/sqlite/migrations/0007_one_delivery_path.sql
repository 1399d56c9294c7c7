-- Bulletin schema, version 7: one delivery path. Every message Bulletin posts is an outbox row
-- (alerts, digests and thread starters too); every attempt is kept in a delivery history; pause
-- and failure reasons are codes, with the far end's words beside them.

-- The outbox: alerts move in (a row without a subscription), states are pending, sent, given_up.
CREATE TABLE deliveries_v7 (
    id INTEGER PRIMARY KEY,
    subscription_id INTEGER REFERENCES subscriptions(id) ON DELETE CASCADE,  -- NULL: an alert
    guild_id INTEGER REFERENCES guilds(id) ON DELETE CASCADE,  -- an alert's server (NULL: console)
    source_id INTEGER REFERENCES sources(id) ON DELETE SET NULL,
    entry_id TEXT,                       -- the entry it is about (new, edited)
    kind TEXT NOT NULL CHECK (kind IN
        ('new', 'edited', 'key_points', 'status', 'digest', 'alert', 'starter')),
    payload TEXT NOT NULL,               -- JSON: the change, the digest or the alert
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'given_up')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_reason TEXT,                    -- the code of the last failure
    last_error TEXT,                     -- its words
    message_id INTEGER,                  -- the Discord message once sent
    channel_id INTEGER,                  -- where it went
    nonce TEXT NOT NULL,                 -- deterministic, at most 25 characters
    created_at INTEGER NOT NULL,
    sent_at INTEGER,
    backfill INTEGER NOT NULL DEFAULT 0,
    batch TEXT,                          -- the nonce of the message this row was claimed for
    batch_more INTEGER NOT NULL DEFAULT 0,
    deferred INTEGER NOT NULL DEFAULT 0,
    period_end INTEGER                   -- a digest: the end of the period it closes
);

INSERT INTO deliveries_v7 (id, subscription_id, source_id, entry_id, kind, payload, state,
    attempts, next_attempt, last_error, message_id, nonce, created_at, sent_at, backfill, batch,
    batch_more, deferred)
SELECT id, subscription_id, source_id, entry_id, kind, payload,
    CASE state WHEN 'pending' THEN 'pending' WHEN 'sent' THEN 'sent' ELSE 'given_up' END,
    attempts, next_attempt, last_error, message_id, nonce, created_at, sent_at, backfill, batch,
    batch_more, deferred
FROM deliveries;

INSERT INTO deliveries_v7 (subscription_id, guild_id, source_id, kind, payload, state,
    attempts, next_attempt, last_error, message_id, nonce, created_at, sent_at)
SELECT NULL, a.guild_id, a.source_id, 'alert',
    json_object('alert', a.kind, 'url', s.url, 'reason', a.reason),
    CASE a.state WHEN 'pending' THEN 'pending' WHEN 'sent' THEN 'sent' ELSE 'given_up' END,
    a.attempts, a.next_attempt, a.last_error, a.message_id, 'a' || substr(hex(randomblob(12)), 1, 24),
    a.created_at, a.sent_at
FROM alerts a LEFT JOIN sources s ON s.id = a.source_id ORDER BY a.id;

DROP TABLE alerts;
DROP TABLE deliveries;
ALTER TABLE deliveries_v7 RENAME TO deliveries;
CREATE INDEX deliveries_pending ON deliveries (next_attempt, id) WHERE state = 'pending';
CREATE INDEX deliveries_subscription ON deliveries (subscription_id, id);
CREATE UNIQUE INDEX deliveries_digest ON deliveries (subscription_id, period_end)
    WHERE kind = 'digest';
CREATE UNIQUE INDEX deliveries_starter ON deliveries (subscription_id)
    WHERE kind = 'starter' AND state = 'pending';

-- Every attempt to deliver: what, where, when, the outcome and why (kept for the retention window).
CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER,                 -- the outbox row (it may be pruned before its history)
    subscription_id INTEGER,
    story_id INTEGER,
    guild_id INTEGER,
    channel_id INTEGER,
    kind TEXT NOT NULL,                  -- what: new, edited, key_points, status, digest, alert, starter
    source_id INTEGER,
    entry_id TEXT,
    title TEXT,                          -- the update's title, when it is about one
    at INTEGER NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'retry', 'paused', 'given_up')),
    reason TEXT,                         -- a code (a failure or a pause)
    detail TEXT,                         -- the far end's words, or a note
    message_id INTEGER,
    next_attempt INTEGER                 -- a retry: when
);
CREATE INDEX delivery_attempts_guild ON delivery_attempts (guild_id, id);
CREATE INDEX delivery_attempts_story ON delivery_attempts (story_id, id);
CREATE INDEX delivery_attempts_at ON delivery_attempts (at);

-- Pause reasons become codes; the words Discord said stay beside them.
ALTER TABLE subscriptions ADD COLUMN pause_detail TEXT;
UPDATE subscriptions SET
    pause_detail = CASE WHEN instr(pause_reason, '(') > 0 AND pause_reason LIKE '%)'
        THEN substr(pause_reason, instr(pause_reason, '(') + 1,
            length(pause_reason) - instr(pause_reason, '(') - 1)
        ELSE pause_reason END,
    pause_reason = CASE
        WHEN pause_reason LIKE 'the channel was deleted%' THEN 'channel_gone'
        WHEN pause_reason LIKE 'Discord cannot find it%' THEN 'not_found'
        ELSE 'no_permission' END
WHERE pause_reason IS NOT NULL;
UPDATE stories SET pause_reason = CASE pause_reason
        WHEN 'not in the config file any more' THEN 'config_removed'
        ELSE 'moderator' END
WHERE pause_reason IS NOT NULL OR paused_at IS NOT NULL;

-- A source's last failure: its code beside its words.
ALTER TABLE sources ADD COLUMN last_error_code TEXT;

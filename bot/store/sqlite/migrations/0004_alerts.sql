-- Bulletin schema, version 4: alerts for moderators (a source paused after failures, resumed).

-- One row per audience: guild_id NULL is the operator of the config's stories (the console);
-- a guild gets its own row for each of its stories' sources. Written in the transaction that
-- pauses or resumes the source, so each is told exactly once.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    source_id INTEGER REFERENCES sources(id) ON DELETE CASCADE,
    guild_id INTEGER REFERENCES guilds(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('source_paused', 'source_resumed')),
    reason TEXT,                         -- the error that paused it
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'undeliverable')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_error TEXT,
    message_id INTEGER,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX alerts_pending ON alerts (next_attempt, id) WHERE state = 'pending';

-- Bulletin schema, version 2: servers' settings, subscriptions, the outbox, posted messages.

CREATE TABLE guild_settings (
    guild_id INTEGER PRIMARY KEY REFERENCES guilds(id) ON DELETE CASCADE,
    alerts_channel_id INTEGER,           -- NULL: the server's system channel
    settings TEXT NOT NULL DEFAULT '{}'  -- JSON object for later settings
);

CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY,
    story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    guild_id INTEGER REFERENCES guilds(id) ON DELETE CASCADE,  -- NULL: console
    target TEXT NOT NULL DEFAULT 'discord' CHECK (target IN ('discord', 'console')),
    channel_id INTEGER,                  -- NULL for the console
    mode TEXT NOT NULL DEFAULT 'updates' CHECK (mode IN ('updates', 'key-points', 'digest')),
    every INTEGER,                       -- digest period, seconds
    mention_role_id INTEGER,
    keywords TEXT,                       -- comma-separated phrases, as given
    thread INTEGER NOT NULL DEFAULT 0,
    thread_id INTEGER,                   -- the story's thread once created
    paused_at INTEGER,                   -- e.g. 403/404 from Discord; /subscribe again resumes
    pause_reason TEXT,
    last_digest_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX subscriptions_target ON subscriptions (story_id, target, ifnull(channel_id, -1));
CREATE INDEX subscriptions_guild ON subscriptions (guild_id);

-- The outbox: written in the poll's transaction, then sent; id order is the order of changes.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    source_id INTEGER REFERENCES sources(id) ON DELETE SET NULL,
    entry_id TEXT,                       -- the entry it is about (new, edited)
    kind TEXT NOT NULL CHECK (kind IN ('new', 'edited', 'key_points', 'status')),
    payload TEXT NOT NULL,               -- JSON of the change
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'failed', 'undeliverable')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_error TEXT,
    message_id INTEGER,                  -- the Discord message once sent
    nonce TEXT NOT NULL,                 -- deterministic, at most 25 characters
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX deliveries_pending ON deliveries (next_attempt, id) WHERE state = 'pending';
CREATE INDEX deliveries_subscription ON deliveries (subscription_id, id);

-- Messages posted, to edit them in place.
CREATE TABLE posted_messages (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER REFERENCES deliveries(id) ON DELETE SET NULL,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    source_id INTEGER,
    entry_id TEXT,
    channel_id INTEGER,
    message_id INTEGER NOT NULL,
    posted_at INTEGER NOT NULL,
    edited_at INTEGER,
    digest INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX posted_messages_entry ON posted_messages (source_id, entry_id);
CREATE INDEX posted_messages_delivery ON posted_messages (delivery_id);

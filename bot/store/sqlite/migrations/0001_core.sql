-- Bulletin schema, version 1: what polling keeps.
-- Times are INTEGER microseconds since 1970-01-01 UTC; JSON columns hold text.

CREATE TABLE guilds (
    id INTEGER PRIMARY KEY,              -- the Discord guild (server) id
    joined_at INTEGER NOT NULL,
    left_at INTEGER                      -- set when the bot leaves; deleted 7 days later
);

CREATE TABLE stories (
    id INTEGER PRIMARY KEY,
    guild_id INTEGER REFERENCES guilds(id) ON DELETE CASCADE,  -- NULL: from the config file
    name TEXT NOT NULL,
    interval INTEGER,                    -- seconds asked for, NULL: the default
    paused_at INTEGER,                   -- a moderator's pause (per story, so per server)
    pause_reason TEXT,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX stories_guild_name ON stories (ifnull(guild_id, -1), name COLLATE NOCASE);

CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,            -- one row per URL, shared by every story using it
    kind TEXT CHECK (kind IN ('liveblog', 'feed', 'page')),  -- NULL: detected from content
    selectors TEXT,                      -- JSON object of CSS selectors, or NULL
    interval INTEGER NOT NULL DEFAULT 60, -- seconds: the shortest any story asked for
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    next_check INTEGER NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    auto_paused_at INTEGER,              -- paused after repeated failures; probed, then resumed
    auto_pause_reason TEXT,
    last_polled INTEGER,
    last_changed INTEGER,
    last_error TEXT,
    last_error_at INTEGER,
    status TEXT NOT NULL DEFAULT 'live' CHECK (status IN ('live', 'quiet', 'ended')),
    last_update_at INTEGER,              -- when something new last appeared
    coverage_end INTEGER,                -- the page's own end of coverage
    retention_days INTEGER,              -- seen ids kept this long past last seen; NULL: default
    baseline_at INTEGER,                 -- the first poll that found something
    created_at INTEGER NOT NULL
);
CREATE INDEX sources_next_check ON sources (next_check);

CREATE TABLE story_sources (
    story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    interval INTEGER NOT NULL,           -- what this story asked for this source
    added_at INTEGER NOT NULL,
    PRIMARY KEY (story_id, source_id)
) WITHOUT ROWID;
CREATE INDEX story_sources_source ON story_sources (source_id, story_id);

CREATE TABLE entries (
    seq INTEGER PRIMARY KEY,             -- insertion order
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    entry_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,          -- of the normalised title and text: edits
    fingerprint INTEGER NOT NULL,        -- of the raw title and text: fast "unchanged"
    title TEXT,
    text TEXT NOT NULL,
    url TEXT,
    image TEXT,
    published INTEGER,
    updated INTEGER,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,          -- refreshed at most daily (retention precision)
    posted INTEGER NOT NULL DEFAULT 0,   -- announced as new (not baseline or silent)
    edited_at INTEGER,                   -- NULL: never edited, the first words are the current
    first_title TEXT,                    -- the words as first posted, kept on the first edit
    first_text TEXT,
    UNIQUE (source_id, entry_id)
);
CREATE INDEX entries_last_seen ON entries (source_id, last_seen);
CREATE INDEX entries_first_seen ON entries (source_id, first_seen);

-- Pruned entries: a compact key of the id, so that they never come back as new.
CREATE TABLE tombstones (
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    key INTEGER NOT NULL,
    pruned_at INTEGER NOT NULL,
    PRIMARY KEY (source_id, key)
) WITHOUT ROWID;

CREATE TABLE key_points (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('summary', 'key_events')),
    items TEXT NOT NULL,                 -- JSON array: the version
    added TEXT NOT NULL,                 -- JSON array: what it added to the previous version
    removed TEXT NOT NULL,               -- JSON array: what it removed
    created_at INTEGER NOT NULL
);
CREATE INDEX key_points_source ON key_points (source_id, id);

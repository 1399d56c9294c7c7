-- Bulletin schema for PostgreSQL, version 3: what SQLite's version 9 adds. A forum
-- subscription keeps one post per story in a forum channel (`thread` is set too: the post is
-- the story's thread); `channel_name` is the channel's name when it was subscribed or last
-- renamed, so that an alert about a deleted channel can still name it.

ALTER TABLE subscriptions ADD COLUMN forum BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE subscriptions ADD COLUMN channel_name TEXT;

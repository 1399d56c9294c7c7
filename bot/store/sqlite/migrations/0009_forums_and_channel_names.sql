-- Bulletin schema, version 9: forum channels and the names of subscribed channels.
-- A forum subscription keeps one post per story in a forum channel: `thread` is set too (the
-- post is the story's thread, `thread_id`; its first message, `starter_message_id`, holds the
-- key points). `channel_name` is the channel's name when it was subscribed or last renamed, so
-- that an alert about a deleted channel can still name it (NULL for older subscriptions).

ALTER TABLE subscriptions ADD COLUMN forum INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN channel_name TEXT;

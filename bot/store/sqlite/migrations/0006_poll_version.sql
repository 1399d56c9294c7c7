-- Bulletin schema, version 6: a source's version moves with every recorded poll, so that a poll
-- planned from an older state of its source (another poll was recorded meanwhile) writes nothing.

ALTER TABLE sources ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

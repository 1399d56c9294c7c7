-- Bulletin schema, version 3: deliveries asked for by /subscribe backfill are marked as such.

ALTER TABLE deliveries ADD COLUMN backfill INTEGER NOT NULL DEFAULT 0;

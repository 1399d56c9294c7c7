-- Bulletin schema (PostgreSQL), version 3: a source's lease (SQLite's version 9). A due source
-- is claimed by one process of a fleet (FOR UPDATE SKIP LOCKED), renewed while its poll runs,
-- and taken over by another once it expires; `lease_owner` stays after the poll that held it
-- is recorded (only `lease_until` is cleared), so a late holder whose lease was taken over
-- records nothing.

ALTER TABLE sources ADD COLUMN lease_owner TEXT, ADD COLUMN lease_until BIGINT;

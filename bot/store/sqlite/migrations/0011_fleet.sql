-- Bulletin schema, version 9: a source's lease, so that in a fleet (several processes on one
-- database) a due source is polled by one process, and a process that dies gives its sources
-- up when their leases expire. `lease_owner` stays after the poll that held it is recorded
-- (only `lease_until` is cleared): a late holder whose lease was taken over records nothing.

ALTER TABLE sources ADD COLUMN lease_owner TEXT;
ALTER TABLE sources ADD COLUMN lease_until INTEGER;  -- µs; NULL or past: not leased

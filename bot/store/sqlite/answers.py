"""Unchanged polls written together on SQLite (`bot.store.answers`): one statement for all,
`UPDATE ... FROM` the rows of a JSON array, in one commit and one trip to the database thread.

The writer waits LINGER for polls to gather: the thread hands a statement over in a fraction of
a millisecond, so without it nearly every batch would hold one poll. A poll's fetch slot is
free by then; only its place among the polls in flight waits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.store.answers import Answers
from bot.store.codec import to_us
from bot.store.poll_record import PollRecord
from bot.store.sqlite.database import Database

LINGER = 0.005  # seconds

_UPDATE = (
    "UPDATE sources SET lease_until = CASE WHEN u.lease IS NULL THEN sources.lease_until END,"
    " version = sources.version + 1, last_polled = u.now, failures = 0, auto_paused_at = NULL,"
    " auto_pause_reason = NULL, last_error = NULL, last_error_code = NULL,"
    " etag = ifnull(u.etag, sources.etag),"
    " last_modified = ifnull(u.last_modified, sources.last_modified),"
    " next_check = u.next_check, status = u.status"
    " FROM (SELECT value ->> 0 AS id, value ->> 1 AS version, value ->> 2 AS now,"
    "  value ->> 3 AS etag, value ->> 4 AS last_modified, value ->> 5 AS next_check,"
    "  value ->> 6 AS status, value ->> 7 AS lease FROM json_each(?)) AS u"
    " WHERE sources.id = u.id AND sources.version = u.version"
    " AND (u.lease IS NULL OR ifnull(sources.lease_owner, u.lease) = u.lease)"
    " RETURNING sources.id"
)


def fits_json(record: PollRecord) -> bool:
    """Whether RECORD's text survives the JSON array: SQLite's JSON functions cut a string at
    U+0000, so validators holding one are written alone (a parameter binds them whole)."""
    return not any("\x00" in text for text in (record.etag, record.last_modified) if text)


class SQLiteAnswers(Answers):
    """Unchanged polls written together to DATABASE (under its lock, as every write is)."""

    def __init__(self, database: Database, *, linger: float = LINGER) -> None:
        super().__init__(linger=linger)
        self._database = database

    async def _write(self, records: Sequence[PollRecord]) -> set[int]:
        rows = json.dumps(
            [
                [
                    r.source_id,
                    r.version,
                    to_us(r.now),
                    r.etag,
                    r.last_modified,
                    to_us(r.next_check),
                    r.status.value,
                    r.lease,
                ]
                for r in records
            ]
        )
        return {row[0] for row in await self._database._query_all(_UPDATE, (rows,))}

    async def _owners(self, source_ids: Sequence[int]) -> dict[int, str | None]:
        rows = await self._database._query_all(
            "SELECT id, lease_owner FROM sources WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(source_ids)),),
        )
        return {row[0]: row[1] for row in rows}


__all__ = ["SQLiteAnswers", "fits_json"]

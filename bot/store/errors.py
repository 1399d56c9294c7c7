"""What the store raises."""

from __future__ import annotations

import sqlite3

from bot.errors import BulletinError


class StoreError(BulletinError):
    """The database cannot be used as asked (not a database, newer than this Bulletin, a row
    that does not exist, ...); the message says what to do."""


class DatabaseUnavailable(StoreError):
    """The database cannot be used just now (locked past its busy timeout, a full disk, an I/O
    error): nothing was written; the same call may succeed later."""


# What a call raises when the database, not the request, failed: ours, or SQLite's own (a lock
# held past its busy timeout, a full disk), which the SQLite backend lets through as it is.
UNAVAILABLE: tuple[type[Exception], ...] = (DatabaseUnavailable, sqlite3.OperationalError)


class StalePoll(Exception):
    """A poll was planned from a state of its source that has changed since (another poll of
    it was recorded meanwhile): nothing was written; read the state again and plan anew."""


class LeaseLost(StalePoll):
    """The poll's lease on its source was taken over by another process (it had expired: this
    one was slow or stalled): nothing was written, and planning anew would not help; the new
    holder records the source's poll."""


def refusal_of(source_id: int, lease: str | None, owner: str | None) -> StalePoll:
    """Why the source's row refused a poll's record taken under LEASE (None: not leased), the
    row's lease OWNER being as read after: its lease is another's, or its version moved."""
    if lease is not None and owner not in (None, lease):
        return LeaseLost(f"source {source_id}'s lease was taken over")
    return StalePoll(f"source {source_id} was polled meanwhile")

"""Bulletin's SQLite store: sources, stories, entries, key points, subscriptions, the outbox.

One aiosqlite connection in WAL mode (`synchronous=NORMAL`, foreign keys on). Every method
that writes does so in one transaction; `apply_poll` records a whole poll — entries, the
key-point version, fetch metadata and the outbox rows — in one, so a crash loses nothing and
duplicates nothing. A poll costs work in proportion to the snapshot and writes in proportion
to its changes: only the snapshot's ids are read (through `json_each`), never the history.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aiosqlite

from bot.diff import EntryWrite, SourceState, StoredEntry, id_key, plan, versioned_items
from bot.model import (
    Change,
    Changes,
    EditedEntry,
    KeyPointsKind,
    NewEntry,
    Snapshot,
    SourceKind,
    StatusChanged,
    StoryStatus,
)
from bot.store.codec import change_kind, change_to_json, from_us, to_us, to_us_or_none
from bot.store.delivery_state import DeliveryStateMixin
from bot.store.keywords import matches_keywords
from bot.store.migrate import LATEST, StoreError, migrate
from bot.store.records import (
    Alert,
    Delivery,
    DeliveryHealth,
    KeyPointsRecord,
    SourceRecord,
    StoredEntryRecord,
    StoryRecord,
    SubscriptionRecord,
)

__all__ = [
    "DEFAULT_RETENTION",
    "Alert",
    "Delivery",
    "DeliveryHealth",
    "KeyPointsRecord",
    "SourceRecord",
    "Store",
    "StoreError",
    "StoredEntryRecord",
    "StoryRecord",
    "SubscriptionRecord",
]

log = logging.getLogger(__name__)

DEFAULT_RETENTION = timedelta(days=30)
# last_seen is refreshed at most this often, so that an unchanged poll writes (almost) nothing;
# pruning adds it to the retention window so that nothing is pruned early.
TOUCH_EVERY = timedelta(hours=1)
GUILD_GRACE = timedelta(days=7)  # a server that removed the bot is deleted after this
MODES = ("updates", "key-points", "digest")
BACKFILL_SCAN = 500  # a backfill with keywords looks for matches among this many newest updates

# Which change kinds each subscription mode receives in the outbox. Digests are built from the
# stored entries when they are due; they get only edits, which become corrections of updates a
# digest already showed (the sink drops those of updates no digest has shown yet).
_MODE_KINDS: dict[str, frozenset[str]] = {
    "updates": frozenset({"new", "edited", "key_points", "status"}),
    "key-points": frozenset({"key_points", "status"}),
    "digest": frozenset({"edited"}),
}


class Backfill(int):
    """How many updates a backfill queued; `already`: how many of the latest it left out
    because the subscription had posted (or queued) them before."""

    already: int

    def __new__(cls, queued: int, *, already: int = 0) -> Backfill:
        made = super().__new__(cls, queued)
        made.already = already
        return made


def _now() -> datetime:
    return datetime.now(UTC)


_LIVELINESS = (StoryStatus.ENDED, StoryStatus.QUIET, StoryStatus.LIVE)


def _liveliest(statuses: Iterable[StoryStatus]) -> StoryStatus:
    return max(statuses, key=_LIVELINESS.index)


def _nonce(subscription_id: int, source_id: int, kind: str, key: str, now_us: int) -> str:
    """A deterministic nonce for one delivery (Discord allows 25 characters)."""
    raw = f"{subscription_id}:{source_id}:{kind}:{key}:{now_us}".encode("utf-8", "surrogatepass")
    return "b" + hashlib.sha256(raw).hexdigest()[:24]


def _open_hint(error: sqlite3.DatabaseError) -> str:
    """What an operator can do about an error met while opening the database."""
    text = str(error).lower()
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return " (Bulletin must be able to write the file and its folder: check [database] path)"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return " (the file is damaged: restore a backup, or move it aside to start afresh)"
    return ""


def _check_openable(path: str) -> None:
    """Refuse, with what to do, a path SQLite cannot open. Checked with plain sqlite3 first:
    when aiosqlite's very first open fails, its worker thread outlives the event loop and
    prints a traceback at exit."""
    if path == ":memory:" or path.startswith("file:"):
        return
    folder = os.path.dirname(path) or "."
    if os.path.isdir(path):
        problem = "it is a folder (check [database] path: it names a file)"
    elif not os.path.isdir(folder):
        problem = f"no such folder {folder!r} (create it, or check [database] path)"
    else:
        try:
            sqlite3.connect(path).close()  # creates an empty file, as opening would anyway
            return
        except sqlite3.Error as error:
            problem = f"{error}{_open_hint(error)}"
    raise StoreError(f"cannot open the database {path!r}: {problem}")


class Store(DeliveryStateMixin):
    """Everything Bulletin keeps. Open with `await Store.open(path)`; `await store.close()`."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._lock = asyncio.Lock()  # one transaction at a time on the shared connection

    # --- life ------------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: str | os.PathLike[str], *, migrate_to: int = LATEST) -> Store:
        """Open (creating and migrating) the database at `path`."""
        where = os.fspath(path)
        await asyncio.to_thread(_check_openable, where)
        try:
            db = await aiosqlite.connect(where, isolation_level=None)
        except sqlite3.Error as error:
            message = f"cannot open the database {where!r}: {error}{_open_hint(error)}"
            raise StoreError(message) from None
        try:
            db.row_factory = sqlite3.Row
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            await db.execute("PRAGMA busy_timeout = 5000")
            await migrate(db, target=migrate_to)
        except sqlite3.DatabaseError as error:
            await db.close()
            raise StoreError(
                f"cannot open the database {os.fspath(path)!r}: {error}{_open_hint(error)}"
            ) from None
        except BaseException:
            await db.close()
            raise
        return cls(db)

    async def close(self) -> None:
        async with self._lock:
            await self._db.close()

    async def schema_version(self) -> int:
        row = await self._query_one("PRAGMA user_version")
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                # Inside the try: a COMMIT that fails (disk full, a deferred constraint, a lock)
                # can leave the transaction open, and the next BEGIN on this shared connection
                # would then fail for good ("cannot start a transaction within a transaction").
                await self._db.commit()
            except BaseException:
                try:
                    await self._db.rollback()
                except sqlite3.Error:
                    log.exception("rollback failed after a failed transaction")
                raise

    # Reads outside a transaction take the lock too: on the shared connection they would
    # otherwise see another coroutine's uncommitted writes (e.g. outbox rows of a poll that
    # then rolls back).
    async def _query_one(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        async with self._lock:
            return await self._fetchone(sql, params)

    async def _query_all(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        async with self._lock:
            return await self._fetchall(sql, params)

    async def _fetchone(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        # One trip to the database thread, not three (execute, fetch, close): every use reads
        # at most one row (a key, LIMIT 1, an aggregate or a one-row RETURNING).
        rows = await self._db.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def _fetchall(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        return list(await self._db.execute_fetchall(sql, params))

    # --- stories and sources ---------------------------------------------------------------

    async def ensure_story(
        self,
        name: str,
        *,
        guild_id: int | None = None,
        interval: int | None = None,
        now: datetime | None = None,
    ) -> int:
        """The id of the story of that name in that server (None: the config), made if new."""
        now_us = to_us(now or _now())
        async with self._transaction() as db:
            if guild_id is not None:
                await db.execute(
                    "INSERT INTO guilds (id, joined_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                    (guild_id, now_us),
                )
            row = await self._fetchone(
                "SELECT id FROM stories WHERE ifnull(guild_id, -1) = ifnull(?, -1)"
                " AND name = ? COLLATE NOCASE",
                (guild_id, name),
            )
            if row is not None:
                if interval is not None:
                    await db.execute(
                        "UPDATE stories SET interval = ? WHERE id = ?", (interval, row["id"])
                    )
                return int(row["id"])
            cursor = await db.execute(
                "INSERT INTO stories (guild_id, name, interval, created_at) VALUES (?, ?, ?, ?)",
                (guild_id, name, interval, now_us),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    async def get_story(self, story_id: int) -> StoryRecord:
        row = await self._query_one("SELECT * FROM stories WHERE id = ?", (story_id,))
        if row is None:
            raise StoreError(f"no story with id {story_id}")
        return StoryRecord.from_row(row)

    async def stories_for_guild(self, guild_id: int | None) -> list[StoryRecord]:
        """The stories a server can see: its own and the config's (rule 9)."""
        rows = await self._query_all(
            "SELECT * FROM stories WHERE guild_id IS NULL OR guild_id = ? ORDER BY name",
            (guild_id,),
        )
        return [StoryRecord.from_row(row) for row in rows]

    async def set_story_paused(
        self, story_id: int, paused: bool, *, reason: str | None = None, now: datetime | None = None
    ) -> None:
        """A moderator's pause: this story (so this server) stops; others sharing a URL do not."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE stories SET paused_at = ?, pause_reason = ? WHERE id = ?",
                (to_us(now or _now()) if paused else None, reason if paused else None, story_id),
            )

    async def add_source(
        self,
        story_id: int,
        url: str,
        *,
        kind: SourceKind | None = None,
        selectors: Mapping[str, str] | None = None,
        interval: int = 60,
        now: datetime | None = None,
    ) -> int:
        """Attach a URL to a story. One URL is one source whatever the stories and servers
        that follow it; it is polled at the shortest interval any of them asked for."""
        now_us = to_us(now or _now())
        selectors_json = None if selectors is None else json.dumps(dict(selectors), sort_keys=True)
        async with self._transaction() as db:
            # A new source is due at once; an existing one keeps its state, and only fills in
            # a kind or selectors it did not have.
            row = await self._fetchone(
                "INSERT INTO sources (url, kind, selectors, interval, next_check, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (url) DO UPDATE SET kind = ifnull(kind, excluded.kind),"
                " selectors = ifnull(selectors, excluded.selectors)"
                " RETURNING id",
                (
                    url,
                    None if kind is None else kind.value,
                    selectors_json,
                    interval,
                    now_us,
                    now_us,
                ),
            )
            assert row is not None
            source_id = int(row["id"])
            await db.execute(
                "INSERT INTO story_sources (story_id, source_id, interval, added_at)"
                " VALUES (?, ?, ?, ?)"
                " ON CONFLICT (story_id, source_id) DO UPDATE SET interval = excluded.interval",
                (story_id, source_id, interval, now_us),
            )
            await self._refresh_interval(source_id)
            return source_id

    async def remove_source(self, story_id: int, source_id: int) -> None:
        """Detach a source from one story; the source stays for the others that use it."""
        async with self._transaction() as db:
            await db.execute(
                "DELETE FROM story_sources WHERE story_id = ? AND source_id = ?",
                (story_id, source_id),
            )
            await self._refresh_interval(source_id)

    async def _refresh_interval(self, source_id: int) -> None:
        await self._db.execute(
            "UPDATE sources SET interval = ifnull("
            " (SELECT min(interval) FROM story_sources WHERE source_id = ?), interval)"
            " WHERE id = ?",
            (source_id, source_id),
        )

    async def set_retention(self, source_id: int, days: int | None) -> None:
        """Keep this source's seen ids `days` past last seen (None: the `prune` default)."""
        if days is not None and days < 1:
            raise StoreError(f"retention must be at least 1 day, not {days}")
        async with self._transaction() as db:
            await db.execute(
                "UPDATE sources SET retention_days = ? WHERE id = ?", (days, source_id)
            )

    async def get_source(self, source_id: int) -> SourceRecord:
        row = await self._query_one("SELECT * FROM sources WHERE id = ?", (source_id,))
        if row is None:
            raise StoreError(f"no source with id {source_id}")
        return SourceRecord.from_row(row)

    async def sources_of_story(self, story_id: int) -> list[SourceRecord]:
        rows = await self._query_all(
            "SELECT s.* FROM sources s JOIN story_sources ss ON ss.source_id = s.id"
            " WHERE ss.story_id = ? ORDER BY ss.added_at, s.id",
            (story_id,),
        )
        return [SourceRecord.from_row(row) for row in rows]

    async def due_sources(self, now: datetime, limit: int) -> list[SourceRecord]:
        """Sources whose next check has come and that some active story still uses."""
        rows = await self._query_all(
            "SELECT s.* FROM sources s WHERE s.next_check <= ? AND EXISTS ("
            " SELECT 1 FROM story_sources ss JOIN stories st ON st.id = ss.story_id"
            " LEFT JOIN guilds g ON g.id = st.guild_id"
            " WHERE ss.source_id = s.id AND st.paused_at IS NULL AND g.left_at IS NULL)"
            " ORDER BY s.next_check, s.id LIMIT ?",
            (to_us(now), limit),
        )
        return [SourceRecord.from_row(row) for row in rows]

    # --- one poll --------------------------------------------------------------------------

    async def _load_state(self, source: sqlite3.Row, snapshot: Snapshot) -> _LoadedState:
        source_id = source["id"]
        ids = list(dict.fromkeys(entry.id for entry in snapshot.entries))
        rows = await self._fetchall(
            "SELECT entry_id, content_hash, fingerprint, last_seen FROM entries"
            " WHERE source_id = ? AND entry_id IN (SELECT value FROM json_each(?))",
            (source_id, json.dumps(ids)),
        )
        stored = {row[0]: StoredEntry(content_hash=row[1], fingerprint=row[2]) for row in rows}
        last_seen = {row[0]: row[3] for row in rows}
        forgotten: frozenset[str] = frozenset()
        unknown = [entry_id for entry_id in ids if entry_id not in stored]
        if unknown and source["baseline_at"] is not None:
            keys = {id_key(entry_id): entry_id for entry_id in unknown}
            found = await self._fetchall(
                "SELECT key FROM tombstones"
                " WHERE source_id = ? AND key IN (SELECT value FROM json_each(?))",
                (source_id, json.dumps(list(keys))),
            )
            forgotten = frozenset(keys[row[0]] for row in found)
        current = None
        if versioned_items(snapshot.key_points) is not None:
            row = await self._fetchone(
                "SELECT items FROM key_points WHERE source_id = ? ORDER BY id DESC LIMIT 1",
                (source_id,),
            )
            current = None if row is None else tuple(json.loads(row[0]))
        state = SourceState(
            baseline_taken=source["baseline_at"] is not None,
            entries=stored,
            forgotten=forgotten,
            key_points=current,
        )
        return _LoadedState(state, last_seen)

    async def apply_poll(
        self,
        source_id: int,
        snapshot: Snapshot,
        *,
        now: datetime,
        etag: str | None,
        last_modified: str | None,
        body_hash: str | None,
    ) -> Changes:
        """Record one successful poll and return its changes (see module docstring)."""
        now_us = to_us(now)
        async with self._transaction() as db:
            source = await self._fetchone(
                "SELECT id, baseline_at, auto_paused_at FROM sources WHERE id = ?", (source_id,)
            )
            if source is None:
                raise StoreError(f"no source with id {source_id}")
            loaded = await self._load_state(source, snapshot)
            poll = plan(loaded.state, snapshot)
            changes = poll.changes
            if any(isinstance(change, EditedEntry) for change in changes):
                changes = await self._fill_previous_words(source_id, changes)

            await self._write_entries(source_id, poll.inserts, poll.updates, now_us)
            stale = [
                entry_id
                for entry_id in poll.seen_ids
                if loaded.last_seen[entry_id] < now_us - to_us_delta(TOUCH_EVERY)
            ]
            if stale:
                await db.execute(
                    "UPDATE entries SET last_seen = ?"
                    " WHERE source_id = ? AND entry_id IN (SELECT value FROM json_each(?))",
                    (now_us, source_id, json.dumps(stale)),
                )
            if poll.key_points is not None:
                kp = poll.key_points
                await db.execute(
                    "INSERT INTO key_points (source_id, kind, items, added, removed, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        source_id,
                        kp.kind.value,
                        json.dumps(kp.items, ensure_ascii=False),
                        json.dumps(kp.added, ensure_ascii=False),
                        json.dumps(kp.removed, ensure_ascii=False),
                        now_us,
                    ),
                )

            has_new = any(isinstance(change, NewEntry) for change in changes)
            last_update = None
            if has_new:
                last_update = now_us
            elif poll.takes_baseline and poll.found_something:
                # a page added mid-story: its newest update says how lively it is
                dates = [e.entry.published for e in poll.inserts if e.entry.published]
                # a date in the future (a typo, year 9999) must not keep a story live forever
                last_update = min(to_us(max(dates)), now_us) if dates else now_us
            await db.execute(
                "UPDATE sources SET etag = ?, last_modified = ?, body_hash = ?,"
                " last_polled = ?, failures = 0, auto_paused_at = NULL, auto_pause_reason = NULL,"
                " last_error = NULL, title = ifnull(?, title),"
                " coverage_end = ifnull(?, coverage_end),"
                " baseline_at = CASE WHEN ? THEN ifnull(baseline_at, ?) ELSE baseline_at END,"
                " last_changed = CASE WHEN ? THEN ? ELSE last_changed END,"
                " last_update_at = ifnull(?, last_update_at)"
                " WHERE id = ?",
                (
                    etag,
                    last_modified,
                    body_hash,
                    now_us,
                    snapshot.title,
                    to_us_or_none(snapshot.coverage_end),
                    poll.takes_baseline and poll.found_something,
                    now_us,
                    bool(changes),
                    now_us,
                    last_update,
                    source_id,
                ),
            )
            if changes:
                await self._write_outbox(source_id, changes, now_us)
            if source["auto_paused_at"] is not None:
                await self._write_alerts(source_id, "source_resumed", None, now_us)
            return changes

    async def _fill_previous_words(self, source_id: int, changes: Changes) -> Changes:
        """Put the stored words into edits (the state is loaded without them, to stay cheap)."""
        edited_ids = [c.entry.id for c in changes if isinstance(c, EditedEntry)]
        rows = await self._fetchall(
            "SELECT entry_id, title, text FROM entries"
            " WHERE source_id = ? AND entry_id IN (SELECT value FROM json_each(?))",
            (source_id, json.dumps(edited_ids)),
        )
        words = {row[0]: (row[1], row[2]) for row in rows}
        filled: list[Change] = []
        for change in changes:
            if isinstance(change, EditedEntry):
                title, text = words[change.entry.id]
                change = replace(change, previous_title=title, previous_text=text)
            filled.append(change)
        return tuple(filled)

    async def _write_entries(
        self,
        source_id: int,
        inserts: Iterable[EntryWrite],
        updates: Iterable[EntryWrite],
        now_us: int,
    ) -> None:
        insert_rows = [
            (
                source_id,
                w.entry.id,
                w.content_hash,
                w.fingerprint,
                w.entry.title,
                w.entry.text,
                w.entry.url,
                w.entry.image,
                to_us_or_none(w.entry.published),
                to_us_or_none(w.entry.updated),
                now_us,
                now_us,
                w.posted,
            )
            for w in inserts
        ]
        if insert_rows:
            # OR IGNORE: an id that was pruned and comes back is stored again, silently
            await self._db.executemany(
                "INSERT INTO entries (source_id, entry_id, content_hash, fingerprint, title,"
                " text, url, image, published, updated, first_seen, last_seen, posted)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (source_id, entry_id) DO NOTHING",
                insert_rows,
            )
        update_rows = [
            (
                w.content_hash,
                w.fingerprint,
                w.posted,
                w.posted,
                w.posted,
                now_us,
                w.entry.title,
                w.entry.text,
                w.entry.url,
                w.entry.image,
                to_us_or_none(w.entry.published),
                to_us_or_none(w.entry.updated),
                now_us,
                source_id,
                w.entry.id,
            )
            for w in updates
        ]
        if update_rows:
            # On the first edit the words as first posted move to first_title/first_text
            # (right-hand sides see the row as it was before this UPDATE).
            await self._db.executemany(
                "UPDATE entries SET content_hash = ?, fingerprint = ?,"
                " first_title = CASE WHEN ? AND edited_at IS NULL THEN title ELSE first_title END,"
                " first_text = CASE WHEN ? AND edited_at IS NULL THEN text ELSE first_text END,"
                " edited_at = CASE WHEN ? THEN ? ELSE edited_at END,"
                " title = ?, text = ?, url = ?, image = ?, published = ?, updated = ?,"
                " last_seen = ? WHERE source_id = ? AND entry_id = ?",
                update_rows,
            )

    async def _write_outbox(
        self,
        source_id: int,
        changes: Iterable[Change],
        now_us: int,
        *,
        story_id: int | None = None,
    ) -> None:
        """One delivery per (subscription of an active story using the source, change) that
        the subscription's mode and keywords let through, in the order of the changes; with
        STORY_ID, for that story's subscriptions only.

        A subscription paused by a delivery fault (Discord's 403/404) still gets its rows: they
        wait, unsent, until `/subscribe` there again resumes it ("nothing waiting is lost")."""
        subscriptions = await self._fetchall(
            "SELECT sub.id, sub.mode, sub.keywords FROM subscriptions sub"
            " JOIN stories st ON st.id = sub.story_id"
            " JOIN story_sources ss ON ss.story_id = st.id"
            " LEFT JOIN guilds g ON g.id = sub.guild_id"  # the subscriber's server (config
            " WHERE ss.source_id = ? AND st.paused_at IS NULL"  # stories have none of their own)
            " AND g.left_at IS NULL AND (? IS NULL OR st.id = ?) ORDER BY sub.id",
            (source_id, story_id, story_id),
        )
        if not subscriptions:
            return
        rows = []
        for change in changes:
            kind = change_kind(change)
            payload = change_to_json(change)
            entry_id = change.entry.id if isinstance(change, NewEntry | EditedEntry) else None
            for sub_id, mode, keywords in subscriptions:
                if kind not in _MODE_KINDS[mode]:
                    continue
                if isinstance(change, NewEntry | EditedEntry) and not matches_keywords(
                    keywords, change.entry
                ):
                    continue
                nonce = _nonce(sub_id, source_id, kind, entry_id or payload, now_us)
                rows.append((sub_id, source_id, entry_id, kind, payload, now_us, nonce, now_us))
        if rows:
            await self._db.executemany(
                "INSERT INTO deliveries (subscription_id, source_id, entry_id, kind, payload,"
                " next_attempt, nonce, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    async def record_not_modified(
        self,
        source_id: int,
        *,
        now: datetime,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """A poll that found the source unchanged (304 or the same body): it answered.
        New validators (ETag, Last-Modified) replace the stored ones; None keeps them."""
        now_us = to_us(now)
        async with self._transaction() as db:
            row = await self._fetchone(
                "SELECT auto_paused_at FROM sources WHERE id = ?", (source_id,)
            )
            await db.execute(
                "UPDATE sources SET last_polled = ?, failures = 0, auto_paused_at = NULL,"
                " auto_pause_reason = NULL, last_error = NULL, etag = ifnull(?, etag),"
                " last_modified = ifnull(?, last_modified) WHERE id = ?",
                (now_us, etag, last_modified, source_id),
            )
            if row is not None and row[0] is not None:
                await self._write_alerts(source_id, "source_resumed", None, now_us)

    async def record_unchanged(
        self,
        source_id: int,
        *,
        now: datetime,
        next_check: datetime,
        status: StoryStatus,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> bool:
        """The common unchanged poll in one statement: it answered, same status, next check.
        Applies only to a source that is not auto-paused and whose status is STATUS already;
        returns False (nothing written) otherwise, and the caller takes the general way
        (`record_not_modified`, then `finish_poll`)."""
        async with self._lock:
            cursor = await self._db.execute(
                "UPDATE sources SET last_polled = ?, failures = 0, last_error = NULL,"
                " etag = ifnull(?, etag), last_modified = ifnull(?, last_modified),"
                " next_check = ? WHERE id = ? AND auto_paused_at IS NULL AND status = ?",
                (to_us(now), etag, last_modified, to_us(next_check), source_id, status.value),
            )
            return cursor.rowcount > 0

    async def record_failure(
        self, source_id: int, *, now: datetime, error: str, pause_after: int
    ) -> SourceRecord:
        """One more failure; the source is paused automatically at `pause_after` in a row."""
        now_us = to_us(now)
        async with self._transaction() as db:
            before = await self._fetchone(
                "SELECT auto_paused_at FROM sources WHERE id = ?", (source_id,)
            )
            was_paused = None if before is None else before[0]
            await db.execute(
                "UPDATE sources SET failures = failures + 1, last_polled = ?, last_error = ?,"
                " last_error_at = ?,"
                " auto_paused_at = CASE WHEN failures + 1 >= ? AND auto_paused_at IS NULL"
                "  THEN ? ELSE auto_paused_at END,"
                " auto_pause_reason = CASE WHEN failures + 1 >= ? AND auto_paused_at IS NULL"
                "  THEN ? ELSE auto_pause_reason END"
                " WHERE id = ?",
                (now_us, error, now_us, pause_after, now_us, pause_after, error, source_id),
            )
            row = await self._fetchone("SELECT * FROM sources WHERE id = ?", (source_id,))
            if row is not None and was_paused is None and row["auto_paused_at"] is not None:
                # paused by this very failure: told once, in the same transaction
                await self._write_alerts(source_id, "source_paused", error, now_us)
        if row is None:
            raise StoreError(f"no source with id {source_id}")
        return SourceRecord.from_row(row)

    async def _write_alerts(
        self, source_id: int, kind: str, reason: str | None, now_us: int
    ) -> None:
        """One alert per audience of the source: each server whose active stories use it, and
        the console (guild NULL) when a config story does."""
        await self._db.execute(
            "INSERT INTO alerts (source_id, guild_id, kind, reason, next_attempt, created_at)"
            " SELECT DISTINCT ?, st.guild_id, ?, ?, ?, ? FROM story_sources ss"
            " JOIN stories st ON st.id = ss.story_id LEFT JOIN guilds g ON g.id = st.guild_id"
            " WHERE ss.source_id = ? AND g.left_at IS NULL",
            (source_id, kind, reason, now_us, now_us, source_id),
        )

    async def finish_poll(
        self,
        source_id: int,
        *,
        now: datetime,
        next_check: datetime,
        status: StoryStatus | None = None,
        announce: bool = True,
    ) -> StatusChanged | None:
        """Schedule the next check; a new status of the source is returned (None when none or
        announce=False: stored silently, as after a baseline poll).

        What is delivered is the status of each story using the source: the liveliest of its
        sources (those not paused by failures), so a story whose feed went stale while its live
        page still runs is not announced as ended, and a story of two sources that end together
        is announced once."""
        now_us = to_us(now)
        async with self._transaction() as db:
            row = await self._fetchone("SELECT status FROM sources WHERE id = ?", (source_id,))
            if row is None:
                raise StoreError(f"no source with id {source_id}")
            previous = StoryStatus(row[0])
            change = None
            if status is not None and status != previous:
                change = StatusChanged(status=status, previous=previous)
            await db.execute(
                "UPDATE sources SET next_check = ?, status = ? WHERE id = ?",
                (to_us(next_check), (status or previous).value, source_id),
            )
            if change is not None and announce:
                for story_id, story_change in await self._story_status_changes(
                    source_id, previous, change.status
                ):
                    await self._write_outbox(source_id, (story_change,), now_us, story_id=story_id)
            return change if announce else None

    async def _story_status_changes(
        self, source_id: int, before: StoryStatus, after: StoryStatus
    ) -> list[tuple[int, StatusChanged]]:
        """(story id, change) for each story using SOURCE_ID whose status moves when this
        source's goes from BEFORE to AFTER."""
        rows = await self._fetchall(
            "SELECT ss.story_id, s.id, s.status, s.auto_paused_at IS NOT NULL"
            " FROM story_sources mine JOIN story_sources ss ON ss.story_id = mine.story_id"
            " JOIN sources s ON s.id = ss.source_id WHERE mine.source_id = ?",
            (source_id,),
        )
        others: dict[int, list[tuple[StoryStatus, bool]]] = {}
        for story_id, other_id, status, paused in rows:
            others.setdefault(story_id, [])
            if other_id != source_id:
                others[story_id].append((StoryStatus(status), bool(paused)))
        changes = []
        for story_id, statuses in others.items():
            # sources paused by failures say nothing of the story, unless all of them are
            active = [status for status, paused in statuses if not paused]
            was = _liveliest([before, *active])
            now_is = _liveliest([after, *active])
            if was != now_is:
                changes.append((story_id, StatusChanged(status=now_is, previous=was)))
        return changes

    async def prune(self, now: datetime, retention: timedelta = DEFAULT_RETENTION) -> int:
        """Forget entries not seen for the retention window (a source's own, else `retention`),
        keeping a tombstone (a 63-bit key of the id) so that they never come back as new.
        Tombstones are kept for good: about 30 bytes each, probed only for unknown ids. Also
        drops delivered outbox rows (and the record of what their messages showed) older than
        the window, and servers gone for 7 days.
        Returns the number of entries pruned."""
        now_us = to_us(now)
        slack = to_us_delta(TOUCH_EVERY)
        default_us = to_us_delta(retention)
        async with self._transaction() as db:
            expired = await self._fetchall(
                "SELECT e.seq, e.source_id, e.entry_id"
                " FROM entries e JOIN sources s ON s.id = e.source_id"
                " WHERE e.last_seen < ? - ifnull(s.retention_days * 86400000000, ?) - ?",
                (now_us, default_us, slack),
            )
            tombstones = [(row[1], id_key(row[2]), now_us) for row in expired]
            await db.executemany(
                "INSERT INTO tombstones (source_id, key, pruned_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                tombstones,
            )
            await db.execute(
                "DELETE FROM entries WHERE seq IN (SELECT value FROM json_each(?))",
                (json.dumps([row[0] for row in expired]),),
            )
            pruned = len(expired)
            await db.execute(
                "DELETE FROM deliveries WHERE state IN ('sent', 'undeliverable')"
                " AND created_at < ?",
                (now_us - default_us,),
            )
            await db.execute(
                "DELETE FROM alerts WHERE state != 'pending' AND created_at < ?",
                (now_us - default_us,),
            )
            # what a message showed, for edits: those older than the window get no correction
            await db.execute(
                "DELETE FROM posted_messages WHERE posted_at < ?", (now_us - default_us,)
            )
            await db.execute(
                "DELETE FROM guilds WHERE left_at IS NOT NULL AND left_at < ?",
                (now_us - to_us_delta(GUILD_GRACE),),
            )
        log.info("pruned %d entries", pruned)
        return pruned

    # --- reading what the commands show -----------------------------------------------------

    async def latest_entries(self, story_id: int, limit: int = 5) -> list[StoredEntryRecord]:
        """The newest entries of a story's sources, newest first."""
        rows = await self._query_all(
            "SELECT e.* FROM entries e JOIN story_sources ss ON ss.source_id = e.source_id"
            " WHERE ss.story_id = ?"
            " ORDER BY ifnull(e.published, e.first_seen) DESC, e.seq DESC LIMIT ?",
            (story_id, limit),
        )
        return [StoredEntryRecord.from_row(row) for row in rows]

    async def entries_since(self, story_id: int, since: datetime) -> list[StoredEntryRecord]:
        """Entries of a story first seen after `since`, oldest first (digests)."""
        rows = await self._query_all(
            "SELECT e.* FROM entries e JOIN story_sources ss ON ss.source_id = e.source_id"
            " WHERE ss.story_id = ? AND e.first_seen > ? AND e.posted"
            " ORDER BY e.first_seen, ifnull(e.published, 0), e.seq",
            (story_id, to_us(since)),
        )
        return [StoredEntryRecord.from_row(row) for row in rows]

    async def get_entry(self, source_id: int, entry_id: str) -> StoredEntryRecord | None:
        row = await self._query_one(
            "SELECT * FROM entries WHERE source_id = ? AND entry_id = ?", (source_id, entry_id)
        )
        return None if row is None else StoredEntryRecord.from_row(row)

    async def current_key_points(self, story_id: int) -> list[KeyPointsRecord]:
        """The current key-point version of each source of a story, and when it changed."""
        rows = await self._query_all(
            "SELECT s.id, s.url, k.kind, k.items, k.created_at FROM story_sources ss"
            " JOIN sources s ON s.id = ss.source_id"
            " JOIN key_points k ON k.id ="
            "  (SELECT max(id) FROM key_points WHERE source_id = s.id)"
            " WHERE ss.story_id = ? ORDER BY ss.added_at, s.id",
            (story_id,),
        )
        return [
            KeyPointsRecord(
                source_id=row[0],
                source_url=row[1],
                kind=KeyPointsKind(row[2]),
                items=tuple(json.loads(row[3])),
                changed_at=_required(from_us(row[4])),
            )
            for row in rows
        ]

    # --- what the slash commands need --------------------------------------------------------

    async def count_guild_sources(self, guild_id: int) -> int:
        """How many (story, source) links a server's own stories hold (its source quota)."""
        row = await self._query_one(
            "SELECT count(*) FROM story_sources ss JOIN stories st ON st.id = ss.story_id"
            " WHERE st.guild_id = ?",
            (guild_id,),
        )
        return int(row[0]) if row else 0

    async def delete_story(self, story_id: int) -> None:
        """Remove a story with its subscriptions and pending deliveries; its sources stay for
        the other stories that use them (a source no story uses is no longer polled)."""
        async with self._transaction() as db:
            sources = await self._fetchall(
                "SELECT source_id FROM story_sources WHERE story_id = ?", (story_id,)
            )
            await db.execute("DELETE FROM stories WHERE id = ?", (story_id,))
            for row in sources:
                await self._refresh_interval(row[0])

    async def enqueue_backfill(
        self, subscription_id: int, count: int, *, now: datetime
    ) -> Backfill:
        """Queue the story's `count` newest stored entries (that match the subscription's
        keywords) for one subscription, oldest first, as new-entry deliveries marked
        `backfill`, leaving out those it posted or queued already; the number queued."""
        if count <= 0:
            return Backfill(0)
        now_us = to_us(now)
        async with self._transaction() as db:
            sub = await self._fetchone(
                "SELECT story_id, keywords FROM subscriptions WHERE id = ?", (subscription_id,)
            )
            if sub is None:
                raise StoreError(f"no subscription with id {subscription_id}")
            # with keywords, the newest matching updates among the latest BACKFILL_SCAN
            rows = await self._fetchall(
                "SELECT e.* FROM entries e JOIN story_sources ss ON ss.source_id = e.source_id"
                " WHERE ss.story_id = ?"
                " ORDER BY ifnull(e.published, e.first_seen) DESC, e.seq DESC LIMIT ?",
                (sub[0], BACKFILL_SCAN if sub[1] else count),
            )
            newest = [StoredEntryRecord.from_row(row) for row in rows]
            matching = [r for r in newest if matches_keywords(sub[1], r.entry)][:count]
            # each update once: those this subscription has posted (or queued) already stay out
            shown = {
                (row[0], row[1])
                for row in await self._fetchall(
                    "SELECT source_id, entry_id FROM deliveries"
                    " WHERE subscription_id = ? AND kind = 'new'",
                    (subscription_id,),
                )
            }
            records = [r for r in reversed(matching) if (r.source_id, r.entry.id) not in shown]
            deliveries = []
            for record in records:
                change = NewEntry(record.entry)
                payload = change_to_json(change)
                nonce = _nonce(
                    subscription_id, record.source_id, "backfill", record.entry.id, now_us
                )
                deliveries.append(
                    (
                        subscription_id,
                        record.source_id,
                        record.entry.id,
                        payload,
                        now_us,
                        nonce,
                        now_us,
                    )
                )
            await db.executemany(
                "INSERT INTO deliveries (subscription_id, source_id, entry_id, kind, payload,"
                " next_attempt, nonce, created_at, backfill)"
                " VALUES (?, ?, ?, 'new', ?, ?, ?, ?, 1)",
                deliveries,
            )
            return Backfill(len(deliveries), already=len(matching) - len(records))

    async def delivery_health(self, guild_id: int) -> dict[int, DeliveryHealth]:
        """Per subscription of a server with trouble: deliveries waiting for a retry after a
        failure, deliveries given up, and the newest error."""
        rows = await self._query_all(
            "SELECT d.subscription_id,"
            " sum(d.state = 'pending' AND d.attempts > 0),"
            " sum(d.state = 'undeliverable'),"
            " (SELECT e.last_error FROM deliveries e WHERE e.subscription_id = d.subscription_id"
            "  AND e.last_error IS NOT NULL ORDER BY e.id DESC LIMIT 1)"
            " FROM deliveries d JOIN subscriptions sub ON sub.id = d.subscription_id"
            " WHERE sub.guild_id = ? AND (d.state = 'undeliverable'"
            "  OR (d.state = 'pending' AND d.attempts > 0))"
            " GROUP BY d.subscription_id",
            (guild_id,),
        )
        return {
            row[0]: DeliveryHealth(
                subscription_id=row[0],
                retrying=int(row[1] or 0),
                undeliverable=int(row[2] or 0),
                last_error=row[3],
            )
            for row in rows
        }

    # --- servers ----------------------------------------------------------------------------

    async def guild_joined(self, guild_id: int, *, now: datetime) -> None:
        """The bot is in this server (again): it is kept, whatever it left before."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO guilds (id, joined_at) VALUES (?, ?)"
                " ON CONFLICT (id) DO UPDATE SET left_at = NULL",
                (guild_id, to_us(now)),
            )

    async def present_guilds(self) -> list[int]:
        """The servers the store believes the bot is in (not left)."""
        rows = await self._query_all("SELECT id FROM guilds WHERE left_at IS NULL ORDER BY id")
        return [row[0] for row in rows]

    async def guild_left(self, guild_id: int, *, now: datetime) -> None:
        """The bot left this server: its data goes 7 days later (prune) unless it returns."""
        async with self._transaction() as db:
            await db.execute("UPDATE guilds SET left_at = ? WHERE id = ?", (to_us(now), guild_id))

    async def set_alerts_channel(self, guild_id: int, channel_id: int | None) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO guilds (id, joined_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                (guild_id, to_us(_now())),
            )
            await db.execute(
                "INSERT INTO guild_settings (guild_id, alerts_channel_id) VALUES (?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE"
                " SET alerts_channel_id = excluded.alerts_channel_id",
                (guild_id, channel_id),
            )

    async def alerts_channel(self, guild_id: int) -> int | None:
        row = await self._query_one(
            "SELECT alerts_channel_id FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        return None if row is None else row[0]

    # --- subscriptions and the outbox -------------------------------------------------------

    async def subscribe(
        self,
        story_id: int,
        *,
        guild_id: int | None,
        channel_id: int | None,
        mode: str = "updates",
        every: int | None = None,
        mention_role_id: int | None = None,
        keywords: str | None = None,
        thread: bool = False,
        target: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Subscribe a channel (or the console: channel_id None) to a story. Subscribing again
        changes the subscription and resumes it if it was paused."""
        if mode not in MODES:
            raise StoreError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        target = target or ("console" if channel_id is None else "discord")
        now_us = to_us(now or _now())
        async with self._transaction() as db:
            if guild_id is not None:
                await db.execute(
                    "INSERT INTO guilds (id, joined_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                    (guild_id, now_us),
                )
            row = await self._fetchone(
                "INSERT INTO subscriptions (story_id, guild_id, target, channel_id, mode, every,"
                " mention_role_id, keywords, thread, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (story_id, target, ifnull(channel_id, -1)) DO UPDATE SET"
                " mode = excluded.mode, every = excluded.every,"
                " mention_role_id = excluded.mention_role_id, keywords = excluded.keywords,"
                " thread = excluded.thread, paused_at = NULL, pause_reason = NULL,"
                # a switch to digests starts the first period now, not at the subscription's
                # creation (what came before was posted as it came)
                " last_digest_at = CASE WHEN subscriptions.mode != 'digest'"
                "  AND excluded.mode = 'digest' THEN excluded.created_at"
                "  ELSE subscriptions.last_digest_at END"
                " RETURNING id",
                (
                    story_id,
                    guild_id,
                    target,
                    channel_id,
                    mode,
                    every,
                    mention_role_id,
                    keywords,
                    thread,
                    now_us,
                ),
            )
            assert row is not None
            return int(row[0])

    async def unsubscribe(self, story_id: int, *, channel_id: int | None) -> bool:
        """Remove the subscription of that story in that channel; False when there was none."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM subscriptions WHERE story_id = ? AND ifnull(channel_id, -1) ="
                " ifnull(?, -1)",
                (story_id, channel_id),
            )
            return cursor.rowcount > 0

    async def subscriptions(
        self, *, guild_id: int | None = None, story_id: int | None = None
    ) -> list[SubscriptionRecord]:
        """Subscriptions of a server and/or a story (both None: all)."""
        rows = await self._query_all(
            "SELECT * FROM subscriptions WHERE (? IS NULL OR guild_id = ?)"
            " AND (? IS NULL OR story_id = ?) ORDER BY id",
            (guild_id, guild_id, story_id, story_id),
        )
        return [SubscriptionRecord.from_row(row) for row in rows]

    async def pause_subscription(self, subscription_id: int, *, reason: str, now: datetime) -> None:
        """Stop delivering to a subscription (e.g. Discord said 403/404)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE subscriptions SET paused_at = ?, pause_reason = ? WHERE id = ?",
                (to_us(now), reason, subscription_id),
            )

    async def set_thread(self, subscription_id: int, thread_id: int | None) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE subscriptions SET thread_id = ? WHERE id = ?", (thread_id, subscription_id)
            )

    async def pending_deliveries(
        self, now: datetime, limit: int = 100, *, targets: Iterable[str] | None = None
    ) -> list[Delivery]:
        """Deliveries due now, in the order their changes were made. A subscription whose
        earlier delivery waits for a retry gets nothing later until it has gone. TARGETS
        ('discord', 'console') keeps only those a running sink can send."""
        now_us = to_us(now)
        wanted = None if targets is None else json.dumps(sorted(targets))
        rows = await self._query_all(
            "SELECT d.*, sub.story_id, st.name AS story_name, sub.guild_id, sub.target,"
            " sub.channel_id, sub.thread, sub.thread_id, sub.mention_role_id, sub.mode,"
            " sub.keywords, src.url AS source_url"
            " FROM deliveries d JOIN subscriptions sub ON sub.id = d.subscription_id"
            " JOIN stories st ON st.id = sub.story_id"
            " LEFT JOIN sources src ON src.id = d.source_id"
            " WHERE d.state = 'pending' AND d.next_attempt <= ? AND sub.paused_at IS NULL"
            " AND (? IS NULL OR sub.target IN (SELECT value FROM json_each(?)))"
            " AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.subscription_id ="
            "  d.subscription_id AND e.state = 'pending' AND e.id < d.id AND e.next_attempt > ?"
            "  AND NOT e.deferred)"
            " ORDER BY d.id LIMIT ?",
            (now_us, wanted, wanted, now_us, limit),
        )
        return [Delivery.from_row(row) for row in rows]

    async def mark_sent(
        self,
        delivery_id: int,
        message_id: int | None,
        *,
        now: datetime,
        channel_id: int | None = None,
        digest: bool = False,
    ) -> None:
        """The delivery went out (as `message_id`, to edit it later; None for the console)."""
        now_us = to_us(now)
        async with self._transaction() as db:
            row = await self._fetchone(
                "UPDATE deliveries SET state = 'sent', message_id = ?, sent_at = ?,"
                " attempts = attempts + 1, last_error = NULL WHERE id = ?"
                " RETURNING subscription_id, source_id, entry_id",
                (message_id, now_us, delivery_id),
            )
            if row is None:
                raise StoreError(f"no delivery with id {delivery_id}")
            if message_id is not None:
                await db.execute(
                    "INSERT INTO posted_messages (delivery_id, subscription_id, source_id,"
                    " entry_id, channel_id, message_id, posted_at, digest)"
                    " SELECT ?, ?, ?, ?, ifnull(?, ifnull(thread_id, channel_id)), ?, ?, ?"
                    " FROM subscriptions WHERE id = ?",
                    (
                        delivery_id,
                        row[0],
                        row[1],
                        row[2],
                        channel_id,
                        message_id,
                        now_us,
                        digest,
                        row[0],
                    ),
                )

    async def mark_retry(self, delivery_id: int, *, error: str, next_attempt: datetime) -> None:
        """The send failed for now: try again at `next_attempt`."""
        await self._retry_later("deliveries", delivery_id, error, next_attempt)

    async def mark_undeliverable(self, delivery_id: int, *, error: str) -> None:
        """The send can never succeed (kept, not dropped, for /subscriptions to show)."""
        await self._give_up("deliveries", delivery_id, error)

    async def _retry_later(
        self, table: str, row_id: int, error: str, next_attempt: datetime
    ) -> None:
        """Shared by the outbox and the alerts: one more failed attempt, next try later."""
        async with self._transaction() as db:
            await db.execute(
                f"UPDATE {table} SET attempts = attempts + 1, last_error = ?,"  # noqa: S608 - our table names
                " next_attempt = ? WHERE id = ? AND state = 'pending'",
                (error, to_us(next_attempt), row_id),
            )

    async def _give_up(self, table: str, row_id: int, error: str) -> None:
        """Shared by the outbox and the alerts: kept as undeliverable, never dropped."""
        async with self._transaction() as db:
            await db.execute(
                f"UPDATE {table} SET state = 'undeliverable', attempts = attempts + 1,"  # noqa: S608
                " last_error = ? WHERE id = ?",
                (error, row_id),
            )

    async def posted_message(
        self, subscription_id: int, source_id: int, entry_id: str
    ) -> tuple[int, int | None, datetime, bool] | None:
        """(message id, channel id, posted at, digest) of the message that showed an entry
        to a subscription, to edit it in place; None when there is none."""
        row = await self._query_one(
            "SELECT message_id, channel_id, posted_at, digest FROM posted_messages"
            " WHERE subscription_id = ? AND source_id = ? AND entry_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (subscription_id, source_id, entry_id),
        )
        if row is None:
            return None
        return row[0], row[1], _required(from_us(row[2])), bool(row[3])

    async def pending_alerts(
        self, now: datetime, limit: int = 100, *, console: bool = True, guilds: bool = True
    ) -> list[Alert]:
        """Alerts due now, oldest first: those for the console (guild NULL) and/or servers."""
        rows = await self._query_all(
            "SELECT a.*, s.url AS source_url FROM alerts a LEFT JOIN sources s"
            " ON s.id = a.source_id WHERE a.state = 'pending' AND a.next_attempt <= ?"
            " AND ((? AND a.guild_id IS NULL) OR (? AND a.guild_id IS NOT NULL))"
            " ORDER BY a.id LIMIT ?",
            (to_us(now), console, guilds, limit),
        )
        return [Alert.from_row(row) for row in rows]

    async def mark_alert_sent(
        self, alert_id: int, message_id: int | None = None, *, now: datetime
    ) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE alerts SET state = 'sent', message_id = ?, sent_at = ?,"
                " attempts = attempts + 1, last_error = NULL WHERE id = ?",
                (message_id, to_us(now), alert_id),
            )

    async def mark_alert_retry(self, alert_id: int, *, error: str, next_attempt: datetime) -> None:
        await self._retry_later("alerts", alert_id, error, next_attempt)

    async def mark_alert_undeliverable(self, alert_id: int, *, error: str) -> None:
        await self._give_up("alerts", alert_id, error)


class _LoadedState:
    __slots__ = ("last_seen", "state")

    def __init__(self, state: SourceState, last_seen: dict[str, int]) -> None:
        self.state = state
        self.last_seen = last_seen


def to_us_delta(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def _required(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment

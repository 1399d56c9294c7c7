"""Polls in SQLite: which sources are due, what a poll's diff needs, and recording a poll.

A poll costs work in proportion to the snapshot and writes in proportion to its changes: only
the snapshot's ids are read (through `json_each`), never the history. The common unchanged
poll is one statement.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

import aiosqlite

from bot.diff import EntryWrite, SourceState, StoredEntry, id_key, versioned_items
from bot.model import (
    AlertContent,
    AlertKind,
    Change,
    EditedEntry,
    Mode,
    NewEntry,
    Snapshot,
    StoryStatus,
)
from bot.store.answers import combinable
from bot.store.codec import alert_to_json, change_kind, change_to_json, to_us, to_us_or_none
from bot.store.errors import StalePoll, StoreError
from bot.store.interface import PollsStore
from bot.store.poll_record import (
    PollOutcome,
    PollRecord,
    PollState,
    Routed,
    SiblingSource,
    Subscriber,
)
from bot.store.records import SourceRecord
from bot.store.rules import TOUCH_EVERY, outbox_nonce, us
from bot.store.sqlite.answers import SQLiteAnswers, fits_json
from bot.store.sqlite.database import Database
from bot.store.sqlite.leases import refusal, under_lease
from bot.store.trail import LeftOut

_TOUCH_EVERY_US = us(TOUCH_EVERY)


def _ids(ids: Sequence[str]) -> tuple[str, list[str]]:
    """IDS as the JSON array `json_each` reads, and those it cannot: json_each cuts a string at
    U+0000, so an id holding one is looked up on its own (`entry_id = ?` binds it whole)."""
    odd = [entry_id for entry_id in ids if "\x00" in entry_id]
    plain = [entry_id for entry_id in ids if "\x00" not in entry_id] if odd else ids
    return json.dumps(list(plain)), odd


def _writes_nothing_but_the_source(record: PollRecord) -> bool:
    plan = record.plan
    return plan is None or not (plan.inserts or plan.updates or plan.key_points or record.touch)


class Polls(Database, PollsStore):
    _answers: SQLiteAnswers | None = None  # unchanged polls written together (made when first used)

    async def close(self) -> None:
        if self._answers is not None:
            await self._answers.close()
        await super().close()

    async def due_sources(
        self, now: datetime, limit: int, *, after: tuple[datetime, int] | None = None
    ) -> list[SourceRecord]:
        # (next_check, id) is the order of the index sources_next_check (id is the rowid)
        start, start_id = (to_us(after[0]), after[1]) if after is not None else (-(2**63), 0)
        rows = await self._query_all(
            "SELECT s.* FROM sources s WHERE s.next_check <= ? AND s.next_check >= ?"
            " AND (s.next_check > ? OR s.id > ?) AND EXISTS ("
            " SELECT 1 FROM story_sources ss JOIN stories st ON st.id = ss.story_id"
            " LEFT JOIN guilds g ON g.id = st.guild_id"
            # an active story: not paused by a moderator, its server (if any) not left
            " WHERE ss.source_id = s.id AND st.paused_at IS NULL AND g.left_at IS NULL)"
            " ORDER BY s.next_check, s.id LIMIT ?",
            (to_us(now), start, start, start_id, limit),
        )
        return [SourceRecord.from_row(row) for row in rows]

    async def poll_state(self, source_id: int, snapshot: Snapshot, *, now: datetime) -> PollState:
        touch_before = to_us(now) - _TOUCH_EVERY_US
        async with self._reading():
            row = await self._fetchone("SELECT * FROM sources WHERE id = ?", (source_id,))
            if row is None:
                raise StoreError(f"no source with id {source_id}")
            source = SourceRecord.from_row(row)
            ids = list(dict.fromkeys(entry.id for entry in snapshot.entries))
            plain, odd = _ids(ids)
            rows = await self._fetchall(
                "SELECT entry_id, content_hash, fingerprint, last_seen FROM entries"
                " WHERE source_id = ? AND entry_id IN (SELECT value FROM json_each(?))",
                (source_id, plain),
            )
            for entry_id in odd:
                rows += await self._fetchall(
                    "SELECT entry_id, content_hash, fingerprint, last_seen FROM entries"
                    " WHERE source_id = ? AND entry_id = ?",
                    (source_id, entry_id),
                )
            stored = {row[0]: StoredEntry(content_hash=row[1], fingerprint=row[2]) for row in rows}
            # last_seen is refreshed at most hourly, so an unchanged poll writes (almost) nothing
            touch_due = frozenset(row[0] for row in rows if row[3] < touch_before)
            forgotten: frozenset[str] = frozenset()
            unknown = [entry_id for entry_id in ids if entry_id not in stored]
            if unknown and source.baseline_at is not None:
                keys = {id_key(entry_id): entry_id for entry_id in unknown}
                found = await self._fetchall(
                    "SELECT key FROM tombstones"
                    " WHERE source_id = ? AND key IN (SELECT value FROM json_each(?))",
                    (source_id, json.dumps(list(keys))),
                )
                forgotten = frozenset(keys[row[0]] for row in found)
            current = None
            if versioned_items(snapshot.key_points) is not None:
                kp = await self._fetchone(
                    "SELECT items FROM key_points WHERE source_id = ? ORDER BY id DESC LIMIT 1",
                    (source_id,),
                )
                current = None if kp is None else tuple(json.loads(kp[0]))
        state = SourceState(
            baseline_taken=source.baseline_at is not None,
            entries=stored,
            forgotten=forgotten,
            key_points=current,
        )
        return PollState(source=source, entries=state, touch_due=touch_due)

    async def entry_words(
        self, source_id: int, entry_ids: Sequence[str]
    ) -> dict[str, tuple[str | None, str]]:
        plain, odd = _ids(entry_ids)
        async with self._reading():
            rows = await self._fetchall(
                "SELECT entry_id, title, text FROM entries"
                " WHERE source_id = ? AND entry_id IN (SELECT value FROM json_each(?))",
                (source_id, plain),
            )
            for entry_id in odd:
                rows += await self._fetchall(
                    "SELECT entry_id, title, text FROM entries"
                    " WHERE source_id = ? AND entry_id = ?",
                    (source_id, entry_id),
                )
        return {row[0]: (row[1], row[2]) for row in rows}

    async def subscribers(self, source_id: int) -> list[Subscriber]:
        # A subscription paused by a delivery fault (Discord's 403/404) still gets its rows:
        # they wait, unsent, until `/subscribe` there again resumes it ("nothing is lost").
        rows = await self._query_all(
            "SELECT sub.id, sub.story_id, sub.mode, sub.keywords, sub.exclusions, sub.pattern"
            " FROM subscriptions sub"
            " JOIN stories st ON st.id = sub.story_id"
            " JOIN story_sources ss ON ss.story_id = st.id"
            " LEFT JOIN guilds g ON g.id = sub.guild_id"  # the subscriber's server (config
            " WHERE ss.source_id = ? AND st.paused_at IS NULL"  # stories have none of their own)
            " AND g.left_at IS NULL"
            " ORDER BY sub.id",
            (source_id,),
        )
        return [Subscriber(row[0], row[1], Mode(row[2]), row[3], row[4], row[5]) for row in rows]

    async def sibling_sources(self, source_id: int) -> list[SiblingSource]:
        rows = await self._query_all(
            "SELECT ss.story_id, s.id, s.status, s.auto_paused_at IS NOT NULL"
            " FROM story_sources mine JOIN story_sources ss ON ss.story_id = mine.story_id"
            " JOIN sources s ON s.id = ss.source_id"
            " WHERE mine.source_id = ? ORDER BY ss.story_id, s.id",
            (source_id,),
        )
        return [SiblingSource(row[0], row[1], StoryStatus(row[2]), bool(row[3])) for row in rows]

    async def record_poll(self, record: PollRecord) -> None:
        if combinable(record) and fits_json(record):
            # the common unchanged poll: with those made meanwhile, one statement for all
            if self._answers is None:
                self._answers = SQLiteAnswers(self)
            await self._answers.record(record)
            return
        now_us = to_us(record.now)
        update = self._source_update(record, now_us)
        if (
            _writes_nothing_but_the_source(record)
            and not record.deliveries
            and not record.left_out
            and record.alert is None
            and record.siblings is None
        ):
            # a failed poll (or an unchanged one whose validators JSON cannot carry): one
            # statement, no transaction around it
            async with self._lock:
                cursor = await self._db.execute(*update)
                if cursor.rowcount == 0:
                    raise await refusal(self._db, record)
            return
        async with self._transaction() as db:
            cursor = await db.execute(*update)
            if cursor.rowcount == 0:
                raise await refusal(self._db, record)
            if record.siblings is not None:
                await self._check_siblings(record)
            if record.plan is not None:
                await self._write_plan(record, now_us)
            if record.deliveries:
                await self._write_outbox(record.source_id, record.deliveries, now_us)
            if record.left_out:
                await self._write_left_out(record.source_id, record.left_out, now_us)
            if record.alert is not None:
                await self._write_alerts(
                    record.source_id, record.alert, record.error, now_us, database=db
                )

    @classmethod
    def _source_update(cls, record: PollRecord, now_us: int) -> tuple[str, tuple[object, ...]]:
        """The UPDATE of the source's row for a poll, guarded by the version it was planned
        from and, taken under a lease, by the lease's owner (whose lease it releases)."""
        return under_lease(*cls._versioned_update(record, now_us), record.lease)

    @staticmethod
    def _versioned_update(record: PollRecord, now_us: int) -> tuple[str, tuple[object, ...]]:
        guard = (to_us(record.next_check), record.status.value, record.source_id, record.version)
        if record.outcome is PollOutcome.FAILED:
            return (
                "UPDATE sources SET version = version + 1, failures = ?, last_polled = ?,"
                " last_error_code = ?, last_error = ?, last_error_at = ?,"
                " auto_paused_at = CASE WHEN ? THEN ifnull(auto_paused_at, ?) END,"
                " auto_pause_reason = CASE WHEN ? THEN ifnull(auto_pause_reason, ?) END,"
                " next_check = ?, status = ? WHERE id = ? AND version = ?",
                (
                    record.failures,
                    now_us,
                    None if record.error_code is None else record.error_code.value,
                    record.error,
                    now_us,
                    record.auto_paused,
                    now_us,
                    record.auto_paused,
                    record.error,
                    *guard,
                ),
            )
        answered = (
            "UPDATE sources SET version = version + 1, last_polled = ?, failures = 0,"
            " auto_paused_at = NULL, auto_pause_reason = NULL, last_error = NULL,"
            " last_error_code = NULL,"
        )
        if record.outcome is not PollOutcome.CHANGED:
            return (
                answered + " etag = ifnull(?, etag), last_modified = ifnull(?, last_modified),"
                " next_check = ?, status = ? WHERE id = ? AND version = ?",
                (now_us, record.etag, record.last_modified, *guard),
            )
        plan = record.plan
        baseline = plan is not None and plan.takes_baseline and plan.found_something
        changed = plan is not None and bool(plan.changes)
        return (
            answered + " etag = ?, last_modified = ?, body_hash = ?, title = ifnull(?, title),"
            " coverage_end = ifnull(?, coverage_end),"
            " baseline_at = CASE WHEN ? THEN ifnull(baseline_at, ?) ELSE baseline_at END,"
            " last_changed = CASE WHEN ? THEN ? ELSE last_changed END,"
            " last_update_at = ifnull(?, last_update_at),"
            " next_check = ?, status = ? WHERE id = ? AND version = ?",
            (
                now_us,
                record.etag,
                record.last_modified,
                record.body_hash,
                record.title,
                to_us_or_none(record.coverage_end),
                baseline,
                now_us,
                changed,
                now_us,
                to_us_or_none(record.last_update_at),
                *guard,
            ),
        )

    async def _check_siblings(self, record: PollRecord) -> None:
        """The story status changes of RECORD hold only while the other sources' statuses are
        those they were planned from."""
        assert record.siblings is not None
        rows = await self._fetchall(
            "SELECT ss.story_id, s.id, s.status, s.auto_paused_at IS NOT NULL"
            " FROM story_sources mine JOIN story_sources ss ON ss.story_id = mine.story_id"
            " JOIN sources s ON s.id = ss.source_id"
            " WHERE mine.source_id = ? AND s.id != ? ORDER BY ss.story_id, s.id",
            (record.source_id, record.source_id),
        )
        seen = [SiblingSource(row[0], row[1], StoryStatus(row[2]), bool(row[3])) for row in rows]
        planned = [s for s in record.siblings if s.source_id != record.source_id]
        if seen != planned:
            raise StalePoll(f"another source of a story using {record.source_id} changed status")

    async def _write_plan(self, record: PollRecord, now_us: int) -> None:
        plan = record.plan
        assert plan is not None
        source_id = record.source_id
        await self._write_entries(source_id, plan.inserts, plan.updates, now_us)
        if record.touch:
            # the ids read as due a refresh with the poll's state (PollState.touch_due)
            plain, odd = _ids(record.touch)
            await self._db.execute(
                "UPDATE entries SET last_seen = ?"
                " WHERE source_id = ? AND entry_id IN (SELECT value FROM json_each(?))",
                (now_us, source_id, plain),
            )
            await self._db.executemany(
                "UPDATE entries SET last_seen = ? WHERE source_id = ? AND entry_id = ?",
                [(now_us, source_id, entry_id) for entry_id in odd],
            )
        if plan.key_points is not None:
            kp = plan.key_points
            await self._db.execute(
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
            # an id that was pruned and comes back is stored again, silently
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

    async def _write_outbox(self, source_id: int, routed: Sequence[Routed], now_us: int) -> None:
        """One outbox row per routed change, in order; a subscription removed since the poll
        was planned gets none."""
        rows = []
        for item in routed:
            change: Change = item.change
            kind = change_kind(change)
            payload = change_to_json(change)
            entry_id = change.entry.id if isinstance(change, NewEntry | EditedEntry) else None
            nonce = outbox_nonce(item.subscription_id, source_id, kind, entry_id or payload, now_us)
            rows.append(
                (
                    item.subscription_id,
                    source_id,
                    entry_id,
                    kind,
                    payload,
                    now_us,
                    nonce,
                    now_us,
                    item.subscription_id,
                )
            )
        await self._db.executemany(
            "INSERT INTO deliveries (subscription_id, source_id, entry_id, kind, payload,"
            " next_attempt, nonce, created_at)"
            " SELECT ?, ?, ?, ?, ?, ?, ?, ?"
            " WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = ?)",
            rows,
        )

    async def _write_left_out(
        self, source_id: int, left_out: Sequence[LeftOut], now_us: int
    ) -> None:
        """One routing decision per update or edit a subscription was left without; a
        subscription removed since the poll was planned gets none."""
        await self._db.executemany(
            "INSERT INTO routing_decisions (subscription_id, source_id, entry_id, kind, reason,"
            " value, at) SELECT ?, ?, ?, ?, ?, ?, ?"
            " WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = ?)",
            [
                (
                    item.subscription_id,
                    source_id,
                    item.change.entry.id,
                    change_kind(item.change),
                    item.reason.value,
                    item.value,
                    now_us,
                    item.subscription_id,
                )
                for item in left_out
            ],
        )

    async def _write_alerts(
        self,
        source_id: int,
        kind: AlertKind,
        reason: str | None,
        now_us: int,
        *,
        database: aiosqlite.Connection,
    ) -> None:
        """One alert per audience of the source: each server whose active stories use it, and
        the console (guild NULL) when a config story does."""
        audiences = await self._fetchall(
            "SELECT DISTINCT st.guild_id, s.url FROM story_sources ss"
            " JOIN stories st ON st.id = ss.story_id JOIN sources s ON s.id = ss.source_id"
            " LEFT JOIN guilds g ON g.id = st.guild_id"
            " WHERE ss.source_id = ? AND g.left_at IS NULL ORDER BY st.guild_id",
            (source_id,),
        )
        error = reason if kind is AlertKind.SOURCE_PAUSED else None
        await database.executemany(
            "INSERT INTO deliveries (guild_id, source_id, kind, payload, next_attempt, nonce,"
            " created_at) VALUES (?, ?, 'alert', ?, ?, ?, ?)",
            [
                (
                    guild_id,
                    source_id,
                    alert_to_json(AlertContent(kind=kind, url=url, error=error)),
                    now_us,
                    outbox_nonce(guild_id or 0, source_id, kind.value, "alert", now_us),
                    now_us,
                )
                for guild_id, url in audiences
            ],
        )

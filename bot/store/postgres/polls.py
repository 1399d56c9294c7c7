"""Polls in PostgreSQL: which sources are due, what a poll's diff needs, and recording a poll.

As in SQLite, a poll costs work in proportion to the snapshot and writes in proportion to its
changes: only the snapshot's ids are read (`= ANY($n)`), never the history, and rows go in as
arrays (`unnest`), one statement a table. The common unchanged poll is one statement.

Several writers may record polls of one source at once (several processes): the UPDATE of the
source's row, guarded by its version, takes the row's lock, so the second waits for the first
to commit, then finds the version moved and writes nothing (`StalePoll`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

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
from bot.store.postgres.answers import PostgresAnswers
from bot.store.postgres.database import (
    Connection,
    Database,
    affected,
    clean,
    clean_or_none,
)
from bot.store.postgres.leases import refusal, under_lease
from bot.store.postgres.statement import (
    ENTRY_NAMES,
    GUARD,
    Statement,
    entry_columns,
    left_out_part,
    plan_parts,
    write_left_out,
)
from bot.store.records import SourceRecord
from bot.store.rules import TOUCH_EVERY, outbox_nonce, us

_TOUCH_EVERY_US = us(TOUCH_EVERY)

_SIBLINGS = (
    "SELECT ss.story_id, s.id, s.status, s.auto_paused_at IS NOT NULL"
    " FROM story_sources mine JOIN story_sources ss ON ss.story_id = mine.story_id"
    " JOIN sources s ON s.id = ss.source_id"
)


def _writes_nothing_but_the_source(record: PollRecord) -> bool:
    plan = record.plan
    return plan is None or not (plan.inserts or plan.updates or plan.key_points or record.touch)


class Polls(Database, PollsStore):
    _answers: PostgresAnswers | None = None  # unchanged polls written together (made at first)

    async def close(self) -> None:
        if self._answers is not None:
            await self._answers.close()
        await super().close()

    async def due_sources(
        self, now: datetime, limit: int, *, after: tuple[datetime, int] | None = None
    ) -> list[SourceRecord]:
        # The sources are walked in the order of the index (next_check, id) from AFTER on, each
        # checked as it comes, until LIMIT are found: a scalar subquery, which PostgreSQL
        # evaluates row by row (EXISTS would be planned as a join over every due source, then
        # sorted).
        start, start_id = (to_us(after[0]), after[1]) if after is not None else (-(2**63), 0)
        rows = await self._fetch(
            "SELECT s.* FROM sources s WHERE s.next_check <= $1"
            " AND (s.next_check, s.id) > ($3, $4) AND ("
            " SELECT true FROM story_sources ss JOIN stories st ON st.id = ss.story_id"
            " LEFT JOIN guilds g ON g.id = st.guild_id"
            # an active story: not paused by a moderator, its server (if any) not left
            " WHERE ss.source_id = s.id AND st.paused_at IS NULL AND g.left_at IS NULL LIMIT 1)"
            # none another process holds a lease on (see bot.store.postgres.leases)
            " AND (s.lease_until IS NULL OR s.lease_until <= $1)"
            " ORDER BY s.next_check, s.id LIMIT $2",
            to_us(now),
            limit,
            start,
            start_id,
        )
        return [SourceRecord.from_row(row) for row in rows]

    async def poll_state(self, source_id: int, snapshot: Snapshot, *, now: datetime) -> PollState:
        touch_before = to_us(now) - _TOUCH_EVERY_US
        ids = list(dict.fromkeys(entry.id for entry in snapshot.entries))
        # what PostgreSQL keeps of each id (U+0000 cannot be kept), and back
        kept = {clean(entry_id): entry_id for entry_id in ids}
        wants_key_points = versioned_items(snapshot.key_points) is not None

        async def work(db: Connection) -> PollState:
            # One statement: the source's row, its stored entries among the snapshot's ids and
            # its current key points, all as of one moment (a poll recorded after it moves the
            # version, so a plan made from it is refused: StalePoll).
            row = await db.fetchrow(
                "SELECT s.*, ARRAY(SELECT ROW(e.entry_id, e.content_hash, e.fingerprint,"
                "  e.last_seen < $4)"
                "  FROM entries e WHERE e.source_id = s.id AND e.entry_id = ANY($2::text[]))"
                " AS stored_entries,"
                " CASE WHEN $3 THEN (SELECT k.items FROM key_points k WHERE k.source_id = s.id"
                "  ORDER BY k.id DESC LIMIT 1) END AS current_items"
                " FROM sources s WHERE s.id = $1",
                source_id,
                list(kept),
                wants_key_points,
                touch_before,
            )
            if row is None:
                raise StoreError(f"no source with id {source_id}")
            source = SourceRecord.from_row(row)
            stored = {
                kept.get(entry_id, entry_id): StoredEntry(content_hash=digest, fingerprint=print_)
                for entry_id, digest, print_, _ in row["stored_entries"]
            }
            # last_seen is refreshed at most hourly, so an unchanged poll writes (almost) nothing
            touch_due = frozenset(
                kept.get(entry_id, entry_id) for entry_id, _, _, due in row["stored_entries"] if due
            )
            forgotten: frozenset[str] = frozenset()
            unknown = [entry_id for entry_id in ids if entry_id not in stored]
            if unknown and source.baseline_at is not None:
                keys = {id_key(entry_id): entry_id for entry_id in unknown}
                # an id pruned as PostgreSQL kept it (U+0000 made U+FFFD) has that one's key
                keys.update({id_key(clean(e)): e for e in unknown if clean(e) != e})
                found = await db.fetch(
                    "SELECT key FROM tombstones WHERE source_id = $1 AND key = ANY($2::bigint[])",
                    source_id,
                    list(keys),
                )
                forgotten = frozenset(keys[row[0]] for row in found)
            items = row["current_items"]
            state = SourceState(
                baseline_taken=source.baseline_at is not None,
                entries=stored,
                forgotten=forgotten,
                key_points=None if items is None else tuple(json.loads(items)),
            )
            return PollState(source=source, entries=state, touch_due=touch_due)

        return await self._read(work)

    async def entry_words(
        self, source_id: int, entry_ids: Sequence[str]
    ) -> dict[str, tuple[str | None, str]]:
        kept = {clean(entry_id): entry_id for entry_id in entry_ids}
        rows = await self._fetch(
            "SELECT entry_id, title, text FROM entries"
            " WHERE source_id = $1 AND entry_id = ANY($2::text[])",
            source_id,
            list(kept),
        )
        return {kept.get(row[0], row[0]): (row[1], row[2]) for row in rows}

    async def subscribers(self, source_id: int) -> list[Subscriber]:
        # A subscription paused by a delivery fault (Discord's 403/404) still gets its rows:
        # they wait, unsent, until `/subscribe` there again resumes it ("nothing is lost").
        rows = await self._fetch(
            "SELECT sub.id, sub.story_id, sub.mode, sub.keywords, sub.exclusions, sub.pattern"
            " FROM subscriptions sub"
            " JOIN stories st ON st.id = sub.story_id"
            " JOIN story_sources ss ON ss.story_id = st.id"
            " LEFT JOIN guilds g ON g.id = sub.guild_id"
            " WHERE ss.source_id = $1 AND st.paused_at IS NULL AND g.left_at IS NULL"
            " ORDER BY sub.id",
            source_id,
        )
        return [Subscriber(row[0], row[1], Mode(row[2]), row[3], row[4], row[5]) for row in rows]

    async def sibling_sources(self, source_id: int) -> list[SiblingSource]:
        rows = await self._fetch(
            f"{_SIBLINGS} WHERE mine.source_id = $1 ORDER BY ss.story_id, s.id", source_id
        )
        return [SiblingSource(row[0], row[1], StoryStatus(row[2]), row[3]) for row in rows]

    async def record_poll(self, record: PollRecord) -> None:
        if combinable(record):
            # the common unchanged poll: with those made meanwhile, one statement for all
            if self._answers is None:
                self._answers = PostgresAnswers(self)
            await self._answers.record(record)
            return
        now_us = to_us(record.now)
        sql, args = _source_update(record, now_us)

        async def applied(db: Connection) -> bool:
            """Did this poll's UPDATE of the source happen (its answer was lost)? Its version
            moved by one and its last poll is this one's time."""
            row = await db.fetchrow(
                "SELECT version, last_polled FROM sources WHERE id = $1", record.source_id
            )
            return row is not None and (row[0], row[1]) == (record.version + 1, now_us)

        if (
            _writes_nothing_but_the_source(record)
            and not record.deliveries
            and not record.left_out
            and record.alert is None
            and record.siblings is None
        ):
            # the common unchanged (or failed) poll: one statement, no transaction around it
            async def update(db: Connection) -> None:
                if affected(await db.execute(sql, *args)) == 0:
                    raise await refusal(db, record)

            await self._write_once(update, applied=applied)
            return
        if record.plan is not None and record.alert is None and record.siblings is None:
            # the common changed poll: one statement too (see bot.store.postgres.statement)
            statement = Statement(sql, args)
            plan_parts(statement, record, now_us)
            if record.deliveries:
                await self._write_outbox(statement, record.source_id, record.deliveries, now_us)
            if record.left_out:
                left_out_part(statement, record.source_id, record.left_out, now_us)

            async def write(db: Connection) -> None:
                if await db.fetchval(statement.sql, *statement.args) == 0:
                    raise await refusal(db, record)

            await self._write_once(write, applied=applied)
            return

        async def work(db: Connection) -> None:
            if affected(await db.execute(sql, *args)) == 0:
                raise await refusal(db, record)
            if record.siblings is not None:
                await _check_siblings(db, record)
            if record.plan is not None:
                await _write_plan(db, record, now_us)
            if record.deliveries:
                await self._write_outbox(db, record.source_id, record.deliveries, now_us)
            if record.left_out:
                await write_left_out(db, record.source_id, record.left_out, now_us)
            if record.alert is not None:
                await _write_alerts(db, record.source_id, record.alert, record.error, now_us)

        await self._write(work, applied=applied)

    async def _write_outbox(
        self, db: Connection | Statement, source_id: int, routed: Sequence[Routed], now_us: int
    ) -> None:
        """One outbox row per routed change, in order; a subscription removed since the poll
        was planned gets none. Written now on DB, or added as a part of a statement."""
        subscriptions, entry_ids, kinds, payloads, nonces = [], [], [], [], []
        for item in routed:
            change: Change = item.change
            kind = change_kind(change)
            payload = change_to_json(change)
            entry_id = change.entry.id if isinstance(change, NewEntry | EditedEntry) else None
            subscriptions.append(item.subscription_id)
            entry_ids.append(clean_or_none(entry_id))
            kinds.append(kind)
            payloads.append(payload)
            nonces.append(
                outbox_nonce(item.subscription_id, source_id, kind, entry_id or payload, now_us)
            )
        if isinstance(db, Statement):
            p = db.param
            arrays = (
                f"{p(subscriptions, '::bigint[]')}, {p(entry_ids, '::text[]')},"
                f" {p(kinds, '::text[]')}, {p(payloads, '::text[]')}, {p(nonces, '::text[]')}"
            )
            source, now = p(source_id), p(now_us)
            db.add(
                "outbox",
                "INSERT INTO deliveries (subscription_id, source_id, entry_id, kind, payload,"  # noqa: S608 - placeholders only
                " next_attempt, nonce, created_at)"
                f" SELECT u.subscription_id, {source}, u.entry_id, u.kind, u.payload, {now},"
                f" u.nonce, {now} FROM unnest({arrays})"
                " WITH ORDINALITY AS u(subscription_id, entry_id, kind, payload, nonce, n)"
                f" WHERE {GUARD}"
                " AND EXISTS (SELECT 1 FROM subscriptions WHERE id = u.subscription_id)"
                " ORDER BY u.n",
            )
            return
        # ids follow the order of the changes (WITH ORDINALITY ... ORDER BY)
        await db.execute(
            "INSERT INTO deliveries (subscription_id, source_id, entry_id, kind, payload,"
            " next_attempt, nonce, created_at)"
            " SELECT u.subscription_id, $1, u.entry_id, u.kind, u.payload, $2, u.nonce, $2"
            " FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])"
            " WITH ORDINALITY AS u(subscription_id, entry_id, kind, payload, nonce, n)"
            " WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = u.subscription_id)"
            " ORDER BY u.n",
            source_id,
            now_us,
            subscriptions,
            entry_ids,
            kinds,
            payloads,
            nonces,
        )


def _source_update(record: PollRecord, now_us: int) -> tuple[str, tuple[object, ...]]:
    """The UPDATE of the source's row for a poll, guarded by the version it was planned from
    and, taken under a lease, by the lease's owner (whose lease it releases)."""
    return under_lease(*_versioned_update(record, now_us), record.lease)


def _versioned_update(record: PollRecord, now_us: int) -> tuple[str, tuple[object, ...]]:
    guard = (to_us(record.next_check), record.status.value, record.source_id, record.version)
    tail = " next_check = ${}, status = ${} WHERE id = ${} AND version = ${}"
    if record.outcome is PollOutcome.FAILED:
        head = (
            "UPDATE sources SET version = version + 1, failures = $1, last_polled = $2,"
            " last_error_code = $3, last_error = $4, last_error_at = $2,"
            " auto_paused_at = CASE WHEN $5 THEN coalesce(auto_paused_at, $2) END,"
            " auto_pause_reason = CASE WHEN $5 THEN coalesce(auto_pause_reason, $4) END,"
        )
        args: tuple[object, ...] = (
            record.failures,
            now_us,
            None if record.error_code is None else record.error_code.value,
            clean_or_none(record.error),
            record.auto_paused,
        )
        return head + tail.format(6, 7, 8, 9), (*args, *guard)
    answered = (
        "UPDATE sources SET version = version + 1, last_polled = $1, failures = 0,"
        " auto_paused_at = NULL, auto_pause_reason = NULL, last_error = NULL,"
        " last_error_code = NULL,"
    )
    if record.outcome is not PollOutcome.CHANGED:
        head = answered + " etag = coalesce($2, etag), last_modified = coalesce($3, last_modified),"
        args = (now_us, clean_or_none(record.etag), clean_or_none(record.last_modified))
        return head + tail.format(4, 5, 6, 7), (*args, *guard)
    plan = record.plan
    baseline = plan is not None and plan.takes_baseline and plan.found_something
    changed = plan is not None and bool(plan.changes)
    head = (
        answered + " etag = $2, last_modified = $3, body_hash = $4, title = coalesce($5, title),"
        " coverage_end = coalesce($6, coverage_end),"
        " baseline_at = CASE WHEN $7 THEN coalesce(baseline_at, $1) ELSE baseline_at END,"
        " last_changed = CASE WHEN $8 THEN $1 ELSE last_changed END,"
        " last_update_at = coalesce($9, last_update_at),"
    )
    args = (
        now_us,
        clean_or_none(record.etag),
        clean_or_none(record.last_modified),
        record.body_hash,
        clean_or_none(record.title),
        to_us_or_none(record.coverage_end),
        baseline,
        changed,
        to_us_or_none(record.last_update_at),
    )
    return head + tail.format(10, 11, 12, 13), (*args, *guard)


async def _check_siblings(db: Connection, record: PollRecord) -> None:
    """The story status changes of RECORD hold only while the other sources' statuses are
    those they were planned from. Their rows are locked until the commit (FOR SHARE), so that
    no other writer moves one in between."""
    assert record.siblings is not None
    rows = await db.fetch(
        f"{_SIBLINGS} WHERE mine.source_id = $1 AND s.id != $1"
        " ORDER BY ss.story_id, s.id FOR SHARE OF s",
        record.source_id,
    )
    seen = [SiblingSource(row[0], row[1], StoryStatus(row[2]), row[3]) for row in rows]
    planned = [s for s in record.siblings if s.source_id != record.source_id]
    if seen != planned:
        raise StalePoll(f"another source of a story using {record.source_id} changed status")


async def _write_plan(db: Connection, record: PollRecord, now_us: int) -> None:
    plan = record.plan
    assert plan is not None
    source_id = record.source_id
    await _write_entries(db, source_id, plan.inserts, plan.updates, now_us)
    if record.touch:
        # the ids read as due a refresh with the poll's state (PollState.touch_due)
        await db.execute(
            "UPDATE entries SET last_seen = $1 WHERE source_id = $2 AND entry_id = ANY($3::text[])",
            now_us,
            source_id,
            [clean(entry_id) for entry_id in record.touch],
        )
    if plan.key_points is not None:
        kp = plan.key_points
        await db.execute(
            "INSERT INTO key_points (source_id, kind, items, added, removed, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            source_id,
            kp.kind.value,
            json.dumps(kp.items, ensure_ascii=False),
            json.dumps(kp.added, ensure_ascii=False),
            json.dumps(kp.removed, ensure_ascii=False),
            now_us,
        )


_ARRAYS = (
    "$3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[],"
    " $10::bigint[], $11::bigint[], $12::boolean[]"
)


async def _write_entries(
    db: Connection,
    source_id: int,
    inserts: Sequence[EntryWrite],
    updates: Sequence[EntryWrite],
    now_us: int,
) -> None:
    if inserts:
        # an id that was pruned and comes back is stored again, silently
        await db.execute(
            f"INSERT INTO entries (source_id, {ENTRY_NAMES}, first_seen, last_seen)"  # noqa: S608
            f" SELECT $1, u.*, $2, $2 FROM unnest({_ARRAYS}) AS u"
            " ON CONFLICT (source_id, entry_id) DO NOTHING",
            source_id,
            now_us,
            *entry_columns(inserts),
        )
    if updates:
        # On the first edit the words as first posted move to first_title/first_text (the
        # right-hand sides see the row as it was before this UPDATE).
        await db.execute(
            "UPDATE entries e SET content_hash = u.content_hash, fingerprint = u.fingerprint,"  # noqa: S608
            " first_title = CASE WHEN u.posted AND e.edited_at IS NULL THEN e.title"
            "  ELSE e.first_title END,"
            " first_text = CASE WHEN u.posted AND e.edited_at IS NULL THEN e.text"
            "  ELSE e.first_text END,"
            " edited_at = CASE WHEN u.posted THEN $2 ELSE e.edited_at END,"
            " title = u.title, text = u.text, url = u.url, image = u.image,"
            " published = u.published, updated = u.updated, last_seen = $2"
            f" FROM unnest({_ARRAYS}) AS u({ENTRY_NAMES})"
            " WHERE e.source_id = $1 AND e.entry_id = u.entry_id",
            source_id,
            now_us,
            *entry_columns(updates),
        )


async def _write_alerts(
    db: Connection, source_id: int, kind: AlertKind, reason: str | None, now_us: int
) -> None:
    """One alert per audience of the source: each server whose active stories use it, and
    the console (guild NULL) when a config story does."""
    audiences = await db.fetch(
        "SELECT DISTINCT st.guild_id, s.url FROM story_sources ss"
        " JOIN stories st ON st.id = ss.story_id JOIN sources s ON s.id = ss.source_id"
        " LEFT JOIN guilds g ON g.id = st.guild_id"
        " WHERE ss.source_id = $1 AND g.left_at IS NULL ORDER BY st.guild_id NULLS FIRST",
        source_id,
    )
    error = reason if kind is AlertKind.SOURCE_PAUSED else None
    await db.executemany(
        "INSERT INTO deliveries (guild_id, source_id, kind, payload, next_attempt, nonce,"
        " created_at) VALUES ($1, $2, 'alert', $3, $4, $5, $4)",
        [
            (
                guild_id,
                source_id,
                alert_to_json(AlertContent(kind=kind, url=url, error=error)),
                now_us,
                outbox_nonce(guild_id or 0, source_id, kind.value, "alert", now_us),
            )
            for guild_id, url in audiences
        ],
    )

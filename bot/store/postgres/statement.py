"""A changed poll written in one statement: the UPDATE of the source's row (guarded by its
version) and, as data-modifying CTEs that run only when it matched, the entries inserted, those
updated, those seen again, the key-point version and the outbox rows. One statement is one
transaction of its own: no BEGIN and COMMIT round trips, and all or nothing, as before."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from bot.diff import EntryWrite
from bot.store.codec import to_us_or_none
from bot.store.postgres.database import clean, clean_or_none
from bot.store.records import PollRecord
from bot.store.rules import TOUCH_EVERY, us

GUARD = "EXISTS (SELECT 1 FROM src)"  # the source's row moved: this poll is the one recorded


class Statement:
    """A statement built part by part; `param` adds a value and gives its placeholder."""

    def __init__(self, source_update: str, source_args: Sequence[object]) -> None:
        self.args: list[object] = list(source_args)
        self._parts = [f"src AS ({source_update} RETURNING id)"]

    def param(self, value: object, cast: str = "") -> str:
        self.args.append(value)
        return f"${len(self.args)}{cast}"

    def add(self, name: str, sql: str) -> None:
        """A data-modifying part; it must test GUARD, so that a stale poll writes nothing."""
        self._parts.append(f"{name} AS ({sql})")

    @property
    def sql(self) -> str:
        """The statement; it returns how many source rows it updated (0: stale)."""
        return f"WITH {', '.join(self._parts)} SELECT count(*) FROM src"  # noqa: S608 - ours


ENTRY_NAMES = (
    "entry_id, content_hash, fingerprint, title, text, url, image, published, updated, posted"
)


def entry_columns(writes: Iterable[EntryWrite]) -> list[list[object]]:
    """The entries' columns, each a list: id, hash, fingerprint, title, text, url, image,
    published, updated, posted."""
    columns: list[list[object]] = [[] for _ in range(10)]
    for w in writes:
        entry = w.entry
        values = (
            clean(entry.id),
            w.content_hash,
            w.fingerprint,
            clean_or_none(entry.title),
            clean(entry.text),
            clean_or_none(entry.url),
            clean_or_none(entry.image),
            to_us_or_none(entry.published),
            to_us_or_none(entry.updated),
            w.posted,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    return columns


ENTRY_TYPES = (
    "text",
    "text",
    "bigint",
    "text",
    "text",
    "text",
    "text",
    "bigint",
    "bigint",
    "boolean",
)


def plan_parts(statement: Statement, record: PollRecord, now_us: int) -> None:
    """What `_write_plan` writes, as parts of one statement."""
    plan = record.plan
    assert plan is not None
    p = statement.param
    if not (plan.inserts or plan.updates or plan.seen_ids or plan.key_points is not None):
        return  # every placeholder given must be used
    source, now = p(record.source_id), p(now_us)
    if plan.inserts:
        arrays = ", ".join(
            p(column, f"::{kind}[]")
            for column, kind in zip(entry_columns(plan.inserts), ENTRY_TYPES, strict=True)
        )
        statement.add(
            "inserted",
            f"INSERT INTO entries (source_id, {ENTRY_NAMES}, first_seen, last_seen)"  # noqa: S608
            f" SELECT {source}, u.*, {now}, {now} FROM unnest({arrays}) AS u WHERE {GUARD}"
            " ON CONFLICT (source_id, entry_id) DO NOTHING",
        )
    if plan.updates:
        arrays = ", ".join(
            p(column, f"::{kind}[]")
            for column, kind in zip(entry_columns(plan.updates), ENTRY_TYPES, strict=True)
        )
        statement.add(
            "updated",
            "UPDATE entries e SET content_hash = u.content_hash, fingerprint = u.fingerprint,"  # noqa: S608
            " first_title = CASE WHEN u.posted AND e.edited_at IS NULL THEN e.title"
            "  ELSE e.first_title END,"
            " first_text = CASE WHEN u.posted AND e.edited_at IS NULL THEN e.text"
            "  ELSE e.first_text END,"
            f" edited_at = CASE WHEN u.posted THEN {now} ELSE e.edited_at END,"
            " title = u.title, text = u.text, url = u.url, image = u.image,"
            f" published = u.published, updated = u.updated, last_seen = {now}"
            f" FROM unnest({arrays}) AS u({ENTRY_NAMES})"
            f" WHERE e.source_id = {source} AND e.entry_id = u.entry_id AND {GUARD}",
        )
    # the updated rows are touched above: one statement may not change a row twice
    rewritten = {w.entry.id for w in plan.updates}
    seen = [clean(entry_id) for entry_id in plan.seen_ids if entry_id not in rewritten]
    if seen:
        ids, before = p(seen, "::text[]"), p(now_us - us(TOUCH_EVERY))
        statement.add(
            "seen",
            f"UPDATE entries SET last_seen = {now} WHERE source_id = {source}"  # noqa: S608
            f" AND entry_id = ANY({ids}) AND last_seen < {before} AND {GUARD}",
        )
    if plan.key_points is not None:
        kp = plan.key_points
        statement.add(
            "key_points",
            "INSERT INTO key_points (source_id, kind, items, added, removed, created_at)"
            f" SELECT {source}, {p(kp.kind.value)}, {p(json.dumps(kp.items, ensure_ascii=False))},"
            f" {p(json.dumps(kp.added, ensure_ascii=False))},"
            f" {p(json.dumps(kp.removed, ensure_ascii=False))}, {now} WHERE {GUARD}",
        )

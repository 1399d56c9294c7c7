"""A changed poll written in one statement: the UPDATE of the source's row (guarded by its
version) and, as data-modifying CTEs that run only when it matched, the entries inserted, those
updated, those seen again, the key-point version, the outbox rows and the routing decisions.
One statement is one transaction of its own: no BEGIN and COMMIT round trips, and all or
nothing, as before. The routing decisions are also written here on their own (`write_left_out`),
in the transaction of a poll that needs one."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from bot.diff import EntryWrite
from bot.store.codec import change_kind, to_us_or_none
from bot.store.poll_record import PollRecord
from bot.store.postgres.database import Connection, clean, clean_or_none
from bot.store.trail import LeftOut

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
    if not (plan.inserts or plan.updates or record.touch or plan.key_points is not None):
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
    # the ids read as due a refresh with the poll's state (PollState.touch_due); the updated
    # rows are touched above: one statement may not change a row twice
    rewritten = {w.entry.id for w in plan.updates}
    seen = [clean(entry_id) for entry_id in record.touch if entry_id not in rewritten]
    if seen:
        statement.add(
            "seen",
            f"UPDATE entries SET last_seen = {now} WHERE source_id = {source}"  # noqa: S608
            f" AND entry_id = ANY({p(seen, '::text[]')}) AND {GUARD}",
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


# --- routing decisions: why subscriptions were left without an update or edit -------------


def left_out_columns(left_out: Iterable[LeftOut]) -> list[list[object]]:
    """The routing decisions' columns, each a list: subscription, entry id, kind, reason,
    value."""
    columns: list[list[object]] = [[] for _ in range(5)]
    for item in left_out:
        values = (
            item.subscription_id,
            clean(item.change.entry.id),
            change_kind(item.change),
            item.reason.value,
            clean_or_none(item.value),
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    return columns


_LEFT_OUT = (
    "INSERT INTO routing_decisions (subscription_id, source_id, entry_id, kind, reason, value, at)"
    " SELECT u.subscription_id, {source}, u.entry_id, u.kind, u.reason, u.value, {now}"
    " FROM unnest({arrays}) WITH ORDINALITY"
    " AS u(subscription_id, entry_id, kind, reason, value, n)"
    # a subscription removed since the poll was planned gets none
    " WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = u.subscription_id){guard} ORDER BY u.n"
)
_LEFT_OUT_ARRAYS = ("bigint", "text", "text", "text", "text")


async def write_left_out(
    db: Connection, source_id: int, left_out: Sequence[LeftOut], now_us: int
) -> None:
    """One routing decision per update or edit a subscription was left without."""
    arrays = ", ".join(f"${n}::{kind}[]" for n, kind in enumerate(_LEFT_OUT_ARRAYS, start=3))
    await db.execute(
        _LEFT_OUT.format(source="$1", now="$2", arrays=arrays, guard=""),
        source_id,
        now_us,
        *left_out_columns(left_out),
    )


def left_out_part(
    statement: Statement, source_id: int, left_out: Sequence[LeftOut], now_us: int
) -> None:
    """The routing decisions as a part of the poll's one statement."""
    p = statement.param
    columns = left_out_columns(left_out)
    arrays = ", ".join(
        p(column, f"::{kind}[]") for column, kind in zip(columns, _LEFT_OUT_ARRAYS, strict=True)
    )
    sql = _LEFT_OUT.format(source=p(source_id), now=p(now_us), arrays=arrays, guard=f" AND {GUARD}")
    statement.add("left_out", sql)

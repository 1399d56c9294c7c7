"""A real SQLite store in tmp_path, and helpers to build snapshots."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.model import Entry, KeyPoints, KeyPointsKind, Snapshot, SourceKind
from bot.store import Store

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def entry(
    n: int, text: str | None = None, *, title: str | None = None, dated: bool = True
) -> Entry:
    return Entry(
        id=f"e{n}",
        title=title if title is not None else f"Update {n}",
        text=text if text is not None else f"Text of update {n}.",
        url=f"https://example.org/live#e{n}",
        published=T0 + timedelta(minutes=n) if dated else None,
    )


def snap(*entries: Entry, key_points: tuple[str, ...] | None = None) -> Snapshot:
    return Snapshot(
        kind=SourceKind.LIVEBLOG,
        title="A live story",
        entries=entries,
        key_points=None if key_points is None else KeyPoints(KeyPointsKind.SUMMARY, key_points),
    )


async def poll(store: Store, source_id: int, snapshot: Snapshot, now: datetime = T0) -> tuple:
    return await store.apply_poll(
        source_id, snapshot, now=now, etag=None, last_modified=None, body_hash=None
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bulletin.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(db_path)
    yield opened
    await opened.close()


@pytest.fixture
async def source(store: Store) -> int:
    """A source of a story, subscribed to by the console; its baseline not taken yet."""
    story = await store.ensure_story("Story", now=T0)
    source_id = await store.add_source(story, "https://example.org/live", now=T0)
    await store.subscribe(story, guild_id=None, channel_id=None, now=T0)
    return source_id

"""How values are kept: times as integer microseconds (UTC); changes, digests and alerts as
JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.model import (
    AlertContent,
    AlertKind,
    Change,
    DigestContent,
    EditedEntry,
    Entry,
    KeyPoints,
    KeyPointsChanged,
    KeyPointsKind,
    NewEntry,
    PauseReason,
    StatusChanged,
    StoryStatus,
    utc,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    """A datetime as integer microseconds since the epoch (naive is taken as UTC)."""
    return (utc(moment) - EPOCH) // _MICROSECOND


def to_us_or_none(moment: datetime | None) -> int | None:
    return None if moment is None else to_us(moment)


def from_us(value: int | None) -> datetime | None:
    return None if value is None else EPOCH + timedelta(microseconds=value)


def moment_from_us(value: int) -> datetime:
    """A time kept in a NOT NULL column."""
    return EPOCH + timedelta(microseconds=value)


def _time_text(moment: datetime | None) -> str | None:
    return None if moment is None else utc(moment).isoformat()


def _time_value(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def entry_to_dict(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "title": entry.title,
        "text": entry.text,
        "url": entry.url,
        "published": _time_text(entry.published),
        "updated": _time_text(entry.updated),
        "image": entry.image,
    }


def entry_from_dict(data: dict[str, Any]) -> Entry:
    return Entry(
        id=data["id"],
        title=data["title"],
        text=data["text"],
        url=data.get("url"),
        published=_time_value(data.get("published")),
        updated=_time_value(data.get("updated")),
        image=data.get("image"),
    )


def change_kind(change: Change) -> str:
    """The `kind` column of a delivery, also the `type` of its JSON."""
    match change:
        case NewEntry():
            return "new"
        case EditedEntry():
            return "edited"
        case KeyPointsChanged():
            return "key_points"
        case StatusChanged():
            return "status"
    raise TypeError(f"not a change: {change!r}")


def change_to_json(change: Change) -> str:
    data: dict[str, Any] = {"type": change_kind(change)}
    match change:
        case NewEntry(entry=entry):
            data["entry"] = entry_to_dict(entry)
        case EditedEntry(entry=entry, previous_title=title, previous_text=text):
            data["entry"] = entry_to_dict(entry)
            data["previous_title"] = title
            data["previous_text"] = text
        case KeyPointsChanged(kind=kind, added=added, removed=removed, items=items):
            data.update(kind=kind.value, added=added, removed=removed, items=items)
        case StatusChanged(status=status, previous=previous):
            data.update(status=status.value, previous=previous.value)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def change_from_json(text: str) -> Change:
    data = json.loads(text)
    kind = data["type"]
    if kind == "new":
        return NewEntry(entry_from_dict(data["entry"]))
    if kind == "edited":
        return EditedEntry(
            entry=entry_from_dict(data["entry"]),
            previous_title=data["previous_title"],
            previous_text=data["previous_text"],
        )
    if kind == "key_points":
        return KeyPointsChanged(
            kind=KeyPointsKind(data["kind"]),
            added=tuple(data["added"]),
            removed=tuple(data["removed"]),
            items=tuple(data["items"]),
        )
    if kind == "status":
        return StatusChanged(
            status=StoryStatus(data["status"]), previous=StoryStatus(data["previous"])
        )
    raise ValueError(f"unknown change type {kind!r}")


def digest_to_json(content: DigestContent) -> str:
    key_points = content.key_points
    data = {
        "since": to_us(content.since),
        "until": to_us(content.until),
        "entries": [
            {"source": source_id, **entry_to_dict(entry)} for source_id, entry in content.entries
        ],
        "key_points": (
            None
            if key_points is None
            else {"kind": key_points.kind.value, "items": list(key_points.items)}
        ),
        "key_points_changed": content.key_points_changed,
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def digest_from_json(text: str) -> DigestContent:
    data = json.loads(text)
    kp = data["key_points"]
    return DigestContent(
        since=moment_from_us(data["since"]),
        until=moment_from_us(data["until"]),
        entries=tuple((item["source"], entry_from_dict(item)) for item in data["entries"]),
        key_points=None if kp is None else KeyPoints(KeyPointsKind(kp["kind"]), tuple(kp["items"])),
        key_points_changed=bool(data["key_points_changed"]),
    )


def alert_to_json(content: AlertContent) -> str:
    data = {
        "alert": content.kind.value,
        "url": content.url,
        "reason": content.error,
        "story": content.story,
        "channel": content.channel_id,
        "thread": content.thread,
        "pause_reason": None if content.pause_reason is None else content.pause_reason.value,
        "pause_detail": content.pause_detail,
        "channel_name": content.channel_name,
        "forum": content.forum,
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def alert_from_json(text: str) -> AlertContent:
    data = json.loads(text)
    pause = data.get("pause_reason")
    return AlertContent(
        kind=AlertKind(data["alert"]),
        url=data.get("url"),
        error=data.get("reason"),
        story=data.get("story"),
        channel_id=data.get("channel"),
        thread=bool(data.get("thread")),
        pause_reason=None if pause is None else PauseReason(pause),
        pause_detail=data.get("pause_detail"),
        channel_name=data.get("channel_name"),
        forum=bool(data.get("forum")),
    )

"""Changes → readable plain text for the terminal (console mode and `bulletin demo`).

Pure functions returning strings; the console sink prints them. Times are shown as local HH:MM
(or in the zone passed as `tz`). Source text is stripped of control characters first, so a
source can never send escape sequences to the terminal.
"""

from __future__ import annotations

import difflib
import textwrap
from datetime import datetime, tzinfo

from bot.delivery.sanitize import strip_controls
from bot.model import (
    Change,
    EditedEntry,
    Entry,
    KeyPoints,
    KeyPointsChanged,
    KeyPointsKind,
    NewEntry,
    StatusChanged,
    StoryStatus,
    utc,
)

WIDTH = 80
INDENT = "    "
MAX_TEXT = 1200  # characters of an update's text shown before "…"

_KIND_LABELS = {
    KeyPointsKind.SUMMARY: "key points",
    KeyPointsKind.KEY_EVENTS: "key events",
    KeyPointsKind.EXTRACTED: "key points (extracted from recent updates)",
}
_STATUS_LINES = {
    StoryStatus.ENDED: "coverage ended",
    StoryStatus.QUIET: "coverage is quiet (no updates for a while)",
    StoryStatus.LIVE: "coverage is live again",
}


def _clean(text: str | None) -> str:
    return " ".join(strip_controls(text or "").split())


def _clock(when: datetime | None, tz: tzinfo | None) -> str:
    if when is None:
        return "--:--"
    when = utc(when)
    local = when.astimezone(tz) if tz is not None else when.astimezone()
    return local.strftime("%H:%M")


def _wrap(text: str, width: int, indent: str = INDENT) -> list[str]:
    return textwrap.wrap(
        text,
        width=max(width, len(indent) + 20),
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=True,
        break_on_hyphens=False,
    )


def _shorten(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def _header(story: str | None, when: str, label: str) -> str:
    prefix = f"[{_clean(story)}] " if story else ""
    return f"{when}  {prefix}{label}"


def format_new_entry(
    entry: Entry, *, story: str | None = None, tz: tzinfo | None = None, width: int = WIDTH
) -> str:
    """A new update: time, title, wrapped text, link."""
    title = _clean(entry.title) or "(untitled update)"
    lines = [_header(story, _clock(entry.published or entry.updated, tz), title)]
    text = _clean(entry.text)
    lines += _wrap(_shorten(text), width) if text else [INDENT + "(no text)"]
    if entry.url:
        lines.append(INDENT + _clean(entry.url))
    return "\n".join(lines)


def word_diff(before: str, after: str, *, context: int = 4) -> str:
    """A compact word diff: `[-removed-]{+added+}`, unchanged stretches shortened to `…`."""
    old, new = before.split(), after.split()
    parts: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    opcodes = matcher.get_opcodes()
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        if op == "equal":
            words = old[i1:i2]
            first, last = index == 0, index == len(opcodes) - 1
            if len(words) > 2 * context:
                head = [] if first else words[:context]
                tail = [] if last else words[-context:]
                words = [*head, "…", *tail]
            parts.extend(words)
            continue
        if op in ("replace", "delete"):
            parts.append("[-" + " ".join(old[i1:i2]) + "-]")
        if op in ("replace", "insert"):
            parts.append("{+" + " ".join(new[j1:j2]) + "+}")
    return " ".join(parts)


def format_edit(
    change: EditedEntry,
    *,
    story: str | None = None,
    tz: tzinfo | None = None,
    width: int = WIDTH,
) -> str:
    """An edited update: what changed, as a word diff of the title and the text."""
    entry = change.entry
    title = _clean(entry.title) or "(untitled update)"
    lines = [_header(story, _clock(entry.updated or entry.published, tz), f"edited: {title}")]
    old_title, new_title = _clean(change.previous_title), _clean(entry.title)
    if old_title != new_title:
        lines += _wrap(f"title: {old_title or '(none)'} → {new_title or '(none)'}", width)
    old_text, new_text = _clean(change.previous_text), _clean(entry.text)
    if old_text != new_text:
        lines += _wrap("text: " + _shorten(word_diff(old_text, new_text)), width)
    if entry.url:
        lines.append(INDENT + _clean(entry.url))
    return "\n".join(lines)


def format_key_points(
    key_points: KeyPoints,
    *,
    story: str | None = None,
    tz: tzinfo | None = None,
    width: int = WIDTH,
    now: datetime | None = None,
) -> str:
    """A story's current key points (shown once per story at start)."""
    label = _KIND_LABELS[key_points.kind]
    lines = [_header(story, _clock(now, tz) if now else "     ", label.capitalize() + ":")]
    for item in key_points.items:
        lines += _bullet("•", _clean(item), width)
    if not key_points.items:
        lines.append(INDENT + "(none)")
    return "\n".join(lines)


def _bullet(mark: str, text: str, width: int) -> list[str]:
    wrapped = _wrap(text, width, indent=INDENT + "  ")
    if wrapped:
        wrapped[0] = INDENT + mark + " " + wrapped[0][len(INDENT) + 2 :]
    return wrapped


def format_key_points_change(
    change: KeyPointsChanged,
    *,
    story: str | None = None,
    tz: tzinfo | None = None,
    width: int = WIDTH,
    now: datetime | None = None,
) -> str:
    """Key points changed: `+ added`, `- removed`."""
    label = _KIND_LABELS[change.kind]
    lines = [_header(story, _clock(now, tz) if now else "     ", f"{label} changed:")]
    for item in change.added:
        lines += _bullet("+", _clean(item), width)
    for item in change.removed:
        lines += _bullet("-", _clean(item), width)
    return "\n".join(lines)


def format_status_change(
    change: StatusChanged,
    *,
    story: str | None = None,
    tz: tzinfo | None = None,
    now: datetime | None = None,
) -> str:
    """ "coverage ended" and the like."""
    return _header(story, _clock(now, tz) if now else "     ", _STATUS_LINES[change.status])


def format_change(
    change: Change,
    *,
    story: str | None = None,
    tz: tzinfo | None = None,
    width: int = WIDTH,
    now: datetime | None = None,
) -> str:
    """Any change as terminal text. `now` is the time shown for changes that carry none."""
    if isinstance(change, NewEntry):
        return format_new_entry(change.entry, story=story, tz=tz, width=width)
    if isinstance(change, EditedEntry):
        return format_edit(change, story=story, tz=tz, width=width)
    if isinstance(change, KeyPointsChanged):
        return format_key_points_change(change, story=story, tz=tz, width=width, now=now)
    return format_status_change(change, story=story, tz=tz, now=now)

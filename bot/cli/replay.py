"""`bulletin replay SNAPSHOT... [--json]`: successive polls of one source, and their changes.

Each file is a document as a source served it (a page or a feed). They are replayed in order as
polls of one source in a fresh temporary store, through the same diff and store as the bot, and
the changes of each poll are printed. A file that cannot be read is an `error` poll that leaves
the state as it was; a missing file stops everything before the first poll (exit 2).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.cli.preview import read_file
from bot.errors import BulletinError
from bot.model import (
    Change,
    EditedEntry,
    KeyPointsChanged,
    NewEntry,
    StatusChanged,
    entry_to_json,
    format_utc,
)
from bot.polling.pipeline import record_snapshot
from bot.sources.extract import extract
from bot.store import open_store

log = logging.getLogger(__name__)

REPLAY_URL = "replay:"  # the one source of a replay; it is never fetched
_PREVIEW_CHARS = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "snapshots",
        nargs="+",
        metavar="SNAPSHOT",
        help="a file as a source served it (page or feed); one file per poll, in order",
    )
    parser.add_argument("--json", action="store_true", help="print JSON Lines, one change per line")


def run(args: argparse.Namespace) -> int:
    paths = [Path(name) for name in args.snapshots]
    for path in paths:
        if not path.exists():
            raise BulletinError(f"{path}: no such file")
    for line in asyncio.run(replay(paths, as_json=args.json)):
        print(line, flush=True)
    return 0


async def replay(paths: list[Path], *, as_json: bool = False) -> list[str]:
    """The lines `bulletin replay` prints for these files."""
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bulletin-replay-") as folder:
        store = await open_store(Path(folder) / "replay.db")
        try:
            story = await store.ensure_story("replay")
            source = await store.add_source(story, REPLAY_URL)
            started = datetime.now(UTC)
            rng = random.Random(0)  # the next check's jitter: never used here
            for poll, path in enumerate(paths):
                now = started + timedelta(minutes=poll)
                try:
                    snapshot = extract(read_file(path))
                except Exception as error:
                    # the state stays as it was; the next file is the next poll
                    message = _error_message(path, error)
                    lines.append(
                        _json_line(poll, "error", message=message)
                        if as_json
                        else f"poll {poll} ({path.name}): error: {message}"
                    )
                    continue
                before = await store.get_source(source)
                report = await record_snapshot(store, source, snapshot, now=now, rng=rng)
                changes = report.changes
                if as_json:
                    lines.extend(_change_json(poll, change) for change in changes)
                    continue
                baseline = before.baseline_at is None
                lines.extend(_readable(poll, path, changes, baseline, len(snapshot.entries)))
        finally:
            await store.close()
    return lines


def _error_message(path: Path, error: Exception) -> str:
    if isinstance(error, BulletinError):
        return str(error)
    # a reader's bug still gives one line, not a traceback (the details with -v)
    log.debug("extraction failed on %s", path, exc_info=True)
    return f"could not read {path} ({type(error).__name__})"


def _json_line(poll: int, kind: str, **fields: object) -> str:
    return json.dumps({"poll": poll, "type": kind, **fields}, ensure_ascii=False)


def _change_json(poll: int, change: Change) -> str:
    match change:
        case NewEntry(entry=entry):
            return _json_line(poll, "new", entry=entry_to_json(entry))
        case EditedEntry(entry=entry):
            return _json_line(poll, "edited", entry=entry_to_json(entry))
        case KeyPointsChanged(added=added, removed=removed, items=items):
            return _json_line(
                poll, "key_points", added=list(added), removed=list(removed), items=list(items)
            )
        case StatusChanged(status=status, previous=previous):
            return _json_line(poll, "status", status=status.value, previous=previous.value)
    raise TypeError(f"not a change: {change!r}")


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 1] + "…"


def _readable(
    poll: int, path: Path, changes: tuple[Change, ...], baseline: bool, found: int
) -> list[str]:
    if baseline and found:
        head = f"baseline: {found} entries stored, none posted"
    elif baseline:
        head = "found nothing (no baseline yet)"
    elif changes:
        head = f"{len(changes)} change{'s' if len(changes) != 1 else ''}"
    else:
        head = "no changes"
    lines = [f"poll {poll} ({path.name}): {head}"]
    for change in changes:
        match change:
            case NewEntry(entry=entry):
                when = format_utc(entry.published) or "undated"
                lines.append(f"  new     {when}  {_short(entry.title or entry.text) or entry.id}")
            case EditedEntry(entry=entry, previous_title=old_title, previous_text=old_text):
                lines.append(f"  edited  {entry.id}  {_short(entry.title or entry.text)}")
                if (old_title or "") != (entry.title or ""):
                    lines.append(f"          title was: {_short(old_title)}")
                if old_text != entry.text:
                    lines.append(f"          text was:  {_short(old_text)}")
            case KeyPointsChanged(kind=kind, added=added, removed=removed, items=items):
                lines.append(f"  key points ({kind.value}, {len(items)} now):")
                lines.extend(f"    + {item}" for item in added)
                lines.extend(f"    - {item}" for item in removed)
            case StatusChanged(status=status, previous=previous):
                lines.append(f"  status  {previous.value} → {status.value}")
    return lines

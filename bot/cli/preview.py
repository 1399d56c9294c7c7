"""`bulletin preview SOURCE`: print what Bulletin reads from a live page, a feed or a file."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

from bot.errors import BulletinError, ConfigError, ExtractError, FetchError
from bot.model import Snapshot, SourceKind, format_utc, snapshot_to_json
from bot.sources.addresses import AddressRefused
from bot.sources.extract import Selectors, extract
from bot.sources.fetch import Fetcher, open_session
from bot.sources.limits import FetchLimits
from bot.sources.summary import extracted_key_points

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE", help="an http(s) URL or a local file")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument(
        "--kind",
        choices=[k.value for k in SourceKind],
        help="read the source as this kind instead of detecting it",
    )
    parser.add_argument(
        "--selectors",
        metavar="FILE",
        type=Path,
        help="a TOML file with CSS selectors: entry, title, body, time, key_points",
    )
    parser.add_argument(
        "--allow-private-addresses",
        action="store_true",
        help="allow URLs on loopback and private networks (refused by default, as when polling)",
    )


async def fetch_url(url: str, *, allow_private: bool = False) -> tuple[bytes, str | None, str]:
    """GET a URL with the polling fetcher (address checks, size and time caps):
    (body, content type, final URL)."""
    limits = FetchLimits(allow_private_addresses=allow_private)
    async with open_session(limits) as session:
        try:
            result = await Fetcher(session, limits).fetch(url)
        except AddressRefused as refused:
            raise AddressRefused(
                f"{refused} (--allow-private-addresses previews it anyway)"
            ) from None
    body = result.document()
    assert body is not None  # no validators were sent, so the body is always there
    return body, result.content_type, result.final_url


def read_selectors(path: Path) -> Selectors:
    """Selectors from a TOML file: top-level keys, or a [selectors] table."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(
            f"cannot read selectors file {path}: {error.strerror or error}"
        ) from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"selectors file {path} is not valid TOML: {error}") from error
    table = data.get("selectors", data)
    if not isinstance(table, dict):
        raise ConfigError(f"selectors file {path}: [selectors] must be a table")
    try:
        return Selectors.from_mapping(table)
    except ConfigError as error:
        raise ConfigError(f"selectors file {path}: {error}") from error


# A local file is read within the size cap a fetched source has (`polling.max_bytes`).
MAX_FILE_BYTES = FetchLimits().max_bytes


def read_file(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a local file; FetchError (one line) when it cannot be read or is larger
    than LIMIT, which is never read whole."""
    try:
        with path.open("rb") as file:
            body = file.read(limit + 1)
    except FileNotFoundError as error:
        raise FetchError(f"no such file: {path}") from error
    except IsADirectoryError as error:
        raise FetchError(f"{path} is a directory, not a file") from error
    except OSError as error:
        raise FetchError(f"cannot read {path}: {error.strerror or error}") from error
    if len(body) > limit:
        raise FetchError(
            f"{path} is larger than {limit:,} bytes, the most Bulletin reads from a source"
        )
    return body


def load(source: str, *, allow_private: bool = False) -> tuple[bytes, str | None, str | None]:
    """(body, content type, URL) of a URL or a local file."""
    if source.startswith(("http://", "https://")):
        return asyncio.run(fetch_url(source, allow_private=allow_private))
    if "://" in source:
        raise FetchError(f"only http(s) URLs and local files can be previewed, not {source}")
    return read_file(Path(source)), None, None


def preview(
    source: str,
    *,
    kind: SourceKind | None = None,
    selectors: Selectors | None = None,
    allow_private: bool = False,
) -> Snapshot:
    """The snapshot preview prints: a live page without key points gets an extracted summary."""
    body, content_type, url = load(source, allow_private=allow_private)
    try:
        snapshot = extract(body, content_type=content_type, url=url, kind=kind, selectors=selectors)
    except BulletinError:
        raise
    except Exception as error:  # a reader's bug must still give one line, not a traceback
        log.debug("extraction failed on %s", source, exc_info=True)
        raise ExtractError(f"could not read {source} ({type(error).__name__})") from error
    if snapshot.key_points is None and snapshot.kind is SourceKind.LIVEBLOG:
        extracted = extracted_key_points(snapshot.entries)
        if extracted is not None:
            snapshot = replace(snapshot, key_points=extracted)
    return snapshot


_KEY_POINT_LABELS = {
    "summary": "Key points (the source's summary)",
    "key_events": "Key events (the source's list)",
    "extracted": "Key points (extracted from the newest updates)",
}


def render_text(snapshot: Snapshot, *, max_text: int = 280) -> str:
    lines = [
        snapshot.title or "(no title)",
        f"{snapshot.kind.value} · {snapshot.url or 'no URL stated'} · "
        f"{len(snapshot.entries)} {'entry' if len(snapshot.entries) == 1 else 'entries'}",
        "",
    ]
    if snapshot.key_points is not None:
        lines.append(_KEY_POINT_LABELS[snapshot.key_points.kind.value] + ":")
        lines.extend(f"  • {item}" for item in snapshot.key_points.items)
        lines.append("")
    elif snapshot.kind is not SourceKind.FEED:
        lines += ["No key points found.", ""]
    if not snapshot.entries and snapshot.kind is not SourceKind.PAGE:
        lines.append("No entries found.")
    for entry in reversed(snapshot.entries):  # newest first, as pages show them
        when = format_utc(entry.published) or "undated"
        lines.append(f"[{when}] {entry.title or '(untitled)'}")
        text = " ".join(entry.text.split())
        if text:
            lines.append("    " + (text if len(text) <= max_text else text[: max_text - 1] + "…"))
        lines.append(f"    id: {entry.id}")
    return "\n".join(lines).rstrip() + "\n"


def run(args: argparse.Namespace) -> int:
    selectors = read_selectors(args.selectors) if args.selectors else None
    kind = SourceKind(args.kind) if args.kind else None
    snapshot = preview(
        args.source, kind=kind, selectors=selectors, allow_private=args.allow_private_addresses
    )
    if args.json:
        json.dump(snapshot_to_json(snapshot), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(snapshot))
    return 0

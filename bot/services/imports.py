"""Adding the feeds of an OPML import: each through /source add's path (fetched once through
the poll pipeline, then saved), a few at a time, within the server's quota of sources.

The quota is settled when the import starts: the feeds the server follows already (the same
address in the story the plan gives it) are passed over without a fetch, the first feeds that
fit in the room left are added, and the rest are reported over the quota. So an import never
fetches more than the quota allows, and its answer can say beforehand what it will try.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.delivery.sanitize import clean_markdown, clip, safe_url
from bot.errors import ExtractError, FetchError
from bot.runtime import Runtime
from bot.services.common import MAX_SOURCES_PER_GUILD, Refusal, plural
from bot.services.opml import ImportPlan, PlannedFeed, Skipped, SkipReason
from bot.services.sources import OverQuota, add_source
from bot.sources.addresses import AddressRefused
from bot.store import Store

log = logging.getLogger(__name__)

CONCURRENCY = 4  # feeds fetched at once by one import

Progress = Callable[[int, int], Awaitable[None]]  # (feeds done, feeds to do)


@dataclass(frozen=True, slots=True)
class Added:
    url: str
    story: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: tuple[Added, ...]
    already: tuple[Added, ...]  # followed by the server before, in the story planned
    skipped: tuple[Skipped, ...]  # the plan's and the import's, in that order


async def followed(store: Store, guild_id: int) -> dict[str, set[str]]:
    """{story name casefolded: its source URLs} of the server's own stories; "" holds them all."""
    found: dict[str, set[str]] = {"": set()}
    for story in await store.stories_for_guild(guild_id):
        if story.guild_id is None:
            continue
        urls = {s.url for s in await store.sources_of_story(story.id)}
        found[story.name.casefold()] = urls
        found[""] |= urls
    return found


def _already(feed: PlannedFeed, known: dict[str, set[str]]) -> bool:
    key = "" if feed.story is None else feed.story.casefold()
    return feed.url in known.get(key, set())


async def run_import(
    runtime: Runtime,
    guild_id: int,
    plan: ImportPlan,
    *,
    now: datetime,
    progress: Progress | None = None,
    concurrency: int = CONCURRENCY,
) -> ImportResult:
    """Add the plan's feeds to the server's stories; every one not added is said with why."""
    store = runtime.store
    known = await followed(store, guild_id)
    room = max(0, MAX_SOURCES_PER_GUILD - await store.count_guild_sources(guild_id))
    already = [f for f in plan.feeds if _already(f, known)]
    todo = [f for f in plan.feeds if not _already(f, known)]
    tried, over = todo[:room], todo[room:]
    outcomes: list[Added | Skipped | None] = [None] * len(tried)
    gate = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def add(index: int, feed: PlannedFeed) -> None:
        nonlocal done
        async with gate:
            outcomes[index] = await _add_one(runtime, guild_id, feed, now)
        done += 1
        if progress is not None:
            await progress(done, len(tried))

    await asyncio.gather(*(add(i, feed) for i, feed in enumerate(tried)))
    added = tuple(o for o in outcomes if isinstance(o, Added))
    failed = [o for o in outcomes if isinstance(o, Skipped)]
    quota = [Skipped(f.url, f.text, SkipReason.OVER_QUOTA) for f in over]
    log.info(
        "guild %s imported %d of %d feeds (%d followed already)",
        guild_id,
        len(added),
        len(plan.feeds),
        len(already),
    )
    return ImportResult(
        added=added,
        already=tuple(Added(f.url, f.story or "") for f in already),
        skipped=(*plan.skipped, *failed, *quota),
    )


async def _add_one(
    runtime: Runtime, guild_id: int, feed: PlannedFeed, now: datetime
) -> Added | Skipped:
    try:
        result = await add_source(runtime, guild_id, feed.url, story=feed.story, now=now)
    except Refusal as refusal:
        reason, detail = skip_reason(refusal)
        return Skipped(feed.url, feed.text, reason, detail)
    except Exception:  # one feed's surprise must not sink the others; the log keeps it
        log.exception("guild %s: importing %s failed", guild_id, feed.url)
        return Skipped(feed.url, feed.text, SkipReason.REFUSED, "an error on Bulletin's side")
    return Added(feed.url, result.story.name)


def skip_reason(refusal: Refusal) -> tuple[SkipReason, str]:
    """The code and the short detail of /source add's refusal of one feed."""
    cause = refusal.__cause__
    if isinstance(refusal, OverQuota):
        return SkipReason.OVER_QUOTA, ""
    if isinstance(cause, AddressRefused):
        return SkipReason.REFUSED_ADDRESS, str(cause).removeprefix("address refused: ")
    if isinstance(cause, ExtractError):
        return SkipReason.NOT_A_FEED, str(cause)
    if isinstance(cause, FetchError):
        return SkipReason.UNREACHABLE, str(cause)
    return SkipReason.REFUSED, str(refusal)


def summary_lines(result: ImportResult) -> list[str]:
    """The import's answer: what was added where, then every outline not added with why."""
    lines = [f"**Imported {plural(len(result.added), 'feed')}.**"]
    for story, urls in _by_story(result.added):
        name = clean_markdown(story, one_line=True)
        lines.append(f"“{name}”: {plural(len(urls), 'source')} added")
    if result.already:
        lines.append(f"{plural(len(result.already), 'feed')} followed here already.")
    if result.skipped:
        lines.append("")
        lines.append(f"**Not added ({len(result.skipped)}):**")
        lines.extend(skipped_line(s) for s in result.skipped)
    if result.added:
        lines.append("")
        lines.append("Use /subscribe to post these stories in a channel.")
    return lines


def skipped_line(skipped: Skipped) -> str:
    """One outline not added: its text, its address, why (the file's words made inert)."""
    name = ""
    if skipped.text and skipped.text != skipped.url:
        name = clean_markdown(clip(skipped.text, 100), one_line=True) + " "
    return f"• {name}{shown_url(skipped.url)} — {clip(skipped.describe(), 300)}"


def shown_url(url: str) -> str:
    """An address as a reply shows it: http(s) ones as links without a preview."""
    if not url:
        return "(no address)"
    link = safe_url(url)
    if link is not None and len(link) <= 300:
        return f"<{link}>"
    return clean_markdown(clip(url, 200), one_line=True)


def _by_story(added: Sequence[Added]) -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for one in added:
        groups.setdefault(one.story, []).append(one.url)
    return list(groups.items())

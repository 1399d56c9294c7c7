"""Managing a server's sources: add (fetch once, preview, save), remove, list, status, pause."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime

import yarl

from bot import limits
from bot.delivery.sanitize import clip
from bot.errors import ExtractError, FetchError
from bot.model import KeyPointsKind, PauseReason, Snapshot, SourceKind
from bot.polling.pipeline import Read, read_source, record_snapshot
from bot.runtime import Runtime
from bot.services.common import MAX_SOURCES_PER_GUILD, Refusal, plural, when
from bot.services.stories import find_own_story, find_story, is_config_story
from bot.sources.addresses import AddressRefused
from bot.store import SourceRecord, Store, StoryRecord

log = logging.getLogger(__name__)

MAX_STORY_NAME = 100
MAX_URL = 2000


class OverQuota(Refusal):
    """The server follows as many sources as Bulletin allows."""


def check_url(url: str) -> str:
    """The URL, trimmed, if it is an absolute http(s) URL."""
    url = url.strip().strip("<>")
    try:
        parsed = yarl.URL(url)
    except (ValueError, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise Refusal(f"“{clip(url, 100)}” is not a web address; give one starting with https://")
    if len(url) > MAX_URL:
        raise Refusal(f"That address is longer than {MAX_URL} characters.")
    return url


def check_story_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise Refusal("A story needs a name with at least one letter or digit.")
    return clip(name, MAX_STORY_NAME)


@dataclass(frozen=True, slots=True)
class SourcePreview:
    """What one fetch of a page found, for the moderator to check."""

    url: str
    title: str | None
    kind: SourceKind
    updates: int
    key_points: KeyPointsKind | None
    key_point_items: int


@dataclass(frozen=True, slots=True)
class AddedSource:
    preview: SourcePreview
    story: StoryRecord
    story_created: bool
    source_id: int
    interval: int
    already_there: bool  # the story already had this source


def preview_of(url: str, snapshot: Snapshot) -> SourcePreview:
    kp = snapshot.key_points
    return SourcePreview(
        url=url,
        title=snapshot.title,
        kind=snapshot.kind,
        updates=len(snapshot.entries),
        key_points=None if kp is None else kp.kind,
        key_point_items=0 if kp is None else len(kp.items),
    )


async def read_page(runtime: Runtime, url: str) -> Read:
    """Fetch and read a page once, as a poll reads it (extraction off the event loop)."""
    return await read_source(runtime.fetcher, runtime.extractor, url)


def _interval(runtime: Runtime, interval: int | None) -> int:
    polling = runtime.config.polling
    if interval is None:
        return polling.interval
    if interval < polling.min_interval:
        raise Refusal(
            f"Sources are checked at most every {polling.min_interval} seconds; "
            f"give an interval of {polling.min_interval} or more."
        )
    return interval


async def _story_for(
    store: Store, guild_id: int, story: str | None, title: str | None, url: str
) -> tuple[str, StoryRecord | None]:
    """(name, existing own story or None): the named story, else one named after the page."""
    visible = {s.name.casefold(): s for s in await store.stories_for_guild(guild_id)}
    own = {s.name.casefold(): s for s in await store.stories_for_guild(guild_id) if s.guild_id}
    if story is not None:
        name = check_story_name(story)
        if name.casefold() in own:
            return name, own[name.casefold()]
        if name.casefold() in visible:
            raise Refusal(
                f"“{name}” comes from Bulletin's config file and is managed there; "
                "choose another story name."
            )
        return name, None
    name = check_story_name(title or yarl.URL(url).host or url)
    if name.casefold() in own:
        return name, own[name.casefold()]
    base, n = name, 2
    while name.casefold() in visible:  # a config story of that name: keep ours apart
        name = f"{clip(base, MAX_STORY_NAME - 5)} ({n})"
        n += 1
    return name, None


async def add_source(
    runtime: Runtime,
    guild_id: int,
    url: str,
    *,
    story: str | None = None,
    interval: int | None = None,
    now: datetime,
) -> AddedSource:
    """Fetch the page once, then save it to a story of this server (see /source add)."""
    store = runtime.store
    url = check_url(url)
    seconds = _interval(runtime, interval)
    if await store.count_guild_sources(guild_id) >= MAX_SOURCES_PER_GUILD:
        raise OverQuota(
            f"This server follows {MAX_SOURCES_PER_GUILD} sources already, the most Bulletin "
            "allows; remove one with /source remove first."
        )
    try:
        read = await read_page(runtime, url)
    except AddressRefused as error:
        raise Refusal(
            f"Bulletin follows only public web addresses ({clip(str(error), 300)})."
        ) from error
    except FetchError as error:
        raise Refusal(
            f"Bulletin could not fetch that address: {clip(str(error), 300)}. Check that it "
            "opens in a browser, then try /source add again."
        ) from error
    except ExtractError as error:
        raise Refusal(
            f"Bulletin cannot follow that address: it is {clip(str(error), 300)}. Give the "
            "story's live page (live updates), a page with a key-points box, or an RSS, Atom "
            "or JSON feed."
        ) from error
    snapshot = read.snapshot
    assert snapshot is not None  # a first fetch asks for no validators: it has a body
    preview = preview_of(url, snapshot)
    name, existing = await _story_for(store, guild_id, story, snapshot.title, url)
    already = False
    if existing is not None:
        already = any(s.url == url for s in await store.sources_of_story(existing.id))
    story_id = await store.ensure_story(name, guild_id=guild_id, now=now)
    source_id = await store.add_source(story_id, url, interval=seconds, now=now)
    source = await store.get_source(source_id)
    if source.baseline_at is None and source.last_polled is None:
        # A source nobody followed before: this fetch is its first poll (the baseline), so
        # /latest and /keypoints work at once and the poller starts from here.
        await record_snapshot(
            store, source_id, snapshot, now=now, rng=random.Random(), fetched=read.fetched
        )
    log.info("guild %s added %s to story %d", guild_id, url, story_id)
    return AddedSource(
        preview=preview,
        story=await store.get_story(story_id),
        story_created=existing is None,
        source_id=source_id,
        interval=seconds,
        already_there=already,
    )


def describe_preview(preview: SourcePreview) -> list[str]:
    """Lines of the /source add answer about what the page holds."""
    kp = "none (an extracted summary of the newest updates will be shown)"
    if preview.key_points is KeyPointsKind.SUMMARY:
        kp = f"{plural(preview.key_point_items, 'item')} (the page's summary)"
    elif preview.key_points is KeyPointsKind.KEY_EVENTS:
        kp = f"{plural(preview.key_point_items, 'item')} (the page's key events)"
    elif preview.kind is not SourceKind.LIVEBLOG:
        kp = "none"
    return [
        f"**{clip(preview.title or preview.url, 200)}**",
        f"Kind: {preview.kind.value}",
        f"Updates found: {preview.updates}",
        f"Key points found: {kp}",
    ]


async def remove_source(store: Store, guild_id: int, story_name: str, url: str | None) -> str:
    """Detach one source from a story of this server; without a URL, remove the whole story
    (its sources and subscriptions). Returns what was done, as a sentence."""
    story = await find_own_story(store, guild_id, story_name)
    sources = await store.sources_of_story(story.id)
    if url is None:
        await store.delete_story(story.id)
        log.info("guild %s removed story %d", guild_id, story.id)
        return (
            f"Removed the story “{story.name}” with its {plural(len(sources), 'source')} "
            "and its subscriptions."
        )
    wanted = url.strip()
    match = next((s for s in sources if s.url == wanted), None)
    if match is None:
        raise Refusal(
            f"“{story.name}” has no source {clip(wanted, 200)}; /source list shows its sources."
        )
    await store.remove_source(story.id, match.id)
    log.info("guild %s removed source %d from story %d", guild_id, match.id, story.id)
    left = len(sources) - 1
    return f"Removed {match.url} from “{story.name}” ({plural(left, 'source')} left)."


async def source_choices(
    store: Store, guild_id: int, story_name: str | None, current: str
) -> list[str]:
    """URLs for autocomplete: the sources of the chosen story of this server."""
    if not story_name:
        return []
    try:
        story = await find_own_story(store, guild_id, story_name)
    except Refusal:
        return []
    typed = current.strip().casefold()
    urls = [s.url for s in await store.sources_of_story(story.id) if typed in s.url.casefold()]
    return [u for u in urls if len(u) <= limits.CHOICE_NAME][: limits.AUTOCOMPLETE_CHOICES]


async def list_sources(store: Store, guild_id: int) -> list[tuple[StoryRecord, list[SourceRecord]]]:
    """This server's stories (the config's too, read-only) and their sources."""
    return [
        (story, await store.sources_of_story(story.id))
        for story in await store.stories_for_guild(guild_id)
    ]


def source_status_lines(source: SourceRecord) -> list[str]:
    """One source's polling health, for /source status."""
    lines = [f"<{source.url}>"]
    state = source.status.value
    if source.auto_paused:
        state = (
            f"paused after repeated failures (probed every 30 minutes): {source.auto_pause_reason}"
        )
    lines.append(f"Status: {state}; checked every {source.interval} s")
    lines.append(
        f"Last poll: {when(source.last_polled)} · last change: {when(source.last_changed)}"
    )
    if source.last_error:
        lines.append(
            f"Last error: {clip(source.last_error, 300)} ({when(source.last_error_at)}), "
            f"{plural(source.failures, 'failure')} in a row"
        )
    else:
        lines.append("Last error: none")
    lines.append(f"Next check: {when(source.next_check)}")
    return lines


async def status_report(store: Store, guild_id: int, story_name: str | None) -> list[str]:
    """Lines of /source status for one story or all the server can see."""
    if story_name:
        stories = [await find_story(store, guild_id, story_name)]
    else:
        stories = await store.stories_for_guild(guild_id)
    if not stories:
        return ["This server follows no stories yet. Add one with /source add."]
    lines: list[str] = []
    for story in stories:
        header = f"__{story.name}__"
        if is_config_story(story):
            header += " (from the config file)"
        if story.paused_at is not None:
            header += f" — paused {when(story.paused_at)}"
        lines.append(header)
        sources = await store.sources_of_story(story.id)
        if not sources:
            lines.append("No sources.")
        for source in sources:
            lines.extend(source_status_lines(source))
        lines.append("")
    return lines


async def set_paused(
    store: Store, guild_id: int, story_name: str, paused: bool, *, now: datetime
) -> str:
    story = await find_own_story(store, guild_id, story_name)
    if paused and story.paused_at is not None:
        return f"“{story.name}” is already paused; /source resume starts it again."
    if not paused and story.paused_at is None:
        return f"“{story.name}” is not paused; /source status shows how its sources are doing."
    await store.set_story_paused(story.id, paused, reason=PauseReason.MODERATOR, now=now)
    log.info("guild %s %s story %d", guild_id, "paused" if paused else "resumed", story.id)
    if paused:
        return f"Paused “{story.name}”: nothing is checked or posted until /source resume."
    return f"Resumed “{story.name}”: Bulletin checks it again and posts what is new."

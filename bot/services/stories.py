"""Stories as a server sees them: its own and the config's, their status, updates, key points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import limits
from bot.model import Entry, KeyPointsKind, PauseReason, StoryStatus
from bot.services.common import Refusal
from bot.sources.summary import extracted_key_points
from bot.store import SourceRecord, Store, StoredEntryRecord, StoryRecord
from bot.wording import pause_text

MAX_CHOICES = limits.AUTOCOMPLETE_CHOICES
# How many of the newest stored updates an extracted summary is made from.
SUMMARY_FROM = 20
_STATUS_ORDER = (StoryStatus.LIVE, StoryStatus.QUIET, StoryStatus.ENDED)


def is_config_story(story: StoryRecord) -> bool:
    return story.guild_id is None


async def find_story(store: Store, guild_id: int, name: str) -> StoryRecord:
    """The story of that name this server can see (its own before the config's)."""
    wanted = name.strip().casefold()
    matches = [s for s in await store.stories_for_guild(guild_id) if s.name.casefold() == wanted]
    if not matches:
        raise Refusal(
            f"There is no story called “{name.strip()}” in this server. "
            "Use /stories to see the stories you can follow."
        )
    matches.sort(key=lambda s: s.guild_id is None)  # the server's own first
    return matches[0]


async def find_own_story(store: Store, guild_id: int, name: str) -> StoryRecord:
    """A story this server manages; the config's stories are managed in the config file."""
    story = await find_story(store, guild_id, name)
    if is_config_story(story):
        raise Refusal(
            f"“{story.name}” comes from Bulletin's config file; its sources are managed there, "
            "by whoever runs the bot."
        )
    return story


async def story_choices(
    store: Store, guild_id: int, current: str, *, own_only: bool = False
) -> list[str]:
    """Story names for autocomplete: those containing what was typed, prefix matches first."""
    typed = current.strip().casefold()
    names: list[str] = []
    for story in await store.stories_for_guild(guild_id):
        if own_only and is_config_story(story):
            continue
        if typed in story.name.casefold() and story.name not in names:
            names.append(story.name)
    names.sort(key=lambda n: (not n.casefold().startswith(typed), n.casefold()))
    return names[:MAX_CHOICES]


@dataclass(frozen=True, slots=True)
class StoryOverview:
    story: StoryRecord
    status: str  # live, quiet, ended, paused, no sources
    detail: str | None  # why paused
    last_update: datetime | None
    sources: int


def story_status(story: StoryRecord, sources: list[SourceRecord]) -> tuple[str, str | None]:
    """(status, detail): a moderator's pause, else every source failing, else the liveliest."""
    if story.paused_at is not None:
        return "paused", pause_text(story.pause_reason or PauseReason.MODERATOR)
    if not sources:
        return "no sources", None
    if all(source.auto_paused for source in sources):
        reason = sources[0].auto_pause_reason or sources[0].last_error
        return "paused", f"the source keeps failing: {reason}" if reason else "sources failing"
    active = [s.status for s in sources if not s.auto_paused]
    best = min(active, key=_STATUS_ORDER.index)
    return best.value, None


async def overview(store: Store, guild_id: int) -> list[StoryOverview]:
    """Every story the server can see, with its status and last update."""
    result = []
    for story in await store.stories_for_guild(guild_id):
        sources = await store.sources_of_story(story.id)
        status, detail = story_status(story, sources)
        updates = [s.last_update_at for s in sources if s.last_update_at is not None]
        result.append(
            StoryOverview(
                story=story,
                status=status,
                detail=detail,
                last_update=max(updates) if updates else None,
                sources=len(sources),
            )
        )
    return result


async def latest(
    store: Store, guild_id: int, name: str, count: int
) -> tuple[StoryRecord, list[StoredEntryRecord]]:
    """The story and its `count` newest updates, newest first."""
    story = await find_story(store, guild_id, name)
    entries = await store.latest_entries(story.id, limit=max(1, min(count, 10)))
    if not entries:
        sources = await store.sources_of_story(story.id)
        if not sources:
            raise Refusal(f"“{story.name}” has no sources yet; a moderator can add one.")
        raise Refusal(
            f"Nothing has been read from “{story.name}” yet; try again in a minute or two."
        )
    return story, entries


@dataclass(frozen=True, slots=True)
class KeyPointsView:
    """Key points to show: the source's own, or an extracted summary (`extracted` True)."""

    kind: KeyPointsKind
    items: tuple[str, ...]
    changed_at: datetime | None
    url: str | None

    @property
    def extracted(self) -> bool:
        return self.kind is KeyPointsKind.EXTRACTED


async def key_points(
    store: Store, guild_id: int, name: str
) -> tuple[StoryRecord, list[KeyPointsView]]:
    """The story's current key points, per source that has its own; otherwise one summary
    extracted from the newest stored updates (computed now, never stored)."""
    story = await find_story(store, guild_id, name)
    own = [
        KeyPointsView(kind=kp.kind, items=kp.items, changed_at=kp.changed_at, url=kp.source_url)
        for kp in await store.current_key_points(story.id)
        if kp.items
    ]
    if own:
        return story, own
    records = await store.latest_entries(story.id, limit=SUMMARY_FROM)
    entries: list[Entry] = [record.entry for record in reversed(records)]  # oldest first
    summary = extracted_key_points(entries)
    if summary is None:
        raise Refusal(
            f"“{story.name}” has no key points yet: its sources show none and there are no "
            "updates to summarise. Try /latest."
        )
    newest = records[0]
    url = (await store.get_source(newest.source_id)).url  # the page, not one update
    view = KeyPointsView(
        kind=KeyPointsKind.EXTRACTED,
        items=summary.items,
        changed_at=newest.entry.published or newest.first_seen,
        url=url,
    )
    return story, [view]

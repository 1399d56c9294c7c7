"""What the status page shows, read from the store and put in the shape its templates draw.

`index_page` reads everything in seven queries whatever the number of stories (every story,
every source, current key points, the newest updates of each source, the outbox's backlog,
subscriptions, the last deliveries); `story_page` reads one story in full. Server and channel
names come from the Discord connection when there is one (the page is the operator's).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bot.delivery.render import RenderContext, key_points_embed, update_embed
from bot.model import KeyPoints, KeyPointsKind, PauseReason
from bot.observe import Gateway
from bot.services.stories import story_status
from bot.sources.summary import extracted_key_points
from bot.store import (
    DeliveryAttempt,
    KeyPointsRecord,
    KeyPointsVersion,
    SourceRecord,
    Store,
    StoredEntryRecord,
    StoryRecord,
    SubscriptionRecord,
)
from bot.web.embeds import EmbedView, embed_view
from bot.web.metrics import Metrics, PollSeen
from bot.web.states import SourceState, source_state
from bot.wording import pause_text

UPDATES_SHOWN = 5
DELIVERIES_SHOWN = 50
STORY_UPDATES = 10
STORY_DELIVERIES = 20
KEY_POINT_VERSIONS = 10

_OUTCOME_WORDS = {
    "changed": "read a new version",
    "not_modified": "not modified (304)",
    "unchanged": "same as last time",
    "failed": "failed",
}


class Names:
    """Server and channel names, when the Discord connection knows them."""

    def __init__(self, gateway: Gateway | None) -> None:
        self._gateway = gateway

    def server(self, guild_id: int | None) -> str:
        if guild_id is None:
            return "config file"
        name = self._gateway.guild_name(guild_id) if self._gateway is not None else None
        return name or f"server {guild_id}"

    def channel(self, channel_id: int | None) -> str:
        if channel_id is None:
            return "console"
        name = self._gateway.channel_name(channel_id) if self._gateway is not None else None
        return f"#{name}" if name else f"channel {channel_id}"


@dataclass(frozen=True, slots=True)
class SourceView:
    source: SourceRecord
    state: SourceState
    last_outcome: str
    host: str

    @property
    def kind(self) -> str:
        return self.source.kind.value if self.source.kind is not None else "detected"


@dataclass(slots=True)
class StoryView:
    story: StoryRecord
    server: str
    status: str
    detail: str | None
    sources: list[SourceView] = field(default_factory=list)
    key_points: list[KeyPointsRecord] = field(default_factory=list)
    updates: list[StoredEntryRecord] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PausedView:
    story: str
    channel: str
    why: str
    since: datetime | None


@dataclass(frozen=True, slots=True)
class BacklogView:
    server: str
    pending: int
    retrying: int
    held: int
    oldest: datetime | None
    paused: list[PausedView]


@dataclass(frozen=True, slots=True)
class DeliveryView:
    attempt: DeliveryAttempt
    server: str
    story: str
    channel: str
    why: str | None


@dataclass(frozen=True, slots=True)
class IndexPage:
    now: datetime
    mode: str
    stories: list[StoryView]
    states: dict[SourceState, int]
    backlog: list[BacklogView]
    deliveries: list[DeliveryView]

    @property
    def waiting(self) -> int:
        return sum(server.pending for server in self.backlog)


def last_outcome(source: SourceRecord, recent: list[PollSeen]) -> str:
    """How the source's last poll went: this process's record of it when it made it, else
    what the source's row says."""
    if recent and (source.last_polled is None or recent[0].at >= source.last_polled):
        seen = recent[0]
        words = _OUTCOME_WORDS[seen.outcome.value]
        if seen.changes:
            words += f": {seen.changes} change{'s' if seen.changes != 1 else ''}"
        return words
    if source.last_polled is None:
        return "not polled yet"
    if source.failures:
        return "failed"
    if source.last_changed is not None and source.last_changed == source.last_polled:
        return "found changes"
    return "nothing new"


def _source_view(source: SourceRecord, story: StoryRecord, metrics: Metrics | None) -> SourceView:
    recent = metrics.recent_polls(source.id) if metrics is not None else []
    return SourceView(
        source=source,
        state=source_state(source, story_paused=story.paused_at is not None),
        last_outcome=last_outcome(source, recent),
        host=urlsplit(source.url).hostname or source.url,
    )


def _newest(entries: list[StoredEntryRecord], count: int) -> list[StoredEntryRecord]:
    def key(record: StoredEntryRecord) -> datetime:
        return record.entry.published or record.first_seen

    return sorted(entries, key=key, reverse=True)[:count]


def _why(attempt: DeliveryAttempt) -> str | None:
    if attempt.outcome.value == "sent":
        return attempt.detail
    if attempt.outcome.value == "paused" and attempt.reason:
        try:
            return pause_text(PauseReason(attempt.reason), attempt.detail)
        except ValueError:
            return attempt.detail or attempt.reason
    return attempt.detail or attempt.reason


def _deliveries(
    attempts: list[DeliveryAttempt], names: Names, story_names: dict[int, str]
) -> list[DeliveryView]:
    return [
        DeliveryView(
            attempt=attempt,
            server=names.server(attempt.guild_id),
            story=story_names.get(attempt.story_id, "") if attempt.story_id is not None else "",
            channel=names.channel(attempt.channel_id),
            why=_why(attempt),
        )
        for attempt in attempts
    ]


def _paused(
    subscriptions: list[SubscriptionRecord], names: Names, story_names: dict[int, str]
) -> dict[int | None, list[PausedView]]:
    found: dict[int | None, list[PausedView]] = defaultdict(list)
    for sub in subscriptions:
        if sub.paused_at is None:
            continue
        found[sub.guild_id].append(
            PausedView(
                story=story_names.get(sub.story_id, f"story {sub.story_id}"),
                channel=names.channel(sub.channel_id),
                why=pause_text(sub.pause_reason, sub.pause_detail),
                since=sub.paused_at,
            )
        )
    return found


async def index_page(
    store: Store, gateway: Gateway | None, metrics: Metrics | None, *, discord: bool
) -> IndexPage:
    """Everything the front page shows."""
    names = Names(gateway)
    stories = await store.all_stories()
    by_story: dict[int, list[SourceRecord]] = defaultdict(list)
    for story_id, source in await store.all_story_sources():
        by_story[story_id].append(source)
    key_points: dict[int, KeyPointsRecord] = {
        record.source_id: record for record in await store.newest_key_points()
    }
    entries: dict[int, list[StoredEntryRecord]] = defaultdict(list)
    for record in await store.newest_entries(UPDATES_SHOWN):
        entries[record.source_id].append(record)
    views = []
    states = dict.fromkeys(SourceState, 0)  # each source once, however many stories use it
    counted: set[int] = set()
    for story in stories:
        sources = by_story.get(story.id, [])
        status, detail = story_status(story, sources)
        view = StoryView(story, names.server(story.guild_id), status, detail)
        for source in sources:
            source_view = _source_view(source, story, metrics)
            view.sources.append(source_view)
            if source.id not in counted:
                counted.add(source.id)
                states[source_view.state] += 1
            if source.id in key_points and key_points[source.id].items:
                view.key_points.append(key_points[source.id])
        view.updates = _newest(
            [record for source in sources for record in entries.get(source.id, ())],
            UPDATES_SHOWN,
        )
        views.append(view)
    story_names = {story.id: story.name for story in stories}
    paused = _paused(await store.subscriptions(), names, story_names)
    backlog = [
        BacklogView(
            server=names.server(server.guild_id),
            pending=server.pending,
            retrying=server.retrying,
            held=server.held,
            oldest=server.oldest,
            paused=paused.pop(server.guild_id, []),
        )
        for server in await store.outbox_backlog()
    ]
    backlog += [  # paused subscriptions with nothing waiting for them
        BacklogView(names.server(guild_id), 0, 0, 0, None, subs)
        for guild_id, subs in paused.items()
    ]
    attempts = await store.recent_deliveries(DELIVERIES_SHOWN)
    return IndexPage(
        now=datetime.now(UTC),
        mode="Discord" if discord else "console",
        stories=views,
        states=states,
        backlog=backlog,
        deliveries=_deliveries(attempts, names, story_names),
    )


@dataclass(frozen=True, slots=True)
class SourceDetail:
    view: SourceView
    polls: list[PollSeen]
    versions: list[KeyPointsVersion]


@dataclass(frozen=True, slots=True)
class StoryPage:
    now: datetime
    story: StoryView
    details: list[SourceDetail]
    extracted: KeyPoints | None
    update_preview: list[EmbedView]
    key_points_preview: list[EmbedView]
    subscriptions: list[tuple[SubscriptionRecord, str, str]]  # (sub, server, channel)
    deliveries: list[DeliveryView]


async def story_page(
    store: Store, story_id: int, gateway: Gateway | None, metrics: Metrics | None
) -> StoryPage:
    """One story in full (StoreError when there is no such story)."""
    names = Names(gateway)
    story = await store.get_story(story_id)
    sources = await store.sources_of_story(story_id)
    status, detail = story_status(story, sources)
    view = StoryView(story, names.server(story.guild_id), status, detail)
    details = []
    for source in sources:
        source_view = _source_view(source, story, metrics)
        view.sources.append(source_view)
        polls = metrics.recent_polls(source.id) if metrics is not None else []
        versions = await store.key_point_versions(source.id, KEY_POINT_VERSIONS)
        details.append(SourceDetail(source_view, polls, versions))
    view.key_points = [kp for kp in await store.current_key_points(story_id) if kp.items]
    view.updates = await store.latest_entries(story_id, limit=STORY_UPDATES)
    extracted = None
    if not view.key_points and view.updates:
        extracted = extracted_key_points([record.entry for record in reversed(view.updates)])
    urls = {source.id: source.url for source in sources}
    update_preview: list[EmbedView] = []
    if view.updates:
        newest = view.updates[0]
        ctx = _context(story, urls.get(newest.source_id))
        update_preview = [embed_view(update_embed(newest.entry, ctx))]
    shown = (
        KeyPoints(view.key_points[0].kind, view.key_points[0].items)
        if view.key_points
        else extracted
    )
    key_points_preview: list[EmbedView] = []
    if shown is not None:
        url = view.key_points[0].source_url if view.key_points else next(iter(urls.values()), None)
        key_points_preview = [embed_view(key_points_embed(shown, _context(story, url)))]
    subscriptions = [
        (sub, names.server(sub.guild_id), names.channel(sub.channel_id))
        for sub in await store.subscriptions(story_id=story_id)
    ]
    attempts = await store.recent_deliveries(STORY_DELIVERIES, story_id=story_id)
    return StoryPage(
        now=datetime.now(UTC),
        story=view,
        details=details,
        extracted=extracted,
        update_preview=update_preview,
        key_points_preview=key_points_preview,
        subscriptions=subscriptions,
        deliveries=_deliveries(attempts, names, {story.id: story.name}),
    )


def _context(story: StoryRecord, url: str | None) -> RenderContext:
    """As the Discord sink builds it for a row of this story."""
    return RenderContext(
        story_name=story.name,
        story_key=story.id,
        source_name=urlsplit(url).hostname if url else None,
        source_url=url,
    )


def kind_label(kind: KeyPointsKind) -> str:
    return {
        KeyPointsKind.SUMMARY: "summary",
        KeyPointsKind.KEY_EVENTS: "key events",
        KeyPointsKind.EXTRACTED: "extracted from recent updates",
    }[kind]


__all__ = ["IndexPage", "StoryPage", "index_page", "kind_label", "story_page"]

"""The store's interface: what Bulletin keeps, whatever keeps it.

One abstract class per concern (stories and sources; polls; leases on sources; entries and key
points; servers and subscriptions; the outbox; what happened to an update; beside this file,
what the web window reads in `overview.py` and publishing's budget in `publishing.py`), and
`Store`, all of them together: each backend implements `Store`
(`bot.store.sqlite.SQLiteStore`, `bot.store.postgres.PostgresStore`), and the store's
conformance suite in tests/store runs against every backend. The store keeps and hands out
data; it decides nothing: which subscription gets which change, filters and a story's status
are the callers' pure functions.

Every method that writes does so in one transaction; times are timezone-aware datetimes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from bot.model import DigestContent, Mode, PauseReason, Snapshot, SourceKind
from bot.outcome import Outcome
from bot.store.election import Election
from bot.store.overview import StatusStore
from bot.store.poll_record import PollRecord, PollState, SiblingSource, Subscriber
from bot.store.publishing import PublishingStore
from bot.store.records import (
    Backfill,
    Delivery,
    DeliveryAttempt,
    DeliveryHealth,
    KeyPointsRecord,
    MessageEntry,
    PostedMessage,
    SourceRecord,
    StoredEntryRecord,
    StoryRecord,
    SubscriptionRecord,
)
from bot.store.trail import DigestShown, OutboxRow, RoutingDecision

DEFAULT_RETENTION = timedelta(days=30)


class StoriesStore(ABC):
    """Stories and sources."""

    @abstractmethod
    async def ensure_story(
        self,
        name: str,
        *,
        guild_id: int | None = None,
        interval: int | None = None,
        now: datetime | None = None,
    ) -> int:
        """The id of the story of that name in that server (None: the config), made if new."""

    @abstractmethod
    async def get_story(self, story_id: int) -> StoryRecord:
        """The story with that id (StoreError when there is none)."""

    @abstractmethod
    async def stories_for_guild(self, guild_id: int | None) -> list[StoryRecord]:
        """The stories a server can see: its own and the config's (rule 9)."""

    @abstractmethod
    async def set_story_paused(
        self,
        story_id: int,
        paused: bool,
        *,
        reason: PauseReason = PauseReason.MODERATOR,
        now: datetime | None = None,
    ) -> None:
        """A moderator's pause: this story (so this server) stops; others sharing a URL do not."""

    @abstractmethod
    async def add_source(
        self,
        story_id: int,
        url: str,
        *,
        kind: SourceKind | None = None,
        selectors: Mapping[str, str] | None = None,
        interval: int = 60,
        retention_days: int | None = None,
        now: datetime | None = None,
    ) -> int:
        """Attach a URL to a story. One URL is one source whatever the stories and servers
        that follow it; it is polled at the shortest interval any of them asked for.
        """

    @abstractmethod
    async def remove_source(self, story_id: int, source_id: int) -> None:
        """Detach a source from one story; the source stays for the others that use it."""

    @abstractmethod
    async def get_source(self, source_id: int) -> SourceRecord:
        """The source with that id (StoreError when there is none)."""

    @abstractmethod
    async def sources_of_story(self, story_id: int) -> list[SourceRecord]:
        """A story's sources, in the order they were added."""

    @abstractmethod
    async def count_guild_sources(self, guild_id: int) -> int:
        """How many (story, source) links a server's own stories hold (its source quota)."""

    @abstractmethod
    async def delete_story(self, story_id: int) -> None:
        """Remove a story with its subscriptions and pending deliveries; its sources stay for
        the other stories that use them (a source no story uses is no longer polled).
        """


class PollsStore(ABC):
    """Polls."""

    @abstractmethod
    async def due_sources(
        self, now: datetime, limit: int, *, after: tuple[datetime, int] | None = None
    ) -> list[SourceRecord]:
        """Up to LIMIT sources whose next check has come and that an active story still
        uses, the longest due first (by next check, then id); with AFTER, only those after
        that (next check, id) in this order, so a reader goes on where it stopped (an index's
        walk, which costs nothing for the sources before it); none whose lease another process
        holds (PostgreSQL)."""

    @abstractmethod
    async def poll_state(self, source_id: int, snapshot: Snapshot, *, now: datetime) -> PollState:
        """The stored state of a source that the diff of SNAPSHOT needs: the source itself
        (with its version), the stored entries among the snapshot's ids, those pruned since
        (tombstones), the current key-point version when the snapshot has key points, and
        which stored entries' last-seen mark is due a refresh as of NOW (refreshed hourly, so
        that an unchanged poll writes almost nothing)."""

    @abstractmethod
    async def entry_words(
        self, source_id: int, entry_ids: Sequence[str]
    ) -> dict[str, tuple[str | None, str]]:
        """{entry id: (title, text)} as stored, for describing edits."""

    @abstractmethod
    async def subscribers(self, source_id: int) -> list[Subscriber]:
        # A subscription paused by a delivery fault (Discord's 403/404) still gets its rows:
        # they wait, unsent, until `/subscribe` there again resumes it ("nothing is lost").
        """The subscriptions of active stories that use the source, in id order: where
        its changes may go (mode routing and filters are the caller's)."""

    @abstractmethod
    async def sibling_sources(self, source_id: int) -> list[SiblingSource]:
        """Every source of every story using the source (itself included), with its status:
        what a story's status is made of."""

    @abstractmethod
    async def record_poll(self, record: PollRecord) -> None:
        """Record one poll, whatever its outcome, in one transaction: the source's fetch
        state, status and next check, the entries, key-point version and outbox rows of
        its changes, why subscriptions were left without its updates and edits (`left_out`),
        and the alert it calls for. Raises `StalePoll`, writing nothing,
        when the source (or, with `siblings`, another source of its stories) was
        recorded since the poll was planned, and `LeaseLost` when the poll was taken under a
        lease (`record.lease`) that another process holds now. A recorded poll releases its
        lease."""


class LeasesStore(ABC):
    """Which process of a fleet polls a due source: a lease on it, renewed while its poll runs
    and expiring, so that a dead process's sources are taken over."""

    @abstractmethod
    async def claim_sources(
        self, source_ids: Sequence[int], *, owner: str, now: datetime, until: datetime
    ) -> list[int]:
        """Lease to OWNER, until UNTIL, those of SOURCE_IDS still due at NOW whose lease is
        free (never taken, released, or expired): each source is claimed by one process of a
        fleet, the others skip it (PostgreSQL: `FOR UPDATE SKIP LOCKED`). The ids claimed, in
        order. An SQLite file serves one process: its claims ignore older leases."""

    @abstractmethod
    async def renew_leases(
        self, source_ids: Sequence[int], *, owner: str, until: datetime
    ) -> list[int]:
        """Move the leases OWNER still holds on SOURCE_IDS (expired ones too, unless taken over;
        not those released by their poll's record) to UNTIL: the ids renewed."""


class EntriesStore(ABC):
    """Entries and key points."""

    @abstractmethod
    async def latest_entries(self, story_id: int, limit: int = 5) -> list[StoredEntryRecord]:
        """The newest entries of a story's sources, newest first."""

    @abstractmethod
    async def entries_since(
        self, story_id: int, since: datetime, until: datetime | None = None
    ) -> list[StoredEntryRecord]:
        """The posted entries of a story first seen after SINCE (and not after UNTIL), oldest
        first (digests)."""

    @abstractmethod
    async def get_entry(self, source_id: int, entry_id: str) -> StoredEntryRecord | None:
        """One stored entry of a source, or None."""

    @abstractmethod
    async def current_key_points(self, story_id: int) -> list[KeyPointsRecord]:
        """The current key-point version of each source of a story, and when it changed."""

    @abstractmethod
    async def key_points_changed_since(
        self, story_id: int, since: datetime, until: datetime | None = None
    ) -> bool:
        """Did any source of the story get a new key-point version after SINCE (and not after
        UNTIL)?"""

    @abstractmethod
    async def prune(self, now: datetime, retention: timedelta = DEFAULT_RETENTION) -> int:
        """Forget entries not seen for the retention window (a source's own, else `retention`),
        keeping a tombstone (a 63-bit key of the id) so that they never come back as new.
        Tombstones are kept for good: about 30 bytes each, probed only for unknown ids. Also
        drops delivered outbox rows (and the record of what their messages showed), the
        delivery history and the routing decisions older than the window, and servers gone
        for 7 days.
        Returns the number of entries pruned.
        """


class SubscriptionsStore(ABC):
    """Servers and subscriptions."""

    @abstractmethod
    async def queue_backfill(
        self, subscription_id: int, entries: Sequence[StoredEntryRecord], *, now: datetime
    ) -> Backfill:
        """Queue ENTRIES (oldest first) for one subscription as new-update deliveries
        marked `backfill`, leaving out those it posted or queued already; the number
        queued, with how many were left out as `already`."""

    @abstractmethod
    async def delivery_health(self, guild_id: int) -> dict[int, DeliveryHealth]:
        """Per subscription of a server with trouble: deliveries waiting for a retry after a
        failure, deliveries given up, and the newest error.
        """

    @abstractmethod
    async def guild_joined(self, guild_id: int, *, now: datetime) -> None:
        """The bot is in this server (again): it is kept, whatever it left before."""

    @abstractmethod
    async def present_guilds(self) -> list[int]:
        """The servers the store believes the bot is in (not left)."""

    @abstractmethod
    async def guild_left(self, guild_id: int, *, now: datetime) -> None:
        """The bot left this server: its data goes 7 days later (prune) unless it returns."""

    @abstractmethod
    async def set_alerts_channel(self, guild_id: int, channel_id: int | None) -> None:
        """Where the server's alerts go (None: its system channel)."""

    @abstractmethod
    async def alerts_channel(self, guild_id: int) -> int | None:
        """The server's alerts channel, None when it chose none."""

    @abstractmethod
    async def subscribe(
        self,
        story_id: int,
        *,
        guild_id: int | None,
        channel_id: int | None,
        mode: Mode = Mode.UPDATES,
        every: int | None = None,
        mention_role_id: int | None = None,
        keywords: str | None = None,
        thread: bool = False,
        target: str | None = None,
        now: datetime | None = None,
        exclusions: str | None = None,
        pattern: str | None = None,
        forum: bool = False,
        channel_name: str | None = None,
    ) -> int:
        """Subscribe a channel (or the console: channel_id None) to a story. Subscribing again
        changes the subscription (all its options, filters included) and resumes it if it was
        paused. FORUM: the channel is a forum (one post per story: `thread` is implied);
        CHANNEL_NAME: its name now (kept, so that alerts can name it once it is deleted).
        """

    @abstractmethod
    async def rename_channel(self, channel_id: int, name: str) -> int:
        """Discord renamed a channel: every subscription of it keeps the new name. The number
        of subscriptions changed."""

    @abstractmethod
    async def unsubscribe(self, story_id: int, *, channel_id: int | None) -> bool:
        """Remove the subscription of that story in that channel; False when there was none."""

    @abstractmethod
    async def subscriptions(
        self, *, guild_id: int | None = None, story_id: int | None = None
    ) -> list[SubscriptionRecord]:
        """Subscriptions of a server and/or a story (both None: all)."""

    @abstractmethod
    async def get_subscription(self, subscription_id: int) -> SubscriptionRecord | None:
        """The subscription with that id, or None."""


class OutboxStore(ABC):
    """The outbox: every message Bulletin posts is a row before it is sent, and every attempt
    to send one is recorded with its outcome."""

    @abstractmethod
    async def pending_deliveries(
        self, now: datetime, limit: int = 100, *, targets: Iterable[str] | None = None
    ) -> list[Delivery]:
        """Rows due now, in the order they were written: the rows of running subscriptions
        (none after an earlier row of the same subscription that waits for a retry) and
        alerts. TARGETS ('discord', 'console') keeps only those a running sink can send."""

    @abstractmethod
    async def queue_starter(self, subscription_id: int, *, now: datetime) -> Delivery | None:
        """The pending row that starts a thread-mode (or forum) subscription's thread or post
        (written now unless one waits already); None when the subscription needs none."""

    @abstractmethod
    async def claim(
        self, units: Sequence[tuple[Sequence[int], str, int]], *, now: datetime
    ) -> None:
        """Rows that go out together as one message: (row ids, the message's nonce, the "and K
        more" it says). After a crash they are sent again together, under that nonce; the
        claim's time says whether Discord's nonce window still covers a resend. Rows claimed
        already keep their claim."""

    @abstractmethod
    async def record_delivery(
        self, rows: Sequence[Delivery], outcome: Outcome, *, now: datetime
    ) -> bool:
        """Record one attempt to deliver ROWS (one message) and its outcome, with the attempt
        in the delivery history: sent (and what the message left: what it showed, a thread,
        an edit, an announced status), retry at a time (`Retry.at`), paused (the subscription
        stops, its rows wait unclaimed, and an alert is queued the first time), given up.
        True when this outcome paused a running subscription."""

    @abstractmethod
    async def pause_subscription(
        self, subscription_id: int, *, reason: PauseReason, detail: str | None, now: datetime
    ) -> bool:
        """Stop delivering to a subscription (its rows wait) and queue the alert that says so;
        True when it was running."""

    @abstractmethod
    async def delivery_history(
        self,
        guild_id: int,
        *,
        story_id: int | None = None,
        limit: int = 20,
        subscription_ids: Sequence[int] | None = None,
    ) -> list[DeliveryAttempt]:
        """A server's newest delivery attempts (of one story; of those subscriptions), newest
        first."""

    @abstractmethod
    async def posted_message(
        self, subscription_id: int, source_id: int, entry_id: str
    ) -> PostedMessage | None:
        """The newest message that showed this entry to this subscription, or None."""

    @abstractmethod
    async def message_entries(self, posted: PostedMessage) -> list[MessageEntry]:
        """The updates shown in the (non-digest) message of `posted`, in the message's order,
        so that an edit can rebuild the whole message."""

    @abstractmethod
    async def digest_subscriptions(self) -> list[SubscriptionRecord]:
        """Running digest subscriptions of active stories."""

    @abstractmethod
    async def close_digest(
        self,
        subscription_id: int,
        *,
        since: datetime,
        until: datetime,
        content: DigestContent | None,
        now: datetime,
    ) -> bool:
        """Close a digest period that began at SINCE (the subscription's last close, or its
        creation): the next begins at UNTIL, and CONTENT (None: nothing happened) becomes one
        outbox row. False, writing nothing, when that period was closed already."""


class HistoryStore(ABC):
    """What happened to an update, for each subscription (/why): why it was left out when it
    was routed, the outbox rows about it as they stand, the digests that showed it."""

    @abstractmethod
    async def routing_decisions(
        self, source_id: int, entry_id: str, *, subscription_ids: Sequence[int]
    ) -> list[RoutingDecision]:
        """Why those subscriptions were left without this entry's update or edits, as each poll
        that routed them recorded it, oldest first."""

    @abstractmethod
    async def entry_outbox(
        self, source_id: int, entry_id: str, *, subscription_ids: Sequence[int]
    ) -> list[OutboxRow]:
        """The outbox rows about this entry (its update, a backfill of it, its edits) of those
        subscriptions as they stand, each with its newest attempt's note, oldest first."""

    @abstractmethod
    async def entry_digests(
        self, source_id: int, entry_id: str, *, subscription_ids: Sequence[int]
    ) -> list[DigestShown]:
        """The digest messages that showed this entry to those subscriptions, oldest first."""

    @abstractmethod
    async def digest_row(self, subscription_id: int, *, after: datetime) -> OutboxRow | None:
        """The subscription's first digest row whose period ends at or after AFTER (the digest
        an update first seen then goes in, if its period had anything), or None."""


class Store(
    StoriesStore,
    PollsStore,
    LeasesStore,
    EntriesStore,
    SubscriptionsStore,
    OutboxStore,
    HistoryStore,
    StatusStore,
    PublishingStore,
):
    """Everything Bulletin keeps."""

    @abstractmethod
    async def close(self) -> None:
        """Close the store; nothing may use it afterwards."""

    @abstractmethod
    async def schema_version(self) -> int:
        """The version of the database's schema (its migrations applied)."""

    @abstractmethod
    def delivery_election(self) -> Election:
        """The role of draining the outbox, which one process of a fleet holds at a time
        (`bot.store.election`). Each call is a new candidate: one per process."""

"""/deliveries and /why: what Bulletin did for a story in a server, and what happened to one
update for each of the server's subscriptions to it, and why.

Everything is read from what was recorded at the time: the delivery history (every attempt to
deliver), the outbox rows as they stand, the digests that showed an update, and the routing
decisions a poll wrote when it left a subscription without an update (which filter, and its
value then). Nothing is worked out again from a subscription's options of today.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.delivery.digest import digest_trigger, period_end
from bot.delivery.sanitize import clean_markdown, clip
from bot.diff import id_key
from bot.model import (
    DEFAULT_DIGEST_PERIOD,
    DeliveryKind,
    DeliveryOutcome,
    FailureReason,
    Mode,
    OutboxState,
    PauseReason,
    utc,
)
from bot.services.common import Refusal, when
from bot.services.stories import find_story
from bot.store import (
    DEFAULT_RETENTION,
    DeliveryAttempt,
    OutboxRow,
    RoutingDecision,
    Store,
    StoredEntryRecord,
    StoryRecord,
    SubscriptionRecord,
)
from bot.wording import failure_text, kind_text, left_out_text, pause_text

HISTORY_LIMIT = 20  # /deliveries shows this many of the newest attempts
RECENT_UPDATES = 100  # /why's `update` is one of the story's newest updates
TITLE = 80  # characters of an update's title in a line
_KEY = re.compile(r"#(\d+):([0-9a-f]{1,16})")  # an autocomplete choice's value


def message_link(guild_id: int, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def clock(moment: datetime) -> str:
    """A time of day as Discord shows it in the reader's own time zone ("14:05")."""
    return f"<t:{int(utc(moment).timestamp())}:t>"


def stamp(moment: datetime) -> str:
    """A date and time as Discord shows it in the reader's own time zone."""
    return f"<t:{int(utc(moment).timestamp())}:f>"


def _label(record: StoredEntryRecord) -> str:
    """An update as members know it: its title, else the start of its text."""
    return " ".join((record.entry.title or record.entry.text or record.entry.id).split())


def _quoted(title: str | None) -> str:
    """A source's title in a reply: one line, its Markdown and mention syntax neutralised."""
    return (
        f"“{clip(clean_markdown(title, one_line=True, limit=TITLE), TITLE)}”"
        if title
        else "an untitled update"
    )


def _channel(channel_id: int | None) -> str:
    return f"<#{channel_id}>" if channel_id else "(no channel)"


def _resume_hint(reason: PauseReason | None) -> str:
    if reason is PauseReason.CHANNEL_GONE:
        return "/unsubscribe without a channel removes it"
    return "fix it, then /subscribe there again to resume"


def _failure(code: str | None, detail: str | None) -> str:
    try:
        reason = FailureReason(code) if code else None
    except ValueError:
        reason = None
    return failure_text(reason, detail)


def _pause(code: str | None) -> PauseReason | None:
    try:
        return PauseReason(code) if code else None
    except ValueError:
        return None


# --- /deliveries -------------------------------------------------------------------------------


def attempt_text(attempt: DeliveryAttempt) -> str:
    """One attempt of the delivery history as a line: when, what, where, and how it went."""
    what = kind_text(attempt.kind)
    if attempt.kind is DeliveryKind.NEW:
        what = _quoted(attempt.title)
    elif attempt.kind is DeliveryKind.EDITED:
        what = f"edit of {_quoted(attempt.title)}"
    where = _channel(attempt.channel_id)
    match attempt.outcome:
        case DeliveryOutcome.SENT if attempt.message_id and attempt.channel_id:
            guild = attempt.guild_id or 0
            outcome = f"posted {message_link(guild, attempt.channel_id, attempt.message_id)}"
            if attempt.detail:  # an announcement channel's publish: done, or why not
                outcome += f" ({clip(attempt.detail, 100)})"
        case DeliveryOutcome.SENT:
            outcome = f"nothing posted: {attempt.detail}" if attempt.detail else "done"
        case DeliveryOutcome.RETRY:
            next_try = when(attempt.next_attempt, never="later")
            failure = _failure(attempt.reason, attempt.detail)
            outcome = f"waiting: next attempt {next_try}; last error: {clip(failure, 150)}"
        case DeliveryOutcome.PAUSED:
            reason = _pause(attempt.reason)
            why = clip(pause_text(reason, attempt.detail), 150)
            outcome = f"paused: {why} — {_resume_hint(reason)}"
        case _:
            outcome = f"given up: {clip(_failure(attempt.reason, attempt.detail), 150)}"
    return f"{stamp(attempt.at)} · {what} → {where}: {outcome}"


async def deliveries(
    store: Store, guild_id: int, story_name: str, *, channel_id: int | None = None
) -> list[str]:
    """The last things Bulletin did for a story in this server (in one channel), newest first."""
    story = await find_story(store, guild_id, story_name)
    where = ""
    subscription_ids = None
    if channel_id is not None:
        subs = await store.subscriptions(guild_id=guild_id, story_id=story.id)
        subscription_ids = [s.id for s in subs if s.channel_id == channel_id]
        if not subscription_ids:
            raise Refusal(
                f"<#{channel_id}> does not follow “{story.name}”; /deliveries without a channel "
                "shows every channel's, and /subscriptions lists what follows what."
            )
        where = f" in <#{channel_id}>"
    attempts = await store.delivery_history(
        guild_id, story_id=story.id, subscription_ids=subscription_ids, limit=HISTORY_LIMIT
    )
    if not attempts:
        days = DEFAULT_RETENTION.days
        return [f"Bulletin delivered nothing of “{story.name}”{where} in the last {days} days."]
    header = f"**Deliveries of “{story.name}”{where}** — the last {len(attempts)}, newest first"
    return [header, *map(attempt_text, attempts)]


# --- /why --------------------------------------------------------------------------------------


def update_key(record: StoredEntryRecord) -> str:
    """The value of an update's autocomplete choice: its source and a key of its id."""
    return f"#{record.source_id}:{id_key(record.entry.id):x}"


def update_choice_name(record: StoredEntryRecord, limit: int) -> str:
    """An update as the autocomplete lists it: its title and when it was published (UTC)."""
    moment = utc(record.entry.published or record.first_seen)
    suffix = f" · {moment:%d %b %H:%M} UTC"
    return clip(_label(record), limit - len(suffix)) + suffix


async def update_choices(
    store: Store, guild_id: int, story_name: str, typed: str, *, limit: int, name_limit: int
) -> list[tuple[str, str]]:
    """(name, value) of the story's newest updates whose title holds what was typed."""
    story = await find_story(store, guild_id, story_name)
    wanted = " ".join(typed.split()).casefold()
    records = await store.latest_entries(story.id, RECENT_UPDATES)
    found = [r for r in records if wanted in _label(r).casefold()]
    return [(update_choice_name(r, name_limit), update_key(r)) for r in found[:limit]]


async def find_update(store: Store, story: StoryRecord, given: str) -> StoredEntryRecord:
    """The update picked from the autocomplete, else the newest whose title is (or holds) what
    was typed, among the story's newest."""
    records = await store.latest_entries(story.id, RECENT_UPDATES)
    key = _KEY.fullmatch(given.strip())
    if key is not None:
        for record in records:
            if record.source_id == int(key[1]) and f"{id_key(record.entry.id):x}" == key[2]:
                return record
    wanted = " ".join(given.split()).casefold()
    for matches in (
        lambda label: label == wanted,
        lambda label: wanted in label,
    ):
        for record in records:
            if wanted and matches(_label(record).casefold()):
                return record
    raise Refusal(
        f"None of the {RECENT_UPDATES} newest updates of “{story.name}” is called "
        f"“{clip(given.strip(), 80)}”; pick one from the list as you type."
    )


@dataclass(frozen=True, slots=True)
class _Trail:
    """What was recorded of one update for the server's subscriptions to its story."""

    record: StoredEntryRecord
    guild_id: int
    now: datetime


def _row_text(row: OutboxRow, sub: SubscriptionRecord, guild_id: int) -> str:
    """How an outbox row stands: posted (with a link), waiting, paused or given up."""
    what = "posted (a backfill)" if row.backfill else "posted"
    if row.state is OutboxState.SENT:
        if row.message_id and row.channel_id:
            return f"{what} {message_link(guild_id, row.channel_id, row.message_id)}"
        return f"not posted: {row.note}" if row.note else what
    if row.state is OutboxState.GIVEN_UP:
        return f"given up: {clip(_failure(row.last_reason, row.last_error), 150)}"
    if sub.paused_at is not None:
        reason = clip(pause_text(sub.pause_reason, sub.pause_detail), 150)
        return f"paused: {reason} — {_resume_hint(sub.pause_reason)}"
    if row.attempts:
        failure = clip(_failure(row.last_reason, row.last_error), 150)
        return f"waiting: next attempt {when(row.next_attempt)}; last error: {failure}"
    return f"waiting to be posted (queued {when(row.created_at)})"


async def _digest_fate(store: Store, sub: SubscriptionRecord, trail: _Trail) -> str:
    """Where an update that passed a digest subscription's filters stands."""
    first_seen = trail.record.first_seen
    row = await store.digest_row(sub.id, after=first_seen)
    since = sub.last_digest_at or sub.created_at
    if row is None and first_seen > since:  # its period is still open
        every = sub.every or DEFAULT_DIGEST_PERIOD
        end = period_end(every, since, trail.now) or digest_trigger(every).get_next_fire_time(
            None, trail.now
        )
        return f"to be in the digest of {clock(end)}" if end else "to be in the next digest"
    if row is None or row.period_end is None:
        return "its digest period closed without it"
    of = f"the digest of {clock(row.period_end)}"
    if row.state is OutboxState.SENT:
        if row.message_id and row.channel_id:
            link = message_link(trail.guild_id, row.channel_id, row.message_id)
            return f"not in {of} {link}"
        return f"not in {of}"
    return f"{of}: {_row_text(row, sub, trail.guild_id)}"


async def _fate(store: Store, sub: SubscriptionRecord, trail: _Trail) -> str:
    """What happened to the update for one subscription, and why, as recorded."""
    record = trail.record
    source_id, entry_id, ids = record.source_id, record.entry.id, [sub.id]
    rows = await store.entry_outbox(source_id, entry_id, subscription_ids=ids)
    decisions = await store.routing_decisions(source_id, entry_id, subscription_ids=ids)
    edits = [
        f"an edit {when(d.at)}: {left_out_text(d.reason, d.value)}"
        for d in decisions
        if d.kind is DeliveryKind.EDITED
    ]
    fate = await _new_fate(store, sub, trail, rows, decisions)
    return f"{fate} ({'; '.join(edits)})" if edits else fate


async def _new_fate(
    store: Store,
    sub: SubscriptionRecord,
    trail: _Trail,
    rows: list[OutboxRow],
    decisions: list[RoutingDecision],
) -> str:
    record = trail.record
    new_rows = [r for r in rows if r.kind is DeliveryKind.NEW]
    if new_rows:
        return _row_text(new_rows[-1], sub, trail.guild_id)
    shown = await store.entry_digests(record.source_id, record.entry.id, subscription_ids=[sub.id])
    if shown:
        digest = shown[-1]
        link = (
            f" {message_link(trail.guild_id, digest.channel_id, digest.message_id)}"
            if digest.channel_id
            else ""
        )
        return f"in the digest of {clock(digest.posted_at)}{link}"
    left_out = [d for d in decisions if d.kind is DeliveryKind.NEW]
    if left_out:
        return left_out_text(left_out[-1].reason, left_out[-1].value)
    if record.first_seen < sub.created_at:
        return "seen before this subscription existed (the baseline): it posts what comes after"
    if not record.posted:
        return "seen in the first read of its source (the baseline): a first read posts nothing"
    if sub.mode is Mode.DIGEST:
        return await _digest_fate(store, sub, trail)
    return (
        "nothing recorded for this channel (its story may have been paused then, or the "
        f"record is older than {DEFAULT_RETENTION.days} days)"
    )


async def why(
    store: Store, guild_id: int, story_name: str, update: str, *, now: datetime
) -> list[str]:
    """For each subscription of this server to the story, what happened to the update and why."""
    story = await find_story(store, guild_id, story_name)
    record = await find_update(store, story, update)
    subs = [
        s
        for s in await store.subscriptions(guild_id=guild_id, story_id=story.id)
        if s.target == "discord"
    ]
    if not subs:
        raise Refusal(
            f"No channel here follows “{story.name}”, so none was sent its updates; "
            "/subscribe starts one."
        )
    trail = _Trail(record, guild_id, now)
    seen = stamp(record.entry.published or record.first_seen)
    lines = [f"**Why: {_quoted(_label(record))}** — “{story.name}”, {seen}"]
    for sub in subs:
        fate = await _fate(store, sub, trail)
        lines.append(f"{_channel(sub.channel_id)} ({sub.mode.value}): {fate}")
    return lines

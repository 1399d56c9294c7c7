"""Subscriptions of a server's channels to stories: filters, digests, quota, backfill, health."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.delivery.routing import MAX_PATTERN, passes, pattern_refusal
from bot.delivery.sanitize import clip
from bot.model import DEFAULT_DIGEST_PERIOD, DigestPeriod, Mode, PauseReason
from bot.runtime import Runtime
from bot.services.common import MAX_SUBSCRIPTIONS_PER_GUILD, Refusal, plural
from bot.services.stories import find_story
from bot.store import Backfill, DeliveryHealth, Store, StoryRecord, SubscriptionRecord
from bot.text import collapse_whitespace
from bot.wording import code_span, pause_text

log = logging.getLogger(__name__)

MAX_PHRASES = 20
BACKFILL_SCAN = 500  # a backfill with keywords looks for matches among this many newest updates
MAX_PHRASE = 100


def parse_keywords(text: str | None, *, what: str = "keyword") -> str | None:
    """Comma-separated phrases, tidied ("Gaza,  ceasefire talks" → "Gaza, ceasefire talks");
    None when there are none. Phrases are plain words, never patterns. WHAT names them in a
    refusal ("keyword", "exclusion")."""
    if text is None:
        return None
    phrases: list[str] = []
    seen: set[str] = set()
    for part in text.split(","):
        phrase = collapse_whitespace(part).strip()
        if not phrase:
            continue
        if not any(ch.isalnum() for ch in phrase):
            raise Refusal(f"The {what} “{clip(phrase, 50)}” has no letter or digit in it.")
        if len(phrase) > MAX_PHRASE:
            raise Refusal(f"Keep each {what} under {MAX_PHRASE} characters.")
        if phrase.casefold() not in seen:
            seen.add(phrase.casefold())
            phrases.append(phrase)
    if len(phrases) > MAX_PHRASES:
        raise Refusal(f"Give at most {MAX_PHRASES} {what}s, separated by commas.")
    if not phrases:
        example, none = (
            ("ceasefire, prime minister", "to get every update")
            if what == "keyword"
            else ("rumour, unconfirmed", "to exclude nothing")
        )
        raise Refusal(
            f"Give {what}s as words or phrases separated by commas, e.g. `{example}`; leave "
            f"the option out {none}."
        )
    return ", ".join(phrases)


def parse_pattern(text: str | None) -> str | None:
    """One regular expression, as given, when RE2 takes it (RE2's time is linear in the text:
    no pattern can stall Bulletin); None when there is none."""
    if text is None:
        return None
    if not text.strip():
        raise Refusal("Give a pattern, e.g. `ceasefire|truce`; leave the option out for none.")
    if len(text) > MAX_PATTERN:
        raise Refusal(f"Keep the pattern to {MAX_PATTERN} characters (it has {len(text)}).")
    reason = pattern_refusal(text)
    if reason is not None:
        raise Refusal(
            f"RE2 cannot use the pattern {code_span(clip(text, 100))}: {reason}. Patterns are "
            "RE2 regular expressions, matched in any case (no backreferences or look-around: "
            "https://github.com/google/re2/wiki/Syntax)."
        )
    return text


def digest_every(mode: str, every: str | None) -> int | None:
    """The digest period in seconds: `every` only means something for digests."""
    if mode not in tuple(Mode):
        choices = ", ".join(Mode)
        raise Refusal(f"Unknown mode {mode!r}; choose {choices}.")
    if mode != Mode.DIGEST:
        if every is not None:
            raise Refusal("`every` is only for digests: add mode:digest, or leave `every` out.")
        return None
    if every is None:
        return int(DEFAULT_DIGEST_PERIOD)
    try:
        return int(DigestPeriod.from_label(every))
    except ValueError:
        raise Refusal(f"Choose `every` among {', '.join(p.label for p in DigestPeriod)}.") from None


@dataclass(frozen=True, slots=True)
class Subscribed:
    story: StoryRecord
    subscription_id: int
    changed: bool  # the channel already followed the story: its settings were replaced
    resumed: bool  # it was paused (Discord refused the channel): it posts again
    every: int | None
    keywords: str | None
    backfilled: int
    backfill_shown_already: int  # of the latest updates asked for, those posted here before
    exclusions: str | None = None
    pattern: str | None = None

    @property
    def filtered(self) -> bool:
        return bool(self.keywords or self.exclusions or self.pattern)


async def subscribe(
    runtime: Runtime,
    guild_id: int,
    story_name: str,
    *,
    channel_id: int,
    mode: str = "updates",
    every: str | None = None,
    mention_role_id: int | None = None,
    keywords: str | None = None,
    exclude: str | None = None,
    pattern: str | None = None,
    thread: bool = False,
    backfill: int = 0,
    publish: bool = False,
    now: datetime,
    forum: bool = False,
    channel_name: str | None = None,
) -> Subscribed:
    """Subscribe a channel of this server to a story it can see (again: change it)."""
    store = runtime.store
    story = await find_story(store, guild_id, story_name)
    seconds = digest_every(mode, every)
    phrases = parse_keywords(keywords)
    exclusions = parse_keywords(exclude, what="exclusion")
    regex = parse_pattern(pattern)
    if not 0 <= backfill <= 10:
        raise Refusal("Backfill takes 0 to 10 updates.")
    existing = await store.subscriptions(guild_id=guild_id)
    same = [s for s in existing if s.story_id == story.id and s.channel_id == channel_id]
    changed = bool(same)
    resumed = any(s.paused_at is not None for s in same)
    if not changed and len(existing) >= MAX_SUBSCRIPTIONS_PER_GUILD:
        raise Refusal(
            f"This server has {MAX_SUBSCRIPTIONS_PER_GUILD} subscriptions already, the most "
            "Bulletin allows; remove one with /unsubscribe first."
        )
    subscription_id = await store.subscribe(
        story.id,
        guild_id=guild_id,
        channel_id=channel_id,
        mode=Mode(mode),
        every=seconds,
        mention_role_id=mention_role_id,
        keywords=phrases,
        exclusions=exclusions,
        pattern=regex,
        thread=thread,
        now=now,
        forum=forum,
        channel_name=channel_name,
    )
    await store.set_publish(subscription_id, publish)  # an option like the others: set each time
    queued = await queue_backfill(store, subscription_id, backfill, now=now)
    if queued or resumed:
        runtime.delivery_wakeup.set()
    log.info(
        "guild %s subscribed channel %s to story %d (%s)", guild_id, channel_id, story.id, mode
    )
    return Subscribed(
        story=story,
        subscription_id=subscription_id,
        changed=changed,
        resumed=resumed,
        every=seconds,
        keywords=phrases,
        exclusions=exclusions,
        pattern=regex,
        backfilled=int(queued),
        backfill_shown_already=queued.already,
    )


async def queue_backfill(
    store: Store, subscription_id: int, count: int, *, now: datetime
) -> Backfill:
    """Queue the story's COUNT newest updates (those that pass the subscription's filters)
    for one subscription, oldest first, leaving out those it posted or queued already."""
    if count <= 0:
        return Backfill(0)
    sub = await store.get_subscription(subscription_id)
    if sub is None:
        raise Refusal("That subscription no longer exists; /subscribe again.")
    # with filters, the newest updates that pass them among the latest BACKFILL_SCAN
    filters = sub.filters
    filtered = bool(filters.keywords or filters.exclusions or filters.pattern)
    newest = await store.latest_entries(sub.story_id, BACKFILL_SCAN if filtered else count)
    matching = [r for r in newest if passes(filters, r.entry)][:count]
    return await store.queue_backfill(subscription_id, matching[::-1], now=now)


async def unsubscribe(
    store: Store,
    guild_id: int,
    story_name: str,
    *,
    channel_id: int,
    channel_given: bool = True,
    channel_exists: Callable[[int], bool] = lambda _: True,
) -> str:
    """Stop a channel following a story. Without a channel given, this channel's subscription
    goes; if it has none, those in channels that no longer exist (which Discord's channel
    picker cannot offer). Returns what was done, as a sentence."""
    story = await find_story(store, guild_id, story_name)
    subs = await store.subscriptions(guild_id=guild_id, story_id=story.id)
    if any(s.channel_id == channel_id for s in subs):
        await store.unsubscribe(story.id, channel_id=channel_id)
        log.info("guild %s unsubscribed channel %s from story %d", guild_id, channel_id, story.id)
        return f"<#{channel_id}> no longer follows “{story.name}”."
    gone = [s for s in subs if s.channel_id is not None and not channel_exists(s.channel_id)]
    if not channel_given and gone:
        for sub in gone:
            await store.unsubscribe(story.id, channel_id=sub.channel_id)
        log.info("guild %s removed %d subscriptions of deleted channels", guild_id, len(gone))
        return (
            f"Removed the subscription to “{story.name}” of {plural(len(gone), 'deleted channel')}."
        )
    elsewhere = [f"<#{s.channel_id}>" for s in subs if s.channel_id is not None]
    if elsewhere:
        shown = ", ".join(elsewhere[:5]) + (" …" if len(elsewhere) > 5 else "")
        raise Refusal(
            f"<#{channel_id}> does not follow “{story.name}”; {shown} "
            f"{'does' if len(elsewhere) == 1 else 'do'}: pick one with the `channel` option."
        )
    raise Refusal(
        f"No channel here follows “{story.name}”; /subscriptions lists what this server follows."
    )


async def channel_renamed(store: Store, guild_id: int, channel_id: int, name: str) -> None:
    """Discord renamed a channel: its subscriptions keep the name, so that an alert can name
    the channel once it is deleted (a deleted channel's mention shows no name)."""
    changed = await store.rename_channel(channel_id, name)
    if changed:
        log.info("guild %s: channel %s renamed #%s", guild_id, channel_id, name)


async def sync_channel_names(store: Store, guild_id: int, names: Mapping[int, str]) -> int:
    """A server became available (at start, or back from an outage): its subscribed channels
    keep the names Discord gives them now (NAMES: channel id → name), renamed while Bulletin
    was away or not. The number of subscriptions changed."""
    changed = 0
    seen: set[int] = set()
    for sub in await store.subscriptions(guild_id=guild_id):
        channel_id = sub.channel_id
        if channel_id is None or channel_id in seen or channel_id not in names:
            continue
        seen.add(channel_id)
        if names[channel_id] != sub.channel_name:
            changed += await store.rename_channel(channel_id, names[channel_id])
    return changed


def describe_every(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return f"every {seconds // 3600}h"


def health_text(subscription: SubscriptionRecord, health: DeliveryHealth | None) -> str:
    """ "ok", "paused: …" or what is failing."""
    if subscription.paused_at is not None:
        reason = pause_text(subscription.pause_reason, subscription.pause_detail)
        if subscription.pause_reason is PauseReason.CHANNEL_GONE:
            return f"stopped: {reason} — /unsubscribe without a channel removes it"
        return f"paused: {reason} — fix it, then /subscribe there again to resume"
    if health is None:
        return "ok"
    parts = []
    if health.retrying:
        parts.append(f"{plural(health.retrying, 'post')} waiting to be retried")
    if health.undeliverable:
        parts.append(f"{plural(health.undeliverable, 'post')} could not be delivered")
    text = "; ".join(parts) or "ok"
    if health.last_error:
        text += f" (last error: {clip(health.last_error, 120)})"
    return text


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    subscription: SubscriptionRecord
    story_name: str
    health: str


async def list_subscriptions(store: Store, guild_id: int) -> list[SubscriptionView]:
    """This server's subscriptions, with their health."""
    names = {s.id: s.name for s in await store.stories_for_guild(guild_id)}
    health = await store.delivery_health(guild_id)
    return [
        SubscriptionView(
            subscription=sub,
            story_name=names.get(sub.story_id, f"story {sub.story_id}"),
            health=health_text(sub, health.get(sub.id)),
        )
        for sub in await store.subscriptions(guild_id=guild_id)
        if sub.target == "discord"
    ]


def describe_filters(
    keywords: str | None, exclusions: str | None, pattern: str | None
) -> list[str]:
    """A subscription's filters as /subscribe and /subscriptions show them."""
    shown = []
    if keywords:
        shown.append(f"keywords: {keywords}")
    if exclusions:
        shown.append(f"exclude: {exclusions}")
    if pattern:
        shown.append(f"pattern: {code_span(pattern)}")
    return shown


def describe_subscription(view: SubscriptionView) -> str:
    sub = view.subscription
    details = [sub.mode.value]
    if sub.every:
        details.append(describe_every(sub.every))
    details += describe_filters(sub.keywords, sub.exclusions, sub.pattern)
    if sub.mention_role_id:
        details.append(f"mentions <@&{sub.mention_role_id}>")
    if sub.forum:
        details.append("a post per story")
    elif sub.thread:
        details.append("in a thread")
    if sub.publish:
        details.append("published")
    return f"**{view.story_name}** → <#{sub.channel_id}> ({', '.join(details)}) — {view.health}"

"""What moderators are told in their alerts channel, with what to do about it."""

from __future__ import annotations

import discord

from bot import limits
from bot.delivery.sinks import alert_text
from bot.model import AlertContent, AlertKind, PauseReason
from bot.permissions import bot_needs, missing_text
from bot.wording import pause_text


def alert_message(alert: AlertContent) -> str:
    """The text of an alert row: a source paused or resumed, or a subscription paused."""
    if alert.kind is AlertKind.SUBSCRIPTION_PAUSED:
        return pause_alert_text(alert)
    if alert.kind is AlertKind.POST_REPLACED:
        return post_replaced_text(alert)
    if alert.kind is AlertKind.UNPUBLISHED:
        return unpublished_alert_text(alert)
    return alert_text(alert)


def channel_label(alert: AlertContent) -> str:
    """The channel by its name as last known and its mention: Discord shows a deleted
    channel's mention as "#deleted-channel", which tells moderators nothing."""
    mention = f"<#{alert.channel_id}>"
    if not alert.channel_name:
        return mention
    return f"#{discord.utils.escape_markdown(alert.channel_name)} ({mention})"


def post_replaced_text(alert: AlertContent) -> str:
    """A story's forum post was deleted or locked: Bulletin made a new one."""
    name = discord.utils.escape_markdown(alert.story or "a story")
    return (
        f"The post for **{name}** in {channel_label(alert)} was deleted or locked, so "
        "Bulletin starts a new post there for the story. To stop following it there, use "
        f"`/unsubscribe story:{name}` with that channel."
    )


def unpublished_alert_text(alert: AlertContent) -> str:
    """An announcement channel ran out of publishes for the hour: what is still posted, what
    the servers following the channel miss, and when it mends itself."""
    name = discord.utils.escape_markdown(alert.story or "a story")
    return (
        f"Bulletin left some messages about **{name}** unpublished in {channel_label(alert)}: "
        f"Discord allows about {limits.PUBLISHES_PER_HOUR} publishes an hour per channel, and "
        f"Bulletin keeps {limits.PUBLISH_RESERVE} of them for key-point changes and "
        '"coverage ended". Everything is still posted there; servers following the '
        "channel miss the unpublished updates. Publishing resumes by itself within the hour; "
        "fewer publishing subscriptions in that channel (`/subscribe … publish:false`) leave "
        "more for the rest. This is said once an hour at most."
    )


def pause_alert_text(alert: AlertContent) -> str:
    """A subscription Discord refused: where, why, and how to resume (or remove) it."""
    name = discord.utils.escape_markdown(alert.story or "a story")
    where = channel_label(alert)
    reason = pause_text(alert.pause_reason, alert.pause_detail)
    if alert.pause_reason is PauseReason.CHANNEL_GONE:
        return (
            f"Bulletin stopped posting **{name}** to {where}: {reason}. To follow the story "
            f"in another channel, use `/subscribe` there; `/unsubscribe story:{name}` (without "
            "a channel) removes the old subscription."
        )
    if alert.pause_reason is PauseReason.TAG_REQUIRED:
        return (
            f"Bulletin paused posting **{name}** to {where}: {reason}. Add a tag named “Live” "
            "or “Ended” to the forum, or turn off “Require people to select tags”, then use "
            "`/subscribe` there again to resume; nothing waiting is lost."
        )
    needs = missing_text([label for _, label in bot_needs(thread=alert.thread, forum=alert.forum)])
    return (
        f"Bulletin paused posting **{name}** to {where}: {reason}. Give Bulletin {needs} "
        "there, then use `/subscribe` there again to resume; nothing waiting is lost."
    )

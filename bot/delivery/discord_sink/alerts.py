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
    if alert.kind is AlertKind.UNPUBLISHED:
        return unpublished_alert_text(alert)
    return alert_text(alert)


def unpublished_alert_text(alert: AlertContent) -> str:
    """An announcement channel ran out of publishes for the hour: what is still posted, what
    the servers following the channel miss, and when it mends itself."""
    name = discord.utils.escape_markdown(alert.story or "a story")
    return (
        f"Bulletin left some messages about **{name}** unpublished in <#{alert.channel_id}>: "
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
    where = f"<#{alert.channel_id}>"
    reason = pause_text(alert.pause_reason, alert.pause_detail)
    if alert.pause_reason is PauseReason.CHANNEL_GONE:
        return (
            f"Bulletin stopped posting **{name}** to {where}: {reason}. To follow the story "
            f"in another channel, use `/subscribe` there; `/unsubscribe story:{name}` (without "
            "a channel) removes the old subscription."
        )
    needs = missing_text([label for _, label in bot_needs(thread=alert.thread)])
    return (
        f"Bulletin paused posting **{name}** to {where}: {reason}. Give Bulletin {needs} "
        "there, then use `/subscribe` there again to resume; nothing waiting is lost."
    )

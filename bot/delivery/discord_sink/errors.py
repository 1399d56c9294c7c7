"""What an error of a request to Discord means for a delivery: an outcome, never a raise for
what Discord is expected to say."""

from __future__ import annotations

import aiohttp
import discord

from bot.model import FailureReason, PauseReason
from bot.outcome import GivenUp, Outcome, Paused, Retry

UNKNOWN_CHANNEL = 10003
THREAD_ARCHIVED = 50083  # a thread locked by a moderator: the bot cannot post there again
THREAD_EXISTS = 160004  # a thread has already been created for this message


def thread_lost(error: BaseException) -> bool:
    """Did Discord refuse a thread because it was deleted or locked (not the channel)?"""
    if isinstance(error, discord.NotFound):
        return error.code == UNKNOWN_CHANNEL
    return isinstance(error, discord.HTTPException) and error.code == THREAD_ARCHIVED


def outcome_of(error: BaseException) -> Outcome:
    """The outcome of a request that failed with ERROR: paused for 403 and 404, retried for
    429, 5xx and the network, given up for what Discord will never accept. Anything else is
    not Discord's answer, and is raised again."""
    if isinstance(error, discord.RateLimited):
        return Retry(
            FailureReason.RATE_LIMITED,
            f"rate limited for {error.retry_after:.1f} s",
            after=error.retry_after,
        )
    if isinstance(error, discord.Forbidden):
        said = error.text or "Missing Permissions"
        return Paused(PauseReason.NO_PERMISSION, f"Discord said 403 {error.code}: {said}")
    if isinstance(error, discord.NotFound):
        said = error.text or "Not Found"
        if error.code == UNKNOWN_CHANNEL:
            return Paused(PauseReason.CHANNEL_GONE, f"Discord said 404 {error.code}: {said}")
        return Paused(PauseReason.NOT_FOUND, f"404 {error.code}: {said}")
    if isinstance(error, discord.HTTPException):
        if error.status == 429:
            return Retry(FailureReason.RATE_LIMITED, "Discord answered 429")
        if error.status >= 500:
            return Retry(FailureReason.DISCORD_ERROR, f"Discord answered {error.status}")
        return GivenUp(
            FailureReason.REFUSED,
            f"Discord refused the message ({error.status} {error.code}: {error.text})",
        )
    if isinstance(error, aiohttp.ClientError | TimeoutError | OSError):
        return Retry(FailureReason.NETWORK, f"{type(error).__name__}: {error}")
    raise error

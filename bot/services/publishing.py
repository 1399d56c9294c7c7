"""/subscribe's `publish` option: where it may be asked for, and how it is described."""

from __future__ import annotations

from bot import limits


def publish_refusal(*, announcement: bool, thread: bool, where: str) -> str | None:
    """Why `publish:true` cannot be had in the channel WHERE (a mention), or None. Only an
    announcement channel's messages can be published, and never those of its threads."""
    if not announcement:
        return (
            f"`publish` works only in an announcement channel, and {where} is not one: only "
            "an announcement channel's messages reach the servers that follow it. Subscribe "
            "an announcement channel, or leave `publish` out."
        )
    if thread:
        return (
            "Messages in a thread cannot be published: use `publish` without `thread`, so "
            f"that Bulletin posts in {where} itself."
        )
    return None


def publish_detail() -> str:
    """How a publishing subscription is described in /subscribe's answer."""
    return (
        f"published to following servers, up to {limits.PUBLISHES_PER_HOUR} an hour, "
        f"{limits.PUBLISH_RESERVE} kept for key points"
    )

"""The sentences people read, rendered from the codes Bulletin stores (`bot.model`'s enums).

A reason is stored as a code and, beside it, the far end's own words (Discord's, a server's);
what members and moderators read is made here, in one place.
"""

from __future__ import annotations

from bot.model import DeliveryKind, FailureReason, LeftOutReason, PauseReason

_PAUSES = {
    PauseReason.MODERATOR: "paused by a moderator",
    PauseReason.CONFIG_REMOVED: "not in the config file any more",
    PauseReason.CHANNEL_GONE: "the channel was deleted",
    PauseReason.NO_PERMISSION: "Bulletin may no longer post there",
    PauseReason.NOT_FOUND: "Discord cannot find it",
    PauseReason.TAG_REQUIRED: "the forum requires a tag on posts, and has no “Live” or “Ended”",
}

_FAILURES = {
    FailureReason.TIMEOUT: "timed out",
    FailureReason.TOO_LARGE: "too large",
    FailureReason.HTTP_STATUS: "an HTTP error",
    FailureReason.REDIRECTS: "too many redirects",
    FailureReason.ADDRESS_REFUSED: "an address Bulletin does not fetch",
    FailureReason.NOT_HTTP: "not a web address",
    FailureReason.CONNECTION: "no connection",
    FailureReason.BAD_RESPONSE: "an unreadable response",
    FailureReason.UNREADABLE: "nothing Bulletin can follow",
    FailureReason.RATE_LIMITED: "rate limited by Discord",
    FailureReason.DISCORD_ERROR: "Discord had an error",
    FailureReason.NETWORK: "Discord could not be reached",
    FailureReason.REFUSED: "Discord refused the message",
    FailureReason.THREAD_LOST: "the story's thread was deleted or locked",
    FailureReason.EDIT_THROTTLED: "waiting: at most one edit a minute per message",
    FailureReason.NO_ALERTS_CHANNEL: "no alerts channel (/settings alerts) and no system channel",
    FailureReason.TOO_MANY_ATTEMPTS: "it kept failing",
    FailureReason.INTERNAL: "an internal error",
}


_KINDS = {
    DeliveryKind.NEW: "update",
    DeliveryKind.EDITED: "edit",
    DeliveryKind.KEY_POINTS: "key points",
    DeliveryKind.STATUS: "story status",
    DeliveryKind.DIGEST: "digest",
    DeliveryKind.ALERT: "alert",
    DeliveryKind.STARTER: "thread starter",
}


def code_span(text: str) -> str:
    """TEXT shown as inline code, as written (backticks inside it too), on one line."""
    text = " ".join(text.splitlines())
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" or text.startswith(" ") or text.endswith(" ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def left_out_text(reason: LeftOutReason, value: str | None) -> str:
    """Why a subscription was left without an update, with the value that decided it then."""
    match reason:
        case LeftOutReason.KEYWORDS:
            return f"left out by its keywords (“{value}”: none of them is in it)"
        case LeftOutReason.EXCLUSIONS:
            return f"left out by its exclusions (“{value}”: one of them is in it)"
        case LeftOutReason.PATTERN:
            return f"left out by its pattern {code_span(value or '')} (no match)"
        case _:
            return f"not in this mode ({value} posts no updates)"


def kind_text(kind: DeliveryKind) -> str:
    """What an outbox row posts, in a word or two ("key points", "digest")."""
    return _KINDS[kind]


def pause_text(reason: PauseReason | None, detail: str | None = None) -> str:
    """Why something is paused, e.g. "the channel was deleted (Discord said 404 …)"."""
    words = _PAUSES[reason] if reason is not None else "paused"
    return f"{words} ({detail})" if detail else words


def failure_text(reason: FailureReason | None, detail: str | None = None) -> str:
    """Why an attempt failed: the far end's words when there are any, else the code's."""
    if detail:
        return detail
    return _FAILURES[reason] if reason is not None else "unknown"

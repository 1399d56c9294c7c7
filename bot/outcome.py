"""What a sink says of one attempt to deliver a message: the one vocabulary of outcomes.

A sink never raises for what it expects (a refusal, a rate limit, a lost thread): it returns
`Sent`, `Retry`, `Paused` or `GivenUp`. The dispatcher owns every state change that follows:
it turns a `Retry` into a time with its one backoff and attempt cap, and hands the outcome to
the store, which records it (and its effects, and the attempt in the delivery history) in one
transaction. Plain data, shared by the sinks, the dispatcher and the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import DeliveryOutcome, FailureReason, PauseReason, StoryStatus

# --- what a sent message leaves behind ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shown:
    """The message showed these updates ((source id, entry id), in order): an edit of one of
    them edits the message in place (or, for a digest, posts a correction)."""

    entries: tuple[tuple[int, str], ...]
    digest: bool = False


@dataclass(frozen=True, slots=True)
class EditedInPlace:
    """A posted message (`posted_id`, a row of what messages showed) was edited now."""

    posted_id: int


@dataclass(frozen=True, slots=True)
class ThreadStarted:
    """The story's thread in the subscription's channel, and the message holding its key
    points."""

    thread_id: int
    starter_message_id: int


@dataclass(frozen=True, slots=True)
class ThreadForgotten:
    """The story's thread was deleted or locked: the next message starts a new one. `tell`:
    the server's moderators are told, once (a forum post is replaced in plain sight)."""

    tell: bool = False


@dataclass(frozen=True, slots=True)
class Announced:
    """The story status posted to the subscription ("coverage ended" is said once)."""

    status: StoryStatus


Effect = Shown | EditedInPlace | ThreadStarted | ThreadForgotten | Announced


# --- outcomes -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """Delivered: as `message_id` in `channel_id` (None, None: nothing needed posting, as a
    `note` says, or the console)."""

    message_id: int | None = None
    channel_id: int | None = None
    effects: tuple[Effect, ...] = ()
    note: str | None = None

    outcome = DeliveryOutcome.SENT


@dataclass(frozen=True, slots=True)
class Retry:
    """Not now. `after`: the seconds the far end asked for; `at`: when exactly (the
    dispatcher sets it from its backoff unless the sink knew). `counted`: a failed attempt
    (a throttled edit is not one); `holds`: later rows of the subscription wait for it."""

    reason: FailureReason
    detail: str
    after: float | None = None
    at: datetime | None = None
    counted: bool = True
    holds: bool = True
    effects: tuple[Effect, ...] = ()

    outcome = DeliveryOutcome.RETRY


@dataclass(frozen=True, slots=True)
class Paused:
    """The subscription stops (Discord refused its channel) until `/subscribe` resumes it;
    its rows wait, and moderators are told once."""

    reason: PauseReason
    detail: str

    outcome = DeliveryOutcome.PAUSED


@dataclass(frozen=True, slots=True)
class GivenUp:
    """It can never go (kept, not dropped, for the history and `/subscriptions`)."""

    reason: FailureReason
    detail: str

    outcome = DeliveryOutcome.GIVEN_UP


Outcome = Sent | Retry | Paused | GivenUp

"""Which permissions each action needs, by discord.py's attribute names, with their UI names.

The cogs hand in what discord.py computed (`discord.Permissions` iterates as (name, bool) pairs),
so the rules stay plain data here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

# (attribute, name as Discord's UI shows it)
Requirement = tuple[str, str]

BOT_IN_CHANNEL: tuple[Requirement, ...] = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
)
BOT_FOR_THREADS: tuple[Requirement, ...] = (
    ("create_public_threads", "Create Public Threads"),
    ("send_messages_in_threads", "Send Messages in Threads"),
)
BOT_FOR_ALERTS: tuple[Requirement, ...] = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
)
MANAGE_CHANNELS: Requirement = ("manage_channels", "Manage Channels")
MANAGE_SERVER: Requirement = ("manage_guild", "Manage Server")


def bot_needs(*, thread: bool) -> tuple[Requirement, ...]:
    """What the bot needs in a channel it posts a subscription to."""
    return BOT_IN_CHANNEL + (BOT_FOR_THREADS if thread else ())


def missing(
    granted: Mapping[str, bool] | Iterable[tuple[str, bool]], required: Sequence[Requirement]
) -> list[str]:
    """The UI names of the required permissions not granted, in the order required."""
    have = dict(granted)
    if have.get("administrator"):
        return []
    return [label for attribute, label in required if not have.get(attribute)]


def missing_text(names: Sequence[str]) -> str:
    """ "View Channel, Send Messages and Embed Links"."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]

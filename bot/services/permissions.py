"""Which permissions each action needs, by discord.py's attribute names, with their UI names.

The cogs hand in what discord.py computed (`discord.Permissions`), so the rules stay plain
data here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


def missing(granted: Mapping[str, bool] | object, required: Sequence[Requirement]) -> list[str]:
    """The UI names of the required permissions not granted, in the order required.
    `granted`: a mapping of attribute names, or an object with them as attributes (such as
    `discord.Permissions`, whose iteration leaves out aliases like view_channel)."""

    def has(attribute: str) -> bool:
        if isinstance(granted, Mapping):
            return bool(granted.get(attribute))
        return bool(getattr(granted, attribute, False))

    if has("administrator"):
        return []
    return [label for attribute, label in required if not has(attribute)]


def missing_text(names: Sequence[str]) -> str:
    """ "View Channel, Send Messages and Embed Links"."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]

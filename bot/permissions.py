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
# Creating a forum post is Send Messages in the forum ("Create Posts" in Discord's UI); the
# replies in it are Send Messages in Threads.
BOT_IN_FORUM: tuple[Requirement, ...] = (
    ("view_channel", "View Channel"),
    ("send_messages", "Create Posts"),
    ("send_messages_in_threads", "Send Messages in Posts"),
    ("embed_links", "Embed Links"),
)
# Not needed to post in a forum, but to find, after a restart, a post made just before it and
# archived since (the forum's archived posts are listed only to those who may read history).
FORUM_HISTORY: Requirement = ("read_message_history", "Read Message History")
BOT_FOR_ALERTS: tuple[Requirement, ...] = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
)
MANAGE_CHANNELS: Requirement = ("manage_channels", "Manage Channels")
MENTION_ALL: Requirement = ("mention_everyone", "Mention @everyone, @here and All Roles")
MANAGE_SERVER: Requirement = ("manage_guild", "Manage Server")


def bot_needs(*, thread: bool, forum: bool = False) -> tuple[Requirement, ...]:
    """What the bot needs in a channel it posts a subscription to (a forum: its posts)."""
    if forum:
        return BOT_IN_FORUM
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


def mention_refusal(
    role_name: str,
    *,
    is_everyone: bool,
    mentionable: bool,
    member: Mapping[str, bool] | object,
    bot: Mapping[str, bool] | object,
) -> str | None:
    """Why Bulletin will not ping this role for a subscription, or None when it may: never
    @everyone; a role that is not mentionable only when both the member (else /subscribe would
    let them ping what they cannot) and the bot (else the ping would silently not notify) may
    mention every role."""
    if is_everyone:
        return "Bulletin never pings @everyone; pick a role for `mention`, or leave it out."
    if mentionable:
        return None
    if missing(member, (MENTION_ALL,)):
        return (
            f"You cannot mention @{role_name} yourself (it is not mentionable), so Bulletin will "
            "not ping it for you; ask an admin to make it mentionable, or pick another role."
        )
    if missing(bot, (MENTION_ALL,)):
        return (
            f"Bulletin cannot ping @{role_name} there: the role is not mentionable and Bulletin "
            f"lacks {MENTION_ALL[1]}. Make the role mentionable (Server Settings → Roles), or "
            "pick another role."
        )
    return None

"""What /help says: what Bulletin does and the commands this member may use."""

from __future__ import annotations

INTRO = (
    "**Bulletin** follows live news pages and feeds and posts what is new — new updates, "
    "corrections, changed key points — to the channels that follow a story."
)

EVERYONE = (
    ("/help", "this message"),
    ("/stories", "the stories this server can follow, with their status"),
    ("/latest story [count]", "the newest updates of a story"),
    ("/keypoints story", "a story's current key points"),
)
MANAGE_CHANNELS = (
    ("/subscribe story [channel] [mode] …", "follow a story in a channel (again: change it)"),
    ("/unsubscribe story [channel]", "stop following a story in a channel"),
    ("/subscriptions", "this server's subscriptions, their filters and their health"),
    ("/deliveries story [channel]", "the last 20 things Bulletin did for a story here"),
    ("/why story update", "why an update was (not) posted in each channel that follows it"),
)
MANAGE_SERVER = (
    ("/source add url [story] [interval]", "follow a page or feed (previewed first)"),
    ("/source remove story [url]", "remove a source, or a whole story"),
    ("/source list", "the stories and their sources"),
    ("/source status [story]", "polling health: last poll, errors, next check"),
    ("/source pause story · /source resume story", "stop or restart checking a story"),
    ("/source import file", "follow the feeds of an OPML file (confirmed first)"),
    ("/source export", "this server's sources as an OPML file"),
    ("/settings alerts channel", "where Bulletin reports failing sources and deliveries"),
)


def help_text(*, manage_channels: bool, manage_guild: bool, owner: bool = False) -> str:
    sections = [INTRO, "", "**Everyone**", *_lines(EVERYONE)]
    if manage_channels:
        sections += ["", "**Manage Channels**", *_lines(MANAGE_CHANNELS)]
    if manage_guild:
        sections += ["", "**Manage Server**", *_lines(MANAGE_SERVER)]
    if owner:
        sections += ["", "**Owner**", "`/sync [global]` — register the commands (dev server)"]
    if not (manage_channels and manage_guild):
        sections += ["", "Moderators can subscribe channels and add sources."]
    return "\n".join(sections)


def _lines(commands: tuple[tuple[str, str], ...]) -> list[str]:
    return [f"`{name}` — {what}" for name, what in commands]

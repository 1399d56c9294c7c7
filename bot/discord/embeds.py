"""The embeds of /latest and /keypoints, in one place so that the delivery renderer
(`bot.delivery.render`) can take over when it lands.

Text from sources is shown as it is, inside embeds, and every reply is sent with mentions off.
"""

from __future__ import annotations

import discord

from bot.model import KeyPointsKind, utc
from bot.services.common import clip, when
from bot.services.stories import KeyPointsView
from bot.store import StoredEntryRecord

COLOUR = discord.Colour(0x2B6CB0)
TOTAL_BUDGET = 5800  # Discord allows 6,000 characters across the embeds of one message
KEY_POINTS_LABEL = {
    KeyPointsKind.SUMMARY: "Key points",
    KeyPointsKind.KEY_EVENTS: "Key events",
    KeyPointsKind.EXTRACTED: "Key points (extracted from the newest updates)",
}


def entry_embeds(story_name: str, records: list[StoredEntryRecord]) -> list[discord.Embed]:
    """One embed per update, newest first, within Discord's limits (10 embeds, 6,000 chars)."""
    records = records[:10]
    per_entry = max(200, TOTAL_BUDGET // max(len(records), 1) - 300)
    embeds = []
    for record in records:
        entry = record.entry
        embed = discord.Embed(
            title=clip(entry.title or story_name, 256),
            description=clip(entry.text, min(per_entry, 4096)) or None,
            url=entry.url,
            colour=COLOUR,
            timestamp=utc(entry.published or record.first_seen),
        )
        if record.edited_at is not None:
            embed.set_footer(text=clip(f"{story_name} · edited", 200))
        else:
            embed.set_footer(text=clip(story_name, 200))
        if entry.image and entry.image.startswith(("http://", "https://")):
            embed.set_thumbnail(url=entry.image)
        embeds.append(embed)
    return embeds


def key_points_embeds(story_name: str, views: list[KeyPointsView]) -> list[discord.Embed]:
    """One embed per source with key points (or the one extracted summary)."""
    views = views[:10]
    per_view = max(300, TOTAL_BUDGET // max(len(views), 1) - 300)
    embeds = []
    for view in views:
        lines: list[str] = []
        used = 0
        for item in view.items:
            line = "• " + clip(item, 500)
            if used + len(line) + 1 > min(per_view, 4000):
                lines.append("…")
                break
            lines.append(line)
            used += len(line) + 1
        changed = when(view.changed_at, never="unknown")
        note = "updated" if view.extracted else "last changed"
        embed = discord.Embed(
            title=clip(f"{story_name} — {KEY_POINTS_LABEL[view.kind]}", 256),
            description="\n".join(lines) + f"\n\n{note} {changed}",
            url=view.url,
            colour=COLOUR,
        )
        if view.extracted:
            embed.set_footer(
                text="extracted: sentences picked from the updates, not the page's own list"
            )
        elif view.url:
            embed.set_footer(text=clip(view.url, 200))
        embeds.append(embed)
    return embeds

"""The embeds of /latest and /keypoints, built by the delivery renderer so that replies and
posts look alike and source text is sanitised the same way (mentions, Markdown, links).

Every reply is sent with mentions off as well.
"""

from __future__ import annotations

from dataclasses import replace

import discord

from bot import limits
from bot.delivery.render import RenderContext, key_points_embed, update_embed
from bot.model import KeyPoints
from bot.services.common import when
from bot.services.stories import KeyPointsView
from bot.store import StoredEntryRecord

TOTAL_BUDGET = limits.EMBEDS_TOTAL - 200  # Discord's limit, with room for the footers
EXTRACTED_NOTE = "extracted: sentences picked from the updates, not the page's own list"


def entry_embeds(story_name: str, records: list[StoredEntryRecord]) -> list[discord.Embed]:
    """One embed per update, newest first, within Discord's limits (10 embeds, 6,000 chars)."""
    records = records[:10]
    per_entry = max(200, TOTAL_BUDGET // max(len(records), 1) - 400)
    context = RenderContext(story_name=story_name, text_limit=per_entry)
    embeds = []
    for record in records:
        entry = record.entry
        if entry.published is None:  # still give the reader a time: when Bulletin first saw it
            entry = replace(entry, published=record.first_seen)
        data = update_embed(entry, context, edited=record.edited_at is not None)
        embeds.append(discord.Embed.from_dict(data))
    return embeds


def key_points_embeds(story_name: str, views: list[KeyPointsView]) -> list[discord.Embed]:
    """One embed per source with key points (or the one extracted summary), saying when they
    last changed and linking the page."""
    views = views[:10]
    per_view = max(300, min(TOTAL_BUDGET // max(len(views), 1) - 300, 3900))
    context = RenderContext(story_name=story_name)
    embeds = []
    for view in views:
        data = key_points_embed(KeyPoints(view.kind, view.items), context, limit=per_view)
        note = "updated" if view.extracted else "last changed"
        data["description"] += f"\n\n{note} {when(view.changed_at, never='unknown')}"
        if view.url:
            data["url"] = view.url
        if view.extracted:
            data["footer"] = {"text": EXTRACTED_NOTE}
        embeds.append(discord.Embed.from_dict(data))
    return embeds

"""Discord payloads drawn in HTML (pure): how a message will look, from the very dicts that
`bot.delivery.render` builds for Discord.

Only the Markdown that render writes is drawn (links, bold, italics, strike-through and
backslash escapes); everything else shows as the characters it is. Every piece of text is
escaped before any markup is added, so nothing a source wrote can become HTML, and only
http(s) links are made clickable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

_TOKEN = re.compile(
    r"\\(?P<escaped>[^\w\s])"
    r"|\[(?P<text>[^\]\n]+)\]\((?P<url>https?://[^\s)]+)\)"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|~~(?P<strike>.+?)~~"
    r"|(?<![\\*])\*(?P<em>[^*\n]+)\*",
    re.DOTALL,
)


def discord_markdown(text: str) -> Markup:
    """TEXT (Discord Markdown as render writes it) as safe HTML."""
    out: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        out.append(str(escape(text[position : match.start()])))
        position = match.end()
        if match["escaped"] is not None:
            out.append(str(escape(match["escaped"])))
        elif match["url"] is not None:
            inner = discord_markdown(match["text"])
            out.append(f'<a href="{escape(match["url"])}" rel="noreferrer">{inner}</a>')
        elif match["bold"] is not None:
            out.append(f"<strong>{discord_markdown(match['bold'])}</strong>")
        elif match["strike"] is not None:
            out.append(f"<s>{discord_markdown(match['strike'])}</s>")
        else:
            out.append(f"<em>{discord_markdown(match['em'])}</em>")
    out.append(str(escape(text[position:])))
    return Markup("".join(out))  # noqa: S704 - every piece above was escaped


@dataclass(frozen=True, slots=True)
class EmbedView:
    """One embed, ready for the template: text as safe HTML, links http(s) only."""

    colour: str
    title: Markup
    url: str | None
    author: str | None
    author_url: str | None
    description: Markup
    fields: tuple[tuple[Markup, Markup], ...]
    footer: str | None
    timestamp: datetime | None
    image: str | None


def _link(value: object) -> str | None:
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value
    return None


def embed_view(embed: dict[str, Any]) -> EmbedView:
    """An embed dict of a Discord payload, as the template draws it."""
    author = embed.get("author") or {}
    stamp = embed.get("timestamp")
    return EmbedView(
        colour=f"#{int(embed.get('color') or 0):06x}",
        title=discord_markdown(str(embed.get("title") or "")),
        url=_link(embed.get("url")),
        author=author.get("name"),
        author_url=_link(author.get("url")),
        description=discord_markdown(str(embed.get("description") or "")),
        fields=tuple(
            (discord_markdown(str(field["name"])), discord_markdown(str(field["value"])))
            for field in embed.get("fields", ())
        ),
        footer=(embed.get("footer") or {}).get("text"),
        timestamp=datetime.fromisoformat(stamp) if isinstance(stamp, str) else None,
        image=_link((embed.get("image") or {}).get("url")),
    )


def payload_embeds(payload: dict[str, Any]) -> list[EmbedView]:
    """Every embed of a payload (render's "create message" dict)."""
    return [embed_view(embed) for embed in payload.get("embeds", ())]


__all__ = ["EmbedView", "discord_markdown", "embed_view", "payload_embeds"]

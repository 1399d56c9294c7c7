"""What a safe Discord payload is: checks shared by the hardening and fuzz tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from bot.delivery.render import (
    Payload,
    RenderContext,
    embed_size,
    render_key_points_change,
    render_message_edit,
    render_status_change,
    render_updates,
    update_embed,
)
from bot.model import Change, EditedEntry, KeyPointsChanged, NewEntry, StatusChanged

# Mention syntax Discord would act on, and mass mentions.
MENTION = re.compile(r"@(?:everyone|here)|<(?:@[!&]?|#)\d+>|</[^>\s]+:\d+>", re.IGNORECASE)
BIDI_OVERRIDES = re.compile("[\u202a-\u202e\u2066-\u2069]")


def u16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def masked_link_targets(text: str) -> Iterator[str]:
    """Targets of `[label](target)` links Discord would render (an unescaped `](`)."""
    for match in re.finditer(r"\]\(", text):
        before = text[: match.start()]
        if (len(before) - len(before.rstrip("\\"))) % 2 == 0:
            yield text[match.end() :].split(")", 1)[0]


def assert_safe(payload: dict[str, Any], *, role_id: int | None = None) -> None:
    """Within Discord's limits; mentions only ROLE_ID (when given); links only http(s)."""
    assert u16(payload["content"] or "") <= 2000  # None: an edit that keeps the text
    embeds = payload["embeds"]
    assert len(embeds) <= 10
    assert sum(embed_size(embed) for embed in embeds) <= 6000
    for embed in embeds:
        assert 0 < u16(embed["title"]) <= 256
        assert u16(embed.get("description", "")) <= 4096
        assert u16(embed.get("footer", {}).get("text", "")) <= 2048
        assert u16(embed.get("author", {}).get("name", "")) <= 256
        for link in (embed.get("url"), embed.get("image", {}).get("url")):
            assert link is None or link.startswith(("http://", "https://"))
    content = payload["content"] or ""  # None: an edit that keeps the text
    if role_id is not None:
        assert payload["allowed_mentions"] == {"parse": [], "roles": [str(role_id)]}
        content = content.removeprefix(f"<@&{role_id}>")
    else:
        assert payload["allowed_mentions"] == {"parse": []}
    for text in strings({"content": content, "embeds": embeds}):
        assert MENTION.search(text) is None, text
        assert BIDI_OVERRIDES.search(text) is None, text
    # masked links, where Discord renders them (content, descriptions, field values), go
    # only to the web; footers and author names are plain text
    markdown = [content] + [embed.get("description", "") for embed in embeds]
    markdown += [field["value"] for embed in embeds for field in embed.get("fields", [])]
    for text in markdown:
        for target in masked_link_targets(text):
            assert target.startswith(("http://", "https://")), target


def render_new_entry(change: NewEntry, ctx: RenderContext, *, ping: bool = False) -> Payload:
    """A new update as the message of one update it is posted as."""
    return render_updates(
        [update_embed(change.entry, ctx)], ping_role=ctx.role_id if ping else None
    )


def render_edit(change: EditedEntry, ctx: RenderContext) -> Payload:
    """An edit as the payload that edits a posted message of that one update."""
    return render_message_edit([update_embed(change.entry, ctx, edited=True)])


def render_change(change: Change, ctx: RenderContext, *, ping: bool = False) -> Payload:
    """A change as the message it is posted as."""
    if isinstance(change, NewEntry):
        return render_new_entry(change, ctx, ping=ping)
    if isinstance(change, EditedEntry):
        return render_edit(change, ctx)
    if isinstance(change, KeyPointsChanged):
        return render_key_points_change(change, ctx, ping=ping)
    assert isinstance(change, StatusChanged)
    return render_status_change(change, ctx)

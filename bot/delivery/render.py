"""Changes → Discord message payloads (pure: no I/O, no discord.py network).

A payload is a plain dict in the shape of Discord's "create message" JSON:

    {"content": str, "embeds": [embed, ...], "allowed_mentions": {"parse": [], ...}}

Plain dicts keep this module free of discord.py, easy to compare in tests and to store in the
outbox as JSON; `to_send_kwargs` turns one into the keyword arguments of discord.py's
`Messageable.send` / `Message.edit`.

Every payload is within Discord's limits (`LIMITS`), counted in UTF-16 code units; everything
that comes from a source is passed through `bot.delivery.sanitize`, so it renders literally and
can mention no one. The only mention a payload can carry is the subscription's role, and only
when the caller asks for a ping.
"""

from __future__ import annotations

import colorsys
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import limits
from bot.delivery.sanitize import (
    clean_markdown,
    clean_plain,
    clip,
    discord_len,
    safe_url,
)
from bot.model import (
    EditedEntry,
    Entry,
    KeyPoints,
    KeyPointsChanged,
    KeyPointsKind,
    StatusChanged,
    StoryStatus,
    utc,
)

Embed = dict[str, Any]
Payload = dict[str, Any]

# Discord's documented limits (characters), by the names the payload builders use.
LIMITS = {
    "content": limits.MESSAGE_CONTENT,
    "embeds_per_message": limits.EMBEDS_PER_MESSAGE,
    "embed_total": limits.EMBEDS_TOTAL,
    "title": limits.EMBED_TITLE,
    "description": limits.EMBED_DESCRIPTION,
    "author": limits.EMBED_AUTHOR,
}

LATEST_HINT = "/latest"
MAX_UPDATES_PER_POLL = 30  # more new updates than this for one channel: newest 30 + "and K more"

KIND_LABELS = {
    KeyPointsKind.SUMMARY: "Key points",
    KeyPointsKind.KEY_EVENTS: "Key events",
    KeyPointsKind.EXTRACTED: "Key points (extracted from recent updates)",
}

_SENTENCE_END = re.compile(r"[.!?…。！？](?:[\"'”’»)\]]*)(?=\s|$)")


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What a payload says about where it comes from and who may be pinged.

    `story_key` (the story's id, or its name when it has none) fixes the story's colour.
    `role_id` is the subscription's mention role; it is pinged only when a render function is
    called with `ping=True`. `text_limit` is how much of an update's text an embed shows before
    "Read more".
    """

    story_name: str
    story_key: str | int | None = None
    source_name: str | None = None
    source_url: str | None = None
    role_id: int | None = None
    text_limit: int = 1000

    @property
    def colour(self) -> int:
        return story_colour(self.story_key if self.story_key is not None else self.story_name)


def story_colour(key: str | int) -> int:
    """A colour (0xRRGGBB) derived from the story's key: same story, same colour, every run.

    The hue comes from a hash; saturation and value are fixed so every colour reads well on
    both Discord themes.
    """
    digest = hashlib.sha256(str(key).encode()).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.65, 0.85)
    return (round(red * 255) << 16) | (round(green * 255) << 8) | round(blue * 255)


# --- sizes ---------------------------------------------------------------------------------


def embed_size(embed: Embed) -> int:
    """Characters of an embed as Discord counts them towards the 6,000 per message."""
    total = discord_len(embed.get("title", "")) + discord_len(embed.get("description", ""))
    for field in embed.get("fields", ()):
        total += discord_len(field["name"]) + discord_len(field["value"])
    total += discord_len(embed.get("footer", {}).get("text", ""))
    total += discord_len(embed.get("author", {}).get("name", ""))
    return total


def _fit_embed(embed: Embed, budget: int = LIMITS["embed_total"]) -> Embed:
    """Shorten the description, then drop fields, until the embed fits `budget`."""
    excess = embed_size(embed) - budget
    description = embed.get("description", "")
    if excess > 0 and description:
        keep = max(discord_len(description) - excess, 0)
        embed["description"] = clip(description, keep) if keep >= 2 else ""
        if not embed["description"]:
            del embed["description"]
    while embed_size(embed) > budget and embed.get("fields"):
        embed["fields"].pop()
    if embed_size(embed) > budget and "footer" in embed:
        embed["footer"]["text"] = clip(embed["footer"]["text"], 64)
    return embed


# --- pieces --------------------------------------------------------------------------------


def _allowed_mentions(role_id: int | None) -> dict[str, Any]:
    if role_id is None:
        return {"parse": []}
    return {"parse": [], "roles": [str(role_id)]}


def _payload(embeds: list[Embed], *, content: str = "", ping_role: int | None = None) -> Payload:
    if ping_role is not None:
        content = f"<@&{ping_role}> {content}".rstrip()
    return {
        "content": clip(content, LIMITS["content"]),
        "embeds": embeds,
        "allowed_mentions": _allowed_mentions(ping_role),
    }


def _ping_role(ctx: RenderContext, ping: bool) -> int | None:
    return ctx.role_id if ping else None


def _base_embed(ctx: RenderContext, title: str, *, footer: str | None = None) -> Embed:
    embed: Embed = {"type": "rich", "title": title, "color": ctx.colour}
    author = clip(clean_plain(ctx.source_name, limit=256), LIMITS["author"])
    if author:
        embed["author"] = {"name": author}
        site = safe_url(ctx.source_url)
        if site:
            embed["author"]["url"] = site
    footer_text = clip(footer if footer is not None else _story_plain(ctx), 256)
    if footer_text:
        embed["footer"] = {"text": footer_text}
    return embed


def _title(text: str | None, ctx: RenderContext, *, prefix: str = "") -> str:
    cleaned = clean_markdown(text, one_line=True, limit=LIMITS["title"])
    if not cleaned:
        cleaned = _story_markdown(ctx) or "Update"
    return clip(prefix + cleaned, LIMITS["title"])


def _story_plain(ctx: RenderContext) -> str:
    """The story's name for footers (no Markdown there)."""
    return clip(clean_plain(ctx.story_name, limit=200), 200)


def _story_markdown(ctx: RenderContext) -> str:
    """The story's name for titles and descriptions (Markdown escaped)."""
    return clip(clean_markdown(ctx.story_name, one_line=True, limit=200), 200)


def _labelled_title(label: str, ctx: RenderContext) -> str:
    """`label: story name`; the label is ours, so it is not escaped."""
    story = _story_markdown(ctx)
    return clip(f"{label}: {story}" if story else label, LIMITS["title"])


def cut_at_sentence(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut to at most `limit` characters at a sentence end (or a word, with "…").

    Returns the text and whether it was cut.
    """
    if len(text) <= limit:
        return text, False
    window = text[: limit + 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() <= limit]
    if ends and ends[-1] >= limit * 0.4:
        return window[: ends[-1]].rstrip(), True
    space = window.rfind(" ", 0, limit)
    if space >= limit * 0.5:
        return window[:space].rstrip() + " …", True
    return window[: limit - 1] + "…", True


def _update_text(entry: Entry, limit: int, link: str | None) -> str:
    """The description of an update embed: the text cut to `limit`, with "Read more"."""
    raw = (entry.text or "").strip()
    more = f"[Read more]({link})" if link else ""
    if not raw:
        return f"[Open this update]({link})" if link else ""
    budget = max(min(limit, LIMITS["description"] - len(more) - 2), 40)
    # Escaping lengthens the text; shrink the raw budget until the escaped text fits.
    for _ in range(4):
        cut, was_cut = cut_at_sentence(raw, budget)
        text = clean_markdown(cut)
        if discord_len(text) <= budget + 2 or budget <= 40:
            break
        budget = max(int(budget * budget / discord_len(text)) - 1, 40)
    text = clip(text, LIMITS["description"] - len(more) - 2)
    if was_cut and more:
        return f"{text}\n\n{more}"
    return text


def _when(entry: Entry, *, edited: bool) -> datetime | None:
    if edited:
        return entry.updated or entry.published
    return entry.published or entry.updated


def update_embed(entry: Entry, ctx: RenderContext, *, edited: bool = False) -> Embed:
    """One update as an embed: title, text with "Read more", time, source, story, image."""
    link = safe_url(entry.url)
    story = _story_plain(ctx)
    footer = (f"Updated · {story}" if story else "Updated") if edited else story
    embed = _base_embed(ctx, _title(entry.title, ctx), footer=footer)
    if link:
        embed["url"] = link
    description = _update_text(entry, ctx.text_limit, link)
    if description:
        embed["description"] = description
    when = _when(entry, edited=edited)
    if when is not None:
        embed["timestamp"] = utc(when).isoformat()
    image = safe_url(entry.image)
    if image:
        embed["image"] = {"url": image}
    return _fit_embed(embed)


def fit_embeds(embeds: Sequence[Embed]) -> list[Embed]:
    """Embeds of one message brought within 6,000 characters together, the longest shortened
    first (an edit rebuilds a batched message, and an edited update may have grown)."""
    fitted = [_fit_embed(dict(embed)) for embed in embeds[: LIMITS["embeds_per_message"]]]
    while (excess := sum(map(embed_size, fitted)) - LIMITS["embed_total"]) > 0:
        shrinkable = [e for e in fitted if e.get("description") or e.get("fields")]
        if not shrinkable:
            break
        longest = max(shrinkable, key=embed_size)
        _fit_embed(longest, max(embed_size(longest) - excess, 0))
    return fitted


def render_message_edit(embeds: Sequence[Embed]) -> Payload:
    """The payload that edits a posted message of updates: its embeds, rebuilt. Its content
    ("and K more", a ping) is left as it was: `content` None means "not changed"."""
    payload = _payload(fit_embeds(embeds))
    payload["content"] = None
    return payload


def render_correction(
    change: EditedEntry, ctx: RenderContext, *, original_message_url: str | None = None
) -> Payload:
    """A short correction, for an edit that cannot be applied in place (old or in a digest)."""
    entry = change.entry
    link = safe_url(entry.url)
    embed = _base_embed(ctx, _title(entry.title, ctx, prefix="Correction: "))
    if link:
        embed["url"] = link
    text, was_cut = cut_at_sentence((entry.text or "").strip(), 300)
    lines = ["This update was changed after it was posted. It now reads:"]
    body = clean_markdown(text)
    if body:
        lines.append("> " + body.replace("\n", "\n> "))
    else:
        lines.append("*(no text)*")
    if was_cut and link:
        lines.append(f"[Read more]({link})")
    original = safe_url(original_message_url)
    if original:
        lines.append(f"[Earlier message]({original})")
    embed["description"] = clip("\n".join(lines), 1000)
    when = entry.updated or entry.published
    if when is not None:
        embed["timestamp"] = utc(when).isoformat()
    return _payload([_fit_embed(embed)])


def _bullets(items: Iterable[tuple[str, str]], limit: int, *, more: str = "…and {} more") -> str:
    """Lines of (marker, item) within `limit` characters, ending "and K more" when cut."""
    entries = list(items)
    lines: list[str] = []
    used = 0
    for index, (style, item) in enumerate(entries):
        text = clip(clean_markdown(item, one_line=True, limit=400), 400) or "…"
        if style == "added":
            line = f"• 🆕 **{text}**"
        elif style == "removed":
            line = f"• ~~{text}~~ *(removed)*"
        else:
            line = f"• {text}"
        left = len(entries) - index - 1  # items after this one
        tail = discord_len(more.format(left)) + 1 if left else 0
        if used + discord_len(line) + 1 + tail > limit:
            lines.append(more.format(len(entries) - index))
            break
        lines.append(line)
        used += discord_len(line) + 1
    return clip("\n".join(lines), limit)


def key_points_embed(
    key_points: KeyPoints, ctx: RenderContext, *, limit: int = LIMITS["description"]
) -> Embed:
    """The current key points of a story (for a thread's starter message or /latest)."""
    embed = _base_embed(ctx, _labelled_title(KIND_LABELS[key_points.kind], ctx))
    body = _bullets((("", item) for item in key_points.items), limit)
    embed["description"] = body or "*No key points yet.*"
    return _fit_embed(embed)


def render_key_points(key_points: KeyPoints, ctx: RenderContext) -> Payload:
    """A message with a story's current key points (a thread starts from one, edited as they
    change)."""
    return _payload([key_points_embed(key_points, ctx)])


def render_key_points_change(
    change: KeyPointsChanged, ctx: RenderContext, *, ping: bool = False
) -> Payload:
    """Key points changed: the full current list, added items marked, removed struck through."""
    label = KIND_LABELS[change.kind]
    embed = _base_embed(ctx, _labelled_title(f"{label} updated", ctx))
    added = set(change.added)
    rows = [("added" if item in added else "", item) for item in change.items]
    rows += [("removed", item) for item in change.removed]
    embed["description"] = _bullets(rows, LIMITS["description"]) or "*The list is now empty.*"
    counts = []
    if change.added:
        counts.append(f"{len(change.added)} added")
    if change.removed:
        counts.append(f"{len(change.removed)} removed")
    if counts:
        story = _story_plain(ctx)
        footer = f"{story} · {', '.join(counts)}" if story else ", ".join(counts)
        embed["footer"] = {"text": clip(footer, 256)}
    return _payload([_fit_embed(embed)], ping_role=_ping_role(ctx, ping))


_STATUS_TEXT = {
    StoryStatus.ENDED: ("Coverage ended", "The source has stopped posting updates on this story."),
    StoryStatus.QUIET: ("Coverage is quiet", "No new updates for a while; still following it."),
    StoryStatus.LIVE: ("Coverage is live", "New updates are arriving again."),
}


def render_status_change(change: StatusChanged, ctx: RenderContext) -> Payload:
    """ "Coverage ended" and the like."""
    title, text = _STATUS_TEXT[change.status]
    embed = _base_embed(ctx, _labelled_title(title, ctx))
    embed["description"] = text
    return _payload([_fit_embed(embed)])


# --- batching and digests ------------------------------------------------------------------


def batch_updates(
    embeds: Sequence[Embed],
    *,
    ping_role: int | None = None,
    keep: int = MAX_UPDATES_PER_POLL,
) -> list[Payload]:
    """Update embeds for one channel (oldest first) packed into as few messages as fit.

    At most 10 embeds and 6,000 characters per message. With more than `keep` embeds only the
    newest `keep` are sent and the last message says "and K more — /latest". `ping_role`, when
    given, is mentioned in the first message.
    """
    embeds = [_fit_embed(dict(embed)) for embed in embeds]
    skipped = max(len(embeds) - keep, 0)
    embeds = embeds[skipped:]
    messages: list[list[Embed]] = []
    size = 0
    for embed in embeds:
        this = embed_size(embed)
        if (
            not messages
            or len(messages[-1]) >= LIMITS["embeds_per_message"]
            or size + this > LIMITS["embed_total"]
        ):
            messages.append([])
            size = 0
        messages[-1].append(embed)
        size += this
    payloads = [_payload(group) for group in messages]
    if skipped:
        note = f"and {skipped} more — {LATEST_HINT}"
        if payloads:
            payloads[-1]["content"] = note
        else:
            payloads.append(_payload([], content=note))
    if ping_role is not None and payloads:
        first = payloads[0]
        payloads[0] = _payload(first["embeds"], content=first["content"], ping_role=ping_role)
    return payloads


def _discord_time(when: datetime | None, style: str = "t") -> str:
    """Discord's timestamp markup: every reader sees it in their own time zone."""
    if when is None:
        return ""
    return f"<t:{int(utc(when).timestamp())}:{style}>"


def render_digest(
    entries: Sequence[Entry],
    key_points: KeyPoints | None,
    ctx: RenderContext,
    *,
    key_points_changed: bool = False,
    ping: bool = False,
) -> Payload | None:
    """One message for a period: the period's updates (time, title, link; "and K more") and
    the current key points. None when nothing happened (no update, no key-point change).
    """
    if not entries and not key_points_changed:
        return None
    embed = _base_embed(ctx, _labelled_title("Digest", ctx))
    count = len(entries)
    embed["title"] = clip(
        f"{embed['title']} · {count} update{'s' if count != 1 else ''}", LIMITS["title"]
    )
    lines: list[str] = []
    budget = 2500  # the rest of the message is for the key points
    used = 0
    for index, entry in enumerate(entries):
        title = (
            clip(clean_markdown(entry.title or entry.text, one_line=True, limit=120), 120)
            or "Update"
        )
        link = safe_url(entry.url)
        when = _discord_time(entry.published or entry.updated)
        line = f"{when} [{title}]({link})" if link else f"{when} {title}"
        line = line.strip()
        remaining = count - index
        tail = len(f"…and {remaining} more — {LATEST_HINT}") + 1
        if used + discord_len(line) + 1 + (tail if remaining > 1 else 0) > budget:
            lines.append(f"…and {remaining} more — {LATEST_HINT}")
            break
        lines.append(line)
        used += discord_len(line) + 1
    if not lines:
        lines.append("No new updates in this period.")
    embed["description"] = "\n".join(lines)
    if entries:
        last = entries[-1].published or entries[-1].updated
        if last is not None:
            embed["timestamp"] = utc(last).isoformat()
    embeds = [_fit_embed(embed)]
    if key_points is not None and key_points.items:
        room = LIMITS["embed_total"] - embed_size(embeds[0]) - 600
        kp = key_points_embed(key_points, ctx, limit=max(min(room, LIMITS["description"]), 200))
        embeds.append(_fit_embed(kp, LIMITS["embed_total"] - embed_size(embeds[0])))
    return _payload(embeds, ping_role=_ping_role(ctx, ping))


# --- messages of our own --------------------------------------------------------------------


def render_updates(
    embeds: Sequence[Embed], *, more: int = 0, ping_role: int | None = None
) -> Payload:
    """One message of a batch of updates: its embeds, "and K more" when updates were left out,
    and the subscription's role when a keyword matched."""
    content = f"and {more} more — {LATEST_HINT}" if more else ""
    return _payload(list(embeds), content=content, ping_role=ping_role)


def render_notice(text: str) -> Payload:
    """A line of Bulletin's own (an alert for moderators); mentions no one."""
    return _payload([], content=text)

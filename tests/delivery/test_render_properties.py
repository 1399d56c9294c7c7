"""Property tests: for any change, every payload is within every Discord limit and nothing from
the source can mention anyone or become a link to a non-web address."""

import re
from datetime import UTC, datetime

import discord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.delivery.render import (
    RenderContext,
    batch_updates,
    embed_size,
    render_correction,
    render_digest,
    render_key_points,
    render_key_points_change,
    render_message_edit,
    render_status_change,
    update_embed,
)
from bot.model import (
    EditedEntry,
    Entry,
    KeyPoints,
    KeyPointsChanged,
    KeyPointsKind,
    NewEntry,
    StatusChanged,
    StoryStatus,
)
from tests.hardening.payloads import render_edit, render_new_entry

PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def u16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


NASTY = [
    "@everyone",
    "@here",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<@&555>",
    "<#123456789012345678>",
    "</latest:1>",
    "[click](javascript:alert(1))",
    "[x](https://evil.example)",
    "](",
    "*",
    "_",
    "~~",
    "`",
    "||",
    "> ",
    "# ",
    "\n",
    "\\",
    "@",
    "<",
    "https://ex.example/@everyone",
    "😀",
    "\u200b",
    "\x1b[2J",
    ". ",
    "… ",
]

texts = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=30)), max_size=40).map("".join)
# Huge texts without generating huge random strings: a piece repeated many times.
huge = st.builds(lambda piece, n: piece * n, texts.filter(bool), st.integers(1, 400))
any_text = st.one_of(texts, huge)
titles = st.one_of(st.none(), texts, st.builds(lambda s: (s or "T") * 5000, st.text(max_size=3)))
urls = st.one_of(
    st.none(),
    st.sampled_from(["javascript:alert(1)", "https://ok.example/a#b", "data:,x", "http://x/@here"]),
    st.builds(lambda tail: "https://ok.example/" + tail, texts),
    texts,
)
times = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1990, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.just(UTC),
    ),
)
entries = st.builds(
    Entry,
    id=st.text(max_size=5),
    title=titles,
    text=any_text,
    url=urls,
    published=times,
    updated=times,
    image=urls,
)
contexts = st.builds(
    RenderContext,
    story_name=st.one_of(texts, titles.map(lambda t: t or "")),
    story_key=st.one_of(st.none(), st.integers(), texts),
    source_name=st.one_of(st.none(), texts, titles),
    source_url=urls,
    role_id=st.one_of(st.none(), st.integers(1, 2**63)),
    text_limit=st.integers(0, 5000),
)
items = st.lists(st.one_of(texts, huge), max_size=60).map(tuple)
key_point_kinds = st.sampled_from(list(KeyPointsKind))

# Mention syntax Discord would act on.
MENTION = re.compile(r"@(?:everyone|here)|<(?:@[!&]?|#)\d+>|</[^>\s]+:\d+>", re.IGNORECASE)


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def masked_link_targets(text: str):
    """Targets of `[label](target)` links Discord would render (unescaped `](`)."""
    for match in re.finditer(r"\]\(", text):
        backslashes = len(text[: match.start()]) - len(text[: match.start()].rstrip("\\"))
        if backslashes % 2 == 0:
            yield text[match.end() :].split(")", 1)[0]


def assert_valid(payload, ctx, *, pinged=False):
    assert set(payload) == {"content", "embeds", "allowed_mentions"}
    assert u16(payload["content"] or "") <= 2000
    embeds = payload["embeds"]
    assert len(embeds) <= 10
    assert sum(embed_size(embed) for embed in embeds) <= 6000
    # discord.py's own count agrees, and it accepts every embed.
    assert sum(len(discord.Embed.from_dict(embed)) for embed in embeds) <= 6000
    for embed in embeds:
        assert 0 < u16(embed["title"]) <= 256
        assert 0 < u16(embed.get("description", "x")) <= 4096
        assert len(embed.get("fields", [])) <= 25
        assert 0 < u16(embed.get("footer", {}).get("text", "x")) <= 2048
        assert 0 < u16(embed.get("author", {}).get("name", "x")) <= 256
        assert 0 <= embed["color"] <= 0xFFFFFF
        for key in ("url",):
            if key in embed:
                assert embed[key].startswith(("http://", "https://"))
        if "image" in embed:
            assert embed["image"]["url"].startswith(("http://", "https://"))
        for target in masked_link_targets(embed.get("description", "")):
            assert target.startswith(("http://", "https://")), target
    # Mentions: only our own role ping, and only when asked for.
    role = ctx.role_id if pinged else None
    content = payload["content"] or ""
    if role is not None:
        assert content.startswith(f"<@&{role}>")
        assert payload["allowed_mentions"] == {"parse": [], "roles": [str(role)]}
        content = content.removeprefix(f"<@&{role}>")
    else:
        assert payload["allowed_mentions"] == {"parse": []}
    for text in strings({"content": content, "embeds": embeds}):
        assert MENTION.search(text) is None, text
        assert "\x1b" not in text


@PROPERTY_SETTINGS
@given(entries, contexts, st.booleans())
def test_any_new_update_renders_within_limits(entry, ctx, ping):
    assert_valid(render_new_entry(NewEntry(entry), ctx, ping=ping), ctx, pinged=ping)


@PROPERTY_SETTINGS
@given(entries, contexts, texts)
def test_any_edit_renders_within_limits(entry, ctx, previous):
    change = EditedEntry(entry, None, previous)
    assert_valid(render_edit(change, ctx), ctx)
    assert_valid(render_correction(change, ctx, original_message_url=entry.url), ctx)


@PROPERTY_SETTINGS
@given(key_point_kinds, items, items, items, contexts, st.booleans())
def test_any_key_point_change_renders_within_limits(kind, added, removed, current, ctx, ping):
    change = KeyPointsChanged(kind, added, removed, current)
    assert_valid(render_key_points_change(change, ctx, ping=ping), ctx, pinged=ping)
    assert_valid(render_key_points(KeyPoints(kind, current), ctx), ctx)


@PROPERTY_SETTINGS
@given(st.sampled_from(list(StoryStatus)), st.sampled_from(list(StoryStatus)), contexts)
def test_any_status_change_renders_within_limits(status, previous, ctx):
    assert_valid(render_status_change(StatusChanged(status, previous), ctx), ctx)


@PROPERTY_SETTINGS
@given(st.lists(entries, max_size=50), contexts, st.booleans())
def test_any_batch_of_updates_fits_discord(batch, ctx, ping):
    embeds = [update_embed(entry, ctx) for entry in batch]
    payloads = batch_updates(embeds, ping_role=ctx.role_id if ping else None)
    for index, payload in enumerate(payloads):
        assert_valid(payload, ctx, pinged=ping and index == 0)
    assert sum(len(p["embeds"]) for p in payloads) == min(len(batch), 30)


@PROPERTY_SETTINGS
@given(st.lists(entries, max_size=80), st.one_of(st.none(), items), contexts, st.booleans())
def test_any_digest_fits_discord(batch, current, ctx, changed):
    key_points = None if current is None else KeyPoints(KeyPointsKind.SUMMARY, current)
    payload = render_digest(batch, key_points, ctx, key_points_changed=changed)
    if not batch and not changed:
        assert payload is None
    else:
        assert_valid(payload, ctx)


@PROPERTY_SETTINGS
@given(st.lists(st.tuples(entries, st.booleans()), min_size=1, max_size=10), contexts)
def test_any_rebuilt_message_of_updates_fits_discord(shown, ctx):
    # an edit rebuilds a batched message; its updates may have grown since it was posted
    embeds = [update_embed(entry, ctx, edited=edited) for entry, edited in shown]
    payload = render_message_edit(embeds)
    assert_valid(payload, ctx)
    assert payload["content"] is None  # the message's text is left as it was
    assert [e["title"] for e in payload["embeds"]] == [e["title"] for e in embeds]

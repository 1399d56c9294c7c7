"""Discord payloads drawn in HTML: the Markdown render writes, and nothing else, becomes markup."""

from __future__ import annotations

import pytest

from bot.delivery.render import RenderContext, key_points_embed, update_embed
from bot.model import KeyPoints, KeyPointsKind
from bot.web.embeds import discord_markdown, embed_view
from tests.builders import entry

CASES = [
    ("plain & <b>", "plain &amp; &lt;b&gt;"),
    ("**bold**", "<strong>bold</strong>"),
    ("~~gone~~ *aside*", "<s>gone</s> <em>aside</em>"),
    (r"\*not italic\*", "*not italic*"),
    (
        "[Read more](https://ex.org/a?b=1&c=2)",
        '<a href="https://ex.org/a?b=1&amp;c=2" rel="noreferrer">Read more</a>',
    ),
    ("[click](javascript:alert(1))", "[click](javascript:alert(1))"),
    (
        '[x](https://ex.org/"onmouseover=alert(1))',
        '<a href="https://ex.org/&#34;onmouseover=alert(1" rel="noreferrer">x</a>)',
    ),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
]


@pytest.mark.parametrize(("text", "html"), CASES, ids=[text for text, _ in CASES])
def test_discord_markdown_draws_only_what_render_writes(text, html):
    assert str(discord_markdown(text)) == html


def test_an_update_embed_is_drawn_from_renders_own_payload():
    hostile = entry(1, title="<img src=x onerror=alert(1)> **Big**", text="A" * 1500)
    ctx = RenderContext(
        story_name="Story", story_key=3, source_name="ex.org", source_url="https://ex.org/live"
    )
    view = embed_view(update_embed(hostile, ctx))
    assert "<img" not in view.title and "&lt;img" in view.title
    assert view.url == "https://example.org/live#e1"
    assert view.author == "ex.org" and view.author_url == "https://ex.org/live"
    assert 'rel="noreferrer">Read more</a>' in view.description  # the text was cut
    assert view.colour.startswith("#") and len(view.colour) == 7
    assert view.timestamp == hostile.published


def test_a_key_points_embed_is_drawn_with_its_items():
    points = KeyPoints(KeyPointsKind.SUMMARY, ("Ferries run", "Quay <closed>"))
    view = embed_view(key_points_embed(points, RenderContext(story_name="Harbour")))
    assert "Key points: Harbour" in view.title
    assert "• Ferries run" in view.description and "Quay &lt;closed&gt;" in view.description

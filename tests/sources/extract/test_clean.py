"""clean.py: HTML to plain text; its shortcuts give what the general path gives."""

from __future__ import annotations

import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sources.extract.clean import (
    _collapsed,
    _joined_runs,
    clean_line,
    html_to_text,
    html_to_texts,
    unescaped,
)
from bot.text import collapse_whitespace


@pytest.mark.parametrize(
    "run",
    [
        "",
        " ",
        "tidy words here",
        "two  spaces",
        " leading",
        "trailing ",
        "tab\there",
        "no\u00a0break",
        "line\u2028separator",
        "ideographic\u3000space",
        "soft\u00adhyphen stays",
    ],
)
def test_collapsed_equals_split_and_join(run: str) -> None:
    assert _collapsed(run) == " ".join(run.split())


@pytest.mark.parametrize(
    "fragment",
    [
        "Plain title",
        "  spaced \n title\t",
        "Caf\u00e9 &amp; bar",
        "It&#39;s here",
        "&lt;b&gt;escaped once&lt;/b&gt; text",
        "&amp;lt;i&amp;gt;escaped twice&amp;lt;/i&amp;gt;",
        "a &lt; b",
        "&nbsp;",
        "<b>markup</b> title",
    ],
)
def test_clean_line_equals_the_general_path(fragment: str) -> None:
    general = collapse_whitespace(html_to_text(fragment)) or None
    assert clean_line(fragment) == general


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("<p>One<br>two</p>", "One\n\ntwo"),
        ("<p>A <a href='/x'>link</a> here</p>", "A link here"),
        ("<p>Tom &amp; Jerry&#39;s</p>", "Tom & Jerry's"),
        ("Tom &amp;amp; Jerry&amp;#39;s", "Tom & Jerry's"),
        ("&lt;p&gt;Escaped&lt;/p&gt;&lt;p&gt;twice&lt;/p&gt;", "Escaped\n\ntwice"),
        ("Line one\nLine two", "Line one\n\nLine two"),
        ("<p>  spaced \n  out  </p>", "spaced out"),
        ("<p>Text</p><script>var x = 1;</script><style>p{}</style>", "Text"),
        ("<div><p>Nested</p></div>\n\n\n<p>Again</p>", "Nested\n\nAgain"),
        ("", ""),
        ("<figure><img src='x.jpg'></figure>", ""),
    ],
)
def test_html_to_text(source, text):
    assert html_to_text(source) == text


@pytest.mark.parametrize(
    "fragments",
    [
        ["<p>a</p>", "<p>b<br>c</p>", "plain &amp; text", "<span>in</span>line"],
        ["<p>a</p>", "x</div>y", "<p>z</p>"],  # a stray end tag escapes its wrapper
        ["<div>unclosed", "<p>next</p>"],  # an unclosed element would swallow the next
        ["<p>a</p>", "<script>x()</script><p>b</p>", "<img src=x>c"],
    ],
)
def test_fragments_read_together_match_one_by_one(fragments):
    assert html_to_texts(fragments) == [html_to_text(f) for f in fragments]


_RUN_PIECES = ["word", "two words", " ", "  ", "\n", "\t", "\u00a0", "\u2028", "\x00", "é", ".", ""]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(_RUN_PIECES), max_size=10), st.sampled_from(["\n", "\x00"]))
def test_joined_runs_equal_splitting_collapsing_and_rejoining(
    pieces: list[str], separator: str
) -> None:
    text = "".join(pieces)
    runs = [" ".join(run.split()) for run in text.split(separator)]
    assert _joined_runs(text, separator) == "\n\n".join(run for run in runs if run)


_ENTITY_PIECES = [
    "&#39;", "&quot;", "&#34;", "&lt;", "&gt;", "&nbsp;", "&amp;", "&amp;#39;", "&", "&#39",
    "&#8217;", "&eacute;", "&ampx;", "&lt", "#39;", "amp;", "text", " ",
]  # fmt: skip


@settings(max_examples=500)
@given(st.lists(st.sampled_from(_ENTITY_PIECES), max_size=8))
def test_unescaped_equals_html_unescape(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert unescaped(text) == html.unescape(text)

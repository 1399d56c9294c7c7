"""The shortcuts taken for speed give exactly what the plain way gives.

Each test compares a fast path with the straightforward code it replaced, on generated inputs
built from the characters and pieces that decide the outcome.
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from bot.model import KeyPointsKind
from bot.sources.extract.detect import decode_html, html_for_parser
from bot.sources.extract.jsonld import _unwrapped
from bot.sources.extract.keypoints import (
    KEY_EVENT_HEADINGS,
    SUMMARY_HEADINGS,
    _headings,
    heading_kind,
)
from bot.sources.summary import _textrank

# The one-pass form the JSON-LD unwrapping had: a regex tried at every position of the block.
_WRAPPERS = re.compile(
    r"^(?:<!--|(?:/\*\s*|//\s*)?<!\[CDATA\[(?:\s*\*/)?)"
    r"|(?:-->|(?:/\*\s*|//\s*)?\]\]>(?:\s*\*/)?)$"
)
_WRAPPER_PIECES = ["<!--", "-->", "<![CDATA[", "]]>", "/*", "*/", "//", " ", "\n", "\u2003"]
_JSON_PIECES = ["{", "}", '"a"', ":", "1", ">", "-", "]", "/", "*", "<", ";"]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(_WRAPPER_PIECES + _JSON_PIECES), max_size=12))
def test_json_ld_unwrapping_equals_the_regex_over_the_whole_block(pieces: list[str]) -> None:
    text = "".join(pieces).strip()
    assert _unwrapped(text) == _WRAPPERS.sub("", text)


_HEADING_PIECES = [
    "what", "to", "know", "here\u2019s", "Key", "EVENTS", "summary", "catch-up", "so far",
    " ", "  ", "\n", "\u00a0", ":", "\u2026", " -", "\u2014", ".", "!", "x",
]  # fmt: skip


def _heading_kind_by_scanning(text: str) -> KeyPointsKind | None:
    """heading_kind as it was first written: the normalised text against every table entry."""
    if not text or len(text) > 80:
        return None
    norm = re.sub(r"\s+", " ", text).strip().lower().replace("\u2019", "'").replace("\u2018", "'")
    norm = re.sub(r"[\s:.!\u2026\-\u2013\u2014]+$", "", norm)
    for table, kind in (
        (SUMMARY_HEADINGS, KeyPointsKind.SUMMARY),
        (KEY_EVENT_HEADINGS, KeyPointsKind.KEY_EVENTS),
    ):
        for heading in table:
            if norm == heading or norm.startswith(heading + " "):
                return kind
    return None


@settings(max_examples=1000)
@given(st.lists(st.sampled_from(_HEADING_PIECES + list(SUMMARY_HEADINGS)), max_size=6))
def test_heading_kind_equals_scanning_the_tables(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert heading_kind(text) is _heading_kind_by_scanning(text)


_HEADING_SELECTOR = "h1,h2,h3,h4,h5,h6,strong,b,p,span,div[role=heading],summary,header"


@pytest.mark.parametrize(
    "markup",
    [
        "<div role=heading>a</div><div role=HEADING>b</div><div ROLE=heading>c</div>",
        "<svg><summary>a</summary><header>b</header><p>c</p></svg><math><span>d</span></math>",
        "<template><h2>What to know</h2></template><h2>Key events</h2>",
        "<P>a</P><SPAN>b</SPAN><Strong>c</Strong><my-p>d</my-p><h7>e</h7>",
        "<table><p>fostered</p><tr><td><b>cell</b></td></tr></table><noscript><p>n</p></noscript>",
        "<header><h1>a</h1><p><b><span>nested</span></b></p></header>",
    ],
)
def test_headings_walk_finds_what_the_css_selector_finds(markup: str) -> None:
    tree = LexborHTMLParser(markup)
    found = [node.mem_id for node in _headings(tree)]
    assert found == [node.mem_id for node in tree.css(_HEADING_SELECTOR)]
    assert found


def _textrank_term_by_term(bags: list[frozenset[str]]) -> list[float]:
    """The TextRank iteration as first written, a generator over each node's edges."""
    n = len(bags)
    logs = [math.log(len(b)) if len(b) > 1 else 0.0 for b in bags]
    weights: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            denominator = logs[i] + logs[j]
            shared = len(bags[i] & bags[j]) if denominator > 0 else 0
            if shared:
                weights[i].append((j, shared / denominator))
                weights[j].append((i, shared / denominator))
    out_weight = [sum(w for _, w in edges) for edges in weights]
    scores = [1.0] * n
    for _ in range(40):
        scores = [
            (1 - 0.85)
            + 0.85 * sum(scores[j] * w / out_weight[j] for j, w in weights[i] if out_weight[j])
            for i in range(n)
        ]
    return scores


@settings(max_examples=200)
@given(st.lists(st.frozensets(st.sampled_from("abcdefghij"), max_size=6), max_size=12))
def test_textrank_scores_are_exactly_those_of_the_plain_iteration(
    bags: list[frozenset[str]],
) -> None:
    assert _textrank(bags) == _textrank_term_by_term(bags)


@pytest.mark.parametrize(
    ("body", "charset", "expected"),
    [
        ("<p>caf\u00e9</p>".encode(), None, "<p>caf\u00e9</p>".encode()),
        (b"\xef\xbb\xbf<p>x</p>", None, b"<p>x</p>"),
        ("<p>caf\u00e9</p>".encode("cp1252"), None, "<p>caf\u00e9</p>"),
        ("<p>caf\u00e9</p>".encode("cp1252"), "iso-8859-1", "<p>caf\u00e9</p>"),
    ],
)
def test_html_for_parser_passes_utf8_bytes_through(
    body: bytes, charset: str | None, expected: str | bytes
) -> None:
    assert html_for_parser(body, charset) == expected


def test_html_for_parser_agrees_with_decode_html() -> None:
    body = "<title>Mise \u00e0 jour</title>".encode()
    assert html_for_parser(body, None).decode() == decode_html(body, None)  # type: ignore[union-attr]

"""The shortcuts taken for speed give exactly what the plain way gives.

Each test compares a fast path with the straightforward code it replaced, on generated inputs
built from the characters and pieces that decide the outcome.
"""

from __future__ import annotations

import html
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from bot.model import KeyPointsKind
from bot.sources.extract.clean import _joined_runs, unescaped
from bot.sources.extract.jsonld import _unwrapped
from bot.sources.extract.keypoints import (
    KEY_EVENT_HEADINGS,
    SUMMARY_HEADINGS,
    _headings,
    heading_kind,
)
from bot.sources.extract.shallow import (
    _FOREIGN_EXITS,
    _KINDS,
    _SIBLING_LEAVES,
    _VOID_NAMES,
    strict_depth,
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


# A start tag whose own end tag follows with only text between is read as one token (a leaf);
# the depth is what reading the two tags one by one gives.
@pytest.mark.parametrize(
    ("markup", "depth"),
    [
        ("<div><p>x</p><p>y</p></div>", 2),
        ("<p>x</P>", None),  # the end tag is spelled differently: not a leaf, not strict
        ("<br>x</br>", None),  # "</br>" closes nothing
        ("<svg><g><g/>x</g></svg>", 2),  # in foreign content "<g/>" opens nothing
        ("<svg><g/>x</g></svg>", None),
        ("<svg><p>x</p></svg>", None),  # <p> leaves foreign content
        ("<Svg>x</Svg><div></div>", 1),
        ("<title>t</title>", 0),
        ("<SCRIPT>never closed", None),
        # a leaf followed by sibling leaves is one token: the same depths again
        ("<div><p>a</p> <p>b</p><h2>c</h2></div><p>d</p>", 2),
        ("<p>x</p><pre>y</pre><P>z</P>", 1),
        ("<p>x</p><br>y</br>", None),
        ("<p>x</p><span>y</spanx>", None),
        ("<svg><g>a</g><g>b</g></svg>", 2),
        ("<svg><g>a</g><p>b</p></svg>", None),  # the second leaf leaves foreign content
    ],
)
def test_leaf_tokens_give_the_depth_of_the_tags_one_by_one(markup: str, depth: int | None) -> None:
    assert strict_depth(markup) == depth
    assert strict_depth(markup.encode()) == depth


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


def test_sibling_leaves_all_leave_foreign_content_and_are_ordinary_elements() -> None:
    # what lets a run of leaves stand for its tags: inside <svg> or <math> any of them gives up
    names = set(_SIBLING_LEAVES)
    assert names <= _FOREIGN_EXITS
    assert not names & _VOID_NAMES
    assert not any(name in _KINDS for name in names)  # neither raw text nor svg/math


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

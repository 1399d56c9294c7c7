"""The nesting bound (nesting.py) and its fast path (shallow.py), which may call markup
shallow only when lexbor builds it so.

Random tag soups (block, inline, formatting, void, raw-text, table, scope and foreign names,
stray end tags, comments) are parsed by lexbor itself and the depth of its tree compared with
what the fast path claims, at a small limit so that the soups stay small.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from bot.sources.extract.nesting import limit_nesting
from bot.sources.extract.shallow import (
    _FOREIGN_EXITS,
    _KINDS,
    _SIBLING_LEAVES,
    _VOID_NAMES,
    strict_depth,
)
from bot.sources.extract.shallow import certainly_shallow as shallow

LIMIT = 20
NAMES = [
    "div", "p", "li", "ul", "dd", "dt", "h1", "h2", "table", "tbody", "tr", "td", "th",
    "caption", "colgroup", "span", "b", "i", "a", "em", "nobr", "font", "form", "button",
    "select", "option", "template", "noscript", "svg", "g", "math", "mi", "body", "html",
    "head", "object", "marquee", "applet", "frameset", "custom-el", "SVG", "Math", "DIV",
]  # fmt: skip
VOIDS = ["br", "img", "hr", "input", "col", "wbr"]
RAW = [
    "<script>if (a < b) { x = '<div>'; }</script>",
    "<style>p > b { color: red }</style>",
    "<title>A <b> title</title>",
    "<textarea><div></div></textarea>",
    "<iframe><div><div></iframe>",
    "<script><!-- <script> </script> <div> --></script>",
    "<svg><title><g><g></g></g></title></svg>",
    "<SVG><title><div><div></div></div></title></SVG>",
    "<svg><path d='x'/><g/></svg>",
]
NOISE = [
    "text",
    "<!-- <div> -->",
    "<!---->",
    "<!-->",
    "<!doctype html>",
    "</br>",
    "</p>",
    '<a title="</div>">',
    "<a b\"c='>'>",
    "<![CDATA[</div>]]>",
    "<?php </div> ?>",
    "</ div>",
    "<div/>",
    "<span/>",
]


def element(children: list[str], name: str, closed: bool) -> str:
    return f"<{name}>" + "".join(children) + (f"</{name}>" if closed else "")


# Trees nested strictly most of the time (what the fast path accepts), with unclosed elements,
# stray end tags and odd constructs mixed in.
leaves = st.one_of(
    st.sampled_from(VOIDS).map(lambda name: f"<{name}>"),
    st.sampled_from(RAW),
    st.sampled_from(NOISE),
    st.sampled_from(NAMES).map(lambda name: f"</{name}>"),
)
soups = st.recursive(
    leaves,
    lambda inner: st.builds(
        element,
        st.lists(inner, max_size=4),
        st.sampled_from(NAMES),
        st.booleans() | st.just(True),
    ),
    max_leaves=12,
)

# Trees nested strictly throughout: the markup the fast path accepts, and where a wrong
# bound would show (the parser closing, reopening or implying elements differently).
strict_leaves = st.one_of(
    st.just("x"),
    st.sampled_from(VOIDS).map(lambda name: f"<{name}>"),
    st.sampled_from([*RAW[:5], RAW[7], "<!-- <div> -->", "<!doctype html>"]),
)
strict_soups = st.recursive(
    strict_leaves,
    lambda inner: st.builds(
        element, st.lists(inner, max_size=3), st.sampled_from(NAMES), st.just(True)
    ),
    max_leaves=30,
)


def tree_depth(markup: str) -> int:
    tree = LexborHTMLParser(markup)
    deepest = 0
    stack = [(tree.root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        child = node.child
        while child is not None:
            stack.append((child, depth + 1))
            child = child.next
    return deepest


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(soups, min_size=1, max_size=6), st.integers(min_value=1, max_value=12))
def test_fast_path_never_calls_a_deep_tree_shallow(parts, repeats):
    # repeating a piece is how a leak of one element per piece would reach the limit
    markup = "".join(parts) * repeats
    if shallow(markup, LIMIT):
        assert tree_depth(markup) <= LIMIT


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(strict_soups, min_size=1, max_size=4), st.integers(min_value=1, max_value=12))
def test_fast_path_never_calls_a_deep_strictly_nested_tree_shallow(parts, repeats):
    markup = "".join(parts) * repeats
    if shallow(markup, LIMIT):
        assert tree_depth(markup) <= LIMIT


@settings(max_examples=100, deadline=None)
@given(st.lists(soups, min_size=1, max_size=6), st.integers(min_value=1, max_value=12))
def test_fast_path_holds_for_utf8_bytes_as_for_text(parts, repeats):
    markup = "é" + "".join(parts) * repeats
    assert shallow(markup.encode(), LIMIT) == shallow(markup, LIMIT)


@pytest.mark.parametrize(
    ("markup", "depth"),
    [
        ("<div><p>One <b>two</b></p><br><img src=x></div>", 3),
        ("<ul><li>a</li><li>b</li></ul>", 2),
        ("<svg><path d='m0 0'/><g></g></svg>", 2),
        ("<script>if (a < b) document.write('</div>')</script><p></p>", 1),
        ("<!-- </div> --><div></div>", 1),
        ("<a title='</div>'></a>", 1),
        ("<DIV></DIV>", 1),
    ],
    ids=["nested", "list", "svg", "script", "comment", "quoted", "upper"],
)
def test_strict_depth_of_strictly_nested_markup(markup, depth):
    assert strict_depth(markup) == depth


@pytest.mark.parametrize(
    "markup",
    [
        "<div><p>unclosed</div>",  # <p> closed by its parent's end tag
        "<span><div></span></div>",  # misnested
        "</span>",  # stray end tag
        "<!--> <div> -->",  # a comment that ends at once
        "<a b\"c='>'>",  # a quote inside an attribute name
        "<script><!-- <script></script> --></script>",  # a script end tag that does not end it
        "<svg><title><g></g></title></svg>",  # raw-text names are ordinary in foreign content
        "<svg><div/></svg>",  # a tag that leaves foreign content
        "<Div></div>",  # case differs
        "<plaintext><div></div>",
        "<?php ?>",
    ],
    ids=[
        "implied-end", "misnested", "stray", "abrupt-comment", "odd-attribute", "script-escape",
        "svg-title", "svg-exit", "case", "plaintext", "bogus-comment",
    ],
)  # fmt: skip
def test_markup_that_may_not_nest_strictly_takes_the_exact_scan(markup):
    assert strict_depth(markup) is None


def test_strict_markup_deeper_than_the_bound_is_not_shallow():
    markup = "<div>" * 9 + "</div>" * 9  # 2 * 9 + 4 > 20
    assert strict_depth(markup) == 9
    assert not shallow(markup, LIMIT)


def test_strict_markup_nested_past_the_limit_is_still_limited():
    markup = "<div>" * 2000 + "x" + "</div>" * 2000
    assert tree_depth(limit_nesting(markup, LIMIT)) <= LIMIT * 3


# The exact scan must follow the parser where a naive tag counter would not: each of these
# builds a tree far deeper than the limit unless the scan knows the rule named.
@pytest.mark.parametrize(
    "markup",
    [
        pytest.param("<noscript>" + "<div>" * 300, id="noscript-content-is-markup"),
        pytest.param("<span><div></span>" * 150, id="end-tag-stops-at-a-special-element"),
        pytest.param("<svg><style>" + "<g>" * 300, id="raw-text-names-in-svg-are-elements"),
    ],
)
def test_exact_scan_limits_what_the_parser_nests(markup):
    assert tree_depth(markup) > 100
    assert tree_depth(limit_nesting(markup, LIMIT)) <= LIMIT + 5


def test_many_closed_tables_in_a_row_are_not_deep():
    # the mixed-case tag keeps the fast path out: this is the exact scan at work
    markup = "<Div>intro</div>" + "<table><tr><td>cell</td></tr></table>" * 300
    assert limit_nesting(markup, LIMIT) == markup


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


def test_sibling_leaves_all_leave_foreign_content_and_are_ordinary_elements() -> None:
    # what lets a run of leaves stand for its tags: inside <svg> or <math> any of them gives up
    names = set(_SIBLING_LEAVES)
    assert names <= _FOREIGN_EXITS
    assert not names & _VOID_NAMES
    assert not any(name in _KINDS for name in names)  # neither raw text nor svg/math

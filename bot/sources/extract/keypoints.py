"""Key-points boxes in HTML: a summary list under a known heading, else a key-events list."""

from __future__ import annotations

from collections.abc import Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.model import KeyPoints, KeyPointsKind
from bot.sources.extract.clean import SKIP_TAGS, node_text
from bot.text import collapse_whitespace

# Headings that introduce the source's own summary list, normalised (lower case, straight
# apostrophes, no trailing punctuation). A heading matches when it is one of these or starts
# with one followed by a space ("What we know so far"). Add to the table as sources need.
SUMMARY_HEADINGS: tuple[str, ...] = (
    "here's what to know",
    "here's what we know",
    "here's what you need to know",
    "what to know",
    "what we know",
    "what you need to know",
    "need to know",
    "key points",
    "key takeaways",
    "takeaways",
    "summary",
    "catch up",
    "catch-up",
    "catching up",
    "in brief",
    "at a glance",
    "the latest",
    "latest developments",
    "the essentials",
)
KEY_EVENT_HEADINGS: tuple[str, ...] = ("key events", "key moments", "key updates", "timeline")
# Site boxes found by class, before any heading search: (CSS selector of the items, kind).
KEY_EVENT_BOXES: tuple[str, ...] = (
    ".live-event-key-events li",  # Reach plc (Mirror, Express, CorkBeo, ...)
)
# Text that is page furniture, never a key point.
FURNITURE = frozenset(
    [
        "read more",
        "related posts",
        "related articles",
        "related",
        "more on this story",
        "share",
        "share this",
        "advertisement",
        "sign up",
        "subscribe",
        "show more",
        "see more",
        "load more",
        "comments",
        "most read",
        "most popular",
        "newsletter",
        "skip to content",
        "back to top",
        "menu",
        "follow us",
    ]
)
# Elements that may head a key-points list (and <div role="heading">).
_HEADING_TAGS = frozenset(
    ["h1", "h2", "h3", "h4", "h5", "h6", "strong", "b", "p", "span", "summary", "header"]
)
_OUTSIDE = frozenset({"nav", "footer", "aside", "form", "menu"})
_TRAILING = " :.!\u2026-\u2013\u2014"  # stripped from the end of a heading
_MAX_HEADING = 80  # a longer "heading" is a sentence that happens to start alike
_MAX_ITEMS = 30


def normalise_heading(text: str) -> str:
    # split and join: what collapse_whitespace does, without a regex; then the only space left
    # is " ", so the trailing punctuation and spaces can go with rstrip
    text = " ".join(text.split()).lower().replace("\u2019", "'").replace("\u2018", "'")
    return text.rstrip(_TRAILING)


_HEADING_KINDS = (
    (frozenset(SUMMARY_HEADINGS), KeyPointsKind.SUMMARY),
    (frozenset(KEY_EVENT_HEADINGS), KeyPointsKind.KEY_EVENTS),
)
_MAX_HEADING_WORDS = max(h.count(" ") + 1 for h in (*SUMMARY_HEADINGS, *KEY_EVENT_HEADINGS))


def heading_kind(text: str) -> KeyPointsKind | None:
    """Which key-points list a heading introduces, if any: one of the tables' headings, alone
    or followed by more words ("What we know so far")."""
    if not text or len(text) > _MAX_HEADING:
        return None
    words = normalise_heading(text).split(" ")
    starts = {" ".join(words[:n]) for n in range(1, min(len(words), _MAX_HEADING_WORDS) + 1)}
    for table, kind in _HEADING_KINDS:
        if not starts.isdisjoint(table):
            return kind
    return None


def _in_furniture(node: LexborNode) -> bool:
    parent = node.parent
    depth = 0
    while parent is not None and depth < 64:
        if parent.tag in _OUTSIDE:
            return True
        parent = parent.parent
        depth += 1
    return False


_ITEM_SKIP = SKIP_TAGS | {"time", "figure", "img"}


def item_text(node: LexborNode) -> str | None:
    """A list item's text on one line: links as plain text, times dropped."""
    text = collapse_whitespace(node_text(node, skip=_ITEM_SKIP))
    if not text or normalise_heading(text) in FURNITURE:
        return None
    return text


def list_items(nodes: list[LexborNode]) -> tuple[str, ...]:
    items: list[str] = []
    for node in nodes[:_MAX_ITEMS]:
        text = item_text(node)
        if text and text not in items:
            items.append(text)
    return tuple(items)


def _first_list_after(heading: LexborNode) -> LexborNode | None:
    """The first <ul>/<ol> after a heading, before the next heading: in the following
    siblings of the heading, then of its ancestors (a heading is often wrapped)."""
    node: LexborNode | None = heading
    for _ in range(4):  # climb at most a few wrappers
        if node is None:
            return None
        sibling = node.next
        steps = 0
        while sibling is not None and steps < 12:
            tag = sibling.tag
            if tag in ("ul", "ol"):
                return sibling
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                return None
            if tag not in ("-text", "_comment", "-comment"):
                found = sibling.css_first("ul, ol")
                if found is not None:
                    return found
                if sibling.css_first("h1, h2, h3, h4, h5, h6") is not None:
                    return None
                steps += 1
            sibling = sibling.next
        node = node.parent
    return None


def _headings(tree: LexborHTMLParser) -> Iterator[LexborNode]:
    """The elements that may head a list, in document order, found as they are needed: the
    summary box sits near the top of a live page, so the walk mostly stops early."""
    root = tree.root
    if root is None:  # a document without even an <html> element heads no list
        return
    for node in root.traverse():
        tag = node.tag
        if tag in _HEADING_TAGS or (tag == "div" and node.attributes.get("role") == "heading"):
            yield node


def key_points_in(tree: LexborHTMLParser) -> KeyPoints | None:
    """First found wins: a summary list under a known heading, then a key-events list."""
    found_events: KeyPoints | None = None
    for heading in _headings(tree):
        own = heading.text(deep=True, separator=" ")
        kind = heading_kind(own)
        if kind is None or _in_furniture(heading):
            continue
        if heading.css_first("ul, ol") is not None:
            continue  # a container, not a heading
        box = _first_list_after(heading)
        if box is None:
            continue
        items = list_items(box.css("li"))
        if not items:
            continue
        if kind is KeyPointsKind.SUMMARY:
            return KeyPoints(KeyPointsKind.SUMMARY, items)
        if found_events is None:
            found_events = KeyPoints(KeyPointsKind.KEY_EVENTS, items)
    for selector in KEY_EVENT_BOXES:
        items = list_items(tree.css(selector))
        if items:
            return KeyPoints(KeyPointsKind.KEY_EVENTS, items)
    return found_events

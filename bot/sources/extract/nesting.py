"""The nesting bound: start tags past depth MAX_DEPTH (500) are dropped before lexbor parses.

Why: lexbor, like any HTML5 parser, looks down its stack of open elements for many start tags
(e.g. "is there a <p> to close?"), so parsing costs time quadratic in the nesting depth: a page
nesting 100,000 <div>s costs about 9 s of CPU (a 5 MB page of them, many minutes) while the event
loop waits. No real page nests anywhere near MAX_DEPTH elements, so `limit_nesting` drops the
start tags beyond it: their text stays, in the element around them, and parsing stays linear.

How, cheapest first: markup with too few tags to nest that deep comes back as it is; so does
markup `shallow.certainly_shallow` proves shallow in one regex pass (nearly every real page);
the rest goes through the exact scan here, which follows the HTML tree-building rules closely
enough never to count less depth than the parser builds.
"""

from __future__ import annotations

import logging
import re
from typing import overload

from bot.sources.extract.shallow import certainly_shallow

log = logging.getLogger(__name__)

# Start tags nested deeper than this are dropped (see above).
MAX_DEPTH = 500

# --- what the exact scan knows of the parser's rules ------------------------------------------
# Start tags that never deepen the tree: void elements, and the document's own skeleton.
_FLAT_TAGS = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
        "param",
        "keygen",
        "frame",
        "html",
        "head",
        "body",
    ]
)
# Start tags that close an open element of their family first (<li> closes the open <li>, ...),
# if it is near the top of the stack with only inline elements above it.
_FAMILIES: dict[str, frozenset[str]] = {
    name: frozenset(family.split())
    for names, family in (
        ("li", "li"),
        ("dt dd", "dt dd"),
        ("p", "p"),
        ("td th", "td th"),
        ("tr", "tr td th"),
        ("thead tbody tfoot", "thead tbody tfoot tr td th"),
        ("option", "option"),
        ("optgroup", "option optgroup"),
    )
    for name in names.split()
}
_INLINE_TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "big",
        "cite",
        "code",
        "em",
        "font",
        "i",
        "kbd",
        "mark",
        "nobr",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "time",
        "tt",
        "u",
        "var",
    ]
)
_FAMILY_LOOKBACK = 8
# Elements whose content is raw text up to their end tag (nothing inside is a tag).
_RAW_TEXT_TAGS = frozenset(
    [
        "script",
        "style",
        "textarea",
        "title",
        "xmp",
        "iframe",
        "noembed",
        "noframes",
        "plaintext",
    ]
)
# noscript is not raw text here: lexbor parses with scripting off, so its content is markup.
# The parser's "special" elements: an end tag that is not one of them ("any other end tag")
# closes nothing when a special element is open above its match.
_SPECIAL_TAGS = frozenset(
    [
        "address",
        "applet",
        "area",
        "article",
        "aside",
        "base",
        "basefont",
        "bgsound",
        "blockquote",
        "body",
        "br",
        "button",
        "caption",
        "center",
        "col",
        "colgroup",
        "dd",
        "details",
        "dir",
        "div",
        "dl",
        "dt",
        "embed",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "frame",
        "frameset",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "header",
        "hgroup",
        "hr",
        "html",
        "iframe",
        "img",
        "input",
        "keygen",
        "li",
        "link",
        "listing",
        "main",
        "marquee",
        "menu",
        "meta",
        "nav",
        "noembed",
        "noframes",
        "noscript",
        "object",
        "ol",
        "p",
        "param",
        "plaintext",
        "pre",
        "script",
        "search",
        "section",
        "select",
        "source",
        "style",
        "summary",
        "table",
        "tbody",
        "td",
        "template",
        "textarea",
        "tfoot",
        "th",
        "thead",
        "title",
        "tr",
        "track",
        "ul",
        "wbr",
        "xmp",
    ]
)
# Inside these, raw-text names (<style>, <title>) are ordinary elements whose content is markup.
_FOREIGN_TAGS = frozenset(["svg", "math"])
# End tags do not reach through these: "</div>" inside a <td> leaves the outer <div> open.
_SCOPE_TAGS = frozenset(
    ["table", "td", "th", "caption", "template", "applet", "marquee", "object", "svg", "math"]
)
_TAG_START = re.compile(r"<(?:(!--)|(/?)([A-Za-z][A-Za-z0-9:-]*))")


_COUNT_FIRST = 64 * 1024  # characters


def _few_tags(markup: str | bytes, limit: int) -> bool:
    count = markup.count(b"<") if isinstance(markup, bytes) else markup.count("<")
    return count <= limit


@overload
def limit_nesting(markup: str, limit: int = MAX_DEPTH) -> str: ...
@overload
def limit_nesting(markup: bytes, limit: int = MAX_DEPTH) -> bytes: ...


def limit_nesting(markup: str | bytes, limit: int = MAX_DEPTH) -> str | bytes:
    """MARKUP with the start tags that would nest elements deeper than LIMIT removed.

    A linear scan that follows the HTML tree-building rules closely enough never to count
    less depth than the parser builds: an end tag closes only an element open above the
    nearest scope boundary, as the parser's "in scope" check does. UTF-8 bytes (as pages
    reach lexbor) come back as bytes, untouched unless something was removed.
    """
    # The common cases, at once: too few tags to nest deeper (then the scan below would drop
    # nothing either), or markup proved shallow. A large page counts its tags last: counting
    # costs a tenth of the proof, which such a page nearly always passes.
    if len(markup) > _COUNT_FIRST:
        shallow = certainly_shallow(markup, limit) or _few_tags(markup, limit)
    else:
        shallow = _few_tags(markup, limit) or certainly_shallow(markup, limit)
    if shallow:
        return markup
    if isinstance(markup, bytes):
        text = markup.decode("utf-8", "surrogateescape")
        limited = _limit_text(text, limit)
        return markup if limited is text else limited.encode("utf-8", "surrogateescape")
    return _limit_text(markup, limit)


def _limit_text(markup: str, limit: int) -> str:
    stack: list[str] = []
    open_at: dict[str, list[int]] = {}  # tag → its positions in `stack`, innermost last
    # Positions in `stack`, innermost last, of: scope boundaries, special elements, svg/math.
    bounds = _Bounds()
    drops: list[tuple[int, int]] = []
    lowered: str | None = None
    position = 0
    while True:
        match = _TAG_START.search(markup, position)
        if match is None:
            break
        position = match.end()
        if match.group(1):  # a comment: skip to its end
            end = markup.find("-->", position)
            if end < 0:
                break
            position = end + 3
            continue
        name = match.group(3).lower()
        if match.group(2):  # an end tag
            places = open_at.get(name)
            if places and _end_tag_closes(name, places[-1], bounds):
                target = places[-1]
                while len(stack) > target:
                    _pop(stack, open_at, bounds)
            continue
        if name in _RAW_TEXT_TAGS and bounds.foreign[-1] < 0:
            if lowered is None:
                lowered = markup.lower()
            end = lowered.find("</" + name, position)
            if end < 0:
                break
            position = end
            continue
        if name in _FLAT_TAGS:
            continue
        family = _FAMILIES.get(name)
        if family is not None:
            _close_family(stack, open_at, bounds, family)
        if len(stack) >= limit:
            close = markup.find(">", position)
            end = len(markup) if close < 0 else close + 1
            drops.append((match.start(), end))
            position = end
            continue
        depth = len(stack)
        open_at.setdefault(name, []).append(depth)
        if name in _SCOPE_TAGS:
            bounds.scopes.append(depth)
        if name in _SPECIAL_TAGS:
            bounds.specials.append(depth)
        if name in _FOREIGN_TAGS:
            bounds.foreign.append(depth)
        stack.append(name)
    if not drops:
        return markup
    log.info("markup nested over %d elements deep: %d start tags dropped", limit, len(drops))
    pieces = []
    kept_from = 0
    for start, end in drops:
        pieces.append(markup[kept_from:start])
        kept_from = end
    pieces.append(markup[kept_from:])
    return "".join(pieces)


class _Bounds:
    """Stack positions (innermost last, -1 at the bottom) the end-tag rules look at."""

    __slots__ = ("foreign", "scopes", "specials")

    def __init__(self) -> None:
        self.scopes = [-1]
        self.specials = [-1]
        self.foreign = [-1]


def _end_tag_closes(name: str, target: int, bounds: _Bounds) -> bool:
    """Whether an end tag pops its innermost open element at `target`, as the parser would.

    A special element's end tag closes it when it is in scope; any other end tag only when no
    special element is open above it (for formatting elements the adoption agency may instead
    move nodes around, which never leaves the tree shallower than not closing at all).
    """
    if target < bounds.scopes[-1]:  # a scope boundary is open above it (it may be one itself)
        return False
    return name in _SPECIAL_TAGS or target > bounds.specials[-1]


def _close_family(
    stack: list[str], open_at: dict[str, list[int]], bounds: _Bounds, family: frozenset[str]
) -> None:
    """Pop the open element of FAMILY a new start tag closes, as the parser would; looking
    only a few elements down keeps the scan linear (missing one only counts depth higher)."""
    for index in range(len(stack) - 1, max(len(stack) - 1 - _FAMILY_LOOKBACK, -1), -1):
        name = stack[index]
        if name in family:
            while len(stack) > index:
                _pop(stack, open_at, bounds)
            return
        if name not in _INLINE_TAGS:
            return


def _pop(stack: list[str], open_at: dict[str, list[int]], bounds: _Bounds) -> None:
    name = stack.pop()
    open_at[name].pop()
    depth = len(stack)
    for positions in (bounds.scopes, bounds.specials, bounds.foreign):
        if positions[-1] == depth:
            positions.pop()

"""HTML → plain text: entities decoded, tags stripped, one blank line between paragraphs."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from itertools import product
from typing import overload

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.text import collapse_whitespace

log = logging.getLogger(__name__)

# Elements whose start and end break a paragraph.
BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "section",
        "article",
        "header",
        "footer",
        "aside",
        "figure",
        "figcaption",
        "table",
        "tr",
        "td",
        "th",
        "thead",
        "tbody",
        "tfoot",
        "hr",
        "br",
        "main",
        "nav",
        "address",
        "details",
        "summary",
        "form",
        "fieldset",
    ]
)
# Elements whose content is never text a reader sees.
SKIP_TAGS = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "svg",
        "object",
        "embed",
        "head",
        "title",
        "button",
        "select",
        "input",
        "textarea",
        "video",
        "audio",
        "canvas",
        "map",
    ]
)
_ANY_TAG = re.compile(r"<[A-Za-z!/]")
_BLOCK_TAG = re.compile(
    r"<(?:p|div|br|li|h[1-6]|blockquote|ul|ol|table|tr|section|article|figure)\b", re.IGNORECASE
)
# An entity left after one decoding: the source escaped its HTML twice.
_LEFT_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_BREAK = "\n"
# Markup that is still there after one reading: tags the source escaped twice.
_ESCAPED_MARKUP = re.compile(
    r"<(?:!--|/?(?:p|div|a|br|span|em|strong|b|i|ul|ol|li|img|h[1-6]|table|td|tr)\b[^<>]*>)",
    re.IGNORECASE,
)


# --- nesting depth ---------------------------------------------------------------------------
# lexbor, like any HTML5 parser, looks down its stack of open elements for many start tags
# (e.g. "is there a <p> to close?"), so a page nesting 100,000 <div>s costs quadratic time
# (~9 s of CPU; a 5 MB page of them, many minutes) while the event loop waits. No real page nests
# anywhere near MAX_DEPTH elements, so start tags beyond it are dropped before parsing: their
# text stays, in the element around them, and parsing stays linear.
MAX_DEPTH = 500
# Markup of one update read at most (characters); the text kept is capped again at extraction.
MAX_FRAGMENT = 400_000
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


@overload
def limit_nesting(markup: str, limit: int = MAX_DEPTH) -> str: ...
@overload
def limit_nesting(markup: bytes, limit: int = MAX_DEPTH) -> bytes: ...


# --- the fast path: a sound bound from one C-level tokenizing pass ------------------------------
# Almost every page nests its elements strictly: each end tag closes the innermost open
# element. For such markup the depth the parser reaches is bounded by the strict nesting
# depth D, and the exact scan below is not needed. Why `2 * D + _SLACK` bounds it:
# - tokens: the pattern reads tags, comments, doctypes and raw-text elements exactly as the
#   HTML tokenizer does; whatever it might read differently (a quote inside an attribute name,
#   `<!-->`, `<!` or `<?` bogus comments, `</` without a name, a `<!--` inside a script, a raw-text
#   element with no end) stops the fast path, so no tag the parser sees is missed.
# - pushes: every start tag puts at most one element on the stack, plus elements the parser
#   implies: <tbody> and <tr> for a cell (at most two per strictly open element), <colgroup>
#   for a <col>, and <html>/<body> once. A formatting element the parser closed early is
#   reopened by "reconstruct the active formatting elements" only while its own end tag has not
#   come, i.e. in place of its strict entry, never beside it.
# - pops: an end tag that closes the innermost strict element finds nothing above that element
#   on the parser's stack but implied or reopened elements, which the parser pops with it; the
#   parser closes elements early (<p> before a <div>, the adoption agency), never later.
# - foreign content (<svg>, <math>) is where the tokenizer and the tree builder differ from
#   HTML: there a self-closing tag opens nothing, raw-text names are ordinary, and the tags
#   that leave foreign content or enter an integration point change the rules; a raw-text
#   element or such a tag inside stops the fast path.
# Elements the parser ignores (a second <body>, a <tr> outside a table) only lower the depth.
# tests/sources/test_nesting_bound.py checks the bound against lexbor's own trees.
_SLACK = 4
_WS = r"\t\n\f\r "
_ATTR_LIST = (
    rf"(?:[{_WS}/]++[^{_WS}/\"'<=>][^{_WS}/\"'<=>]*+"
    rf"(?:[{_WS}]*+=[{_WS}]*+(?:\"[^\"]*+\"|'[^']*+'|[^{_WS}\"'<=>`]++))?+)*+"
    rf"(?:[{_WS}]|/(?!>))*+"
)
# Attributes up to the tag's ">" (a bare ">" first: most tags have none); group: "/" when the
# tag closes itself.
_ATTRS = rf"(?:>|{_ATTR_LIST}(/?)>)"
_UNCLOSED_ATTRS = rf"(?:>|{_ATTR_LIST}/?>)"
_RAW_NAMES = "script|style|title|textarea|iframe|noembed|noframes|xmp"
# Names of elements that may follow a leaf as more leaves of the same token: HTML elements
# that also leave foreign content (so none of them can continue such a token inside <svg> or
# <math>), neither void nor raw text; the commonest first.
_SIBLING_LEAVES = (
    "p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "span", "em", "strong", "b", "i", "div", "dd",
    "dt", "code", "small", "sub", "sup", "u", "s", "pre", "blockquote", "ol", "ul", "dl", "tt",
    "var", "big", "center", "nobr", "strike", "menu", "ruby", "listing",
)  # fmt: skip
_SIBLING = rf"(?=[{''.join(sorted({n[0] for n in _SIBLING_LEAVES}))}])({'|'.join(_SIBLING_LEAVES)})"
# One match per token. The pattern needs no look-ahead after a tag name: the attributes can
# only begin with a space, "/" or ">". Alternatives, the common ones first:
# - a raw-text element, whole (group 1: its name), tried only where one can begin; a "<!--"
#   inside a script can hide its end tag from a simple search, so any "<!--" inside sends the
#   page to the exact scan;
# - a start tag (group 2; group 3 "/" when self-closing) and, when nothing but text comes
#   before its own end tag, that end tag too (group 4 "/": a leaf in one match), then any
#   leaves of _SIBLING_LEAVES that follow it with only text between (group 5 "<" when there
#   is one; group 6 is the last one's name): a run of paragraphs is one token;
# - an end tag (group 7);
# - a comment or a doctype;
# - anything else the tokenizer reads as markup (group 8): give up.
# A start tag named like a raw-text element is one whose element could not be read whole
# (or <plaintext>): the loop gives up on it.
_TOKEN = (
    rf"<(?:(?=[sStTiInNxX])((?i:{_RAW_NAMES})){_UNCLOSED_ATTRS}"
    rf"(?:[^<]++|<(?!/(?i:\1)[{_WS}/>]|!--))*+</(?i:\1)(?=[{_WS}/>]){_UNCLOSED_ATTRS}"
    rf"|([A-Za-z][A-Za-z0-9-]*+){_ATTRS}(?:[^<]*+<(/)\2{_UNCLOSED_ATTRS}"
    rf"(?:[^<]*+(<){_SIBLING}{_UNCLOSED_ATTRS}"
    rf"[^<]*+</\6{_UNCLOSED_ATTRS})*)?"
    rf"|/([A-Za-z][A-Za-z0-9-]*+){_UNCLOSED_ATTRS}"
    r"|!--(?!-?>)(?s:.*?)--!?>|!(?i:doctype)[^>]*+>"
    r"|([A-Za-z/!?]))"
)
_TOKENS = re.compile(_TOKEN)
_TOKENS_BYTES = re.compile(_TOKEN.encode())
_VOID_NAMES = frozenset(
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
        "basefont",
        "bgsound",
    ]
)
# The same names as bytes, for pages read as UTF-8 bytes.
_VOID_NAMES |= {name.encode() for name in _VOID_NAMES}
# Start tags that leave foreign content or open an HTML integration point within it.
_FOREIGN_EXITS = frozenset(
    [
        "b",
        "big",
        "blockquote",
        "body",
        "br",
        "center",
        "code",
        "dd",
        "div",
        "dl",
        "dt",
        "em",
        "embed",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "hr",
        "i",
        "img",
        "li",
        "listing",
        "menu",
        "meta",
        "nobr",
        "ol",
        "p",
        "pre",
        "ruby",
        "s",
        "small",
        "span",
        "strong",
        "strike",
        "sub",
        "sup",
        "table",
        "tt",
        "u",
        "ul",
        "var",
        "font",
        "foreignobject",
        "desc",
        "title",
        "mi",
        "mo",
        "mn",
        "ms",
        "mtext",
        "annotation-xml",
        "svg",
        "math",
    ]
)


def _spellings(name: str) -> set[str]:
    """NAME in every mix of upper and lower case (tag names are case-insensitive)."""
    return {"".join(letters) for letters in product(*({c.lower(), c.upper()} for c in name))}


# What a start tag's name means to the loop, looked up once per tag: void names as written
# (the pattern's void names are lower case only, like the parser's fast path), raw-text and
# foreign names in any case.
_VOID, _RAW, _FOREIGN_ROOT = 1, 2, 3
_KINDS: dict[str, int] = {name: _VOID for name in _VOID_NAMES if isinstance(name, str)}
_KINDS.update({s: _RAW for n in [*_RAW_NAMES.split("|"), "plaintext"] for s in _spellings(n)})
_KINDS.update({s: _FOREIGN_ROOT for n in ("svg", "math") for s in _spellings(n)})
_KINDS_BYTES = {name.encode(): kind for name, kind in _KINDS.items()}
_FOREIGN_ROOTS = frozenset(n for n, kind in _KINDS.items() if kind == _FOREIGN_ROOT)
_FOREIGN_ROOTS_BYTES = frozenset(n.encode() for n in _FOREIGN_ROOTS)


def strict_depth(markup: str | bytes) -> int | None:
    """The depth of MARKUP when every end tag closes the innermost open element, else None.

    One regex pass does the reading; the loop only keeps the stack of names.
    """
    if isinstance(markup, bytes):
        tokens = _TOKENS_BYTES.findall(markup)
        kinds: Mapping[str | bytes, int] = _KINDS_BYTES
        roots: frozenset[str | bytes] = _FOREIGN_ROOTS_BYTES
    else:
        tokens = _TOKENS.findall(markup)
        kinds, roots = _KINDS, _FOREIGN_ROOTS
    stack: list[str | bytes] = []
    deepest = 0
    foreign = 0  # open <svg>/<math> elements
    for raw, start, closed, leaf, siblings, _, end, other in tokens:
        if start:
            kind = kinds.get(start)
            if kind is None and not foreign:  # an ordinary element outside svg/math
                if leaf:  # opened and closed: one level deeper for a moment
                    if len(stack) >= deepest:
                        deepest = len(stack) + 1
                else:
                    stack.append(start)
                    if len(stack) > deepest:
                        deepest = len(stack)
                continue
            if kind == _VOID:
                if leaf:  # "</br>" after a void element: an end tag that closes nothing
                    return None
                continue
            if kind == _RAW:
                return None
            if foreign:
                # a leaf's siblings all leave foreign content, like the exits
                if siblings or _name(start).lower() in _FOREIGN_EXITS:
                    return None
                if closed:  # a self-closing tag opens nothing in foreign content
                    if leaf:
                        if not stack or stack.pop() != start:
                            return None
                        if kind == _FOREIGN_ROOT:
                            foreign -= 1
                    continue
            elif kind == _FOREIGN_ROOT and not leaf:
                foreign += 1
            if leaf:  # opened and closed: one level deeper for a moment
                if len(stack) >= deepest:
                    deepest = len(stack) + 1
                continue
            stack.append(start)
            if len(stack) > deepest:
                deepest = len(stack)
        elif end:
            if not stack or stack.pop() != end:
                return None
            if foreign and end in roots:
                foreign -= 1
        elif other or (raw and foreign):
            return None
    return deepest


def _name(name: str | bytes) -> str:
    return name if isinstance(name, str) else name.decode("ascii")


def certainly_shallow(markup: str | bytes, limit: int) -> bool:
    """True when the parser certainly nests MARKUP no deeper than LIMIT (see above)."""
    depth = strict_depth(markup)
    return depth is not None and 2 * depth + _SLACK <= limit


_COUNT_FIRST = 64 * 1024  # characters


def _few_tags(markup: str | bytes, limit: int) -> bool:
    count = markup.count(b"<") if isinstance(markup, bytes) else markup.count("<")
    return count <= limit


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


# The entities sources use most, with what html.unescape makes of each; "&amp;" comes last, so
# that the "&" it yields is not read again (html.unescape reads the text once).
_COMMON_ENTITIES = (
    ("&#39;", "'"),
    ("&quot;", '"'),
    ("&#34;", '"'),
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&nbsp;", "\xa0"),
    ("&amp;", "&"),
)


def unescaped(text: str) -> str:
    """`html.unescape(text)`; by plain replacement when every "&" starts a common entity
    (html.unescape calls back into Python for each entity it meets)."""
    left = text.count("&")
    found = []
    for entity, char in _COMMON_ENTITIES:
        count = text.count(entity)
        if count:
            found.append((entity, char))
            left -= count
            if not left:
                break
    if left:
        return html.unescape(text)
    for entity, char in found:
        text = text.replace(entity, char)
    return text


def unescape_again(text: str) -> str:
    """Decode entities that survived one decoding (double-escaped sources)."""
    if "&" in text and _LEFT_ENTITY.search(text):
        return html.unescape(text)
    return text


def _collapsed(run: str) -> str:
    """`" ".join(run.split())`, without splitting a run that is already tidy.

    Splitting allocates every word and dominates the cost of long bodies. A printable run
    holds no whitespace but U+0020; with no double space and no space at either end the
    split and join would give it back unchanged.
    """
    if run.isprintable() and "  " not in run and run[:1] != " " and run[-1:] != " ":
        return run
    return " ".join(run.split())


_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))


def _tidy_runs(text: str, separator: str) -> bool:
    """Whether every run of TEXT between SEPARATORs is one `_collapsed` keeps as it is, and
    none is empty: then splitting, collapsing and rejoining would only swap the separators.
    With the separators made spaces, that is a tidy run as `_collapsed` sees one."""
    spaced = text.replace(separator, " ")
    if "  " in spaced or spaced[:1] in ("", " ") or spaced[-1] == " ":
        return False
    if text.isascii():
        # ASCII is printable from " " to "~": with those bytes deleted, only separators may be
        # left (one pass over bytes; isprintable looks every character up in a table)
        rest = text.encode("ascii").translate(None, _PRINTABLE_ASCII)
        return not rest.replace(separator.encode("ascii"), b"")
    return spaced.isprintable()


def _joined_runs(text: str, separator: str) -> str:
    """The non-empty runs of TEXT between SEPARATORs, each collapsed, one blank line apart."""
    if _tidy_runs(text, separator):
        return text.replace(separator, "\n\n")
    runs = [_collapsed(run) for run in text.split(separator)]
    return "\n\n".join([run for run in runs if run])


def _paragraphs(raw: str) -> str:
    return _joined_runs(raw, _BREAK)


def node_text(root: LexborNode, *, skip: frozenset[str] = SKIP_TAGS) -> str:
    """The text of a parsed element: paragraphs separated by one blank line.

    Iterative walk (no recursion), so hostile nesting depth cannot blow the stack.
    """
    parts: list[str] = []
    # Stack of (node, entering); a block element is pushed again to mark its end.
    stack: list[tuple[LexborNode, bool]] = [(root, True)]
    while stack:
        node, entering = stack.pop()
        tag = node.tag
        if not entering:
            parts.append(_BREAK)
            continue
        if tag == "-text":
            value = node.text_content
            if value:
                parts.append(value.replace(_BREAK, " "))
            continue
        if tag in skip or tag == "_comment" or tag == "-comment":
            continue
        block = tag in BLOCK_TAGS
        if block:
            parts.append(_BREAK)
            stack.append((node, False))
        children = []
        child = node.child
        while child is not None:
            children.append(child)
            child = child.next
        stack.extend((c, True) for c in reversed(children))
    return unescape_again(_paragraphs("".join(parts)))


_WRAP = "data-bulletin-fragment"
# Void elements that hold no text: removed outright (lexbor keeps them when unwrapping).
_VOID_TAGS = frozenset({"img", "wbr", "source", "track", "area", "col", "param", "link", "meta"})
_SKIP_LIST = sorted(SKIP_TAGS | _VOID_TAGS)


_TAG_NAME = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)")
_KEEP = BLOCK_TAGS | SKIP_TAGS | _VOID_TAGS | {"html", "body"}
_RUN = "\x00"  # separates runs of text; lexbor turns a NUL in the source into U+FFFD


def _flatten(tree: LexborHTMLParser, markup: str) -> None:
    """Leave only block elements around the text: skipped elements go with their content,
    inline ones are unwrapped and their text merged, all inside lexbor. Afterwards every
    text node is one paragraph's worth of text."""
    names = {name.lower() for name in set(_TAG_NAME.findall(markup))}
    # Each name stripped costs a walk of the whole tree: strip only the names the markup
    # holds, and those the parser makes by itself (<head>; <image> becomes <img>).
    present = names | {"head", "img"} if "image" in names else names | {"head"}
    tree.strip_tags([name for name in _SKIP_LIST if name in present])
    inline = names - _KEEP
    if inline:
        tree.unwrap_tags(sorted(inline))
    tree.merge_text_nodes()


def _runs_text(root: LexborNode) -> str:
    return unescape_again(_joined_runs(root.text(separator=_RUN), _RUN))


def _plain_text(fragment: str, depth: int) -> str:
    if "&" in fragment:
        fragment = unescape_again(unescaped(fragment))
        if depth < 1 and _ESCAPED_MARKUP.search(fragment):
            return html_to_texts([fragment], _depth=depth + 1)[0]  # markup escaped once more
    return _paragraphs(fragment)


def _prepare(fragment: str) -> str:
    # without block markup, line breaks are the paragraph breaks
    return fragment if _BLOCK_TAG.search(fragment) else fragment.replace("\n", "<br>")


def _parse_each(fragments: list[str]) -> list[str]:
    texts = []
    for fragment in fragments:
        markup = limit_nesting(_prepare(fragment))
        tree = LexborHTMLParser(markup)
        _flatten(tree, markup)
        texts.append(_runs_text(tree.body) if tree.body is not None else "")
    return texts


def _parse_together(fragments: list[str]) -> list[str] | None:
    """All fragments in one parse, each in a wrapper element; None when a fragment's own
    markup broke out of its wrapper (then each is parsed alone)."""
    # Limited as a whole: unclosed elements of one fragment nest the ones after it.
    document = limit_nesting(
        "".join(f"<div {_WRAP}>{_prepare(fragment)}</div>" for fragment in fragments)
    )
    tree = LexborHTMLParser(document)
    _flatten(tree, document)
    body = tree.body
    if body is None:
        return None
    wrappers = []
    child = body.child
    while child is not None:
        if child.tag != "-text" or (child.text_content or "").strip():
            if child.tag != "div" or _WRAP not in child.attributes:
                return None
            wrappers.append(child)
        child = child.next
    if len(wrappers) != len(fragments):
        return None
    return [_runs_text(wrapper) for wrapper in wrappers]


def _head_of(markup: str, limit: int) -> str:
    """The first LIMIT characters of MARKUP, without a tag cut in half at the end."""
    head = markup[:limit]
    opening = head.rfind("<")
    if opening > head.rfind(">"):
        head = head[:opening]
    return head


def html_to_texts(fragments: list[str | None], _depth: int = 0) -> list[str]:
    """Plain text of many HTML fragments (or texts that may hold entities) at once.

    Fragments with markup are parsed together in one document, which costs far less than
    one parse each. Text without block markup keeps its line breaks as paragraph breaks
    (JSON-LD bodies are often plain text with `\\n` between paragraphs).
    """
    fragments = list(fragments)  # clipped in place below; the caller's list stays as it was
    results = [""] * len(fragments)
    marked: list[int] = []
    for index, fragment in enumerate(fragments):
        if not fragment:
            continue
        if len(fragment) > MAX_FRAGMENT:
            # A 10 MB update would cost hundreds of MB to parse; far more than is ever shown.
            log.info("an update of %d characters: the first %d read", len(fragment), MAX_FRAGMENT)
            fragment = fragments[index] = _head_of(fragment, MAX_FRAGMENT)
        if "<" in fragment and _ANY_TAG.search(fragment):  # "in" first: a fast scan
            marked.append(index)
        else:
            results[index] = _plain_text(fragment, _depth)
    if marked:
        sources = [fragments[i] or "" for i in marked]
        texts = (_parse_together(sources) if len(sources) > 1 else None) or _parse_each(sources)
        for index, text in zip(marked, texts, strict=True):
            if _depth < 1 and _ESCAPED_MARKUP.search(text):
                # the source escaped its HTML twice: what is left is markup, read it again
                text = html_to_texts([text.replace("\n\n", "<br>")], _depth=_depth + 1)[0]
            results[index] = text
    return results


def html_to_text(fragment: str | None) -> str:
    """Plain text of one HTML fragment: entities decoded, tags stripped, paragraphs
    separated by one blank line."""
    return html_to_texts([fragment])[0]


def clean_line(fragment: str | None) -> str | None:
    """A title or list item: text on one line, or None when nothing is left."""
    if not fragment:
        return None
    if "<" not in fragment:
        # No markup (the common title): what html_to_text would do, without its machinery;
        # markup that only appears once entities are decoded still takes the full path.
        text = fragment
        if "&" in text:
            text = unescape_again(unescaped(text))
        if "<" not in text:
            return " ".join(text.split()) or None
    text = collapse_whitespace(html_to_text(fragment))
    return text or None

"""A proof, in one regex pass, that markup is too shallow to need the nesting bound.

`nesting.limit_nesting` bounds how deep a page's elements nest before lexbor parses it, and its
exact scan costs a Python step per tag. Almost every page nests its elements strictly (each end
tag closes the innermost open element): for such markup `strict_depth` reads every token in one
C-level regex pass and keeps only a stack of names, and `certainly_shallow` turns that depth into
a sound bound on the depth the parser builds (why it is sound: the comment below). Markup it
cannot prove shallow goes through the exact scan in `nesting`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import product

# --- a sound bound from one C-level tokenizing pass ------------------------------------------
# Almost every page nests its elements strictly: each end tag closes the innermost open
# element. For such markup the depth the parser reaches is bounded by the strict nesting
# depth D, and the exact scan (nesting.py) is not needed. Why `2 * D + _SLACK` bounds it:
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
# tests/sources/extract/test_nesting.py checks the bound against lexbor's own trees.
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
_VOID_NAMES: frozenset[str | bytes] = frozenset(
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
_VOID_NAMES |= {name.encode() for name in _VOID_NAMES if isinstance(name, str)}
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
        kinds: Mapping[str, int] | Mapping[bytes, int] = _KINDS_BYTES
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

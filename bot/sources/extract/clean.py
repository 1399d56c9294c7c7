"""HTML → plain text: entities decoded, tags stripped, one blank line between paragraphs."""

from __future__ import annotations

import logging
import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.sources.extract.nesting import limit_nesting
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
# Markup of one update read at most (characters); the text kept is capped again at extraction.
MAX_FRAGMENT = 400_000


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


def _html_unescape(text: str) -> str:
    # imported at first use: the html module's entity table costs about 1 MB of memory, and
    # most sources need only the common entities above
    import html

    return html.unescape(text)


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
        return _html_unescape(text)
    for entity, char in found:
        text = text.replace(entity, char)
    return text


def unescape_again(text: str) -> str:
    """Decode entities that survived one decoding (double-escaped sources)."""
    if "&" in text and _LEFT_ENTITY.search(text):
        return _html_unescape(text)
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

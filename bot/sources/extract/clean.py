"""HTML → plain text: entities decoded, tags stripped, one blank line between paragraphs."""

from __future__ import annotations

import html
import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.text import collapse_whitespace

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


def unescape_again(text: str) -> str:
    """Decode entities that survived one decoding (double-escaped sources)."""
    if "&" in text and _LEFT_ENTITY.search(text):
        return html.unescape(text)
    return text


def _paragraphs(raw: str) -> str:
    lines = (collapse_whitespace(line) for line in raw.split(_BREAK))
    return "\n\n".join(line for line in lines if line)


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


def html_to_text(fragment: str | None, _depth: int = 0) -> str:
    """Plain text of an HTML fragment or of text that may hold entities.

    Text without block markup keeps its line breaks as paragraph breaks (JSON-LD bodies are
    often plain text with `\\n` between paragraphs).
    """
    if not fragment:
        return ""
    if not _ANY_TAG.search(fragment):
        if "&" in fragment:
            fragment = unescape_again(html.unescape(fragment))
            if _depth < 1 and _ESCAPED_MARKUP.search(fragment):
                return html_to_text(fragment, _depth=_depth + 1)  # markup escaped once more
        return _paragraphs(fragment)
    if not _BLOCK_TAG.search(fragment):
        fragment = fragment.replace("\n", "<br>")
    tree = LexborHTMLParser(fragment)
    body = tree.body
    if body is None:
        return ""
    text = node_text(body)
    if _ESCAPED_MARKUP.search(text) and _depth < 1:
        # the source escaped its HTML twice: what is left is markup, read it once more
        return html_to_text(text.replace("\n\n", "<br>"), _depth=_depth + 1)
    return text


def clean_line(fragment: str | None) -> str | None:
    """A title or list item: text on one line, or None when nothing is left."""
    if not fragment:
        return None
    text = collapse_whitespace(html_to_text(fragment))
    return text or None

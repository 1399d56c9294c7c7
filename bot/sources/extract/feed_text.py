"""The content of a feed element, and repairs of text that feeds garble.

- `element_content`: an RSS or Atom text construct by its declared type: `text` is plain text
  (shown as written, never read as markup), `html` and `xhtml` are markup for `clean`, Atom
  0.3's `mode="base64"` and Atom 1.0's binary media types are decoded from base64 first;
- `repaired`: UTF-8 that was read as cp1252 or Latin-1 somewhere upstream (`Ã©` for `é`)
  decoded again, and cp1252's characters given as C1 control codes (`\\x92` for `’`) restored.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import NamedTuple

from lxml import etree

from bot.sources.extract.detect import decode_mixed

_TEXT_TYPES = frozenset({"text", "text/plain"})
_MARKUP_TYPES = frozenset({"html", "xhtml", "text/html"})


class Content(NamedTuple):
    value: str
    plain: bool  # plain text, not markup


# An <object>'s content is what a reader sees when the object cannot be shown: its fallback
# text; likewise what a feed writes inside an <iframe>. `clean` drops both whole (with
# <embed>, <script>, ...), so they become spans here.
_FALLBACK_TAG = re.compile(r"<(/?)(?:object|iframe)\b", re.IGNORECASE)
_EMPTY_FALLBACK = re.compile(r"<(object|iframe)\b[^>]*>\s*</\1\s*>", re.IGNORECASE)
# "<!" that opens no comment and no HTML doctype (a whole page pasted into a feed): in a
# fragment of a feed it is text ("<!DOCTYPE rss" or "<![CDATA[" quoted in a post; HTML has no
# CDATA sections), which an HTML parser would swallow whole as a bogus comment.
_BOGUS_DECLARATION = re.compile(r"<!(?!--|[dD][oO][cC][tT][yY][pP][eE]\s+[hH][tT][mM][lL]\b)")
# A comment that is never closed would hide the rest of the fragment: it ends at the next ">"
# instead, as SGML (and feedparser) read "<!-- ... >".
_UNCLOSED_COMMENT = re.compile(r"<!--[^>]*>?")
# The start of what `visible_fragment` changes, one pattern with "<" as its literal prefix
# (searched fast; IGNORECASE or a leading alternation would make it several times slower).
_HIDING = re.compile(r"<(?:[oO][bB][jJ]|[iI][fF][rR]|!)")
# Entities HTML5 gave other characters than XML and HTML 4 (the languages feeds are written in).
_HTML4_ENTITIES = (("&lang;", "\u2329"), ("&rang;", "\u232a"))


def _escaped(text: str) -> str:
    """`html.escape(text, quote=False)`, without loading the html module's entity table (about
    1 MB) for it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inner_markup(element: etree._Element) -> str:
    """ELEMENT's content as HTML: its text, escaped, and its children serialised."""
    head = _escaped(element.text or "")
    return head + "".join(
        etree.tostring(child, method="html", encoding="unicode", with_tail=True)
        for child in element
    )


def _base64_text(value: str) -> str:
    try:
        raw = base64.b64decode("".join(value.split()), validate=False)
    except (binascii.Error, ValueError):
        return value
    return decode_mixed(raw)


def escape_text(text: str) -> str:
    """Plain TEXT as markup that reads back as TEXT."""
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _is_binary(kind: str) -> bool:
    """Atom 1.0: content of a media type that is neither text nor XML is base64-encoded."""
    return "/" in kind and not (
        kind.startswith("text/") or kind.endswith(("/xml", "+xml")) or kind in _MARKUP_TYPES
    )


def element_content(element: etree._Element) -> Content | None:
    """An element's content by its type (and Atom 0.3's mode); None when it has none."""
    if not element.attrib:  # the common case: RSS text, HTML unless it says otherwise
        if len(element):
            return Content(_inner_markup(element), False)
        text = element.text
        return None if text is None else Content(text, False)
    kind = (element.get("type") or "").strip().lower()
    if (element.get("mode") or "").strip().lower() == "base64" or _is_binary(kind):
        # Atom 0.3's default type is text/plain; binary content is shown as the text it holds
        text = _base64_text(element.text or "")
        if kind in _MARKUP_TYPES:
            return Content(text, plain=False)
        return Content(text, plain=True)
    if len(element):
        # xhtml, or markup written straight into the element (not escaped): HTML either way
        return Content(_inner_markup(element), plain=False)
    text = element.text
    if text is None:
        return None
    if kind in _TEXT_TYPES:
        return Content(text, plain=True)
    return Content(text, plain=False)


def plain_paragraphs(text: str) -> str:
    """Plain text as `clean` shapes text: each line's whitespace collapsed, paragraphs (lines)
    one blank line apart."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n\n".join(line for line in lines if line)


def visible_fragment(markup: str) -> str:
    """MARKUP with what an HTML parser would hide from a fragment made visible (see above)."""
    if "<" not in markup or _HIDING.search(markup) is None:  # the common case, one scan
        return markup
    # an empty one goes whole: `clean` would split the paragraph at an empty inline element
    markup = _FALLBACK_TAG.sub(r"<\1span", _EMPTY_FALLBACK.sub("", markup))
    if "<!" in markup:
        opened = markup.find("<!--")
        if opened >= 0 and markup.find("-->", opened + 4) < 0:
            markup = _UNCLOSED_COMMENT.sub("", markup)
        markup = _BOGUS_DECLARATION.sub("&lt;!", markup)
    return markup


def visible_line(markup: str) -> str:
    """A title's markup made visible, and the two entities HTML5 reads differently from XML and
    HTML 4 read as those do (a title is short: no need to save the scans)."""
    if "&" in markup:
        for entity, char in _HTML4_ENTITIES:
            markup = markup.replace(entity, char)
    return visible_fragment(markup)


# UTF-8 read as cp1252 (or Latin-1): a lead byte's character followed by continuation bytes'
# characters. Continuation bytes 0x80-0xBF are U+0080-U+00BF in Latin-1, and in cp1252 the
# characters below for 0x80-0x9F.
_CP1252_HIGH = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_CONTINUATION = f"[\u0080-\u00bf{_CP1252_HIGH}]"
_MOJIBAKE = re.compile(
    f"[\u00c2-\u00df]{_CONTINUATION}"
    f"|[\u00e0-\u00ef]{_CONTINUATION}{{2}}"
    f"|[\u00f0-\u00f4]{_CONTINUATION}{{3}}"
)
# A lead character and one continuation character: the search gate for `_MOJIBAKE` (a pattern
# that starts with one character class is searched far faster than the alternation above).
_MOJIBAKE_START = re.compile(f"[\u00c2-\u00f4]{_CONTINUATION}")
_C1 = re.compile("[\u0080-\u009f]")


def _as_bytes(run: str) -> bytes:
    return bytes(ord(char) if ord(char) < 0x100 else char.encode("cp1252")[0] for char in run)


def _redecoded(match: re.Match[str]) -> str:
    run = match.group(0)
    try:
        return _as_bytes(run).decode("utf-8")
    except UnicodeDecodeError:
        return run


def _cp1252_char(match: re.Match[str]) -> str:
    byte = bytes([ord(match.group(0))])
    try:
        return byte.decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: nothing in cp1252 either
        return ""


# What garbled text looks like in a document's UTF-8 bytes, each found by a fast literal-prefix
# search: a C1 code; a mojibake lead character (U+00C2-U+00F4) before the first byte of a
# continuation character; a character reference to U+0080-U+00FF (also escaped twice).
_GARBLED_BYTES = (
    (b"\xc2", re.compile(rb"\xc2[\x80-\x9f]")),
    (b"\xc3", re.compile(rb"\xc3[\x82-\xb4][\xc2\xc5\xc6\xcb\xe2]")),
)
_HIGH_REFERENCE = re.compile(rb"#(?:1[2-9][0-9]|2[0-5][0-9]|[xX][89a-fA-F][0-9a-fA-F]);")


def may_be_garbled(utf8_body: bytes) -> bool:
    """Whether a document's text may need `repaired` (a cheap test of the whole document, so
    that the texts of the others are not searched one by one)."""
    if b"#" in utf8_body and _HIGH_REFERENCE.search(utf8_body):
        return True
    if utf8_body.isascii():
        return False
    # (a one-byte search first: memchr is several times faster than a pattern's scan)
    return any(lead in utf8_body and p.search(utf8_body) for lead, p in _GARBLED_BYTES)


def repaired(text: str) -> str:
    """TEXT with double-encoded UTF-8 decoded once more and C1 codes read as cp1252."""
    if text.isascii():
        return text
    if _MOJIBAKE_START.search(text):
        text = _MOJIBAKE.sub(_redecoded, text)
    if _C1.search(text):
        text = _C1.sub(_cp1252_char, text)
    return text


def repaired_line(text: str | None) -> str | None:
    return None if text is None else repaired(text)

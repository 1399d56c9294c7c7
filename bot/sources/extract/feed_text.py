"""The text of a feed element as markup for `clean`, and repairs of text that feeds garble.

- `element_markup`: an RSS or Atom text construct as HTML, by its declared type: `text` is
  escaped (shown as written), `xhtml` is its inner markup, `base64` is decoded first;
- `repaired`: UTF-8 that was read as cp1252 or Latin-1 somewhere upstream (`Ã©` for `é`)
  decoded again, and cp1252's characters given as C1 control codes (`\\x92` for `’`) restored.
"""

from __future__ import annotations

import base64
import binascii
import html
import re

from lxml import etree

from bot.sources.extract.detect import decode_mixed

_XHTML_TYPES = frozenset({"xhtml", "application/xhtml+xml"})
_TEXT_TYPES = frozenset({"text", "text/plain"})
# An <object>'s content is what a reader sees when the object cannot be shown: its fallback
# text. `clean` drops objects whole (with <embed>, <iframe>, ...), so they become spans here.
_OBJECT_TAG = re.compile(r"<(/?)object\b", re.IGNORECASE)


def _inner_markup(element: etree._Element) -> str:
    """ELEMENT's content as HTML: its text, escaped, and its children serialised."""
    head = html.escape(element.text or "", quote=False)
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


def element_markup(element: etree._Element) -> str | None:
    """An element's content as HTML for `clean`, read by its type (and Atom 0.3's mode)."""
    kind = (element.get("type") or "").strip().lower()
    if (element.get("mode") or "").strip().lower() == "base64":
        text = _base64_text(element.text or "")
        return escape_text(text) if kind in _TEXT_TYPES else text
    if len(element):
        # xhtml, or markup written straight into the element (not escaped): HTML either way
        markup = _inner_markup(element)
    else:
        text = element.text
        if text is None:
            return None
        markup = escape_text(text) if kind in _TEXT_TYPES else text
    if kind in _XHTML_TYPES or "<object" in markup or "<OBJECT" in markup:
        markup = _OBJECT_TAG.sub(r"<\1span", markup)
    return markup


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


def repaired(text: str) -> str:
    """TEXT with double-encoded UTF-8 decoded once more and C1 codes read as cp1252."""
    if text.isascii():
        return text
    if _MOJIBAKE.search(text):
        text = _MOJIBAKE.sub(_redecoded, text)
    if _C1.search(text):
        text = _C1.sub(_cp1252_char, text)
    return text


def repaired_line(text: str | None) -> str | None:
    return None if text is None else repaired(text)

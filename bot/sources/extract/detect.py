"""What a document is (JSON, an XML feed, HTML) and how its bytes decode."""

from __future__ import annotations

import codecs
import re

_FIRST_ELEMENT = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*|<!--.*?-->\s*|<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>\s*)*"
    rb"<([A-Za-z][\w:.-]*)",
    re.DOTALL | re.IGNORECASE,
)
_FEED_ROOTS = frozenset({b"rss", b"feed", b"rdf", b"channel"})
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)
_CT_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
# Byte-order marks, longest first: UTF-32LE's starts with UTF-16LE's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# "<?xm" in the EBCDIC code pages (cp037, cp500, ... all agree on these four bytes)
EBCDIC_START = b"\x4c\x6f\xa7\x94"


def charset_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _CT_CHARSET.search(content_type)
    if not match:
        return None
    name = match.group(1).lower()
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _cp1252_for_bad_bytes(error: UnicodeError) -> tuple[str, int]:
    """Decode error handler: bytes that are not UTF-8 are read as cp1252 (Latin-1 in practice).

    Pages that mix encodings (a UTF-8 template around Latin-1 text pasted from elsewhere) keep
    both readable, instead of every UTF-8 character turning into mojibake.
    """
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    return bad.decode("cp1252", errors="replace"), error.end


codecs.register_error("bulletin-cp1252", _cp1252_for_bad_bytes)


def decode_mixed(body: bytes) -> str:
    """UTF-8, with any byte that is not valid UTF-8 read as cp1252."""
    return body.decode("utf-8", errors="bulletin-cp1252")


def strip_bom(body: bytes) -> tuple[bytes, str | None]:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :], name
    return body, None


def wide_encoding(head: bytes) -> str | None:
    """UTF-32 or UTF-16 without a byte-order mark, told by where the NULs around the first
    character sit (it is ASCII: '<', '{' or whitespace); None for ASCII-compatible bytes."""
    if len(head) < 4 or b"\x00" not in head[:4]:
        return None
    b0, b1, b2, b3 = head[:4]
    if b0 == b1 == b2 == 0 and b3:
        return "utf-32-be"
    if b1 == b2 == b3 == 0 and b0:
        return "utf-32-le"
    if b0 == 0 and b1 and b2 == 0 and b3:
        return "utf-16-be"
    if b0 and b1 == 0 and b2 and b3 == 0:
        return "utf-16-le"
    return None


def text_encoding_of_nuls(body: bytes) -> str | None:
    """The UTF-16 or UTF-32 form of a document whose NUL bytes are those of text (a byte-order
    mark, or NULs where an ASCII first character would have them); None otherwise."""
    _, bom = strip_bom(body[:4])
    return bom if bom not in (None, "utf-8") else wide_encoding(body[:4])


def sniffable_head(body: bytes, size: int = 4096) -> bytes:
    """The first SIZE bytes of BODY as ASCII-compatible bytes: without a byte-order mark, and
    UTF-16, UTF-32 and EBCDIC re-encoded as UTF-8, so that markup and JSON can be recognised
    whatever the encoding."""
    head, bom = strip_bom(body[: size + 4])
    wide = bom if bom not in (None, "utf-8") else wide_encoding(head)
    if wide is not None:
        unit = 4 if "32" in wide else 2
        head = head[: len(head) // unit * unit]
        return head.decode(wide, errors="replace").encode("utf-8")[:size]
    if head.startswith(EBCDIC_START):
        return head.decode("cp037", errors="replace").encode("utf-8")[:size]
    return head[:size]


def sniff(body: bytes, content_type: str | None) -> str:
    """'json', 'xml' (a feed-like root element) or 'html'."""
    head = sniffable_head(body)
    start = head.lstrip()[:1]
    if start in (b"{", b"["):
        return "json"
    match = _FIRST_ELEMENT.match(head)
    if match:
        root = match.group(1).lower().rsplit(b":", 1)[-1]
        if root in _FEED_ROOTS:
            return "xml"
        if root == b"html":
            return "html"
    ctype = (content_type or "").lower()
    if "json" in ctype:
        return "json"
    if "xml" in ctype and "html" not in ctype:
        return "xml"
    return "html"


def decode_html(body: bytes, charset: str | None) -> str:
    """HTTP charset → BOM → <meta charset> → UTF-8 → UTF-8 with stray bytes as cp1252."""
    text, _ = _decode_html(body, charset)
    return text


def html_for_parser(body: bytes, charset: str | None) -> str | bytes:
    """What to hand the HTML parser: the bytes themselves when `decode_html` would read them
    as UTF-8 (lexbor reads UTF-8 bytes as they are, sparing a re-encoding of the whole page),
    else the decoded text."""
    text, utf8_body = _decode_html(body, charset)
    return utf8_body if utf8_body is not None else text


def _decode_html(body: bytes, charset: str | None) -> tuple[str, bytes | None]:
    """(text, the body without its BOM when the text is its strict UTF-8 decoding, else None)."""
    body, bom = strip_bom(body)
    bom = bom or wide_encoding(body[:4])
    candidates = [bom, charset]
    meta = _META_CHARSET.search(body[:4096])
    if meta:
        candidates.append(meta.group(1).decode("ascii", "replace"))
    candidates.append("utf-8")
    for name in candidates:
        if not name:
            continue
        try:
            text = body.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
        return text, body if codecs.lookup(name).name == "utf-8" else None
    return decode_mixed(body), None


def decode_json(body: bytes, charset: str | None) -> str:
    body, bom = strip_bom(body)
    bom = bom or wide_encoding(body[:4])
    for name in (bom, charset, "utf-8"):
        if not name:
            continue
        try:
            return body.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return decode_mixed(body)

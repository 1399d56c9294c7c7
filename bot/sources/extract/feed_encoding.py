"""How a feed's bytes decode: byte-order marks, UTF-16/32 and EBCDIC without one, the HTTP
charset, the XML declaration, and detection for documents that say nothing.

The order is RFC 7303's (sections 3.2 and 8): a byte-order mark first, then the `charset` of the
HTTP content type, then the document's own declaration; UTF-8 when nothing is said. Every
encoding name Python's codecs know is honoured, also where libxml2 does not know it: the body is
decoded here and handed to lxml as UTF-8. A UTF-8 body that says UTF-8 (or nothing) is handed
over as it is: the fast path of ordinary feeds.
"""

from __future__ import annotations

import codecs
import functools
import logging
import re

from bot.sources.extract.detect import EBCDIC_START, decode_mixed, strip_bom, wide_encoding

log = logging.getLogger(__name__)

_DECLARATION = re.compile(
    rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']\s*([A-Za-z0-9._:+-]{1,40})\s*["']""", re.IGNORECASE
)
_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9._:+-]{1,40})""", re.IGNORECASE)
# Names whose bytes are read as a superset, as browsers and feedparser do: GB2312 feeds use
# GB18030's characters; "ISO-8859-1" and "ASCII" feeds are in practice cp1252 (curly quotes,
# dashes and the euro sign in 0x80-0x9F, which Latin-1 makes invisible control characters).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ascii": "bulletin-cp1252",
    "latin-1": "bulletin-cp1252",
    "iso8859-1": "bulletin-cp1252",
    "cp1252": "bulletin-cp1252",
}
_DETECT_BYTES = 64 * 1024  # enough text for detection; a 5 MB feed is not read whole for it


def _cp1252_lenient(error: UnicodeError) -> tuple[str, int]:
    """Decode error handler: the five bytes cp1252 leaves undefined are read as Latin-1, so no
    byte is lost (and UTF-8 read as cp1252 by mistake can still be repaired later)."""
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    return bad.decode("latin-1"), error.end


codecs.register_error("bulletin-latin1", _cp1252_lenient)


def decode(body: bytes, encoding: str) -> str:
    """BODY decoded as ENCODING (a name `codec_name` gave); bytes it cannot read are replaced."""
    if encoding == "bulletin-cp1252":
        return body.decode("cp1252", errors="bulletin-latin1")
    if encoding == "utf-8":
        return decode_mixed(body)
    return body.decode(encoding, errors="replace")


@functools.lru_cache(maxsize=128)  # feeds name a handful of encodings
def codec_name(name: str | None) -> str | None:
    """The codec to read a declared NAME with, or None when Python knows no such encoding."""
    if not name:
        return None
    try:
        canonical = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    return _SUPERSETS.get(canonical, canonical)


def charset_of(content_type: str | None) -> str | None:
    """The codec named by a content type's charset parameter, if Python knows it."""
    if not content_type:
        return None
    match = _CHARSET.search(content_type)
    return codec_name(match.group(1)) if match else None


def _declared(body: bytes) -> str | None:
    match = _DECLARATION.match(body[:1024])
    return match.group(1).decode("ascii") if match else None


def _detected(body: bytes) -> str:
    """The encoding of a document that names none and is not UTF-8, by charset-normalizer, on
    its text without the markup (ASCII tags would drown the few telling bytes). Where it has
    no evidence of a language and cp1252 reads the bytes as well as its best guess does,
    cp1252 is taken: the web's most common legacy encoding, as browsers default to."""
    from charset_normalizer import from_bytes  # loaded for the first such document only

    text = re.sub(rb"<[^>]{0,2000}>", b" ", body[:_DETECT_BYTES])
    matches = list(from_bytes(text))
    if not matches:
        return "bulletin-cp1252"
    best = matches[0]
    if best.coherence > 0:
        return codec_name(best.encoding) or "bulletin-cp1252"
    for match in matches:
        if match.chaos > best.chaos + 0.01:
            break
        if "cp1252" in [match.encoding, *match.could_be_from_charset]:
            return "bulletin-cp1252"
    return codec_name(best.encoding) or "bulletin-cp1252"


def _is_utf8(body: bytes) -> bool:
    if body.isascii():  # far cheaper than decoding, and the common case
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def feed_utf8(body: bytes, content_type: str | None, *, verify: bool = False) -> bytes:
    """BODY as UTF-8 bytes for the XML parser (told to read UTF-8 whatever the declaration says).

    Bytes that say UTF-8, or nothing, are handed over unchecked unless VERIFY: the parser
    reports bytes that are not UTF-8, and `feed_xml` then asks again with VERIFY (sparing
    ordinary feeds a decoding of their whole body)."""
    rest, bom = strip_bom(body)
    encoding = bom or wide_encoding(rest[:4])
    if encoding is None and rest.startswith(EBCDIC_START):
        head = rest[:1024].decode("cp037", errors="replace").encode("utf-8")
        encoding = codec_name(_declared(head)) or "cp037"
    if encoding is None:
        encoding = charset_of(content_type) or codec_name(_declared(rest))
        if encoding in ("utf-16", "utf-32"):  # declared so, but without a mark or NULs first
            encoding = "utf-8"
    if encoding is None:
        if not verify or _is_utf8(rest):
            return rest
        encoding = _detected(rest)
        log.debug("a feed naming no encoding, read as %s", encoding)
    elif encoding == "utf-8" and (not verify or _is_utf8(rest)):
        return rest
    return decode(rest, encoding).encode("utf-8")

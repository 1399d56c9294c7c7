"""Feed bytes → an lxml tree, in recover mode (never entities, DTDs or network).

A well-formed UTF-8 feed is parsed once, as it is. A document the parser reports errors in is
repaired where feeds are commonly broken (a bare `&` in a URL, `&#X41;` spelt with a capital X)
and parsed again; `XmlTree.damaged` then says whether errors remain, so that the caller can ask
a more forgiving reader (feedparser) what it makes of the document.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from lxml import etree

from bot.sources.extract.feed_encoding import feed_utf8

# A document type declaration in the prolog (after the XML declaration, comments and processing
# instructions), with its internal subset: dropped before parsing, so that no entity it declares
# (a "billion laughs", an external file) can even be defined. Only in the prolog: text that
# looks like a DOCTYPE inside a comment is the comment's, and cutting it there would break the
# comment and the document with it.
_PROLOG_DOCTYPE = re.compile(
    rb"\A((?:\s|<\?[^>]*\?>|<!--.*?-->)*)<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>",
    re.DOTALL | re.IGNORECASE,
)
# An internal entity whose value is plain text (no "&", "%" or "<": it can name no other
# entity, so nothing can grow exponentially). Only these are expanded, by plain replacement.
_PLAIN_ENTITY = re.compile(
    rb"""<!ENTITY\s+([A-Za-z_][\w.-]{0,40})\s+(?:"([^"&%<]{0,1000})"|'([^'&%<]{0,1000})')\s*>"""
)
_PREDEFINED = frozenset({b"lt", b"gt", b"amp", b"quot", b"apos"})
_MAX_EXPANSION = 1024 * 1024  # bytes an expansion may add, at most
# "&" that starts no entity or character reference (in a URL's query, most often).
_BARE_AMPERSAND = re.compile(rb"&(?!#[0-9]{1,8};|#[xX][0-9a-fA-F]{1,8};|[A-Za-z][\w.-]{0,40};)")


class XmlTree(NamedTuple):
    root: etree._Element | None
    damaged: bool  # the parser reported errors it had to recover from
    body: bytes  # what was parsed: the document as UTF-8, without its DOCTYPE


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers are not safe to share across threads. The body is
    # always handed over as UTF-8 (see feed_encoding), whatever its declaration says.
    return etree.XMLParser(
        recover=True,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        encoding="utf-8",
    )


def _parse(body: bytes) -> tuple[etree._Element | None, bool]:
    parser = _parser()
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        return None, True
    errors = any(error.level >= etree.ErrorLevels.ERROR for error in parser.error_log)
    return root, errors


def _without_doctype(body: bytes) -> bytes:
    """BODY without the DOCTYPE of its prolog; the plain-text entities it declared expanded."""
    match = _PROLOG_DOCTYPE.match(body)  # fails at the first element: only the prolog is read
    if match is None:
        return body
    body = match.group(1) + body[match.end() :]
    for entity in _PLAIN_ENTITY.finditer(match.group(0)):
        name, value = entity.group(1), entity.group(2) or entity.group(3) or b""
        reference = b"&" + name + b";"
        if name in _PREDEFINED or reference not in body:
            continue
        if body.count(reference) * len(value) > _MAX_EXPANSION:
            continue
        body = body.replace(reference, value)
    return body


def _repaired(body: bytes) -> bytes:
    if b"&#X" in body:
        body = body.replace(b"&#X", b"&#x")
    return _BARE_AMPERSAND.sub(b"&amp;", body)


def parse_feed_xml(body: bytes, content_type: str | None = None) -> XmlTree:
    """The root element of a feed's bytes, best effort, and whether it was damaged."""
    utf8 = feed_utf8(body, content_type)
    document = _without_doctype(utf8)
    root, errors = _parse(document)
    if not errors:
        return XmlTree(root, False, document)
    checked = feed_utf8(body, content_type, verify=True)
    if checked != utf8:  # it was not UTF-8 after all: decoded (or detected) now
        document = _without_doctype(checked)
        root, errors = _parse(document)
        if not errors:
            return XmlTree(root, False, document)
    body = document
    fixed = _repaired(body)
    if fixed != body:
        again, errors_again = _parse(fixed)
        if again is not None:
            return XmlTree(again, errors_again, fixed)
    return XmlTree(root, True, body)

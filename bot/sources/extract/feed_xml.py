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
    rb"\A((?:\s+|<\?[^>]*\?>|<!--.*?-->)*)<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>", re.DOTALL
)
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
    if b"<!DOCTYPE" not in body[:65536] and b"<!doctype" not in body[:65536]:
        return body
    return _PROLOG_DOCTYPE.sub(rb"\1", body, count=1)


def _repaired(body: bytes) -> bytes:
    if b"&#X" in body:
        body = body.replace(b"&#X", b"&#x")
    return _BARE_AMPERSAND.sub(b"&amp;", body)


def parse_feed_xml(body: bytes, content_type: str | None = None) -> XmlTree:
    """The root element of a feed's bytes, best effort, and whether it was damaged."""
    body = _without_doctype(feed_utf8(body, content_type))
    root, errors = _parse(body)
    if not errors:
        return XmlTree(root, False, body)
    fixed = _repaired(body)
    if fixed != body:
        again, errors_again = _parse(fixed)
        if again is not None:
            return XmlTree(again, errors_again, fixed)
    return XmlTree(root, True, body)

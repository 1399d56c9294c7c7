"""RSS 0.9x/1.0/2.0 and Atom, read with lxml in recover mode (never entities, DTDs or network)."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urljoin

from lxml import etree

from bot.errors import ExtractError
from bot.model import Entry, Snapshot, SourceKind
from bot.sources.extract.clean import clean_line, html_to_texts
from bot.sources.extract.dates import parse_date
from bot.sources.extract.detect import strip_bom
from bot.sources.extract.entries import choose_id, in_order

_MAX_ITEMS = 5000
_ENCODING_DECL = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<\?xml[^>]*encoding\s*=", re.DOTALL)
# A document type declaration, with its internal subset: dropped before parsing, so that no
# entity it declares (a "billion laughs", an external file) can even be defined.
_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>", re.DOTALL | re.IGNORECASE)
# What an unterminated "<![CDATA[" leaves once the parser has recovered: a prefix of "![CDATA["
# ("![CD"). Only a prefix counts: titles such as "A", "CAT" or "DATA" are words.
_CDATA_OPENER = "![CDATA["


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers are not safe to share across threads.
    return etree.XMLParser(
        recover=True,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(body: bytes, charset: str | None = None) -> etree._Element | None:
    """The root element, best effort; bytes without an encoding declaration that are not
    UTF-8 are read as the HTTP charset, else Latin-1 (as cp1252, its superset in practice).
    A byte-order mark decides over both, and over the document's own declaration."""
    body, bom = strip_bom(body)
    if bom is not None and bom != "utf-8":  # UTF-16: what follows needs ASCII-compatible bytes
        body = body.decode(bom, errors="replace").encode("utf-8")
        bom = "utf-8"
    if b"<!" in body[:4096]:
        body = _DOCTYPE.sub(b"", body, count=1)
    if bom is not None or not _ENCODING_DECL.match(body[:512]):
        encoding = bom or charset
        valid_utf8 = False
        if encoding is None:
            try:
                body.decode("utf-8")
                valid_utf8 = True
            except UnicodeDecodeError:
                encoding = "cp1252"
        if not valid_utf8:  # (valid UTF-8 decoded and encoded again is the same bytes)
            try:
                body = body.decode(encoding or "utf-8", errors="replace").encode("utf-8")
            except LookupError:
                body = body.decode("cp1252", errors="replace").encode("utf-8")
        parser = etree.XMLParser(
            recover=True,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            encoding="utf-8",
        )
    else:
        parser = _parser()
    try:
        return etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        return None


_LOCAL_NAMES: dict[str, str] = {}  # tag → local name; feeds repeat a handful of tags


def _local(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        if len(_LOCAL_NAMES) > 4096:  # bounded: hostile feeds may invent tags
            _LOCAL_NAMES.clear()
        name = _LOCAL_NAMES[tag] = tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()
    return name


def _ns(element: etree._Element) -> str:
    tag = element.tag
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].split("}", 1)[0]
    return ""


def root_kind(root: etree._Element) -> str | None:
    """'rss', 'rdf' or 'atom' for a feed's root element, else None."""
    name = _local(root)
    if name == "rss":
        return "rss"
    if name == "rdf":
        return "rdf"
    if name == "feed":
        return "atom"
    return None


_CHILD_KEYS: dict[object, str] = {}  # tag → key in _children; feeds repeat a handful of tags


def _child_key(child: etree._Element) -> str:
    name = _local(child)
    if name:
        ns = _ns(child)
        # prefix the few names that mean different things in different namespaces
        if name == "link" and "Atom" in ns:
            name = "atom:link"
        elif name in ("encoded",) and "content" in ns:
            name = "content:encoded"
    return name


def _children(element: etree._Element) -> dict[str, list[etree._Element]]:
    found: dict[str, list[etree._Element]] = {}
    for child in element:
        tag = child.tag
        key = _CHILD_KEYS.get(tag)
        if key is None:
            key = _child_key(child)
            if isinstance(tag, str):  # comments and PIs have a function as tag: not cached
                if len(_CHILD_KEYS) > 4096:  # bounded: hostile feeds may invent tags
                    _CHILD_KEYS.clear()
                _CHILD_KEYS[tag] = key
        if key:
            found.setdefault(key, []).append(child)
    return found


def _text(elements: list[etree._Element] | None) -> str | None:
    if not elements:
        return None
    element = elements[0]
    # xhtml content carries markup as child elements; everything else is text (maybe HTML)
    if _local(element) in ("content", "summary", "title") and element.get("type") == "xhtml":
        return etree.tostring(element, method="html", encoding="unicode", with_tail=False)
    if len(element):
        # markup written straight into the element (not escaped): keep it as HTML
        head = html.escape(element.text or "", quote=False)
        inner = "".join(
            etree.tostring(child, method="html", encoding="unicode", with_tail=True)
            for child in element
        )
        return head + inner
    return element.text


def _plain(elements: list[etree._Element] | None) -> str | None:
    """A title: Atom type="text" is taken as text; anything else may hold HTML."""
    if elements and elements[0].get("type", "html") == "text":
        raw = _text(elements)
        return clean_line(raw.replace("&", "&amp;").replace("<", "&lt;")) if raw else None
    line = clean_line(_text(elements))
    if line is not None and _CDATA_OPENER.startswith(line):
        return None
    return line


def _atom_link(elements: list[etree._Element] | None) -> str | None:
    for link in elements or []:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link.get("href").strip()
    return None


def _rss_item(item: etree._Element) -> _Raw:
    c = _children(item)
    title = _plain(c.get("title"))
    link = (_text(c.get("link")) or "").strip() or _atom_link(c.get("atom:link"))
    guid = (_text(c.get("guid")) or _text(c.get("id")) or "").strip() or None
    if guid is None and item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"):
        guid = None  # rdf:about repeats the link in RSS 1.0; the link rule covers it
    body = _text(c.get("content:encoded")) or _text(c.get("description")) or _text(c.get("summary"))
    published = _first_date(c, "pubdate", "date", "published", "issued", "updated")
    updated = _first_date(c, "updated", "modified")
    return _Raw(guid, link or None, title, body, published, updated, _image(c))


def _atom_entry(entry: etree._Element) -> _Raw:
    c = _children(entry)
    title = _plain(c.get("title"))
    link = _atom_link(c.get("link")) or _atom_link(c.get("atom:link"))
    guid = (_text(c.get("id")) or "").strip() or None
    body = _text(c.get("content")) or _text(c.get("summary"))
    if not (body or "").strip() and c.get("group"):  # Media RSS (YouTube): media:description
        body = _text(_children(c["group"][0]).get("description"))
    updated = _first_date(c, "updated", "modified")
    published = _first_date(c, "published", "issued", "date") or updated
    return _Raw(guid, link, title, body, published, updated, _image(c))


def _first_date(children: dict[str, list[etree._Element]], *names: str) -> datetime | None:
    for name in names:
        value = parse_date(_text(children.get(name)))
        if value is not None:
            return value
    return None


def _image(children: dict[str, list[etree._Element]]) -> str | None:
    for enclosure in children.get("enclosure", []):
        if (enclosure.get("type") or "").startswith("image/") and enclosure.get("url"):
            return enclosure.get("url")
    for name in ("thumbnail", "content"):
        for media in children.get(name, []):
            is_image = name == "thumbnail" or (media.get("medium") or "image") == "image"
            if "search.yahoo.com/mrss" in _ns(media) and media.get("url") and is_image:
                return media.get("url")
    return None


class _Raw(NamedTuple):
    """An item as read, before its body is turned into text (all bodies at once)."""

    guid: str | None
    link: str | None
    title: str | None
    body: str | None
    published: datetime | None
    updated: datetime | None
    image: str | None


def _absolute(link: str | None, base: str | None) -> str | None:
    """LINK as an absolute URL: a relative one ("/story/1") is resolved against BASE."""
    if link is None or base is None or link.startswith(("http://", "https://")):
        return link
    try:
        return urljoin(base, link)
    except ValueError:  # a malformed base or link: kept as it is (never made clickable)
        return link


def _entries(raws: list[_Raw], *, base: str | None) -> tuple[Entry, ...]:
    texts = html_to_texts([raw.body for raw in raws])
    entries = []
    for raw, text in zip(raws, texts, strict=True):
        link = _absolute(raw.link, base)
        entry_id = choose_id(
            explicit=raw.guid,
            url=link,
            title=raw.title,
            published=raw.published,
            text=text,
            use_fragment=False,
        )
        image = _absolute(raw.image, base)
        entries.append(Entry(entry_id, raw.title, text, link, raw.published, raw.updated, image))
    return in_order(entries)


def read_feed(root: etree._Element, *, fallback_url: str | None = None) -> Snapshot:
    kind = root_kind(root)
    if kind is None:
        raise ExtractError(f"an XML document whose root is <{_local(root) or '?'}>, not a feed")
    if kind == "atom":
        c = _children(root)
        title = _plain(c.get("title"))
        url = _atom_link(c.get("link")) or _atom_link(c.get("atom:link")) or fallback_url
        raws = [_atom_entry(e) for e in c.get("entry", [])[:_MAX_ITEMS]]
    else:
        c = _children(root)
        channel = c.get("channel", [None])[0]
        cc = _children(channel) if channel is not None else {}
        title = _plain(cc.get("title"))
        url = (_text(cc.get("link")) or "").strip() or _atom_link(cc.get("atom:link"))
        url = url or fallback_url
        # RSS 2.0 puts items in the channel; RSS 0.9/1.0 (RDF) beside it
        raw_items = cc.get("item", []) + c.get("item", [])
        raws = [_rss_item(i) for i in raw_items[:_MAX_ITEMS]]
    # Relative links are relative to the feed's own address; a local file has only its link.
    base = fallback_url if (fallback_url or "").startswith(("http://", "https://")) else url
    base = base if (base or "").startswith(("http://", "https://")) else None
    url = _absolute(url, base)
    return Snapshot(kind=SourceKind.FEED, title=title, url=url, entries=_entries(raws, base=base))

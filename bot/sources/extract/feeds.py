"""RSS 0.9x/1.0/2.0 and Atom (0.3 and 1.0) → `Snapshot`.

lxml reads the document (see `feed_xml`); a document it could only read in part is also read by
feedparser (`feed_fallback`), and the reading with more items wins. Elements are told apart by
namespace as well as by name: `media:title` or `itunes:summary` is never an item's own title or
description, and `content:encoded` or `xhtml:body` is its full text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from lxml import etree

from bot.errors import ExtractError
from bot.model import Snapshot, SourceKind
from bot.sources.extract.clean import clean_line
from bot.sources.extract.dates import parse_date
from bot.sources.extract.feed_fallback import FallbackFeed, read_with_feedparser
from bot.sources.extract.feed_items import RawItem, absolute, entries_of, is_web_address
from bot.sources.extract.feed_text import (
    Content,
    element_content,
    may_be_garbled,
    repaired_line,
    visible_line,
)
from bot.sources.extract.feed_xml import parse_feed_xml

log = logging.getLogger(__name__)

_MAX_ITEMS = 5000
_ATOM_NAMESPACES = frozenset({"http://www.w3.org/2005/Atom", "http://purl.org/atom/ns#"})
_RSS_NAMESPACES = frozenset(
    {
        "http://purl.org/rss/1.0/",
        "http://my.netscape.com/rdf/simple/0.9/",
        "http://backend.userland.com/rss",
        "http://backend.userland.com/rss2",
        "http://blogs.law.harvard.edu/tech/rss",
    }
)
# The modules whose elements Bulletin reads, by the prefix they are looked up with.
_PREFIXES = {
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://www.w3.org/1999/xhtml": "xhtml",
    "http://search.yahoo.com/mrss/": "media",
    "http://search.yahoo.com/mrss": "media",
    "http://www.w3.org/2005/Atom": "atom",
    "http://purl.org/atom/ns#": "atom",
    "http://www.itunes.com/DTDs/Podcast-1.0.dtd": "itunes",
}
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
# An item reader: (item element, the document's keys, the item's base URL) → RawItem.
_Reader = Callable[[etree._Element, "_Keys", str | None], RawItem]
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
# What an unterminated "<![CDATA[" leaves once the parser has recovered: a prefix of "![CDATA["
# ("![CD"). Only a prefix counts: titles such as "A", "CAT" or "DATA" are words.
_CDATA_OPENER = "![CDATA["
# What html.unescape may read as an entity: "&" before a letter or "#".
_ENTITY = re.compile(r"&[#A-Za-z]")


def _split(tag: object) -> tuple[str, str]:
    """(namespace, lower-case local name) of an element's tag; ("", "") for comments and PIs."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local.lower()
    return "", tag.rsplit(":", 1)[-1].lower()


def root_kind(root: etree._Element) -> str | None:
    """'rss', 'rdf', 'atom' or 'cdf' (Microsoft's Channel Definition Format, or an RSS
    channel without its <rss>) for a feed's root element, else None."""
    return {"rss": "rss", "rdf": "rdf", "feed": "atom", "channel": "cdf"}.get(_split(root.tag)[1])


class _Keys:
    """Element tag → the key it is looked up by in one document: the local name for the
    format's own elements (no namespace, the root's, or the format's), a prefix and the name
    for the modules Bulletin reads ("content:encoded", "atom:link"), "?" for anything else."""

    _caches: ClassVar[dict[tuple[bool, str], dict[str, str]]] = {}  # feeds repeat a handful of tags

    def __init__(self, atom: bool, root_namespace: str) -> None:
        self._atom, self._root_namespace = atom, root_namespace
        cache = self._caches.setdefault((atom, root_namespace), {})
        if len(cache) > 4096 or len(self._caches) > 64:  # bounded: hostile feeds invent tags
            self._caches.clear()
            cache = self._caches.setdefault((atom, root_namespace), {})
        self._cache = cache

    def key(self, tag: object) -> str:
        if not isinstance(tag, str):
            return ""
        found = self._cache.get(tag)
        if found is None:
            namespace, local = _split(tag)
            own = _ATOM_NAMESPACES if self._atom else _RSS_NAMESPACES
            if namespace in own or namespace in ("", self._root_namespace):
                found = local
            elif namespace in _PREFIXES:
                found = f"{_PREFIXES[namespace]}:{local}"
            else:
                found = f"?{local}"
            self._cache[tag] = found
        return found

    def children(self, element: etree._Element) -> dict[str, list[etree._Element]]:
        found: dict[str, list[etree._Element]] = {}
        cache = self._cache
        for child in element:
            tag = child.tag
            # (entity references' tag is a function: never cached)
            key = cache.get(tag) if isinstance(tag, str) else None
            if key is None:
                key = self.key(tag)
            if key:
                elements = found.get(key)
                if elements is None:
                    found[key] = [child]
                else:
                    elements.append(child)
        return found


_Children = dict[str, list[etree._Element]]


def _content(children: _Children, names: tuple[str, ...]) -> Content | None:
    """The content of the first of NAMES that has any."""
    for name in names:
        elements = children.get(name)
        if elements is None:
            continue
        for element in elements:
            content = element_content(element)
            if content is not None and content.value.strip():
                return content
    return None


def _line(children: _Children, names: tuple[str, ...]) -> str | None:
    """A title: one line of text, or None."""
    content = _content(children, names)
    if content is None:
        return None
    value = content.value
    if content.plain or ("<" not in value and not ("&" in value and _ENTITY.search(value))):
        # text without markup or entities ("Q&A", "AT&T" included): what clean_line would
        # make of it, without its machinery (most titles)
        line = " ".join(value.split()) or None
    else:
        line = clean_line(visible_line(value))
    if line is not None and _CDATA_OPENER.startswith(line):
        return None
    return line  # (repaired with the item's text: see entries_of)


def _plain(element: etree._Element | None) -> str | None:
    """An element's text as written (ids, links), whitespace trimmed; None when empty."""
    if element is None:
        return None
    if len(element):  # entity references left unexpanded are children: keep them as written
        text = (element.text or "") + "".join(
            etree.tostring(child, encoding="unicode", with_tail=True) for child in element
        )
    else:
        text = element.text or ""
    return text.strip() or None


def _date(children: _Children, names: tuple[str, ...]) -> datetime | None:
    """The first of NAMES that reads as a date; of repeated elements, the last (as feedparser)."""
    for name in names:
        elements = children.get(name)
        if elements:
            value = parse_date(_plain(elements[-1]))
            if value is not None:
                return value
    return None


def _atom_link(links: list[etree._Element] | None, base: str | None) -> str | None:
    """The alternate link (rel absent or "alternate"): its href, or its text where the feed
    put the address there; resolved against an xml:base of its own."""
    for link in links or ():
        if (link.get("rel") or "alternate").strip().lower() == "alternate":
            address = (link.get("href") or "").strip() or _plain(link)
            if address:
                own = link.get(_XML_BASE)
                return absolute(address, _based(link, base)) if own else address
    return None


def _image(children: _Children) -> str | None:
    for enclosure in children.get("enclosure", ()):
        if (enclosure.get("type") or "").startswith("image/") and enclosure.get("url"):
            return enclosure.get("url")
    for name in ("media:thumbnail", "media:content"):
        for media in children.get(name, ()):
            is_image = name == "media:thumbnail" or (media.get("medium") or "image") == "image"
            if media.get("url") and is_image:
                return media.get("url")
    return None


def _attribute(element: etree._Element, name: str) -> str | None:
    """An attribute in lower or upper case (CDF writes HREF and LASTMOD)."""
    value = element.get(name) or element.get(name.upper())
    return value.strip() or None if value else None


def _web(address: str | None) -> str | None:
    return address if is_web_address(address) else None


def _based(element: etree._Element, base: str | None) -> str | None:
    """BASE as changed by ELEMENT's own xml:base attribute (the readers pass each element's
    base down to its children, so that nested values build on each other)."""
    declared = element.get(_XML_BASE)
    if not declared:
        return base
    declared = declared.strip()
    return absolute(declared, base) if base else declared


_RSS_BODIES = (
    "content:encoded",
    "xhtml:body",
    "body",
    "fullitem",
    "description",
    "dc:description",
    "summary",
    "atom:content",
    "atom:summary",
    "abstract",  # CDF
    # another module's element only where the item has none of its own
    "itunes:summary",
    "media:description",
)
_RSS_PUBLISHED = (
    "pubdate",
    "dc:date",
    "dcterms:issued",
    "dcterms:created",
    "atom:published",
    "published",
    "issued",
    "atom:updated",
    "updated",
    "dcterms:modified",
)


_RSS_TITLES = ("title", "dc:title", "atom:title", "media:title")
_RSS_UPDATED = ("atom:updated", "updated", "dcterms:modified")
_ATOM_BODIES = ("content", "summary")
_ATOM_OTHER_BODIES = ("itunes:summary", "media:description")
_ATOM_PUBLISHED = ("published", "issued", "created", "dc:date", "dcterms:issued")
_ATOM_UPDATED = ("updated", "modified")
_ATOM_TITLES = ("title", "media:title")
_FEED_TITLES = ("title", "dc:title")


def _one(children: _Children, name: str) -> etree._Element | None:
    elements = children.get(name)
    return elements[0] if elements else None


def _rss_item(item: etree._Element, keys: _Keys, base: str | None) -> RawItem:
    c = keys.children(item)
    base = _based(item, base)
    link = _plain(_one(c, "link")) or _atom_link(c.get("atom:link"), base)
    link = link or _attribute(item, "href")
    guid_element = _one(c, "guid")
    guid = _plain(guid_element) or _plain(_one(c, "atom:id")) or item.get(_RDF_ABOUT)
    if link is None and guid_element is not None and guid is not None:
        # a guid is a permalink unless it says otherwise: then it is the item's address
        permalink = (guid_element.get("isPermaLink") or "true").strip().lower() != "false"
        if permalink and (is_web_address(guid) or guid.startswith("/")):
            link = guid
    published = _date(c, _RSS_PUBLISHED)
    if published is None and c.get("pubdate") is None:
        published = parse_date(_attribute(item, "lastmod"))  # CDF
    return RawItem(
        guid.strip() if guid else None,
        link,
        _line(c, _RSS_TITLES),
        _content(c, _RSS_BODIES),
        published,
        _date(c, _RSS_UPDATED),
        _image(c),
        base,
    )


def _atom_entry(entry: etree._Element, keys: _Keys, base: str | None) -> RawItem:
    c = keys.children(entry)
    base = _based(entry, base)
    body = _content(c, _ATOM_BODIES)
    if body is None and c.get("media:group"):  # Media RSS (YouTube): media:description
        body = _content(keys.children(c["media:group"][0]), ("media:description",))
    if body is None:  # another module's element only where the entry has none of its own
        body = _content(c, _ATOM_OTHER_BODIES)
    updated = _date(c, _ATOM_UPDATED)
    return RawItem(
        _plain(_one(c, "id")),
        _atom_link(c.get("link"), base),
        _line(c, _ATOM_TITLES),
        body,
        _date(c, _ATOM_PUBLISHED) or updated,
        updated,
        _image(c),
        base,
    )


def read_feed(
    root: etree._Element,
    *,
    fallback_url: str | None = None,
    garbled: bool = True,
) -> Snapshot:
    """The snapshot of a parsed RSS or Atom document. GARBLED False says its text needs no
    repair (see `entries_of`)."""
    kind = root_kind(root)
    if kind is None:
        name = _split(root.tag)[1] or "?"
        raise ExtractError(f"an XML document whose root is <{name}>, not a feed")
    keys = _Keys(kind == "atom", _split(root.tag)[0])
    c = keys.children(root)
    # Relative links are relative to the feed's own address (else, for a local file, to the
    # link it states), as changed by xml:base on the way down to each element.
    base = fallback_url if is_web_address(fallback_url) else None
    reader: _Reader
    if kind in ("rss", "rdf"):
        channel = _one(c, "channel")
        cc = keys.children(channel) if channel is not None else {}
        url = _plain(_one(cc, "link")) or _atom_link(cc.get("atom:link"), None)
        title, reader = _line(cc, _FEED_TITLES), _rss_item
        root_base = _based(root, base or _web(url))
        feed_base = _based(channel, root_base) if channel is not None else root_base
        # RSS 2.0 puts items in the channel; RSS 0.9/1.0 (RDF) beside it
        placed = [(item, feed_base) for item in cc.get("item", [])]
        placed += [(item, root_base) for item in c.get("item", [])]
    else:
        if kind == "atom":
            url, title, reader = _atom_link(c.get("link"), None), _line(c, ("title",)), _atom_entry
            items = c.get("entry", [])
        else:  # CDF
            url = _attribute(root, "href") or _plain(_one(c, "link"))
            title, reader, items = _line(c, _FEED_TITLES), _rss_item, c.get("item", [])
        feed_base = _based(root, base or _web(url))
        placed = [(item, feed_base) for item in items]
    url = absolute(url, feed_base)
    raws = [reader(item, keys, item_base) for item, item_base in placed[:_MAX_ITEMS]]
    entries = entries_of(raws, base=feed_base, garbled=garbled)
    title = repaired_line(title) if garbled else title
    return Snapshot(kind=SourceKind.FEED, title=title, url=url or fallback_url, entries=entries)


def read_feed_document(
    body: bytes, *, content_type: str | None = None, fallback_url: str | None = None
) -> Snapshot:
    """Read an RSS or Atom document's bytes. Raises ExtractError (one line) when it holds none,
    and for any failure of the readers on it (a bug, logged in full: a source's bytes must
    never take down more than their own poll)."""
    try:
        return _read_feed_document(body, content_type, fallback_url)
    except (ExtractError, MemoryError):
        raise
    except Exception as error:
        log.exception("reading a feed failed")
        raise ExtractError(f"a feed Bulletin could not read ({type(error).__name__})") from error


def _read_feed_document(
    body: bytes, content_type: str | None, fallback_url: str | None
) -> Snapshot:
    tree = parse_feed_xml(body, content_type)
    snapshot: Snapshot | None = None
    refusal: ExtractError | None = None
    if tree.root is not None:
        try:
            snapshot = read_feed(
                tree.root, fallback_url=fallback_url, garbled=may_be_garbled(tree.body)
            )
        except ExtractError as error:
            refusal = error
    if tree.damaged:
        other = read_with_feedparser(tree.body)
        found = len(snapshot.entries) if snapshot is not None else -1
        if other is not None and len(other.items) > found:
            log.debug("damaged feed: feedparser read %d items, lxml %d", len(other.items), found)
            return _from_fallback(other, fallback_url)
    if snapshot is not None:
        return snapshot
    raise refusal or ExtractError("an XML document that could not be read at all")


def _from_fallback(feed: FallbackFeed, fallback_url: str | None) -> Snapshot:
    title, url, items = feed
    base = fallback_url if is_web_address(fallback_url) else url
    base = base if is_web_address(base) else None
    entries = entries_of(items, base=base)
    return Snapshot(
        kind=SourceKind.FEED,
        title=repaired_line(title),
        url=absolute(url, base) or fallback_url,
        entries=entries,
    )

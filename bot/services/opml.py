"""OPML in and out, free of Discord: read a subscription list, plan which feed goes to which
story, and write this server's sources as OPML 2.0 (see /source import and /source export).

Reading is listparser's (OPML 1.0/2.0 and the forms feed readers write, read leniently: a
bare `&` in an address is common in exported files). An outline group is a story: every feed
under it joins that story; a feed in no group is a story of its own, named after the outline
(or after the page, as /source add names one, when the outline has no text).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from enum import StrEnum
from xml.etree import ElementTree

import listparser
from lxml import etree

from bot.delivery.sanitize import clip
from bot.model import SourceKind, utc
from bot.services.common import Refusal
from bot.services.sources import MAX_STORY_NAME, check_url
from bot.store import Store

MAX_OPML_BYTES = 1_000_000  # "1 MB": a file larger than this is refused before it is read
OPML_SPEC = "http://opml.org/spec2.opml"
GROUP_SEPARATOR = " / "  # nested outline groups make one story named by their path
# Characters XML 1.0 cannot carry at all (C0 controls but tab and newlines, lone surrogates,
# U+FFFE and U+FFFF): dropped from names written to a file.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class SkipReason(StrEnum):
    """Why an outline of an imported file was not added."""

    NOT_HTTP = "not_http"  # its address is not an http(s) URL
    REFUSED_ADDRESS = "refused_address"  # a private, loopback or otherwise refused address
    OVER_QUOTA = "over_quota"  # the server follows as many sources as it may
    NOT_A_FEED = "not_a_feed"  # fetched, but not a feed or a live page Bulletin can read
    UNREACHABLE = "unreachable"  # the fetch failed (HTTP error, timeout, too large, ...)
    NO_FEED_ADDRESS = "no_feed_address"  # an outline with a web page but no xmlUrl
    SUBSCRIPTION_LIST = "subscription_list"  # a link to another OPML file, not a feed
    REFUSED = "refused"  # another refusal of /source add (a story name the config owns, ...)


SKIP_WORDS = {
    SkipReason.NOT_HTTP: "not an http(s) address",
    SkipReason.REFUSED_ADDRESS: "refused address",
    SkipReason.OVER_QUOTA: "over the server's quota of sources",
    SkipReason.NOT_A_FEED: "not a feed",
    SkipReason.UNREACHABLE: "could not be fetched",
    SkipReason.NO_FEED_ADDRESS: "no feed address (xmlUrl)",
    SkipReason.SUBSCRIPTION_LIST: "a link to another subscription list, not a feed",
    SkipReason.REFUSED: "refused",
}


@dataclass(frozen=True, slots=True)
class Outline:
    """One feed outline of a file: its address, its text, the outline group it sits in."""

    url: str
    text: str
    group: str | None


@dataclass(frozen=True, slots=True)
class Skipped:
    """An outline that was not (or will not be) added, and why."""

    url: str
    text: str
    reason: SkipReason
    detail: str = ""

    def describe(self) -> str:
        what = SKIP_WORDS[self.reason]
        return f"{what}: {self.detail}" if self.detail else what


@dataclass(frozen=True, slots=True)
class PlannedFeed:
    """A feed to add, and the story it goes to (None: a new story named after the page)."""

    url: str
    text: str
    story: str | None


@dataclass(frozen=True, slots=True)
class ImportPlan:
    title: str | None  # the file's own title
    feeds: tuple[PlannedFeed, ...]
    skipped: tuple[Skipped, ...]
    damaged: str | None = None  # where the XML is broken, when it was read past an error

    @property
    def stories(self) -> list[str]:
        """The named stories the feeds go to, in file order, each once."""
        named: dict[str, str] = {}
        for feed in self.feeds:
            if feed.story is not None:
                named.setdefault(feed.story.casefold(), feed.story)
        return list(named.values())

    @property
    def unnamed(self) -> int:
        """How many feeds make a story named after their page."""
        return sum(1 for feed in self.feeds if feed.story is None)


def read_opml(data: bytes) -> ImportPlan:
    """The plan for an OPML file: its feeds with their stories, and the outlines left out.
    Raises Refusal when the bytes are not OPML or hold no outline at all."""
    if len(data) > MAX_OPML_BYTES:
        raise Refusal(too_large_text())
    if not data.strip():
        raise Refusal(not_opml_text("the file is empty"))
    try:
        parsed = listparser.parse(data)
    except Exception as error:  # a reader's failure is the file's problem, said in a line
        raise Refusal(not_opml_text(type(error).__name__)) from error
    if not str(parsed.get("version", "")).startswith("opml"):
        raise Refusal(not_opml_text("it has no <opml> root element"))
    damaged = xml_damage(data)
    feeds: list[PlannedFeed] = []
    skipped: list[Skipped] = []
    for found in parsed.get("feeds", []):
        outline = _outline(found)
        try:
            url = check_url(outline.url)
        except Refusal:
            skipped.append(Skipped(outline.url, outline.text, SkipReason.NOT_HTTP))
            continue
        feeds.append(PlannedFeed(url, outline.text, _story_of(outline)))
    for found in parsed.get("lists", []):
        skipped.append(
            Skipped(str(found.get("url", "")), _text(found), SkipReason.SUBSCRIPTION_LIST)
        )
    for found in parsed.get("opportunities", []):
        skipped.append(Skipped(str(found.get("url", "")), _text(found), SkipReason.NO_FEED_ADDRESS))
    if not feeds and not skipped:
        detail = f"; {damaged}" if damaged else ""
        raise Refusal(
            f"That OPML file lists no feeds (no outline with an xmlUrl){detail}. Export your "
            "subscriptions again from your feed reader as OPML, then run /source import."
        )
    title = str(parsed.get("meta", {}).get("title") or "").strip() or None
    return ImportPlan(title, tuple(feeds), tuple(skipped), damaged)


def too_large_text() -> str:
    return (
        f"That file is over {MAX_OPML_BYTES // 1_000_000} MB, more than an OPML list of "
        "feeds needs; export only the feeds you want Bulletin to follow, then run "
        "/source import again."
    )


def not_opml_text(why: str) -> str:
    return (
        f"That file is not OPML ({why}). Export your subscriptions from your feed reader as "
        "an OPML file (.opml), then run /source import with it."
    )


def xml_damage(data: bytes) -> str | None:
    """Where the document stops being well-formed XML, or None when it is well-formed."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        line = getattr(error, "lineno", None)
        where = f"line {line}" if line else "somewhere"
        message = re.sub(r",? line \d+, column \d+$", "", str(error.msg))
        return f"the XML is broken at {where}: {clip(message, 120)}"
    return None


def xml_text(text: str) -> str:
    """TEXT without the characters XML cannot hold, its whitespace runs made one space."""
    return " ".join(_NOT_XML.sub("", text).split())


def _text(found: dict[str, object]) -> str:
    return " ".join(str(found.get("title") or "").split())


def _outline(found: dict[str, object]) -> Outline:
    categories = found.get("categories") or []
    group = None
    if isinstance(categories, list) and categories:
        path = [" ".join(str(part).split()) for part in categories[0]]
        group = GROUP_SEPARATOR.join(part for part in path if part) or None
    return Outline(str(found.get("url") or "").strip(), _text(found), group)


def _story_of(outline: Outline) -> str | None:
    """The story an outline's feed joins: its group's; else one named after the outline."""
    name = outline.group or outline.text
    return clip(name, MAX_STORY_NAME) if name else None


# ---- export ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportedSource:
    url: str
    title: str | None
    kind: SourceKind | None


def export_opml(
    stories: Sequence[tuple[str, Sequence[ExportedSource]]], *, title: str, now: datetime
) -> bytes:
    """OPML 2.0: one outline per story (text = its name) holding one outline per source.

    Every source has an xmlUrl, so that the file imports back into Bulletin and feed readers
    find the address where they look; feeds are type="rss", as OPML 2.0 says subscriptions
    are, and live pages are given as their page (htmlUrl) too."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = xml_text(title)
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(utc(now))
    ElementTree.SubElement(head, "docs").text = OPML_SPEC
    body = ElementTree.SubElement(root, "body")
    for story, sources in stories:
        story = xml_text(story)
        group = ElementTree.SubElement(body, "outline", text=story, title=story)
        for source in sources:
            name = xml_text(source.title or "") or source.url
            attrs = {"type": "rss", "text": name, "title": name, "xmlUrl": source.url}
            if source.kind in (SourceKind.LIVEBLOG, SourceKind.PAGE):
                attrs["htmlUrl"] = source.url
            ElementTree.SubElement(group, "outline", attrs)
    ElementTree.indent(root)
    xml: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return xml + b"\n"


@dataclass(frozen=True, slots=True)
class Export:
    data: bytes
    stories: int
    sources: int


async def guild_export(store: Store, guild_id: int, *, title: str, now: datetime) -> Export:
    """This server's own stories and sources as OPML 2.0 (the config file's stories are the
    config's to keep, so they are left out). Refused when the server follows none."""
    groups: list[tuple[str, list[ExportedSource]]] = []
    for story in await store.stories_for_guild(guild_id):
        if story.guild_id is None:
            continue
        sources = [
            ExportedSource(s.url, s.title, s.kind) for s in await store.sources_of_story(story.id)
        ]
        if sources:
            groups.append((story.name, sources))
    if not groups:
        raise Refusal("This server follows no sources to export yet. Add one with /source add.")
    data = export_opml(groups, title=title, now=now)
    return Export(data, len(groups), sum(len(sources) for _, sources in groups))

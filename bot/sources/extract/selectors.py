"""CSS selectors a source may carry, and reading entries and key points with them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from bot.errors import ConfigError, ExtractError
from bot.model import Entry, KeyPoints, KeyPointsKind
from bot.sources.extract.clean import node_text
from bot.sources.extract.dates import from_epoch_ms, parse_date
from bot.sources.extract.entries import choose_id, in_order
from bot.sources.extract.keypoints import item_text, list_items
from bot.text import collapse_whitespace

_MAX_ENTRIES = 5000


@dataclass(frozen=True, slots=True)
class Selectors:
    """CSS selectors for one source; every one is optional."""

    entry: str | None = None
    title: str | None = None
    body: str | None = None
    time: str | None = None
    key_points: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Selectors:
        """From a TOML/JSON table; a ConfigError names an unknown key or a bad value."""
        known = {f.name for f in fields(cls)}
        values: dict[str, str] = {}
        for key, value in data.items():
            if key not in known:
                raise ConfigError(
                    f"unknown selector key {key!r} (known: {', '.join(sorted(known))})"
                )
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"selector {key!r} must be a non-empty CSS selector string")
            try:  # check the syntax now rather than at the first poll
                LexborHTMLParser("<p></p>").css(value)
            except (SelectolaxError, ValueError) as error:
                raise ConfigError(f"selector {key!r} is not valid CSS: {value!r}") from error
            values[key] = value.strip()
        if ("title" in values or "body" in values or "time" in values) and "entry" not in values:
            raise ConfigError("selectors 'title', 'body' and 'time' need an 'entry' selector")
        return cls(**values)

    @property
    def empty(self) -> bool:
        return self.entry is None and self.key_points is None


def _css(node: LexborNode | LexborHTMLParser, selector: str) -> list[LexborNode]:
    try:
        return node.css(selector)
    except (SelectolaxError, ValueError) as error:
        raise ExtractError(f"selector {selector!r} is not valid CSS") from error


def selected_key_points(tree: LexborHTMLParser, selector: str) -> KeyPoints | None:
    """Items of the matched list(s); matched elements that hold no list are items themselves."""
    items: list[str] = []
    for node in _css(tree, selector):
        if node.tag in ("ul", "ol") or node.css_first("li") is not None:
            items.extend(list_items(node.css("li")))
        else:
            text = item_text(node)
            if text:
                items.append(text)
    unique = tuple(dict.fromkeys(items))
    return KeyPoints(KeyPointsKind.SUMMARY, unique) if unique else None


def time_value(node: LexborNode, *, own: bool) -> str | None:
    """A time element's machine-readable attribute, else its text (not for the entry itself)."""
    attributes = node.attributes
    # data-sort-time: the items of an AMP live list (<amp-live-list>)
    for name in (
        "datetime",
        "data-post-time",
        "data-time",
        "data-timestamp",
        "data-sort-time",
        "content",
    ):
        value = attributes.get(name)
        if value:
            return value
    return None if own else node.text(deep=True)


def parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():  # epoch seconds or milliseconds
        number = int(value)
        return from_epoch_ms(number if number > 10**11 else number * 1000)
    return parse_date(value)


def selected_entries(
    tree: LexborHTMLParser, selectors: Selectors, *, page_url: str | None, headline: str | None
) -> tuple[Entry, ...]:
    """Entries from the page's DOM by the source's selectors (newest first on the page)."""
    if selectors.entry is None:
        return ()
    entries: list[Entry] = []
    for node in _css(tree, selectors.entry)[:_MAX_ENTRIES]:
        title_node = _css(node, selectors.title)[0:1] if selectors.title else []
        title = collapse_whitespace(node_text(title_node[0])) if title_node else None
        title = None if not title or title == headline else title
        if selectors.body:
            body_nodes = _css(node, selectors.body)
            text = "\n\n".join(t for t in (node_text(b) for b in body_nodes) if t)
        else:
            text = node_text(node)
        time_nodes = _css(node, selectors.time) if selectors.time else []
        if time_nodes:
            published = parse_time(time_value(time_nodes[0], own=False))
        else:
            published = parse_time(time_value(node, own=True))
        explicit = node.attributes.get("id") or node.attributes.get("data-id")
        entries.append(
            markup_entry(
                node, explicit, title=title, text=text, published=published, page_url=page_url
            )
        )
    return in_order(entries)


def markup_entry(
    node: LexborNode,
    explicit: str | None,
    *,
    title: str | None,
    text: str,
    published: datetime | None,
    page_url: str | None,
) -> Entry:
    """An entry read from an element of the page: its link is the page's URL with the element's
    `id` as fragment; its id is EXPLICIT, else by the identity rule."""
    anchor = node.attributes.get("id")
    url = urljoin(page_url, f"#{anchor}") if anchor and page_url else None
    return Entry(
        id=choose_id(
            explicit=explicit,
            url=url,
            title=title,
            published=published,
            text=text,
            use_fragment=True,
            page_url=page_url,
        ),
        title=title,
        text=text,
        url=url or page_url,
        published=published,
    )

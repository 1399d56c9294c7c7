"""OPML files and small feeds written for the import and export tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import quoteattr


def rss_feed(title: str, items: int = 2) -> bytes:
    """An RSS 2.0 feed with ITEMS items, an hour apart, the newest ten minutes old."""
    newest = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    body = "".join(
        f"<item><title>{title} item {n}</title><guid>{title}-{n}</guid>"
        f"<description>What happened, part {n}.</description>"
        f"<pubDate>{format_datetime(newest - timedelta(hours=n))}</pubDate></item>"
        for n in range(items)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}'
        f"</title><link>https://news.test/</link>{body}</channel></rss>"
    ).encode()


def feed_outline(text: str | None, url: str, **attrs: str) -> str:
    attributes = {"type": "rss", "xmlUrl": url, **attrs}
    if text is not None:
        attributes["text"] = text
    return "<outline " + " ".join(f"{k}={quoteattr(v)}" for k, v in attributes.items()) + "/>"


def group(text: str, *outlines: str) -> str:
    return f"<outline text={quoteattr(text)}>" + "".join(outlines) + "</outline>"


def opml(*outlines: str, title: str = "My feeds", version: str = "2.0") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<opml version="{version}"><head><title>{title}'
        "</title></head><body>" + "".join(outlines) + "</body></opml>"
    ).encode()

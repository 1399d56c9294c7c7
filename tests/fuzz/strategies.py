"""Hypothesis strategies for hostile sources, and how long to run them.

`make test` runs each property with a few examples; `BULLETIN_FUZZ=1` (`make fuzz`) runs many.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bot.model import Entry, KeyPoints, KeyPointsKind, Snapshot, SourceKind

LONG = os.environ.get("BULLETIN_FUZZ") == "1"


def fuzz_settings(short: int = 25, long: int = 1500) -> settings:
    return settings(
        max_examples=long if LONG else short,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=not LONG,  # make test: the same examples every run; make fuzz explores
    )


# Pieces a hostile source might write: mention and Markdown syntax, markup, entities,
# invisible and direction characters, encodings, numbers JSON allows but dates do not.
NASTY = [
    "@everyone",
    "@here",
    "<@&123456789012345678>",
    "<@123>",
    "<#1>",
    "</latest:1>",
    "[x](javascript:alert(1))",
    "[site](https://evil.example)",
    "**",
    "__",
    "||",
    "`",
    "> ",
    "# ",
    "\n",
    "\\",
    "<div>",
    "</div>",
    "<p>",
    "<script>alert(1)</script>",
    "<![CDATA[",
    "]]>",
    "&amp;",
    "&lt;b&gt;",
    "&#0;",
    "&#x110000;",
    "&xxe;",
    "\u200b",
    "\u202e",
    "\u2067",
    "\ufeff",
    "\x00",
    "\x1b[2J",
    "\ud800",
    "😀",
    "é",
    "ﬁ",
    "https://news.example/a#b",
    "javascript:alert(1)",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:00:00+05:00",
    "1969-07-20T20:17:40Z",
    "Fri, 31 Dec 9999 23:59:59 -0500",
]

texts = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=20)), max_size=12).map("".join)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from([*NASTY[:8], "@id"]), inner)
    ),
    max_leaves=12,
)
UPDATE_KEYS = ["@id", "@type", "headline", "name", "articleBody", "text", "url", "image"]
DATE_KEYS = ["datePublished", "dateModified"]


@st.composite
def json_ld_updates(draw: st.DrawFn) -> dict[str, object]:
    update: dict[str, object] = {}
    for key in draw(st.lists(st.sampled_from(UPDATE_KEYS + DATE_KEYS), max_size=8)):
        update[key] = draw(st.one_of(texts, json_values))
    return update


@st.composite
def json_ld_documents(draw: st.DrawFn) -> bytes:
    """A LiveBlogPosting (bare, in @graph or in a page) with hostile values everywhere."""
    blog: dict[str, object] = {
        "@type": draw(st.sampled_from(["LiveBlogPosting", "https://schema.org/LiveBlogPosting"])),
        "headline": draw(st.one_of(texts, json_values)),
        "liveBlogUpdate": draw(st.one_of(st.lists(json_ld_updates(), max_size=8), json_values)),
    }
    for key in draw(st.lists(st.sampled_from(["url", "coverageStartTime", *DATE_KEYS]))):
        blog[key] = draw(st.one_of(texts, json_values))
    data = json.dumps(blog if draw(st.booleans()) else {"@graph": [blog]})
    if draw(st.booleans()):
        return data.encode()
    script = data.replace("</", "<\\/")
    return f'<html><script type="application/ld+json">{script}</script></html>'.encode()


@st.composite
def feeds(draw: st.DrawFn) -> bytes:
    """RSS or Atom with hostile text in every element, sometimes with a DOCTYPE."""
    items = []
    for _ in range(draw(st.integers(0, 6))):
        fields = {
            name: draw(texts)
            for name in draw(
                st.lists(st.sampled_from(["title", "guid", "link", "description", "pubDate"]))
            )
        }
        items.append("".join(f"<{k}>{v}</{k}>" for k, v in fields.items()))
    doctype = draw(
        st.sampled_from(
            ["", '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>', "<!DOCTYPE x>"]
        )
    )
    if draw(st.booleans()):
        inner = "".join(f"<item>{item}</item>" for item in items)
        body = f'{doctype}<rss version="2.0"><channel><title>{draw(texts)}</title>{inner}'
        body += "</channel></rss>"
    else:
        inner = "".join(f"<entry>{item}</entry>" for item in items)
        body = f'{doctype}<feed xmlns="http://www.w3.org/2005/Atom"><title>{draw(texts)}</title>'
        body += f"{inner}</feed>"
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252"]))
    return body.encode(encoding, errors="replace")


@st.composite
def mutations(draw: st.DrawFn, document: bytes) -> bytes:
    """DOCUMENT with a few bytes cut, inserted, flipped or duplicated, or truncated."""
    data = bytearray(document)
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["cut", "insert", "flip", "repeat", "truncate"]))
        if op == "cut":
            del data[at : at + draw(st.integers(1, 200))]
        elif op == "insert":
            piece = draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=8)))
            data[at:at] = piece.encode("utf-8", "surrogatepass")
        elif op == "flip":
            data[at] = draw(st.integers(0, 255))
        elif op == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 400))] * draw(st.integers(2, 30))
        else:
            del data[at:]
    return bytes(data)


# --- snapshots for the diff ----------------------------------------------------------------

times = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ),
)
entries = st.builds(
    Entry,
    id=st.sampled_from([f"e{n}" for n in range(10)] + ["", "\u200b", "@everyone"]),
    title=st.one_of(st.none(), texts),
    text=texts,
    url=st.one_of(st.none(), texts),
    published=times,
    updated=times,
    image=st.one_of(st.none(), texts),
)
key_points = st.one_of(
    st.none(),
    st.builds(
        KeyPoints, st.sampled_from(list(KeyPointsKind)), st.lists(texts, max_size=8).map(tuple)
    ),
)
snapshots = st.builds(
    Snapshot,
    kind=st.sampled_from(list(SourceKind)),
    title=st.one_of(st.none(), texts),
    entries=st.lists(entries, max_size=10).map(tuple),
    key_points=key_points,
)

"""Feed corpus benchmark: the CPU time to read many small feeds, Bulletin against feedparser.

The corpus is made here, the same every run (a fixed seed): 2,000 small feeds of RSS 2.0, RSS
1.0 and Atom, 3 to 20 items each, with HTML bodies (escaped, in CDATA, or as XHTML), dates in
the forms feeds use, a tenth of them in a legacy encoding they declare, and the shared fixture
feeds among them. Both readers are given the same bytes; each number is the CPU time for the
whole corpus (median of a few runs), so per-call overheads count as they do in a poller.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from bench.common import FIXTURES, table
from bot.errors import ExtractError
from bot.sources.extract import extract

CORPUS_SIZE = 2000
_WORDS = [
    *("harbour", "ferry", "council", "storm", "bridge", "crews", "power", "vote", "budget"),
    *("station", "market", "river", "engineers", "residents", "mayor", "police", "hospital"),
    *("school", "road", "minister", "report", "water", "wind", "tide", "pier"),
]
_LEGACY = ("iso-8859-1", "windows-1252", "iso-8859-15")


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def _body(rng: random.Random) -> str:
    paragraphs = "".join(f"<p>{_sentence(rng, rng.randint(8, 20))}</p>" for _ in range(3))
    style = rng.randrange(3)
    if style == 0:  # escaped HTML
        return paragraphs.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if style == 1:
        return f"<![CDATA[{paragraphs}]]>"
    return _sentence(rng, 25)  # plain text


def _date(rng: random.Random, when: datetime, atom: bool) -> str:
    if atom or rng.random() < 0.2:
        return when.isoformat().replace("+00:00", "Z")
    return format_datetime(when)


def _rss(rng: random.Random, number: int, start: datetime) -> str:
    items = []
    for i in range(rng.randint(3, 20)):
        when = start + timedelta(minutes=17 * i)
        items.append(
            f"<item><title>{_sentence(rng, 6)} &amp; more</title>"
            f"<link>https://feed{number}.example/{i}</link>"
            f"<guid>https://feed{number}.example/{i}</guid>"
            f"<pubDate>{_date(rng, when, atom=False)}</pubDate>"
            f"<description>{_body(rng)}</description></item>"
        )
    return (
        f"<rss version='2.0'><channel><title>Feed {number}</title>"
        f"<link>https://feed{number}.example/</link>{''.join(items)}</channel></rss>"
    )


def _rdf(rng: random.Random, number: int, start: datetime) -> str:
    items = "".join(
        f"<item rdf:about='https://feed{number}.example/{i}'><title>{_sentence(rng, 6)}</title>"
        f"<link>https://feed{number}.example/{i}</link>"
        f"<dc:date>{(start + timedelta(hours=i)).isoformat()}</dc:date>"
        f"<description>{_body(rng)}</description></item>"
        for i in range(rng.randint(3, 20))
    )
    return (
        "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
        "xmlns='http://purl.org/rss/1.0/' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
        f"<channel rdf:about='https://feed{number}.example/'><title>Feed {number}</title>"
        f"<link>https://feed{number}.example/</link></channel>{items}</rdf:RDF>"
    )


def _atom(rng: random.Random, number: int, start: datetime) -> str:
    entries = []
    for i in range(rng.randint(3, 20)):
        when = _date(rng, start + timedelta(minutes=29 * i), atom=True)
        if rng.random() < 0.5:
            content = f"<content type='html'>{_body(rng)}</content>"
        else:
            paragraphs = "".join(f"<p>{_sentence(rng, 12)}</p>" for _ in range(2))
            content = (
                "<content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>"
                f"{paragraphs}</div></content>"
            )
        entries.append(
            f"<entry><id>tag:feed{number}.example,2024:{i}</id><title>{_sentence(rng, 6)}</title>"
            f"<link rel='alternate' href='https://feed{number}.example/{i}'/>"
            f"<updated>{when}</updated>{content}</entry>"
        )
    return (
        f"<feed xmlns='http://www.w3.org/2005/Atom'><title>Feed {number}</title>"
        f"<link href='https://feed{number}.example/'/>{''.join(entries)}</feed>"
    )


def corpus(size: int = CORPUS_SIZE, seed: int = 2024) -> list[bytes]:
    """SIZE small feeds, the same ones for the same seed; the fixture feeds among them."""
    rng = random.Random(seed)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    fixtures = (
        sorted(p.read_bytes() for p in (FIXTURES / "feeds").glob("*") if p.suffix != ".json")
        if FIXTURES.is_dir()
        else []
    )
    feeds = list(fixtures)
    while len(feeds) < size:
        number = len(feeds)
        text = rng.choice((_rss, _rss, _atom, _rdf))(rng, number, start)
        if rng.random() < 0.1:
            encoding = rng.choice(_LEGACY)
            text = text.replace("Feed ", "Caf\u00e9 \u00e0 la une ", 1)
            feeds.append(f"<?xml version='1.0' encoding='{encoding}'?>{text}".encode(encoding))
        else:
            feeds.append(f"<?xml version='1.0' encoding='utf-8'?>{text}".encode())
    return feeds


def _bulletin(body: bytes) -> int:
    try:
        return len(extract(body).entries)
    except ExtractError:
        return 0


def _cpu_s(read: Callable[[bytes], int], feeds: list[bytes], runs: int) -> tuple[float, int]:
    """Median CPU seconds to read every feed of FEEDS once, and the items read."""
    samples, items = [], 0
    for _ in range(runs):
        started = time.process_time()
        items = sum(read(body) for body in feeds)
        samples.append(time.process_time() - started)
    return statistics.median(samples), items


def run() -> None:
    print("## Feed corpus: many small feeds\n")
    feeds = corpus()
    size = sum(len(body) for body in feeds)
    median_kb = statistics.median(map(len, feeds)) / 1024
    print(
        f"{len(feeds):,} feeds, {size / 1024 / 1024:.1f} MB, median {median_kb:.1f} KB each"
        " (RSS 2.0, RSS 1.0, Atom; a tenth in a legacy encoding; the fixture feeds among"
        " them). CPU time to read them all, median of 3 runs:\n"
    )
    readers: dict[str, Callable[[bytes], int]] = {
        "bulletin (lxml, feedparser as fallback)": _bulletin
    }
    try:
        import feedparser
    except ImportError:  # a dependency of Bulletin: only an incomplete install lacks it
        feedparser = None
    if feedparser is not None:
        readers["feedparser"] = lambda body: len(feedparser.parse(body).entries)
    rows = []
    timings = {}
    for name, read in readers.items():
        read(feeds[0])  # warm up imports and caches
        seconds, items = _cpu_s(read, feeds, runs=3)
        timings[name] = seconds
        rows.append([name, f"{seconds:.2f}", f"{seconds / len(feeds) * 1000:.2f}", f"{items:,}"])
    print(table(["reader", "CPU s, whole corpus", "ms per feed", "items read"], rows))
    if len(timings) == 2:
        ours, theirs = timings.values()
        print(f"\nBulletin reads the corpus {theirs / ours:.1f} times as fast as feedparser.")


if __name__ == "__main__":
    run()

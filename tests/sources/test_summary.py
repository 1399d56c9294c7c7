"""The extractive summary: verbatim, central, from the newest updates only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.model import Entry, KeyPointsKind
from bot.sources.extract.entries import in_order
from bot.sources.summary import extracted_key_points, split_sentences

BASE = datetime(2024, 5, 1, tzinfo=UTC)


def entries(*texts: str) -> list[Entry]:
    """Oldest first, one minute apart."""
    return [
        Entry(id=str(i), title=None, text=t, published=BASE + timedelta(minutes=i))
        for i, t in enumerate(texts)
    ]


FLOOD = entries(
    "The river flood reached the old town bridge early on Monday morning. "
    "A bakery on the corner handed out free bread to the volunteers.",
    "Engineers said the river flood barrier at the old town bridge held through the night. "
    "The mayor thanked a choir that sang for the crews.",
    "The river flood is expected to fall below the old town bridge arches by Tuesday. "
    "Several dogs were seen swimming happily near the harbour wall.",
    "Residents near the old town bridge were told the river flood warning remains in place. "
    "A local football match was postponed until next month.",
)


def test_sentences_are_verbatim_from_the_updates():
    key_points = extracted_key_points(FLOOD)
    assert key_points.kind is KeyPointsKind.EXTRACTED
    every_sentence = {s for e in FLOOD for s in split_sentences(e.text)}
    assert set(key_points.items) <= every_sentence


def test_central_sentences_win_over_the_first_ones():
    items = extracted_key_points(FLOOD, max_sentences=2).items
    assert all("river flood" in item for item in items)
    assert not any(word in " ".join(items) for word in ("bakery", "choir", "dogs", "football"))


def test_at_most_max_sentences():
    assert len(extracted_key_points(FLOOD, max_sentences=3).items) == 3


def test_only_the_newest_updates_are_used():
    old = entries("The very old and irrelevant council minutes were approved without debate.")[0]
    recent = [
        Entry(id=f"n{i}", title=None, text=e.text, published=e.published + timedelta(days=1))
        for i, e in enumerate(FLOOD)
    ]
    items = extracted_key_points(in_order([*recent[::-1], old]), newest=4).items
    assert all("council minutes" not in item for item in items)


def test_no_usable_sentence_gives_none():
    assert extracted_key_points(entries("", "#TBT", "Short one.")) is None
    assert extracted_key_points([]) is None


def test_sentence_split_keeps_quotes_and_abbreviated_numbers():
    text = 'He said "we will rebuild." Costs reached 1.5m euros. Next: a vote?'
    assert split_sentences(text) == [
        'He said "we will rebuild."',
        "Costs reached 1.5m euros.",
        "Next: a vote?",
    ]

"""A source's own CSS selectors for entries and key points."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.model import KeyPointsKind, SourceKind, format_utc
from bot.sources.extract import Selectors, extract

PAGE = b"""<html><head><title>Council meeting live</title>
<link rel="canonical" href="https://town.example/live"></head><body>
<div class="box"><p>Agreed so far:</p><ul><li>Budget passed</li><li>Park to reopen</li></ul></div>
<div class="post" id="p3"><h4>Vote taken</h4><time datetime="2024-05-01T12:30:00+01:00">12:30</time>
  <div class="body"><p>The motion carried.</p><p>Nine to four.</p></div></div>
<div class="post" id="p2"><h4>Debate opens</h4><time datetime="2024-05-01T11:00:00Z">11:00</time>
  <div class="body"><p>Members speak in turn.</p></div></div>
<div class="post" data-post-time="1714554000000"><h4>Session starts</h4>
  <div class="body"><p>The chair opens the meeting.</p></div></div>
</body></html>"""

SELECTORS = Selectors(entry="div.post", title="h4", body=".body", time="time", key_points=".box ul")


def test_selected_entries_oldest_first_with_ids_and_times():
    snapshot = extract(PAGE, selectors=SELECTORS)
    assert snapshot.kind is SourceKind.LIVEBLOG
    assert [e.title for e in snapshot.entries] == ["Session starts", "Debate opens", "Vote taken"]
    assert [e.id for e in snapshot.entries][1:] == ["p2", "p3"]
    assert snapshot.entries[2].url == "https://town.example/live#p3"
    assert format_utc(snapshot.entries[2].published) == "2024-05-01T11:30:00Z"


def test_entry_own_epoch_attribute_is_its_time():
    first = extract(PAGE, selectors=SELECTORS).entries[0]
    assert format_utc(first.published) == "2024-05-01T09:00:00Z"
    assert first.id.startswith("sha256:")


def test_selected_body_keeps_paragraphs():
    newest = extract(PAGE, selectors=SELECTORS).entries[-1]
    assert newest.text == "The motion carried.\n\nNine to four."


def test_key_points_selector():
    key_points = extract(PAGE, selectors=SELECTORS).key_points
    assert key_points.kind is KeyPointsKind.SUMMARY
    assert key_points.items == ("Budget passed", "Park to reopen")


def test_key_points_selector_alone_makes_a_page():
    snapshot = extract(PAGE, selectors=Selectors(key_points=".box li"))
    assert snapshot.kind is SourceKind.PAGE
    assert snapshot.key_points.items == ("Budget passed", "Park to reopen")


def test_from_mapping_reads_known_keys():
    assert Selectors.from_mapping({"entry": ".post", "title": "h4"}) == Selectors(
        entry=".post", title="h4"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"entries": ".post"}, "unknown selector key 'entries'"),
        ({"entry": 3}, "selector 'entry' must be"),
        ({"entry": "  "}, "selector 'entry' must be"),
        ({"entry": "div[[["}, "not valid CSS"),
        ({"title": "h4"}, "need an 'entry' selector"),
    ],
)
def test_from_mapping_names_the_bad_key(data, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        Selectors.from_mapping(data)

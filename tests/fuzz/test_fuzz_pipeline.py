"""Fuzzing extraction, diff and rendering: hostile or mangled input never raises anything but
ExtractError (a BulletinError) and never produces a payload Discord would refuse or act on.

Short runs in `make test`; `BULLETIN_FUZZ=1 pytest tests/fuzz` (`make fuzz`) runs long ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.delivery.render import RenderContext, render_correction
from bot.diff import SourceState, StoredEntry, plan
from bot.errors import ExtractError
from bot.model import EditedEntry, KeyPointsChanged, NewEntry, Snapshot
from bot.sources.extract import MAX_TEXT, MAX_TITLE, extract
from tests.conftest import SHARED_FIXTURES
from tests.fuzz.strategies import (
    feeds,
    fuzz_settings,
    json_ld_documents,
    mutations,
    snapshots,
)
from tests.hardening.payloads import assert_safe, render_change

FIXTURE_FILES = sorted(
    str(path.relative_to(SHARED_FIXTURES))
    for path in SHARED_FIXTURES.glob("*/*")
    if path.suffix in (".html", ".json", ".xml", ".rss", ".atom")
)
CONTENT_TYPES = [
    None,
    "text/html",
    "application/json",
    "application/rss+xml",
    "text/html; charset=utf-16",
]
CTX = RenderContext(story_name="Storm", source_name="News", source_url="https://news.example/")
PING_CTX = RenderContext(story_name="@everyone <@1>", role_id=42)


def read_or_refuse(body: bytes, content_type: str | None = None) -> Snapshot | None:
    """Extract BODY; None when it is refused with ExtractError (anything else propagates)."""
    try:
        snapshot = extract(body, content_type=content_type, url="https://news.example/live")
    except ExtractError as error:
        message = str(error)
        assert message and "\n" not in message  # one line for a person
        return None
    check_snapshot(snapshot)
    return snapshot


def check_snapshot(snapshot: Snapshot) -> None:
    ids = [entry.id for entry in snapshot.entries]
    assert len(ids) == len(set(ids))
    for entry in snapshot.entries:
        assert len(entry.text) <= MAX_TEXT
        assert entry.title is None or len(entry.title) <= MAX_TITLE
        for when in (entry.published, entry.updated):
            assert when is None or when.utcoffset() is not None
        for value in (entry.id, entry.title or "", entry.text):
            value.encode()  # storable: no lone surrogates


def render_all(snapshot: Snapshot) -> None:
    """Every change a first and a second poll of SNAPSHOT would post renders safely."""
    baseline = plan(SourceState(), snapshot)
    for change in plan(SourceState(baseline_taken=True), snapshot).changes + baseline.changes:
        assert_safe(render_change(change, CTX))


@fuzz_settings(short=40)
@given(st.binary(max_size=3000), st.sampled_from(CONTENT_TYPES))
def test_random_bytes_are_read_or_refused(body, content_type):
    read_or_refuse(body, content_type)


@fuzz_settings(short=40)
@given(json_ld_documents())
def test_hostile_json_ld_is_read_or_refused_and_renders_safely(body):
    snapshot = read_or_refuse(body)
    if snapshot is not None:
        render_all(snapshot)


@fuzz_settings(short=30)
@given(feeds())
def test_hostile_feeds_are_read_or_refused_and_render_safely(body):
    snapshot = read_or_refuse(body)
    if snapshot is not None:
        assert "etc/hostname" not in repr(snapshot) or "file:///etc/hostname" in repr(snapshot)
        render_all(snapshot)


@pytest.mark.skipif(not FIXTURE_FILES, reason="shared fixtures not found")
@fuzz_settings(short=30, long=3000)
@given(st.sampled_from(FIXTURE_FILES or ["-"]), st.data())
def test_mangled_fixture_documents_are_read_or_refused(fixtures_dir: Path, name, data):
    original = (fixtures_dir / name).read_bytes()
    body = data.draw(mutations(original))
    snapshot = read_or_refuse(body, data.draw(st.sampled_from(CONTENT_TYPES)))
    if snapshot is not None and len(snapshot.entries) <= 40:
        render_all(snapshot)


@fuzz_settings(short=40)
@given(st.lists(snapshots, min_size=1, max_size=6))
def test_any_sequence_of_snapshots_diffs_and_each_entry_is_new_at_most_once(polls):
    memory: dict[str, StoredEntry] = {}
    baseline_taken = False
    announced: list[str] = []
    for snapshot in polls:
        result = plan(SourceState(baseline_taken, dict(memory)), snapshot)
        baseline_taken = baseline_taken or result.takes_baseline
        for write in (*result.inserts, *result.updates):
            e = write.entry
            memory[e.id] = StoredEntry(write.content_hash, write.fingerprint, e.title, e.text)
        for change in result.changes:
            if isinstance(change, NewEntry):
                announced.append(change.entry.id)
            pings = isinstance(change, NewEntry | KeyPointsChanged)  # edits never ping
            role = PING_CTX.role_id if pings else None
            assert_safe(render_change(change, PING_CTX, ping=True), role_id=role)
            if isinstance(change, EditedEntry):
                old = "javascript:alert(1)"
                assert_safe(render_correction(change, CTX, original_message_url=old))
    assert len(announced) == len(set(announced))

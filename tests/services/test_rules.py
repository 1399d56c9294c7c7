"""Plain rules behind the commands: keywords, digests, permissions, status, texts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.delivery.sanitize import clip
from bot.model import StoryStatus
from bot.permissions import bot_needs, missing, missing_text
from bot.services.common import Refusal, when
from bot.services.help import help_text
from bot.services.sources import check_url
from bot.services.stories import story_status
from bot.services.subscriptions import digest_every, parse_keywords
from bot.store import SourceRecord, StoryRecord
from cogs._replies import chunks
from tests.builders import source_record

NOW = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (None, None),
        ("Gaza,  ceasefire   talks", "Gaza, ceasefire talks"),
        ("rain, Rain, RAIN", "rain"),
        ("  flood warning ", "flood warning"),
    ],
)
def test_keywords_are_tidied_phrases(given, kept):
    assert parse_keywords(given) == kept


@pytest.mark.parametrize(
    "given", ["", " , ,", "***", "a, ?!", "x" * 101, ",".join(f"w{n}" for n in range(21))]
)
def test_keywords_that_cannot_work_are_refused(given):
    with pytest.raises(Refusal):
        parse_keywords(given)


@pytest.mark.parametrize(
    ("mode", "every", "seconds"),
    [("updates", None, None), ("digest", None, 6 * 3600), ("digest", "1h", 3600),
     ("digest", "24h", 86400), ("key-points", None, None)],
)  # fmt: skip
def test_digest_period(mode, every, seconds):
    assert digest_every(mode, every) == seconds


@pytest.mark.parametrize(("mode", "every"), [("updates", "1h"), ("digest", "2h"), ("all", None)])
def test_digest_period_refusals(mode, every):
    with pytest.raises(Refusal):
        digest_every(mode, every)


@pytest.mark.parametrize(
    ("granted", "thread", "lacking"),
    [
        ({"view_channel": True, "send_messages": True, "embed_links": True}, False, []),
        ({"view_channel": True, "send_messages": True}, False, ["Embed Links"]),
        (
            {"view_channel": True, "send_messages": True, "embed_links": True},
            True,
            ["Create Public Threads", "Send Messages in Threads"],
        ),
        ({"administrator": True}, True, []),
        ({}, False, ["View Channel", "Send Messages", "Embed Links"]),
    ],
)
def test_missing_bot_permissions_are_named_in_order(granted, thread, lacking):
    assert missing(granted, bot_needs(thread=thread)) == lacking


def test_missing_reads_attributes_of_permission_objects():
    class Perms:
        view_channel = True
        send_messages = False
        embed_links = True

    assert missing(Perms(), bot_needs(thread=False)) == ["Send Messages"]


@pytest.mark.parametrize(
    ("names", "text"),
    [([], ""), (["A"], "A"), (["A", "B"], "A and B"), (["A", "B", "C"], "A, B and C")],
)
def test_missing_text_reads_as_a_sentence(names, text):
    assert missing_text(names) == text


def _story(**changes) -> StoryRecord:
    base = StoryRecord(1, 5, "Mars", None, None, None, NOW)
    return replace(base, **changes)


def _source(status=StoryStatus.LIVE, paused=False, reason=None) -> SourceRecord:
    return source_record(
        url="https://news.test/",
        next_check=NOW,
        created_at=NOW,
        status=status,
        auto_paused_at=NOW if paused else None,
        auto_pause_reason=reason,
    )


@pytest.mark.parametrize(
    ("story", "sources", "status"),
    [
        (_story(), [], "no sources"),
        (_story(), [_source(StoryStatus.QUIET), _source(StoryStatus.LIVE)], "live"),
        (_story(), [_source(StoryStatus.ENDED), _source(StoryStatus.QUIET)], "quiet"),
        (_story(paused_at=NOW), [_source()], "paused"),
        (_story(), [_source(paused=True, reason="HTTP 500")], "paused"),
        (_story(), [_source(paused=True), _source(StoryStatus.ENDED)], "ended"),
    ],
)
def test_story_status(story, sources, status):
    assert story_status(story, sources)[0] == status


def test_story_paused_by_failing_sources_says_why():
    assert "HTTP 500" in story_status(_story(), [_source(paused=True, reason="HTTP 500")])[1]


@pytest.mark.parametrize("url", ["ftp://x.test/", "news.test/live", "https://", "javascript:x"])
def test_check_url_refuses_what_is_not_http(url):
    with pytest.raises(Refusal):
        check_url(url)


def test_check_url_trims_angle_brackets():
    assert check_url(" <https://news.test/live> ") == "https://news.test/live"


def test_when_is_a_discord_timestamp():
    assert when(NOW) == f"<t:{int(NOW.timestamp())}:R>"
    assert when(None) == "never"


def test_clip_marks_what_it_cut():
    assert clip("abcdef", 4) == "abc…" and clip("abc", 4) == "abc"


def test_chunks_stay_under_the_message_limit():
    lines = ["x" * 700] * 7 + ["y" * 2500]
    messages = chunks(lines)
    assert all(len(m) <= 2000 for m in messages)
    assert sum(m.count("x") for m in messages) == 700 * 7


@pytest.mark.parametrize(
    ("channels", "guild", "shown", "hidden"),
    [
        (False, False, ["/latest"], ["/subscribe", "/source add", "/deliveries", "/why"]),
        (True, False, ["/subscribe", "/deliveries story", "/why story update"], ["/source add"]),
        (True, True, ["/subscribe", "/why", "/source add", "/settings alerts"], []),
    ],
)
def test_help_shows_what_the_member_may_use(channels, guild, shown, hidden):
    text = help_text(manage_channels=channels, manage_guild=guild)
    assert all(s in text for s in shown) and not any(h in text for h in hidden)

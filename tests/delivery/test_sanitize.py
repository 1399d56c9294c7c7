import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.sanitize import (
    ZWSP,
    clean_markdown,
    clean_plain,
    clip,
    discord_len,
    escape_markdown,
    neutralise_mentions,
    safe_url,
    strip_controls,
)

MENTION = re.compile(r"@(?:everyone|here)|<(?:@[!&]?|#)\d+>|</[^>]+:\d+>", re.IGNORECASE)


def unescape(text: str) -> str:
    """What Discord shows for backslash escapes: the escaped character itself."""
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", text)


@pytest.mark.parametrize(
    "source",
    [
        "@everyone look",
        "hello @here",
        "@EVERYONE",
        "<@123456789012345678>",
        "<@!123456789012345678>",
        "<@&123456789012345678>",
        "<#123456789012345678>",
        "</latest:123456789012345678>",
    ],
)
def test_mentions_from_sources_are_neutralised(source):
    assert MENTION.search(neutralise_mentions(source)) is None


def test_neutralised_mention_reads_the_same_without_zero_width_spaces():
    assert neutralise_mentions("ping @everyone <@1>").replace(ZWSP, "") == "ping @everyone <@1>"


def test_email_addresses_are_left_alone():
    assert neutralise_mentions("write to desk@example.com") == "write to desk@example.com"


@pytest.mark.parametrize(
    ("source", "escaped"),
    [
        ("*bold* and _it_", r"\*bold\* and \_it\_"),
        ("~~gone~~ ||spoiler|| `code`", r"\~\~gone\~\~ \|\|spoiler\|\| \`code\`"),
        ("[click](https://evil.example)", r"\[click\](https://evil.example)"),
        ("# Heading", r"\# Heading"),
        ("> quote", r"\> quote"),
        ("- item", r"\- item"),
        ("12. item", r"12\. item"),
        ("back\\slash", "back\\\\slash"),
        ("plain words 42", "plain words 42"),
    ],
)
def test_markdown_is_escaped(source, escaped):
    assert escape_markdown(source) == escaped


def test_bare_urls_are_not_escaped_so_they_stay_links():
    text = "see https://example.com/a_b_c?q=1 for more"
    assert escape_markdown(text) == text


def test_a_masked_link_inside_a_url_is_still_escaped():
    rendered = escape_markdown("https://ok.example/[x](javascript:alert(1))")
    assert rendered == r"https://ok.example/\[x\](javascript:alert(1))"


def test_markdown_right_after_a_url_is_escaped_outside_it():
    assert escape_markdown("https://example.com/x** bold") == r"https://example.com/x\*\* bold"


@settings(max_examples=150)
@given(st.text(alphabet=st.characters(blacklist_characters=":"), max_size=200))
def test_escaped_text_renders_as_the_source_wrote_it(text):
    # Without ':' there are no URLs, so every character goes through the escaper.
    assert unescape(escape_markdown(text)) == text


def test_masked_links_from_sources_are_not_links():
    rendered = clean_markdown("[Click here](javascript:alert(1))")
    assert "](" not in rendered.replace("\\](", "")


def test_control_characters_and_bidi_overrides_are_stripped():
    assert strip_controls("a\x1b[31mb\u202ec\x00d\ne") == "a[31mbcd\ne"


def test_clean_plain_is_one_line():
    assert clean_plain("  The\n\nCoast   Herald ") == "The Coast Herald"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/live#u1", "https://example.com/live#u1"),
        ("HTTP://Example.COM/a", "http://example.com/a"),
        ("https://example.com/a b", None),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html,hi", None),
        ("ftp://example.com/x", None),
        ("//example.com/x", None),
        ("/relative/path", None),
        ("https://user:pass@example.com/", None),
        ("https://", None),
        ("https://example.com/" + "a" * 3000, None),
        (None, None),
        ("", None),
    ],
)
def test_only_plain_http_urls_are_safe(url, expected):
    assert safe_url(url) == expected


def test_url_characters_that_break_markdown_links_are_encoded():
    assert safe_url("https://example.com/(a)[b]@everyone") == (
        "https://example.com/%28a%29%5Bb%5D%40everyone"
    )


def test_clip_keeps_short_text():
    assert clip("short", 10) == "short"


def test_clip_counts_utf16_units():
    clipped = clip("😀" * 10, 9)
    assert discord_len(clipped) <= 9
    assert clipped.endswith("…")


def test_clip_never_leaves_a_dangling_escape():
    clipped = clip("abc\\*defghij", 5)
    body = clipped.removesuffix("…")
    assert (len(body) - len(body.rstrip("\\"))) % 2 == 0


@settings(max_examples=150)
@given(st.text(max_size=300), st.integers(min_value=0, max_value=200))
def test_clip_is_always_within_the_limit(text, limit):
    assert discord_len(clip(text, limit)) <= limit

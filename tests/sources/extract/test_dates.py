"""Every date form feeds use, as Bulletin prints it (UTC, `YYYY-MM-DDTHH:MM:SSZ`)."""

from __future__ import annotations

import pytest

from bot.model import format_utc, snapshot_to_json
from bot.sources.extract import extract
from bot.sources.extract.dates import parse_date


@pytest.mark.parametrize(
    ("written", "printed"),
    [
        # RFC 822 and its variants
        ("Tue, 05 Mar 2024 09:30:00 GMT", "2024-03-05T09:30:00Z"),
        ("Tue,05 Mar 2024 09:30:00 +0100", "2024-03-05T08:30:00Z"),  # no space after the comma
        ("Tue, 05 Mar 24 09:30:00 GMT", "2024-03-05T09:30:00Z"),  # two-digit year
        ("Tue, 5 Mar 2024 09:30 EST", "2024-03-05T14:30:00Z"),  # no seconds, named zone
        ("Tue, 05 Mar 2024 09:30:00 MET", "2024-03-05T08:30:00Z"),
        ("Tue, 05 Mar 2024 09:30:00 CEST", "2024-03-05T07:30:00Z"),
        ("Tue, 05 Mar 2024 09:30:00 PT", "2024-03-05T17:30:00Z"),
        ("Tue, 05 Mar 2024 09:30:00 Z", "2024-03-05T09:30:00Z"),  # military Zulu
        ("Tue, 05 Mar 2024 09:30:00 A", "2024-03-05T10:30:00Z"),  # military A: -1 in RFC 822
        ("Tue, 05 Mar 2024 09:30:00 N", "2024-03-05T08:30:00Z"),  # military N: +1
        ("Tue, 05 Mar 2024 09:30:00 GMT+02:00", "2024-03-05T07:30:00Z"),
        ("Tue, 05 Mar 2024 09:30:00 Etc/GMT", "2024-03-05T09:30:00Z"),
        ("Tue, 05 March 2024 09:30:00 -0500", "2024-03-05T14:30:00Z"),  # month in full
        ("Tue, 05 Mar, 2024 09:30:00 UTC", "2024-03-05T09:30:00Z"),  # extra comma
        ("Tue Mar 05 2024 09:30:00 +0000", "2024-03-05T09:30:00Z"),  # month before day
        ("Tue, 05 Mar 2024", "2024-03-05T00:00:00Z"),  # no time
        # W3C and ISO 8601, partial dates too
        ("2024-03-05T09:30:00Z", "2024-03-05T09:30:00Z"),
        ("2024-03-05T09:30:00.250-08:00", "2024-03-05T17:30:00Z"),
        ("2024-03-05 09:30:00 -00:30", "2024-03-05T10:00:00Z"),
        ("2024-03-05", "2024-03-05T00:00:00Z"),
        ("2003-12", "2003-12-01T00:00:00Z"),
        ("2003", "2003-01-01T00:00:00Z"),
        ("20240305T093000Z", "2024-03-05T09:30:00Z"),
        ("-0312", "2003-12-01T00:00:00Z"),  # ISO 8601's two-digit year and month
        ("2003-012-31T10:14:55+00:00", "2003-12-31T10:14:55Z"),  # Google's three-digit month
        # asctime
        ("Tue Mar  5 09:30:00 2024", "2024-03-05T09:30:00Z"),
        ("Tue Mar 05 09:30:00 +0000 2024", "2024-03-05T09:30:00Z"),
        # Perforce
        ("Tue, 2024/03/05 09:30:00 EDT", "2024-03-05T13:30:00Z"),
    ],
)
def test_date_forms_feedparser_reads_are_read(written, printed):
    assert format_utc(parse_date(written)) == printed


@pytest.mark.parametrize(
    ("written", "printed"),
    [
        # Greek: Sunday 11 July 2004, 12:00 EST
        (
            "\u039a\u03c5\u03c1, 11 \u0399\u03bf\u03cd\u03bb 2004 12:00:00 EST",
            "2004-07-11T17:00:00Z",
        ),
        # Hungarian: 13 July 2004, 9:15 at -05:00 (feedparser's parse() reads December 1)
        ("2004-j\u00falius-13T9:15-05:00", "2004-07-13T14:15:00Z"),
        # Korean (Nate): 25 May 2004, 11:23:17 in the afternoon, Korean time
        ("2004-05-25 \uc624\ud6c4 11:23:17", "2004-05-25T14:23:17Z"),
        # Korean (OnBlog): 28 May 2004, 01:31:15 Korean time
        ("2004\ub144 05\uc6d4 28\uc77c  01:31:15", "2004-05-27T16:31:15Z"),
    ],
)
def test_greek_hungarian_and_korean_dates_are_read_where_feedparsers_parse_misreads_them(
    written, printed
):
    assert format_utc(parse_date(written)) == printed


def test_a_year_before_1000_prints_with_four_digits():
    body = (
        b"<rss version='2.0'><channel><item><guid>old</guid>"
        b"<pubDate>Thu, 01 Jan 0100 00:00:01 +0100</pubDate></item></channel></rss>"
    )
    (entry,) = snapshot_to_json(extract(body))["entries"]
    assert entry["published"] == "0099-12-31T23:00:01Z"


@pytest.mark.parametrize(
    "written",
    ["2024-13-45T99:00:00Z", "sometime last week", "2024-xx-05", "2024-05-99"],
)
def test_nonsense_is_no_date_rather_than_a_wrong_one(written):
    assert parse_date(written) is None


def test_a_word_before_the_time_is_not_taken_for_a_zone():
    # "at" is Atlantic Time only where RFC 822 puts a zone: after the time
    assert format_utc(parse_date("May 5, 2024 at 10:00")) == "2024-05-05T10:00:00Z"


@pytest.mark.parametrize(
    ("element", "value", "printed"),
    [
        ("dc:date", "2024-03-05T09:30:00+01:00", "2024-03-05T08:30:00Z"),
        ("dcterms:created", "2024-03-05T09:30:00Z", "2024-03-05T09:30:00Z"),
        ("dcterms:issued", "2024-03-05", "2024-03-05T00:00:00Z"),
    ],
)
def test_dublin_core_dates_in_rss_items_are_read(element, value, printed):
    body = (
        "<rss version='2.0' xmlns:dc='http://purl.org/dc/elements/1.1/' "
        "xmlns:dcterms='http://purl.org/dc/terms/'><channel><item><guid>1</guid>"
        f"<{element}>{value}</{element}></item></channel></rss>"
    ).encode()
    assert format_utc(extract(body).entries[0].published) == printed

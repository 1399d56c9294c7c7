"""Dates as sources write them → aware UTC datetimes (None when unreadable)."""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "janv", "gen", "ene"),
            ("feb", "fev", "fév", "febr"),
            ("mar", "mär", "mrz"),
            ("apr", "avr", "abr"),
            ("may", "mai", "mag", "mei"),
            ("jun", "juin", "giu"),
            ("jul", "juil", "lug"),
            ("aug", "aoû", "aou", "ago"),
            ("sep", "sept", "set"),
            ("oct", "okt", "ott"),
            ("nov",),
            ("dec", "dez", "déc", "dic"),
        ),
        start=1,
    )
    for name in names
}
_ZONES = {
    "z": 0, "ut": 0, "utc": 0, "gmt": 0, "wet": 0,
    "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
    "et": -5, "ct": -6, "mt": -7, "pt": -8, "at": -4, "ast": -4, "adt": -3,
    "akst": -9, "akdt": -8, "hst": -10, "nzst": 12, "nzdt": 13, "jst": 9, "kst": 9,
    "bst": 1, "cet": 1, "cest": 2, "met": 1, "mest": 2, "west": 1, "eet": 2, "eest": 3,
    "msk": 3, "aest": 10, "aedt": 11,
}  # fmt: skip
# RFC 822's military zones, as it defines them: A-I and K-M are -1 to -12 hours, N-Y +1 to +12
# (RFC 1123 notes the signs were meant the other way round; feeds that use them follow 822).
_MILITARY = {
    **{letter: -(number + 1) for number, letter in enumerate("abcdefghiklm")},
    **{letter: number + 1 for number, letter in enumerate("nopqrstuvwxy")},
}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?$")
_OFFSET = re.compile(r"^(?:etc/)?(?:gmt|utc|ut)?([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_PARTIAL_ISO = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
_DateHandler = Callable[[str], time.struct_time | None]


@functools.cache
def _feedparser_handlers(w3c: bool) -> tuple[_DateHandler, ...]:
    """feedparser's date handlers, for the forms our own code does not read: the
    language-specific ones first (feedparser's own parse() tries its loose ISO 8601 handler
    before them, which misreads "2004-július-13" and the Korean forms as other dates), its loose
    ISO 8601 last; for a W3C-looking date (W3C), the language-specific ones only.

    Imported at first use: feedparser (about 2 MB resident with what it imports) is needed only
    for dates of these rarer forms and for damaged feeds (`feed_fallback`).
    """
    from feedparser.datetimes import (
        _parse_date_asctime,
        _parse_date_greek,
        _parse_date_hungarian,
        _parse_date_iso8601,
        _parse_date_nate,
        _parse_date_onblog,
        _parse_date_perforce,
        _parse_date_rfc822,
        _parse_date_w3dtf,
    )

    languages: tuple[_DateHandler, ...] = (
        _parse_date_greek,
        _parse_date_hungarian,
        _parse_date_nate,
        _parse_date_onblog,
    )
    if w3c:
        return languages
    return (
        *languages,
        _parse_date_perforce,
        _parse_date_w3dtf,
        _parse_date_rfc822,
        _parse_date_asctime,
        _parse_date_iso8601,
    )


# A W3C date that our own reading refused is out of range or garbled ("2024-13-45",
# "2024-xx-05"): feedparser's loose handlers would roll it over into another date or read a
# part of it, so only the language-specific ones may try. (Google's old "2003-012-31", with a
# three-digit month, is left to feedparser's ISO 8601 handler, which reads it right.)
_W3C_START = re.compile(r"^\d{4}-(?!0\d\d-)")
_ISO_LOOSE = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?)\s*(.*)$")


def from_epoch_ms(value: object) -> datetime | None:
    """Milliseconds since 1970 (the Guardian's page data)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):  # JSON allows NaN, Infinity
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)
    except OverflowError:
        return None


def parse_date(value: object) -> datetime | None:
    """ISO 8601 / W3C, RFC 822 and its common misspellings, in UTC; None when unreadable."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    try:
        found = _parse_iso(text) if text[:4].isdigit() else _parse_rfc822(text)
    except OverflowError:
        # a date at the very edge of what datetime holds (year 1 or 9999) whose offset
        # moves it past the edge in UTC: unreadable, like any other nonsense date
        return None
    return found if found is not None else _by_feedparser(text)


def _by_feedparser(text: str) -> datetime | None:
    """TEXT read by the first of feedparser's handlers that reads it (they return UTC)."""
    for handler in _feedparser_handlers(_W3C_START.match(text) is not None):
        try:
            parsed = handler(text)
        except Exception:  # noqa: S112 (a library's handler failing on odd text cannot read it)
            continue
        if parsed is not None and len(parsed) == 9:
            try:
                year, month, day, hour, minute, second = parsed[:6]
                return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except (ValueError, OverflowError):
                return None
    return None


def _aware(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _parse_iso(text: str) -> datetime | None:
    try:
        return _aware(datetime.fromisoformat(text.replace("z", "Z")))
    except ValueError:
        pass
    match = _ISO_LOOSE.match(text)
    if match:  # e.g. "2020-10-06 07:15:59 +0100" or a zone name after the time
        date, clock, zone = match.groups()
        try:
            base = datetime.fromisoformat(f"{date}T{clock}")
        except ValueError:
            return None
        offset = _zone_offset(zone) if zone else timedelta(0)
        if offset is None:
            return None
        return (base - offset).replace(tzinfo=UTC)
    partial = _PARTIAL_ISO.match(text)
    if partial:  # "2003" or "2003-12": the start of that year or month
        year, month = partial.groups()
        try:
            return datetime(int(year), int(month or 1), 1, tzinfo=UTC)
        except ValueError:
            return None
    try:  # a bare date, perhaps with a trailing "T" or a zone but no time
        date = datetime.fromisoformat(text[:10]).replace(tzinfo=UTC)
    except ValueError:
        return None
    rest = text[10:].strip(" T")
    return date if not rest or _zone_offset(rest) is not None else None


@functools.lru_cache(maxsize=256)  # a feed repeats one or two zones in every item
def _zone_offset(token: str) -> timedelta | None:
    token = token.strip()
    match = _OFFSET.match(token)
    if match:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta > timedelta(hours=18):  # no zone is that far from UTC
            return None
        return -delta if sign == "-" else delta
    if token[:4].lower() == "etc/":
        token = token[4:]
    hours = _ZONES.get(token.lower())
    return None if hours is None else timedelta(hours=hours)


_RFC822 = re.compile(
    r"^(?:[A-Za-z]{3},\s*)?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2})(?::(\d{2}))? "
    r"([+-]\d{4}|GMT|UTC?|Z)$"
)
_ENGLISH_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}


def _parse_rfc822(text: str) -> datetime | None:
    """Tokens in any order sources use: day name, day, month name, year, time, AM/PM, zone."""
    strict = _RFC822.match(text)
    if strict:  # the common, well-formed case, fast
        day, month_name, year, hour, minute, second, zone = strict.groups()
        month = _ENGLISH_MONTHS.get(month_name.lower())
        offset = _zone_offset(zone)
        if month is not None and offset is not None:
            try:
                local = datetime(
                    int(year), month, int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC
                )
            except ValueError:
                return None
            return local - offset
    tokens = text.replace(",", " ").split()
    day = month = year = None
    clock: tuple[int, int, int] | None = None
    pm: bool | None = None
    offset = timedelta(0)
    for token in tokens:
        low = token.lower().rstrip(".")
        if token.isascii() and token.isdigit():  # "²".isdigit() holds, int("²") fails
            number = int(token)
            if len(token) == 4:
                year = number
            elif day is None and 1 <= number <= 31:
                day = number
            elif year is None and len(token) == 2:
                year = 2000 + number if number < 70 else 1900 + number
            continue
        if clock is not None and len(low) == 1 and low in _MILITARY:
            offset = timedelta(hours=_MILITARY[low])
            continue
        time_match = _TIME.match(token)
        if time_match:
            hh, mm, ss = time_match.groups()
            clock = (int(hh), int(mm), int(ss or 0))
            continue
        if low in ("am", "pm"):
            pm = low == "pm"
            continue
        if low[:3] in _MONTHS or low in _MONTHS:
            month = _MONTHS.get(low) or _MONTHS[low[:3]]
            continue
        # a zone name counts only after the time, where RFC 822 puts it: before it, "at",
        # "et" or "a" are words ("May 5, 2024 at 10:00"), not zones
        zone = _zone_offset(token) if clock is not None or not token.isalpha() else None
        if zone is not None:
            offset = zone
        # anything else (day names in any language) is ignored
    if day is None or month is None or year is None:
        return None
    hour, minute, second = clock or (0, 0, 0)
    if pm is not None and hour <= 12:
        hour = hour % 12 + (12 if pm else 0)
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    return local - offset

"""Dates as sources write them → aware UTC datetimes (None when unreadable)."""

from __future__ import annotations

import functools
import math
import re
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
    "z": 0, "ut": 0, "utc": 0, "gmt": 0,
    "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
    "bst": 1, "cet": 1, "cest": 2,
}  # fmt: skip
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?$")
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
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
        if text[:4].isdigit():
            return _parse_iso(text)
        return _parse_rfc822(text)
    except OverflowError:
        # a date at the very edge of what datetime holds (year 1 or 9999) whose offset
        # moves it past the edge in UTC: unreadable, like any other nonsense date
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
    try:  # a bare date
        return datetime.fromisoformat(text[:10]).replace(tzinfo=UTC)
    except ValueError:
        return None


@functools.lru_cache(maxsize=256)  # a feed repeats one or two zones in every item
def _zone_offset(token: str) -> timedelta | None:
    token = token.strip()
    match = _OFFSET.match(token)
    if match:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return -delta if sign == "-" else delta
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
        zone = _zone_offset(token)
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

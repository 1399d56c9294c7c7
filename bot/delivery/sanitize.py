"""Make text and links from sources safe to show on Discord or a terminal.

Everything a source writes is untrusted: it may hold `@everyone`, mention syntax, Markdown that
would restyle our messages, masked links to anywhere, `javascript:` URLs, or terminal control
sequences. The helpers here turn it into text that renders literally.

Lengths are counted in UTF-16 code units (`discord_len`), which is never less than the count of
code points, so a text within a limit by this count is within it however Discord counts.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit, urlunsplit

ZWSP = "\u200b"  # zero-width space: breaks mention syntax without changing what readers see

# Control characters (C0, C1, DEL), lone surrogates and bidi overrides; newline and tab survive.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufeff]")
_MASS_MENTION = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
# `<@id>`, `<@!id>`, `<@&id>`, `<#id>`, `</cmd:id>`, `<:emoji:id>`, `<a:emoji:id>`, `<t:…>`,
# `<id:…>`: a zero-width space after `<` keeps Discord from parsing any of them.
_ANGLE_SYNTAX = re.compile(r"<(?=[@#/:]|a:|t:|id:)", re.IGNORECASE)
# Characters with a Markdown meaning anywhere in a line.
_INLINE_SPECIAL = re.compile(r"([\\*_~`|<>\[\]])")
# Markdown that only means something at the start of a line: headings, subtext, lists, quotes.
_LINE_START_SPECIAL = re.compile(r"(?m)^([ \t]*)(?:([#\-+])|(\d+)\.)")
# Bare web addresses are left unescaped so Discord still makes them links.
# Markdown characters end a bare URL here (and are escaped after it), so a URL can never carry
# a masked link or a style past the escaper; Discord then links only the part before them.
_BARE_URL = re.compile(r"https?://[^\s<>\"\[\]()`|*~\\]+", re.IGNORECASE)
_URL_TRAILING = ".,:;!?\"')]}*_~|`"

# Kept as is in a URL; everything else is percent-encoded. `()[]<>'*` and spaces would end or
# break a Markdown link; `@` is encoded so a path can never spell a mention.
_URL_SAFE = "/?#!$&+,;=%-._~:"
MAX_URL = 2000


def discord_len(text: str) -> int:
    """Length as Discord's limits count it (UTF-16 code units; see the module note)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def strip_controls(text: str) -> str:
    """Drop control characters, lone surrogates and bidi overrides; keep newlines and tabs."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def neutralise_mentions(text: str) -> str:
    """Break `@everyone`, `@here` and every `<…>` mention form with a zero-width space."""
    return _ANGLE_SYNTAX.sub("<" + ZWSP, _MASS_MENTION.sub("@" + ZWSP, text))


def _escape_plain(segment: str) -> str:
    segment = _INLINE_SPECIAL.sub(r"\\\1", segment)
    return _LINE_START_SPECIAL.sub(_escape_line_start, segment)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker, number = match.groups()
    # A backslash before a digit would show; escape the list number's dot instead.
    return f"{indent}\\{marker}" if marker else f"{indent}{number}\\."


def escape_markdown(text: str) -> str:
    """Backslash-escape Markdown so the text renders literally; bare http(s) URLs stay links."""
    out: list[str] = []
    position = 0
    for match in _BARE_URL.finditer(text):
        url = match.group().rstrip(_URL_TRAILING)
        start, end = match.start(), match.start() + len(url)
        if len(url) <= len("https://"):
            continue
        out.append(_escape_plain(text[position:start]))
        out.append(url)
        position = end
    out.append(_escape_plain(text[position:]))
    return "".join(out)


def clean_plain(text: str | None, *, limit: int = 4096) -> str:
    """For fields Discord shows without Markdown (author, footer): one line, no mentions.

    Only about the first `limit` characters are looked at: the caller clips to that anyway.
    """
    if not text:
        return ""
    text = strip_controls(unicodedata.normalize("NFC", _head(text, limit)))
    return neutralise_mentions(" ".join(text.split()))


def _head(text: str, limit: int) -> str:
    # Generous: whitespace collapsing shrinks the text, escaping grows it.
    return text[: limit * 4 + 64]


def clean_markdown(text: str | None, *, one_line: bool = False, limit: int = 4096) -> str:
    """For fields Discord renders as Markdown (title, description, field values).

    Only about the first `limit` characters are looked at: the caller clips to that anyway.
    """
    if not text:
        return ""
    text = strip_controls(unicodedata.normalize("NFC", _head(text, limit)))
    if one_line:
        text = " ".join(text.split())
    else:
        # Paragraphs survive; runs of blank lines and trailing spaces do not.
        lines = [" ".join(line.split()) for line in text.split("\n")]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return escape_markdown(neutralise_mentions(text))


def safe_url(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL fit for an embed link; otherwise None.

    Refused: other schemes (`javascript:`, `data:`, ...), credentials in the URL (a phishing
    trick), a missing host, over-long URLs. Characters that could end a Markdown link or spell a
    mention are percent-encoded, so the result can also sit inside `[text](url)`.
    """
    if not url:
        return None
    url = strip_controls(url).strip()
    if any(ch.isspace() for ch in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    if "@" in parts.netloc or parts.username is not None:
        return None
    try:
        netloc = parts.netloc.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", netloc):
        return None
    cleaned = urlunsplit(
        (
            parts.scheme.lower(),
            netloc.lower(),
            quote(parts.path, safe=_URL_SAFE),
            quote(parts.query, safe=_URL_SAFE),
            quote(parts.fragment, safe=_URL_SAFE),
        )
    )
    if len(cleaned) > MAX_URL:
        return None
    return cleaned


def clip(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """`text` cut to at most `limit` (Discord-counted) characters, ending in `ellipsis` if cut.

    Never leaves a dangling escape backslash at the cut.
    """
    if discord_len(text) <= limit:
        return text
    room = limit - discord_len(ellipsis)
    if room <= 0:
        return ellipsis[: max(limit, 0)] if ellipsis.isascii() else ""
    # Cut by code points first (cheap), then trim until the UTF-16 count fits.
    cut = text[:room]
    while discord_len(cut) > room:
        cut = cut[: -max(1, (discord_len(cut) - room) // 2)]
    cut = cut.rstrip()
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]
    return cut + ellipsis

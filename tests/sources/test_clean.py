"""The shortcuts in clean.py give what the general HTML path gives."""

from __future__ import annotations

import pytest

from bot.sources.extract.clean import _collapsed, clean_line, html_to_text
from bot.sources.extract.detect import decode_html, html_for_parser
from bot.text import collapse_whitespace


@pytest.mark.parametrize(
    "run",
    [
        "",
        " ",
        "tidy words here",
        "two  spaces",
        " leading",
        "trailing ",
        "tab\there",
        "no\u00a0break",
        "line\u2028separator",
        "ideographic\u3000space",
        "soft\u00adhyphen stays",
    ],
)
def test_collapsed_equals_split_and_join(run: str) -> None:
    assert _collapsed(run) == " ".join(run.split())


@pytest.mark.parametrize(
    "fragment",
    [
        "Plain title",
        "  spaced \n title\t",
        "Caf\u00e9 &amp; bar",
        "It&#39;s here",
        "&lt;b&gt;escaped once&lt;/b&gt; text",
        "&amp;lt;i&amp;gt;escaped twice&amp;lt;/i&amp;gt;",
        "a &lt; b",
        "&nbsp;",
        "<b>markup</b> title",
    ],
)
def test_clean_line_equals_the_general_path(fragment: str) -> None:
    general = collapse_whitespace(html_to_text(fragment)) or None
    assert clean_line(fragment) == general


@pytest.mark.parametrize(
    ("body", "charset", "expected"),
    [
        ("<p>caf\u00e9</p>".encode(), None, "<p>caf\u00e9</p>".encode()),
        (b"\xef\xbb\xbf<p>x</p>", None, b"<p>x</p>"),
        ("<p>caf\u00e9</p>".encode("cp1252"), None, "<p>caf\u00e9</p>"),
        ("<p>caf\u00e9</p>".encode("cp1252"), "iso-8859-1", "<p>caf\u00e9</p>"),
    ],
)
def test_html_for_parser_passes_utf8_bytes_through(
    body: bytes, charset: str | None, expected: str | bytes
) -> None:
    assert html_for_parser(body, charset) == expected


def test_html_for_parser_agrees_with_decode_html() -> None:
    body = "<title>Mise \u00e0 jour</title>".encode()
    assert html_for_parser(body, None).decode() == decode_html(body, None)  # type: ignore[union-attr]

"""Feeds in every encoding a document may declare or imply, on synthetic feeds written here."""

from __future__ import annotations

import codecs

import pytest

from bot.model import SourceKind
from bot.sources.extract import extract

TITLE = "Caf\u00e9 \u00abZur Post\u00bb \u2014 \u201cneu\u201d"


def atom(title: str, declaration: str = "") -> str:
    return (
        f"{declaration}<feed xmlns='http://www.w3.org/2005/Atom'><title>{title}</title>"
        f"<entry><id>tag:enc.example,2024:1</id><title>{title}</title></entry></feed>"
    )


def declared(encoding: str) -> str:
    return f"<?xml version='1.0' encoding='{encoding}'?>"


# Names as documents spell them, each with a title its code page can hold.
SPELLINGS = {
    "437": "Caf\u00e9 \u00e0 la gare",
    "windows_1252": "Caf\u00e9 \u2014 \u201cneu\u201d \u20ac",
    "cp037": "Caf\u00e9 (EBCDIC)",
    "ebcdic-cp-be": "Caf\u00e9 [EBCDIC 500]",
    "cp1140": "\u20ac Caf\u00e9",
    "iso-8859-2": "\u017b\u00f3\u0142w i \u0107ma",
    "iso-8859-5": "\u0416\u0443\u0440\u043d\u0430\u043b",
    "iso-8859-7": "\u0395\u03bb\u03bb\u03ac\u03b4\u03b1",
    "koi8-r": "\u041d\u043e\u0432\u043e\u0441\u0442\u0438",
    "shift_jis": "\u65e5\u672c\u8a9e\u306e\u30cb\u30e5\u30fc\u30b9",
    "euc-jp": "\u65e5\u672c\u8a9e",
    "big5": "\u4e2d\u6587\u65b0\u805e",
    "euc-kr": "\ud55c\uad6d\uc5b4 \ub274\uc2a4",
    "mac-cyrillic": "\u041c\u043e\u0441\u043a\u0432\u0430",
    "cp1251": "\u041a\u0438\u0435\u0432",
}


@pytest.mark.parametrize(("encoding", "title"), sorted(SPELLINGS.items()))
def test_every_encoding_pythons_codecs_know_is_read_when_declared(encoding, title):
    body = atom(title, declared(encoding)).encode(encoding)
    snapshot = extract(body)
    assert (snapshot.title, snapshot.entries[0].title) == (title, title)


def test_a_gb2312_declaration_is_read_as_its_superset_gb18030():
    title = "\u55de\u4e2d\u6587"  # the first character is in GB18030, not in GB2312
    body = atom(title, declared("gb2312")).encode("gb18030")
    assert extract(body).title == title


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("declaration", ["", "utf-16", "utf-32"])
def test_utf16_and_utf32_without_a_byte_order_mark_are_read(encoding, declaration):
    text = atom(TITLE, declared(declaration) if declaration else "")
    snapshot = extract(text.encode(encoding), content_type="application/atom+xml")
    assert (snapshot.kind, snapshot.title) == (SourceKind.FEED, TITLE)


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [(codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be")],
)
def test_utf32_with_a_byte_order_mark_is_read(bom, encoding):
    assert extract(bom + atom(TITLE).encode(encoding)).title == TITLE


def test_a_json_feed_in_utf16_without_a_byte_order_mark_is_read():
    body = '{"version": "https://jsonfeed.org/version/1.1", "title": "Caf\u00e9", "items": []}'
    assert extract(body.encode("utf-16-le")).title == "Caf\u00e9"


WINDOWS_1251_NEWS = (
    "<rss version='2.0'><channel><title>\u041d\u043e\u0432\u043e\u0441\u0442\u0438 "
    "\u0434\u043d\u044f</title><item><guid>1</guid><title>\u0412 \u041c\u043e\u0441\u043a\u0432"
    "\u0435 \u043f\u0440\u043e\u0448\u0451\u043b \u0441\u043d\u0435\u0433</title><description>"
    "\u0421\u043d\u0435\u0433 \u0448\u0451\u043b \u0432\u0435\u0441\u044c \u0434\u0435\u043d"
    "\u044c, \u0438 \u0433\u043e\u0440\u043e\u0434\u0441\u043a\u0438\u0435 \u0441\u043b\u0443"
    "\u0436\u0431\u044b \u0440\u0430\u0431\u043e\u0442\u0430\u043b\u0438 \u0434\u043e "
    "\u043d\u043e\u0447\u0438. \u0410\u0432\u0442\u043e\u0431\u0443\u0441\u044b \u0445\u043e"
    "\u0434\u0438\u043b\u0438 \u0441 \u043e\u043f\u043e\u0437\u0434\u0430\u043d\u0438\u0435"
    "\u043c.</description></item></channel></rss>"
)


def test_an_undeclared_legacy_encoding_is_detected_not_assumed_cp1252():
    snapshot = extract(WINDOWS_1251_NEWS.encode("cp1251"))
    assert snapshot.title == "\u041d\u043e\u0432\u043e\u0441\u0442\u0438 \u0434\u043d\u044f"
    assert snapshot.entries[0].text.startswith("\u0421\u043d\u0435\u0433 \u0448\u0451\u043b")


def test_a_short_undeclared_western_feed_is_still_read_as_cp1252():
    body = (
        "<rss version='2.0'><channel><title>Gr\u00fc\u00dfe aus M\u00fcnchen</title>"
        "<item><guid>1</guid><title>Cr\u00e8me br\u00fbl\u00e9e \u2013 \u201cgut\u201d</title>"
        "</item></channel></rss>"
    ).encode("cp1252")
    snapshot = extract(body)
    assert snapshot.title == "Gr\u00fc\u00dfe aus M\u00fcnchen"
    assert snapshot.entries[0].title == "Cr\u00e8me br\u00fbl\u00e9e \u2013 \u201cgut\u201d"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/rss+xml; charset=koi8-r",
        "text/xml; charset=KOI8-R",
        "application/xml;charset=koi8-r",
    ],
)
def test_the_http_charset_takes_precedence_over_the_declaration(content_type):
    title = "\u041d\u043e\u0432\u043e\u0441\u0442\u0438"
    body = atom(title, declared("iso-8859-1")).encode("koi8-r")
    assert extract(body, content_type=content_type).title == title


def test_a_byte_order_mark_takes_precedence_over_the_http_charset():
    body = codecs.BOM_UTF8 + atom(TITLE, declared("utf-8")).encode("utf-8")
    assert extract(body, content_type="application/atom+xml; charset=iso-8859-1").title == TITLE


def test_an_http_charset_python_does_not_know_leaves_the_declaration_in_charge():
    body = atom("Caf\u00e9", declared("iso-8859-1")).encode("latin-1")
    assert extract(body, content_type="text/xml; charset=x-unknown-thing").title == "Caf\u00e9"


@pytest.mark.parametrize("declaration", ["iso-8859-1", "us-ascii", "latin1", "windows-1252"])
def test_cp1252_characters_in_the_c1_range_are_kept_not_dropped(declaration):
    # bytes 0x93, 0x94, 0x96 and 0x80: curly quotes, an en dash and the euro sign in cp1252
    body = (
        atom("X", declared(declaration))
        .encode("ascii")
        .replace(b"<title>X</title>", b"<title>\x93Preis\x94 \x96 5 \x80</title>")
    )
    assert extract(body).title == "\u201cPreis\u201d \u2013 5 \u20ac"


def test_c1_codes_written_as_character_references_read_as_cp1252():
    body = atom("don&#146;t &#147;panic&#148;").encode("ascii")
    assert extract(body).title == "don\u2019t \u201cpanic\u201d"


def test_declared_utf8_with_stray_latin1_bytes_keeps_both_readable():
    body = (
        atom("MARK", declared("utf-8"))
        .encode("utf-8")
        .replace(b"MARK", "caf\u00e9 ".encode() + b"na\xefve")
    )
    assert extract(body).title == "caf\u00e9 na\u00efve"

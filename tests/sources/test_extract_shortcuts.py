"""The shortcuts taken for speed give exactly what the plain way gives.

Each test compares a fast path with the straightforward code it replaced, on generated inputs
built from the characters and pieces that decide the outcome.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sources.extract.jsonld import _unwrapped

# The one-pass form the JSON-LD unwrapping had: a regex tried at every position of the block.
_WRAPPERS = re.compile(
    r"^(?:<!--|(?:/\*\s*|//\s*)?<!\[CDATA\[(?:\s*\*/)?)"
    r"|(?:-->|(?:/\*\s*|//\s*)?\]\]>(?:\s*\*/)?)$"
)
_WRAPPER_PIECES = ["<!--", "-->", "<![CDATA[", "]]>", "/*", "*/", "//", " ", "\n", "\u2003"]
_JSON_PIECES = ["{", "}", '"a"', ":", "1", ">", "-", "]", "/", "*", "<", ";"]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(_WRAPPER_PIECES + _JSON_PIECES), max_size=12))
def test_json_ld_unwrapping_equals_the_regex_over_the_whole_block(pieces: list[str]) -> None:
    text = "".join(pieces).strip()
    assert _unwrapped(text) == _WRAPPERS.sub("", text)

"""Text normalisation shared by extraction (cleaning) and diff (comparing)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")


def collapse_whitespace(text: str) -> str:
    """One space between words, none at the ends (non-breaking spaces count as spaces)."""
    return _WHITESPACE.sub(" ", text).strip()


def normalise_for_compare(text: str | None) -> str:
    """The form two texts are compared in: NFC, whitespace collapsed.

    Extraction already strips markup and decodes entities, so what is left to ignore is
    whitespace and Unicode spelling (composed vs decomposed accents).
    """
    if not text:
        return ""
    return collapse_whitespace(unicodedata.normalize("NFC", text))


def content_hash(title: str | None, text: str) -> str:
    """Hash of an entry's normalised title and text: a change of it is an edit."""
    digest = hashlib.sha256()
    # surrogatepass: a lone surrogate (JSON can spell one) must not make hashing fail
    digest.update(normalise_for_compare(title).encode("utf-8", "surrogatepass"))
    digest.update(b"\x00")
    digest.update(normalise_for_compare(text).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]

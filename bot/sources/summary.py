"""An extractive summary for live pages without key points of their own (ARCHITECTURE rule 6).

At most `max_sentences` sentences, verbatim, from the `newest` updates, chosen by centrality:
TextRank over a graph whose edges are word overlap between sentences (the overlap is divided by
the logs of the sentence lengths, so long sentences do not win by length alone). Computed when
shown, never stored or announced.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from bot.model import Entry, KeyPoints, KeyPointsKind

# A sentence ends at . ! ? or … (and any closing quote or bracket), before a capital or digit.
_SENTENCE_END = re.compile(
    r"(?:(?<=[.!?\u2026][\"'\u201d\u2019)\]])|(?<=[.!?\u2026]))\s+"
    r"(?=[\"'\u201c\u2018(\[]?[A-Z0-9\u00c0-\u00de])"
)
_WORD = re.compile(r"[^\W\d_]{3,}")
_STOPWORDS = frozenset(
    (
        "the",
        "and",
        "for",
        "that",
        "with",
        "this",
        "from",
        "have",
        "has",
        "had",
        "was",
        "were",
        "are",
        "been",
        "being",
        "will",
        "would",
        "could",
        "should",
        "they",
        "them",
        "their",
        "there",
        "then",
        "than",
        "also",
        "into",
        "over",
        "after",
        "before",
        "about",
        "said",
        "says",
        "not",
        "but",
        "who",
        "what",
        "when",
        "where",
        "which",
        "while",
        "its",
        "it's",
        "his",
        "her",
        "him",
        "she",
        "he",
        "you",
        "your",
        "our",
        "out",
        "all",
        "any",
        "can",
        "one",
        "two",
        "more",
        "most",
        "some",
        "such",
        "only",
        "very",
        "just",
        "more",
        "other",
        "new",
        "today",
        "yesterday",
        "tomorrow",
    )
)
_MIN_WORDS, _MAX_WORDS = 6, 60
_MAX_CANDIDATES = 300  # bounds the quadratic graph for pathological pages
_DAMPING = 0.85
_ITERATIONS = 40
_REDUNDANT = 0.5  # Jaccard overlap above which a sentence repeats one already chosen


def split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for paragraph in text.split("\n\n"):
        sentences.extend(s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip())
    return sentences


def _words(sentence: str) -> frozenset[str]:
    return frozenset(w for w in (m.lower() for m in _WORD.findall(sentence)) if w not in _STOPWORDS)


def _is_candidate(sentence: str) -> bool:
    count = len(sentence.split())
    return _MIN_WORDS <= count <= _MAX_WORDS and not sentence.endswith(("?", ":"))


def _textrank(bags: list[frozenset[str]]) -> list[float]:
    n = len(bags)
    logs = [math.log(len(b)) if len(b) > 1 else 0.0 for b in bags]
    weights: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for i in range(n):
        bag_i = bags[i]
        for j in range(i + 1, n):
            denominator = logs[i] + logs[j]
            if denominator <= 0:
                continue
            shared = len(bag_i & bags[j])
            if shared:
                weight = shared / denominator
                weights[i].append((j, weight))
                weights[j].append((i, weight))
    out_weight = [sum(w for _, w in edges) for edges in weights]
    # each node's edges with the neighbour's out-weight beside them (neighbours without any
    # left out), so that an iteration is one list per node; the sums are the same, term by term
    incoming = [[(j, w, out_weight[j]) for j, w in edges if out_weight[j]] for edges in weights]
    scores = [1.0] * n
    for _ in range(_ITERATIONS):
        scores = [
            (1 - _DAMPING) + _DAMPING * sum([scores[j] * w / out for j, w, out in edges])
            for edges in incoming
        ]
    return scores


def extracted_key_points(
    entries: Sequence[Entry], *, max_sentences: int = 5, newest: int = 20
) -> KeyPoints | None:
    """The most central sentences of the newest updates, verbatim, in page order (newest
    update first); None when the updates hold no usable sentence. `entries` are oldest first."""
    if max_sentences <= 0 or newest <= 0:
        return None
    recent = list(entries)[-newest:][::-1]  # newest first, as a reader sees the page
    sentences: list[str] = []
    seen: set[str] = set()
    for entry in recent:
        for sentence in split_sentences(entry.text):
            if _is_candidate(sentence) and sentence not in seen:
                seen.add(sentence)
                sentences.append(sentence)
    sentences = sentences[:_MAX_CANDIDATES]
    bags = [_words(s) for s in sentences]
    keep = [i for i, bag in enumerate(bags) if len(bag) >= 2]
    if not keep:
        return None
    scores = _textrank([bags[i] for i in keep])
    ranked = sorted(range(len(keep)), key=lambda k: (-scores[k], k))
    chosen: list[int] = []
    for k in ranked:
        index = keep[k]
        bag = bags[index]
        if any(len(bag & bags[c]) / len(bag | bags[c]) > _REDUNDANT for c in chosen):
            continue
        chosen.append(index)
        if len(chosen) == max_sentences:
            break
    return KeyPoints(KeyPointsKind.EXTRACTED, tuple(sentences[i] for i in sorted(chosen)))

"""One article as the learned layer sees it: regex tokens, sentences in tokens, word classes.

Why tokens: the SpkAtt metric counts tokens (toolkit.attribution.spkatt.Tokens), so every
decision (where a message starts, which mention is the source) is made over the same tokens
the score is computed on; character offsets are derived from them at the end.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from functools import lru_cache
from operator import itemgetter

from toolkit.attribution.spkatt import _TOKEN

Span = tuple[int, int]

PRONOUNS = frozenset({"er", "sie", "ich", "wir", "ihr", "man", "es", "dieser", "diese", "jener"})
DETERMINERS = frozenset({"der", "die", "das", "des", "dem", "den", "ein", "eine", "einer", "eines", "einem",
                         "einen", "sein", "seine", "ihre", "ihr", "seiner", "ihrer", "dessen", "deren"})
QUOTE_CHARS = frozenset("„“”\"«»‚‘’'")
#: Tokens of "<none>" on either side of the padded word and class lists (see ArticleView).
PAD = 2
_EDGES = ["<none>"] * PAD
#: Every value of `word_class`, and the class of a position outside the article.
CLASSES = ("quote", "punct", "pron", "det", "cue", "konj", "role", "say", "num", "cap", "low", "<none>")
_CUE_LISTS = ("speech_verbs", "clause_verbs", "anaphoric_verbs", "statement_verbs", "zu_verbs", "naming_verbs")


@lru_cache(maxsize=1)
def _classes() -> dict[str, re.Pattern[str]]:
    """Full-word patterns of the bundled lexicon lists the features look up (compiled once)."""
    from toolkit.lexicon.active import load_lexicon

    lx = load_lexicon()
    cue = "|".join(lx.alt(name) for name in _CUE_LISTS)
    return {
        "cue": re.compile(rf"(?:{cue})", re.IGNORECASE),
        "konj": re.compile(rf"(?:{lx.alt('konjunktiv_i')}|{lx.alt('konjunktiv_ii')})"),
        "role": re.compile(rf"(?:{lx.alt('role_nouns')})"),
        "say": re.compile(rf"[\wÄÖÜäöüß-]*(?:{lx.alt('say_nouns')}|{lx.alt('speech_nouns')})"),
    }


@lru_cache(maxsize=200_000)
def word_class(word: str) -> str:
    """A coarse class of one token: cue verb, Konjunktiv form, role noun, say noun, pronoun,
    determiner, capitalised, punctuation, quote mark, number or lower-case word."""
    low = word.lower()
    if word in QUOTE_CHARS:
        return "quote"
    if not word[:1].isalnum():
        return "punct"
    if low in PRONOUNS:
        return "pron"
    if low in DETERMINERS:
        return "det"
    for name, pattern in _classes().items():
        if pattern.fullmatch(word):
            return name
    if word[:1].isdigit():
        return "num"
    return "cap" if word[:1].isupper() else "low"


#: word -> (its lower case, word_class(word)) for the words seen so far (cleared past
#: _CACHE_SIZE words).
_SEEN: dict[str, tuple[str, str]] = {}
_CACHE_SIZE = 200_000


def lower_and_classes(words: list[str]) -> tuple[list[str], list[str]]:
    """Lower case and `word_class` of every word. Why a dict of both: `map(dict.get, ...)` over
    a few hundred tokens costs a third of `map(word_class, ...)` and of `map(str.lower, ...)`,
    and only unseen words (None here) are computed."""
    both: list[tuple[str, str] | None] = list(map(_SEEN.get, words))
    if None in both:
        if len(_SEEN) > _CACHE_SIZE:
            _SEEN.clear()
        for i, k in enumerate(both):
            if k is None:
                w = words[i]
                both[i] = _SEEN[w] = (w.lower(), word_class(w))
    return list(map(itemgetter(0), both)), list(map(itemgetter(1), both))  # type: ignore[arg-type]


class ArticleView:
    """Tokens of the article text with their word classes and the sentence each belongs to."""

    def __init__(self, text: str, sentences: Sequence[Span]) -> None:
        self.text = text
        # The tokens of toolkit.attribution.spkatt.Tokens, read by `map` over C-level callables
        # (word_class is an lru_cache): no Python loop per token.
        matches = list(_TOKEN.finditer(text))
        self.starts: list[int] = list(map(re.Match.start, matches))
        self.ends: list[int] = list(map(re.Match.end, matches))
        self.words = list(map(re.Match.group, matches))
        self.lower, self.classes = lower_and_classes(self.words)
        self._n = len(self.words)
        #: `lower` and `classes` with PAD "<none>" entries on either side: the scorers read
        #: `padded_lower[t + PAD]` for t in [-PAD, len + PAD) with no bounds check or method call.
        self.padded_lower = _EDGES + self.lower + _EDGES
        self.padded_classes = _EDGES + self.classes + _EDGES
        self.sentences: list[Span] = []  # token ranges [first, last]
        for s, e in sentences:
            a, b = bisect_left(self.ends, s + 1), bisect_right(self.starts, e - 1) - 1
            if a <= b:
                self.sentences.append((a, b))
        self._sent_first = [a for a, _ in self.sentences]

    def __len__(self) -> int:
        return len(self.words)

    def token_range(self, start: int, end: int) -> Span | None:
        """[first, last] tokens sharing a character with [start, end), or None."""
        a, b = bisect_right(self.ends, start), bisect_left(self.starts, end) - 1
        return (a, b) if a <= b else None

    def sentence_of(self, t: int) -> int:
        """Index of the sentence holding token t (the previous one for a token between sentences)."""
        return max(bisect_right(self._sent_first, t) - 1, 0)

    def word(self, t: int) -> str:
        return self.lower[t] if 0 <= t < self._n else "<none>"

    def cls(self, t: int) -> str:
        return self.classes[t] if 0 <= t < self._n else "<none>"

    def chars(self, first: int, last: int) -> Span:
        return self.starts[first], self.ends[last]

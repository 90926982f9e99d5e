"""One article as the learned layer sees it: regex tokens, sentences in tokens, word classes.

Why tokens: the SpkAtt metric counts tokens (toolkit.attribution.spkatt.Tokens), so every
decision (where a message starts, which mention is the source) is made over the same tokens
the score is computed on; character offsets are derived from them at the end.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from functools import lru_cache
from operator import itemgetter
from re import _constants as _c  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

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


#: First characters a case-insensitive lexicon entry is keyed by: within these, two characters
#: match each other under re.IGNORECASE exactly when their lower cases are equal.
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZäöüÄÖÜ")
_SAY_HEAD = re.compile(r"[\wÄÖÜäöüß-]*")


def _edge_chars(items: Any, last: bool = False) -> set[str] | None:
    """The characters a match of the parsed regex `items` can begin with (or, if `last`, end
    with); None when unknown (it may match empty, or its edge is a class, a category, an anchor
    or an inline flag)."""
    if not len(items):
        return None
    op, av = items[-1 if last else 0]
    if op is _c.LITERAL:
        return {chr(av)}
    if op is _c.IN:
        return {chr(v) for o, v in av} if all(o is _c.LITERAL for o, _ in av) else None
    if op is _c.BRANCH:  # the parser moves a common prefix out: `e|en` is `e(?:|n)`
        parts = [_edge_chars(b, last) for b in av[1] if len(b)]
        inner = None if any(p is None for p in parts) else set().union(*parts)  # type: ignore[arg-type]
        return inner if inner is None or all(map(len, av[1])) else _or_rest(inner, items, last)
    if op is _c.SUBPATTERN:
        return _edge_chars(av[3], last) if not av[1] and not av[2] else None
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
        inner = _edge_chars(av[2], last)
        return inner if av[0] >= 1 or inner is None else _or_rest(inner, items, last)
    return None


def _or_rest(inner: set[str], items: Any, last: bool) -> set[str] | None:
    """`inner` with the edge characters of the rest of `items`, its edge element matching empty."""
    rest = _edge_chars(items[:-1] if last else items[1:], last)
    return None if rest is None else inner | rest


def _by_first(entries: Sequence[str], flags: int) -> tuple[dict[str, re.Pattern[str]], re.Pattern[str] | None]:
    """The entries as one alternation per first character (the entries that can begin with it,
    and those whose first character is unknown, in list order), and that of the unknown ones.

    Why it is exact: a fullmatch of an alternation succeeds exactly when one of its entries
    fullmatches, and an entry whose every match begins with another character cannot."""
    keyed: dict[str, list[str]] = {}
    anywhere: list[str] = []
    for e in entries:
        first = _edge_chars(_parser.parse(e, flags))
        if flags & re.IGNORECASE and first is not None and not first <= _SAFE:
            first = None
        if first is None:
            anywhere.append(e)
            for k in keyed.values():
                k.append(e)
            continue
        for ch in {ch.lower() for ch in first} if flags & re.IGNORECASE else first:
            keyed.setdefault(ch, list(anywhere)).append(e)
    out = {ch: re.compile(f"(?:{'|'.join(es)})", flags) for ch, es in keyed.items()}
    return out, re.compile(f"(?:{'|'.join(anywhere)})", flags) if anywhere else None


@lru_cache(maxsize=1)
def _matchers() -> dict[str, Callable[[str], bool]]:
    """`_classes()[name].fullmatch(word) is not None` for each class, by name in the same order,
    trying only the lexicon entries that can begin where the match must. Why: a cold run
    classifies every new word, and trying each list's hundreds of entries at every position
    (the say nouns may begin anywhere in a compound) was as much as the rest of the layer."""
    from toolkit.lexicon.active import load_lexicon

    lx = load_lexicon()
    full = _classes()
    cue = _by_first([e for n in _CUE_LISTS for e in lx.lists[n].entries], re.IGNORECASE)
    konj = _by_first([*lx.lists["konjunktiv_i"].entries, *lx.lists["konjunktiv_ii"].entries], 0)
    role = _by_first(lx.lists["role_nouns"].entries, 0)
    say_entries = [*lx.lists["say_nouns"].entries, *lx.lists["speech_nouns"].entries]
    say = _by_first(say_entries, 0)
    ends = [_edge_chars(_parser.parse(e), last=True) for e in say_entries]
    say_ends = None if any(e is None for e in ends) else set().union(*ends)  # type: ignore[arg-type]

    def at_start(table: tuple[dict[str, re.Pattern[str]], re.Pattern[str] | None], name: str,
                 fold: bool) -> Callable[[str], bool]:
        keyed, rest = table

        def matches(word: str) -> bool:
            if fold and word[:1] not in _SAFE:
                return full[name].fullmatch(word) is not None
            p = keyed.get(word[:1].lower() if fold else word[:1], rest)
            return p is not None and p.fullmatch(word) is not None
        return matches

    def says(word: str) -> bool:
        if say[1] is not None:  # an entry that may begin anywhere: no shortcut
            return full["say"].fullmatch(word) is not None
        if say_ends is not None and word[-1] not in say_ends:
            return False
        keyed = say[0]
        return any(word[i] in keyed and keyed[word[i]].fullmatch(word, i) is not None
                   for i in range(min(_SAY_HEAD.match(word).end() + 1, len(word))))  # type: ignore[union-attr]
    return {"cue": at_start(cue, "cue", True), "konj": at_start(konj, "konj", False),
            "role": at_start(role, "role", False), "say": says}


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
    for name, matches in _matchers().items():
        if matches(word):
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

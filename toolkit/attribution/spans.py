"""Spans and the small records the quote finders yield, with the offset helpers they share.

Every span is a true (start, end) offset into the normalised article text, so a record's text
is always ``article[start:end]``.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

Span = tuple[int, int]

WORD = re.compile(r"[\wÄÖÜäöüß-]+")


@dataclass
class Frame:
    """Where a quote's speaker and cue were found, all as absolute offsets."""

    cue: Span | None = None
    mention: Span | None = None
    kind: str = "none"  # after | before | dass | clause | zu | trailing | prep | anaphoric | continuation | none


@dataclass
class QuoteSpan:
    """One quote: its span, type (direct | indirect | mixed), frame, flags and quoted fragments."""

    start: int
    end: int
    type: str
    frame: Frame
    flags: list[str] = field(default_factory=list)
    fragments: list[Span] = field(default_factory=list)


def inside(span: Span, spans: Iterable[Span]) -> bool:
    if isinstance(spans, (SpanList, Claimed)):
        return spans.contains(span)
    return any(s <= span[0] and span[1] <= e for s, e in spans)


def overlaps(span: Span, spans: Iterable[Span]) -> bool:
    if isinstance(spans, (SpanList, Claimed)):
        return spans.overlaps(span)
    return any(s < span[1] and span[0] < e for s, e in spans)


def strip_final_punct(text: str, s: int, e: int) -> Span:
    """A content span without the sentence's final punctuation and leading commas or spaces."""
    while e > s and text[e - 1] in " .;:!?":
        e -= 1
    while s < e and text[s] in " ,":
        s += 1
    return s, e


_WORD_BEFORE = re.compile(r"\s*([\wÄÖÜäöüß]+)")
_WORD_BEFORE_HYPHEN = re.compile(r"\s*([\wÄÖÜäöüß-]+)")


def word_before(text: str, lo: int, hi: int, hyphen: bool = False) -> str | None:
    """The word `([\\wÄÖÜäöüß]+)\\s*$` (with "-" among its characters if `hyphen`) finds in
    text[lo:hi]: the last word of the stretch when only white space follows it, cut at `lo`.
    Read from the end (one `match` on the reversed stretch: the white space, then the word, both
    greedy), where the search tries the pattern at every position and backtracks at each."""
    m = (_WORD_BEFORE_HYPHEN if hyphen else _WORD_BEFORE).match(text[lo:hi][::-1])
    return m.group(1)[::-1] if m is not None else None


def holds(text: str, s: int, e: int, *literals: str) -> bool:
    """Whether text[s:e] contains one of `literals` (`str.find`, no copy): a pattern that cannot
    match without one of them need not be run where this is false."""
    for lit in literals:
        if text.find(lit, s, e) >= 0:
            return True
    return False


def skip_space(text: str, i: int, limit: int) -> int:
    while i < limit and text[i].isspace():
        i += 1
    return i


def first_word(text: str, i: int, limit: int) -> tuple[str, int, int] | None:
    """The word at or after i (after white space), with its offsets."""
    i = skip_space(text, i, limit)
    w = WORD.match(text, i, limit)
    return (w.group(), w.start(), w.end()) if w else None


def sentence_of(sentences: Sequence[Span], pos: int) -> int:
    """Index of the sentence holding pos; for a position in a gap, the next sentence."""
    if isinstance(sentences, SpanList) and sentences.ordered:
        # The same answer by bisection: the first sentence holding pos, else the next one.
        k = sentences.first_holding(pos)
        if k >= 0:
            return k
        if sentences and pos == sentences.ends[-1]:
            return len(sentences) - 1
        k = bisect_right(sentences.starts, pos)
        return k if k < len(sentences) else len(sentences) - 1
    for k, (s, e) in enumerate(sentences):
        if s <= pos < e or (pos == e and k == len(sentences) - 1):
            return k
    for k, (s, _e) in enumerate(sentences):
        if pos < s:
            return k
    return len(sentences) - 1


class SpanList(Sequence[Span]):
    """Spans in text order (sentences, quote marks, quotes) with their starts and ends kept apart, so
    that the spans overlapping or inside a stretch are found by bisection, not by a scan over all of
    them: the per-sentence and per-quote look-ups of a long article or of a paragraph of thousands
    of quotes stay O(log n) each instead of O(n).

    The range look-ups need starts and ends that never decrease, as sentences, top-level quote marks
    and the quotes of an article have; for any other list they fall back to the plain scan, so the
    answer is the same either way. `overlaps` and `contains` hold for any spans (a start-sorted copy
    with the running maximum of the ends)."""

    def __init__(self, spans: Iterable[Span]) -> None:
        self._spans = tuple(spans)
        self.starts = [s for s, _ in self._spans]
        self.ends = [e for _, e in self._spans]
        self.ordered = self.starts == sorted(self.starts) and self.ends == sorted(self.ends)
        if self.ordered:
            # Starts and ends never decrease: the spans are their own start-sorted copy, and the
            # running maximum of the ends is the ends (this is the common case, and cheaper).
            self._sorted_starts, self._max_end = self.starts, self.ends
            return
        by_start = sorted(self._spans)
        self._sorted_starts = [s for s, _ in by_start]
        self._max_end = list(accumulate((e for _, e in by_start), max))

    def __len__(self) -> int:
        return len(self._spans)

    def __getitem__(self, k):  # type: ignore[override]  # int or slice, as a tuple has them
        return self._spans[k]

    def __iter__(self) -> Iterator[Span]:
        return iter(self._spans)

    def overlapping(self, lo: int, hi: int) -> Sequence[int]:
        """Indices, in order, of the spans (s, e) with s < hi and lo < e."""
        if self.ordered:
            return range(bisect_right(self.ends, lo), bisect_left(self.starts, hi))
        return [k for k, (s, e) in enumerate(self._spans) if s < hi and lo < e]

    def within(self, lo: int, hi: int) -> Sequence[int]:
        """Indices, in order, of the spans (s, e) with lo <= s and e <= hi."""
        if self.ordered:
            return range(bisect_left(self.starts, lo), bisect_right(self.ends, hi))
        return [k for k, (s, e) in enumerate(self._spans) if lo <= s and e <= hi]

    def starting_in(self, lo: int, hi: int) -> Sequence[int]:
        """Indices, in order, of the spans (s, e) with lo <= s < hi."""
        if self.ordered:
            return range(bisect_left(self.starts, lo), bisect_left(self.starts, hi))
        return [k for k, (s, _e) in enumerate(self._spans) if lo <= s < hi]

    def first_holding(self, pos: int) -> int:
        """Index of the first span (s, e) with s <= pos < e, -1 if there is none."""
        if self.ordered:
            k = bisect_right(self.ends, pos)
            return k if k < bisect_right(self.starts, pos) else -1
        return next((k for k, (s, e) in enumerate(self._spans) if s <= pos < e), -1)

    def last_ending_by(self, pos: int) -> int:
        """Index of the last span (s, e) with e <= pos, -1 if there is none."""
        if self.ordered:
            return bisect_right(self.ends, pos) - 1
        return max((k for k, (_s, e) in enumerate(self._spans) if e <= pos), default=-1)

    def overlaps(self, span: Span) -> bool:
        """`_overlaps(span, spans)`: some span (s, e) has s < span[1] and span[0] < e."""
        k = bisect_left(self._sorted_starts, span[1])
        return k > 0 and self._max_end[k - 1] > span[0]

    def contains(self, span: Span) -> bool:
        """`_inside(span, spans)`: some span (s, e) has s <= span[0] and span[1] <= e."""
        k = bisect_right(self._sorted_starts, span[0])
        return k > 0 and self._max_end[k - 1] >= span[1]


def span_index(spans: Sequence[Span]) -> SpanList:
    """`spans` as a SpanList: itself when it is one already (an index built once per paragraph),
    else a fresh one, so a finder called with a plain list gives the same answers."""
    return spans if isinstance(spans, SpanList) else SpanList(spans)


class Claimed(Sequence[Span]):
    """The spans a paragraph's quotes have claimed so far. `detect_quotes` claims only a span that
    overlaps none of them, so they stay disjoint and, kept sorted by start, their ends are sorted
    too: every question below is one bisection, not a scan over thousands of quotes. As a sequence
    it holds the claimed spans in text order."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, k):  # type: ignore[override]  # int or slice, as a list has them
        if isinstance(k, slice):
            return list(zip(self.starts[k], self.ends[k]))
        return self.starts[k], self.ends[k]

    def __iter__(self) -> Iterator[Span]:
        return zip(self.starts, self.ends)

    def add(self, span: Span) -> None:
        """Claim a span that overlaps none claimed so far (the caller checks)."""
        k = bisect_left(self.starts, span[0])
        self.starts.insert(k, span[0])
        self.ends.insert(k, span[1])

    def overlaps(self, span: Span) -> bool:
        """`overlaps(span, claimed)`: some claimed (s, e) has s < span[1] and span[0] < e."""
        k = bisect_left(self.starts, span[1])
        return k > 0 and self.ends[k - 1] > span[0]

    def contains(self, span: Span) -> bool:
        """`inside(span, claimed)`: some claimed (s, e) has s <= span[0] and span[1] <= e."""
        k = bisect_right(self.starts, span[0])
        return k > 0 and self.ends[k - 1] >= span[1]

    def starts_between(self, lo: int, hi: int) -> bool:
        """Some claimed span starts strictly between lo and hi."""
        k = bisect_right(self.starts, lo)
        return k < len(self.starts) and self.starts[k] < hi

"""Spans and the small records the quote finders yield, with the offset helpers they share.

Every span is a true (start, end) offset into the normalised article text, so a record's text
is always ``article[start:end]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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


def inside(span: Span, spans: list[Span]) -> bool:
    return any(s <= span[0] and span[1] <= e for s, e in spans)


def overlaps(span: Span, spans: list[Span]) -> bool:
    return any(s < span[1] and span[0] < e for s, e in spans)


def strip_final_punct(text: str, s: int, e: int) -> Span:
    """A content span without the sentence's final punctuation and leading commas or spaces."""
    while e > s and text[e - 1] in " .;:!?":
        e -= 1
    while s < e and text[s] in " ,":
        s += 1
    return s, e


def skip_space(text: str, i: int, limit: int) -> int:
    while i < limit and text[i].isspace():
        i += 1
    return i


def first_word(text: str, i: int, limit: int) -> tuple[str, int, int] | None:
    """The word at or after i (after white space), with its offsets."""
    i = skip_space(text, i, limit)
    w = WORD.match(text, i, limit)
    return (w.group(), w.start(), w.end()) if w else None


def sentence_of(sentences: list[Span], pos: int) -> int:
    """Index of the sentence holding pos; for a position in a gap, the next sentence."""
    for k, (s, e) in enumerate(sentences):
        if s <= pos < e or (pos == e and k == len(sentences) - 1):
            return k
    for k, (s, _e) in enumerate(sentences):
        if pos < s:
            return k
    return len(sentences) - 1

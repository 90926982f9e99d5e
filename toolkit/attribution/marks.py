"""Quotation marks: pairing them into quoted stretches, and telling speech from scare quotes.

A small state machine pairs the marks, accepting the mismatched pairs real articles publish
(„…” as well as „…“); an opener that never closes runs to the paragraph end and is flagged
(`balanced=False`), never fatal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from toolkit.attribution.spans import Span

# Opening mark -> accepted closing marks.
OPENERS: dict[str, str] = {
    "„": "“”\"",
    "“": "”",
    "\"": "\"",
    "«": "»",
    "»": "«",
    "‚": "‘’",
    "‹": "›",
    "›": "‹",
}
ALL_MARKS = set(OPENERS) | {"”", "’", "‘"}
#: One of ALL_MARKS: the pairing loop jumps from mark to mark instead of stepping through every character.
_MARK = re.compile("[" + re.escape("".join(sorted(ALL_MARKS))) + "]")


@dataclass
class QuoteMark:
    """A quoted stretch between two marks (inclusive of the marks)."""

    start: int
    end: int
    balanced: bool = True

    @property
    def inner(self) -> Span:
        return (self.start + 1, self.end - 1 if self.balanced else self.end)


def find_quote_marks(text: str, start: int, end: int) -> list[QuoteMark]:
    """Top-level quoted stretches in text[start:end]; unbalanced openers run to the paragraph end.

    „Wir sind bereit“ and „Wir sind bereit” are both one quote; the apostrophe in "Peking’s" or
    "geht’s" is not a mark; a straight quote opens only before a non-space character.
    """
    out: list[QuoteMark] = []
    stack: list[tuple[str, int]] = []
    for m in _MARK.finditer(text, start, end):
        i = m.start()
        ch = text[i]
        prev = text[i - 1] if i > start else " "
        nxt = text[i + 1] if i + 1 < end else " "
        if ch in "’‘" and prev.isalnum():
            continue
        if stack and ch in OPENERS[stack[-1][0]]:
            _opener, pos = stack.pop()
            if not stack:
                out.append(QuoteMark(pos, i + 1))
        elif ch in OPENERS and not (ch == "\"" and stack and stack[-1][0] == "\""):
            if ch == "\"" and (nxt.isspace() or i + 1 >= end):
                continue
            if ch in "’‘":
                continue
            stack.append((ch, i))
    if stack:
        pos = stack[0][1]
        out.append(QuoteMark(pos, end, balanced=False))
    return out


def is_speechlike(text: str, mark: QuoteMark) -> bool:
    """Long or sentence-like quoted stretches are speech; one or two words are scare quotes."""
    s, e = mark.inner
    inner = text[s:e].strip()
    words = inner.split()
    if len(words) >= 5:
        return True
    return len(words) >= 3 and bool(re.search(r"[.!?,]$", inner))

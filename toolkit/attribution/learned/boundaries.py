"""Decision (a): where a kept message starts and ends.

Why: a quarter of the rules' errors on SpkAtt are right events with wrong boundaries (`dass`
in or out, a trailing `, so X` frame, the end of a clause followed by another one). The rules'
own boundary is one option among the plausible token positions nearby (after a comma or a
quote mark, at a subordinator, at the sentence edge); a classifier scores each option and the
best one wins, separately for the start and the end.
"""

from __future__ import annotations

from toolkit.attribution.learned.speech import Candidate
from toolkit.attribution.learned.view import ArticleView

WINDOW = 12
SUBORDINATORS = frozenset({"dass", "daß", "ob", "wie", "weil", "wenn", "damit", "da", "wonach", "man", "es"})
_EDGE = frozenset({"punct", "quote"})


def _delta(d: int) -> str:
    return str(d) if -3 <= d <= 3 else ("-far" if d < 0 else "+far")


def start_options(view: ArticleView, c: Candidate) -> list[int]:
    """Token positions where the message could start: the rule's start and the plausible ones near it."""
    sa, _ = view.sentences[view.sentence_of(c.first)] if view.sentences else (c.first, c.last)
    lo, hi = max(sa, c.first - WINDOW), min(c.last, c.first + WINDOW)
    out = [c.first]
    for t in range(lo, hi + 1):
        if t != c.first and (t == sa or view.cls(t - 1) in _EDGE or view.cls(t) == "quote"
                             or view.word(t - 1) in SUBORDINATORS or view.word(t) in SUBORDINATORS):
            out.append(t)
    return out


def end_options(view: ArticleView, c: Candidate) -> list[int]:
    """Token positions where the message could end (its last token)."""
    _, sb = view.sentences[view.sentence_of(c.last)] if view.sentences else (c.first, c.last)
    lo, hi = max(c.first, c.last - WINDOW), min(sb, c.last + WINDOW)
    out = [c.last]
    for t in range(lo, hi + 1):
        if t != c.last and (t == sb or view.cls(t + 1) in _EDGE or view.cls(t) in _EDGE):
            out.append(t)
    return out


def start_features(view: ArticleView, c: Candidate, t: int) -> list[str]:
    d = _delta(t - c.first)
    return [f"d={d}", f"k={c.kind}&d={d}", f"w={view.word(t)}", f"w-1={view.word(t - 1)}", f"c={view.cls(t)}",
            f"c-1={view.cls(t - 1)}", f"c-1c={view.cls(t - 1)}&{view.cls(t)}", f"k={c.kind}&w-1={view.word(t - 1)}",
            f"w-2={view.word(t - 2)}", f"cue_before={c.cue is not None and c.cue[1] < t}",
            f"q={c.quote.type if c.quote else 'none'}&d={d}"]


def end_features(view: ArticleView, c: Candidate, t: int) -> list[str]:
    d = _delta(t - c.last)
    return [f"d={d}", f"k={c.kind}&d={d}", f"w={view.word(t)}", f"w+1={view.word(t + 1)}", f"c={view.cls(t)}",
            f"c+1={view.cls(t + 1)}", f"cc+1={view.cls(t)}&{view.cls(t + 1)}", f"k={c.kind}&w+1={view.word(t + 1)}",
            f"w+2={view.word(t + 2)}", f"k={c.kind}&w={view.word(t)}",
            f"q={c.quote.type if c.quote else 'none'}&d={d}"]

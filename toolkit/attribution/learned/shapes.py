"""Longer source options: a noun phrase with its tails, and the features that tell them apart.

Why: SpkAtt marks a source as the whole phrase that names it — `Ein Sprecher der Polizei,
Lars Beringer`, `die französische Aufsichtsbehörde für Zivilluftfahrt (DGAC)`, `das
Bundesministerium für Bildung und Forschung` — and its metric counts the source's tokens, so an
option ending at the head noun keeps its precision but loses most of the recall. On folds 1-4,
224 paired gold sources overlapped an option without being one, most of them in these shapes
(docs/evaluation.md, fifth round). Each tail here is one more option: the ranker decides, from
the shape features, how far the phrase goes.
"""

from __future__ import annotations

from collections.abc import Callable
from weakref import WeakKeyDictionary

from toolkit.attribution.learned.view import ArticleView, Span

#: Prepositions that attach a phrase to the source (`der Sprecher der Polizei in Berlin`).
PREPOSITIONS = frozenset({"in", "im", "von", "vom", "für", "aus", "bei", "beim", "am", "an", "auf", "zur", "zum",
                          "mit", "um", "gegen", "über"})
COORDINATORS = frozenset({"und", "sowie", "oder"})
APPOSITION = frozenset({",", "–", "-", "—"})
_STARTS = frozenset({"det", "cap", "role", "say", "low"})
#: Most tails one noun phrase offers (each tail is one more option to score).
MAX_TAILS = 3
#: Tokens a bracket or a quoted name may span.
_SPAN = 8

#: ArticleView -> span -> `span_shape` (`known_shapes`).
_KNOWN: WeakKeyDictionary[ArticleView, dict[Span, tuple[str, str, str]]] = WeakKeyDictionary()
#: The tail markers `span_shape` reports, each with the words that make it.
_MARKS = ((",", APPOSITION), ("(", frozenset("(")), ("p", PREPOSITIONS), ("&", COORDINATORS))

NounPhrase = Callable[[ArticleView, int, int], "int | None"]


def _closing(view: ArticleView, i: int, stop: int, closers: frozenset[str]) -> int | None:
    """Index of the first closer after i, within _SPAN tokens and before stop, or None."""
    for j in range(i + 1, min(i + _SPAN, stop)):
        if view.words[j] in closers:
            return j
    return None


def _unit(view: ArticleView, i: int, stop: int, np_end: NounPhrase) -> int | None:
    """Last token of what a tail attaches at token i: a noun phrase, or a quoted name
    (`die „Bild“-Zeitung`, `„Aktion Deutschland hilft“`) with an optional determiner before it."""
    if i >= stop:
        return None
    j = i + 1 if view.classes[i] == "det" and i + 1 < stop else i
    if view.classes[j] == "quote":
        close = _closing(view, j, stop, frozenset("“”\"«»‘’'"))
        if close is not None:
            return np_end(view, close + 1, stop) if close + 2 < stop and view.words[close + 1] == "-" else close
    return np_end(view, i, stop) if view.classes[i] in _STARTS else None


def _tail(view: ArticleView, e: int, stop: int, np_end: NounPhrase) -> int | None:
    """The end of one tail after token e: a bracket (`(DGAC)`), a prepositional phrase, an
    apposition after a comma or dash, or a coordinated phrase; None if no tail starts at e + 1."""
    n = e + 1
    if n + 1 >= stop:
        return None
    w = view.lower[n]
    if w == "(":
        return _closing(view, n, stop, frozenset(")"))
    if w in PREPOSITIONS or w in COORDINATORS or w in APPOSITION:
        return _unit(view, n + 1, stop, np_end)
    return None


def tails(view: ArticleView, end: int, stop: int, np_end: NounPhrase) -> list[int]:
    """Ends of the longer shapes of the noun phrase ending at `end` (at most MAX_TAILS, each
    one tail further than the one before), none reaching `stop`."""
    out: list[int] = []
    e = end
    while len(out) < MAX_TAILS:
        nxt = _tail(view, e, stop, np_end)
        if nxt is None or nxt <= e:
            break
        out.append(nxt)
        e = nxt
    return out


def known_shapes(view: ArticleView) -> dict[Span, tuple[str, str, str]]:
    """The article's spans whose `span_shape` is known (a scorer looks them up first)."""
    held = _KNOWN.get(view)
    if held is None:
        held = _KNOWN[view] = {}
    return held


def span_shape(view: ArticleView, a: int, b: int) -> tuple[str, str, str]:
    """The tail markers after the span's first token (`,` `(` `p` preposition `&`
    coordination), its capitalised words (0-3+) and its length beyond six tokens; cached per
    article (`known_shapes`)."""
    known = known_shapes(view)
    got = known.get((a, b))
    if got is None:
        marks = ""
        if b > a:
            inner = set(view.lower[a + 1:b + 1])
            marks = "".join(m for m, words in _MARKS if not inner.isdisjoint(words))
        n = b - a + 1
        long = "short" if n < 6 else "6-8" if n < 9 else "9-12" if n < 13 else "13+"
        got = known[(a, b)] = (marks, str(min(view.classes[a:b + 1].count("cap"), 3)), long)
    return got


def mention_rel(option: Span, mention: Span | None) -> str:
    """How an option relates to the rules' mention: is it, holds it, overlaps it, apart, or no mention."""
    if mention is None:
        return "nomention"
    a, b = option
    if option == mention:
        return "is"
    if a <= mention[0] and mention[1] <= b:
        return "holds"
    return "overlaps" if a <= mention[1] and mention[0] <= b else "apart"


def shape_values(view: ArticleView, option: Span, mention: Span | None) -> tuple[str, str, str, str]:
    """What tells the shapes of one option apart: `span_shape` and `mention_rel`."""
    return (*span_shape(view, *option), mention_rel(option, mention))


SHAPE_PREFIXES = ("shp", "ncap", "long", "mrel")


def shape_features(view: ArticleView, option: Span, mention: Span | None) -> list[str]:
    """`shape_values` as feature strings, plain and the markers crossed with the mention relation."""
    marks, caps, long, rel = shape_values(view, option, mention)
    return [f"shp={marks}", f"ncap={caps}", f"long={long}", f"mrel={rel}", f"shp&mrel={marks}&{rel}"]


#: Prepositions SpkAtt keeps inside a source (`von Schröder`, `im Abschlussbericht`).
LEADING = frozenset({"von", "vom", "bei", "beim", "im", "in"})
_GEN = frozenset({"der", "des", "eines", "einer", "von"})


def lead_spans(view: ArticleView, t: int, stop: int, np_end: NounPhrase) -> list[Span]:
    """Options that start where no noun phrase does: a leading preposition (`von Schröder`) and
    a capitalised cue noun with its genitive (`Angaben der Hilfsorganisation`), with their tails."""
    w = view.lower[t]
    if t + 1 >= stop:
        return []
    if w in LEADING:
        end = _unit(view, t + 1, stop, np_end)
    elif view.classes[t] == "cue" and view.words[t][:1].isupper() and view.lower[t + 1] in _GEN:
        end = _unit(view, t + 2, stop, np_end)
    else:
        return []
    return [] if end is None else [(t, e) for e in (end, *tails(view, end, stop, np_end))]

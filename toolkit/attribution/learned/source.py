"""Decision (b): which mention is the message's source (or none).

Why: the rules take the source from the frame they matched; a frameless direct quote, a free
indirect sentence or an extra sentence candidate has none, and SpkAtt's source is then a pronoun
or the subject of a nearby sentence. The options are the rule's mention, every pronoun and
noun phrase (determiner, adjectives, nouns, a genitive chain) in the candidate's sentence and the
one before (inside the message too: a sentence candidate holds its frame), and "no source"; a classifier scores each, the best one wins.
"""

from __future__ import annotations

from toolkit.attribution.learned.speech import Candidate
from toolkit.attribution.learned.view import ArticleView, Span

NONE: Span = (-1, -1)
_NOUNISH = frozenset({"cap", "role", "say"})
_GENITIVE = frozenset({"des", "der"})
#: Classes a noun phrase can start with (_noun_phrase is None at any other token).
_NP_START = _NOUNISH | {"det", "low"}


def _noun_phrase(view: ArticleView, t: int, stop: int) -> int | None:
    """Last token of a noun phrase starting at t (None if none starts there)."""
    i = t
    if view.cls(i) == "det":
        i += 1
    while i < stop and view.cls(i) == "low" and view.lower[i].endswith(("e", "en", "er", "es")):
        i += 1
    if i >= stop or view.cls(i) not in _NOUNISH:
        return None
    while i + 1 < stop and view.cls(i + 1) in _NOUNISH:
        i += 1
    while i + 2 < stop and view.lower[i + 1] in _GENITIVE and view.cls(i + 2) in _NOUNISH | {"low"}:
        j = _noun_phrase(view, i + 2, stop)
        if j is None:
            break
        i = j
    return i


def source_options(view: ArticleView, c: Candidate) -> list[Span]:
    """NONE, the rule's mention, and the pronouns and noun phrases around the message."""
    out: list[Span] = [NONE]
    if c.mention is not None:
        out.append(c.mention)
    if view.sentences:
        lo = view.sentences[max(view.sentence_of(c.first) - 1, 0)][0]
        hi = view.sentences[view.sentence_of(c.last)][1] + 1
    else:
        lo, hi = max(c.first - 30, 0), min(c.last + 31, len(view))
    seen = set(out)
    t = lo
    while t < hi:
        stop = c.first if t < c.first else hi
        spans: list[Span] = []
        if view.classes[t] == "pron":
            spans.append((t, t))
        end = _noun_phrase(view, t, stop) if view.classes[t] in _NP_START else None
        if end is not None:
            spans.append((t, end))
            if view.classes[t] == "det" and end > t + 1:
                spans.append((t + 1, end))
        for sp in spans:
            if sp not in seen:
                seen.add(sp)
                out.append(sp)
        t += 1
    return out


def source_features(view: ArticleView, c: Candidate, option: Span) -> list[str]:
    """Where the option is relative to message and cue, its words and edges."""
    return source_rows(view, c, [option])[0]


def source_rows(view: ArticleView, c: Candidate, options: list[Span]) -> list[list[str]]:
    """`source_features` of each option; what depends on the candidate alone is built once."""
    kind, c_first, c_last, sents = c.kind, c.first, c.last, view.sentences
    base = [f"kind={kind}"]
    none = base + ["none", f"none&kind={kind}", f"none&hasmention={c.mention is not None}",
                   f"none&q={c.quote.type if c.quote else 'sentence'}"]
    s_first = view.sentence_of(c_first)
    word, cls, sentence_of = view.word, view.cls, view.sentence_of
    rows = []
    for option in options:
        if option == NONE:
            rows.append(list(none))
            continue
        a, b = option
        rel = "before" if b < c_first else "after" if a > c_last else "inside"
        sa_i = sentence_of(a)
        ds = sa_i - s_first
        dist = c_first - b if rel == "before" else a - c_last if rel == "after" else 0
        dist_s = str(dist) if dist < 4 else "4-7" if dist < 8 else "8+"
        sa = sents[sa_i][0] if sents else 0
        is_rule = option == c.mention
        feats = base + [f"rule={is_rule}", f"rule&kind={is_rule}&{kind}", f"rel={rel}", f"rel&ds={rel}&{ds}",
                        f"dist={dist_s}", f"rel&dist={rel}&{dist_s}", f"w0={word(a)}", f"c0={cls(a)}",
                        f"wl={word(b)}", f"cl={cls(b)}", f"w-1={word(a - 1)}", f"c-1={cls(a - 1)}",
                        f"w+1={word(b + 1)}", f"c+1={cls(b + 1)}", f"len={min(b - a + 1, 6)}",
                        f"sinit={a == sa}", f"kind&rel={kind}&{rel}"]
        if c.cue is not None:
            cd = a - c.cue[1] if a > c.cue[1] else b - c.cue[0]
            feats.append(f"cue_d={max(min(cd, 4), -4)}")
        rows.append(feats)
    return rows

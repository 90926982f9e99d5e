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
        end = _noun_phrase(view, t, stop)
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
    base = [f"kind={c.kind}"]
    if option == NONE:
        return base + ["none", f"none&kind={c.kind}", f"none&hasmention={c.mention is not None}",
                       f"none&q={c.quote.type if c.quote else 'sentence'}"]
    a, b = option
    rel = "before" if b < c.first else "after" if a > c.last else "inside"
    ds = view.sentence_of(a) - view.sentence_of(c.first)
    dist = c.first - b if rel == "before" else a - c.last if rel == "after" else 0
    dist_s = str(dist) if dist < 4 else "4-7" if dist < 8 else "8+"
    sa = view.sentences[view.sentence_of(a)][0] if view.sentences else 0
    is_rule = option == c.mention
    feats = base + [f"rule={is_rule}", f"rule&kind={is_rule}&{c.kind}", f"rel={rel}", f"rel&ds={rel}&{ds}",
                    f"dist={dist_s}", f"rel&dist={rel}&{dist_s}", f"w0={view.word(a)}", f"c0={view.cls(a)}",
                    f"wl={view.word(b)}", f"cl={view.cls(b)}", f"w-1={view.word(a - 1)}", f"c-1={view.cls(a - 1)}",
                    f"w+1={view.word(b + 1)}", f"c+1={view.cls(b + 1)}", f"len={min(b - a + 1, 6)}",
                    f"sinit={a == sa}", f"kind&rel={c.kind}&{rel}"]
    if c.cue is not None:
        cd = a - c.cue[1] if a > c.cue[1] else b - c.cue[0]
        feats.append(f"cue_d={max(min(cd, 4), -4)}")
    return feats

"""Context across sentences for the speech and source decisions (issue 14, fourth round).

Why: the third round's error analysis found that a sentence's own words do not separate
SpkAtt's speech sentences from the rest (about 290 proposed gold events rejected on folds 1-4),
and that the rules leave many quotes without a mention although gold has a source for most of
them. Reported speech runs on across sentences: a sentence right after a quote, opening with
`Er` or `Zudem`, in a paragraph whose speaker was just named, is likelier speech, and its source
likelier the previous quote's. The context here is taken from the rules' quotes only (never from
the layer's own decisions), so training on it needs no out-of-fold care: the rules give the same
context at training and at extraction time.
"""

from __future__ import annotations

from collections.abc import Sequence

from toolkit.attribution.learned.speech import Candidate
from toolkit.attribution.learned.view import ArticleView, Span

#: Sentence openers that continue reported speech ("Er", "Zudem", "Außerdem", "Dabei", ...).
CONTINUERS = frozenset({"er", "sie", "zudem", "außerdem", "dabei", "auch", "so", "demnach", "allerdings", "jedoch",
                        "weiter", "ferner", "darüber", "dies", "das", "man", "dieser", "diese", "zugleich",
                        "gleichzeitig", "ebenso", "daher", "deshalb", "denn", "aber", "nach", "laut", "wir", "ich",
                        "es", "damit", "dann", "vielmehr", "stattdessen", "trotzdem", "schließlich"})


def _dist(d: int | None) -> str:
    return "none" if d is None else str(d) if d < 3 else "3+"


class Context:
    """What the rules' quotes around one candidate say: the latest quote before it, the next one
    after it, the latest named source, paragraph position and the previous sentence's mood."""

    def __init__(self, view: ArticleView, c: Candidate, prev: Candidate | None, nxt: Candidate | None,
                 named: Candidate | None, para_pos: int) -> None:
        si = view.sentence_of(c.first)
        self.pq = None if prev is None else si - view.sentence_of(prev.last)
        self.nq = None if nxt is None else view.sentence_of(nxt.first) - view.sentence_of(c.last)
        self.prev_type = "none" if prev is None or prev.quote is None else prev.quote.type
        self.prev_mention = None if prev is None or prev.mention is None else view.cls(prev.mention[0])
        self.same_para = prev is not None and prev.para == c.para
        #: The latest rule mention before the candidate, its sentence distance and its head word.
        self.named: Span | None = None if named is None else named.mention
        self.named_d = None if named is None else si - view.sentence_of(named.last)
        self.named_para = named is not None and named.para == c.para
        self.head = None if self.named is None else view.lower[self.named[1]]
        sa, sb = view.sentences[si] if view.sentences else (c.first, c.last)
        self.head_here = self.head is not None and self.head in view.lower[sa:sb + 1]
        self.para_pos = para_pos
        pa, pb = view.sentences[si - 1] if si > 0 and view.sentences else (0, -1)
        self.prev_konj = "konj" in view.classes[pa:pb + 1]
        opener = view.word(sa)
        self.opener = opener if c.first == sa and opener in CONTINUERS else None
        self.for_speech = self.for_source = True
        self.flags: frozenset[str] = frozenset()

    def speech_features(self, kind: str) -> list[str]:
        """Feature strings for the speech decision (also crossed with the candidate's kind: a rule
        quote and an extra sentence candidate read the same context differently)."""
        pq = _dist(self.pq)
        flags = self.flags
        if "speech_sent" in flags and kind != "sentence":
            return []
        if "small" in flags:
            feats = [f"pq={pq}", f"pkonj={self.prev_konj}", f"named={_dist(self.named_d)}"]
            if self.opener is not None:
                feats.append(f"cont&pq={pq}")
        else:
            feats = [f"pq={pq}", f"pq={pq}&{self.prev_type}", f"pq={pq}&src={self.prev_mention}", f"nq={_dist(self.nq)}",
                     f"pq&para={pq}&{self.same_para}", f"ppos={min(self.para_pos, 3)}", f"pkonj={self.prev_konj}",
                     f"pkonj&pq={self.prev_konj}&{pq}", f"named={_dist(self.named_d)}&{self.named_para}",
                     f"head_here={self.head_here}&{_dist(self.named_d)}"]
            if self.opener is not None:
                feats += ["cont", f"cont={self.opener}", f"cont&pq={pq}", f"cont&pkonj={self.prev_konj}"]
        if "nocross" in flags:
            return feats
        return feats + [f"{kind}|{f}" for f in feats]


def annotate(view: ArticleView, cands: Sequence[Candidate], para_of: Sequence[int], speech: bool = True,
             source: bool = True, flags: frozenset[str] = frozenset()) -> None:
    """Set `ctx` on every candidate (in text order) from the rule quotes among them; `speech` and
    `source` say which decisions read it."""
    rules = [c for c in cands if c.quote is not None]
    first_of_para: dict[int, int] = {}
    for si, p in enumerate(para_of):
        first_of_para.setdefault(p, si)
    j, named = 0, None
    for c in cands:
        while j < len(rules) and rules[j].last < c.first:
            if rules[j].mention is not None:
                named = rules[j]
            j += 1
        prev = rules[j - 1] if j else None
        k = j
        while k < len(rules) and rules[k].first <= c.last:
            k += 1
        nxt = rules[k] if k < len(rules) else None
        si = view.sentence_of(c.first)
        c.ctx = Context(view, c, prev, nxt, named, si - first_of_para.get(c.para, si))
        c.ctx.for_speech, c.ctx.for_source, c.ctx.flags = speech, source, flags


def source_context(view: ArticleView, c: Candidate, option: Span) -> list[str]:
    """Context features of one source option (NONE is (-1, -1)): is it the latest named source
    or the same entity (its head word), how far back that source was, and for "no source"
    whether the quote before had one. Empty without context for sources."""
    ctx = getattr(c, "ctx", None)
    if ctx is None or not ctx.for_source:
        return []
    d = _dist(ctx.named_d)
    if option[0] < 0:
        return [f"cx_none&pq={_dist(ctx.pq)}&{ctx.prev_mention is not None}", f"cx_none&named={d}&{ctx.named_para}",
                f"cx_none&cont={ctx.opener is not None}"]
    a, b = option
    if ctx.head is None:
        return ["cx_nonamed"]
    feats = [f"cx_ent={view.lower[b] == ctx.head}&{d}", f"cx_isnamed={option == ctx.named}&{d}&{ctx.named_para}"]
    if view.classes[a] == "pron":
        feats.append(f"cx_pron={view.lower[a]}&{d}")
    return feats


def named_option(c: Candidate) -> Span | None:
    """The latest named source as an extra option for a quote the rules gave no mention (at most
    three sentences back, within the paragraph), or None."""
    ctx = getattr(c, "ctx", None)
    if ctx is None or not ctx.for_source or c.mention is not None or ctx.named is None or "no_opt" in ctx.flags:
        return None
    return ctx.named if ctx.named_para and ctx.named_d is not None and ctx.named_d <= 3 else None


def _p(p: float) -> str:
    return "lo" if p < 0.2 else "mid" if p < 0.5 else "hi" if p < 0.8 else "top"


def neighbour_features(view: ArticleView, cands: Sequence[Candidate], probs: Sequence[float], i: int) -> list[str]:
    """Second-pass speech features of candidate i: its own first-pass score and those of the
    candidates before and after it, with their sentence distance and whether each is a rule quote."""
    c = cands[i]
    kind = "rule" if c.quote is not None else "sentence"
    feats = [f"s1={_p(probs[i])}&{kind}"]
    for side, j in (("prev", i - 1), ("next", i + 1)):
        if not 0 <= j < len(cands):
            feats.append(f"{side}=none&{kind}")
            continue
        o = cands[j]
        d = abs(view.sentence_of(o.first) - view.sentence_of(c.first))
        feats += [f"{side}={_p(probs[j])}&{min(d, 2)}&{kind}",
                  f"{side}={_p(probs[j])}&{min(d, 2)}&{o.quote is not None}&{kind}"]
    return feats

"""Decision (c): is a candidate speech at all? And the extra candidates the rules do not propose.

Why: the rules are precise but miss sentences (free indirect speech in the indicative, hearsay
with `soll`, cue verbs outside the lexicon's frames). Every sentence that no rule claimed and
that holds a cue verb, a say noun or a Konjunktiv form becomes a low-precision candidate;
the classifier here keeps those that look like the speech the gold annotates, and drops rule
quotes that look like false alarms.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

from toolkit.attribution.learned.view import PAD, ArticleView, Span
from toolkit.attribution.spans import QuoteSpan

TRIGGERS = frozenset({"cue", "konj", "say"})


@dataclass
class Candidate:
    """A message candidate in tokens: the rule's quote (None for an extra sentence candidate)."""

    first: int
    last: int
    para: int
    quote: QuoteSpan | None
    kind: str
    cue: Span | None = None
    mention: Span | None = None
    notes: list[str] = field(default_factory=list)
    #: Context across sentences (toolkit.attribution.learned.context.Context), when the model reads it.
    ctx: Any = None
    #: What the boundary decision reads besides its local features (AttributionModel `boundaries`
    #: flags, toolkit.attribution.learned.boundaries), and the message start the end decision
    #: reads (the decided one; gold's in training; None: `first`).
    boundary: frozenset[str] = frozenset()
    msg_first: int | None = None


def _bucket(n: int) -> str:
    return str(n) if n < 4 else "4-7" if n < 8 else "8-15" if n < 16 else "16-31" if n < 32 else "32+"


def rule_candidates(view: ArticleView, spans: list[tuple[int, QuoteSpan]]) -> list[Candidate]:
    """The rules' quotes as token candidates (quotes covering no token are left out)."""
    out = []
    for pi, q in spans:
        rng = view.token_range(q.start, q.end)
        if rng is None:
            continue
        cue = view.token_range(*q.frame.cue) if q.frame.cue else None
        mention = view.token_range(*q.frame.mention) if q.frame.mention else None
        out.append(Candidate(rng[0], rng[1], pi, q, q.frame.kind, cue, mention, [q.type, *q.flags]))
    return out


def sentence_candidates(view: ArticleView, taken: list[Candidate], skip_tokens: list[Span],
                        paragraph_of: list[int], triggered: bool = True) -> list[Candidate]:
    """Sentences no rule quote or boilerplate touches (and, if `triggered`, that hold a speech trigger)."""
    busy = _touched(view, [(c.first, c.last) for c in taken] + skip_tokens)
    out = []
    for si, (a, b) in enumerate(view.sentences):
        if si in busy:
            continue
        if triggered and not TRIGGERS.intersection(view.classes[a:b + 1]):
            continue
        last = b
        while last > a and view.classes[last] == "punct":
            last -= 1
        out.append(Candidate(a, last, paragraph_of[si], None, "sentence"))
    return out


def _touched(view: ArticleView, spans: list[Span]) -> set[int]:
    """Indices of the sentences sharing a token with any of `spans`. Sentence firsts and lasts
    never decrease, so those a span touches are one run, found by two bisections."""
    firsts, lasts = [a for a, _ in view.sentences], [b for _, b in view.sentences]
    out: set[int] = set()
    for s, e in spans:
        out.update(range(bisect_left(lasts, s), bisect_right(firsts, e)))
    return out


def speech_features(view: ArticleView, c: Candidate, prev_quoted: bool) -> list[str]:
    """Local features of one candidate: which rule fired, its words and edges, triggers."""
    si = view.sentence_of(c.first)
    sa, sb = view.sentences[si] if view.sentences else (c.first, c.last)
    inner = view.classes[c.first:c.last + 1]
    # The padded lists read as view.word / view.cls for every token from -PAD to len + PAD.
    pw, pc, f0, fl = view.padded_lower, view.padded_classes, c.first + PAD, c.last + PAD
    feats = [f"kind={c.kind}", f"len={_bucket(c.last - c.first + 1)}", f"w0={pw[f0]}",
             f"c0={pc[f0]}", f"w-1={pw[f0 - 1]}", f"c-1={pc[f0 - 1]}",
             f"wl={pw[fl]}", f"w+1={pw[fl + 1]}", f"c+1={pc[fl + 1]}",
             f"sstart={c.first == sa}", f"send={c.last >= sb - 1}", f"prevq={prev_quoted}",
             f"sent={_bucket(si)}", f"mention={pc[c.mention[0] + PAD] if c.mention else 'none'}",
             f"cue={pw[c.cue[0] + PAD] if c.cue else 'none'}", f"hascue={c.cue is not None}"]
    feats += [f"note={n}" for n in c.notes]
    feats += [f"kind={c.kind}&{k}" for k in ("konj", "cue", "quote", "say") if k in inner]
    feats += [f"in={k}" for k in set(inner) if k in TRIGGERS or k in ("quote", "pron")]
    if c.quote is None:
        words = view.lower[sa:sb + 1]
        feats += [f"sw={w}" for w in words if len(w) > 3][:40]
        feats += [f"trig={w}" for w, k in zip(words, view.classes[sa:sb + 1]) if k in TRIGGERS]
        feats.append(f"ntrig={min(sum(1 for k in inner if k in TRIGGERS), 3)}")
    return feats

"""Decision (a): where a kept message starts and ends.

Why: a quarter of the rules' errors on SpkAtt are right events with wrong boundaries (`dass`
in or out, a trailing `, so X` frame, the end of a clause followed by another one). The rules'
own boundary is one option among the plausible token positions nearby (after a comma or a
quote mark, at a subordinator, at the sentence edge); a classifier scores each option and the
best one wins, separately for the start and the end.
"""

from __future__ import annotations

from toolkit.attribution.learned.base import FeatureLogit
from toolkit.attribution.learned.speech import Candidate
from toolkit.attribution.learned.view import PAD, ArticleView

WINDOW = 12
SUBORDINATORS = frozenset({"dass", "daß", "ob", "wie", "weil", "wenn", "damit", "da", "wonach", "man", "es"})
_EDGE = frozenset({"punct", "quote"})
#: Marks after which a message framed before it starts (the `far` start options).
_FRAME_END = frozenset({",", ":"})


def _delta(d: int) -> str:
    return str(d) if -3 <= d <= 3 else ("-far" if d < 0 else "+far")


def start_options(view: ArticleView, c: Candidate) -> list[int]:
    """Token positions where the message could start: the rule's start and the plausible ones near it.
    With the `far` flag also every position after a comma or colon further into the candidate
    that a cue word precedes ("Ein Sprecher der Polizei kündigte am Montag an, [die ...]")."""
    sa, _ = view.sentences[view.sentence_of(c.first)] if view.sentences else (c.first, c.last)
    lo, hi = max(sa, c.first - WINDOW), min(c.last, c.first + WINDOW)
    pw, pc, first = view.padded_lower, view.padded_classes, c.first
    out = [first]
    for t in range(lo, hi + 1):  # pw[t + PAD - 1] is word(t - 1)
        if t != first and (t == sa or pc[t + PAD - 1] in _EDGE or pc[t + PAD] == "quote"
                           or pw[t + PAD - 1] in SUBORDINATORS or pw[t + PAD] in SUBORDINATORS):
            out.append(t)
    if "far" in c.boundary and (cue := first_cue(view, c)) is not None:
        out += [t for t in range(max(hi + 1, cue + 2), c.last + 1) if pw[t + PAD - 1] in _FRAME_END]
    return out


def groups(flags: str) -> tuple[str, ...]:
    """The candidate groups with start and end models of their own under these flags: `sep`
    gives the extra sentence candidates theirs (the rules' starts are right 85 % of the time and
    teach the shared model to stay, a sentence candidate's start is the frame's often), `sepc`
    the continuations too."""
    names = set(flags.split(","))
    return (("sentence",) if names & {"sep", "sepc"} else ()) + (("continuation",) if "sepc" in names else ())


def model_group(c: Candidate) -> str:
    """Suffix of the start and end models' names for this candidate ("" for the shared ones)."""
    if c.kind == "sentence" and c.boundary & {"sep", "sepc"} or c.kind == "continuation" and "sepc" in c.boundary:
        return "_" + c.kind
    return ""


def first_cue(view: ArticleView, c: Candidate) -> int | None:
    """The first token of class `cue` in the candidate, or None."""
    try:
        return view.classes.index("cue", c.first, c.last + 1)
    except ValueError:
        return None


def _frame_before(view: ArticleView, c: Candidate) -> tuple[bool, bool]:
    """For the end decision: does the message start its sentence, and does a cue word lie
    between the sentence start and the message start (a frame before the message)."""
    first = c.first if c.msg_first is None else c.msg_first
    sa = view.sentences[view.sentence_of(first)][0] if view.sentences else 0
    return first <= sa, "cue" in view.classes[sa:first]


def _extra_start(view: ArticleView, c: Candidate, t: int) -> list[str]:
    """The `cue` flag's start features: is there a cue word between the candidate start and t."""
    if "cue" not in c.boundary:
        return []
    cue = first_cue(view, c)
    inside = cue is not None and cue < t
    return [f"cuein={inside}&k={c.kind}", f"cuein&w-1={inside}&{view.word(t - 1)}"]


def _extra_end(view: ArticleView, c: Candidate, t: int) -> list[str]:
    """The `end` flag's end features: the end token (if a mark) with where the message starts."""
    if "end" not in c.boundary:
        return []
    sinit, framed = _frame_before(view, c)
    w = view.word(t) if view.cls(t) in _EDGE else "w"
    return [f"eb={w}&{sinit}&{framed}", f"eb={w}&{sinit}&{framed}&k={c.kind}"]


def end_options(view: ArticleView, c: Candidate) -> list[int]:
    """Token positions where the message could end (its last token)."""
    _, sb = view.sentences[view.sentence_of(c.last)] if view.sentences else (c.first, c.last)
    lo, hi = max(c.first, c.last - WINDOW), min(sb, c.last + WINDOW)
    pc, last = view.padded_classes, c.last
    out = [last]
    for t in range(lo, hi + 1):
        if t != last and (t == sb or pc[t + PAD + 1] in _EDGE or pc[t + PAD] in _EDGE):
            out.append(t)
    return out


def start_features(view: ArticleView, c: Candidate, t: int) -> list[str]:
    d = _delta(t - c.first)
    return [f"d={d}", f"k={c.kind}&d={d}", f"w={view.word(t)}", f"w-1={view.word(t - 1)}", f"c={view.cls(t)}",
            f"c-1={view.cls(t - 1)}", f"c-1c={view.cls(t - 1)}&{view.cls(t)}", f"k={c.kind}&w-1={view.word(t - 1)}",
            f"w-2={view.word(t - 2)}", f"cue_before={c.cue is not None and c.cue[1] < t}",
            f"q={c.quote.type if c.quote else 'none'}&d={d}", *_extra_start(view, c, t)]


def end_features(view: ArticleView, c: Candidate, t: int) -> list[str]:
    d = _delta(t - c.last)
    return [f"d={d}", f"k={c.kind}&d={d}", f"w={view.word(t)}", f"w+1={view.word(t + 1)}", f"c={view.cls(t)}",
            f"c+1={view.cls(t + 1)}", f"cc+1={view.cls(t)}&{view.cls(t + 1)}", f"k={c.kind}&w+1={view.word(t + 1)}",
            f"w+2={view.word(t + 2)}", f"k={c.kind}&w={view.word(t)}",
            f"q={c.quote.type if c.quote else 'none'}&d={d}", *_extra_end(view, c, t)]


def _by_delta(c: Candidate, model: FeatureLogit) -> dict[str, float]:
    """The weights of the delta features (d, k&d, q&d) for each delta bucket, summed once per
    candidate kind and quote type."""
    w, k, q = model.weights_.get, c.kind, c.quote.type if c.quote else "none"
    return model.memo(("delta", k, q), lambda: {d: w(f"d={d}", 0.0) + w(f"k={k}&d={d}", 0.0) + w(f"q={q}&d={d}", 0.0)
                                                for d in ("-far", "+far", *map(str, range(-3, 4)))})


def _pair_table(model: FeatureLogit, prefix: str) -> dict[tuple[str, str], float]:
    """`prefix + "a&b"` weights by the (a, b) pair of word classes, every pair present (a class
    list is short: the pairs are a few hundred)."""
    from toolkit.attribution.learned.view import CLASSES

    table = model.table(prefix)
    return {(a, b): table.get(f"{a}&{b}", 0.0) for a in CLASSES for b in CLASSES}


def start_scores(view: ArticleView, c: Candidate, options: list[int], model: FeatureLogit) -> list[float]:
    """`model.decision` of each option's `start_features`, looked up by value as
    source.source_scores does (the same weights; sums agree up to rounding order)."""
    k = c.kind
    t = model.memo(("start", k), lambda: {p: model.table(p).get for p in (
        "w=", "w-1=", "c=", "c-1=", f"k={k}&w-1=", "w-2=")})
    t_w, t_w1, t_c, t_c1, t_kw1, t_w2 = t["w="], t["w-1="], t["c="], t["c-1="], t[f"k={k}&w-1="], t["w-2="]
    pair = model.memo(("pairs", "c-1c="), lambda: _pair_table(model, "c-1c="))
    cue_w = model.memo("cue_before", lambda: {b: model.weights_.get(f"cue_before={b}", 0.0) for b in (True, False)})
    by_d, b0, cue_end = _by_delta(c, model), model.intercept_, (c.cue[1] if c.cue is not None else None)
    pw, pc, first, out = view.padded_lower, view.padded_classes, c.first, []
    for o in options:
        w_1, c_1, c0 = pw[o + PAD - 1], pc[o + PAD - 1], pc[o + PAD]
        d = o - first
        out.append(b0 + by_d[_DELTAS[d + 3] if -3 <= d <= 3 else ("-far" if d < 0 else "+far")]
                   + t_w(pw[o + PAD], 0.0) + t_w1(w_1, 0.0) + t_c(c0, 0.0) + t_c1(c_1, 0.0) + pair[c_1, c0]
                   + t_kw1(w_1, 0.0) + t_w2(pw[o + PAD - 2], 0.0) + cue_w[cue_end is not None and cue_end < o])
    if "cue" in c.boundary:
        w = model.weights_.get
        out = [s + sum(w(f, 0.0) for f in _extra_start(view, c, o)) for s, o in zip(out, options)]
    return out


def end_scores(view: ArticleView, c: Candidate, options: list[int], model: FeatureLogit) -> list[float]:
    """`model.decision` of each option's `end_features`, looked up by value (see start_scores)."""
    k = c.kind
    t = model.memo(("end", k), lambda: {p: model.table(p).get for p in (
        "w=", "w+1=", "c=", "c+1=", f"k={k}&w+1=", "w+2=", f"k={k}&w=")})
    t_w, t_wn, t_c, t_cn, t_kwn, t_w2, t_kw = (t["w="], t["w+1="], t["c="], t["c+1="], t[f"k={k}&w+1="], t["w+2="],
                                               t[f"k={k}&w="])
    pair = model.memo(("pairs", "cc+1="), lambda: _pair_table(model, "cc+1="))
    by_d, b0, pw, pc, last, out = _by_delta(c, model), model.intercept_, view.padded_lower, view.padded_classes, c.last, []
    for o in options:
        w0, w1, c0, c1 = pw[o + PAD], pw[o + PAD + 1], pc[o + PAD], pc[o + PAD + 1]
        d = o - last
        out.append(b0 + by_d[_DELTAS[d + 3] if -3 <= d <= 3 else ("-far" if d < 0 else "+far")] + t_w(w0, 0.0)
                   + t_wn(w1, 0.0) + t_c(c0, 0.0) + t_cn(c1, 0.0) + pair[c0, c1] + t_kwn(w1, 0.0)
                   + t_w2(pw[o + PAD + 2], 0.0) + t_kw(w0, 0.0))
    if "end" in c.boundary:
        w = model.weights_.get
        out = [s + sum(w(f, 0.0) for f in _extra_end(view, c, o)) for s, o in zip(out, options)]
    return out


#: `_delta(d)` for d in -3..3, by d + 3.
_DELTAS = tuple(map(str, range(-3, 4)))

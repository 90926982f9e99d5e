"""Decision (b): which mention is the message's source (or none).

Why: the rules take the source from the frame they matched; a frameless direct quote, a free
indirect sentence or an extra sentence candidate has none, and SpkAtt's source is then a pronoun
or the subject of a nearby sentence. The options are the rule's mention, every pronoun and
noun phrase (determiner, adjectives, nouns, a genitive chain) in the candidate's sentence and the
one before (inside the message too: a sentence candidate holds its frame), and "no source"; a classifier scores each, the best one wins.

With `shapes` (the fifth round, docs/evaluation.md) a noun phrase also offers its longer shapes:
SpkAtt marks the whole phrase (`Ein Sprecher der Polizei, Lars Beringer`, `die Aufsichtsbehörde
für Zivilluftfahrt (DGAC)`), and its metric counts tokens, so the head alone loses recall.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import repeat
from typing import Any

from toolkit.attribution.learned.base import FeatureLogit
from toolkit.attribution.learned import shapes as ext
from toolkit.attribution.learned.context import named_option, source_context
from toolkit.attribution.learned.speech import Candidate
from toolkit.attribution.learned.view import PAD, ArticleView, Span

NONE: Span = (-1, -1)
_NOUNISH = frozenset({"cap", "role", "say"})
_GENITIVE = frozenset({"des", "der"})
#: Classes a noun phrase can start with (_noun_phrase is None at any other token).
_NP_START = _NOUNISH | {"det", "low"}
_NOUNISH_OR_LOW = _NOUNISH | {"low"}
_ADJECTIVE_ENDINGS = ("e", "en", "er", "es")


def _noun_phrase(view: ArticleView, t: int, stop: int) -> int | None:
    """Last token of a noun phrase starting at t (None if none starts there); t < stop <= len(view)."""
    cls, i = view.classes, t  # every index read is below stop: no bounds check needed
    if cls[i] == "det":
        i += 1
    while i < stop and cls[i] == "low" and view.lower[i].endswith(_ADJECTIVE_ENDINGS):
        i += 1
    if i >= stop or cls[i] not in _NOUNISH:
        return None
    while i + 1 < stop and cls[i + 1] in _NOUNISH:
        i += 1
    while i + 2 < stop and view.lower[i + 1] in _GENITIVE and cls[i + 2] in _NOUNISH_OR_LOW:
        j = _noun_phrase(view, i + 2, stop)
        if j is None:
            break
        i = j
    return i


def _window(view: ArticleView, c: Candidate, shapes: bool) -> tuple[int, int, int]:
    """Tokens [lo, hi) the options are taken from, and the first token of the message that is
    skipped (`hi` if none). Without `shapes`: the sentence before the message to the end of
    the message's last sentence. With `shapes`, the sentence before only for a candidate without
    a rule mention, and inside the message only its first sentence: on folds 1-4 those held 30 %
    of the options and 9 of 1,317 gold sources (docs/evaluation.md, fifth round)."""
    if not view.sentences:
        return max(c.first - 30, 0), min(c.last + 31, len(view)), len(view)
    s_first = view.sentence_of(c.first)
    back = 1 if not shapes or c.mention is None else 0
    lo = view.sentences[max(s_first - back, 0)][0]
    hi = view.sentences[view.sentence_of(c.last)][1] + 1
    if not shapes:
        return lo, hi, hi
    return lo, hi, view.sentences[s_first][1] + 1


def source_options(view: ArticleView, c: Candidate, shapes: bool = False) -> list[Span]:
    """NONE, the rule's mention, and the pronouns and noun phrases around the message (with
    `shapes`, from a smaller window (`_window`), each noun phrase also with its tails
    (`ext.tails`) and the phrases `ext.lead_spans` starts: `_shaped_options`)."""
    out: list[Span] = [NONE]
    if c.mention is not None:
        out.append(c.mention)
    named = named_option(c)
    if named is not None:
        out.append(named)
    lo, hi, skip = _window(view, c, shapes)
    if shapes:
        return _shaped_options(view, c, out, (lo, hi, skip))
    seen, classes, lower, first = set(out), view.classes, view.lower, c.first
    for t in range(lo, hi):
        k = classes[t]
        if k == "pron":  # a pronoun starts no noun phrase
            if (t, t) not in seen:
                seen.add((t, t))
                out.append((t, t))
            continue
        if not _may_start(k, lower[t]):
            continue
        end = _noun_phrase(view, t, first if t < first else hi)
        if end is None:
            continue
        for sp in ((t, end), (t + 1, end)) if k == "det" and end > t + 1 else ((t, end),):
            if sp not in seen:
                seen.add(sp)
                out.append(sp)
    return out


def _may_start(k: str, lower: str) -> bool:
    """Can a noun phrase start at a token of class `k`: a lower-case word only as an inflected
    adjective (see _noun_phrase), so most tokens are passed over without calling it."""
    return k in _NP_START and (k != "low" or lower.endswith(_ADJECTIVE_ENDINGS))


def _shaped_options(view: ArticleView, c: Candidate, out: list[Span], window: tuple[int, int, int]) -> list[Span]:
    """`source_options` with shapes: the message's tokens from `skip` on passed over, each noun
    phrase with its tails, and the lead spans at a cue noun or a leading preposition; in the
    order they were first offered in, when the shapes were developed (the order breaks ties between
    equal scores, so it keeps those records)."""
    lo, hi, skip = window
    seen, classes, lower, lead, first, last = set(out), view.classes, view.lower, ext.LEADING, c.first, c.last
    t = lo
    while t < hi:
        if skip <= t <= last:
            t = last + 1
            continue
        stop, k = first if t < first else hi, classes[t]
        spans: list[Span] = [(t, t)] if k == "pron" else []
        end = _noun_phrase(view, t, stop) if _may_start(k, lower[t]) else None
        if end is not None:
            spans.append((t, end))
            if k == "det" and end > t + 1:
                spans.append((t + 1, end))
            spans += [(t, e) for e in ext.tails(view, end, stop, _noun_phrase)]
        if k == "cue" or lower[t] in lead:
            spans += ext.lead_spans(view, t, stop, _noun_phrase)
        for sp in spans:
            if sp not in seen:
                seen.add(sp)
                out.append(sp)
        t += 1
    return out


def source_features(view: ArticleView, c: Candidate, option: Span, shapes: bool = False) -> list[str]:
    """Where the option is relative to message and cue, its words and edges (and with `shapes`
    its shape: `ext.shape_features`)."""
    return source_rows(view, c, [option], shapes)[0]


def _place(view: ArticleView, c: Candidate, a: int, b: int, s_first: int) -> tuple[str, int, str, bool]:
    """Where option [a, b] lies: before/after/inside the message, sentences from its first one,
    token distance (bucketed) and whether it opens its sentence."""
    rel = "before" if b < c.first else "after" if a > c.last else "inside"
    sa_i = view.sentence_of(a)
    dist = c.first - b if rel == "before" else a - c.last if rel == "after" else 0
    dist_s = str(dist) if dist < 4 else "4-7" if dist < 8 else "8+"
    sa = view.sentences[sa_i][0] if view.sentences else 0
    return rel, sa_i - s_first, dist_s, a == sa


def _cue_d(c: Candidate, a: int, b: int) -> str:
    cd = a - c.cue[1] if a > c.cue[1] else b - c.cue[0]
    return str(max(min(cd, 4), -4))


def source_rows(view: ArticleView, c: Candidate, options: list[Span], shapes: bool = False) -> list[list[str]]:
    """`source_features` of each option; what depends on the candidate alone is built once."""
    kind = c.kind
    base = [f"kind={kind}"]
    none = base + ["none", f"none&kind={kind}", f"none&hasmention={c.mention is not None}",
                   f"none&q={c.quote.type if c.quote else 'sentence'}", *source_context(view, c, NONE)]
    s_first = view.sentence_of(c.first)
    word, cls = view.word, view.cls
    rows = []
    for option in options:
        if option == NONE:
            rows.append(list(none))
            continue
        a, b = option
        rel, ds, dist_s, sinit = _place(view, c, a, b, s_first)
        is_rule = option == c.mention
        feats = base + [f"rule={is_rule}", f"rule&kind={is_rule}&{kind}", f"rel={rel}", f"rel&ds={rel}&{ds}",
                        f"dist={dist_s}", f"rel&dist={rel}&{dist_s}", f"w0={word(a)}", f"c0={cls(a)}",
                        f"wl={word(b)}", f"cl={cls(b)}", f"w-1={word(a - 1)}", f"c-1={cls(a - 1)}",
                        f"w+1={word(b + 1)}", f"c+1={cls(b + 1)}", f"len={min(b - a + 1, 6)}",
                        f"sinit={sinit}", f"kind&rel={kind}&{rel}"]
        if c.cue is not None:
            feats.append(f"cue_d={_cue_d(c, a, b)}")
        if shapes:
            feats += ext.shape_features(view, option, c.mention)
        rows.append(feats + source_context(view, c, option))
    return rows


_TABLED = ("w0", "c0", "wl", "cl", "w-1", "c-1", "w+1", "c+1", "rel&ds", "dist", "rel&dist", "len", "sinit", "cue_d",
           *ext.SHAPE_PREFIXES, "shp&mrel")


def _kind_weights(model: FeatureLogit, kind: str) -> tuple[dict[str, Any], float, dict[bool, float], dict[str, float]]:
    """For one candidate kind: the value tables' lookups, and the weights that depend on the
    kind, the rule flag or the relative place alone (with the intercept in the base)."""
    w = model.weights_.get
    t = {p: model.table(p + "=").get for p in _TABLED}
    base = model.intercept_ + w(f"kind={kind}", 0.0)
    by_rule = {r: w(f"rule={r}", 0.0) + w(f"rule&kind={r}&{kind}", 0.0) for r in (True, False)}
    by_rel = {r: w(f"rel={r}", 0.0) + w(f"kind&rel={kind}&{r}", 0.0) for r in ("before", "after", "inside")}
    return t, base, by_rule, by_rel


def source_scores(view: ArticleView, c: Candidate, options: list[Span], model: FeatureLogit,
                  shapes: bool = False) -> list[float]:
    """`model.decision` of each option's `source_features`, without building them.

    Why: scoring the source options is most of the learned layer's cost. The same weights are
    looked up by value (FeatureLogit.table: a token's word is its own key); the sum's first six
    terms depend only on (rule flag, place, sentence distance, token distance) and are memoised
    per model and kind as one prefix sum, added in the same order, so each score is the same
    float as before; they agree with `decision` up to rounding order. With `shapes` an option's
    shape weights (`_shape_score`) are added after them, memoised per model by shape."""
    kind = c.kind
    t, base, by_rule, by_rel = model.memo(("source", kind), lambda: _kind_weights(model, kind))
    prefix: dict[tuple, float] = model.memo(("source_prefix", kind), dict)
    lens, sinits, cue_ds = model.memo("source_small", lambda: _small_weights(t))
    w, with_context = model.weights_.get, c.ctx is not None and c.ctx.for_source
    if with_context:
        none = model.decision(source_rows(view, c, [NONE])[0])
    else:  # "no source" reads only the kind, whether the rules found a mention and the quote type
        none_key = ("source_none", kind, c.mention is not None, c.quote.type if c.quote else None)
        none = model.memo(none_key, lambda: model.decision(source_rows(view, c, [NONE])[0]))
    first, last, mention, cue = c.first, c.last, c.mention, c.cue
    s_first = view.sentence_of(first)
    pw, pc, sf, sents = view.padded_lower, view.padded_classes, view._sent_first, view.sentences
    t_w0, t_c0, t_wl, t_cl = t["w0"], t["c0"], t["wl"], t["cl"]
    t_wp, t_cp, t_wn, t_cn = t["w-1"], t["c-1"], t["w+1"], t["c+1"]
    shape_w: dict[tuple[str, ...], float] = model.memo("source_shapes", dict)
    known = ext.known_shapes(view) if shapes else {}
    scores = []
    for option in options:
        if option == NONE:
            scores.append(none)
            continue
        a, b = option
        rel, dist = ("before", first - b) if b < first else ("after", a - last) if a > last else ("inside", 0)
        si = max(bisect_right(sf, a) - 1, 0)
        key = (option == mention, rel, si - s_first, _DIST_S[dist] if dist < 8 else "8+")
        head = prefix.get(key)
        if head is None:
            is_rule, _, ds, dist_s = key
            head = prefix[key] = (base + by_rule[is_rule] + by_rel[rel] + t["rel&ds"](f"{rel}&{ds}", 0.0)
                                  + t["dist"](dist_s, 0.0) + t["rel&dist"](f"{rel}&{dist_s}", 0.0))
        s = (head + t_w0(pw[a + PAD], 0.0) + t_c0(pc[a + PAD], 0.0) + t_wl(pw[b + PAD], 0.0) + t_cl(pc[b + PAD], 0.0)
             + t_wp(pw[a + PAD - 1], 0.0) + t_cp(pc[a + PAD - 1], 0.0) + t_wn(pw[b + PAD + 1], 0.0)
             + t_cn(pc[b + PAD + 1], 0.0) + lens[min(b - a + 1, 6)] + sinits[a == (sents[si][0] if sents else 0)])
        if cue is not None:
            s += cue_ds[max(min(a - cue[1] if a > cue[1] else b - cue[0], 4), -4) + 4]
        if shapes:
            got = known.get(option)
            key = (*(ext.span_shape(view, a, b) if got is None else got), ext.mention_rel(option, mention))
            sh = shape_w.get(key)
            s += shape_w.setdefault(key, _shape_score(t, key)) if sh is None else sh
        if with_context:
            s += sum(map(w, source_context(view, c, option), repeat(0.0)))
        scores.append(s)
    return scores


#: The token-distance buckets of `_place` for distances 0-7 (8 and more: "8+").
_DIST_S = ("0", "1", "2", "3", "4-7", "4-7", "4-7", "4-7")


def _small_weights(t: dict[str, Any]) -> tuple[list[float], list[float], list[float]]:
    """Weights of `len=1..6` (index 1-6), `sinit=False/True` (index 0/1) and `cue_d=-4..4`
    (index 0-8), read by index instead of by a feature string."""
    return ([0.0] + [t["len"](str(n), 0.0) for n in range(1, 7)], [t["sinit"](str(b), 0.0) for b in (False, True)],
            [t["cue_d"](str(d), 0.0) for d in range(-4, 5)])


def _shape_score(t: dict[str, Any], values: tuple[str, str, str, str]) -> float:
    """The weights of `ext.shape_features` of one option's `ext.shape_values`, looked up by value."""
    marks, caps, long, rel = values
    return (t["shp"](marks, 0.0) + t["ncap"](caps, 0.0) + t["long"](long, 0.0) + t["mrel"](rel, 0.0)
            + t["shp&mrel"](f"{marks}&{rel}", 0.0))

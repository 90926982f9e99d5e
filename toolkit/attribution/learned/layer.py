"""The learned layer: three decisions over the rules' candidates, trained on SpkAtt-style gold.

`AttributionModel.fit(docs)` learns from captured rule output (toolkit.attribution.learned.data);
`AttributionModel.refine` is the hook toolkit.attribution.extract.extract_article calls with the
rules' quotes: it adds sentence candidates, drops what the speech classifier rejects, moves
message boundaries and picks the source. Without a model extraction is the rules' alone.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator

from toolkit.attribution.learned import boundaries as bd
from toolkit.attribution.learned import context as cx
from toolkit.attribution.learned import source as src
from toolkit.attribution.learned.base import FeatureLogit, first_max, sigmoid
from toolkit.attribution.learned.data import TrainingDoc
from toolkit.attribution.learned.speech import Candidate, rule_candidates, sentence_candidates, speech_features
from toolkit.attribution.learned.view import ArticleView, Span
from toolkit.attribution.spans import Frame, QuoteSpan

#: SpkAtt types with no counterpart among the rules' types: each has a one-vs-rest classifier
#: over the kept candidates' speech features, and an output type of the same name (opt-in with
#: `qst extract --types`).
OWN_TYPES = ("reported", "free_indirect")


class Gold:
    """A top-level gold event in tokens: message token set and edges, source span (or NONE)."""

    def __init__(self, view: ArticleView, q: dict[str, Any]) -> None:
        segs = q.get("segments") or [[q["start"], q["end"]]]
        toks: set[int] = set()
        for s, e in segs:
            rng = view.token_range(s, e)
            if rng:
                toks.update(range(rng[0], rng[1] + 1))
        self.tokens = toks
        self.first, self.last = (min(toks), max(toks)) if toks else (-1, -1)
        sseg = q.get("speaker_segments") or []
        srng = [view.token_range(s, e) for s, e in sseg]
        srng = [r for r in srng if r]
        self.source: Span = (min(r[0] for r in srng), max(r[1] for r in srng)) if srng else src.NONE
        self.type: str | None = q.get("type")


def _f1(a: set[int], b: set[int]) -> float:
    both = len(a & b)
    return 0.0 if not both else 2 * both / (len(a) + len(b))


def pair_gold(cands: Sequence[Candidate], golds: Sequence[Gold]) -> dict[int, tuple[Gold, float]]:
    """Candidate index -> (gold event, token F1), paired one-to-one as the metric pairs them."""
    if not cands or not golds:
        return {}
    sets = [set(range(c.first, c.last + 1)) for c in cands]
    scores = np.array([[_f1(g.tokens, s) for s in sets] for g in golds])
    rows, cols = linear_sum_assignment(scores, maximize=True)
    return {int(c): (golds[r], float(scores[r, c])) for r, c in zip(rows, cols) if scores[r, c] > 0}


def _paragraph_of(view: ArticleView, paras: Sequence[Span]) -> list[int]:
    """The paragraph holding each sentence's first character (0 where none does), by bisection
    over the paragraph starts (paragraphs are in text order and do not overlap)."""
    firsts, out = [s for s, _ in paras], []
    for a, _ in view.sentences:
        pos = view.starts[a]
        i = bisect_right(firsts, pos) - 1
        out.append(i if i >= 0 and pos < paras[i][1] else 0)
    return out


class AttributionModel(BaseEstimator):
    """Speech filter, boundary and source classifiers on top of the rules.

    Parameters
    ----------
    C : float
        Inverse regularisation strength of the three logistic regressions.
    threshold : float
        Speech probability below which a candidate is dropped.
    min_overlap : float
        Token F1 with its paired gold event from which a candidate counts as speech in training.
    sentence_candidates : bool
        Whether uncovered sentences with a speech trigger are proposed as extra candidates.
    all_sentences : bool
        Propose every uncovered sentence, not only those holding a speech trigger.
    source_threshold : float
        Probability a learned source needs to replace the rules' choice (their mention, or none);
        below it the rules' choice stays. A wrong source costs the metric's source precision,
        a missing one only its recall.
    sentence_threshold : float or None
        Speech probability an extra sentence candidate (one no rule proposed) needs; None: `threshold`.
    review_weight : float
        Weight of a training row made of a Label Studio review (toolkit.attribution.learned.reviews)
        against a gold row's 1.
    source_for : {"all", "frameless"}
        Which candidates the source classifier decides for: all, or only those whose rule found
        no mention (the rules' frame mention is kept where there is one).
    context : str
        "none", or a comma-separated set of what reads the context across sentences
        (toolkit.attribution.learned.context: the rules' quotes before and after, the latest named
        source, paragraph position, the previous sentence's Konjunktiv, a continuing opener):
        `speech` (the speech decision of every candidate), `speech_sent` (of the extra sentence
        candidates only), `source` (source features and the latest named source as an option),
        `both` (speech and source); modifiers `small` (four speech features instead of 14),
        `nocross` (no copies crossed with the candidate's kind), `no_opt` (no extra source option).
        The fourth round's trials on SpkAtt are in docs/evaluation.md.
    stack : bool
        Decide speech in two passes: the second reads the first pass's scores of the
        neighbouring candidates (is the sentence before speech).
    boundaries : str
        "none", or a comma-separated set of what the boundary decisions read besides their local
        features (toolkit.attribution.learned.boundaries): `cue` (a start feature: is there a
        cue word between the candidate's start and the option), `far` (start options after
        every comma or colon a cue word precedes, beyond the window), `end` (end features: the
        end mark with whether the decided start opens its sentence and follows a cue word).
        The fifth round's trials on SpkAtt are in docs/evaluation.md.
    source_shapes : bool
        Offer each noun phrase's longer shapes (prepositional, bracketed, apposition and
        coordinated tails) as source options, with shape features (toolkit.attribution.learned.shapes);
        a model file trained before has none and reads False. Opt-in: held out it adds about 0.25
        source F1 but costs about 0.4 ms CPU per article over the default layer, about 2x the rules
        against the 1.5x time limit (docs/evaluation.md, "Fifth round: source options").
    """

    def __init__(self, C: float = 0.5, threshold: float = 0.5, min_overlap: float = 0.1,
                 sentence_candidates: bool = True, source_for: str = "all", all_sentences: bool = False,
                 source_threshold: float = 0.35, review_weight: float = 1.0,
                 sentence_threshold: float | None = None, context: str = "speech_sent,small,nocross",
                 stack: bool = False, boundaries: str = "none", source_shapes: bool = False) -> None:
        self.boundaries = boundaries
        self.source_shapes = source_shapes
        self.stack = stack
        self.context = context
        self.review_weight = review_weight
        self.sentence_threshold = sentence_threshold
        self.source_for = source_for
        self.source_threshold = source_threshold
        self.all_sentences = all_sentences
        self.C = C
        self.threshold = threshold
        self.min_overlap = min_overlap
        self.sentence_candidates = sentence_candidates

    # ------------------------------------------------------------------ candidates

    def candidates(self, view: ArticleView, text: str, spans: list[tuple[int, QuoteSpan]],
                   skip: Sequence[Span]) -> list[Candidate]:
        """The rules' quotes plus, if enabled, the extra sentence candidates, in text order."""
        cands = rule_candidates(view, spans)
        context = getattr(self, "context", "none")
        if self.sentence_candidates or context != "none":
            from toolkit.attribution.segment import paragraphs

            para_of = _paragraph_of(view, paragraphs(text))
        if self.sentence_candidates:
            skip_tokens = [r for s, e in skip if (r := view.token_range(s, e))]
            cands += sentence_candidates(view, cands, skip_tokens, para_of, triggered=not self.all_sentences)
        cands.sort(key=lambda c: c.first)
        bflags = getattr(self, "boundaries", "none")
        if bflags != "none":
            flags = frozenset(bflags.split(","))
            for c in cands:
                c.boundary = flags
        if context != "none":
            flags = frozenset(context.split(","))
            cx.annotate(view, cands, para_of, speech=bool(flags & {"speech", "speech_sent", "both"}),
                        source=bool(flags & {"source", "both"}), flags=flags)
        return cands

    @staticmethod
    def _speech_rows(view: ArticleView, cands: Sequence[Candidate]) -> list[list[str]]:
        rows, prev_end = [], -10
        for c in cands:
            rows.append(speech_features(view, c, prev_quoted=c.first - prev_end <= 40 and prev_end >= 0))
            if c.ctx is not None and c.ctx.for_speech:
                rows[-1] += c.ctx.speech_features("rule" if c.quote is not None else "sentence")
            if c.quote is not None:
                prev_end = c.last
        return rows

    # ------------------------------------------------------------------ training

    def _training_rows(self, doc: TrainingDoc, rows: dict[str, tuple[list, list, list]]) -> None:
        """Append one document's speech, start, end, source and type rows (features, labels, weights).

        A document made of reviews labels only the candidates its annotators saw, and only the
        speech and source decisions (a review judges neither boundaries nor SpkAtt types); its
        rows weigh `review_weight`.
        """
        view = ArticleView(doc.text, doc.sentences)
        events = [(g, q) for q in doc.quotes if not q.get("is_nested") and (g := Gold(view, q)).tokens]
        golds = [g for g, _ in events]
        # A corrected speaker the text never names: the quote is speech, its source unknown.
        unknown_source = {id(g) for g, q in events if q.get("source_unknown")}
        cands = self.candidates(view, doc.text, doc.spans, doc.skip)
        paired = pair_gold(cands, golds)
        seen = None
        if doc.reviewed is not None:
            seen = [r for s, e in doc.reviewed if (r := view.token_range(s, e))]
        w = 1.0 if seen is None else float(self.review_weight)

        def add(name: str, feats: list[str], label: int) -> None:
            rows[name][0].append(feats)
            rows[name][1].append(label)
            rows[name][2].append(w)

        speech_rows = self._speech_rows(view, cands)
        stack = (view, cands, speech_rows, [])
        rows.setdefault("_stack", ([], [], []))[0].append(stack)
        for i, feats in enumerate(speech_rows):
            c = cands[i]
            if seen is not None and not any(a <= c.last and c.first <= b for a, b in seen):
                continue
            ok = i in paired and paired[i][1] >= self.min_overlap
            add("speech", feats, int(ok))
            stack[3].append((i, int(ok), w))
            if not ok:
                continue
            g = paired[i][0]
            c.msg_first = g.first  # the end decision reads the start: gold's in training
            shapes = getattr(self, "source_shapes", False)
            decisions = [("source", src.source_options(view, c, shapes), partial(src.source_features, shapes=shapes),
                          g.source)]
            if seen is None:
                for t in OWN_TYPES:
                    add(f"type_{t}", feats, int(g.type == t))
                group = bd.model_group(c)
                decisions += [("start" + group, bd.start_options(view, c), bd.start_features, g.first),
                              ("end" + group, bd.end_options(view, c), bd.end_features, g.last)]
            for name, options, feat, want in decisions:
                if want not in options or (name == "source" and id(g) in unknown_source):
                    continue
                for opt in options:
                    add(name, feat(view, c, opt), int(opt == want))

    def fit(self, docs: Sequence[TrainingDoc], y: Any = None) -> AttributionModel:
        """Train the decisions on captured rule output with gold quotes (or reviews); returns self."""
        names = ("speech", "start", "end", "source", *(f"type_{t}" for t in OWN_TYPES),
                 *(f"{d}_{g}" for g in bd.groups(getattr(self, "boundaries", "none")) for d in ("start", "end")))
        rows: dict[str, tuple[list, list, list]] = {k: ([], [], []) for k in names}
        for doc in docs:
            self._training_rows(doc, rows)
        stacked = rows.pop("_stack", ([], [], []))[0]
        self.models_ = {name: FeatureLogit(C=self.C).fit(X, labels, weights)
                        for name, (X, labels, weights) in rows.items()}
        if getattr(self, "stack", False):
            self.models_["speech_first"] = self.models_["speech"]
            self.models_["speech"] = self._second_pass(stacked)
        self.n_rows_ = {name: len(X) for name, (X, _, _) in rows.items()}
        return self

    def _second_pass(self, stacked: list[tuple[Any, list, list, list]], k: int = 3) -> FeatureLogit:
        """The speech model of the second pass: its features add the neighbours' first-pass
        scores, which for training come from first-pass models of the other `k` - 1 parts of the
        training documents (never from a model that saw the document: no leakage)."""
        X, labels, weights = [], [], []
        for part in range(k):
            train = [(feats[i], y, w) for j, (_, _, feats, lab) in enumerate(stacked) if j % k != part
                     for i, y, w in lab]
            first = FeatureLogit(C=self.C).fit([r[0] for r in train], [r[1] for r in train], [r[2] for r in train])
            for j, (view, cands, feats, lab) in enumerate(stacked):
                if j % k != part or not lab:
                    continue
                probs = first.positive(feats)
                for i, y, w in lab:
                    X.append(feats[i] + cx.neighbour_features(view, cands, probs, i))
                    labels.append(y)
                    weights.append(w)
        return FeatureLogit(C=self.C).fit(X, labels, weights)

    def speech_probs(self, view: ArticleView, cands: Sequence[Candidate], feats: list[list[str]]) -> np.ndarray:
        """Speech probability of every candidate (two passes when the model was trained stacked)."""
        first = self.models_.get("speech_first")
        if first is None:
            return self.models_["speech"].positive(feats)
        probs = first.positive(feats)
        return self.models_["speech"].positive([f + cx.neighbour_features(view, cands, probs, i)
                                                for i, f in enumerate(feats)])

    # ------------------------------------------------------------------ applying

    def __call__(self, text: str, sents: Sequence[Span], spans: list[tuple[int, QuoteSpan]],
                 skip: Sequence[Span]) -> list[tuple[int, QuoteSpan]]:
        """The extract_article hook (toolkit.attribution.extract.Refine): the quotes to keep."""
        view = ArticleView(text, sents)
        cands = self.candidates(view, text, spans, skip)
        feats = self._speech_rows(view, cands)
        sent_t = self.threshold if getattr(self, "sentence_threshold", None) is None else self.sentence_threshold
        probs = self.speech_probs(view, cands, feats)
        keep = [p >= (self.threshold if c.quote is not None else sent_t) for c, p in zip(cands, probs)]
        out: list[tuple[int, QuoteSpan]] = []
        last_end = -1
        for c, f, ok in zip(cands, feats, keep):
            if not ok:
                continue
            q = self._decide(view, text, c)
            q.type = self._type_of(f, q.type)
            if q.start < last_end:  # a moved boundary ran into the previous quote: the rules' span, or nothing
                if c.quote is None or c.quote.start < last_end:
                    continue
            out.append((c.para, q))
            last_end = max(last_end, q.end)
        return out

    def _type_of(self, feats: list[str], rule_type: str) -> str:
        """`reported` or `free_indirect` where its classifier says so with probability >= 0.5 (the
        likelier of the two), else the rules' type. Models trained before the type decision
        existed have no such classifier and keep the rules' type."""
        best, best_p = rule_type, 0.5
        for t in OWN_TYPES:
            model = self.models_.get(f"type_{t}")
            p = sigmoid(model.decision(feats)) if model is not None else 0.0
            if p >= best_p:
                best, best_p = t, p
        return best

    def _decide(self, view: ArticleView, text: str, c: Candidate) -> QuoteSpan:
        """The candidate's quote with the learned start, end and source."""
        starts, ends = bd.start_options(view, c), bd.end_options(view, c)
        group = bd.model_group(c)
        first = starts[first_max(bd.start_scores(view, c, starts, self.models_["start" + group]))]
        c.msg_first = first  # the end decision reads the decided start
        last = ends[first_max(bd.end_scores(view, c, ends, self.models_["end" + group]))]
        if first > last:
            first, last = c.first, c.last
        pick = c.mention or src.NONE
        # A continuation's source is the previous quote's speaker, found by the rules' discourse
        # link outside the local window the source options come from: it stays.
        if c.kind != "continuation" and (self.source_for == "all" or c.mention is None):
            shapes = getattr(self, "source_shapes", False)
            options = src.source_options(view, c, shapes)
            scores = src.source_scores(view, c, options, self.models_["source"], shapes)
            best = first_max(scores)
            pick = options[best]
            # A learned source that replaces the rules' needs confidence; else the quote keeps the
            # rules' mention, or gets none where the rules had none.
            if pick != c.mention and sigmoid(scores[best]) < self.source_threshold:
                pick = c.mention or src.NONE
        q = c.quote or QuoteSpan(0, 0, "indirect", Frame(kind="learned"), flags=["learned_candidate"])
        q.start, q.end = view.chars(first, last)
        if pick != c.mention:
            q.frame.mention = None if pick == src.NONE else view.chars(*pick)
            q.flags = [*q.flags, "learned_source"]
        if (first, last) != (c.first, c.last) and c.quote is not None:
            q.flags = [*q.flags, "learned_boundary"]
        return q

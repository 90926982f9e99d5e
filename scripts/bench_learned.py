#!/usr/bin/env python
"""CPU time per article of extraction with the learned layer against the rules alone, side by side.

Why a separate bench: `scripts/eval_spkatt.py --folds` times the rules during the capture (the
first pass over the articles) and the learned layer afterwards, when the paragraph sentence
cache is warm, so its ratio flatters the layer. Here a model is trained on folds 1-4, and the
articles of fold 5 are extracted with and without it, alternating round by round after one
warm-up pass of each, so both sides see the same machine load. The paragraph sentence cache is
emptied before every pass (`--warm` keeps it), so each pass segments as a run on new articles does.
Each learned pass also sums the hook's own CPU time inside it ("hook", and "the rest" of the pass):
the hook inside extraction costs more than the hook alone of `--refine`, which runs in a tight loop
over captured quotes with the layer's code and tables hot in the processor's caches.

    python scripts/bench_learned.py --rounds 3            # fold 5 of scripts/spkatt_folds.json
    python scripts/bench_learned.py --rounds 3 --tree /path/to/main    # another tree's toolkit, same protocol
    python scripts/bench_learned.py --rounds 10 --refine      # also the layer's hook alone (least moved by load)
    python scripts/bench_learned.py --rounds 5 --refine --param source_shapes=true   # hook alone of both models
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "spkatt-news" / "train.jsonl"


class _Timed:
    """The model's hook with its own CPU time summed: the hook's share of a full extraction pass.

    Why: the hook alone (`--refine`) runs over captured quotes in a tight loop, with the layer's
    code and tables hot in the processor's caches; inside extraction it runs after each article's
    segmentation and rules, and takes longer (issue 14's gap, docs/evaluation.md, fifth round)."""

    def __init__(self, model: Any) -> None:
        self.model, self.seconds = model, 0.0

    def __call__(self, *args: Any) -> Any:
        t = time.process_time()
        out = self.model(*args)
        self.seconds += time.process_time() - t
        return out


def _cpu_ms(articles: list[dict], registry: Any, model: Any, warm: bool, hook: list[float] | None = None) -> float:
    """CPU milliseconds per article of one extraction pass (sentence cache emptied first unless
    `warm`); with `hook`, the hook's own share of them is appended to it."""
    from toolkit.attribution import segment
    from toolkit.attribution.extract import extract_article

    if not warm:
        segment._cached_paragraph_sentences.cache_clear()
    timed = _Timed(model) if model is not None and hook is not None else None
    t = time.process_time()
    for a in articles:
        extract_article(a, registry, timed or model)
    if timed is not None:
        hook.append(1000 * timed.seconds / len(articles))
    return 1000 * (time.process_time() - t) / len(articles)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--folds", type=Path, default=ROOT / "scripts" / "spkatt_folds.json")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None, help="Only the first N articles of the last fold.")
    ap.add_argument("--warm", action="store_true", help="Keep the paragraph sentence cache between passes.")
    ap.add_argument("--tree", type=Path, default=ROOT, help="Repository whose toolkit is timed (default: this one).")
    ap.add_argument("--refine", action="store_true",
                    help="Also time the layer's hook alone (the rules' output captured once, copied for each pass): "
                         "CPU ms per article, minimum over the rounds, the figure least moved by machine load.")
    ap.add_argument("--cold", action="store_true",
                    help="With --refine: also time the hook alone with the layer's word caches emptied before "
                         "each pass (every word unseen, as for a run on new articles).")
    ap.add_argument("--param", action="append", default=[],
                    help="NAME=VALUE (JSON value), repeatable: also time a model with these AttributionModel "
                         "parameters, in the same rounds as the default one (e.g. context=speech_sent,small,nocross).")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(args.tree))
    from toolkit.attribution.learned.data import article_of, capture, read_gold
    from toolkit.attribution.learned.folds import read_folds
    from toolkit.attribution.learned.layer import AttributionModel
    from toolkit.attribution.speakers import load_registry

    if not args.data.exists():
        print(f"skipped: {args.data} not found")
        return 0
    docs = read_gold(args.data)
    folds = read_folds(args.folds, [d["doc_id"] for d in docs])
    held = set(folds[-1])
    registry = load_registry()
    captured = capture([d for d in docs if d["doc_id"] not in held], registry)
    model = AttributionModel().fit(captured)
    params = dict(_param(p) for p in args.param)
    variant = AttributionModel(**params).fit(captured) if params else None
    articles = [article_of(d) for d in docs if d["doc_id"] in held][:args.limit]
    _cpu_ms(articles, registry, None, True), _cpu_ms(articles, registry, model, True)  # warm-up, both sides
    if variant is not None:
        _cpu_ms(articles, registry, variant, True)
    rules, learned, varied, inside = [], [], [], []
    for r in range(args.rounds):
        rules.append(_cpu_ms(articles, registry, None, args.warm))
        learned.append(_cpu_ms(articles, registry, model, args.warm, inside))
        line = (f"round {r + 1}: rules {rules[-1]:.1f} ms, rules + learned {learned[-1]:.1f} ms "
                f"(hook {inside[-1]:.2f}, the rest {learned[-1] - inside[-1]:.2f}), ratio {learned[-1] / rules[-1]:.2f}")
        if variant is not None:
            varied.append(_cpu_ms(articles, registry, variant, args.warm))
            line += f"; with {params}: {varied[-1]:.1f} ms, ratio {varied[-1] / rules[-1]:.2f}"
        print(line)
    if args.refine:
        print(f"layer hook alone: CPU ms per article, minimum of {args.rounds} rounds "
              f"{_refine_ms(articles, registry, model, args.rounds):.3f}")
        if variant is not None:
            print(f"layer hook alone with {params}: CPU ms per article, minimum of {args.rounds} rounds "
                  f"{_refine_ms(articles, registry, variant, args.rounds):.3f}")
        print(f"layer hook alone, each call after its article's rules: CPU ms per article, minimum of {args.rounds} "
              f"rounds {_refine_ms(articles, registry, model, args.rounds, interleave=True):.3f}")
        if args.cold:
            print(f"layer hook alone, words unseen: CPU ms per article, minimum of {args.rounds} rounds "
                  f"{_refine_ms(articles, registry, model, args.rounds, cold=True):.3f}")
    ratios = [b / a for a, b in zip(rules, learned)]
    print(f"{args.tree}: {len(articles)} articles of fold {len(folds)}, {args.rounds} rounds, sentence cache "
          f"{'kept' if args.warm else 'emptied before each pass'}: CPU ms per article rules "
          f"{statistics.median(rules):.1f}, rules + learned layer {statistics.median(learned):.1f}; "
          f"ratio median {statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f}); "
          f"the hook inside the pass median {statistics.median(inside):.2f} (min {min(inside):.2f}), "
          f"the pass without it median {statistics.median(a - b for a, b in zip(learned, inside)):.2f}")
    if variant is not None:
        vr = [b / a for a, b in zip(rules, varied)]
        print(f"with {params}: CPU ms per article {statistics.median(varied):.1f}; ratio median "
              f"{statistics.median(vr):.2f} (range {min(vr):.2f}-{max(vr):.2f})")
    return 0


def _refine_ms(articles: list[dict], registry: Any, model: Any, rounds: int, cold: bool = False,
               interleave: bool = False) -> float:
    """The minimum over `rounds` passes of the CPU milliseconds per article the model's
    extract_article hook takes by itself, on the rules' quotes captured once (deep-copied
    before each pass, outside the timing: the hook edits the quotes it keeps). `cold` empties
    the layer's word caches before each pass: a run on new articles classifies most words anew.
    `interleave` runs the rules' extraction of each article (untimed) before its hook call, as
    extraction does: the hook then finds the processor's caches holding the rules' work."""
    import copy

    from toolkit.attribution.extract import extract_article
    from toolkit.attribution.learned import view

    calls: list[tuple] = []

    def grab(text: str, sents: Any, spans: list, skip: Any) -> list:
        calls.append((text, list(sents), copy.deepcopy(spans), skip))
        return spans

    for a in articles:
        extract_article(a, registry, grab)
    best = float("inf")
    for _ in range(rounds):
        passes = copy.deepcopy(calls)
        if cold:
            view._SEEN.clear()
            view.word_class.cache_clear()
        total = 0.0
        for (text, sents, spans, skip), a in zip(passes, articles):
            if interleave:
                extract_article(a, registry, None)
            t = time.process_time()
            model(text, sents, spans, skip)
            total += time.process_time() - t
        best = min(best, total)
    return 1000 * best / len(articles)


def _param(text: str) -> tuple[str, Any]:
    """NAME=VALUE of --param, the value read as JSON where it parses (as scripts/eval_spkatt.py reads it)."""
    import json

    name, _, value = text.partition("=")
    try:
        return name.strip(), json.loads(value)
    except ValueError:
        return name.strip(), value


if __name__ == "__main__":
    sys.exit(main())

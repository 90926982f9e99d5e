"""How many reviewed quotes it takes to move the learned layer's figures (issue 14): a learning curve.

Trains the learned layer on SpkAtt folds 1-3 (../shared/spkatt-news/train.jsonl, folds of
scripts/spkatt_folds.json; CC BY-NC-SA, read in place, never copied) plus the first k reviewed
quotes of a Label Studio review round (default: the bundled seed round,
annotations/labelstudio/seed_round1.json, imported against the seeds' rule quotes), for several k
and review weights, and scores each model on
  * the seeds' gold (annotations/gold/seeds.jsonl, `qst evaluate-attribution`'s span and
    attribution F1): gold the model never trains on, but the same five articles the reviews are on;
  * SpkAtt fold 5 (official macro metric, Message / Source / Joint F1): articles no model saw.

Usage:
    .venv/bin/python scripts/eval_reviews.py [--k 0,12,24,36,48] [--weights 1,10] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from toolkit import ANNOTATIONS_DIR  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "spkatt-news" / "train.jsonl"
console = Console(width=None if sys.stdout.isatty() else 120)


def _qst(*args: str) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p))
    subprocess.run([sys.executable, "-m", "toolkit.cli", *args], check=True, env=env, capture_output=True)


def seed_reviews(tmp: Path, export: Path) -> tuple[Path, Path, Path]:
    """The seed round as `qst extract` + `qst import` make it: (annotation table, quotes, articles)."""
    articles = ANNOTATIONS_DIR / "articles"
    _qst("extract", str(articles), "--out", str(tmp / "quotes"))
    _qst("import", str(export), "--quotes", str(tmp / "quotes" / "quotes.jsonl"), "--out", str(tmp / "reviews"))
    return tmp / "reviews.parquet", tmp / "quotes" / "quotes.jsonl", articles


def first_k(review_docs: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """The review documents cut to their first k reviewed quotes (article order, then text order)."""
    out, left = [], k
    for doc in review_docs:
        if left <= 0:
            break
        spans = sorted(doc["reviewed"])[:left]
        keep = {tuple(s) for s in spans}
        quotes = [q for q in doc["quotes"] if tuple(q["segments"][0]) in keep or
                  any(s[0] <= q["segments"][0][0] < s[1] for s in spans)]
        out.append({**doc, "reviewed": spans, "quotes": quotes})
        left -= len(spans)
    return out


def _overlap(a: tuple[int, int], segs: list[list[int]]) -> float:
    """Character F1 of span a with the union of segments."""
    chars = set().union(*(range(s, e) for s, e in segs)) if segs else set()
    both = len(chars & set(range(*a)))
    return 2 * both / (len(chars) + a[1] - a[0]) if both else 0.0


def simulated_reviews(captured: list[Any], gold: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], dict]:
    """What a review round on these articles would record if the annotators agreed with the SpkAtt
    gold: each rule quote confirmed (it matches a gold event, >= 50% character F1, and its mention
    overlaps the gold source, or both have none), corrected (matched, other source: the gold source
    is the corrected mention) or not_a_quote (no gold event). Boundaries and types stay unjudged,
    as in a real review."""
    from collections import Counter

    docs, counts = [], Counter()
    for c in captured:
        events = [q for q in gold[c.doc_id]["quotes"] if not q.get("is_nested")]
        doc = {"doc_id": c.doc_id, "text": c.text, "quotes": [], "reviewed": [], "review": True}
        for r in c.records:
            span = (r["start"], r["end"])
            doc["reviewed"].append(list(span))
            best = max(events, key=lambda q: _overlap(span, q.get("segments") or [[q["start"], q["end"]]]),
                       default=None)
            if best is None or _overlap(span, best.get("segments") or [[best["start"], best["end"]]]) < 0.5:
                counts["not_a_quote"] += 1
                continue
            src = best.get("speaker_segments") or []
            ms, me = r["speaker_mention_start"], r["speaker_mention_end"]
            same = (not src and ms is None) or (ms is not None and _overlap((ms, me), src) > 0)
            counts["confirmed" if same else "corrected"] += 1
            doc["quotes"].append({"segments": [list(span)], "type": None,
                                  "speaker_segments": ([[ms, me]] if ms is not None else []) if same else src})
        docs.append(doc)
    return docs, dict(counts)


def _scores(model: Any, held: list[dict[str, Any]], seeds: tuple[Any, Any], registry: Any) -> dict[str, float]:
    from toolkit.attribution import evaluation as ev
    from toolkit.attribution import spkatt as sp
    from toolkit.attribution.extract import extract_article
    from toolkit.attribution.learned.data import article_of

    triples = []
    for doc in held:
        tokens = sp.Tokens(doc["text"])
        recs = extract_article(article_of(doc), registry, model)
        triples.append((doc["doc_id"], sp.gold_events(doc, tokens), sp.record_events(recs, tokens)))
    fold = sp.evaluate(triples)[0]
    gold_df, arts = seeds
    preds = pd.DataFrame([r for aid in sorted(arts) for r in extract_article(arts[aid], registry, model)])
    rep = ev.score_attribution(gold_df, preds)["overall"]
    return {"fold5_message_f1": fold["message_f1"], "fold5_source_f1": fold["source_f1"],
            "fold5_joint_f1": fold["joint_f1"], "seeds_span_f1": rep["span"]["f1"],
            "seeds_attribution_f1": rep["attribution"]["f1"], "seeds_quotes": len(preds)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--folds", type=Path, default=REPO / "scripts" / "spkatt_folds.json")
    ap.add_argument("--export", type=Path, default=ANNOTATIONS_DIR / "labelstudio" / "seed_round1.json",
                    help="Label Studio export of the review round on the seed articles.")
    ap.add_argument("--k", default="0,6,12,24,36,48", help="Numbers of reviewed quotes to add.")
    ap.add_argument("--sim-k", default="0,50,100,200,400,100000",
                    help="Numbers of simulated reviewed quotes (fold 4 rule quotes judged by its gold) to add.")
    ap.add_argument("--weights", default="1,10", help="Review weights to try.")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if not args.data.exists():
        console.print(f"skipped: {args.data} not found (SpkAtt lives beside the repository)")
        return 0
    from toolkit.attribution import evaluation as ev
    from toolkit.attribution.learned.data import capture, read_gold
    from toolkit.attribution.learned.folds import read_folds
    from toolkit.attribution.learned.layer import AttributionModel
    from toolkit.attribution.learned.reviews import review_documents
    from toolkit.attribution.speakers import load_registry
    from toolkit.ingest import read_articles

    registry = load_registry()
    docs = read_gold(args.data)
    folds = read_folds(args.folds, [d["doc_id"] for d in docs])
    train_ids = set(folds[0]) | set(folds[1]) | set(folds[2])
    held = [d for d in docs if d["doc_id"] in set(folds[4])]
    train = capture([d for d in docs if d["doc_id"] in train_ids], registry)
    arts = {a["id"]: a for a in read_articles(ANNOTATIONS_DIR / "articles")}
    seeds = (ev.load_gold(ANNOTATIONS_DIR / "gold" / "seeds.jsonl", arts), arts)
    with tempfile.TemporaryDirectory() as tmp:
        review_docs, summary = review_documents(*seed_reviews(Path(tmp), args.export))
    console.print(f"reviews: {summary}")
    rows = [{"round": "rules alone", "k": 0, "weight": 0.0, **_scores(None, held, seeds, registry)}]
    fold4 = capture([d for d in docs if d["doc_id"] in set(folds[3])], registry)
    simulated, sim_counts = simulated_reviews(fold4, {d["doc_id"]: d for d in docs})
    console.print(f"simulated review round on fold 4: {sim_counts}")
    rounds = [("seed round", review_docs, [int(x) for x in args.k.split(",")]),
              ("fold 4, simulated", simulated, [int(x) for x in args.sim_k.split(",")])]
    base: dict[float, dict[str, Any]] = {}
    for name, pool, ks in rounds:
        for w in [float(x) for x in args.weights.split(",")]:
            for k in ks:
                if k == 0 and w in base:
                    rows.append({**base[w], "round": name})
                    continue
                extra = capture(first_k(pool, k), registry) if k else []
                model = AttributionModel(review_weight=w).fit(copy.deepcopy(train) + extra)
                rows.append({"round": name, "k": k, "weight": w, **_scores(model, held, seeds, registry)})
                if k == 0:
                    base[w] = rows[-1]
                console.print(rows[-1])
    t = Table(title="SpkAtt folds 1-3 + k reviewed seed quotes (official metric on fold 5; seeds: project metric)",
              title_justify="left")
    t.add_column("round")
    for col in ("k", "weight", "fold 5 M F1", "fold 5 S F1", "fold 5 J F1", "seeds span F1", "seeds attr F1"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(r["round"], str(r["k"]), f"{r['weight']:g}", *(f"{100 * r[c]:.2f}" for c in (
            "fold5_message_f1", "fold5_source_f1", "fold5_joint_f1", "seeds_span_f1", "seeds_attribution_f1")))
    console.print(t)
    if args.out:
        args.out.write_text(json.dumps({"reviews": summary, "rows": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

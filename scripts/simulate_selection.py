#!/usr/bin/env python
"""Replay active learning on a labelled table: macro-F1 against labels spent, per strategy.

What it answers: how many labels does `qst select --strategy uncertainty` save over labelling
random quotes? Each repetition holds out a test set of whole articles (seeded), starts every
strategy from the same random seed set, then repeatedly fits the model on the labels so far,
scores it on the test set, and lets the strategy pick the next batch from the rest of the pool
(`toolkit.stance.select.select`, the code `qst select` runs). Curves are the mean over
repetitions with a 95% t-interval; the saving is the number of labels each strategy needs to
reach a target macro-F1 (default: what random sampling reaches with the whole budget), with a
95% bootstrap interval over repetitions (paired: both strategies share splits and seed sets).

    .venv/bin/python scripts/simulate_selection.py --data out/demo/train/labelled.parquet --out out/sim-seeds
    .venv/bin/python scripts/simulate_selection.py --synthetic 1600 --out out/sim-synth

`--synthetic N` generates a German table at run time (nothing is downloaded or committed); its
cue phrases are invented, so its saving says how the method behaves, not what real news gives.
`--spkatt N` takes real news sentences instead (SpkAtt-2023, read from ../shared/spkatt-news, with
their speakers and articles) labelled by scripts/bench_train.py's noisy cue words and speaker
leanings: real wording, invented stance.
Writes OUT/simulation.json, curves.csv, learning_curves.png, report.md and report.html.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from toolkit.stance.data import Columns, load_labelled, prepare  # noqa: E402
from toolkit.stance.features import features_of, text_features  # noqa: E402
from toolkit.stance.models import build_model, class_scores, fit_model  # noqa: E402
from toolkit.stance.select import STRATEGIES, select  # noqa: E402

# --------------------------------------------------------------------------------------------
# A synthetic German table (generated, never committed)
# --------------------------------------------------------------------------------------------

_TARGETS = ["Tempolimit", "Mietendeckel", "Windkraft"]
_CUES = {
    "favor": ["begrüßt ausdrücklich", "unterstützt", "hält für richtig", "sieht eine große Chance in",
              "wirbt entschieden für", "ist überzeugt von"],
    "against": ["lehnt strikt ab", "kritisiert scharf", "hält für einen Fehler", "warnt eindringlich vor",
                "nennt gefährlich", "will verhindern"],
    "neutral": ["berichtet über", "erläutert die Zahlen zu", "kündigt eine Anhörung an zu",
                "verweist auf das Verfahren zu", "nennt den Zeitplan für", "beschreibt den Stand bei"],
}
_HEDGES = ["vielleicht", "unter Umständen", "eventuell", "möglicherweise"]
_FILLER = ("die Regierung der Bund das Land die Stadt heute diese Woche im Ausschuss nach der Sitzung "
           "laut Protokoll vor Journalisten in Berlin am Rande").split(" ")


def _quote(rng: np.random.Generator, label: str, target: str) -> str:
    """One quote: an easy cue, a hedged cue, or a concession whose second clause carries the stance."""
    kind = rng.choice(["easy", "hedged", "concession"], p=[0.55, 0.25, 0.20])
    filler = " ".join(rng.choice(_FILLER, 4))
    cue = str(rng.choice(_CUES[label]))
    if kind == "hedged":
        cue = f"{rng.choice(_HEDGES)} {cue}"
    if kind == "concession" and label != "neutral":
        other = "against" if label == "favor" else "favor"
        return f"{filler}: zwar {rng.choice(_CUES[other])} {target}, aber am Ende {cue} {target}"
    return f"{filler}: {cue} {target}"


def synthetic_table(n: int, seed: int = 0, per_article: int = 8, noise: float = 0.05) -> pd.DataFrame:
    """Labelled German-like quotes in articles; imbalanced classes, hedges, concessions, 5% label noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        a = i // per_article
        target = _TARGETS[a % len(_TARGETS)]
        label = str(rng.choice(["favor", "against", "neutral"], p=[0.2, 0.35, 0.45]))
        text = _quote(rng, label, target)
        if rng.random() < noise:
            label = str(rng.choice(["favor", "against", "neutral"]))
        rows.append({"quote_id": f"q_{i:016x}", "article_id": f"a{a:05d}", "text": text, "label": label,
                     "target": target, "speaker": f"Sprecher {rng.integers(40)}"})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# The replay
# --------------------------------------------------------------------------------------------


def _split(frame: pd.DataFrame, test_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A held-out test set of whole articles (the pool is the rest)."""
    from sklearn.model_selection import GroupShuffleSplit

    gss = GroupShuffleSplit(n_splits=1, test_size=test_share, random_state=seed)
    pool, test = next(gss.split(frame, groups=frame["group"]))
    return pool, test


def _seed_set(labels: np.ndarray, start: int, rng: np.random.Generator) -> np.ndarray:
    """`start` random pool rows holding at least two classes (a model needs two to fit)."""
    for _ in range(1000):
        take = rng.choice(len(labels), size=min(start, len(labels)), replace=False)
        if len(set(labels[take])) >= 2:
            return take
    raise SystemExit("the pool has a single class: nothing to simulate")


def replay(frame: pd.DataFrame, strategy: str, pool: np.ndarray, test: np.ndarray, start_idx: np.ndarray,
           batch: int, budget: int, seed: int, model: str, use_target: bool) -> list[tuple[int, float]]:
    """(labels spent, test macro-F1) after each round of one strategy in one repetition."""
    from sklearn.metrics import f1_score

    X_test, y_test = features_of(frame.iloc[test]), frame["label"].to_numpy()[test]
    vectors = text_features().fit_transform(frame["text"].astype(str)) if strategy == "diverse" else None
    labelled = list(pool[start_idx])
    free = np.setdiff1d(pool, labelled)
    curve = []
    for rnd in range(10_000):
        fitted = fit_model(build_model(model, use_target=use_target, seed=seed), frame.iloc[labelled])
        f1 = f1_score(y_test, fitted.predict(X_test), average="macro", zero_division=0)
        curve.append((len(labelled), float(f1)))
        if len(labelled) >= budget or len(free) == 0:
            return curve
        take = min(batch, budget - len(labelled), len(free))
        _, scores = class_scores(fitted, features_of(frame.iloc[free]))
        sel = select(scores, take, strategy, groups=frame["group"].to_numpy()[free],
                     vectors=None if vectors is None else vectors[free], seed=seed * 10_007 + rnd)
        chosen = free[sel.indices]
        labelled += chosen.tolist()
        free = np.setdiff1d(free, chosen)
    return curve


def simulate(frame: pd.DataFrame, strategies: list[str], start: int, batch: int, budget: int, repeats: int,
             test_share: float, seed: int, model: str) -> tuple[pd.DataFrame, int]:
    """Every strategy x repetition: one row per round (strategy, repeat, labels, macro_f1).

    All repetitions run to the same budget, at most 80% of the smallest pool: a strategy that
    labels the whole pool ends with the same labels as any other, which would hide the saving.
    """
    use_target = bool((frame["target"] != "").any())
    splits = [_split(frame, test_share, seed + r) for r in range(repeats)]
    cap = min(budget, int(0.8 * min(len(pool) for pool, _ in splits)))
    if cap <= start:
        raise SystemExit(f"the smallest pool ({min(len(p) for p, _ in splits)} quotes) leaves no budget beyond "
                         f"--start {start}: lower --start or --test-share")
    rows = []
    for r, (pool, test) in enumerate(splits):
        rng = np.random.default_rng(seed + r)
        start_idx = _seed_set(frame["label"].to_numpy()[pool], start, rng)
        for strategy in strategies:
            for n, f1 in replay(frame, strategy, pool, test, start_idx, batch, cap, seed + r, model, use_target):
                rows.append({"strategy": strategy, "repeat": r, "labels": n, "macro_f1": f1,
                             "n_test": len(test)})
        print(f"  repeat {r + 1}/{repeats} done", file=sys.stderr, flush=True)
    return pd.DataFrame(rows), cap


# --------------------------------------------------------------------------------------------
# Curves, intervals and the saving
# --------------------------------------------------------------------------------------------


def mean_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean macro-F1 per strategy and budget with a 95% t-interval over repetitions."""
    from scipy import stats

    g = runs.groupby(["strategy", "labels"])["macro_f1"]
    out = g.agg(["mean", "std", "count"]).reset_index()
    half = stats.t.ppf(0.975, np.maximum(out["count"] - 1, 1)) * out["std"].fillna(0) / np.sqrt(out["count"])
    out["lo"], out["hi"] = out["mean"] - half, out["mean"] + half
    return out


def labels_to_reach(labels: np.ndarray, f1: np.ndarray, target: float) -> float:
    """First budget at which a curve reaches `target` (linear between rounds); nan if never."""
    hit = np.nonzero(f1 >= target)[0]
    if not len(hit):
        return float("nan")
    i = int(hit[0])
    if i == 0:
        return float(labels[0])
    x0, x1, y0, y1 = labels[i - 1], labels[i], f1[i - 1], f1[i]
    return float(x0 + (target - y0) / (y1 - y0) * (x1 - x0)) if y1 > y0 else float(x1)


def saving(runs: pd.DataFrame, base: str, other: str, target: float, n_boot: int = 1000,
           seed: int = 0) -> dict[str, Any]:
    """Labels `base` and `other` need to reach `target` on the mean curves, with a paired bootstrap
    over repetitions (resample repetitions, recompute both mean curves)."""
    piv = {s: runs[runs.strategy == s].pivot(index="repeat", columns="labels", values="macro_f1")
           for s in (base, other)}
    common = sorted(set(piv[base].columns) & set(piv[other].columns))
    a, b = piv[base][common].to_numpy(), piv[other][common].to_numpy()
    x = np.asarray(common, dtype=float)
    need_a, need_b = labels_to_reach(x, a.mean(0), target), labels_to_reach(x, b.mean(0), target)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        rows = rng.integers(0, len(a), len(a))
        diffs.append(labels_to_reach(x, a[rows].mean(0), target) - labels_to_reach(x, b[rows].mean(0), target))
    diffs = np.asarray(diffs)
    ok = ~np.isnan(diffs)
    ci = [round(float(v), 1) for v in np.percentile(diffs[ok], [2.5, 97.5])] if ok.mean() >= 0.95 else None
    return {"target_macro_f1": round(target, 4), f"labels_{base}": _r(need_a), f"labels_{other}": _r(need_b),
            "saved_labels": _r(need_a - need_b), "saved_share": _r((need_a - need_b) / need_a, 3),
            "saved_labels_ci95": ci, "bootstrap_reached_share": round(float(ok.mean()), 3)}


def _r(v: float, nd: int = 1) -> float | None:
    return None if np.isnan(v) else round(float(v), nd)


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def _report(summary: dict[str, Any], curves: pd.DataFrame, png: bytes) -> tuple[str, str]:
    """report.md and a self-contained report.html: title, summary table, then the plot it explains."""
    import base64
    import html

    from toolkit.stance.report import _markdown_to_html, _md_table

    s, sav = summary, summary["saving"]
    budgets = sorted(curves["labels"].unique())
    marks = [budgets[0], budgets[len(budgets) // 2], budgets[-1]]
    rows = [{"strategy": st, **{f"macro-F1 @ {int(b)} labels": _cell(curves, st, b) for b in marks}}
            for st in s["strategies"]]
    need = (f"To reach macro-F1 {sav['target_macro_f1']:.3f}, random needs {sav['labels_random']} labels and "
            f"uncertainty {sav['labels_uncertainty']}: **{sav['saved_labels']} labels saved** "
            f"(95% CI {sav['saved_labels_ci95']}, bootstrap over repetitions)."
            if sav.get("saved_labels") is not None else
            f"Not measured: a strategy never reaches macro-F1 {sav['target_macro_f1']:.3f} on the mean curve.")
    md = "\n".join([f"# Active learning simulation: {s['data']}\n", *(f"> **{w}**\n" for w in s["warnings"]),
                    f"{s['n_quotes']} labelled quotes in {s['n_articles']} articles; {s['repeats']} repetitions, "
                    f"each with a held-out test set of whole articles (~{s['n_test_mean']:.0f} quotes), "
                    f"{s['start']} random seed labels, batches of {s['batch']}, model {s['model']}, seed "
                    f"{s['seed']}.\n", "## Summary\n", _md_table(rows), need + "\n", "[[figure]]\n",
                    f"Command: `{s['command']}`\n"])
    fig = (f'<figure><img alt="learning curves" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
           f"<figcaption>macro-F1 on the held-out articles vs. labels spent (mean, 95% interval)</figcaption>"
           f"</figure>")
    body = _markdown_to_html(md).replace("<p>[[figure]]</p>", fig)
    css = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px}img{max-width:100%}"
           "blockquote{background:#fff3cd;margin:0;padding:.5em 1em}")
    page = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(s['data'])}"
            f"</title><style>{css}</style></head><body>{body}</body></html>\n")
    return md.replace("[[figure]]\n", "![learning curves](learning_curves.png)\n"), page


def _cell(curves: pd.DataFrame, strategy: str, labels: float) -> str:
    row = curves[(curves.strategy == strategy) & (curves.labels == labels)]
    if row.empty:
        return "–"
    r = row.iloc[0]
    return f"{r['mean']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]"


def _spkatt_table(n: int, seed: int) -> tuple[pd.DataFrame, str]:
    """scripts/bench_train.py's table (SpkAtt-2023 sentences, cue-word labels) with article ids."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_train", ROOT / "scripts" / "bench_train.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    raw, src = bench.make_table(n, seed=seed, with_article=True)
    return raw, f"{src} with cue-word labels ({n} quotes, scripts/bench_train.py's table)"


def _load(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    if args.spkatt:
        raw, name = _spkatt_table(args.spkatt, args.seed)
    elif args.synthetic:
        raw, name = synthetic_table(args.synthetic, seed=args.seed), f"synthetic German table ({args.synthetic} quotes)"
    else:
        raw, _ = load_labelled(args.data)
        name = str(args.data)
    prep = prepare(raw, Columns(), name)
    frame = prep.frame
    if not prep.has_group or frame["group"].nunique() < 2:
        raise SystemExit(f"{name}: needs an article_id column with at least two articles")
    return frame.reset_index(drop=True), name


def _warnings(frame: pd.DataFrame, mean_test: float) -> list[str]:
    out = []
    if len(frame) < 200:
        out.append(f"Too small to show a saving: {len(frame)} labelled quotes, about {mean_test:.0f} test "
                   f"quotes per repetition; the intervals overlap by construction.")
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=Path, help="A labelled table (as for `qst train`).")
    src.add_argument("--synthetic", type=int, help="Generate a synthetic German table of N quotes.")
    src.add_argument("--spkatt", type=int, metavar="N",
                     help="N SpkAtt-2023 sentences (../shared/spkatt-news) labelled as scripts/bench_train.py does.")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--strategies", nargs="+", default=["random", "uncertainty"], choices=STRATEGIES)
    ap.add_argument("--start", type=int, default=20, help="Random seed labels.")
    ap.add_argument("--batch", type=int, default=20, help="Labels per round.")
    ap.add_argument("--budget", type=int, default=400, help="Stop after this many labels.")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--test-share", type=float, default=0.25)
    ap.add_argument("--target-f1", type=float, default=None, help="Default: random's mean at the full budget.")
    ap.add_argument("--model", default="tfidf-logreg")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if "random" not in args.strategies or "uncertainty" not in args.strategies:
        ap.error("--strategies must include random and uncertainty (the saving compares them)")
    frame, name = _load(args)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # small L-BFGS problems: threaded BLAS only spins (20x slower on 2 busy cores)
            runs, used_budget = simulate(frame, args.strategies, args.start, args.batch, args.budget, args.repeats,
                        args.test_share, args.seed, args.model)
    curves = mean_curves(runs)
    rand = curves[curves.strategy == "random"]
    target = args.target_f1 if args.target_f1 is not None else float(rand.loc[rand["labels"].idxmax(), "mean"])
    args.budget = used_budget
    return _write(args, frame, name, runs, curves, saving(runs, "random", "uncertainty", target, seed=args.seed))


def _write(args: argparse.Namespace, frame: pd.DataFrame, name: str, runs: pd.DataFrame, curves: pd.DataFrame,
           sav: dict[str, Any]) -> dict[str, Any]:
    from toolkit.fileio import write_json, write_text
    from toolkit.stance.report import plot_selection_curves

    mean_test = float(runs.groupby("repeat")["n_test"].first().mean())
    summary = {"data": name, "n_quotes": len(frame), "n_articles": int(frame["group"].nunique()),
               "strategies": args.strategies, "start": args.start, "batch": args.batch, "budget": args.budget,
               "repeats": args.repeats, "test_share": args.test_share, "model": args.model, "seed": args.seed,
               "n_test_mean": mean_test, "saving": sav, "warnings": _warnings(frame, mean_test),
               "command": "python scripts/simulate_selection.py " + " ".join(sys.argv[1:]),
               "curves": json.loads(curves.round(4).to_json(orient="records"))}
    png = plot_selection_curves(json.loads(curves.to_json(orient="records")), sav)
    args.out.mkdir(parents=True, exist_ok=True)
    md, page = _report(summary, curves, png)
    (args.out / "learning_curves.png").write_bytes(png)
    curves.round(4).to_csv(args.out / "curves.csv", index=False)
    write_json(args.out / "simulation.json", summary)
    write_text(args.out / "report.md", md)
    write_text(args.out / "report.html", page)
    print(f"{name}: {len(frame)} quotes, {summary['n_articles']} articles, {args.repeats} repetitions")
    print(curves.round(3).to_string(index=False))
    for w in summary["warnings"]:
        print(f"warning: {w}")
    print("saving: " + json.dumps(sav))
    print(f"wrote {args.out}/report.html, learning_curves.png, curves.csv, simulation.json")
    return summary


if __name__ == "__main__":
    main()

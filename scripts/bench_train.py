#!/usr/bin/env python
"""Time `qst train` phase by phase on a SemEval-sized table, for one or more source trees side by side.

Why: the SemEval-2016 Task 6 data may not be shipped, yet the speed and model-size targets are set
for its size (2,814 training rows, 1,249 test rows, 5 targets, 3 labels, `--per-target --model
svm-ngrams --test`). So the table is generated here, at benchmark time, with realistic German
text: sentences of the SpkAtt-2023 news corpus (`../shared/spkatt-news/train.jsonl`, licence
CC BY-NC-SA: read from there, written only to the output folder, never committed) with their
speaker, cue verb and quote type; without that corpus, sentences of the bundled seed articles.
Labels carry a learnable but noisy signal (stance cue words, some speakers biased), so the
classifiers do real work; the scores on it mean nothing beyond "the models learn".

Each tree runs `run_training` in a fresh child process (its own peak RSS) with the tree on
PYTHONPATH, and the child wraps the run's steps to charge CPU seconds (its own and its worker
processes', via psutil) and wall seconds to phases, exclusive of nested phases:

    .venv/bin/python scripts/bench_train.py --tree before=/path/to/main --tree after=.
    .venv/bin/python scripts/bench_train.py --model ensemble --repeat 3

Figures go to stdout as a Markdown table (phases as rows, trees as columns) and to
OUT/bench_train.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SPKATT = ROOT.parent / "shared" / "spkatt-news" / "train.jsonl"
TARGETS = ("Tempolimit", "Windkraft", "Mietendeckel", "Bürgergeld", "Cannabis-Legalisierung")
LABELS = ("favor", "against", "neutral")
CUES = {"favor": ("begrüßt", "unterstützt", "richtig", "überfällig", "Chance", "gut so"),
        "against": ("lehnt ab", "falsch", "gefährlich", "Fehler", "kritisiert", "nicht hinnehmbar"),
        "neutral": ("berichtet", "erklärt", "Termin", "Zahlen", "Sitzung", "informiert")}

# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def _tweet_length(sentence: str, i: int) -> str:
    """A sentence cut at a word boundary to 60-140 characters (tweets of 2016: at most 140, most shorter)."""
    limit = 60 + (i * 37) % 81
    if len(sentence) <= limit:
        return sentence
    return sentence[:limit].rsplit(" ", 1)[0]


def _spkatt_sentences(path: Path) -> list[dict]:
    """SpkAtt sentences (tweet-length), each with the speaker, cue and type of a quote inside it."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            art = json.loads(line)
            text = art["text"]
            for start, end in art["sentences"]:
                q = next((q for q in art["quotes"] if start <= q["start"] < end), None)
                rows.append({"text": _tweet_length(text[start:end], len(rows)), "article_id": art["doc_id"],
                             "speaker": (q or {}).get("speaker_text") or "",
                             "cue": (q or {}).get("cue_text") or "", "quote_type": (q or {}).get("type") or "none"})
    return rows


def _seed_sentences() -> list[dict]:
    """Fallback pool: sentences of the bundled seed articles, with article ids."""
    rows = []
    for path in sorted((ROOT / "annotations" / "articles").glob("*.txt")):
        for sent in re.split(r"(?<=[.!?])\s+", path.read_text(encoding="utf-8")):
            if len(sent.split()) >= 4:
                rows.append({"text": _tweet_length(sent, len(rows)), "article_id": path.stem, "speaker": "", "cue": "",
                             "quote_type": "none"})
    return rows


def make_table(n_rows: int, seed: int = 0, source: str = "auto",
               with_article: bool = False) -> tuple[pd.DataFrame, str]:
    """`n_rows` labelled rows over 5 targets; (table, where the sentences came from).

    `with_article` adds each sentence's article id (scripts/simulate_selection.py splits by
    article); the benchmark leaves it out, since its train and test tables draw from one pool.
    """
    use_spkatt = source == "spkatt" or (source == "auto" and SPKATT.exists())
    pool = _spkatt_sentences(SPKATT) if use_spkatt else _seed_sentences()
    rng = np.random.default_rng(seed)
    speakers = [f"Sprecher {i}" for i in range(60)]
    bias = {s: LABELS[i % 3] for i, s in enumerate(speakers[:15])}  # a quarter of speakers lean one way
    rows = []
    for i, k in enumerate(rng.choice(len(pool), n_rows, replace=n_rows > len(pool))):
        base = pool[int(k)]
        speaker = base["speaker"] or str(rng.choice(speakers))
        label = bias.get(speaker) if rng.random() < 0.5 and speaker in bias else None
        label = label or str(rng.choice(LABELS, p=[0.26, 0.48, 0.26]))  # SemEval-like: AGAINST is the majority
        cue_label = label if rng.random() < 0.55 else str(rng.choice(LABELS))
        words = base["text"].split()
        words.insert(int(rng.integers(len(words) + 1)), str(rng.choice(CUES[cue_label])))
        rows.append({"quote_id": f"b{seed}-{i:05d}", "text": " ".join(words),
                     "target": TARGETS[int(rng.integers(len(TARGETS)))], "label": label, "speaker": speaker,
                     "cue": base["cue"], "quote_type": base["quote_type"],
                     **({"article_id": base["article_id"]} if with_article else {})})
    return pd.DataFrame(rows), ("SpkAtt-2023 sentences" if use_spkatt else "seed-article sentences")


# --------------------------------------------------------------------------------------------
# The child: one training run with its phases timed
# --------------------------------------------------------------------------------------------

_CHILD = r"""
import json, resource, sys, time
import psutil
from pathlib import Path

args = json.loads(sys.argv[1])
t_import = time.perf_counter()
from toolkit.stance import report, train
from toolkit.stance.train import TrainOptions, run_training

proc = psutil.Process()
def cpu():
    total = sum(proc.cpu_times()[:2])
    for child in proc.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:
            pass
    return total + DEAD[0]

DEAD = [0.0]  # CPU of worker processes that ended between samples (approximate, read at exit)
phases = {}
stack = []
def wrap(owner, attr, phase):
    fn = getattr(owner, attr, None)
    if fn is None:
        return
    def timed(*a, **k):
        stack.append([0.0, 0.0])
        w0, c0 = time.perf_counter(), cpu()
        try:
            return fn(*a, **k)
        finally:
            dw, dc = time.perf_counter() - w0, cpu() - c0
            inner_w, inner_c = stack.pop()
            p = phases.setdefault(phase, {"wall_s": 0.0, "cpu_s": 0.0, "calls": 0})
            p["wall_s"] += dw - inner_w; p["cpu_s"] += dc - inner_c; p["calls"] += 1
            if stack:
                stack[-1][0] += dw; stack[-1][1] += dc
    setattr(owner, attr, timed)

from toolkit.stance import models as _models
wrap(train, "_load_data", "load and check data")
wrap(train, "fit_model", "fit (incl. C search)")
wrap(train, "class_scores", "predict scores")
wrap(report, "evaluate", "metrics + bootstrap")
wrap(train, "_figures", "figures")
wrap(report, "write_report", "report files")
wrap(train, "save_model", "save model")
import_s = time.perf_counter() - t_import
opts = TrainOptions(models=tuple(args["models"]), per_target=True, n_boot=args["n_boot"], seed=0)
w0, c0 = time.perf_counter(), cpu()
result = run_training(args["train"], args["out"], opts=opts, test_path=args["test"])
wall, total_cpu = time.perf_counter() - w0, cpu() - c0
try:
    from joblib.externals.loky import get_reusable_executor
    get_reusable_executor().shutdown(wait=True)
except Exception:
    pass
accounted = sum(p["cpu_s"] for p in phases.values())
phases["other (splits, errors, model card)"] = {"wall_s": wall - sum(p["wall_s"] for p in phases.values()),
                                                "cpu_s": total_cpu - accounted, "calls": 1}
model = Path(args["out"]) / "model.skops"
saved = result["saved_model"]
print(json.dumps({"phases": phases, "import_s": import_s, "wall_s": wall, "cpu_s": total_cpu,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "peak_worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "model_mb": model.stat().st_size / 1e6, "saved_model": saved,
                  "f_avg": {m: r["f_avg"]["value"] for m, r in result["models"].items() if "f_avg" in r},
                  "f_avg_ci95": {m: r["f_avg"]["ci95"] for m, r in result["models"].items() if "f_avg" in r}}))
"""


def run_tree(name: str, tree: Path, train: Path, test: Path, out: Path, models: list[str], n_boot: int) -> dict:
    """One timed `run_training` in a child process that imports the toolkit from `tree`."""
    env = dict(os.environ, PYTHONPATH=str(tree.resolve()))
    args = {"train": str(train), "test": str(test), "out": str(out / f"run-{name}"), "models": models,
            "n_boot": n_boot}
    r = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(args)], capture_output=True, text=True, env=env,
                       cwd=tree)
    if r.returncode != 0:
        sys.exit(f"tree {name} ({tree}) failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def table(results: dict[str, list[dict]]) -> str:
    """Markdown: one row per phase, CPU-s and wall-s per tree (medians over repeats)."""
    names = list(results)
    phase_names = list(dict.fromkeys(p for runs in results.values() for p in runs[0]["phases"]))

    def med(runs: list[dict], key: str, phase: str | None = None) -> float:
        vals = [(r["phases"].get(phase, {}).get(key, 0.0) if phase else r[key]) for r in runs]
        return float(np.median(vals))

    head = "| phase | " + " | ".join(f"{n} CPU s | {n} wall s" for n in names) + " |"
    rows = [head, "|---|" + "---:|---:|" * len(names)]
    for p in phase_names:
        rows.append(f"| {p} | " + " | ".join(f"{med(results[n], 'cpu_s', p):.2f} | {med(results[n], 'wall_s', p):.2f}"
                                           for n in names) + " |")
    rows.append("| **total run_training** | " + " | ".join(
        f"**{med(results[n], 'cpu_s'):.2f}** | **{med(results[n], 'wall_s'):.2f}**" for n in names) + " |")
    for key, label, fmt in (("peak_rss_mb", "peak RSS MB (main process)", "{:.0f}"),
                            ("peak_worker_rss_mb", "peak RSS MB (largest worker)", "{:.0f}"),
                            ("model_mb", "model.skops MB", "{:.2f}")):
        rows.append(f"| {label} | " + " | ".join(f"{fmt.format(med(results[n], key))} | " for n in names) + " |")
    for n in names:
        fa = results[n][0]["f_avg"]
        rows.append(f"| F_avg ({n}) | " + ", ".join(f"{m} {v:.3f}" for m, v in fa.items()) + " |" +
                    " |" * (2 * len(names) - 1))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=PATH",
                    help="a source tree to time (repeatable; default: this tree as 'this')")
    ap.add_argument("--model", action="append", default=[], help="--model for qst train (default svm-ngrams)")
    ap.add_argument("--rows", type=int, default=2814, help="training rows (default 2,814, SemEval's)")
    ap.add_argument("--test-rows", type=int, default=1249, help="test rows (default 1,249, SemEval's)")
    ap.add_argument("--source", choices=("auto", "spkatt", "seeds"), default="auto",
                    help="sentence pool: SpkAtt when present (auto), or the seed articles")
    ap.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates (qst train's default 1000)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per tree, interleaved; medians are printed")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "bench-train")
    args = ap.parse_args(argv)
    trees = [t.split("=", 1) if "=" in t else (Path(t).name, t) for t in args.tree] or [("this", str(ROOT))]
    args.out.mkdir(parents=True, exist_ok=True)
    train, src = make_table(args.rows, seed=0, source=args.source)
    test, _ = make_table(args.test_rows, seed=1, source=args.source)
    train.to_parquet(args.out / "train.parquet")
    test.to_parquet(args.out / "test.parquet")
    load_at_start = os.getloadavg()
    print(f"table: {len(train)} train + {len(test)} test rows from {src}, {len(TARGETS)} targets; "
          f"{os.cpu_count()} CPUs, load {load_at_start}", file=sys.stderr)
    results: dict[str, list[dict]] = {name: [] for name, _ in trees}
    for i in range(args.repeat):
        for name, path in trees:
            res = run_tree(name, Path(path), args.out / "train.parquet", args.out / "test.parquet", args.out,
                           args.model or ["svm-ngrams"], args.bootstrap)
            results[name].append(res)
            print(f"{name} run {i + 1}: {res['cpu_s']:.1f} CPU s, {res['wall_s']:.1f} s wall, "
                  f"model {res['model_mb']:.1f} MB", file=sys.stderr, flush=True)
    (args.out / "bench_train.json").write_text(json.dumps(
        {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                     "load_avg_at_start": load_at_start, "load_avg_at_end": os.getloadavg()}, "table": src, "rows": args.rows,
         "test_rows": args.test_rows, "models": args.model or ["svm-ngrams"], "results": results}, indent=2) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

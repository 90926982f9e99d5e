#!/usr/bin/env python
"""CPU time of the quote rules alone (everything of extraction but segmentation), per article.

Segmentation (paragraphs + SoMaJo sentences) is computed once per article and replayed from a
cache, so what is timed is detection (the frame finders, `detect_quotes`, `free_indirect`), the
speaker discourse scan and record building: the project's own rules. Each tree given with
--tree runs in its own child process (PYTHONPATH = that tree), and the trees alternate round by
round, so before/after figures are side by side under the same machine load.

    python scripts/bench_rules.py --tree /path/to/main --tree . --spkatt 200 --corpus c.jsonl --n 1000 --rounds 3
    python scripts/bench_rules.py --tree . --spkatt 200 --profile 25     # cProfile, top 25 by own time
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPKATT = ROOT.parent / "shared" / "spkatt-news" / "train.jsonl"

_CHILD = r"""
import cProfile, io, json, pstats, sys, time
from itertools import islice
a = json.loads(sys.argv[1])
from toolkit.attribution import extract as ex
from toolkit.attribution.speakers import load_registry
from toolkit.ingest import make_article, read_articles
reg = load_registry(None)
sets = {}
if a["spkatt"]:
    docs = [json.loads(l) for l in islice(open(a["spkatt_file"], encoding="utf-8"), a["spkatt"])]
    sets["spkatt"] = [make_article({"id": d["doc_id"], "text": d["text"], "date": d.get("date"),
                                    "title": d.get("title")}, "x") for d in docs]
if a["corpus"]:
    sets["corpus"] = list(islice(read_articles(a["corpus"]), a["n"]))
cache, original = {}, ex._safe_sentences
def cached(text, paras):
    key = (text, tuple(paras))
    if key not in cache:
        cache[key] = original(text, paras)
    return cache[key]
ex._safe_sentences = cached
out = {}
for name, arts in sets.items():
    t0 = time.process_time()
    n_q = sum(len(ex.extract_article(art, reg)) for art in arts)  # fills the segmentation cache
    first = time.process_time() - t0
    if a["profile"]:
        prof = cProfile.Profile()
        prof.enable()
    t0 = time.process_time()
    for art in arts:
        ex.extract_article(art, reg)
    rules = time.process_time() - t0
    if a["profile"]:
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats(a["sort"]).print_stats(a["profile"])
        print(buf.getvalue(), file=sys.stderr)
    out[name] = {"articles": len(arts), "quotes": n_q, "rules_cpu_s": rules, "segment_cpu_s": first - rules}
print(json.dumps(out))
"""


def run_tree(tree: Path, args: argparse.Namespace) -> dict:
    """One child process on `tree`: rule CPU seconds per set."""
    child = {"spkatt": args.spkatt, "spkatt_file": str(args.spkatt_file), "corpus": str(args.corpus or ""),
             "n": args.n, "profile": args.profile, "sort": args.sort}
    env = dict(os.environ, PYTHONPATH=str(tree.resolve()))
    r = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(child)], capture_output=True, text=True,
                       env=env, cwd=tree)
    if r.returncode != 0:
        sys.exit(f"{tree}: failed\n{r.stderr[-3000:]}")
    if args.profile:
        print(r.stderr, file=sys.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", type=Path, action="append", help="a source tree (repeatable; default this one)")
    ap.add_argument("--spkatt", type=int, default=200, help="first N SpkAtt articles (0: none)")
    ap.add_argument("--spkatt-file", type=Path, default=SPKATT)
    ap.add_argument("--corpus", type=Path, help="a generated corpus (scripts/make_corpus.py), JSONL or Parquet")
    ap.add_argument("--n", type=int, default=1000, help="first N articles of --corpus")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", type=int, default=0, help="print cProfile's top N functions (one round)")
    ap.add_argument("--sort", default="tottime", help="cProfile sort key (tottime, cumulative)")
    args = ap.parse_args(argv)
    trees = args.tree or [ROOT]
    runs: dict[str, list[dict]] = {str(t): [] for t in trees}
    for _ in range(1 if args.profile else args.rounds):
        for t in trees:
            runs[str(t)].append(run_tree(t, args))
    print("| tree | set | articles | quotes | rule CPU ms/article (median; all rounds) | segmentation CPU ms/article |")
    print("|---|---|---:|---:|---|---:|")
    for t, rs in runs.items():
        for name in rs[0]:
            per = [r[name]["rules_cpu_s"] / r[name]["articles"] * 1000 for r in rs]
            seg = statistics.median(r[name]["segment_cpu_s"] / r[name]["articles"] * 1000 for r in rs)
            print(f"| {t} | {name} | {rs[0][name]['articles']} | {rs[0][name]['quotes']} | "
                  f"{statistics.median(per):.2f} ({', '.join(f'{p:.2f}' for p in per)}) | {seg:.2f} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Extraction speed beside bare sentence splitting, one process, on a generated corpus.

What a user pointing the toolkit at an archive needs to know: how many articles (and MB of text)
per second one core extracts, how much of that is the sentence splitter the extractor cannot do
without, and how much memory it takes. Every phase reads the same JSONL corpus through the
toolkit's streaming reader (`toolkit.ingest.read_articles`) in a fresh child process, so its peak
RSS is its own and memory stays flat however large the corpus is:

- `read`: reading and normalising only (the floor);
- `somajo`: reading + SoMaJo sentence splitting per paragraph, as the extractor does it;
- `extract`: reading + the full extractor (`toolkit.attribution.extract.extract_article`);
- `syntok`, `pysbd`: the two faster splitters for comparison, when installed (dev extras).

    .venv/bin/python scripts/bench_speed.py                # 10,000 generated articles
    .venv/bin/python scripts/bench_speed.py --n 2000 --phases read,somajo,extract

Figures go to stdout as a Markdown table and to OUT/bench_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import make_corpus  # noqa: E402

PHASES = ("read", "somajo", "syntok", "pysbd", "extract")

_CHILD = r"""
import json, resource, sys, time
from toolkit.ingest import read_articles
phase, corpus = sys.argv[1], sys.argv[2]
work = None
if phase == "somajo":
    from toolkit.attribution.segment import paragraphs, sentences
    work = lambda text: len(sentences(text, paragraphs(text)))
elif phase == "syntok":
    from syntok.segmenter import split
    from syntok.tokenizer import Tokenizer
    tok = Tokenizer()
    work = lambda text: sum(1 for _ in split(tok.tokenize(text)))
elif phase == "pysbd":
    import pysbd
    seg = pysbd.Segmenter(language="de", clean=False, char_span=False)
    work = lambda text: sum(len(seg.segment(p)) for p in text.split("\n") if p.strip())
elif phase == "extract":
    from toolkit.attribution.extract import extract_article
    from toolkit.attribution.speakers import load_registry
    registry = load_registry()
articles = chars = nbytes = units = 0
t0 = time.perf_counter()
for art in read_articles(corpus):
    text = art["text"]
    articles += 1
    chars += len(text)
    nbytes += len(text.encode("utf-8"))
    if phase == "extract":
        units += len(extract_article(art, registry))
    elif work is not None:
        units += work(text)
seconds = time.perf_counter() - t0
print(json.dumps({"phase": phase, "articles": articles, "chars": chars, "bytes": nbytes, "units": units,
                  "seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

UNIT = {"read": "", "somajo": "sentences", "syntok": "sentences", "pysbd": "sentences", "extract": "quotes"}


def run_phase(phase: str, corpus: Path) -> dict | None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", _CHILD, phase, str(corpus)], capture_output=True, text=True, env=env,
                       cwd=ROOT)
    if r.returncode != 0:
        if "ModuleNotFoundError" in r.stderr and phase in ("syntok", "pysbd"):
            print(f"{phase}: not installed, skipped", file=sys.stderr)
            return None
        sys.exit(f"phase {phase} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def table(results: list[dict]) -> str:
    rows = ["| phase | articles | articles/s | MB/s | output | peak RSS MB |", "|---|---:|---:|---:|---|---:|"]
    for r in results:
        unit = UNIT[r["phase"]]
        out = f"{r['units']:,} {unit}" if unit else "-"
        rows.append(f"| {r['phase']} | {r['articles']:,} | {r['articles'] / r['seconds']:.1f} | "
                    f"{r['bytes'] / 1e6 / r['seconds']:.2f} | {out} | {r['peak_rss_mb']:.0f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="articles in the generated corpus (default 10,000)")
    ap.add_argument("--corpus", type=Path, help="a JSONL corpus to use instead of generating one")
    ap.add_argument("--phases", default=",".join(PHASES), help="comma list of: " + ", ".join(PHASES))
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "bench-speed")
    args = ap.parse_args(argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = sorted(set(phases) - set(PHASES))
    if unknown:
        ap.error(f"unknown phase(s): {', '.join(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    corpus = args.corpus
    if corpus is None:
        corpus = args.out / f"corpus-{args.n}.jsonl"
        if not corpus.exists():
            make_corpus.write_jsonl(corpus, make_corpus.articles(args.n, seed=13), set())
    print(f"corpus {corpus} ({corpus.stat().st_size / 1e6:.1f} MB); {os.cpu_count()} CPUs, load {os.getloadavg()}",
          file=sys.stderr)
    results = []
    for phase in phases:
        res = run_phase(phase, corpus)
        if res is not None:
            results.append(res)
            print(f"{phase}: {res['articles'] / res['seconds']:.1f} articles/s", file=sys.stderr, flush=True)
    md = table(results)
    by = {r["phase"]: r for r in results}
    if "somajo" in by and "extract" in by and "read" in by:
        split = by["somajo"]["seconds"] - by["read"]["seconds"]
        share = split / max(by["extract"]["seconds"] - by["read"]["seconds"], 1e-9)
        md += f"\n\nSoMaJo splitting is {share:.0%} of the extractor's time beyond reading."
    (args.out / "bench_speed.json").write_text(json.dumps(
        {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                     "load_avg_at_start": os.getloadavg()}, "corpus": str(corpus), "results": results}, indent=2) + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Throughput and memory of `qst extract-corpus`: 1 process, 2 processes, Dask on 2 workers.

Generates (or reuses) a corpus with scripts/make_corpus.py, runs each configuration in a fresh
child process on the same corpus, and prints a table: wall time, articles/s, scaling efficiency
(rate with N workers / (N x single-process rate)), quotes, and peak RSS of the driver and of each
worker (ru_maxrss, recorded by every worker in its part entries). Results also go to
OUT/bench.json and OUT/bench.md. Long: ~60 articles/s per core with the real extractor (100,000 articles:
~27 min single-process, ~15 min per two-worker configuration), so run
it in the background, e.g.

    nohup .venv/bin/python scripts/bench_extract.py --n 5000 > out/bench/bench.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import make_corpus  # noqa: E402

CONFIGS = {"single": ("1 process", "local", 1), "local2": ("2 processes", "local", 2),
           "dask2": ("Dask LocalCluster, 2 workers", "dask", 2)}

_CHILD = """
import json, resource, sys
from toolkit.corpus.driver import run_corpus
from toolkit.corpus.plan import CorpusRun
a = json.loads(sys.argv[1])
s = run_corpus(CorpusRun(a["input"], a["out"], workers=a["workers"], engine=a["engine"], part_size=a["part_size"],
                         extract_fn=a["extract_fn"]))
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"summary": s, "driver_peak_mb": me.ru_maxrss / 1024,
                  "cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime}))
"""


def freeze_code(out: Path) -> Path:
    """Copy toolkit/ and schemas/ aside so every configuration runs the very same extractor,
    even while the working tree changes during a long benchmark."""
    snap = out / "code-snapshot"
    shutil.rmtree(snap, ignore_errors=True)
    for name in ("toolkit", "schemas"):
        shutil.copytree(ROOT / name, snap / name, ignore=shutil.ignore_patterns("__pycache__"))
    return snap


def run_config(key: str, corpus: Path, out: Path, part_size: int, extract_fn: str, code: Path = ROOT) -> dict:
    label, engine, workers = CONFIGS[key]
    target = out / f"run-{key}"
    shutil.rmtree(target, ignore_errors=True)
    args = {"input": str(corpus.resolve()), "out": str(target.resolve()), "workers": workers, "engine": engine,
            "part_size": part_size, "extract_fn": extract_fn}
    t0 = time.time()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(code), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(args)], capture_output=True, text=True, cwd=code,
                       env=env)
    wall = time.time() - t0
    if r.returncode != 0:
        sys.exit(f"{label} failed:\n{r.stderr[-3000:]}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    manifest = json.loads((target / "manifest.json").read_text())
    per_worker: dict[str, float] = {}
    for p in manifest["parts"]:
        w = p["worker"]
        key_w = f"{w['host']}:{w['pid']}"
        per_worker[key_w] = max(per_worker.get(key_w, 0.0), w["peak_rss_mb"])
    s = res["summary"]
    return {"config": label, "engine": engine, "workers": workers, "articles": s["articles"],
            "quotes": s["quotes"], "seconds": s["this_run"]["seconds"], "wall_seconds": round(wall, 1),
            "articles_per_s": s["this_run"]["records_per_s"], "driver_peak_mb": round(res["driver_peak_mb"], 1),
            # CPU of the driver and every worker it reaped: per article, the load-independent cost.
            "cpu_ms_per_article": round(res["cpu_s"] * 1000 / max(s["articles"], 1), 2),
            "worker_peak_mb": sorted(per_worker.values()), "status": s["status"]}


def table(results: list[dict]) -> str:
    base = next((r["articles_per_s"] for r in results if r["workers"] == 1), None)
    rows = ["| configuration | articles | quotes | seconds | articles/s | scaling efficiency | CPU ms/article "
            "| driver peak RSS MB | worker peak RSS MB |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        eff = f"{r['articles_per_s'] / (r['workers'] * base):.0%}" if base else "-"
        rows.append(f"| {r['config']} | {r['articles']:,} | {r['quotes']:,} | {r['seconds']:.1f} | "
                    f"{r['articles_per_s']:.1f} | {eff} | {r['cpu_ms_per_article']:.1f} | {r['driver_peak_mb']:.0f} | "
                    f"{', '.join(f'{m:.0f}' for m in r['worker_peak_mb'])} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="articles in the generated corpus (default 100,000)")
    ap.add_argument("--corpus", type=Path, help="use this corpus instead of generating one")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "bench")
    ap.add_argument("--part-size", type=int, default=250)
    ap.add_argument("--extract-fn", default="toolkit.attribution.extract:extract_article")
    ap.add_argument("--configs", default="single,local2,dask2", help="comma list of: " + ", ".join(CONFIGS))
    ap.add_argument("--no-freeze", action="store_true", help="run the working tree's code, not a snapshot")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    corpus = args.corpus
    if corpus is None:
        corpus = args.out / f"corpus-{args.n}.parquet"
        if not corpus.exists():
            make_corpus.write_parquet(corpus, make_corpus.articles(args.n, seed=13))
    machine = {"cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg(), "python": platform.python_version(),
               "platform": platform.platform(), "corpus": str(corpus), "part_size": args.part_size,
               "extract_fn": args.extract_fn, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    print(f"corpus {corpus}; {machine['cpus']} CPUs, load {machine['load_avg_at_start']}", file=sys.stderr)
    code = ROOT if args.no_freeze else freeze_code(args.out)
    machine["code"] = str(code)
    results = []
    for key in args.configs.split(","):
        res = run_config(key.strip(), corpus, args.out, args.part_size, args.extract_fn, code)
        res["load_avg_after"] = os.getloadavg()
        results.append(res)
        print(f"{res['config']}: {res['articles_per_s']} articles/s", file=sys.stderr, flush=True)
    digests = {}
    for key in args.configs.split(","):
        run = args.out / f"run-{key.strip()}"
        digests[key] = sorted(p["files"]["parquet"]["sha256"] for p in
                              json.loads((run / "manifest.json").read_text())["parts"])
    identical = len({json.dumps(d) for d in digests.values()}) == 1
    md = table(results) + f"\n\nOutput identical across configurations (sha256 of every part): {identical}\n"
    (args.out / "bench.json").write_text(json.dumps({"machine": machine, "results": results,
                                                     "identical_output": identical}, indent=2) + "\n")
    (args.out / "bench.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""How extraction time and memory grow with article length and with the number of quotes.

Two series of synthetic inputs, each extracted by the real extractor in a fresh child process:

- `article`: 1x, 4x, 16x, 64x a normal article. Block k is seed article k mod 5 of
  annotations/articles/ (its paragraphs, boilerplate lines included), speaker surnames swapped for
  block k's own from the name pool, plus one fresh direct and one fresh indirect quote;
- `dense`: N „…“, sagte X. pairs (1k, 4k, 16k), X in turn a registry name, its bare surname, "er"
  and an unregistered name (so surnames and pronouns are resolved back through the article),
  `--pairs-per-paragraph` to a paragraph (0: all in one paragraph, the worst case for
  per-paragraph work).

For each input the child reports the CPU seconds of `extract_article` alone (registry and SoMaJo
loaded by a warm-up call first; building the article dict is not counted), its peak RSS (VmHWM
from /proc/self/status, so imports and the warm-up are in it) and a digest of the records. The
last column is the CPU-time factor per doubling of the input, (t / t_prev) ** (1 / log2(chars /
chars_prev)): about 2 when time is linear in length, 4 when quadratic.

`--tree DIR` (repeatable) measures other checkouts of the toolkit on the same inputs, the trees
interleaved input by input so that they share the machine's load; the records of all trees are
compared. `--repeat R` runs each measurement R times and keeps the least CPU time.

    .venv/bin/python scripts/bench_scaling.py
    .venv/bin/python scripts/bench_scaling.py --tree /tmp/old-checkout --tree . --repeat 3
    .venv/bin/python scripts/bench_scaling.py --sizes 1,4 --pairs 100,400   # quick look
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import make_corpus  # noqa: E402

_CHILD = r"""
import hashlib, importlib, json, sys, time
from pathlib import Path
import toolkit
from toolkit.ingest import make_article

# The module of the tree's own layout. Trying the names in turn is not enough: an editable install
# of another checkout answers for module paths this tree does not have (toolkit.attribution.* of a
# tree still on the flat layout would come from that checkout).
base = Path(toolkit.__file__).resolve().parent
name = "toolkit.attribution.extract" if (base / "attribution" / "extract.py").exists() else "toolkit.extract"
extract_article = importlib.import_module(name).extract_article
extract_article(make_article({"id": "warm-up", "text": "„Wir sind bereit, weiter zu verhandeln“, sagte Miller."}, "w"))
with open(sys.argv[1], encoding="utf-8") as fh:
    article = make_article(json.load(fh), sys.argv[1])
t0 = time.process_time()
records = extract_article(article)
cpu = time.process_time() - t0
foreign = sorted(m for m, mod in list(sys.modules.items()) if m.startswith("toolkit") and getattr(mod, "__file__", None)
                 and not Path(mod.__file__).resolve().is_relative_to(base))
if foreign:
    raise SystemExit(f"modules from outside {base}: {', '.join(foreign)}")
with open("/proc/self/status") as fh:
    hwm_kb = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
digest = hashlib.sha1(json.dumps(records, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
print(json.dumps({"quotes": len(records), "cpu": cpu, "peak_rss_mb": hwm_kb / 1024, "digest": digest}))
"""


def article_text(blocks: int) -> str:
    """`blocks` seed-article-sized blocks, each with its own speaker names and two fresh quotes."""
    seeds = sorted((ROOT / "annotations" / "articles").glob("*.txt"))
    if not seeds:
        sys.exit(f"{ROOT / 'annotations' / 'articles'}: no seed articles")
    name_re = re.compile(r"\b(" + "|".join(make_corpus.SURNAMES) + r")\b")
    pool = make_corpus.POOL
    paras: list[str] = []
    for k in range(blocks):
        names = {s: pool[(k * 7 + i) % len(pool)] for i, s in enumerate(make_corpus.SURNAMES)}
        lines = [ln.strip() for ln in seeds[k % len(seeds)].read_text(encoding="utf-8").splitlines() if ln.strip()]
        paras += [name_re.sub(lambda m: names[m.group(1)], ln) for ln in lines]
        who = pool[(k * 3 + 1) % len(pool)]
        paras.append(f"„In Runde {k + 1} werden wir keine weiteren Zugeständnisse machen“, sagte {who} am Abend. "
                     f"Der Sprecher {who} sagte, die Gespräche würden in Woche {k + 2} fortgesetzt.")
    return "\n".join(paras)


#: Who speaks in the dense input, in turn: registry names, their bare surnames (resolved back to the
#: full name), a pronoun (resolved back to the latest person) and an unregistered name.
DENSE_SPEAKERS = ("Matthew Miller", "Miller", "er", "Jens Stoltenberg", "Stoltenberg", "Müller")


def dense_text(pairs: int, per_paragraph: int) -> str:
    """`pairs` direct quotes with a trailing frame, `per_paragraph` to a paragraph (0: one paragraph)."""
    quotes = [f"„Das ist Aussage Nummer {i + 1}, und wir stehen zu ihr.“, sagte {DENSE_SPEAKERS[i % 6]}."
              for i in range(pairs)]
    step = per_paragraph or max(pairs, 1)
    return "\n".join(" ".join(quotes[i:i + step]) for i in range(0, pairs, step))


def measure(tree: Path, article_file: Path, timeout: float | None) -> dict:
    """One fresh child process extracting the article with the toolkit of `tree`."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    try:
        r = subprocess.run([sys.executable, "-c", _CHILD, str(article_file)], capture_output=True, text=True,
                           env=env, cwd=tree, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"timeout": True}
    if r.returncode != 0:
        sys.exit(f"extraction failed in {tree}:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def per_doubling(cpu: float, chars: int, prev: dict | None) -> str:
    if prev is None or "cpu" not in prev or chars <= prev["chars"] or min(cpu, prev["cpu"]) <= 0:
        return "–"
    return f"{(cpu / prev['cpu']) ** (1 / math.log2(chars / prev['chars'])):.2f}"


def table(rows: list[dict], trees: list[str]) -> str:
    head = ["input", "size", "chars", "quotes"] + (["tree"] if len(trees) > 1 else []) + \
        ["CPU s", "peak RSS MB", "CPU × per doubling"]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if i < 2 or h == "tree" else "---:"
                                                         for i, h in enumerate(head)) + "|"]
    prev: dict[tuple[str, str], dict] = {}
    for r in rows:
        key = (r["series"], r["tree"])
        cells = [r["series"], r["size"], f"{r['chars']:,}"]
        if r.get("timeout"):
            cells += ["–"] + ([r["tree"]] if len(trees) > 1 else []) + ["timeout", "–", "–"]
        else:
            cells += [f"{r['quotes']:,}"] + ([r["tree"]] if len(trees) > 1 else []) + \
                [f"{r['cpu']:.2f}", f"{r['peak_rss_mb']:.0f}", per_doubling(r["cpu"], r["chars"], prev.get(key))]
        prev[key] = r
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def _ints(value: str) -> list[int]:
    return [int(v) for v in value.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=_ints, default=[1, 4, 16, 64], help="article lengths in seed articles")
    ap.add_argument("--pairs", type=_ints, default=[1000, 4000, 16000], help="quote pairs of the dense inputs")
    ap.add_argument("--pairs-per-paragraph", type=int, default=10, help="0: all pairs in one paragraph")
    ap.add_argument("--tree", type=Path, action="append", help="toolkit checkout to measure (repeatable; default: this one)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement; the least CPU time is kept")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per child before it counts as a timeout")
    args = ap.parse_args(argv)
    trees = [t.resolve() for t in (args.tree or [ROOT])]
    labels = [t.name or str(t) for t in trees]
    if len(set(labels)) < len(labels):
        labels = [str(t) for t in trees]
    inputs = [("article", f"{n}x", article_text(n)) for n in args.sizes] + \
        [("dense", f"{n:,} pairs", dense_text(n, args.pairs_per_paragraph)) for n in args.pairs]
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()}; trees: {', '.join(map(str, trees))}", file=sys.stderr)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (series, size, text) in enumerate(inputs):
            path = Path(tmp) / f"input-{i}.json"
            path.write_text(json.dumps({"id": f"bench-{series}-{i}", "text": text}, ensure_ascii=False), encoding="utf-8")
            runs: dict[str, list[dict]] = {label: [] for label in labels}
            for _ in range(max(args.repeat, 1)):
                for tree, label in zip(trees, labels):  # interleaved: the trees share the load
                    runs[label].append(measure(tree, path, args.timeout))
            for label in labels:
                done = [r for r in runs[label] if not r.get("timeout")]
                best = min(done, key=lambda r: r["cpu"]) if done else {"timeout": True}
                rows.append({"series": series, "size": size, "chars": len(text), "tree": label, **best})
                print(f"{series} {size} [{label}]: " + ("timeout" if best.get("timeout") else
                      f"{best['cpu']:.2f} s CPU, {best['peak_rss_mb']:.0f} MB"), file=sys.stderr, flush=True)
    print(table(rows, labels))
    if len(trees) > 1:
        differ = sorted({f"{r['series']} {r['size']}" for r in rows if "digest" in r and
                         len({o["digest"] for o in rows if "digest" in o and (o["series"], o["size"]) ==
                              (r["series"], r["size"])}) > 1})
        print("\nrecords identical across trees: " + ("yes" if not differ else "NO, for " + ", ".join(differ)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Extraction speed beside bare sentence splitting, per corpus, one child process per measurement.

What a user pointing the toolkit at an archive needs to know: how many articles per CPU-second one
core extracts, how much of that is the sentence splitter the extractor cannot do without, and how
much memory it takes. Every phase reads a JSONL corpus through the toolkit's streaming reader
(`toolkit.ingest.read_articles`) in a fresh child process, so its peak RSS is its own:

- `read`: reading and normalising only (the floor);
- `somajo`: reading + SoMaJo sentence splitting per paragraph, as the extractor does it;
- `extract`: reading + the full extractor (`extract_article`);
- `syntok`, `pysbd`: the two faster splitters for comparison, when installed (dev extras).

Two corpora: `generated` (scripts/make_corpus.py, `--n` articles; only about a third of its
paragraphs are distinct, so caches flatter it) and `spkatt`, the 700 real Wikinews articles of
../shared/spkatt-news/train.jsonl (skipped with a message when absent; never copied into the repo).
The child loads SoMaJo and the registry on a warm-up text, then reports the CPU seconds of the loop
(getrusage of the child itself, user + sys), its wall time and peak RSS (ru_maxrss), and a digest of
what it produced (sentence spans, extraction records) so that trees can be compared.

`--compare REPO` (repeatable) measures other checkouts in the same run: for every corpus and phase
the trees take turns, the order reversed every round, `--repeat` rounds; the table gives each
tree's best round and the ratio of CPU seconds, best against best and the range over the rounds.
`--boundaries` scores each tree's sentence ends against SpkAtt's gold `sentences` (precision,
recall, F1 of end offsets; exact-span F1).

    .venv/bin/python scripts/bench_speed.py                      # both corpora, this tree
    .venv/bin/python scripts/bench_speed.py --n 2000 --phases read,somajo,extract
    .venv/bin/python scripts/bench_speed.py --phases extract --compare /path/to/main --repeat 2
    .venv/bin/python scripts/bench_speed.py --boundaries --phases none --compare /path/to/main

Figures go to stdout as Markdown tables and to OUT/bench_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import make_corpus  # noqa: E402

PHASES = ("read", "somajo", "syntok", "pysbd", "extract")
CORPORA = ("generated", "spkatt")
SPKATT = ROOT.parent / "shared" / "spkatt-news" / "train.jsonl"

_CHILD = r"""
import hashlib, importlib, json, resource, sys, time
from pathlib import Path
import toolkit
from toolkit.ingest import make_article, read_articles
phase, corpus = sys.argv[1], sys.argv[2]
# the modules of this tree's own layout (an editable install of another checkout may answer otherwise)
base = Path(toolkit.__file__).resolve().parent
pkg = "toolkit.attribution" if (base / "attribution" / "segment.py").exists() else "toolkit"
seg = importlib.import_module(pkg + ".segment")
if phase == "boundaries":
    tp = fp = fn = exact = gold_n = pred_n = 0
    spans = hashlib.sha1()
    for line in open(corpus, encoding="utf-8"):
        doc = json.loads(line)
        gold, pred = {tuple(s) for s in doc["sentences"]}, seg.sentences(doc["text"])
        spans.update(json.dumps(pred).encode())
        g_end, p_end = {e for _, e in gold}, {e for _, e in pred}
        tp, fp, fn = tp + len(g_end & p_end), fp + len(p_end - g_end), fn + len(g_end - p_end)
        exact, gold_n, pred_n = exact + len(gold & set(pred)), gold_n + len(gold), pred_n + len(pred)
    print(json.dumps({"gold": gold_n, "predicted": pred_n, "tp": tp, "fp": fp, "fn": fn, "exact": exact,
                      "digest": spans.hexdigest()}))
    sys.exit(0)
work = None
if phase == "somajo":
    work = lambda art: seg.sentences(art["text"], seg.paragraphs(art["text"]))
elif phase == "syntok":
    from syntok.segmenter import split
    from syntok.tokenizer import Tokenizer
    tok = Tokenizer()
    work = lambda art: [len(s) for s in split(tok.tokenize(art["text"]))]
elif phase == "pysbd":
    import pysbd
    pseg = pysbd.Segmenter(language="de", clean=False, char_span=False)
    work = lambda art: [s for p in art["text"].split("\n") if p.strip() for s in pseg.segment(p)]
elif phase == "extract":
    ex, sp = importlib.import_module(pkg + ".extract"), importlib.import_module(pkg + ".speakers")
    registry = sp.load_registry()
    work = lambda art: ex.extract_article(art, registry)
if work is not None:  # SoMaJo, lexicon and registry loaded before the clock starts
    # the last sentence reaches SoMaJo in every tree (a unit after a number: `segment._abbreviation_dot`), so
    # its patterns are compiled before the clock in a tree whose fast path takes the first two as well
    work(make_article({"id": "warm-up", "text": "„Wir sind bereit“, sagte Miller. Dr. Meier kam z. B. nicht. "
                                                "Es dauerte 5 min. Dann kam er."}, "w"))
digest = hashlib.sha1()
articles = chars = nbytes = units = 0
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c0, t0 = cpu(), time.perf_counter()
for art in read_articles(corpus):
    text = art["text"]
    articles += 1
    chars += len(text)
    nbytes += len(text.encode("utf-8"))
    if work is not None:
        out = work(art)
        units += len(out)
        digest.update(json.dumps(out, ensure_ascii=False, sort_keys=True).encode())
cpu_s, wall = cpu() - c0, time.perf_counter() - t0
print(json.dumps({"phase": phase, "articles": articles, "chars": chars, "bytes": nbytes, "units": units,
                  "cpu_seconds": cpu_s, "seconds": wall, "digest": digest.hexdigest(),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

UNIT = {"read": "", "somajo": "sentences", "syntok": "sentences", "pysbd": "sentences", "extract": "quotes"}


def run_child(tree: Path, phase: str, corpus: Path) -> dict | None:
    """One measurement in a fresh interpreter importing the toolkit from `tree`; None when an
    optional splitter is not installed. `process_cpu_seconds` is the whole child (startup and
    imports included), from getrusage(RUSAGE_CHILDREN) around it."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")]))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([sys.executable, "-c", _CHILD, phase, str(corpus)], capture_output=True, text=True, env=env,
                       cwd=tree)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        if "ModuleNotFoundError" in r.stderr and phase in ("syntok", "pysbd"):
            print(f"{phase}: not installed, skipped", file=sys.stderr)
            return None
        sys.exit(f"{tree}: phase {phase} failed:\n{r.stderr[-3000:]}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res["process_cpu_seconds"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return res


def spkatt_corpus(spkatt: Path, out: Path) -> Path | None:
    """SpkAtt's articles as a toolkit JSONL corpus under OUT (outside the repository's tracked files)."""
    if not spkatt.exists():
        print(f"spkatt: {spkatt} absent, real-text measurement skipped", file=sys.stderr)
        return None
    corpus = out / "spkatt-corpus.jsonl"
    with spkatt.open(encoding="utf-8") as src, corpus.open("w", encoding="utf-8") as dst:
        for line in src:
            d = json.loads(line)
            dst.write(json.dumps({"id": d["doc_id"], "text": d["text"], "date": d.get("date"), "title": d.get("title")},
                                 ensure_ascii=False) + "\n")
    return corpus


def measure(trees: list[Path], corpora: dict[str, Path], phases: list[str], repeat: int) -> list[dict]:
    """Every (corpus, phase, round, tree), the trees alternating: round r runs them in order when r is
    even and reversed when odd, so that load drifting over the run hits each tree alike."""
    results = []
    for cname, corpus in corpora.items():
        for phase in phases:
            for rnd in range(repeat):
                for tree in (trees if rnd % 2 == 0 else trees[::-1]):
                    res = run_child(tree, phase, corpus)
                    if res is None:
                        break
                    res.update(corpus=cname, tree=str(tree), round=rnd)
                    results.append(res)
                    print(f"{cname} {phase} {tree.name} round {rnd + 1}: "
                          f"{res['articles'] / max(res['cpu_seconds'], 1e-9):.1f} articles/CPU-s", file=sys.stderr,
                          flush=True)
    return results


def _best(rows: list[dict]) -> dict:
    return min(rows, key=lambda r: r["cpu_seconds"])


def table(results: list[dict], trees: list[Path]) -> str:
    """One row per corpus, phase and tree: its best round (least CPU), and whether every tree produced
    the same output (digest)."""
    multi = len(trees) > 1
    rows = ["| corpus | phase | " + ("tree | " if multi else "") + "articles | articles/CPU-s | CPU s | wall s | "
            "MB/CPU-s | output | peak RSS MB |" + (" same output |" if multi else ""),
            "|---|---|" + ("---|" if multi else "") + "---:|---:|---:|---:|---:|---|---:|" + ("---|" if multi else "")]
    for (cname, phase), group in _groups(results).items():
        same = len({r["digest"] for r in group}) == 1
        for tree in trees:
            mine = [r for r in group if r["tree"] == str(tree)]
            if not mine:
                continue
            b = _best(mine)
            unit = UNIT[phase]
            out = f"{b['units']:,} {unit}" if unit else "-"
            rows.append(f"| {cname} | {phase} | " + (f"{tree.name} | " if multi else "")
                        + f"{b['articles']:,} | {b['articles'] / max(b['cpu_seconds'], 1e-9):.1f} | "
                        f"{b['cpu_seconds']:.2f} | {b['seconds']:.2f} | {b['bytes'] / 1e6 / max(b['cpu_seconds'], 1e-9):.2f}"
                        f" | {out} | {b['peak_rss_mb']:.0f} |" + ((" yes |" if same else " **no** |") if multi else ""))
    return "\n".join(rows)


def _groups(results: list[dict]) -> dict[tuple[str, str], list[dict]]:
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in results:
        groups.setdefault((r["corpus"], r["phase"]), []).append(r)
    return groups


def ratios(results: list[dict], trees: list[Path]) -> str:
    """CPU seconds of each compared tree over this tree's (> 1: this tree is faster), best round
    against best round, and the range of the per-round ratios (the two runs of a round ran back to
    back)."""
    lines = []
    for (cname, phase), group in _groups(results).items():
        this = {r["round"]: r for r in group if r["tree"] == str(trees[0])}
        for other in trees[1:]:
            theirs = {r["round"]: r for r in group if r["tree"] == str(other)}
            if not this or not theirs:
                continue
            per_round = sorted(theirs[k]["cpu_seconds"] / this[k]["cpu_seconds"] for k in this if k in theirs)
            best = _best(list(theirs.values()))["cpu_seconds"] / _best(list(this.values()))["cpu_seconds"]
            lines.append(f"- {cname} {phase}: {trees[0].name} {best:.2f}× {other.name} (CPU s, best of "
                         f"{len(per_round)}; rounds {per_round[0]:.2f}–{per_round[-1]:.2f}×)")
    return "\n".join(lines)


def boundaries(trees: list[Path], spkatt: Path) -> tuple[str, list[dict]]:
    """Sentence-end precision/recall/F1 and exact-span F1 of each tree against SpkAtt's gold."""
    rows = ["| tree | gold sentences | predicted | end P | end R | end F1 | exact-span F1 | spans digest |",
            "|---|---:|---:|---:|---:|---:|---:|---|"]
    out = []
    for tree in trees:
        r = run_child(tree, "boundaries", spkatt)
        assert r is not None
        p, rec = r["tp"] / max(r["tp"] + r["fp"], 1), r["tp"] / max(r["tp"] + r["fn"], 1)
        r.update(tree=str(tree), precision=p, recall=rec, f1=2 * p * rec / max(p + rec, 1e-9),
                 exact_f1=2 * r["exact"] / max(r["gold"] + r["predicted"], 1))
        out.append(r)
        rows.append(f"| {tree.name} | {r['gold']:,} | {r['predicted']:,} | {p:.4f} | {rec:.4f} | {r['f1']:.4f} | "
                    f"{r['exact_f1']:.4f} | {r['digest'][:12]} |")
    return "\n".join(rows), out


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="articles in the generated corpus (default 10,000)")
    ap.add_argument("--corpus", type=Path, help="a JSONL corpus to use instead of generating one")
    ap.add_argument("--spkatt", type=Path, default=SPKATT, help=f"SpkAtt train.jsonl (default {SPKATT})")
    ap.add_argument("--corpora", default=",".join(CORPORA), help="comma list of: " + ", ".join(CORPORA))
    ap.add_argument("--phases", default=",".join(PHASES), help="comma list of: " + ", ".join(PHASES) + "; or none")
    ap.add_argument("--compare", type=Path, action="append", default=[], metavar="REPO",
                    help="another checkout to measure side by side (repeatable)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds per corpus and phase (default 1)")
    ap.add_argument("--boundaries", action="store_true", help="sentence-boundary F1 against SpkAtt's gold")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "bench-speed")
    args = ap.parse_args(argv)
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip() and p.strip() != "none"]
    args.corpora = [c.strip() for c in args.corpora.split(",") if c.strip()]
    for given, known, what in ((args.phases, PHASES, "phase"), (args.corpora, CORPORA, "corpus")):
        unknown = sorted(set(given) - set(known))
        if unknown:
            ap.error(f"unknown {what}(s): {', '.join(unknown)}")
    for repo in args.compare:
        if not (repo / "toolkit" / "__init__.py").is_file():
            ap.error(f"--compare {repo}: not a checkout of the toolkit (no toolkit/__init__.py)")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    return args


def _corpora(args: argparse.Namespace) -> dict[str, Path]:
    corpora: dict[str, Path] = {}
    if "generated" in args.corpora:
        corpus = args.corpus
        if corpus is None:
            corpus = args.out / f"corpus-{args.n}.jsonl"
            if not corpus.exists():
                make_corpus.write_jsonl(corpus, make_corpus.articles(args.n, seed=13), set())
        corpora["generated"] = corpus
    if "spkatt" in args.corpora:
        real = spkatt_corpus(args.spkatt, args.out)
        if real is not None:
            corpora["spkatt"] = real
    for name, corpus in corpora.items():
        print(f"{name}: {corpus} ({corpus.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return corpora


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    trees = [ROOT] + [p.resolve() for p in args.compare]
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()}; trees: {', '.join(map(str, trees))}", file=sys.stderr)
    results = measure(trees, _corpora(args), args.phases, args.repeat)
    md = table(results, trees) if results else ""
    for cname in dict.fromkeys(r["corpus"] for r in results):
        mine = [r for r in results if r["corpus"] == cname and r["tree"] == str(ROOT)]
        by = {phase: _best([r for r in mine if r["phase"] == phase]) for phase in {r["phase"] for r in mine}}
        if {"read", "somajo", "extract"} <= set(by):
            split = by["somajo"]["cpu_seconds"] - by["read"]["cpu_seconds"]
            share = split / max(by["extract"]["cpu_seconds"] - by["read"]["cpu_seconds"], 1e-9)
            md += f"\n\n{cname}: SoMaJo splitting is {share:.0%} of the extractor's time beyond reading."
    if len(trees) > 1 and results:
        md += "\n\n" + ratios(results, trees)
    bounds: list[dict] = []
    if args.boundaries:
        if args.spkatt.exists():
            text, bounds = boundaries(trees, args.spkatt)
            md += "\n\nSentence boundaries against SpkAtt gold:\n\n" + text
        else:
            print(f"boundaries: {args.spkatt} absent, skipped", file=sys.stderr)
    (args.out / "bench_speed.json").write_text(json.dumps(
        {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                     "load_avg_at_start": os.getloadavg()}, "trees": [str(t) for t in trees],
         "results": results, "boundaries": bounds}, indent=2) + "\n")
    print(md.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Snapshot the extractor's records, to prove that a change leaves them byte-identical.

A speed change to segmentation or the rules must not move a single record. Take a snapshot on
the tree before the change, one on the tree after, and compare:

    PYTHONPATH=/path/to/before .venv/bin/python scripts/snapshot_records.py /tmp/before
    PYTHONPATH=$PWD .venv/bin/python scripts/snapshot_records.py /tmp/after --check /tmp/before

Each corpus becomes one JSONL file (a record per line, keys sorted) written by
`extract_article` with the bundled registry, in corpus order: `seeds` (annotations/articles),
`spkatt` (the 700 texts of ../shared/spkatt-news/train.jsonl, skipped when absent) and
`generated` (scripts/make_corpus.py, `--n` articles, seed 13 as in bench_speed.py).
`--check DIR` compares each file with DIR's and exits 1 naming the first differing line.
The toolkit is imported from PYTHONPATH, so the script can snapshot any checkout.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPKATT = ROOT.parent / "shared" / "spkatt-news" / "train.jsonl"
CORPORA = ("seeds", "spkatt", "generated")
sys.path.insert(0, str(ROOT / "scripts"))


def articles(corpus: str, n: int, spkatt: Path) -> Iterable | None:
    """The articles of one corpus as toolkit Article objects (None when its source is absent)."""
    from toolkit.ingest import make_article, read_articles

    if corpus == "seeds":
        return read_articles(ROOT / "annotations" / "articles")
    if corpus == "spkatt":
        if not spkatt.is_file():
            return None
        docs = (json.loads(line) for line in spkatt.open(encoding="utf-8"))
        return (make_article({"id": d["doc_id"], "text": d["text"], "date": d.get("date"),
                              "title": d.get("title")}, str(spkatt)) for d in docs)
    import make_corpus

    return (make_article(a, "generated") for a in make_corpus.articles(n, seed=13))


def records(arts: Iterable) -> Iterator[str]:
    """One sorted-key JSON line per record, articles in the order given."""
    from toolkit.attribution.extract import extract_article
    from toolkit.attribution.speakers import load_registry

    registry = load_registry(None)
    for art in arts:
        for rec in extract_article(art, registry):
            yield json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n"


def first_difference(a: Path, b: Path) -> str | None:
    """'FILE:LINE' of the first line where the two files differ (a missing line counts), else None."""
    with a.open(encoding="utf-8") as fa, b.open(encoding="utf-8") as fb:
        for no, (la, lb) in enumerate(itertools.zip_longest(fa, fb), 1):
            if la != lb:
                return f"{a}:{no} differs from {b}:{no}"
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="folder for CORPUS.jsonl files")
    ap.add_argument("--corpora", default="seeds,spkatt", help=f"comma-separated, of {', '.join(CORPORA)}")
    ap.add_argument("--n", type=int, default=2000, help="articles in the generated corpus (default 2,000)")
    ap.add_argument("--spkatt", type=Path, default=SPKATT, help="SpkAtt JSONL (default ../shared/...)")
    ap.add_argument("--check", type=Path, help="folder of an earlier snapshot to compare with")
    args = ap.parse_args(argv)
    wanted = [c.strip() for c in args.corpora.split(",") if c.strip()]
    if unknown := sorted(set(wanted) - set(CORPORA)):
        ap.error(f"unknown corpus: {', '.join(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    differ = False
    for corpus in wanted:
        arts = articles(corpus, args.n, args.spkatt)
        if arts is None:
            print(f"{corpus}: {args.spkatt} absent, skipped", file=sys.stderr)
            continue
        path = args.out / f"{corpus}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            count = sum(fh.write(line) > 0 for line in records(arts))
        print(f"{corpus}: {count} records -> {path}", file=sys.stderr)
        if args.check is not None:
            diff = first_difference(path, args.check / path.name)
            print(f"{corpus}: {diff or 'identical to ' + str(args.check / path.name)}")
            differ |= diff is not None
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())

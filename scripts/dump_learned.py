#!/usr/bin/env python
"""Records extracted with the learned layer for the last fold, as JSONL: to `cmp` two trees.

Why: a change meant to make the layer faster must not change what it extracts. A model is
trained on folds 1-4 (as scripts/bench_learned.py does) and the 140 articles of fold 5 are
extracted with it, under the default types and with the model's own types, one sorted-key JSON
record a line.

    python scripts/dump_learned.py OUT.jsonl                          # this tree
    PYTHONPATH=/path/to/other python scripts/dump_learned.py OUT.jsonl --tree /path/to/other
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "spkatt-news" / "train.jsonl"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--tree", type=Path, default=ROOT, help="Repository whose toolkit extracts (default: this one).")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(args.tree))
    from toolkit.attribution.extract import extract_article
    from toolkit.attribution.learned.data import article_of, capture, read_gold
    from toolkit.attribution.learned.folds import read_folds
    from toolkit.attribution.learned.layer import OWN_TYPES, AttributionModel
    from toolkit.attribution.speakers import load_registry

    docs = read_gold(args.data)
    folds = read_folds(args.tree / "scripts" / "spkatt_folds.json", [d["doc_id"] for d in docs])
    held, registry = set(folds[-1]), load_registry()
    model = AttributionModel().fit(capture([d for d in docs if d["doc_id"] not in held], registry))
    articles = [article_of(d) for d in docs if d["doc_id"] in held]
    n = 0
    with args.out.open("w", encoding="utf-8") as fh:
        for a in articles:
            for types in (None, {"direct", "indirect", *OWN_TYPES}):
                for rec in extract_article(a, registry, model, types):
                    fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
                    n += 1
    print(f"{n} records of {len(articles)} articles -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

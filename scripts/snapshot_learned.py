#!/usr/bin/env python
"""Snapshot the records of extraction with the learned layer, to prove a speed change to it moves none.

scripts/snapshot_records.py guards the rules' output; this guards the layer's. A model is trained
on every fold but the last (scripts/spkatt_folds.json, by the tree on PYTHONPATH: training is
checked too), then the last fold's articles and the seed articles are extracted with it, every
type emitted, one sorted-key JSON line per record in article order. Take a snapshot on the tree
before the change, one after, and compare:

    PYTHONPATH=/path/to/before .venv/bin/python scripts/snapshot_learned.py /tmp/learned-before
    PYTHONPATH=$PWD .venv/bin/python scripts/snapshot_learned.py /tmp/learned-after --check /tmp/learned-before

`--all` extracts every article of the gold file, not only the last fold's (the training folds
too: still a check of identical output). `--check DIR` exits 1 naming the first differing line.
`--param NAME=VALUE` snapshots a model with that AttributionModel parameter (an opt-in variant's
records, e.g. `--param source_shapes=true`, to compare a merge with the variant's own branch).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "spkatt-news" / "train.jsonl"
sys.path.insert(0, str(ROOT / "scripts"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="folder for learned.jsonl")
    ap.add_argument("--data", type=Path, default=DATA, help="gold JSONL (default ../shared/spkatt-news/train.jsonl)")
    ap.add_argument("--folds", type=Path, default=ROOT / "scripts" / "spkatt_folds.json")
    ap.add_argument("--all", action="store_true", help="Extract every article of --data, not only the last fold's.")
    ap.add_argument("--check", type=Path, help="folder of an earlier snapshot to compare with")
    ap.add_argument("--param", action="append", default=[],
                    help="NAME=VALUE (JSON value), repeatable: AttributionModel parameters of the snapshot's model "
                         "(e.g. source_shapes=true), read as scripts/bench_learned.py reads them.")
    args = ap.parse_args(argv)
    from bench_learned import _param
    from snapshot_records import first_difference

    from toolkit.attribution.extract import ALL_TYPES, extract_article
    from toolkit.attribution.learned.data import article_of, capture, read_gold
    from toolkit.attribution.learned.folds import read_folds
    from toolkit.attribution.learned.layer import AttributionModel
    from toolkit.attribution.speakers import load_registry
    from toolkit.ingest import read_articles

    if not args.data.exists():
        print(f"skipped: {args.data} not found")
        return 0
    docs = read_gold(args.data)
    held = set(read_folds(args.folds, [d["doc_id"] for d in docs])[-1])
    registry = load_registry()
    params = dict(_param(p) for p in args.param)
    model = AttributionModel(**params).fit(capture([d for d in docs if d["doc_id"] not in held], registry))
    arts = [article_of(d) for d in docs if args.all or d["doc_id"] in held]
    arts += list(read_articles(ROOT / "annotations" / "articles"))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "learned.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        count = sum(fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n") > 0
                    for art in arts for rec in extract_article(art, registry, model, types=ALL_TYPES))
    print(f"learned: {len(arts)} articles, {count} records -> {path}", file=sys.stderr)
    if args.check is None:
        return 0
    diff = first_difference(path, args.check / path.name)
    print(f"learned: {diff or 'identical to ' + str(args.check / path.name)}")
    return 1 if diff is not None else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Generate a synthetic German news corpus of N articles for scale tests and benchmarks.

Articles recombine paragraphs (and, now and then, sentences) of the seed articles in
annotations/articles/*.txt, with speaker surnames swapped for others from a name pool and
fresh ids, dates, outlets and URLs. Deterministic for a given --seed and --n. Written
streaming (JSONL line by line, Parquet in row groups), so N can be millions.

    python scripts/make_corpus.py --n 100000 --out out/corpus.parquet
    python scripts/make_corpus.py --n 60 --out /tmp/c.jsonl --bad 3   # with 3 malformed lines
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_DIR = ROOT / "annotations" / "articles"
SURNAMES = ["Miller", "Putin", "Blinken", "Stoltenberg", "Kim", "Peskow", "Lawrow", "Biden", "Scholz", "Selenskyj"]
POOL = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
        "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger",
        "Hofmann", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Köhler", "Maier", "Herrmann", "Walter"]
OUTLETS = ["Tagesblatt", "Rundschau", "Kurier", "Allgemeine", "Morgenpost", "Anzeiger", "Nachrichten", "Zeitung"]
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ])")


def seed_paragraphs(folder: Path = SEED_DIR) -> list[str]:
    paras = []
    for p in sorted(folder.glob("*.txt")):
        paras += [line.strip() for line in p.read_text(encoding="utf-8").splitlines() if len(line.strip()) > 40]
    if not paras:
        sys.exit(f"{folder}: no seed paragraphs found")
    return paras


def articles(n: int, seed: int = 13, folder: Path = SEED_DIR) -> Iterator[dict]:
    """Yield n article dicts (id, title, text, date, url, source); same seed -> same corpus."""
    rng = random.Random(seed)
    paras = seed_paragraphs(folder)
    sentences = [s for p in paras for s in _SENT.split(p)]
    name_re = re.compile(r"\b(" + "|".join(SURNAMES) + r")\b")
    for i in range(n):
        names = dict(zip(SURNAMES, rng.sample(POOL, len(SURNAMES))))
        body = []
        for _ in range(rng.randint(4, 9)):
            if rng.random() < 0.2:
                body.append(" ".join(rng.sample(sentences, rng.randint(2, 4))))
            else:
                body.append(rng.choice(paras))
        text = name_re.sub(lambda m: names[m.group(1)], "\n".join(body))
        title = name_re.sub(lambda m: names[m.group(1)], rng.choice(sentences))[:120].rstrip(" .")
        outlet = rng.choice(OUTLETS)
        art_id = f"gen{seed}_{i:08d}"
        yield {"id": art_id, "title": title, "text": title + "\n" + text,
               "date": f"{rng.choice([2023, 2024])}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
               "url": f"https://{outlet.lower()}.example/{art_id}", "source": outlet}


def write_jsonl(path: Path, arts: Iterator[dict], bad: set[int]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for i, art in enumerate(arts):
            fh.write('{"id": "broken", "text": \n' if i in bad else json.dumps(art, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_parquet(path: Path, arts: Iterator[dict], row_group: int = 1000) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(k, pa.string()) for k in ("id", "title", "text", "date", "url", "source")])
    n, batch = 0, []
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for art in arts:
            batch.append(art)
            if len(batch) == row_group:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n, batch = n + len(batch), []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="number of articles (default 100,000)")
    ap.add_argument("--out", type=Path, required=True, help="output .jsonl or .parquet")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--row-group", type=int, default=1000, help="Parquet rows per row group")
    ap.add_argument("--bad", type=int, default=0, help="JSONL only: make this many lines malformed (spread evenly)")
    args = ap.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    arts = articles(args.n, args.seed)
    if args.out.suffix == ".parquet":
        n = write_parquet(args.out, arts, args.row_group)
    elif args.out.suffix in (".jsonl", ".ndjson"):
        step = max(args.n // max(args.bad, 1), 1)
        n = write_jsonl(args.out, arts, {i * step + step // 2 for i in range(args.bad)})
    else:
        sys.exit("--out must end in .jsonl or .parquet")
    print(f"wrote {n} articles to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

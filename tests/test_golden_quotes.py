"""The seed articles' quote records, byte for byte, against tests/fixtures/golden/seeds_quotes.jsonl.

The golden file is the extractor's output before quotes.py was split into marks/mentions/frames
and its word lists moved to toolkit/lexicon/. A rule change that alters any record fails here;
if the change is meant, regenerate the file (the command is in docs/quote_rules.md) and say so
in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

from toolkit import ANNOTATIONS_DIR
from toolkit.attribution.extract import extract_article
from toolkit.attribution.speakers import load_registry
from toolkit.ingest import read_articles

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden" / "seeds_quotes.jsonl"


def test_seed_records_equal_the_golden_file_byte_for_byte() -> None:
    registry = load_registry(None)
    lines = [json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n"
             for article in read_articles(ANNOTATIONS_DIR / "articles") for rec in extract_article(article, registry)]
    got = "".join(lines).encode("utf-8")
    want = GOLDEN.read_bytes()
    assert len(lines) == want.count(b"\n") > 40
    assert got == want

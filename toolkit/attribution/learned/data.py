"""Gold in SpkAtt-2023 Task 2 JSONL, and the rules' quotes captured for training.

Why a capture: the learned layer decides over the rules' candidates, so training needs exactly
what the hook in toolkit.attribution.extract.extract_article hands it at extraction time. The
rules run once per article; their quotes are copied before anything changes them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.attribution.spans import QuoteSpan
from toolkit.errors import InputError
from toolkit.fileio import read_jsonl

Span = tuple[int, int]


@dataclass
class TrainingDoc:
    """One gold article with the rules' quotes and the sentences they were found in."""

    doc_id: str
    text: str
    sentences: list[Span]
    spans: list[tuple[int, QuoteSpan]]
    skip: list[Span]
    quotes: list[dict[str, Any]]
    records: list[dict[str, Any]] = field(default_factory=list)
    #: For a document made of reviews (toolkit.attribution.learned.reviews): the spans annotators
    #: judged; only candidates overlapping one are labelled. None for gold, which labels all.
    reviewed: list[Span] | None = None


def _check_segments(where: str, text: str, value: Any, name: str) -> None:
    if not isinstance(value, list):
        raise InputError(f"{where}: field '{name}' must be a list of [start, end] pairs, got {type(value).__name__}")
    for seg in value:
        ok = (isinstance(seg, list) and len(seg) == 2 and all(isinstance(v, int) and not isinstance(v, bool)
                                                              for v in seg))
        if not ok or not 0 <= seg[0] <= seg[1] <= len(text):
            raise InputError(f"{where}: field '{name}' has {seg!r}: not a [start, end] pair inside the text "
                             f"(0..{len(text)})")


def check_gold_doc(where: str, obj: dict[str, Any]) -> None:
    """Raise InputError naming file:line and field for a document the trainer cannot use."""
    if not isinstance(obj["doc_id"], str) or not obj["doc_id"]:
        raise InputError(f"{where}: field 'doc_id' must be a non-empty string")
    if not isinstance(obj["text"], str):
        raise InputError(f"{where}: field 'text' must be a string")
    if not isinstance(obj["quotes"], list):
        raise InputError(f"{where}: field 'quotes' must be a list")
    for i, q in enumerate(obj["quotes"]):
        qw = f"{where}: quotes[{i}]"
        if not isinstance(q, dict):
            raise InputError(f"{qw}: must be an object")
        segs = q.get("segments")
        if segs is None:
            if not all(isinstance(q.get(k), int) for k in ("start", "end")):
                raise InputError(f"{qw}: needs 'segments' or integer 'start' and 'end'")
            segs = [[q["start"], q["end"]]]
        _check_segments(qw, obj["text"], segs, "segments")
        if not segs:
            raise InputError(f"{qw}: field 'segments' is empty")
        _check_segments(qw, obj["text"], q.get("speaker_segments") or [], "speaker_segments")


def read_gold(path: str | Path) -> list[dict[str, Any]]:
    """All documents of a SpkAtt Task 2 JSONL file (doc_id, text, quotes), checked line by line."""
    docs, seen = [], set()
    for lineno, obj in read_jsonl(path, required=("doc_id", "text", "quotes")):
        where = f"{path}:{lineno}"
        check_gold_doc(where, obj)
        if obj["doc_id"] in seen:
            raise InputError(f"{where}: doc_id {obj['doc_id']!r} appears twice")
        seen.add(obj["doc_id"])
        docs.append(obj)
    if not docs:
        raise InputError(f"{path}: no documents; nothing to train on")
    return docs


def article_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The article dict the extractor reads for a gold document (offsets unchanged)."""
    from toolkit.ingest import make_article

    return make_article({"id": doc["doc_id"], "text": doc["text"], "date": doc.get("date"),
                         "title": doc.get("title")}, str(doc["doc_id"]))


def capture(docs: Iterable[dict[str, Any]], registry: Any = None) -> list[TrainingDoc]:
    """Run the rules on every document; keep their quotes (copied) and their records."""
    from toolkit.attribution.extract import extract_article

    out = []
    for doc in docs:
        seen: dict[str, Any] = {}

        def keep(text: str, sents: Any, spans: list[tuple[int, QuoteSpan]], skip: list[Span]) -> list:
            seen.update(sentences=list(sents), spans=copy.deepcopy(spans), skip=list(skip))
            return spans

        article = article_of(doc)
        if article["text"] != doc["text"]:
            raise InputError(f"document {doc['doc_id']!r}: its text changes under the toolkit's normalisation "
                             "(NFC, line breaks), so the gold offsets would not line up; normalise it first")
        records = extract_article(article, registry, keep)
        reviewed = [tuple(s) for s in doc["reviewed"]] if doc.get("review") else None
        out.append(TrainingDoc(doc["doc_id"], article["text"], seen["sentences"], seen["spans"], seen["skip"],
                               doc["quotes"], records, reviewed))
    return out

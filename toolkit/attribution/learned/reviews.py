"""Label Studio reviews as training examples for the learned layer (issue 14).

Why: the review round already records, per quote, whether the speaker is right (`confirmed`),
wrong (`corrected`, with the right speaker typed in) or the span is no quote (`not_a_quote`).
Those are exactly the labels two of the learned decisions need: (c) is this candidate speech
(confirmed / corrected: yes; not_a_quote: no) and (b) which mention is the source (the shown
mention when confirmed, the corrected speaker's mention in the text when corrected). A review
says nothing about message boundaries or SpkAtt types, so it trains neither; and a reviewed
article's candidates that no annotator saw are left out of training (no label, not a negative).

Inputs are the project's own tables: the annotation table of `qst import` / `qst pull`
(docs/CONTRACTS.md), the quotes table it refers to (`qst extract` output) and the articles those
quotes were extracted from. Out come SpkAtt-style documents (doc_id, text, quotes) with two more
keys, `reviewed` (every reviewed span) and `review` (True), that toolkit.attribution.learned.data
.capture carries over.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.errors import InputError

OUTCOMES = ("confirmed", "corrected", "not_a_quote")
_ANNOTATION_NEEDS = ("quote_id", "speaker_review", "speaker_corrected")
_QUOTE_NEEDS = ("quote_id", "article_id", "start", "end", "text", "speaker_mention_start", "speaker_mention_end")


def _require(df: pd.DataFrame, cols: tuple[str, ...], where: str, what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{where}: not {what}: no column(s) {', '.join(missing)} (columns: "
                         f"{', '.join(map(str, df.columns))})")


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true") or value == 1


def verdicts(table: pd.DataFrame, where: str) -> tuple[dict[str, tuple[str, str | None]], Counter]:
    """Quote id -> (outcome, corrected speaker): the majority outcome of its annotators (cancelled
    annotations and rows without a review left out); a tie between outcomes is no verdict. For
    `corrected`, the speaker most annotators typed."""
    _require(table, _ANNOTATION_NEEDS, where, "an annotation table (`qst import` / `qst pull`)")
    counts: Counter = Counter()
    by_quote: dict[str, list[tuple[str, str | None]]] = {}
    for i, row in enumerate(table.to_dict("records")):
        review = row.get("speaker_review")
        if _is_true(row.get("was_cancelled")) or review is None or review != review or review == "":
            continue
        if review not in OUTCOMES:
            raise InputError(f"{where}: row {i + 1}: speaker_review {review!r} is not one of {', '.join(OUTCOMES)}")
        corrected = row.get("speaker_corrected")
        corrected = corrected.strip() if isinstance(corrected, str) and corrected.strip() else None
        by_quote.setdefault(str(row["quote_id"]), []).append((review, corrected))
    out: dict[str, tuple[str, str | None]] = {}
    for qid, rows in by_quote.items():
        ranked = Counter(r for r, _ in rows).most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            counts["tied"] += 1
            continue
        outcome = ranked[0][0]
        typed = Counter(c for r, c in rows if r == outcome and c)
        out[qid] = (outcome, typed.most_common(1)[0][0] if typed else None)
        counts[outcome] += 1
    return out, counts


def locate_speaker(text: str, name: str, start: int, end: int) -> tuple[int, int] | None:
    """The naming of the corrected speaker nearest the quote, outside it (its full text, or its
    last word as a surname: "Olaf Scholz" is "Scholz" two sentences on), as character offsets;
    None when the text never names it. Nearest, because the source the learned layer chooses
    is a mention close to the message."""
    words = name.split()
    # A person's name ("Olaf Scholz", "Shin Won-sik") may recur as the surname; a description
    # ("der Sprecher der USA") only as written.
    person = 2 <= len(words) <= 3 and all(w[:1].isupper() for w in words)
    hits: list[tuple[int, int]] = []
    for needle in {name, words[-1] if person else name}:
        if len(needle) >= 3:
            hits += [m.span() for m in re.finditer(rf"(?<!\w){re.escape(needle)}(?!\w)", text, re.IGNORECASE)]
    hits = [h for h in hits if h[1] <= start or h[0] >= end]
    if not hits:
        return None
    # Distance to the quote; a naming before it wins a tie, then the longer one.
    return min(hits, key=lambda h: (start - h[1] if h[1] <= start else h[0] - end, h[0] > start, h[0] - h[1]))


def _event(rec: dict[str, Any], outcome: str, corrected: str | None, text: str,
           counts: Counter) -> dict[str, Any] | None:
    """The gold event a verdict makes of a quote record (None for not_a_quote)."""
    if outcome == "not_a_quote":
        return None
    segs = rec.get("segments")
    segs = [list(map(int, s)) for s in segs] if isinstance(segs, (list, tuple)) and len(segs) else \
        [[int(rec["start"]), int(rec["end"])]]
    event: dict[str, Any] = {"segments": segs, "type": None, "review": outcome}
    if outcome == "confirmed":
        ms, me = rec.get("speaker_mention_start"), rec.get("speaker_mention_end")
        ok = ms is not None and ms == ms and me is not None and me == me
        event["speaker_segments"] = [[int(ms), int(me)]] if ok else []
        return event
    found = locate_speaker(text, corrected, int(rec["start"]), int(rec["end"])) if corrected else None
    if found is None:
        counts["corrected_speaker_not_in_text"] += 1
        event["source_unknown"] = True
        event["speaker_segments"] = []
    else:
        event["speaker_segments"] = [list(found)]
    return event


def review_documents(annotations: str | Path, quotes: str | Path,
                     articles: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """SpkAtt-style documents made of the reviews, one per reviewed article, and a summary."""
    from toolkit.fileio import read_table
    from toolkit.ingest import read_articles

    found, counts = verdicts(read_table(annotations), str(annotations))
    qdf = read_table(quotes)
    _require(qdf, _QUOTE_NEEDS, str(quotes), "a quotes table (`qst extract` output)")
    records = {str(r["quote_id"]): r for r in qdf.to_dict("records")}
    texts = {a["id"]: a for a in read_articles(articles)}
    docs: dict[str, dict[str, Any]] = {}
    for qid, (outcome, corrected) in sorted(found.items()):
        rec = records.get(qid)
        if rec is None:
            counts["quote_not_in_quotes_table"] += 1
            continue
        art = texts.get(str(rec["article_id"]))
        if art is None:
            counts["article_not_found"] += 1
            continue
        s, e = int(rec["start"]), int(rec["end"])
        if art["text"][s:e] != rec["text"]:
            raise InputError(f"{quotes}: quote {qid}: its text is not {articles}'s article {rec['article_id']!r} "
                             f"at {s}..{e}; give the articles the quotes table was extracted from")
        doc = docs.setdefault(art["id"], {"doc_id": art["id"], "text": art["text"], "date": art.get("date"),
                                          "title": art.get("title"), "quotes": [], "reviewed": [], "review": True})
        doc["reviewed"].append([s, e])
        event = _event(rec, outcome, corrected, art["text"], counts)
        if event is not None:
            doc["quotes"].append(event)
    used = sum(len(d["reviewed"]) for d in docs.values())
    if not used:
        raise InputError(f"{annotations}: no reviewed quote could be used ({dict(counts)}); check that --quotes is "
                         "the table the reviews were made on and --articles the articles it came from")
    summary = {"annotations": str(annotations), "quotes": str(quotes), "articles": str(articles),
               "reviewed_quotes_used": used, "articles_used": len(docs), **dict(sorted(counts.items()))}
    return list(docs.values()), summary

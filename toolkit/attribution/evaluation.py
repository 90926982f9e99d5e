"""Score predicted quote records against hand-annotated gold quotes.

Why this shape: the extractor is judged on two separate questions — did it find the quote
(span detection) and did it name the right speaker (attribution) — and a single exact-match
figure would hide progress on both, because quote boundaries are a matter of convention
(`dass` in or out, final full stop, embedded `laut` frames). So spans are matched by character
overlap with a stated threshold, exact-boundary figures are reported beside them, and speaker
accuracy is measured only on the quotes that were found.

Matching rule (per article): a predicted and a gold span are *candidates* when their overlap
score is >= `threshold` (default 0.5). The score is Jaccard (|A∩B| / |A∪B|, default) or
overlap over the shorter span (`measure="shorter"`). Candidates are paired one-to-one,
greedily by descending score (ties: the smaller start distance, then text order).
Unpaired gold spans are misses, unpaired predictions false alarms.

Everything here is a pure function over lists of dicts or DataFrames; reading and validating
the gold file is in `load_gold` / `check_gold`, which raise `InputError` naming file:line.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import InputError
from toolkit.fileio import read_jsonl, read_table

QUOTE_TYPES = ("direct", "indirect", "mixed")
GOLD_REQUIRED = ("article_id", "start", "end", "text", "type", "speaker")
PRED_REQUIRED = ("article_id", "start", "end", "speaker")
MEASURES = ("jaccard", "shorter")
_ARTICLES = {"der", "die", "das", "des", "dem", "den", "ein", "eine", "einem", "einen", "einer", "eines"}


# --------------------------------------------------------------------------- overlap


def span_overlap(a: tuple[int, int], b: tuple[int, int], measure: str = "jaccard") -> float:
    """Overlap score of two half-open character spans: Jaccard or intersection / shorter length."""
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    if inter == 0:
        return 0.0
    if measure == "jaccard":
        return inter / (max(a[1], b[1]) - min(a[0], b[0]))
    if measure == "shorter":
        return inter / min(a[1] - a[0], b[1] - b[0])
    raise ValueError(f"unknown overlap measure {measure!r} (use one of {', '.join(MEASURES)})")


def normalise_speaker(name: Any) -> str | None:
    """Case-, space- and article-insensitive form of a speaker name, for equality tests."""
    if name is None or (isinstance(name, float) and name != name):
        return None
    s = unicodedata.normalize("NFC", str(name)).casefold()
    s = re.sub(r"[\s\u00a0]+", " ", s).strip(" ,.;:\"'„“”«»")
    words = s.split(" ")
    if len(words) > 1 and words[0] in _ARTICLES:
        s = " ".join(words[1:])
    return s or None


def speaker_correct(gold: Mapping[str, Any], pred: Mapping[str, Any]) -> bool:
    """True if the predicted speaker equals the gold speaker or one of its listed alternatives.

    A null gold speaker (unknowable) is matched only by a null prediction.
    """
    want = normalise_speaker(gold.get("speaker"))
    got = normalise_speaker(pred.get("speaker"))
    if want is None:
        return got is None
    accepted = {want} | {normalise_speaker(a) for a in (gold.get("speaker_alternatives") or [])}
    return got in accepted


def _span(rec: Mapping[str, Any], prefix: str) -> tuple[int, int] | None:
    s, e = rec.get(f"{prefix}_start"), rec.get(f"{prefix}_end")
    if s is None or e is None or (isinstance(s, float) and s != s) or (isinstance(e, float) and e != e):
        return None
    return int(s), int(e)


def _records(obj: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(obj, pd.DataFrame):
        return [{k: (None if _isna(v) else v) for k, v in row.items()} for row in obj.to_dict("records")]
    return [dict(r) for r in obj]


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v)) if not isinstance(v, (list, tuple, dict)) else False
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- matching


def match_quotes(gold: pd.DataFrame | Iterable[Mapping[str, Any]], pred: pd.DataFrame | Iterable[Mapping[str, Any]],
                 threshold: float = 0.5, measure: str = "jaccard") -> pd.DataFrame:
    """One row per gold quote (matched or missed) and per unmatched prediction.

    Columns: article_id, gold_index, pred_index (row positions in the inputs, or None), status
    (match / miss / false_alarm), overlap, exact, gold_start/end, pred_start/end, gold_type,
    pred_type, gold_speaker, pred_speaker, speaker_correct, mention_exact, mention_overlap,
    gold_text, pred_text.
    """
    if measure not in MEASURES:
        raise ValueError(f"unknown overlap measure {measure!r} (use one of {', '.join(MEASURES)})")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    g_recs, p_recs = _records(gold), _records(pred)
    by_art_g: dict[str, list[int]] = {}
    by_art_p: dict[str, list[int]] = {}
    for i, r in enumerate(g_recs):
        by_art_g.setdefault(str(r["article_id"]), []).append(i)
    for j, r in enumerate(p_recs):
        by_art_p.setdefault(str(r["article_id"]), []).append(j)

    rows: list[dict[str, Any]] = []
    for art in sorted(set(by_art_g) | set(by_art_p)):
        gi_list, pj_list = by_art_g.get(art, []), by_art_p.get(art, [])
        cands = []
        for gi in gi_list:
            ga = (int(g_recs[gi]["start"]), int(g_recs[gi]["end"]))
            for pj in pj_list:
                pa = (int(p_recs[pj]["start"]), int(p_recs[pj]["end"]))
                score = span_overlap(ga, pa, measure)
                if score >= threshold:
                    cands.append((-score, abs(ga[0] - pa[0]), ga[0], pa[0], gi, pj, score))
        cands.sort()
        pair_of_gold: dict[int, tuple[int, float]] = {}
        used_pred: set[int] = set()
        for *_, gi, pj, score in cands:
            if gi in pair_of_gold or pj in used_pred:
                continue
            pair_of_gold[gi] = (pj, score)
            used_pred.add(pj)
        for gi in gi_list:
            if gi in pair_of_gold:
                pj, score = pair_of_gold[gi]
                rows.append(_row(art, gi, g_recs[gi], pj, p_recs[pj], "match", score))
            else:
                rows.append(_row(art, gi, g_recs[gi], None, None, "miss", 0.0))
        for pj in pj_list:
            if pj not in used_pred:
                rows.append(_row(art, None, None, pj, p_recs[pj], "false_alarm", 0.0))
    cols = ["article_id", "gold_index", "pred_index", "status", "overlap", "exact", "gold_start", "gold_end",
            "pred_start", "pred_end", "gold_type", "pred_type", "gold_speaker", "pred_speaker", "speaker_correct",
            "mention_exact", "mention_overlap", "gold_text", "pred_text"]
    return pd.DataFrame(rows, columns=cols)


def _row(art: str, gi: int | None, g: Mapping[str, Any] | None, pj: int | None, p: Mapping[str, Any] | None,
         status: str, score: float) -> dict[str, Any]:
    row: dict[str, Any] = {"article_id": art, "gold_index": gi, "pred_index": pj, "status": status,
                           "overlap": round(score, 4)}
    for side, rec in (("gold", g), ("pred", p)):
        row[f"{side}_start"] = None if rec is None else int(rec["start"])
        row[f"{side}_end"] = None if rec is None else int(rec["end"])
        row[f"{side}_type"] = None if rec is None else rec.get("type")
        row[f"{side}_speaker"] = None if rec is None else rec.get("speaker")
        row[f"{side}_text"] = None if rec is None else rec.get("text")
    if g is not None and p is not None:
        row["exact"] = row["gold_start"] == row["pred_start"] and row["gold_end"] == row["pred_end"]
        row["speaker_correct"] = speaker_correct(g, p)
        gm, pm = _span(g, "speaker_mention"), _span(p, "speaker_mention")
        if gm is None:
            row["mention_exact"] = row["mention_overlap"] = pm is None
        else:
            row["mention_exact"] = pm == gm
            row["mention_overlap"] = pm is not None and span_overlap(gm, pm) > 0
    else:
        row["exact"] = row["speaker_correct"] = row["mention_exact"] = row["mention_overlap"] = None
    return row


# --------------------------------------------------------------------------- figures


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float | int]:
    """Precision, recall, F1 from counts; 0.0 where a denominator is zero."""
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "n_pred": n_pred, "n_gold": n_gold, "precision": p, "recall": r, "f1": f}


def _exact_tp(gold: list[dict[str, Any]], pred: list[dict[str, Any]]) -> int:
    gset = {(str(r["article_id"]), int(r["start"]), int(r["end"])) for r in gold}
    pset = {(str(r["article_id"]), int(r["start"]), int(r["end"])) for r in pred}
    return len(gset & pset)


def _figures(m: pd.DataFrame, n_gold: int, n_pred: int, exact_tp: int) -> dict[str, Any]:
    matched = m[m["status"] == "match"]
    n_match = len(matched)
    spk_ok = int(matched["speaker_correct"].sum()) if n_match else 0
    out: dict[str, Any] = {
        "n_gold": n_gold,
        "n_pred": n_pred,
        "span": prf(n_match, n_pred, n_gold),
        "exact_span": prf(exact_tp, n_pred, n_gold),
        "speaker_accuracy": spk_ok / n_match if n_match else 0.0,
        "attribution": prf(spk_ok, n_pred, n_gold),
        "mention_exact_accuracy": float(matched["mention_exact"].mean()) if n_match else 0.0,
        "mention_overlap_accuracy": float(matched["mention_overlap"].mean()) if n_match else 0.0,
        "type_accuracy": float((matched["gold_type"] == matched["pred_type"]).mean()) if n_match else 0.0,
        "mean_overlap": float(matched["overlap"].mean()) if n_match else 0.0,
        "n_matched": n_match,
        "n_speaker_correct": spk_ok,
    }
    return out


def score_attribution(gold: pd.DataFrame | Iterable[Mapping[str, Any]], pred: pd.DataFrame | Iterable[Mapping[str, Any]],
                      threshold: float = 0.5, measure: str = "jaccard") -> dict[str, Any]:
    """All figures for one evaluation.

    Returns a dict with:
      overall: n_gold, n_pred, span (P/R/F1 under the overlap rule), exact_span (P/R/F1, exact
        boundaries), speaker_accuracy (share of matched quotes with the right speaker),
        attribution (P/R/F1 counting a quote only when matched *and* correctly attributed),
        mention_exact_accuracy / mention_overlap_accuracy (matched quotes whose mention span is
        identical / overlaps the gold mention), type_accuracy, mean_overlap;
      by_type: DataFrame, one row per quote type: recall-side figures over gold quotes of the
        type, precision over predictions of the type, speaker accuracy over matched gold of the type;
      by_article: DataFrame of span and attribution figures per article;
      matches: the `match_quotes` table; settings: threshold and measure.
    """
    g_recs, p_recs = _records(gold), _records(pred)
    m = match_quotes(g_recs, p_recs, threshold, measure)
    overall = _figures(m, len(g_recs), len(p_recs), _exact_tp(g_recs, p_recs))

    type_rows = []
    for t in QUOTE_TYPES:
        g_t = [r for r in g_recs if r.get("type") == t]
        p_t = [r for r in p_recs if r.get("type") == t]
        matched_g = m[(m["status"] == "match") & (m["gold_type"] == t)]
        matched_p = m[(m["status"] == "match") & (m["pred_type"] == t)]
        rec = len(matched_g) / len(g_t) if g_t else 0.0
        prec = len(matched_p) / len(p_t) if p_t else 0.0
        type_rows.append({
            "type": t, "n_gold": len(g_t), "n_pred": len(p_t),
            "matched_gold": len(matched_g), "matched_pred": len(matched_p),
            "precision": prec, "recall": rec, "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
            "exact_recall": _exact_tp(g_t, p_recs) / len(g_t) if g_t else 0.0,
            "speaker_accuracy": float(matched_g["speaker_correct"].mean()) if len(matched_g) else 0.0,
            "type_accuracy": float((matched_g["pred_type"] == t).mean()) if len(matched_g) else 0.0,
        })
    by_type = pd.DataFrame(type_rows)

    art_rows = []
    for art in sorted({str(r["article_id"]) for r in g_recs} | {str(r["article_id"]) for r in p_recs}):
        ma = m[m["article_id"] == art]
        n_g = sum(1 for r in g_recs if str(r["article_id"]) == art)
        n_p = sum(1 for r in p_recs if str(r["article_id"]) == art)
        f = _figures(ma, n_g, n_p, 0)
        art_rows.append({"article_id": art, "n_gold": n_g, "n_pred": n_p, "matched": f["n_matched"],
                         "span_f1": f["span"]["f1"], "speaker_accuracy": f["speaker_accuracy"],
                         "attribution_f1": f["attribution"]["f1"]})
    by_article = pd.DataFrame(art_rows, columns=["article_id", "n_gold", "n_pred", "matched", "span_f1",
                                                 "speaker_accuracy", "attribution_f1"])
    return {"overall": overall, "by_type": by_type, "by_article": by_article, "matches": m,
            "settings": {"threshold": threshold, "measure": measure}}


def report_to_json(report: dict[str, Any]) -> dict[str, Any]:
    """A JSON-serialisable copy of a `score_attribution` report (DataFrames become record lists)."""
    out: dict[str, Any] = {}
    for k, v in report.items():
        if isinstance(v, pd.DataFrame):
            out[k] = [{kk: (None if _isna(vv) else vv) for kk, vv in row.items()} for row in v.to_dict("records")]
        else:
            out[k] = v
    return out


# --------------------------------------------------------------------------- gold file


def check_gold_record(rec: Mapping[str, Any], where: str, articles: Mapping[str, Mapping[str, Any]] | None) -> None:
    """Raise InputError (prefixed with `where`) if a gold record is malformed or off its article."""
    missing = [k for k in GOLD_REQUIRED if k not in rec]
    if missing:
        raise InputError(f"{where}: missing required field(s) {', '.join(missing)}")
    for k in ("start", "end"):
        if not isinstance(rec[k], int) or isinstance(rec[k], bool) or rec[k] < 0:
            raise InputError(f"{where}: field {k!r} must be a non-negative integer, got {rec[k]!r}")
    if rec["end"] <= rec["start"]:
        raise InputError(f"{where}: empty or reversed span start={rec['start']} end={rec['end']}")
    if rec["type"] not in QUOTE_TYPES:
        raise InputError(f"{where}: type {rec['type']!r} is not one of {', '.join(QUOTE_TYPES)}")
    if not isinstance(rec["text"], str):
        raise InputError(f"{where}: field 'text' must be a string")
    if rec["speaker"] is not None and not isinstance(rec["speaker"], str):
        raise InputError(f"{where}: field 'speaker' must be a string or null")
    alts = rec.get("speaker_alternatives")
    if alts is not None and not (isinstance(alts, list) and all(isinstance(a, str) for a in alts)):
        raise InputError(f"{where}: field 'speaker_alternatives' must be a list of strings")
    if articles is None:
        return
    art = articles.get(str(rec["article_id"]))
    if art is None:
        raise InputError(f"{where}: article {rec['article_id']!r} is not among the articles read")
    text = art["text"]
    if rec["end"] > len(text):
        raise InputError(f"{where}: end={rec['end']} is past the end of article {rec['article_id']} ({len(text)} chars)")
    got = text[rec["start"]:rec["end"]]
    if got != rec["text"]:
        raise InputError(f"{where}: text does not match article {rec['article_id']} at {rec['start']}:{rec['end']}: "
                         f"gold {_clip(rec['text'])!r}, article {_clip(got)!r}")
    for prefix in ("speaker_mention", "cue", "antecedent"):
        span = rec.get(f"{prefix}_start"), rec.get(f"{prefix}_end")
        val = rec.get(prefix)
        if val is None or span[0] is None:
            continue
        if not (isinstance(span[0], int) and isinstance(span[1], int)):
            raise InputError(f"{where}: {prefix}_start/{prefix}_end must be integers, got {span[0]!r}, {span[1]!r}")
        if text[span[0]:span[1]] != val:
            raise InputError(f"{where}: {prefix} {val!r} does not match article {rec['article_id']} at "
                             f"{span[0]}:{span[1]} (article has {_clip(text[span[0]:span[1]])!r})")


def _clip(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def load_gold(path: str | Path, articles: Mapping[str, Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """Read a gold JSONL file; every line is validated (and checked against `articles` when given).

    Overlapping gold spans within one article are rejected: the matching rule assumes disjoint gold.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    recs = []
    lines: list[int] = []
    for lineno, obj in read_jsonl(path):
        check_gold_record(obj, f"{path}:{lineno}", articles)
        recs.append(obj)
        lines.append(lineno)
    if not recs:
        raise InputError(f"{path}: no gold quotes in the file")
    order = sorted(range(len(recs)), key=lambda i: (str(recs[i]["article_id"]), recs[i]["start"]))
    for a, b in zip(order, order[1:]):
        ra, rb = recs[a], recs[b]
        if str(ra["article_id"]) == str(rb["article_id"]) and rb["start"] < ra["end"]:
            raise InputError(f"{path}:{lines[b]}: span {rb['start']}:{rb['end']} overlaps the gold span "
                             f"{ra['start']}:{ra['end']} of line {lines[a]} in article {ra['article_id']}")
    df = pd.DataFrame(recs)
    df.insert(0, "line", lines)
    return df


def _check_pred_span(start: Any, end: Any, where: str) -> None:
    """Refuse a predicted span the matcher cannot score: non-integer, negative or reversed."""
    for k, v in (("start", start), ("end", end)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise InputError(f"{where}: field {k!r} must be an integer, got {v!r}")
        if v < 0:
            raise InputError(f"{where}: field {k!r} must not be negative, got {v}")
    if end < start:
        raise InputError(f"{where}: reversed span start={start} end={end} (end before start)")


def load_predictions(path: str | Path) -> pd.DataFrame:
    """Read predicted quote records (JSONL as written by `qst extract`, or Parquet/CSV).

    Every record needs article_id, start, end and speaker (null when unknown): without a speaker
    every match would silently count as a wrong attribution, and a span whose end is before its
    start would silently never match. Both are refused naming file:line (JSONL) or file and row.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        recs = []
        for lineno, obj in read_jsonl(path, required=PRED_REQUIRED):
            _check_pred_span(obj["start"], obj["end"], f"{path}:{lineno}")
            recs.append(obj)
        return pd.DataFrame(recs, columns=None if recs else list(PRED_REQUIRED))
    df = read_table(path)
    missing = [c for c in PRED_REQUIRED if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} (have: {', '.join(map(str, df.columns))})")
    for row, (start, end) in enumerate(zip(df["start"].tolist(), df["end"].tolist()), start=1):
        if isinstance(start, float) and start.is_integer():
            start = int(start)
        if isinstance(end, float) and end.is_integer():
            end = int(end)
        _check_pred_span(start, end, f"{path}: row {row}")
    return df

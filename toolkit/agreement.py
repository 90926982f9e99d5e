"""Inter-annotator agreement, disagreement report, adjudication and speaker-review feedback.

Label Studio Community has no agreement or review features, so this stage computes them from
the normalised annotation table (docs/CONTRACTS.md, "Annotation table") and produces the
"Adjudicated labels" table. Everything here is a pure function over DataFrames; the CLI in
toolkit/cli/agreement.py only reads, calls and writes.

Honesty rules that shape the code:
- cancelled annotations and items with a single annotator never enter an agreement figure,
  and every exclusion is counted in the result;
- a coefficient that is mathematically undefined (one annotator, no variation in the labels)
  is reported as ``value=None`` with a ``reason``, never as a made-up 1.0 and never as a crash;
- every figure carries the number of items (or pairs) it rests on.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from itertools import combinations
from typing import Any

import krippendorff
import numpy as np
import pandas as pd

from toolkit.errors import InputError

log = logging.getLogger(__name__)

STANCE_LABELS: tuple[str, ...] = ("favor", "against", "neutral", "unclear")
SPEAKER_REVIEW_LABELS: tuple[str, ...] = ("confirmed", "corrected", "not_a_quote")
DEFAULT_TARGET = "militärische Zusammenarbeit zwischen Russland und Nordkorea"

#: Steps of the adjudication rule, tried in this order for every quote.
RULE_STEPS: tuple[str, ...] = ("unanimous", "majority", "adjudicator", "ground_truth")
DEFAULT_RULE: tuple[str, ...] = RULE_STEPS
RULE_DESCRIPTIONS = {
    "unanimous": "all voting annotators chose the same label",
    "majority": "more than half of the voting annotators chose the same label",
    "adjudicator": "the named adjudicator's own annotation decides",
    "ground_truth": "an annotation marked as ground truth in Label Studio decides "
                    "(only if all ground-truth annotations of the quote agree)",
}

REQUIRED_COLUMNS: tuple[str, ...] = ("quote_id", "annotator", "stance")
OPTIONAL_DEFAULTS: dict[str, Any] = {
    "speaker_review": None,
    "speaker_corrected": None,
    "was_cancelled": False,
    "is_ground_truth": False,
    "comment": None,
}

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


# --------------------------------------------------------------------------- validation

def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str) and not value.strip():
        return True
    return False


def _row_ref(source: str, pos: int, row: dict[str, Any] | pd.Series) -> str:
    """Name a row for an error message: 1-based data row plus its quote and annotator."""
    return (f"{source}: row {pos + 1} (quote_id {row.get('quote_id')!r}, "
            f"annotator {row.get('annotator')!r})")


def _to_bool(value: Any, source: str, pos: int, row: dict[str, Any] | pd.Series, column: str) -> bool:
    if _is_missing(value):
        return False
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    if isinstance(value, (float, np.floating)) and value in (0.0, 1.0):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise InputError(f"{_row_ref(source, pos, row)}: {column} must be true/false, got {value!r}")


def _records(df: pd.DataFrame, columns: Sequence[str] | None = None,
             convert: Callable[[list[Any]], list[Any]] | None = None) -> list[dict[str, Any]]:
    """The rows as plain dicts, like ``df.to_dict("records")`` but column-wise.

    Why: ``to_dict("records")`` boxes every cell one by one (pandas' maybe_box_native) and was
    about half of `qst agreement` at 200k annotations; ``Series.tolist()`` converts a whole column
    at once to the same Python values (numpy scalars become int/float/bool, object cells stay).
    `convert` maps each column's list of values (e.g. `_jsonable_column` for JSON-ready records).
    """
    cols = list(df.columns if columns is None else columns)
    values = [df[c].tolist() if convert is None else convert(df[c].tolist()) for c in cols]
    return [dict(zip(cols, row)) for row in zip(*values)] if cols else [{} for _ in range(len(df))]


def validate_annotations(annotations: pd.DataFrame, source: str = "annotations",
                         labels: Sequence[str] = STANCE_LABELS) -> pd.DataFrame:
    """Check the annotation table and return a cleaned copy (the input is never modified).

    Why strict: an unknown label or a missing column would silently shift every figure, so it
    is an error naming the row, quote and annotator. Optional contract columns that are absent
    (e.g. a hand-made CSV without ``is_ground_truth``) get their neutral default; empty cells in
    ``stance``/``speaker_review`` become None ("not labelled"), booleans accept true/false/1/0.
    """
    if not isinstance(annotations, pd.DataFrame):
        raise InputError(f"{source}: expected a table (DataFrame), got {type(annotations).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in annotations.columns]
    if missing:
        raise InputError(f"{source}: missing required column(s) {', '.join(missing)} "
                         f"(found: {', '.join(map(str, annotations.columns)) or 'none'}); "
                         "see docs/CONTRACTS.md, 'Annotation table'")
    df = annotations.copy().reset_index(drop=True)
    for col, default in OPTIONAL_DEFAULTS.items():
        if col not in df.columns:
            df[col] = default
    df = df.astype({c: object for c in ("quote_id", "annotator", "stance", "speaker_review",
                                        "speaker_corrected", "was_cancelled", "is_ground_truth")})

    clean = _clean_columns_fast(df, set(labels)) or _clean_columns(df, source, labels)
    for col, values in clean.items():
        df[col] = pd.Series(values, dtype=bool if col in ("was_cancelled", "is_ground_truth") else object)
    return df


def _clean_columns(df: pd.DataFrame, source: str, labels: Sequence[str]) -> dict[str, list[Any]]:
    """The contract columns cleaned row by row; the first bad cell is an error naming its row."""
    label_set = set(labels)
    quote_ids, annotators, stances, reviews, names, cancelled, truth = [], [], [], [], [], [], []
    # plain dicts, not iterrows: one Series per row made this loop most of `qst agreement` at 100k rows
    cols = ["quote_id", "annotator", "stance", "speaker_review", "speaker_corrected", "was_cancelled", "is_ground_truth"]
    for pos, row in enumerate(_records(df, cols)):
        if _is_missing(row["quote_id"]):
            raise InputError(f"{_row_ref(source, pos, row)}: quote_id is empty")
        if _is_missing(row["annotator"]):
            raise InputError(f"{_row_ref(source, pos, row)}: annotator is empty")
        ann = row["annotator"]
        if isinstance(ann, (float, np.floating)) and float(ann).is_integer():
            ann = int(ann)  # CSV readers turn integer ids with gaps into floats
        quote_ids.append(str(row["quote_id"]))
        annotators.append(str(ann))
        stance = None if _is_missing(row["stance"]) else row["stance"]
        if stance is not None and stance not in label_set:
            raise InputError(f"{_row_ref(source, pos, row)}: unknown stance {stance!r} "
                             f"(expected one of {', '.join(labels)}, or empty)")
        stances.append(stance)
        review = None if _is_missing(row["speaker_review"]) else row["speaker_review"]
        if review is not None and review not in SPEAKER_REVIEW_LABELS:
            raise InputError(f"{_row_ref(source, pos, row)}: unknown speaker_review {review!r} "
                             f"(expected one of {', '.join(SPEAKER_REVIEW_LABELS)}, or empty)")
        reviews.append(review)
        name = None if _is_missing(row["speaker_corrected"]) else " ".join(str(row["speaker_corrected"]).split())
        names.append(name)
        cancelled.append(_to_bool(row["was_cancelled"], source, pos, row, "was_cancelled"))
        truth.append(_to_bool(row["is_ground_truth"], source, pos, row, "is_ground_truth"))
    return {"quote_id": quote_ids, "annotator": annotators, "stance": stances, "speaker_review": reviews,
            "speaker_corrected": names, "was_cancelled": cancelled, "is_ground_truth": truth}


def _labels_or_none(values: list[Any], allowed: set[str]) -> list[Any] | None:
    """A label column with NaN/None as None, or None when a cell needs the row-by-row check."""
    if not set(map(type, values)) <= {type(None), float, str}:
        return None
    out = [None if v is None or v != v else v for v in values]
    return out if set(out) <= allowed | {None} else None


def _clean_columns_fast(df: pd.DataFrame, label_set: set[str]) -> dict[str, list[Any]] | None:
    """`_clean_columns` by whole columns for the usual table (str ids, known labels, real booleans).

    Why: the row-by-row loop was about 2 CPU-s of `qst agreement` at 200k annotations. Anything
    outside the usual (blank ids, numbers as ids, unknown labels, booleans as text) returns None and
    the row-by-row `_clean_columns` decides, with its error naming the row."""
    quote_ids, annotators = df["quote_id"].tolist(), df["annotator"].tolist()
    for ids in (quote_ids, annotators):
        if set(map(type, ids)) != {str} or not all(map(str.strip, ids)):
            return None
    stances = _labels_or_none(df["stance"].tolist(), label_set)
    reviews = _labels_or_none(df["speaker_review"].tolist(), set(SPEAKER_REVIEW_LABELS))
    names = df["speaker_corrected"].tolist()
    flags = [df[c].tolist() for c in ("was_cancelled", "is_ground_truth")]
    if (stances is None or reviews is None or not set(map(type, names)) <= {type(None), float, str}
            or any(set(map(type, f)) - {bool} for f in flags)):
        return None
    names = [None if v is None or v != v else (" ".join(v.split()) or None) for v in names]
    return {"quote_id": quote_ids, "annotator": annotators, "stance": stances, "speaker_review": reviews,
            "speaker_corrected": names, "was_cancelled": flags[0], "is_ground_truth": flags[1]}


def _check_single_target(df: pd.DataFrame, source: str) -> str | None:
    if "target" not in df.columns:
        return None
    # the distinct values first: one pass in pandas instead of a Python loop over every row
    targets = sorted({str(t) for t in pd.unique(df["target"]) if not _is_missing(t)})
    if len(targets) > 1:
        raise InputError(f"{source}: annotations mix {len(targets)} targets ({'; '.join(targets)}); "
                         "agreement and gold labels are per target: filter the table to one target first")
    return targets[0] if targets else None


def _latest_per_annotator(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep one live annotation per (quote, annotator): the most recently updated one.

    Why: an annotator who submitted twice must not count as two votes. The number of
    superseded rows is returned so the report can show it.
    """
    positions = np.flatnonzero(~df["was_cancelled"].to_numpy(dtype=bool))
    # the sort runs on the key columns only and the kept rows are taken once, in table order:
    # sorting the whole frame (twice) cost about as much as the rest of this function, four times a run
    keys = pd.DataFrame({"quote_id": df["quote_id"].to_numpy()[positions],
                         "annotator": df["annotator"].to_numpy()[positions]})
    sort_cols = [c for c in ("updated_at", "created_at") if c in df.columns]
    for c in sort_cols:
        keys[f"_{c}"] = pd.to_datetime(df[c].iloc[positions].reset_index(drop=True), errors="coerce", utc=True)
    keys["_order"] = range(len(positions))
    keys = keys.sort_values([f"_{c}" for c in sort_cols] + ["_order"], na_position="first", kind="stable")
    kept = np.sort(keys.drop_duplicates(["quote_id", "annotator"], keep="last")["_order"].to_numpy())
    return df.iloc[positions[kept]], int(len(positions) - len(kept))


# --------------------------------------------------------------------------- agreement

def _undefined(reason: str, **extra: Any) -> dict[str, Any]:
    return {"value": None, "reason": reason, **extra}


def _alpha(matrix: np.ndarray, domain: Sequence[int], n_items: int) -> dict[str, Any]:
    """Nominal Krippendorff's alpha on a raters x items code matrix (NaN = not labelled)."""
    if n_items == 0:
        return _undefined("no item has two or more annotators", n_items=0)
    values = matrix[~np.isnan(matrix)]
    if len(np.unique(values)) < 2:
        return _undefined("all pairable labels are identical: expected disagreement is 0, "
                          "so alpha is undefined (0/0)", n_items=n_items, n_values=int(values.size))
    value = krippendorff.alpha(reliability_data=matrix, value_domain=list(domain),
                               level_of_measurement="nominal")
    return {"value": float(value), "reason": None, "n_items": n_items, "n_values": int(values.size)}


def fleiss_kappa(table: np.ndarray) -> float:
    """Fleiss' kappa of an items x labels count table: statsmodels' ``fleiss_kappa(method="fleiss")``
    step for step, so the figure is the same float.

    Why not statsmodels itself: importing it (with scipy) was about 1 CPU-s of every
    `qst agreement`; tests/test_agreement.py checks this copy against statsmodels."""
    table = 1.0 * np.asarray(table)
    n_total = table.sum()
    n_rat = table.sum(1).max()
    p_cat = table.sum(0) / n_total
    p_mean = (((table * table).sum(1) - n_rat) / (n_rat * (n_rat - 1.))).mean()
    p_mean_exp = (p_cat * p_cat).sum()
    return float((p_mean - p_mean_exp) / (1 - p_mean_exp))


def cohen_kappa_score(y1: Sequence[str], y2: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted Cohen's kappa: scikit-learn's ``cohen_kappa_score(y1, y2, labels=labels)`` step for
    step (confusion counts, outer product of the marginals), so the figure is the same float.

    Why not scikit-learn itself: importing sklearn.metrics (with scipy) was about 1 CPU-s of
    every `qst agreement`; tests/test_agreement.py checks this copy against scikit-learn.
    Callers pass labels drawn from ``labels`` with at least two distinct values."""
    index = {lab: i for i, lab in enumerate(labels)}
    n = len(labels)
    codes = np.array([index[a] * n + index[b] for a, b in zip(y1, y2)], dtype=np.int64)
    confusion = np.bincount(codes, minlength=n * n).reshape(n, n).astype(np.float64)
    sum0 = confusion.sum(axis=0)
    sum1 = confusion.sum(axis=1)
    expected = np.outer(sum0, sum1) / np.sum(sum0)
    w_mat = np.ones((n, n), dtype=np.float64)
    np.fill_diagonal(w_mat, 0)
    return float(1 - np.sum(w_mat * confusion) / np.sum(w_mat * expected))


def _fleiss(items: dict[str, dict[str, str]], labels: Sequence[str]) -> dict[str, Any]:
    """Fleiss' kappa over the items sharing the most common number of raters.

    Why the subset: Fleiss' kappa assumes every item was rated by the same number of raters;
    items with another count are excluded and counted rather than silently mixed in.
    """
    sizes = Counter(len(v) for v in items.values() if len(v) >= 2)
    if not sizes:
        return _undefined("no item has two or more annotators", n_items=0)
    k = max(sizes, key=lambda s: (sizes[s], s))
    chosen = [v for v in items.values() if len(v) == k]
    excluded = sum(n for s, n in sizes.items() if s != k)
    index = {lab: i for i, lab in enumerate(labels)}
    table = np.zeros((len(chosen), len(labels)))
    # all votes at once (each adds exactly 1.0, as the per-vote loop did)
    cols = np.fromiter((index[lab] for votes in chosen for lab in votes.values()), dtype=np.intp,
                       count=len(chosen) * k)
    np.add.at(table, (np.repeat(np.arange(len(chosen)), k), cols), 1)
    extra = {"n_items": len(chosen), "raters_per_item": k,
             "items_excluded_other_rater_count": excluded}
    if np.count_nonzero(table.sum(axis=0)) < 2:
        return _undefined("all labels are identical: chance agreement is 1, so kappa is undefined (0/0)",
                          **extra)
    return {"value": fleiss_kappa(table), "reason": None, **extra}


def _cohen_pairs(items: dict[str, dict[str, str]], annotators: list[str],
                 labels: Sequence[str]) -> tuple[list[dict[str, Any]], int]:
    pairs: list[dict[str, Any]] = []
    without_overlap = 0
    for a, b in combinations(annotators, 2):
        shared = [(v[a], v[b]) for v in items.values() if a in v and b in v]
        if not shared:
            without_overlap += 1
            continue
        ya, yb = [s[0] for s in shared], [s[1] for s in shared]
        entry: dict[str, Any] = {"annotator_a": a, "annotator_b": b, "n_items": len(shared),
                                 "observed_agreement": sum(x == y for x, y in shared) / len(shared)}
        if len(set(ya) | set(yb)) < 2:
            entry.update(value=None, reason=f"both annotators used only {ya[0]!r} on the shared items: "
                                            "chance agreement is 1, so kappa is undefined (0/0)")
        else:
            entry.update(value=float(cohen_kappa_score(ya, yb, labels=list(labels))), reason=None)
        pairs.append(entry)
    return pairs, without_overlap


def _percent_agreement(items: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Mean share of agreeing annotator pairs per item (observed agreement, no chance correction)."""
    shares = []
    for votes in items.values():
        m = len(votes)
        if m < 2:
            continue
        if m == 2:  # the usual case, without a Counter: c*(c-1)/(m*(m-1)) is exactly 1.0 or 0.0
            a, b = votes.values()
            shares.append(1.0 if a == b else 0.0)
            continue
        counts = Counter(votes.values())
        shares.append(sum(c * (c - 1) for c in counts.values()) / (m * (m - 1)))
    if not shares:
        return _undefined("no item has two or more annotators", n_items=0)
    return {"value": float(np.mean(shares)), "reason": None, "n_items": len(shares)}


def _usable_labels(df: pd.DataFrame, field: str, labels: tuple[str, ...], excluded: set[str],
                   source: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """The latest labelled annotation per (quote, annotator), with what was dropped on the way.

    Kept apart from the figures so every exclusion is counted in one place: the report states
    how many annotations each filter removed, and an unknown label stops the run here, before any
    coefficient is computed on a silently narrowed label set."""
    cancelled = int(df["was_cancelled"].sum())
    live, superseded = _latest_per_annotator(df)
    by_excluded = live["annotator"].isin(excluded)
    n_excluded_annotator = int(by_excluded.sum())
    live = live[~by_excluded]
    has_label = live[field].notna()
    unknown = sorted({str(v) for v in live.loc[has_label, field] if v not in labels})
    if unknown:
        raise InputError(f"{source}: unknown {field} label(s) {', '.join(unknown)} "
                         f"(expected one of {', '.join(labels)})")
    counts = {"cancelled": cancelled, "superseded": int(superseded),
              "excluded_annotator": n_excluded_annotator, "without_label": int((~has_label).sum())}
    return live[has_label], counts


def _alpha_figures(multi: dict[str, dict[str, str]], annotators: list[str],
                   labels: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Overall nominal alpha and one-vs-rest alpha per label, from one annotator x item matrix.

    Built once and binarised per label so the per-label figures rest on exactly the items the
    overall figure uses; a label with no variation gets a reason instead of a bare None."""
    code = {lab: i for i, lab in enumerate(labels)}
    quotes = sorted(multi)
    matrix = np.full((len(annotators), len(quotes)), np.nan)
    a_index = {a: i for i, a in enumerate(annotators)}
    # one (annotator, quote, code) triple per vote, written in one assignment
    cells = [(a_index[a], j, code[lab]) for j, q in enumerate(quotes) for a, lab in multi[q].items()]
    if cells:
        rows, cols, codes = zip(*cells)
        matrix[list(rows), list(cols)] = codes
    overall = _alpha(matrix, range(len(labels)), len(quotes))
    per_label = {}
    for lab, c in code.items():
        binary = np.where(np.isnan(matrix), np.nan, (matrix == c).astype(float))
        entry = _alpha(binary, (0, 1), len(quotes))
        entry["n_positive"] = int(np.nansum(binary))
        if entry["value"] is None and len(quotes):
            entry["reason"] = (f"{lab!r} was {'never' if entry['n_positive'] == 0 else 'always'} chosen "
                               "on the pairable items: no variation, alpha undefined")
        per_label[lab] = entry
    return overall, per_label


def _mean_kappa(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """Light's kappa (mean of the defined pairwise kappas), counting the pairs left out as undefined
    so a mean over few pairs is visible as such."""
    defined = [p["value"] for p in pairs if p["value"] is not None]
    if not defined:
        return _undefined("no annotator pair with a defined kappa", n_pairs=0,
                          n_pairs_undefined=len(pairs))
    return {"value": float(np.mean(defined)), "reason": None, "n_pairs": len(defined),
            "n_pairs_undefined": len(pairs) - len(defined)}


def compute_agreement(annotations: pd.DataFrame, field: str = "stance",
                      labels: Sequence[str] | None = None, exclude_annotators: Iterable[str] = (),
                      source: str = "annotations", validated: bool = False) -> dict[str, Any]:
    """Agreement figures for one categorical field (``stance`` or ``speaker_review``).

    Returns a JSON-serialisable dict: the exclusion counts, overall nominal Krippendorff's alpha,
    one-vs-rest alpha per label, Cohen's kappa per annotator pair (+ their mean, Light's kappa),
    Fleiss' kappa and observed pairwise agreement; each figure with the items/pairs it rests on,
    and ``value=None`` plus ``reason`` when it is undefined.
    ``exclude_annotators`` (e.g. the adjudicator, whose labels are informed by the others) are
    left out and counted.
    """
    if labels is None:
        labels = STANCE_LABELS if field == "stance" else SPEAKER_REVIEW_LABELS
    labels = tuple(labels)
    df = annotations if validated else validate_annotations(
        annotations, source, labels if field == "stance" else STANCE_LABELS)
    if field not in df.columns:
        raise InputError(f"{source}: no column {field!r} to compute agreement on")
    _check_single_target(df, source)
    live, dropped = _usable_labels(df, field, labels, set(map(str, exclude_annotators)), source)

    items: dict[str, dict[str, str]] = {}
    for qid, ann, lab in zip(live["quote_id"], live["annotator"], live[field]):
        items.setdefault(qid, {})[ann] = lab
    multi = {q: v for q, v in items.items() if len(v) >= 2}
    annotators = sorted({a for v in multi.values() for a in v})
    tally = Counter(x for v in multi.values() for x in v.values())  # one pass, not one per label

    result: dict[str, Any] = {
        "field": field,
        "labels": list(labels),
        "annotations_in": int(len(df)),
        "cancelled_excluded": dropped["cancelled"],
        "superseded_duplicates_excluded": dropped["superseded"],
        "adjudicator_annotations_excluded": dropped["excluded_annotator"],
        "without_label_excluded": dropped["without_label"],
        "items_labelled": len(items),
        "single_annotator_items_excluded": len(items) - len(multi),
        "items_used": len(multi),
        "annotators": annotators,
        "label_counts": {lab: tally[lab] for lab in labels},
    }
    result["krippendorff_alpha"], result["per_label_alpha"] = _alpha_figures(multi, annotators, labels)
    pairs, without_overlap = _cohen_pairs(multi, annotators, labels)
    result["cohen_kappa_pairs"] = pairs
    result["annotator_pairs_without_shared_items"] = without_overlap
    result["mean_cohen_kappa"] = _mean_kappa(pairs)
    result["fleiss_kappa"] = _fleiss(multi, labels)
    result["percent_agreement"] = _percent_agreement(multi)
    return result


# --------------------------------------------------------------------------- adjudication

def _parse_rule(rule: str | Sequence[str]) -> tuple[str, ...]:
    steps = [s.strip() for s in re.split(r"[>,\s]+", rule) if s.strip()] if isinstance(rule, str) else list(rule)
    steps = [s for s in steps if s != "unresolved"]
    bad = [s for s in steps if s not in RULE_STEPS]
    if bad or not steps:
        raise InputError(f"adjudication rule: unknown step(s) {', '.join(bad) or '(none given)'} "
                         f"(allowed: {', '.join(RULE_STEPS)})")
    if len(set(steps)) != len(steps):
        raise InputError(f"adjudication rule: step repeated in {' > '.join(steps)}")
    return tuple(steps)


def describe_rule(rule: str | Sequence[str] = DEFAULT_RULE, adjudicator: str | None = None,
                  min_annotators: int = 1) -> str:
    """The rule in words, as written into agreement.json and the reports."""
    steps = _parse_rule(rule)
    parts = []
    for s in steps:
        text = RULE_DESCRIPTIONS[s]
        if s == "adjudicator":
            text += f" (adjudicator: {adjudicator})" if adjudicator else " (no adjudicator named: step skipped)"
        parts.append(f"{s}: {text}")
    return (" > ".join(steps) + " > unresolved. " + "; ".join(parts)
            + f". Unanimous/majority need at least {min_annotators} voting annotator(s); "
            "the adjudicator does not vote; ties without an adjudicator stay unresolved.")


def _decide(votes: dict[str, str], adjudicator_label: str | None, truth_labels: set[str],
            steps: Sequence[str], min_annotators: int) -> tuple[str | None, str, str | None]:
    """Apply the rule to one quote's votes; return (label, resolution, reason if unresolved)."""
    counts: dict[str, int] = {}  # a plain dict: a Counter per quote cost more than the counting
    for v in votes.values():
        counts[v] = counts.get(v, 0) + 1
    n = len(votes)
    for step in steps:
        if step == "unanimous" and n >= min_annotators and n >= 1 and len(counts) == 1:
            return next(iter(counts)), "unanimous", None
        if step == "majority" and n >= max(min_annotators, 1) and counts:
            top, c = max(counts.items(), key=lambda kv: kv[1])  # the first of the most common, as most_common(1)
            if c * 2 > n:
                return top, "majority", None
        if step == "adjudicator" and adjudicator_label is not None:
            return adjudicator_label, "adjudicator", None
        if step == "ground_truth" and len(truth_labels) == 1:
            return next(iter(truth_labels)), "ground_truth", None
    if n == 0:
        reason = "no annotator gave a label"
    elif n < min_annotators:
        reason = f"only {n} annotator(s), {min_annotators} required"
    else:
        tally = ", ".join(f"{lab} {c}" for lab, c in sorted(counts.items(), key=lambda x: (-x[1], x[0])))
        reason = f"no majority ({tally})"
    if len(truth_labels) > 1:
        reason += f"; ground-truth annotations disagree ({', '.join(sorted(truth_labels))})"
    elif "adjudicator" in steps:
        reason += "; no adjudicator annotation"
    return None, "unresolved", reason


def _speaker_name(names: list[str], adjudicator_name: str | None, truth_names: set[str]) -> str | None:
    """Pick the corrected speaker: agreed name > majority name > adjudicator's > ground truth's."""
    counts = Counter(names)
    if counts:
        top, c = counts.most_common(1)[0]
        if c * 2 > len(names):
            return top
    if adjudicator_name:
        return adjudicator_name
    if len(truth_names) == 1:
        return next(iter(truth_names))
    return None


_ADJUDICATED_COLUMNS = [
    "quote_id", "label", "resolution", "n_annotators", "annotator_labels", "item_agreement",
    "speaker_final", "speaker_corrected", "not_a_quote", "unresolved_reason", "speaker_review",
    "speaker_resolution", "speaker_unresolved_reason"]


Rows = list[dict[str, Any]]


def _by_quote(live: pd.DataFrame) -> dict[Any, Rows]:
    """Live annotations grouped by quote as plain dicts, in table order.

    Why not DataFrame.groupby: slicing a sub-frame per quote (and filtering it three times) cost
    about a millisecond per quote, most of `qst agreement` at 100k annotations."""
    groups: dict[Any, Rows] = {}
    # only the fields the per-quote code reads: a dict of every column per row cost as much again
    cols = [c for c in ("quote_id", "annotator", "stance", "speaker_review", "speaker_corrected", "is_ground_truth",
                        "comment", "speaker") if c in live.columns]
    for rec in _records(live, cols):
        groups.setdefault(rec["quote_id"], []).append(rec)
    return groups


def _final_speaker(review: str | None, ann: Rows, voters: Rows, adj: Rows, truth: Rows,
                   has_speaker: bool) -> tuple[str | None, bool]:
    """(final speaker, whether it is a correction) for a quote whose review was decided.

    A correction needs an agreed name (votes, then adjudicator, then ground truth); a confirmed
    review keeps the speaker the annotated quote already had. Anything else has no speaker."""
    if review == "corrected":
        names = [r["speaker_corrected"] for r in voters if r["speaker_review"] == "corrected" and r["speaker_corrected"]]
        adj_name = next((r["speaker_corrected"] for r in adj
                         if r["speaker_review"] == "corrected" and r["speaker_corrected"]), None)
        truth_names = {r["speaker_corrected"] for r in truth
                       if r["speaker_review"] == "corrected" and r["speaker_corrected"]}
        speaker_final = _speaker_name(names, adj_name, truth_names)
        return speaker_final, speaker_final is not None
    if review == "confirmed" and has_speaker:
        known_speakers = [r["speaker"] for r in ann if not _is_missing(r["speaker"])]
        return (str(known_speakers[0]) if known_speakers else None), False
    return None, False


def _adjudicate_quote(qid: Any, ann: Rows, adjudicator: str | None, steps: tuple[str, ...],
                      min_annotators: int, has_speaker: bool) -> dict[str, Any]:
    """The adjudicated row of one quote from its live annotations.

    Stance and speaker review go through the same `_decide` rule so both decisions are explained
    the same way; a quote nobody reviewed gets an explicit "no speaker review" reason."""
    voters = [r for r in ann if r["annotator"] != adjudicator] if adjudicator else ann
    adj = [r for r in ann if r["annotator"] == adjudicator] if adjudicator else []
    truth = [r for r in ann if r["is_ground_truth"]]

    votes = {r["annotator"]: r["stance"] for r in voters if r["stance"] is not None}
    adj_stance = next((r["stance"] for r in adj if r["stance"] is not None), None)
    truth_stances = {r["stance"] for r in truth if r["stance"] is not None}
    label, resolution, reason = _decide(votes, adj_stance, truth_stances, steps, min_annotators)
    agreeing = (sum(v == label for v in votes.values()) / len(votes)) if (label and votes) else None

    reviews = {r["annotator"]: r["speaker_review"] for r in voters if r["speaker_review"] is not None}
    adj_review = next((r["speaker_review"] for r in adj if r["speaker_review"] is not None), None)
    truth_reviews = {r["speaker_review"] for r in truth if r["speaker_review"] is not None}
    if reviews or adj_review or truth_reviews:
        review, sp_resolution, sp_reason = _decide(reviews, adj_review, truth_reviews, steps, min_annotators)
    else:
        review, sp_resolution, sp_reason = None, "unresolved", "no speaker review"

    speaker_final, corrected = _final_speaker(review, ann, voters, adj, truth, has_speaker)
    if review == "corrected" and not corrected:
        sp_reason = "speaker judged wrong but no corrected name agreed"
    return {
        "quote_id": qid,
        "label": label,
        "resolution": resolution,
        "n_annotators": len(votes),
        "annotator_labels": {r["annotator"]: r["stance"] for r in ann},
        "item_agreement": agreeing,
        "speaker_final": speaker_final,
        "speaker_corrected": corrected,
        "not_a_quote": review == "not_a_quote",
        "unresolved_reason": reason,
        "speaker_review": review,
        "speaker_resolution": sp_resolution,
        "speaker_unresolved_reason": sp_reason,
    }


def adjudicate(annotations: pd.DataFrame, rule: str | Sequence[str] = DEFAULT_RULE,
               adjudicator: str | None = None, min_annotators: int = 1,
               source: str = "annotations", validated: bool = False) -> pd.DataFrame:
    """One gold label per quote by the stated rule (docs/CONTRACTS.md, "Adjudicated labels").

    Votes are the latest non-cancelled annotation of each annotator other than the adjudicator.
    Steps are tried in the order of ``rule`` (default unanimous > majority > adjudicator >
    ground_truth); a quote none of them settles is ``unresolved`` with ``label=None`` and an
    ``unresolved_reason``. The speaker review (confirmed/corrected/not_a_quote) is decided by the
    same rule. Every quote_id of the input appears once, even if all its annotations were cancelled.
    The rule text is in ``result.attrs["rule"]``.

    Columns beyond the contract: ``unresolved_reason``, ``speaker_review`` (the decided review),
    ``speaker_resolution``, ``speaker_unresolved_reason``, ``target`` (when the input has one).
    ``validated=True``: the table already comes from `validate_annotations` (not checked twice).
    """
    steps = _parse_rule(rule)
    if min_annotators < 1:
        raise InputError(f"min_annotators must be at least 1, got {min_annotators}")
    df = annotations if validated else validate_annotations(annotations, source)
    target = _check_single_target(df, source)
    if adjudicator is not None:
        adjudicator = str(adjudicator)
        known = sorted(set(df["annotator"]))
        if adjudicator not in known:
            raise InputError(f"{source}: adjudicator {adjudicator!r} has no annotation in the table "
                             f"(annotators: {', '.join(known)})")
    live, _ = _latest_per_annotator(df)
    has_speaker = "speaker" in df.columns

    groups = _by_quote(live)
    rows = []
    for qid in pd.unique(df["quote_id"]):
        row = _adjudicate_quote(qid, groups.get(qid, []), adjudicator, steps, min_annotators,
                                has_speaker)
        if target is not None:
            row["target"] = target
        rows.append(row)
    out = pd.DataFrame(rows, columns=None if rows else _ADJUDICATED_COLUMNS)
    for col in ("label", "item_agreement", "speaker_final", "unresolved_reason", "speaker_review",
                "speaker_unresolved_reason"):
        # object dtype keeps None as None (pandas would otherwise infer str/float with NaN)
        out[col] = pd.Series([(v if v and not v.isspace() else None) if type(v) is str else None if _is_missing(v) else v
                              for v in out[col]], index=out.index, dtype=object)
    out.attrs["rule"] = describe_rule(steps, adjudicator, min_annotators)
    out.attrs["rule_steps"] = list(steps)
    out.attrs["adjudicator"] = adjudicator
    return out


def adjudication_summary(adjudicated: pd.DataFrame) -> dict[str, Any]:
    """Counts per resolution, the unresolved quotes with reasons, and the rule used."""
    counts = {r: int((adjudicated["resolution"] == r).sum())
              for r in ("unanimous", "majority", "adjudicator", "ground_truth", "unresolved")}
    unresolved = adjudicated[adjudicated["resolution"] == "unresolved"]
    single = adjudicated[(adjudicated["n_annotators"] == 1) & adjudicated["label"].notna()
                         & (adjudicated["resolution"] == "unanimous")]
    return {
        "rule": adjudicated.attrs.get("rule"),
        "adjudicator": adjudicated.attrs.get("adjudicator"),
        "quotes": int(len(adjudicated)),
        "resolution_counts": counts,
        "gold_labels": int(adjudicated["label"].notna().sum()),
        "label_counts": {k: int(v) for k, v in adjudicated["label"].value_counts().items()},
        "resolved_from_single_annotator": int(len(single)),
        "unresolved": [{"quote_id": q, "reason": r}
                       for q, r in zip(unresolved["quote_id"], unresolved["unresolved_reason"])],
    }


# --------------------------------------------------------------------------- speaker review

def attribution_accuracy(adjudicated: pd.DataFrame) -> dict[str, Any]:
    """Human-measured attribution quality from the decided speaker reviews.

    ``attribution_accuracy`` = confirmed / (confirmed + corrected): among items that are real
    quotes, the share whose extracted speaker the reviewers confirmed. ``quote_precision`` =
    (confirmed + corrected) / reviewed: the share of extracted items that are quotes at all.
    """
    review = adjudicated["speaker_review"] if "speaker_review" in adjudicated.columns else pd.Series(
        np.where(adjudicated["not_a_quote"], "not_a_quote",
                 np.where(adjudicated["speaker_corrected"], "corrected", "confirmed")))
    confirmed = int((review == "confirmed").sum())
    corrected = int((review == "corrected").sum())
    not_quote = int((review == "not_a_quote").sum())
    reviewed = confirmed + corrected + not_quote
    quotes = confirmed + corrected
    return {
        "quotes": int(len(adjudicated)),
        "reviewed": reviewed,
        "unreviewed_or_unresolved": int(len(adjudicated) - reviewed),
        "confirmed": confirmed,
        "corrected": corrected,
        "corrected_with_name": int(adjudicated["speaker_corrected"].sum()),
        "not_a_quote": not_quote,
        "attribution_accuracy": {"value": confirmed / quotes if quotes else None,
                                 "n_items": quotes,
                                 "reason": None if quotes else "no reviewed real quote"},
        "corrected_share": {"value": corrected / quotes if quotes else None, "n_items": quotes},
        "quote_precision": {"value": quotes / reviewed if reviewed else None, "n_items": reviewed,
                            "reason": None if reviewed else "no reviewed item"},
    }


def apply_speaker_review(quotes_df: pd.DataFrame, adjudicated_df: pd.DataFrame,
                         drop_not_a_quote: bool = True) -> pd.DataFrame:
    """Feed the reviewers' speaker decisions back into the quote table (returns a new table).

    - ``speaker_extracted`` keeps the extractor's speaker for every quote;
    - a corrected attribution sets ``speaker`` to the corrected name (``speaker_id`` to None,
      old id kept in ``speaker_id_extracted``, since the id belonged to the wrong speaker);
      a correction without an agreed name sets ``speaker`` to None (known wrong, right one unknown);
    - ``speaker_review`` holds the decision (confirmed/corrected/not_a_quote, None = not reviewed);
    - "not a quote" items are dropped (default) or kept with ``not_a_quote=True``.
    Counts are in ``result.attrs["speaker_review"]``; reviews for quote_ids missing from
    ``quotes_df`` are counted there and logged, never silently applied elsewhere.
    """
    for name, frame, cols in (("quotes", quotes_df, ("quote_id", "speaker")),
                              ("adjudicated labels", adjudicated_df,
                               ("quote_id", "speaker_final", "speaker_corrected", "not_a_quote"))):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise InputError(f"{name}: missing required column(s) {', '.join(missing)}")
    if adjudicated_df["quote_id"].duplicated().any():
        dup = adjudicated_df.loc[adjudicated_df["quote_id"].duplicated(), "quote_id"].iloc[0]
        raise InputError(f"adjudicated labels: quote_id {dup!r} appears more than once")
    out = quotes_df.copy()
    out["speaker_extracted"] = out["speaker"]
    adj = adjudicated_df.set_index("quote_id")
    review_col = adj["speaker_review"] if "speaker_review" in adj.columns else pd.Series(
        np.where(adj["not_a_quote"], "not_a_quote",
                 np.where(adj["speaker_corrected"], "corrected", None)), index=adj.index)
    review = out["quote_id"].map(review_col)
    out["speaker_review"] = review.astype(object).where(review.notna(), None)
    corrected_mask = out["speaker_review"] == "corrected"
    named = out["quote_id"].map(adj["speaker_final"].where(adj["speaker_corrected"].astype(bool)))
    out["speaker"] = out["speaker"].astype(object)
    out.loc[corrected_mask, "speaker"] = named[corrected_mask].astype(object).where(named[corrected_mask].notna(), None)
    if "speaker_id" in out.columns:
        out["speaker_id_extracted"] = out["speaker_id"]
        out["speaker_id"] = out["speaker_id"].astype(object)
        out.loc[corrected_mask, "speaker_id"] = None
    not_quote = (out["speaker_review"] == "not_a_quote").astype(bool)
    out["not_a_quote"] = not_quote
    unknown = sorted(set(adjudicated_df["quote_id"]) - set(out["quote_id"]))
    if unknown:
        log.warning("%d reviewed quote_id(s) are not in the quote table, e.g. %s", len(unknown), unknown[0])
    stats = {
        "quotes_in": int(len(out)),
        "reviewed": int(out["speaker_review"].notna().sum()),
        "confirmed": int((out["speaker_review"] == "confirmed").sum()),
        "corrected": int(corrected_mask.sum()),
        "corrected_without_name": int((corrected_mask & out["speaker"].isna()).sum()),
        "not_a_quote": int(not_quote.sum()),
        "not_a_quote_dropped": int(not_quote.sum()) if drop_not_a_quote else 0,
        "reviews_without_quote": len(unknown),
    }
    if drop_not_a_quote:
        out = out[~not_quote].reset_index(drop=True)
    stats["quotes_out"] = int(len(out))
    out.attrs["speaker_review"] = stats
    return out


# --------------------------------------------------------------------------- disagreements

def disagreement_report(annotations: pd.DataFrame, adjudicated: pd.DataFrame | None = None,
                        source: str = "annotations", validated: bool = False) -> pd.DataFrame:
    """Every contested quote with every annotator's label, one row per quote.

    A quote is contested when its live annotations (cancelled ones left out) carry more than one
    distinct stance, more than one speaker decision, or different corrected names. Columns:
    quote_id, contested_on, n_annotators, stance_votes, speaker_votes, gold label/resolution
    (when ``adjudicated`` is given), comments, then ``stance[<annotator>]`` and
    ``speaker[<annotator>]`` for each annotator (empty where the annotator did not label).
    ``validated=True``: the table already comes from `validate_annotations`.
    """
    df = annotations if validated else validate_annotations(annotations, source)
    live, _ = _latest_per_annotator(df)
    annotators = sorted(set(live["annotator"]))
    gold = ({r.pop("quote_id"): r for r in _records(adjudicated, ["quote_id", "label", "resolution", "speaker_final"])}
            if adjudicated is not None else None)
    rows = []
    for qid, ann in _by_quote(live).items():
        stances = {r["annotator"]: r["stance"] for r in ann if r["stance"] is not None}
        speakers = {}
        for rec in ann:
            r, n = rec["speaker_review"], rec["speaker_corrected"]
            if r is not None:
                speakers[rec["annotator"]] = f"corrected: {n}" if r == "corrected" and n else r
        on = []
        if len(stances) >= 2 and len(set(stances.values())) > 1:
            on.append("stance")
        if len(speakers) >= 2 and len(set(speakers.values())) > 1:
            on.append("speaker")
        if not on:
            continue
        comments = "; ".join(f"{r['annotator']}: {r['comment']}" for r in ann if not _is_missing(r["comment"]))
        row: dict[str, Any] = {
            "quote_id": qid,
            "contested_on": "+".join(on),
            "n_annotators": len({r["annotator"] for r in ann}),
            "stance_votes": "; ".join(f"{a}={s}" for a, s in stances.items()),
            "speaker_votes": "; ".join(f"{a}={s}" for a, s in speakers.items()),
        }
        if gold is not None and qid in gold:
            g = gold[qid]
            row.update(gold_label=g["label"], resolution=g["resolution"],
                       speaker_final=g["speaker_final"])
        row["comments"] = comments or None
        for a in annotators:
            row[f"stance[{a}]"] = stances.get(a)
        for a in annotators:
            row[f"speaker[{a}]"] = speakers.get(a)
        rows.append(row)
    return pd.DataFrame(rows)


def _md_cell(value: Any) -> str:
    if type(value) is str:  # most cells: the same answer as below without the general check
        return value.replace("|", "\\|").replace("\n", " ") if value and not value.isspace() else ""
    if _is_missing(value):
        return ""
    return str(value).replace("|", "\\|").replace("\n", " ")


def disagreements_markdown(report: pd.DataFrame, rule: str | None = None) -> str:
    """A Markdown page of the disagreement report (compact columns; the CSV has one per annotator)."""
    lines = ["# Disagreements", ""]
    if rule:
        lines += [f"Adjudication rule: {rule}", ""]
    if report.empty:
        return "\n".join(lines + ["No contested quotes.", ""])
    lines += [f"{len(report)} contested quote(s).", ""]
    cols = [c for c in ("quote_id", "contested_on", "stance_votes", "speaker_votes", "gold_label",
                        "resolution", "speaker_final", "comments") if c in report.columns]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "|".join("---" for _ in cols) + "|")
    for r in _records(report, cols):
        lines.append("| " + " | ".join(_md_cell(r[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def _jsonable(value: Any) -> Any:
    if value is None or type(value) in (str, bool, int):  # most cells: nothing to convert
        return value
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if not isinstance(value, str) and _is_missing(value):
        return None
    return value


_PLAIN = (type(None), str, bool, int)


def _jsonable_column(values: list[Any]) -> list[Any]:
    """One column's cells as `_jsonable` would give them, converting only what needs it.

    Why per column: calling `_jsonable` on every cell of a 100k-row table was about 2 CPU-s of
    `qst agreement`; most columns hold only None/str/bool/int, float columns only need NaN -> None
    and dict columns (annotator_labels) usually hold str -> str/None already."""
    kinds = set(map(type, values))
    if kinds <= set(_PLAIN):
        return values
    if kinds <= {type(None), float}:
        return [None if v is None or math.isnan(v) else v for v in values]
    if kinds == {dict} and all(type(k) is str and type(x) in _PLAIN for d in values for k, x in d.items()):
        return [dict(d) for d in values]
    return [_jsonable(v) for v in values]


def adjudicated_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Plain JSON-ready dicts (NaN -> None, numpy -> Python) for writing JSONL."""
    return _records(table, convert=_jsonable_column)


def adjudicated_for_parquet(adjudicated: pd.DataFrame) -> pd.DataFrame:
    """Parquet has no dict-with-varying-keys type: store ``annotator_labels`` as a JSON string."""
    out = adjudicated.copy()
    out["annotator_labels"] = _labels_json(out["annotator_labels"].tolist())
    return out


def _labels_json(dicts: list[dict[str, Any]]) -> list[str]:
    """``json.dumps(d, sort_keys=True)`` of each dict, each distinct dict encoded once.

    Why: a 100k-quote table holds few distinct annotator -> label dicts; encoding every one was
    about 1 CPU-s of `qst agreement`."""
    done: dict[tuple[Any, ...], str] = {}
    out = []
    for d in dicts:
        # only str -> str/None dicts share an entry: 1 == True == 1.0 would merge different JSON
        plain = type(d) is dict and all(type(k) is str and (v is None or type(v) is str) for k, v in d.items())
        key = tuple(d.items()) if plain else None
        text = done.get(key) if plain else None
        if text is None:
            text = json.dumps(d, ensure_ascii=False, sort_keys=True)
            if plain:
                done[key] = text
        out.append(text)
    return out


def load_adjudicated(df: pd.DataFrame) -> pd.DataFrame:
    """Undo adjudicated_for_parquet: parse ``annotator_labels`` back into dicts."""
    out = df.copy()
    if "annotator_labels" in out.columns:
        out["annotator_labels"] = [json.loads(v) if isinstance(v, str) else v for v in out["annotator_labels"]]
    return out

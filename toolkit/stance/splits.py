"""Leak-free evaluation splits: grouped cross-validation, a grouped held-out part, or given files.

Why: stance labels on news quotes are clustered (many quotes per article, many per speaker), so
a random split lets a model learn an article's wording or a speaker's habitual stance and report
it as skill. Every split made here is grouped by the chosen design and *asserted* leak-free.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from toolkit.errors import InputError, ToolkitError

Folds = list[tuple[np.ndarray, np.ndarray]]


class LeakError(ToolkitError):
    """A train/test split puts the same group (article, speaker, date) on both sides."""


def assert_no_leak(groups: Any, train_idx: Any, test_idx: Any, what: str = "group") -> None:
    """Raise LeakError if any group value is on both sides of a split (names the first few)."""
    g = np.asarray(groups, dtype=object)
    shared = set(g[np.asarray(train_idx)]) & set(g[np.asarray(test_idx)])
    if shared:
        names = ", ".join(sorted(map(str, shared))[:5])
        raise LeakError(f"split leaks: {len(shared)} {what} value(s) in both train and test ({names})")


@dataclass
class SplitPlan:
    """The folds to evaluate on and a plain-language statement of how they were made."""

    kind: str  # cv | holdout | given
    group_by: str | None
    folds: Folds
    seed: int
    description: str
    n_groups: int | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "folds"}
        d["n_folds"] = len(self.folds)
        d["fold_sizes"] = [{"train": int(len(tr)), "test": int(len(te))} for tr, te in self.folds]
        return d


def group_values(frame: pd.DataFrame, group_by: str | None) -> np.ndarray | None:
    """Group ids for the chosen design: article (the group column), speaker, date, or none."""
    if group_by in (None, "none"):
        return None
    if group_by == "article":
        return frame["group"].astype(str).to_numpy(dtype=object)
    if group_by in ("speaker", "date"):
        return frame[group_by].astype(str).to_numpy(dtype=object)
    raise InputError(f"--group-by {group_by!r}: choose article, speaker, date or none")


def _date_folds(groups: np.ndarray, kind: str, n_splits: int, test_size: float) -> tuple[Folds, str]:
    """Temporal folds: the latest dates held out, or contiguous date blocks for CV."""
    n = len(groups)
    uniq = sorted(set(groups))
    if kind == "holdout":
        cut = uniq[int(round(len(uniq) * (1 - test_size)))] if len(uniq) > 1 else uniq[-1]
        test = np.flatnonzero(groups >= cut)
        desc = f"temporal held-out split: test = {len(set(groups[test]))} latest date(s) (from {cut})"
        return [(np.flatnonzero(groups < cut), test)], desc
    k = min(n_splits, len(uniq))
    folds = []
    for block in np.array_split(np.array(uniq, dtype=object), k):
        te = np.flatnonzero(np.isin(groups, block))
        folds.append((np.setdiff1d(np.arange(n), te), te))
    return folds, f"{k}-fold cross-validation over contiguous date blocks ({len(uniq)} dates)"


def _group_folds(y: np.ndarray, groups: np.ndarray, kind: str, what: str, seed: int, n_splits: int,
                 test_size: float, notes: list[str]) -> tuple[Folds, str]:
    """StratifiedGroupKFold folds (stratified as far as the groups allow); holdout = its first fold."""
    n_groups = len(set(groups))
    k = min(n_splits, n_groups) if kind == "cv" else max(2, int(round(1 / test_size)))
    if kind == "cv" and k < n_splits:
        notes.append(f"only {n_groups} {what}s: {k} folds instead of {n_splits}")
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class" is reported below
        folds = [(tr, te) for tr, te in splitter.split(np.zeros(len(y)), y, groups)]
    if kind == "holdout":
        folds = folds[:1]
        desc = (f"held-out split grouped by {what} (StratifiedGroupKFold, first of {k} folds: "
                f"~{100 / k:.0f}% test), {n_groups} {what}s")
    else:
        desc = f"{k}-fold cross-validation grouped by {what} (StratifiedGroupKFold), {n_groups} {what}s"
    min_class = min(Counter(y).values())
    if min_class < k:
        notes.append(f"smallest class has {min_class} example(s), fewer than the {k} folds: "
                     f"some test folds lack it (stratification is best-effort)")
    return folds, desc


def _row_folds(y: np.ndarray, kind: str, seed: int, n_splits: int, test_size: float,
               notes: list[str]) -> tuple[Folds, str]:
    """Stratified folds by row, for data with no group column (stated as a note: scores may be inflated)."""
    min_class = min(Counter(y).values())
    k = max(2, min(n_splits, min_class)) if kind == "cv" else max(2, int(round(1 / test_size)))
    folds = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    if kind == "holdout":
        folds = folds[:1]
        desc = f"stratified held-out split by row (~{100 / k:.0f}% test), NOT grouped"
    else:
        desc = f"{k}-fold stratified cross-validation by row, NOT grouped"
    notes.append("rows are split without grouping: quotes from one article or speaker can sit on both "
                 "sides, which inflates scores if they share wording")
    return folds, desc


def plan_splits(frame: pd.DataFrame, group_by: str | None, *, seed: int = 0, n_splits: int = 5,
                test_size: float = 0.2, cv_below: int = 2000) -> SplitPlan:
    """Cross-validation below `cv_below` labelled rows, one fixed held-out split above.

    Grouped designs use StratifiedGroupKFold (stratified as far as the groups allow); the
    held-out split is its first fold with 1/test_size folds. A date design is temporal: the
    held-out part is the latest dates, and CV folds are contiguous date blocks. Every fold is
    checked with `assert_no_leak`.
    """
    y = frame["label"].to_numpy(dtype=object)
    groups = group_values(frame, group_by)
    notes: list[str] = []
    what = {"article": "article", "speaker": "speaker", "date": "date"}.get(group_by or "", "row")
    n_groups = int(len(set(groups))) if groups is not None else None
    kind = "cv" if len(frame) < cv_below else "holdout"
    if groups is not None and n_groups is not None and n_groups < 2:
        raise InputError(f"grouping by {what} needs at least two {what}s; found one ({groups[0]!r})")
    if group_by == "date":
        folds, desc = _date_folds(groups, kind, n_splits, test_size)
    elif groups is not None:
        folds, desc = _group_folds(y, groups, kind, what, seed, n_splits, test_size, notes)
    else:
        folds, desc = _row_folds(y, kind, seed, n_splits, test_size, notes)
    if groups is not None:
        for tr, te in folds:
            assert_no_leak(groups, tr, te, what)
    if kind == "cv":
        desc += "; scores are computed over the pooled out-of-fold predictions (each row predicted once)"
    desc += f"; seed {seed}"
    return SplitPlan(kind=kind, group_by=group_by, folds=folds, seed=seed, description=desc,
                     n_groups=n_groups, notes=notes)


def given_split(train: pd.DataFrame, test: pd.DataFrame, group_by: str | None, seed: int) -> SplitPlan:
    """Train on one table and test on another; refuse if a group appears in both."""
    both = pd.concat([train, test], ignore_index=True)
    tr = np.arange(len(train))
    te = np.arange(len(train), len(both))
    groups = group_values(both, group_by)
    what = group_by or "row"
    notes = []
    if groups is not None:
        assert_no_leak(groups, tr, te, what)
    else:
        notes.append("no group column checked between the train and test files")
    desc = f"given train/test files ({len(train)} train, {len(test)} test)" + (
        f", checked disjoint by {what}" if groups is not None else "") + f"; seed {seed}"
    return SplitPlan(kind="given", group_by=group_by, folds=[(tr, te)], seed=seed, description=desc,
                     n_groups=int(len(set(groups))) if groups is not None else None, notes=notes)


"""Active learning: which unlabelled quotes are worth labelling next (`qst select`).

Why estimator-free: a strategy only needs the model's per-class scores (and, for `diverse`, a
vector per quote and each quote's article), so the functions here take plain arrays. Any model
that `toolkit.stance.models.class_scores` can read works, and the simulation script
(scripts/simulate_selection.py) replays exactly the code `qst select` runs.

Strategies:

- ``uncertainty``: least confidence, 1 - max class score.
- ``margin``: 1 - (best score - second-best score); small margins first.
- ``diverse``: least confidence, but each pick is weighed by its cosine distance to the picks so
  far, so near-duplicate quotes (a statement repeated in several articles) are not all taken.
- ``random``: a seeded uniform sample; the baseline active learning has to beat.

The three informed strategies share a diversity guard: no article supplies more than
`max_per_group` quotes of a batch (default: a fifth of the batch), because quotes of one article
share speaker, topic and wording and one confusing article would otherwise fill the batch. When
the pool has too few articles to fill the batch under the cap, the rest is filled by priority and
the number of such picks is reported (`Selection.over_cap`). Ties are broken by a seeded random
order, so a selection is fully determined by its inputs and `seed`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STRATEGIES = ("uncertainty", "margin", "diverse", "random")


@dataclass
class Selection:
    """The chosen rows of the pool, best first, and why they were chosen."""

    indices: np.ndarray
    priority: np.ndarray  # the strategy's score of each chosen row (higher = chosen earlier)
    strategy: str
    max_per_group: int | None
    over_cap: int = 0  # picks beyond the per-article cap (only when the pool had too few articles)
    groups: dict[str, int] = field(default_factory=dict)  # article -> picks


def least_confidence(scores: np.ndarray) -> np.ndarray:
    """1 - the highest class score of each row: 0 for a certain prediction.

    Parameters
    ----------
    scores : array of shape (n, k)
        Per-class scores in [0, 1] (probabilities or a softmax of margins).

    Returns
    -------
    ndarray of shape (n,)

    Examples
    --------
    >>> least_confidence(np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25]])).round(2).tolist()
    [0.1, 0.6]
    """
    scores = _check_scores(scores)
    return 1.0 - scores.max(axis=1)


def margin_uncertainty(scores: np.ndarray) -> np.ndarray:
    """1 - (best - second-best class score): 1 when the two leading classes tie.

    Unlike least confidence this ignores how the rest of the mass is spread, so a quote torn
    between favor and against ranks above one that is vaguely unsure among all three.

    Examples
    --------
    >>> margin_uncertainty(np.array([[0.5, 0.5, 0.0], [0.4, 0.3, 0.3]])).round(2).tolist()
    [1.0, 0.9]
    """
    scores = _check_scores(scores)
    if scores.shape[1] < 2:
        return np.zeros(len(scores))
    top2 = np.sort(scores, axis=1)[:, -2:]
    return 1.0 - (top2[:, 1] - top2[:, 0])


def _check_scores(scores: Any) -> np.ndarray:
    arr = np.asarray(scores, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"scores must be a 2-d array (rows x classes), got shape {arr.shape}")
    return arr


def default_cap(n: int) -> int:
    """The per-article cap when none is given: a fifth of the batch, at least one.

    Examples
    --------
    >>> default_cap(200), default_cap(3)
    (40, 1)
    """
    return max(1, math.ceil(n / 5))


def _order(priority: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rows by descending priority, ties in a seeded random order."""
    tiebreak = rng.random(len(priority))
    return np.lexsort((tiebreak, -priority))


def capped_pick(order: np.ndarray, groups: np.ndarray | None, n: int, cap: int | None) -> tuple[list[int], int]:
    """Walk `order` and take rows while their group is under `cap`; fill up past the cap if needed.

    Returns the picked rows (in pick order) and how many were taken beyond the cap.

    Examples
    --------
    >>> capped_pick(np.array([0, 1, 2, 3]), np.array(["a", "a", "a", "b"]), 3, 2)
    ([0, 1, 3], 0)
    >>> capped_pick(np.array([0, 1, 2, 3]), np.array(["a", "a", "a", "b"]), 4, 2)
    ([0, 1, 3, 2], 1)
    """
    if groups is None or cap is None:
        return [int(i) for i in order[:n]], 0
    taken: dict[Any, int] = {}
    picked: list[int] = []
    rest: list[int] = []
    for i in order:
        g = groups[i]
        if len(picked) >= n:
            break
        if taken.get(g, 0) < cap:
            taken[g] = taken.get(g, 0) + 1
            picked.append(int(i))
        else:
            rest.append(int(i))
    extra = rest[: max(0, n - len(picked))]
    return picked + extra, len(extra)


def _unit_rows(vectors: Any) -> Any:
    """Rows scaled to unit length (dense or scipy sparse), so a dot product is a cosine."""
    from sklearn.preprocessing import normalize

    return normalize(vectors, norm="l2", axis=1)


def diverse_pick(uncert: np.ndarray, vectors: Any, groups: np.ndarray | None, n: int, cap: int | None,
                 rng: np.random.Generator, pool_factor: int = 5) -> tuple[list[int], np.ndarray, int]:
    """Greedy: each step takes the candidate maximising uncertainty x (1 - max cosine to the picks).

    Candidates are the `pool_factor * n` most uncertain rows, so the cost stays (5n)^2 whatever
    the pool size. The per-group cap applies as in `capped_pick`. Returns picks, their weighted
    priority at the time of the pick, and the picks beyond the cap.
    """
    cand = _order(uncert, rng)[: max(n, pool_factor * n)]
    unit = _unit_rows(vectors[cand])
    sim = unit @ unit.T
    sim = np.asarray(sim.todense() if hasattr(sim, "todense") else sim, dtype=float)
    closest = np.zeros(len(cand))  # max cosine to any pick so far
    free = np.ones(len(cand), dtype=bool)
    taken: dict[Any, int] = {}
    picks, prio, over = [], [], 0
    for strict in (True, False):
        while len(picks) < min(n, len(cand)):
            ok = free & (_under_cap(cand, groups, taken, cap) if strict else True)
            if not ok.any():
                break
            w = np.where(ok, uncert[cand] * (1.0 - np.clip(closest, 0, 1)) + 1e-12 * uncert[cand], -np.inf)
            j = int(np.argmax(w))
            picks.append(int(cand[j]))
            prio.append(float(w[j]))
            over += 0 if strict else 1
            free[j] = False
            closest = np.maximum(closest, sim[j])
            if groups is not None:
                taken[groups[cand[j]]] = taken.get(groups[cand[j]], 0) + 1
    return picks, np.array(prio), over


def _under_cap(cand: np.ndarray, groups: np.ndarray | None, taken: dict[Any, int], cap: int | None) -> np.ndarray:
    if groups is None or cap is None:
        return np.ones(len(cand), dtype=bool)
    return np.array([taken.get(groups[i], 0) < cap for i in cand], dtype=bool)


def select(scores: np.ndarray | None, n: int, strategy: str = "uncertainty", groups: Any = None,
           vectors: Any = None, seed: int = 0, max_per_group: int | None = None) -> Selection:
    """Pick `n` rows of a pool to label next.

    Parameters
    ----------
    scores : array of shape (pool, k), or None
        The model's per-class scores of the pool (only `random` works without them).
    n : int
        Batch size; a pool smaller than `n` is taken whole.
    strategy : {"uncertainty", "margin", "diverse", "random"}
    groups : array-like of shape (pool,), optional
        The article of each row, for the diversity guard (ignored by `random`).
    vectors : array or sparse matrix of shape (pool, d), optional
        A representation of each row (e.g. TF-IDF); required by `diverse`.
    seed : int
        Fixes tie-breaking and the random sample.
    max_per_group : int, optional
        At most this many picks per article (default `default_cap(n)`).

    Returns
    -------
    Selection

    Examples
    --------
    >>> s = np.array([[0.9, 0.1], [0.5, 0.5], [0.6, 0.4], [0.55, 0.45]])
    >>> select(s, 2, "uncertainty").indices.tolist()
    [1, 3]
    >>> select(s, 2, "uncertainty", groups=["a", "a", "b", "a"], max_per_group=1).indices.tolist()
    [1, 2]
    >>> select(s, 2, "random", seed=1).indices.tolist() == select(s, 2, "random", seed=1).indices.tolist()
    True
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    rng = np.random.default_rng(seed)
    if strategy == "random":
        if scores is None and vectors is None and groups is None:
            raise ValueError("random selection needs the pool size: pass scores, groups or vectors")
        size = len(scores if scores is not None else groups if groups is not None else vectors)
        idx = rng.permutation(size)[:n]
        return Selection(idx, np.zeros(len(idx)), strategy, None, 0, _group_counts(idx, groups))
    if scores is None:
        raise ValueError(f"strategy {strategy!r} needs the model's class scores")
    g = None if groups is None else np.asarray(groups, dtype=object)
    cap = max_per_group if max_per_group is not None else default_cap(n)
    uncert = margin_uncertainty(scores) if strategy == "margin" else least_confidence(scores)
    if strategy == "diverse":
        if vectors is None:
            raise ValueError("strategy 'diverse' needs a vector per row")
        picks, prio, over = diverse_pick(uncert, vectors, g, n, cap, rng)
    else:
        picks, over = capped_pick(_order(uncert, rng), g, n, cap)
        prio = uncert[picks]
    idx = np.asarray(picks, dtype=int)
    return Selection(idx, np.asarray(prio, dtype=float), strategy, cap, over, _group_counts(idx, g))


def _group_counts(idx: np.ndarray, groups: Any) -> dict[str, int]:
    if groups is None:
        return {}
    g = np.asarray(groups, dtype=object)[idx]
    values, counts = np.unique(g.astype(str), return_counts=True)
    return {str(v): int(c) for v, c in sorted(zip(values, counts), key=lambda vc: (-vc[1], vc[0]))}

"""The one estimator shape every decision uses: a list of feature strings in, a probability out.

Why one shape: each decision (is this speech, is this where the message starts, is this the
source) is a binary question over a few candidates, answered by a logistic regression over
one-hot features ("w-1=sagte", "kind=dass"). It trains in seconds on the 700 SpkAtt articles;
applying it is a sum of looked-up weights per candidate, with no sparse matrix built, so the
learned layer costs less per article than the rules it sits on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from itertools import repeat
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

Features = list[str]
T = TypeVar("T")
#: FeatureLogit -> (the weights_ they were built from, key -> FeatureLogit.memo value): kept beside
#: the model, not on it, so that a model file holds only what training learned.
_TABLES: WeakKeyDictionary[FeatureLogit, tuple[dict[str, float], dict[Hashable, Any]]] = WeakKeyDictionary()


class FeatureLogit(ClassifierMixin, BaseEstimator):
    """Logistic regression over lists of string features (each present feature has value 1).

    Parameters
    ----------
    C : float
        Inverse regularisation strength of the logistic regression.
    class_weight : str or None
        Passed to LogisticRegression ("balanced" for rare positives).

    Attributes
    ----------
    weights_ : dict of str to float
        The learned weight of every feature seen in training.
    intercept_ : float
        The bias term.
    """

    def __init__(self, C: float = 1.0, class_weight: str | None = None) -> None:
        self.C = C
        self.class_weight = class_weight

    def fit(self, X: Sequence[Features], y: Sequence[int],
            sample_weight: Sequence[float] | None = None) -> FeatureLogit:
        """Learn one weight per feature string (rows weighted by `sample_weight`); returns self."""
        vocab: dict[str, int] = {}
        rows, cols = [], []
        for i, feats in enumerate(X):
            for f in set(feats):
                rows.append(i)
                cols.append(vocab.setdefault(f, len(vocab)))
        labels = np.asarray(y, dtype=int)
        self.classes_ = np.array([0, 1])
        if len(set(labels.tolist())) < 2:  # one class only: a constant answer
            self.weights_, self.intercept_ = {}, (30.0 if len(labels) and labels[0] else -30.0)
            return self
        matrix = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(X), len(vocab)))
        model = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=3000)
        model.fit(matrix, labels, sample_weight=None if sample_weight is None else np.asarray(sample_weight, float))
        coef = model.coef_[0]
        self.weights_ = {f: float(coef[j]) for f, j in vocab.items() if coef[j] != 0.0}
        self.intercept_ = float(model.intercept_[0])
        return self

    def decision(self, feats: Features) -> float:
        """The linear score (log-odds) of one candidate: a feature listed twice counts once.

        The weights are looked up by `map` (no Python-level loop): this sum is most of what
        applying the layer costs, and the sum runs in the same order as a generator would."""
        return self.intercept_ + sum(map(self.weights_.get, set(feats), repeat(0.0)))

    def table(self, prefix: str) -> dict[str, float]:
        """The weights of the features `prefix + value`, by value (built once per prefix and fit).

        Why: a scorer that looks a token's word up here builds no feature string for it, which
        is most of the cost of scoring the many source options of a message."""
        n = len(prefix)
        if prefix.endswith("="):  # every scorer's prefix: one pass over the weights serves them all
            return self.memo(prefix, lambda: self.memo("by_prefix", self._by_prefix).get(prefix, {}))
        return self.memo(prefix, lambda: {f[n:]: v for f, v in self.weights_.items() if f.startswith(prefix)})

    def _by_prefix(self) -> dict[str, dict[str, float]]:
        """Every `table` of a prefix ending in "=", built in one pass over the weights.

        Why: a model has some 60 such prefixes and ten thousand weights; a scan per prefix cost
        more than half a second the first time a model was applied (a cold `qst extract`).
        A feature starts with such a prefix exactly when the prefix is its text up to one of its
        "=" signs, so each feature goes to the table of each of its "=" signs."""
        out: dict[str, dict[str, float]] = {}
        for f, v in self.weights_.items():
            i = f.find("=")
            while i >= 0:
                out.setdefault(f[:i + 1], {})[f[i + 1:]] = v
                i = f.find("=", i + 1)
        return out

    def memo(self, key: Hashable, build: Callable[[], T]) -> T:
        """`build()`, computed once per key and fit: weights a scorer sums for every option alike."""
        held = _TABLES.get(self)
        if held is None or held[0] is not self.weights_:
            held = _TABLES[self] = (self.weights_, {})
        if key not in held[1]:
            held[1][key] = build()
        return held[1][key]

    def positive(self, X: Sequence[Features]) -> np.ndarray:
        """Probability of the positive class for each candidate."""
        return np.array([sigmoid(self.decision(f)) for f in X])

    def predict_proba(self, X: Sequence[Features]) -> np.ndarray:
        """(n, 2) class probabilities, as scikit-learn classifiers give them."""
        p = self.positive(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Sequence[Features]) -> np.ndarray:
        return (self.positive(X) >= 0.5).astype(int)


def sigmoid(score: float) -> float:
    """The probability of a linear score, clipped to ±30 (no overflow in `math.exp`)."""
    return 1.0 / (1.0 + math.exp(-max(min(score, 30.0), -30.0)))


def first_max(scores: Sequence[float]) -> int:
    """Index of the highest score (the first one on ties); -1 for none."""
    if not len(scores):
        return -1
    top = max(scores)  # `max` and `index` keep the first of equal scores, in C
    return -1 if top == -math.inf else list(scores).index(top)


def argmax_option(model: FeatureLogit, options: Sequence[Features]) -> int:
    """Index of the option with the highest score (the first one on ties); -1 for no options."""
    return first_max([model.decision(feats) for feats in options])

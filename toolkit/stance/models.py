"""The stance estimator family: reference baselines, per-target wrapper, the named text models.

Why these estimators: a score means little without something to beat, so every run also fits a
majority-class baseline and `SpeakerMajorityClassifier` (what speaker identity alone achieves);
`PerTargetClassifier` gives the SemEval-2016 protocol (one model per target). They follow the
scikit-learn conventions (declared parameters, nothing learned in ``__init__``, ``fit`` returns
self, inputs checked with `validate_data`), checked in tests with
`sklearn.utils.estimator_checks.check_estimator`, so they clone, grid-search and pipeline like
any scikit-learn classifier. `build_model` turns a model name into an unfitted estimator.
"""

from __future__ import annotations

import pkgutil
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import ParameterGrid, StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC, LinearSVC
from sklearn.utils import _safe_indexing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from toolkit.errors import InputError
from toolkit.stance.features import (SeenColumns, TweetPreprocessor, build_features, features_of,
                                     hashed_features)

#: Built-in model names (see `build_model`).
MODEL_NAMES = ("majority", "speaker-majority", "tfidf-logreg", "tfidf-svm", "svm-ngrams", "linear-calibrated",
               "ensemble")
#: Models trained when the user names none.
DEFAULT_MODELS = ("majority", "speaker-majority", "tfidf-logreg", "tfidf-svm")
#: Reference baselines: always evaluated alongside the text models, never the saved model by default.
REFERENCE_MODELS = ("majority", "speaker-majority")


def _column(est: BaseEstimator, X: np.ndarray, column: str | int) -> np.ndarray:
    """One column of validated input `X`: by name (DataFrame seen in fit) or by position (array)."""
    if isinstance(column, str):
        names = list(getattr(est, "feature_names_in_", ()))
        if column not in names:
            raise ValueError(f"{type(est).__name__}: no column {column!r} in X (columns: {names or 'unnamed'}); "
                             f"pass a DataFrame with that column or an integer position")
        column = names.index(column)
    return np.asarray(X[:, column], dtype=object)


def _keys(values: np.ndarray) -> np.ndarray:
    """Column values as Python str keys (object array), e.g. target names."""
    return np.array([str(v) for v in values], dtype=object)


def _fit_input(est: BaseEstimator, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """`validate_data` for string tables: no numeric cast; NaN/inf/sparse/empty refused; names recorded."""
    X_arr, y = validate_data(est, X, y, dtype=None)
    check_classification_targets(y)
    # Text labels as Python str (not numpy.str_): the saved model then holds only types skops trusts.
    return X_arr, (y.astype(object) if y.dtype.kind in "US" else y)


def _predict_input(est: BaseEstimator, X: Any) -> np.ndarray:
    """The same checks at predict time, against what `fit` saw (column count and names)."""
    check_is_fitted(est)
    return validate_data(est, X, reset=False, dtype=None)


def _rows(X: Any, X_arr: np.ndarray, idx: np.ndarray) -> Any:
    """Rows `idx` of the input: a DataFrame stays one (inner pipelines select columns by name)."""
    return _safe_indexing(X, idx) if isinstance(X, pd.DataFrame) else X_arr[idx]


class _TableInput:
    """Mixin: the estimator reads string columns of a table (text, target, speaker), so say so in its tags."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.string = True
        return tags


class SpeakerMajorityClassifier(_TableInput, ClassifierMixin, BaseEstimator):
    """Predict each speaker's most frequent training label; the global majority for unseen speakers.

    It reads only the speaker column, so comparing it with a text model shows what the wording
    adds beyond "who said it". Ties break towards the globally more frequent label.

    Parameters
    ----------
    speaker_column : str or int, default="speaker"
        The speaker column: a column name of the DataFrame given to ``fit``, or a position.

    Attributes
    ----------
    classes_ : ndarray
        The labels seen in ``fit``, sorted.
    majority_ : str
        The most frequent training label (ties: alphabetical), predicted for unseen speakers.
    speaker_labels_ : dict of str to str
        Each training speaker's most frequent label.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names seen in ``fit`` (DataFrame input only).

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"speaker": ["Scholz", "Scholz", "Merz"]})
    >>> clf = SpeakerMajorityClassifier().fit(X, ["favor", "favor", "against"])
    >>> clf.predict(pd.DataFrame({"speaker": ["Merz", "Lindner"]})).tolist()
    ['against', 'favor']
    """

    def __init__(self, speaker_column: str | int = "speaker"):
        self.speaker_column = speaker_column

    def fit(self, X: Any, y: Any) -> "SpeakerMajorityClassifier":
        """Count labels per speaker; return self."""
        X_arr, y = _fit_input(self, X, y)
        speakers = _column(self, X_arr, self.speaker_column)
        self.classes_ = np.unique(y)
        overall = Counter(y)
        rank = {c: i for i, (c, _) in enumerate(sorted(overall.items(), key=lambda kv: (-kv[1], kv[0])))}
        self.majority_ = min(overall, key=lambda c: rank[c])
        per: dict[str, Counter] = {}
        for s, lab in zip(speakers, y):
            per.setdefault(str(s), Counter())[lab] += 1
        self.speaker_labels_ = {s: min(c, key=lambda lab: (-c[lab], rank[lab])) for s, c in per.items()}
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The speaker's majority label, or the global majority for a speaker not seen in fit."""
        speakers = _column(self, _predict_input(self, X), self.speaker_column)
        return np.array([self.speaker_labels_.get(str(s), self.majority_) for s in speakers],
                        dtype=self.classes_.dtype)

    def predict_proba(self, X: Any) -> np.ndarray:
        """One-hot rows: probability 1 for the predicted label (a lookup has no graded belief)."""
        pred = self.predict(X)
        return (pred[:, None] == self.classes_[None, :]).astype(float)


def _has_method(name: str) -> Callable[[Any], bool]:
    def check(self: Any) -> bool:
        return hasattr(self.estimator, name)
    return check


class PerTargetClassifier(_TableInput, ClassifierMixin, BaseEstimator):
    """One clone of `estimator` per target value (the SemEval-2016 Task 6 protocol).

    A hyper-parameter search (e.g. GridSearchCV) given as `estimator` is run per target and only
    its refitted best estimator is kept, so the saved model holds plain pipelines. A target seen
    with a single class predicts that class; an unseen target predicts the global majority
    (`unseen_targets` lists them so the caller can warn).

    Parameters
    ----------
    estimator : estimator object
        The classifier cloned and fitted once per target; it receives the rows of its target
        with all columns.
    target_column : str or int, default="target"
        The target column: a column name of the DataFrame given to ``fit``, or a position.

    Attributes
    ----------
    classes_ : ndarray
        All labels seen in ``fit``, sorted.
    majority_ : str
        The most frequent training label, predicted for targets not seen in ``fit``.
    estimators_ : dict of str to estimator
        The fitted clone per target with at least two classes.
    constant_ : dict of str to str
        The only label of each target seen with a single class.
    best_params_ : dict of str to dict
        The chosen hyper-parameters per target when `estimator` is a search.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names seen in ``fit`` (DataFrame input only).

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.pipeline import Pipeline
    >>> X = pd.DataFrame({"speaker": ["a", "b", "a", "b", "c"],
    ...                   "target": ["Tempolimit"] * 4 + ["Windkraft"]})
    >>> y = ["favor", "against", "favor", "against", "neutral"]
    >>> inner = Pipeline([("clf", SpeakerMajorityClassifier())])
    >>> clf = PerTargetClassifier(inner).fit(X, y)
    >>> sorted(clf.estimators_), clf.constant_
    (['Tempolimit'], {'Windkraft': 'neutral'})
    >>> clf.predict(pd.DataFrame({"speaker": ["b", "a"], "target": ["Tempolimit", "Mietendeckel"]})).tolist()
    ['against', 'favor']
    """

    def __init__(self, estimator: Any = None, target_column: str | int = "target"):
        self.estimator = estimator
        self.target_column = target_column

    def fit(self, X: Any, y: Any) -> "PerTargetClassifier":
        """Fit one clone of `estimator` per target with two or more classes; return self."""
        if self.estimator is None:
            raise ValueError("PerTargetClassifier needs an estimator to clone per target")
        X_arr, y = _fit_input(self, X, y)
        targets = _keys(_column(self, X_arr, self.target_column))
        self.classes_ = np.unique(y)
        self.majority_ = Counter(y).most_common(1)[0][0]
        self.estimators_: dict[str, Any] = {}
        self.constant_: dict[str, str] = {}
        self.best_params_: dict[str, dict] = {}
        for t in sorted(set(targets)):
            mask = targets == t
            classes = set(y[mask])
            if len(classes) < 2:
                self.constant_[t] = next(iter(classes))
                continue
            est = clone(self.estimator).fit(_rows(X, X_arr, mask), y[mask])
            if hasattr(est, "best_estimator_"):
                self.best_params_[t] = {k: (v if isinstance(v, (int, float, str)) else repr(v))
                                        for k, v in est.best_params_.items()}
                est = est.best_estimator_
            self.estimators_[t] = est
        return self

    def _route(self, X: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The validated input and the row positions of each target value in it."""
        X_arr = _predict_input(self, X)
        targets = _keys(_column(self, X_arr, self.target_column))
        return X_arr, {t: np.flatnonzero(targets == t) for t in sorted(set(targets))}

    def unseen_targets(self, X: Any) -> list[str]:
        """Targets in `X` that ``fit`` never saw: their rows get the global majority label."""
        return [t for t in self._route(X)[1] if t not in self.estimators_ and t not in self.constant_]

    def predict(self, X: Any) -> np.ndarray:
        """Each row's label from its target's model (or constant, or the global majority)."""
        X_arr, routes = self._route(X)
        out = np.empty(len(X_arr), dtype=self.classes_.dtype)
        for t, idx in routes.items():
            if t in self.estimators_:
                out[idx] = self.estimators_[t].predict(_rows(X, X_arr, idx))
            else:
                out[idx] = self.constant_.get(t, self.majority_)
        return out

    def _scores(self, X: Any, method: str, fill: float) -> np.ndarray:
        """Per-class scores in `classes_` order; classes a target's model never saw get `fill`."""
        X_arr, routes = self._route(X)
        out = np.full((len(X_arr), len(self.classes_)), fill, dtype=float)
        pos = {c: i for i, c in enumerate(self.classes_)}
        for t, idx in routes.items():
            est = self.estimators_.get(t)
            if est is None:
                label = self.constant_.get(t, self.majority_)
                out[np.ix_(idx, [pos[label]])] = 1.0 if method == "predict_proba" else 0.0
                continue
            s = getattr(est, method)(_rows(X, X_arr, idx))
            if s.ndim == 1:  # binary decision_function: positive means classes_[1]
                s = np.column_stack([-s, s])
            cols = [pos[c] for c in est.classes_]
            out[np.ix_(idx, cols)] = s
        return out

    @available_if(_has_method("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from each target's model; 1/0 rows for constant and unseen targets."""
        return self._scores(X, "predict_proba", 0.0)

    @available_if(_has_method("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision values from each target's model; -1000 for classes that model never saw.

        With two classes, one column as scikit-learn has it: positive means ``classes_[1]``
        (half the difference of the two columns, so a binary inner model's value is kept).
        """
        scores = self._scores(X, "decision_function", -1e3)
        return (scores[:, 1] - scores[:, 0]) / 2 if scores.shape[1] == 2 else scores


def _score_grid(H: Any, y: np.ndarray, tr: np.ndarray, te: np.ndarray, rest: list[tuple[str, Any]], clf: Any,
                grid: list[dict[str, Any]], score: Callable[[Any, Any], float]) -> list[float]:
    """One fold of `FoldCachedSearchCV`: the learned feature steps fitted once, then every grid point."""
    Z_tr, Z_te = _safe_indexing(H, tr), _safe_indexing(H, te)
    for _, step in rest:
        step = clone(step)
        Z_tr = step.fit_transform(Z_tr, y[tr])
        Z_te = step.transform(Z_te)
    out = []
    for params in grid:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                pred = clone(clf).set_params(**params).fit(Z_tr, y[tr]).predict(Z_te)
            out.append(float(score(y[te], pred)))
        except ValueError:  # e.g. a training fold left with one class: this point scores nothing
            out.append(0.0)
    return out


class FoldCachedSearchCV(_TableInput, ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Grid search over the last step of a Pipeline, its features computed once per fold.

    Why not GridSearchCV: it refits the whole pipeline for every (fold, grid point), so the
    n-gram features of the same rows were rebuilt 25 times per target for five values of C.
    Here the first `shared_steps` steps (which must learn nothing from the rows, e.g. hashing)
    transform all rows once, the remaining feature steps are fitted once per fold, and only the
    classifier is refitted per grid point, folds in parallel threads (liblinear and lbfgs release
    the GIL). The same folds and the same scores as GridSearchCV with these steps (up to ties,
    which go to the first grid point). ``best_estimator_`` is a plain fitted Pipeline, which is
    what `PerTargetClassifier` and `fit_model` keep.

    Parameters
    ----------
    estimator : Pipeline
        Feature steps, then the classifier whose parameters are searched.
    param_grid : dict of str to list
        Parameters of the last step (its own names, e.g. ``{"C": [0.1, 1.0]}``).
    cv : int, default=5
        Stratified folds (shuffled with `random_state`); fewer when a class is rarer.
    scoring : callable, default=None
        ``score(y_true, y_pred)``, higher is better; None is accuracy.
    shared_steps : int, default=1
        Leading steps fitted once on all rows (they must be stateless, like hashing).
    n_jobs : int, default=None
        Threads over folds (joblib); -1 is all cores.
    random_state : int, default=0
        Seed of the fold shuffle.

    Attributes
    ----------
    best_estimator_ : Pipeline
        The pipeline refitted on all rows with ``best_params_``.
    best_params_ : dict
        The chosen parameters, named ``<last step>__<param>`` as GridSearchCV names them.
    cv_results_ : dict
        ``params`` and ``mean_test_score`` per grid point.
    classes_ : ndarray
        The labels seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X = np.r_[np.zeros((10, 2)), np.ones((10, 2))] + np.arange(20)[:, None] % 3 * 0.1
    >>> y = np.r_[[0] * 10, [1] * 10]
    >>> pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    >>> FoldCachedSearchCV(pipe, {"C": [0.01, 1.0]}, shared_steps=0).fit(X, y).best_params_
    {'clf__C': 0.01}
    """

    def __init__(self, estimator: Any = None, param_grid: dict[str, list] | None = None, cv: int = 5,
                 scoring: Callable[[Any, Any], float] | None = None, shared_steps: int = 1,
                 n_jobs: int | None = None, random_state: int = 0):
        self.estimator = estimator
        self.param_grid = param_grid
        self.cv = cv
        self.scoring = scoring
        self.shared_steps = shared_steps
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _folds(self, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Stratified shuffled folds; as many as the largest class allows (at least two)."""
        k = max(2, min(self.cv, max(Counter(y.tolist()).values())))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "least populated class has only ... members"
            return list(StratifiedKFold(k, shuffle=True, random_state=self.random_state).split(np.zeros(len(y)), y))

    def fit(self, X: Any, y: Any) -> "FoldCachedSearchCV":
        """Score every grid point over the folds, then refit the best on all rows; return self."""
        if not isinstance(self.estimator, Pipeline):
            raise ValueError("FoldCachedSearchCV needs a Pipeline (feature steps, then the classifier)")
        X_arr, y = _fit_input(self, X, y)
        X_in = X if isinstance(X, pd.DataFrame) else X_arr  # a DataFrame stays one (columns by name)
        steps, k = self.estimator.steps, self.shared_steps
        shared = [(n, clone(s)) for n, s in steps[:k]]
        H = X_in
        for _, step in shared:
            H = step.fit_transform(H, y)
        rest, (last, clf) = steps[k:-1], steps[-1]
        grid = list(ParameterGrid(self.param_grid or {}))
        score = self.scoring or accuracy_score
        per_fold = Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(_score_grid)(H, y, tr, te, rest, clf, grid, score) for tr, te in self._folds(y))
        mean = np.mean(np.asarray(per_fold, dtype=float), axis=0)
        best = int(np.argmax(mean))
        fitted = []
        Z = H
        for name, step in rest:
            step = clone(step)
            Z = step.fit_transform(Z, y)
            fitted.append((name, step))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            final = clone(clf).set_params(**grid[best]).fit(Z, y)
        self.best_estimator_ = Pipeline(shared + fitted + [(last, final)])
        self.best_params_ = {f"{last}__{p}": v for p, v in grid[best].items()}
        self.cv_results_ = {"params": grid, "mean_test_score": mean}
        self.classes_ = final.classes_
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Labels from the refitted best pipeline."""
        check_is_fitted(self)
        return self.best_estimator_.predict(X)

    @available_if(_has_method("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision values from the refitted best pipeline."""
        check_is_fitted(self)
        return self.best_estimator_.decision_function(X)

    @available_if(_has_method("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the refitted best pipeline."""
        check_is_fitted(self)
        return self.best_estimator_.predict_proba(X)


def favg_score(y_true: Any, y_pred: Any) -> float:
    """SemEval-2016 Task 6 metric: mean F1 of favor and against (neutral counts only as an error).

    Equal to ``f1_score(..., labels=["favor", "against"], average="macro", zero_division=0)``,
    counted directly: the C search scores hundreds of folds, and f1_score's checks of string
    labels cost more than the count.
    """
    t, p = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    f1s = []
    for label in ("favor", "against"):
        tp = int(np.sum((t == label) & (p == label)))
        wrong = int(np.sum((t == label) != (p == label)))  # false positives + false negatives
        f1s.append(2 * tp / (2 * tp + wrong) if tp + wrong else 0.0)
    return float(np.mean(f1s))


def import_estimator(spec: str) -> Any:
    """Instantiate `module:Class` or `module.Class` (no arguments): the hook for other estimators."""
    mod_name, _, cls_name = spec.partition(":") if ":" in spec else spec.rpartition(".")
    if not mod_name or not cls_name:
        raise InputError(f"--estimator {spec!r}: expected module:Class, e.g. sklearn.linear_model:RidgeClassifier")
    try:
        cls = pkgutil.resolve_name(spec)
    except (ValueError, ImportError, AttributeError) as exc:
        raise InputError(f"--estimator {spec!r}: cannot import ({exc})") from exc
    est = cls() if isinstance(cls, type) else cls
    if not (hasattr(est, "fit") and hasattr(est, "predict") and hasattr(est, "get_params")):
        raise InputError(f"--estimator {spec!r}: not a scikit-learn estimator (needs fit, predict, get_params)")
    return est


@dataclass(frozen=True)
class ModelParams:
    """How `svm-ngrams` (and the hashed models) read the text and tune C: `--model-param KEY=VALUE`.

    Why options: each field is one way a re-implementation of Mohammad et al.'s SVM-ngrams can
    differ from theirs (docs/baseline.md discusses each). The defaults are our reading of the
    paper: tweet tokens (punctuation, emoticons, "don't" kept, as a Twitter tokeniser does),
    lower-cased, hashtags whole, the corpus tag ``#SemST`` dropped, presence/absence features,
    a linear SVM (liblinear, one-vs-rest) without class weights, C chosen per target by
    5-fold cross-validation on F_avg over a half-decade grid.
    """

    tokens: str = "tweet"
    lowercase: bool = True
    hashtags: str = "keep"
    drop_tag: str = "#SemST"
    weights: str = "binary"
    c_grid: tuple[float, ...] = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
    tune: str = "favg"
    svm: str = "liblinear"

    #: Allowed values of the fields that take a word.
    CHOICES = {"tokens": ("tweet", "word"), "hashtags": ("keep", "word"), "weights": ("binary", "tf"),
               "tune": ("favg", "macro_f1", "accuracy"), "svm": ("liblinear", "libsvm")}

    @classmethod
    def parse(cls, items: tuple[str, ...] | list[str]) -> "ModelParams":
        """`KEY=VALUE` strings into a ModelParams; an unknown key or value is an InputError."""
        values: dict[str, Any] = {}
        for item in items:
            key, sep, raw = item.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in cls.__dataclass_fields__:
                raise InputError(f"--model-param {item!r}: expected KEY=VALUE with KEY one of "
                                 f"{', '.join(cls.__dataclass_fields__)}")
            values[key] = cls._value(key, raw.strip(), item)
        return cls(**values)

    @classmethod
    def _value(cls, key: str, raw: str, item: str) -> Any:
        if key == "lowercase":
            if raw.lower() not in ("true", "false", "yes", "no", "1", "0"):
                raise InputError(f"--model-param {item!r}: lowercase takes true or false")
            return raw.lower() in ("true", "yes", "1")
        if key == "c_grid":
            try:
                grid = tuple(float(v) for v in raw.split(",") if v.strip())
            except ValueError:
                raise InputError(f"--model-param {item!r}: c_grid takes numbers separated by commas") from None
            if not grid or min(grid) <= 0:
                raise InputError(f"--model-param {item!r}: c_grid needs at least one value, all > 0")
            return grid
        if key in cls.CHOICES and raw not in cls.CHOICES[key]:
            raise InputError(f"--model-param {item!r}: {key} takes one of {', '.join(cls.CHOICES[key])}")
        return raw

    def preprocessor(self) -> TweetPreprocessor:
        """The text normalisation these options ask for."""
        return TweetPreprocessor(lowercase=self.lowercase, hashtags=self.hashtags, drop=self.drop_tag)

    def scorer(self) -> Callable[[Any, Any], float]:
        """The score C is tuned on."""
        return {"favg": favg_score, "macro_f1": macro_f1_score, "accuracy": accuracy_score}[self.tune]


def macro_f1_score(y_true: Any, y_pred: Any) -> float:
    """Macro-F1 over the classes present in either side."""
    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


def _svm_ngrams(p: ModelParams, target_input: bool, class_weight: str | None, seed: int,
                n_jobs: int | None) -> FoldCachedSearchCV:
    """Mohammad et al.'s SVM-ngrams on hashed n-grams, C tuned by `FoldCachedSearchCV`."""
    clf: Any = (LinearSVC(class_weight=class_weight, random_state=seed, max_iter=5000) if p.svm == "liblinear"
                else SVC(kernel="linear", class_weight=class_weight, random_state=seed))
    pipe = Pipeline([("features", hashed_features(p.weights == "binary", p.tokens, p.preprocessor(),
                                                  use_target=target_input)),
                     ("select", SeenColumns()), ("clf", clf)])
    return FoldCachedSearchCV(pipe, {"C": list(p.c_grid)}, cv=5, scoring=p.scorer(), shared_steps=1,
                              n_jobs=n_jobs, random_state=seed)


def _tfidf_meta(p: ModelParams, target_input: bool) -> list[tuple[str, Any]]:
    """Hashed word 1-3 + char 2-5 sublinear tf (l2 per row) beside the unscaled metadata indicators."""
    return [("features", hashed_features(False, p.tokens, p.preprocessor(), meta=True, use_target=target_input)),
            ("select", SeenColumns())]


def _calibrated_svm(C: float, class_weight: str | None, seed: int) -> CalibratedClassifierCV:
    """A linear SVM whose margins are turned into probabilities (Platt sigmoid, 3 internal folds)."""
    return CalibratedClassifierCV(LinearSVC(C=C, class_weight=class_weight, random_state=seed, max_iter=5000),
                                  method="sigmoid", cv=3)


def _stronger(name: str, p: ModelParams, target_input: bool, class_weight: str | None, seed: int,
              n_jobs: int | None) -> FoldCachedSearchCV:
    """linear-calibrated (tuned calibrated SVM) and ensemble (soft vote of SVM, logistic, NB)."""
    if name == "linear-calibrated":
        pipe = Pipeline([*_tfidf_meta(p, target_input), ("clf", _calibrated_svm(0.3, class_weight, seed))])
        grid: dict[str, list] = {"estimator__C": [0.1, 0.3, 1.0]}
    else:
        vote = VotingClassifier([("svm", _calibrated_svm(0.3, class_weight, seed)),
                                 ("logreg", LogisticRegression(C=10.0, max_iter=2000, class_weight=class_weight,
                                                               random_state=seed)),
                                 ("nb", ComplementNB(alpha=0.3))], voting="soft")
        pipe = Pipeline([*_tfidf_meta(p, target_input), ("clf", vote)])
        grid = {"logreg__C": [3.0, 10.0, 30.0]}
    return FoldCachedSearchCV(pipe, grid, cv=5, scoring=p.scorer(), shared_steps=1, n_jobs=n_jobs,
                              random_state=seed)


def build_model(name: str, *, use_target: bool = False, class_weight: str | None = None, seed: int = 0,
                per_target: bool = False, estimator: Any = None, params: ModelParams | None = None,
                n_jobs: int | None = None) -> Any:
    """A scikit-learn Pipeline taking a DataFrame with text/target/speaker/cue/quote_type columns.

    Names: majority (DummyClassifier), speaker-majority, tfidf-logreg, tfidf-svm, svm-ngrams (the
    SemEval-2016 SVM-ngrams baseline: binary word 1-3 + char 2-5 grams, linear SVM with C chosen by
    5-fold CV on the training data; `params` switch its fidelity options), linear-calibrated and
    ensemble (hashed TF-IDF n-grams + metadata features: a tuned calibrated SVM; a soft vote of
    calibrated SVM, logistic regression and complement naive Bayes), or custom:<module:Class>
    (that estimator after the TF-IDF features). per_target wraps text models in
    PerTargetClassifier; the reference baselines are never split by target so they stay
    comparable. `n_jobs` threads the searches' folds.
    """
    if name == "majority":
        dummy = Pipeline([("clf", DummyClassifier(strategy="most_frequent"))])
        return PerTargetClassifier(dummy, "target") if per_target else dummy
    if name == "speaker-majority":
        return Pipeline([("clf", SpeakerMajorityClassifier("speaker"))])
    # One model per target already conditions on the target: its words add nothing there.
    target_input = use_target and not per_target
    params = params or ModelParams()
    if name == "tfidf-logreg":
        model: Any = Pipeline([("features", build_features(target_input)),
                               ("clf", LogisticRegression(C=10.0, max_iter=2000, class_weight=class_weight,
                                                          random_state=seed))])
    elif name == "tfidf-svm":
        model = Pipeline([("features", build_features(target_input)),
                          ("clf", LinearSVC(C=0.5, class_weight=class_weight, random_state=seed))])
    elif name == "svm-ngrams":
        model = _svm_ngrams(params, target_input, class_weight, seed, n_jobs)
    elif name in ("linear-calibrated", "ensemble"):
        model = _stronger(name, params, target_input, class_weight, seed, n_jobs)
    elif name.startswith("custom:"):
        est = estimator if estimator is not None else import_estimator(name.removeprefix("custom:"))
        model = Pipeline([("features", build_features(target_input)), ("clf", est)])
    else:
        raise InputError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)} or --estimator module:Class")
    return PerTargetClassifier(model, "target") if per_target else model


def unwrap_search(model: Any) -> Any:
    """A fitted GridSearchCV replaced by its refitted best pipeline (what gets saved).

    Inside a PerTargetClassifier the unfitted search template is swapped for its base pipeline,
    so the saved file holds no scorer or CV splitter objects (which skops would not trust).
    """
    if hasattr(model, "best_estimator_"):
        return model.best_estimator_
    if isinstance(model, PerTargetClassifier) and hasattr(model.estimator, "param_grid"):
        model.estimator = model.estimator.estimator
    return model


def describe_model(model: Any) -> dict[str, Any]:
    """JSON-safe configuration: the estimator's repr and its simple parameters."""
    params = {}
    for k, v in model.get_params(deep=True).items():
        if isinstance(v, (str, int, float, bool, type(None))):
            params[k] = v
        elif isinstance(v, (tuple, list)) and all(isinstance(x, (str, int, float, bool)) for x in v):
            params[k] = list(v)
    return {"class": type(model).__name__, "repr": repr(model), "params": params}


def class_scores(model: Any, X: pd.DataFrame) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(classes, per-class scores in [0, 1]) — predict_proba, or a softmax of decision_function.

    The softmax of SVM margins is not a calibrated probability; it only orders the classes.
    """
    try:
        if hasattr(model, "predict_proba"):
            return np.asarray(model.classes_), np.asarray(model.predict_proba(X), dtype=float)
        if hasattr(model, "decision_function"):
            d = np.asarray(model.decision_function(X), dtype=float)
            if d.ndim == 1:
                d = np.column_stack([-d, d])
            e = np.exp(d - d.max(axis=1, keepdims=True))
            return np.asarray(model.classes_), e / e.sum(axis=1, keepdims=True)
    except (AttributeError, NotImplementedError):
        pass
    return None, None


def fit_model(model: Any, frame: pd.DataFrame) -> Any:
    """Fit a fresh clone on `frame` and unwrap a hyper-parameter search."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        fitted = clone(model).fit(features_of(frame), frame["label"].to_numpy(dtype=object))
    best = unwrap_search(fitted)
    if best is not fitted:  # keep the tuned values visible on the saved pipeline
        best.best_params_ = {k: (v if isinstance(v, (int, float, str)) else repr(v))
                             for k, v in fitted.best_params_.items()}
    return best

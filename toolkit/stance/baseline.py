"""Baseline stance classifiers: data checks, scikit-learn pipelines, leak-free splits, skops files.

Why this module exists: stance labels on news quotes are few and clustered (many quotes per
article, many per speaker), so a naive random split lets the model learn an article's wording or a
speaker's habitual stance and report it as skill. Everything here is built so that the numbers it
produces are honest: splits are grouped and *asserted* leak-free, a speaker-majority baseline shows
what speaker identity alone achieves, and saved models are reloaded only if their types are the
ones we wrote.

Pure functions over pandas DataFrames; `toolkit.cli.stance` is the thin CLI and
`toolkit.stance.report` turns results into metrics.json / report.md / report.html.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pkgutil
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, make_scorer
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

import toolkit
from toolkit.errors import InputError, ToolkitError
from toolkit.fileio import (atomic_path, check_replaceable, output_files, output_folder, read_table,
                            sha256_file, write_json, write_text)

log = logging.getLogger(__name__)

#: The stance classes a model is trained on (contract: `unclear` is excluded from training).
LABELS: tuple[str, ...] = ("favor", "against", "neutral")
#: Values that mean "no usable stance label": dropped with a warning, never trained on.
EXCLUDED_LABELS = {"unclear"}
#: Built-in model names (see `build_model`).
MODEL_NAMES = ("majority", "speaker-majority", "tfidf-logreg", "tfidf-svm", "svm-ngrams")
#: Models trained when the user names none.
DEFAULT_MODELS = ("majority", "speaker-majority", "tfidf-logreg", "tfidf-svm")
#: Reference baselines: always evaluated alongside the text models, never the saved model by default.
REFERENCE_MODELS = ("majority", "speaker-majority")
#: Tweet-friendly word tokens: keeps #hashtags and @mentions whole, and one-letter words.
TOKEN_PATTERN = r"(?u)[#@]?\w+"
MODEL_FILE = "model.skops"
META_FILE = "model_meta.json"
BUNDLE_FORMAT = "qst-stance-model"
BUNDLE_FORMAT_VERSION = 1


class LeakError(ToolkitError):
    """A train/test split puts the same group (article, speaker, date) on both sides."""


class ModelFileError(ToolkitError):
    """A model file that is unreadable, from another toolkit version, or not the file we wrote."""


# --------------------------------------------------------------------------------------------
# Columns and data loading
# --------------------------------------------------------------------------------------------


@dataclass
class Columns:
    """Names of the user's columns; the model itself always sees `text`, `target`, `speaker`."""

    text: str = "text"
    label: str = "label"
    target: str = "target"
    speaker: str = "speaker"
    group: str = "article_id"
    id: str = "quote_id"
    context: str = "context"
    date: str = "article_date"


def _is_hf_dataset_dir(path: Path) -> bool:
    return path.is_dir() and ((path / "dataset_dict.json").exists() or (path / "state.json").exists())


def _is_hub_folder(path: Path) -> bool:
    """A Hub-format dataset folder (README card + data/*.parquet), as `qst build-dataset` writes."""
    return path.is_dir() and (path / "README.md").exists() and any((path / "data").glob("*.parquet"))


def _hf_to_frame(ds: Any) -> pd.DataFrame:
    """A `datasets.Dataset` as a DataFrame with ClassLabel integers turned back into names."""
    import datasets

    frame = ds.to_pandas()
    for name, feat in ds.features.items():
        if isinstance(feat, datasets.ClassLabel) and name in frame:
            names = feat.names
            frame[name] = [names[i] if i is not None and i >= 0 else None for i in frame[name]]
    return frame


def load_labelled(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Read a labelled table; return (data, test part or None).

    A `datasets` folder saved with `save_to_disk` is read with `load_from_disk`: a DatasetDict's
    `train` (plus `validation`) becomes the data and its `test` split the given test set, so the
    split the dataset was published with is the one evaluated. Anything else goes through
    `toolkit.fileio.read_table` (parquet, jsonl, json, csv, or a folder of parquet files).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if _is_hf_dataset_dir(path) or _is_hub_folder(path):
        import datasets

        try:
            ds = (datasets.load_dataset(str(path)) if _is_hub_folder(path)
                  else datasets.load_from_disk(str(path)))
        except Exception as exc:  # datasets raises several types for a broken folder
            raise InputError(f"{path}: not a readable `datasets` folder ({exc})") from exc
        if isinstance(ds, datasets.DatasetDict):
            train_parts = [s for s in ("train", "validation") if s in ds]
            if not train_parts:
                raise InputError(f"{path}: DatasetDict has no 'train' split (splits: {', '.join(ds)})")
            data = pd.concat([_hf_to_frame(ds[s]) for s in train_parts], ignore_index=True)
            test = _hf_to_frame(ds["test"]) if "test" in ds else None
            return data, test
        return _hf_to_frame(ds), None
    return read_table(path), None


def data_sha256(path: str | Path) -> str:
    """sha256 over the bytes of the training table (all files of a folder, by relative path).

    Hashing the file rather than the parsed frame means anyone can check it with `sha256sum`.
    """
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        if path.is_dir():
            digest.update(str(p.relative_to(path)).encode("utf-8") + b"\0")
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Prepared:
    """A labelled table in canonical column names, plus what was dropped and why."""

    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    has_target: bool = False
    has_speaker: bool = False
    has_group: bool = False
    has_date: bool = False


def _rows(mask: pd.Series, frame: pd.DataFrame, limit: int = 5) -> str:
    """Human row references (1-based table row, plus quote id when there is one)."""
    idx = list(np.flatnonzero(mask.to_numpy()))
    refs = []
    for i in idx[:limit]:
        qid = frame["quote_id"].iloc[i] if "quote_id" in frame else None
        refs.append(f"row {i + 1}" + (f" ({qid})" if isinstance(qid, str) else ""))
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return ", ".join(refs) + more


def check_unique_ids(ids: pd.Series, where: str, column: str) -> None:
    """Refuse a table whose id column repeats, naming the first repeated id and its rows.

    A repeated quote can sit in a training and a test fold at once and be scored on what the
    model memorised (docs/GUARANTEES.md, "Options and tables", has a measured example).
    """
    positions = pd.Series(np.arange(1, len(ids) + 1), index=ids.index)
    dup = ids.notna() & ids.duplicated(keep=False)
    if dup.any():
        first = ids[dup].iloc[0]
        rows = positions[ids == first].tolist()
        shown = ", ".join(map(str, rows[:5])) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
        n = int(ids[dup].nunique())
        raise InputError(f"{where}: id {first!r} in column {column!r} repeats at rows {shown}"
                         + (f" ({n} ids repeat)" if n > 1 else "")
                         + "; each row must be a distinct quote (a repeated one can be in train and test at once)")


def prepare(df: pd.DataFrame, cols: Columns, where: str, labels: tuple[str, ...] = LABELS,
            require_labels: bool = True) -> Prepared:
    """Check a labelled table and return it with canonical columns.

    Canonical columns: text, label, target, speaker, group, quote_id, context, date. Rows labelled
    `unclear` or with no label are dropped *with a warning that counts them* (the contract excludes
    them from training); anything else outside `labels`, empty text or a missing text/label column
    is an InputError naming the file, column and rows.
    """
    warn: list[str] = []
    if cols.text not in df.columns:
        raise InputError(f"{where}: no text column {cols.text!r} (columns: {', '.join(map(str, df.columns))}); "
                         f"name it with --text-col")
    if require_labels and cols.label not in df.columns:
        raise InputError(f"{where}: no label column {cols.label!r} (columns: {', '.join(map(str, df.columns))}); "
                         f"name it with --label-col")
    out = pd.DataFrame(index=df.index)
    out["quote_id"] = df[cols.id].astype("string") if cols.id in df.columns else pd.Series(
        [f"row{i + 1}" for i in range(len(df))], index=df.index, dtype="string")
    if cols.id in df.columns:
        check_unique_ids(out["quote_id"], where, cols.id)
    out["text"] = df[cols.text]
    bad_text = out["text"].isna() | ~out["text"].map(lambda t: isinstance(t, str) and bool(t.strip()))
    if bad_text.any():
        raise InputError(f"{where}: empty or missing text in column {cols.text!r} at {_rows(bad_text, out)}")
    prep = Prepared(frame=out, warnings=warn)
    for canon, name, flag in (("target", cols.target, "has_target"), ("speaker", cols.speaker, "has_speaker"),
                              ("group", cols.group, "has_group"), ("date", cols.date, "has_date")):
        if name and name in df.columns:
            out[canon] = df[name].astype("string").fillna("" if canon == "target" else "(unknown)")
            setattr(prep, flag, True)
        else:
            out[canon] = "" if canon == "target" else "(unknown)"
    out["context"] = df[cols.context].astype("string") if cols.context in df.columns else ""
    if require_labels:
        raw = df[cols.label]
        lab = raw.map(lambda v: v.strip().lower() if isinstance(v, str) else v)
        missing = lab.isna()
        excluded = lab.isin(EXCLUDED_LABELS)
        outside = ~missing & ~excluded & ~lab.isin(labels)
        if outside.any():
            values = sorted({str(v) for v in raw[outside]})
            raise InputError(f"{where}: label(s) {', '.join(map(repr, values))} in column {cols.label!r} are not in "
                             f"the label set {list(labels)} at {_rows(outside, out)}")
        if missing.any():
            warn.append(f"{where}: {int(missing.sum())} row(s) without a label dropped ({_rows(missing, out)})")
        if excluded.any():
            warn.append(f"{where}: {int(excluded.sum())} row(s) labelled 'unclear' dropped "
                        f"(not a trainable stance)")
        recased = ~missing & raw.map(lambda v: isinstance(v, str)) & (raw.astype(object) != lab.astype(object))
        if recased.any():
            warn.append(f"{where}: {int(recased.sum())} label(s) normalised to lower case without surrounding "
                        f"spaces (e.g. {raw[recased].iloc[0]!r} -> {lab[recased].iloc[0]!r})")
        out["label"] = lab
        out = out[~missing & ~excluded]
    prep.frame = out.reset_index(drop=True)
    return prep


def check_trainable(frame: pd.DataFrame, where: str, group_by: str | None, group_label: str | None) -> None:
    """Refuse data a classifier cannot be honestly trained and evaluated on.

    `group_by` is the split design (article, speaker, date, none); `group_label` names its column
    for the message.
    """
    counts = Counter(frame["label"])
    if len(counts) < 2:
        only = ", ".join(f"{k!r}" for k in counts) or "none"
        raise InputError(f"{where}: need at least two classes to train a classifier, found {len(counts)} ({only}) "
                         f"in {len(frame)} labelled row(s)")
    singles = [k for k, n in counts.items() if n == 1]
    if singles:
        raise InputError(f"{where}: class(es) {', '.join(map(repr, singles))} have a single example: it cannot be "
                         f"both learned and evaluated; label more examples or drop that class")
    values = group_values(frame, group_by)
    if values is not None and len(set(values)) < 2:
        raise InputError(f"{where}: group column ({group_label}) has only one value ({values[0]!r}): a grouped "
                         f"split needs at least two groups; pass --group-by none to split by row (quotes of one "
                         f"article then leak)")


# --------------------------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------------------------


class SpeakerMajorityClassifier(ClassifierMixin, BaseEstimator):
    """Predict each speaker's most frequent training label; the global majority for unseen speakers.

    It reads only the speaker column, so comparing it with a text model shows what the wording
    adds beyond "who said it". Ties break towards the globally more frequent label.
    """

    def __init__(self, speaker_column: str = "speaker"):
        self.speaker_column = speaker_column

    def fit(self, X: pd.DataFrame, y: Any) -> "SpeakerMajorityClassifier":
        y = np.asarray(y, dtype=object)
        speakers = np.asarray(X[self.speaker_column], dtype=object)
        self.classes_ = np.array(sorted(set(y)), dtype=object)
        overall = Counter(y)
        rank = {c: i for i, (c, _) in enumerate(sorted(overall.items(), key=lambda kv: (-kv[1], kv[0])))}
        self.majority_ = str(min(overall, key=lambda c: rank[c]))
        per: dict[str, Counter] = {}
        for s, lab in zip(speakers, y):
            per.setdefault(str(s), Counter())[lab] += 1
        self.speaker_labels_ = {s: str(min(c, key=lambda lab: (-c[lab], rank[lab]))) for s, c in per.items()}
        self.n_features_in_ = 1
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "speaker_labels_")
        return np.array([self.speaker_labels_.get(str(s), self.majority_) for s in X[self.speaker_column]],
                        dtype=object)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        pred = self.predict(X)
        return (pred[:, None] == self.classes_[None, :]).astype(float)


def _has_method(name: str) -> Callable[[Any], bool]:
    def check(self: Any) -> bool:
        return hasattr(self.estimator, name)
    return check


class PerTargetClassifier(ClassifierMixin, BaseEstimator):
    """One clone of `estimator` per target value (the SemEval-2016 Task 6 protocol).

    A hyper-parameter search (e.g. GridSearchCV) given as `estimator` is run per target and only
    its refitted best estimator is kept, so the saved model holds plain pipelines. A target seen
    with a single class predicts that class; an unseen target predicts the global majority (and
    is counted in `unseen_targets_` so the caller can warn).
    """

    def __init__(self, estimator: Any = None, target_column: str = "target"):
        self.estimator = estimator
        self.target_column = target_column

    def fit(self, X: pd.DataFrame, y: Any) -> "PerTargetClassifier":
        y = np.asarray(y, dtype=object)
        targets = np.asarray(X[self.target_column].astype(str), dtype=object)
        self.classes_ = np.array(sorted(set(y)), dtype=object)
        self.majority_ = str(Counter(y).most_common(1)[0][0])
        self.estimators_: dict[str, Any] = {}
        self.constant_: dict[str, str] = {}
        self.best_params_: dict[str, dict] = {}
        for t in sorted(set(targets)):
            mask = targets == t
            classes = set(y[mask])
            if len(classes) < 2:
                self.constant_[t] = str(next(iter(classes)))
                continue
            est = clone(self.estimator).fit(X[mask], y[mask])
            if hasattr(est, "best_estimator_"):
                self.best_params_[t] = {k: (v if isinstance(v, (int, float, str)) else repr(v))
                                        for k, v in est.best_params_.items()}
                est = est.best_estimator_
            self.estimators_[t] = est
        self.n_features_in_ = X.shape[1]
        return self

    def _route(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        check_is_fitted(self, "estimators_")
        targets = np.asarray(X[self.target_column].astype(str), dtype=object)
        return {t: np.flatnonzero(targets == t) for t in sorted(set(targets))}

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        out = np.empty(len(X), dtype=object)
        self.unseen_targets_ = []
        for t, idx in self._route(X).items():
            if t in self.estimators_:
                out[idx] = self.estimators_[t].predict(X.iloc[idx])
            else:
                if t not in self.constant_:
                    self.unseen_targets_.append(t)
                out[idx] = self.constant_.get(t, self.majority_)
        return out

    def _scores(self, X: pd.DataFrame, method: str, fill: float) -> np.ndarray:
        out = np.full((len(X), len(self.classes_)), fill, dtype=float)
        pos = {c: i for i, c in enumerate(self.classes_)}
        for t, idx in self._route(X).items():
            est = self.estimators_.get(t)
            if est is None:
                label = self.constant_.get(t, self.majority_)
                out[np.ix_(idx, [pos[label]])] = 1.0 if method == "predict_proba" else 0.0
                continue
            s = getattr(est, method)(X.iloc[idx])
            if s.ndim == 1:  # binary decision_function: positive means classes_[1]
                s = np.column_stack([-s, s])
            cols = [pos[c] for c in est.classes_]
            out[np.ix_(idx, cols)] = s
        return out

    @available_if(_has_method("predict_proba"))
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self._scores(X, "predict_proba", 0.0)

    @available_if(_has_method("decision_function"))
    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        return self._scores(X, "decision_function", -1e3)


def favg_score(y_true: Any, y_pred: Any) -> float:
    """SemEval-2016 Task 6 metric: mean F1 of favor and against (neutral counts only as an error)."""
    return float(f1_score(y_true, y_pred, labels=["favor", "against"], average="macro", zero_division=0))


def text_features(binary: bool = False, word_ngrams: tuple[int, int] = (1, 2),
                  char_ngrams: tuple[int, int] = (2, 5)) -> FeatureUnion:
    """Word and character n-grams side by side (FeatureUnion).

    binary=True gives presence/absence counts as in Mohammad et al.'s SVM-ngrams; otherwise
    sublinear TF-IDF, which copes better with quotes of very different lengths.
    """
    if binary:
        word = CountVectorizer(ngram_range=word_ngrams, binary=True, lowercase=True, token_pattern=TOKEN_PATTERN)
        char = CountVectorizer(analyzer="char", ngram_range=char_ngrams, binary=True, lowercase=True)
    else:
        word = TfidfVectorizer(ngram_range=word_ngrams, sublinear_tf=True, min_df=1, token_pattern=TOKEN_PATTERN)
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=char_ngrams, sublinear_tf=True, min_df=1)
    return FeatureUnion([("word", word), ("char", char)])


def build_features(use_target: bool, binary: bool = False, word_ngrams: tuple[int, int] = (1, 2),
                   char_ngrams: tuple[int, int] = (2, 5)) -> ColumnTransformer:
    """Text n-grams, plus the target's words when the target is an input (ColumnTransformer)."""
    parts: list[tuple[str, Any, Any]] = [("text", text_features(binary, word_ngrams, char_ngrams), "text")]
    if use_target:
        parts.append(("target", TfidfVectorizer(token_pattern=TOKEN_PATTERN, binary=True, use_idf=False,
                                                norm=None), "target"))
    return ColumnTransformer(parts, remainder="drop")


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


def build_model(name: str, *, use_target: bool = False, class_weight: str | None = None, seed: int = 0,
                per_target: bool = False, estimator: Any = None) -> Any:
    """A scikit-learn Pipeline taking a DataFrame with text/target/speaker columns.

    Names: majority (DummyClassifier), speaker-majority, tfidf-logreg, tfidf-svm, svm-ngrams (the
    SemEval-2016 SVM-ngrams baseline: binary word 1-3 + char 2-5 grams, linear SVM with C chosen by
    5-fold CV on the training data), or custom:<module:Class> (that estimator after the TF-IDF
    features). per_target wraps text models in PerTargetClassifier; the reference baselines are
    never split by target so they stay comparable.
    """
    if name == "majority":
        dummy = Pipeline([("clf", DummyClassifier(strategy="most_frequent"))])
        return PerTargetClassifier(dummy, "target") if per_target else dummy
    if name == "speaker-majority":
        return Pipeline([("clf", SpeakerMajorityClassifier("speaker"))])
    # One model per target already conditions on the target: its words add nothing there.
    target_input = use_target and not per_target
    if name == "tfidf-logreg":
        model: Any = Pipeline([("features", build_features(target_input)),
                               ("clf", LogisticRegression(C=10.0, max_iter=2000, class_weight=class_weight,
                                                          random_state=seed))])
    elif name == "tfidf-svm":
        model = Pipeline([("features", build_features(target_input)),
                          ("clf", LinearSVC(C=0.5, class_weight=class_weight, random_state=seed))])
    elif name == "svm-ngrams":
        pipe = Pipeline([("features", build_features(target_input, binary=True, word_ngrams=(1, 3),
                                                     char_ngrams=(2, 5))),
                         ("clf", LinearSVC(class_weight=class_weight, random_state=seed, max_iter=5000))])
        model = GridSearchCV(pipe, {"clf__C": [0.001, 0.01, 0.1, 1.0, 10.0]},
                             scoring=make_scorer(favg_score),
                             cv=StratifiedKFold(5, shuffle=True, random_state=seed), n_jobs=1, error_score=0.0)
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


# --------------------------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------------------------


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
    folds: list[tuple[np.ndarray, np.ndarray]]
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


def plan_splits(frame: pd.DataFrame, group_by: str | None, *, seed: int = 0, n_splits: int = 5,
                test_size: float = 0.2, cv_below: int = 2000) -> SplitPlan:
    """Cross-validation below `cv_below` labelled rows, one fixed held-out split above.

    Grouped designs use StratifiedGroupKFold (stratified as far as the groups allow); the
    held-out split is its first fold with 1/test_size folds. A date design is temporal: the
    held-out part is the latest dates, and CV folds are contiguous date blocks. Every fold is
    checked with `assert_no_leak`.
    """
    y = frame["label"].to_numpy(dtype=object)
    n = len(frame)
    groups = group_values(frame, group_by)
    notes: list[str] = []
    what = {"article": "article", "speaker": "speaker", "date": "date"}.get(group_by or "", "row")
    n_groups = int(len(set(groups))) if groups is not None else None
    min_class = min(Counter(y).values())
    kind = "cv" if n < cv_below else "holdout"
    folds: list[tuple[np.ndarray, np.ndarray]] = []
    if groups is not None and n_groups is not None and n_groups < 2:
        raise InputError(f"grouping by {what} needs at least two {what}s; found one ({groups[0]!r})")
    if group_by == "date":
        uniq = sorted(set(groups))
        if kind == "holdout":
            cut = uniq[int(round(len(uniq) * (1 - test_size)))] if len(uniq) > 1 else uniq[-1]
            test = np.flatnonzero(groups >= cut)
            folds = [(np.flatnonzero(groups < cut), test)]
            desc = f"temporal held-out split: test = {len(set(groups[test]))} latest date(s) (from {cut})"
        else:
            k = min(n_splits, len(uniq))
            blocks = np.array_split(np.array(uniq, dtype=object), k)
            for b in blocks:
                te = np.flatnonzero(np.isin(groups, b))
                folds.append((np.setdiff1d(np.arange(n), te), te))
            desc = f"{k}-fold cross-validation over contiguous date blocks ({len(uniq)} dates)"
    elif groups is not None:
        k = min(n_splits, n_groups) if kind == "cv" else max(2, int(round(1 / test_size)))
        if kind == "cv" and k < n_splits:
            notes.append(f"only {n_groups} {what}s: {k} folds instead of {n_splits}")
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "least populated class" is reported below
            folds = [(tr, te) for tr, te in splitter.split(np.zeros(n), y, groups)]
        if kind == "holdout":
            folds = folds[:1]
            desc = (f"held-out split grouped by {what} (StratifiedGroupKFold, first of {k} folds: "
                    f"~{100 / k:.0f}% test), {n_groups} {what}s")
        else:
            desc = f"{k}-fold cross-validation grouped by {what} (StratifiedGroupKFold), {n_groups} {what}s"
        if min_class < k:
            notes.append(f"smallest class has {min_class} example(s), fewer than the {k} folds: "
                         f"some test folds lack it (stratification is best-effort)")
    else:
        k = max(2, min(n_splits, min_class)) if kind == "cv" else max(2, int(round(1 / test_size)))
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        folds = list(splitter.split(np.zeros(n), y))
        if kind == "holdout":
            folds = folds[:1]
            desc = f"stratified held-out split by row (~{100 / k:.0f}% test), NOT grouped"
        else:
            desc = f"{k}-fold stratified cross-validation by row, NOT grouped"
        notes.append("rows are split without grouping: quotes from one article or speaker can sit on both "
                     "sides, which inflates scores if they share wording")
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


# --------------------------------------------------------------------------------------------
# Fitting and scoring
# --------------------------------------------------------------------------------------------

FEATURE_COLUMNS = ["text", "target", "speaker"]


def features_of(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns a model sees, as plain str (pandas' string dtype trips some vectorizers)."""
    return frame[FEATURE_COLUMNS].astype(object).astype(str)


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


def cross_predict(model: Any, frame: pd.DataFrame, plan: SplitPlan,
                  test: pd.DataFrame | None = None, progress: Callable[[], None] | None = None) -> pd.DataFrame:
    """Out-of-fold predictions: one row per evaluated item with gold, predicted, score and fold."""
    both = frame if test is None else pd.concat([frame, test], ignore_index=True)
    parts = []
    for fold, (tr, te) in enumerate(plan.folds):
        fitted = fit_model(model, both.iloc[tr])
        X = features_of(both.iloc[te])
        pred = np.asarray(fitted.predict(X), dtype=object)
        classes, scores = class_scores(fitted, X)
        part = both.iloc[te][["quote_id", "text", "target", "speaker", "group", "context", "label"]].copy()
        part["pred"] = pred
        part["score"] = scores.max(axis=1) if scores is not None else np.nan
        part["fold"] = fold
        parts.append(part)
        if progress:
            progress()
    out = pd.concat(parts).rename(columns={"label": "gold"})
    return out.sort_index()


def learning_curve_points(model: Any, frame: pd.DataFrame, plan: SplitPlan, seed: int,
                          sizes: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0)) -> list[dict[str, Any]]:
    """Macro-F1 on each fold's test part for growing random shares of its training part."""
    rng = np.random.default_rng(seed)
    rows = []
    for frac in sizes:
        f1s, n_train = [], []
        for tr, te in plan.folds:
            take = np.sort(rng.permutation(tr)[: max(2, int(round(len(tr) * frac)))])
            if frame.iloc[take]["label"].nunique() < 2:
                continue
            fitted = fit_model(model, frame.iloc[take])
            pred = fitted.predict(features_of(frame.iloc[te]))
            f1s.append(f1_score(frame.iloc[te]["label"], pred, average="macro", zero_division=0))
            n_train.append(len(take))
        if f1s:
            rows.append({"fraction": frac, "n_train": float(np.mean(n_train)), "macro_f1": float(np.mean(f1s)),
                         "macro_f1_sd": float(np.std(f1s))})
    return rows


# --------------------------------------------------------------------------------------------
# Saving and loading models (skops)
# --------------------------------------------------------------------------------------------

#: Types our own models may contain beyond those skops trusts by default. Anything else in a
#: model file is refused: skops would otherwise construct arbitrary classes on load.
ALLOWED_TYPES = frozenset({
    "toolkit.stance.baseline.SpeakerMajorityClassifier",
    "toolkit.stance.baseline.PerTargetClassifier",
})


def save_model(model: Any, out_dir: str | Path, meta: dict[str, Any]) -> Path:
    """Write model.skops (a dict bundle carrying the toolkit version) and model_meta.json.

    The meta file records the model file's sha256: a changed model file is refused on load.
    """
    import skops.io as sio


    out_dir = Path(out_dir)
    bundle = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_FORMAT_VERSION,
        "toolkit_version": toolkit.__version__,
        "sklearn_version": sklearn.__version__,
        "model": model,
        "meta": json.dumps(meta, ensure_ascii=False, default=str),
    }
    path = out_dir / MODEL_FILE
    with atomic_path(path) as tmp:
        sio.dump(bundle, tmp)
    untrusted = sio.get_untrusted_types(file=path)
    extra = sorted(set(untrusted) - ALLOWED_TYPES)
    write_json(out_dir / META_FILE, {
        **meta,
        "model_file": MODEL_FILE,
        "model_sha256": sha256_file(path),
        "toolkit_version": toolkit.__version__,
        "sklearn_version": sklearn.__version__,
        "trusted_types": sorted(untrusted),
        "needs_trust": extra,
    })
    return path


def load_model(path: str | Path, trust: tuple[str, ...] = ()) -> tuple[Any, dict[str, Any]]:
    """Load a model saved by `save_model`; return (estimator, meta).

    Refuses, with ModelFileError naming the file: a checksum mismatch against model_meta.json
    (the file was changed after training), types outside ALLOWED_TYPES + `trust` (checked with
    skops.io.get_untrusted_types *before* anything is constructed), a file that is not a qst
    model bundle, and a bundle written by another toolkit version.
    """
    import zipfile

    import skops.io as sio

    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file (train one with `qst train ... --out DIR`)")
    meta_path = path.parent / META_FILE
    meta: dict[str, Any] = {}
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"{meta_path}: not valid JSON ({exc.msg})") from exc
        want = meta.get("model_sha256")
        if want and sha256_file(path) != want:
            raise ModelFileError(f"{path}: sha256 does not match the one recorded at training time in {meta_path}: "
                                 f"the model file was modified or replaced; refusing to load it")
    else:
        log.warning("%s: no %s beside the model; cannot verify its checksum", path, META_FILE)
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError, json.JSONDecodeError, TypeError) as exc:
        raise ModelFileError(f"{path}: not a readable skops model file ({type(exc).__name__}: {exc})") from exc
    allowed = ALLOWED_TYPES | set(trust)
    unexpected = sorted(set(untrusted) - allowed)
    if unexpected:
        raise ModelFileError(f"{path}: contains types this toolkit does not expect: {', '.join(unexpected)}; "
                             f"refusing to load (pass --trust TYPE only if you wrote that class yourself)")
    try:
        bundle = sio.load(path, trusted=sorted(set(untrusted)))
    except Exception as exc:  # skops raises many types for corrupt content
        raise ModelFileError(f"{path}: could not be loaded ({type(exc).__name__}: {exc})") from exc
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise ModelFileError(f"{path}: not a qst stance model (no '{BUNDLE_FORMAT}' bundle)")
    if bundle.get("format_version") != BUNDLE_FORMAT_VERSION or bundle.get("toolkit_version") != toolkit.__version__:
        raise ModelFileError(f"{path}: saved by qst {bundle.get('toolkit_version')} (format "
                             f"{bundle.get('format_version')}); this is qst {toolkit.__version__} (format "
                             f"{BUNDLE_FORMAT_VERSION}): retrain with `qst train`")
    if bundle.get("sklearn_version") != sklearn.__version__:
        log.warning("%s: trained with scikit-learn %s, running %s; predictions may differ",
                    path, bundle.get("sklearn_version"), sklearn.__version__)
    inner = json.loads(bundle.get("meta") or "{}")
    return bundle["model"], {**inner, **meta}


# --------------------------------------------------------------------------------------------
# Prediction and Label Studio output
# --------------------------------------------------------------------------------------------

#: Task data fields copied from the input quote to the Label Studio task when present.
TASK_DATA_FIELDS = ("quote_id", "article_id", "text", "context", "speaker", "speaker_mention", "quote_type",
                    "target")


def read_quotes(path: str | Path) -> pd.DataFrame:
    """Quotes to label: any table read_table reads, or a Label Studio tasks JSON (uses `data`)."""

    path = Path(path)
    if path.suffix.lower() == ".json" and path.is_file():
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        if isinstance(obj, list) and obj and all(isinstance(t, dict) and "data" in t for t in obj):
            return pd.DataFrame([t["data"] for t in obj])
    return read_table(path)


def predict_frame(model: Any, quotes: pd.DataFrame, cols: Columns, where: str) -> pd.DataFrame:
    """Predicted label and score per quote, keeping the input's quote_id; flat table."""
    if cols.id not in quotes.columns:
        raise InputError(f"{where}: no id column {cols.id!r}: predictions must carry the quote id to be joined "
                         f"back (name it with --id-col)")
    dup = quotes[cols.id].duplicated()
    if dup.any():
        raise InputError(f"{where}: duplicate quote id(s) {', '.join(map(str, quotes[cols.id][dup].unique()[:5]))}")
    prep = prepare(quotes, cols, where, require_labels=False)
    X = features_of(prep.frame)
    pred = np.asarray(model.predict(X), dtype=object)
    classes, scores = class_scores(model, X)
    out = pd.DataFrame({"quote_id": quotes[cols.id].astype(str).to_numpy(), "label": pred})
    if scores is not None:
        out["score"] = scores.max(axis=1)
        for i, c in enumerate(classes):
            out[f"score_{c}"] = scores[:, i]
    else:
        out["score"] = np.nan
    unseen = getattr(model, "unseen_targets_", None)
    if unseen:
        log.warning("%s: target(s) %s unseen in training: predicted the global majority class", where,
                    ", ".join(unseen))
    return out


def labelstudio_predictions(quotes: pd.DataFrame, preds: pd.DataFrame, model_version: str,
                            from_name: str = "stance", to_name: str = "quote") -> list[dict[str, Any]]:
    """One Label Studio task per quote, pre-annotated with the model's Choices result."""
    tasks = []
    records = quotes.to_dict(orient="records")
    for rec, (_, p) in zip(records, preds.iterrows()):
        data = {k: _json_value(rec[k]) for k in TASK_DATA_FIELDS if k in rec}
        data["quote_id"] = str(p["quote_id"])
        score = p.get("score")
        pred: dict[str, Any] = {
            "model_version": model_version,
            "score": None if score is None or pd.isna(score) else round(float(score), 6),
            "result": [{"from_name": from_name, "to_name": to_name, "type": "choices",
                        "value": {"choices": [str(p["label"])]}}],
        }
        if pred["score"] is None:
            del pred["score"]
        tasks.append({"data": data, "predictions": [pred]})
    return tasks


def _json_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


# --------------------------------------------------------------------------------------------
# A whole training run
# --------------------------------------------------------------------------------------------


@dataclass
class TrainOptions:
    """Everything `qst train` can be told; recorded verbatim in config.json."""

    models: tuple[str, ...] = ()
    estimator: str | None = None
    save: str | None = None
    group_by: str | None = "auto"
    per_target: bool = False
    use_target: bool = True
    class_weight: str | None = None
    seed: int = 0
    n_splits: int = 5
    test_size: float = 0.2
    cv_below: int = 2000
    n_boot: int = 1000
    learning_curve: bool = True
    labels: tuple[str, ...] = LABELS


def _resolve_group_by(opt: str | None, prep: Prepared, cols: Columns, warn: list[str]) -> str | None:
    if opt in (None, "none"):
        return None
    if opt == "auto":
        if prep.has_group:
            return "article"
        warn.append(f"no group column {cols.group!r}: rows are split without grouping (name it with --group-col)")
        return None
    need = {"article": ("has_group", cols.group), "speaker": ("has_speaker", cols.speaker),
            "date": ("has_date", cols.date)}
    if opt not in need:
        raise InputError(f"--group-by {opt!r}: choose article, speaker, date, none or auto")
    flag, name = need[opt]
    if not getattr(prep, flag):
        raise InputError(f"--group-by {opt}: the data has no column {name!r}")
    return opt


def run_training(data_path: str | Path, out_dir: str | Path, cols: Columns | None = None,
                 opts: TrainOptions | None = None, test_path: str | Path | None = None,
                 estimator: Any = None, progress: Callable[[str, int], Callable[[], None]] | None = None,
                 data_label: str | None = None) -> dict[str, Any]:
    """Train, evaluate and report: writes the run folder and returns the metrics dict.

    `estimator` (Python API) is any scikit-learn classifier used after the TF-IDF features, as
    `--estimator module:Class` does on the command line. `progress(label, total)` returns a
    callable ticked once per fitted fold. The run folder is one output set
    (`fileio.output_folder`): refused up front unless new or ours, replaced only when complete.
    `data_label` is how reports name the training file (default: its path).
    """
    from toolkit.stance import report as reports

    cols = cols or Columns()
    opts = opts or TrainOptions()
    labels = list(opts.labels)
    out_dir = Path(out_dir)
    data_path = Path(data_path)
    check_replaceable(out_dir, [data_path, test_path])
    raw, bundled_test = load_labelled(data_path)
    prep = prepare(raw, cols, str(data_path), tuple(labels))
    warn = list(prep.warnings)
    train = prep.frame
    test = None
    test_sha = None
    if test_path is not None:
        raw_test, _ = load_labelled(test_path)
        tprep = prepare(raw_test, cols, str(test_path), tuple(labels))
        warn += tprep.warnings
        test = tprep.frame
        test_sha = data_sha256(test_path)
    elif bundled_test is not None:
        tprep = prepare(bundled_test, cols, f"{data_path} (test split)", tuple(labels))
        warn += tprep.warnings
        test = tprep.frame
        test_path = f"{data_path} (test split)"
    if opts.per_target and not prep.has_target:
        raise InputError(f"{data_path}: --per-target needs a target column ({cols.target!r}); name it with "
                         f"--target-col")
    group_by = _resolve_group_by(opts.group_by, prep, cols, warn)
    check_trainable(train, str(data_path), group_by, cols.group if group_by == "article" else group_by)
    if test is not None and len(test) == 0:
        raise InputError(f"{test_path}: no labelled rows to test on")

    # Models: the reference baselines always run, so every score has something to beat.
    requested = list(opts.models) or [m for m in DEFAULT_MODELS if m not in REFERENCE_MODELS]
    if opts.estimator or estimator is not None:
        spec = f"custom:{opts.estimator or type(estimator).__module__ + ':' + type(estimator).__name__}"
        requested = (list(opts.models) + [spec]) if opts.models else [spec]
    refs = ["majority"] + (["speaker-majority"] if prep.has_speaker else [])
    if not prep.has_speaker and "speaker-majority" in requested:
        raise InputError(f"{data_path}: model speaker-majority needs a speaker column ({cols.speaker!r})")
    if not prep.has_speaker:
        warn.append(f"no speaker column {cols.speaker!r}: the speaker-majority baseline is skipped")
    names = list(dict.fromkeys(refs + requested))
    saved = opts.save or next((m for m in requested if m not in REFERENCE_MODELS), requested[0])
    if saved not in names:
        raise InputError(f"--save {saved!r} is not among the trained models ({', '.join(names)})")
    use_target = opts.use_target and prep.has_target

    def make(name: str) -> Any:
        return build_model(name, use_target=use_target, class_weight=opts.class_weight, seed=opts.seed,
                           per_target=opts.per_target and name != "speaker-majority",
                           estimator=estimator if name.startswith("custom:") else None)

    if test is not None:
        plan = given_split(train, test, group_by, opts.seed)
        both = pd.concat([train, test], ignore_index=True)
    else:
        plan = plan_splits(train, group_by, seed=opts.seed, n_splits=opts.n_splits, test_size=opts.test_size,
                           cv_below=opts.cv_below)
        both = train
    for i, (tr, te) in enumerate(plan.folds):
        if both.iloc[tr]["label"].nunique() < 2:
            raise InputError(f"{data_path}: fold {i} trains on a single class; label more data or change the split")

    clusters = "group" if prep.has_group else None
    model_results: dict[str, dict[str, Any]] = {}
    predictions: dict[str, pd.DataFrame] = {}
    for name in names:
        tick = progress(f"evaluating {name}", len(plan.folds)) if progress else None
        preds = cross_predict(make(name), train, plan, test=test, progress=tick)
        predictions[name] = preds
        model_results[name] = reports.evaluate(preds, labels, clusters, n_boot=opts.n_boot, seed=opts.seed)

    evaluated = predictions[saved]
    n_eval_groups = int(evaluated["group"].nunique()) if clusters else None
    uncertain = reports.size_warnings(evaluated["gold"], labels, n_eval_groups)
    if len(train) < 100:
        uncertain.insert(0, f"only {len(train)} labelled training quotes")

    result: dict[str, Any] = {
        "run": out_dir.name,
        "toolkit_version": toolkit.__version__,
        "sklearn_version": sklearn.__version__,
        "seed": opts.seed,
        "labels": labels,
        "uncertain": uncertain,
        "warnings": warn,
        "columns": asdict(cols),
        "options": {**asdict(opts), "test": str(test_path) if test_path else None},
        "data": {"path": data_label or str(data_path), "sha256": data_sha256(data_path), "n_train": len(train),
                 "test_path": str(test_path) if test_path else None, "test_sha256": test_sha,
                 "n_test": len(test) if test is not None else None},
        "label_distribution": ({"train": _counts(train, labels), "test": _counts(test, labels)} if test is not None
                               else {"all": _counts(train, labels)}),
        "split": plan.to_json(),
        "models_evaluated": names,
        "saved_model": saved,
        "models": model_results,
        "bootstrap": f"{opts.n_boot} seeded bootstrap replicates (seed {opts.seed}), resampling "
                     f"{'whole articles' if clusters else 'quotes'}",
    }
    if "speaker-majority" in model_results and saved not in REFERENCE_MODELS:
        d = reports.paired_difference(model_results[saved], model_results["speaker-majority"])
        lo, hi = d["ci95"]
        verdict = ("Yes: the text model beats speaker identity alone" if lo > 0 else
                   "No: speaker identity alone does better than the text model" if hi < 0 else
                   "Not shown: the difference is within the uncertainty")
        result["text_vs_speaker"] = {"text_model": saved, **d, "verdict": verdict}
    if saved != "majority":
        result["vs_majority"] = {"text_model": saved,
                                 **reports.paired_difference(model_results[saved], model_results["majority"])}
    if prep.has_target:
        result["per_target"] = reports.breakdown(evaluated, "target", labels)
    if prep.has_speaker:
        result["per_speaker"] = reports.breakdown(evaluated, "speaker", labels)

    figures: dict[str, bytes] = {}
    m = model_results[saved]
    figures[f"confusion matrix ({saved})"] = reports.plot_confusion(
        m["confusion_matrix"]["rows_gold_cols_pred"], labels, f"{saved}: gold vs predicted (n={m['n']})")
    figures["per-class F1 with 95% CI"] = reports.plot_per_class_f1(model_results, labels)
    figures["label distribution"] = reports.plot_label_distribution(result["label_distribution"], labels)
    tuned = saved == "svm-ngrams"
    if opts.learning_curve and len(train) >= 60 and test is None and not tuned:
        points = learning_curve_points(make(saved), train, plan, opts.seed)
        result["learning_curve"] = points
        if len(points) >= 2:
            figures["learning curve"] = reports.plot_learning_curve(points, saved)
    else:
        result["learning_curve"] = []
        result["learning_curve_skipped"] = ("too few quotes (< 60)" if len(train) < 60 else
                                            "given test file: no folds to grow" if test is not None else
                                            "tuned model (grid search per fit): too costly" if tuned else
                                            "disabled")

    final = fit_model(make(saved), train)
    result["final_fit"] = (f"fitted on the {len(train)} training quotes only (test file kept out)" if test is not None
                           else f"refitted on all {len(train)} labelled quotes after evaluation")
    result["data"]["n_final"] = len(train)
    result["best_params"] = getattr(final, "best_params_", None) or None
    result["model_config"] = describe_model(final)

    errors = evaluated[evaluated["gold"] != evaluated["pred"]].copy()
    errors = errors.rename(columns={"group": cols.group})[
        ["quote_id", cols.group, "speaker", "target", "gold", "pred", "score", "text", "context"]]
    result["n_errors"] = int(len(errors))
    preview = errors.head(50).copy()
    preview["text"] = preview["text"].astype(str).str.slice(0, 160)
    preview["context"] = preview["context"].astype(str).str.slice(0, 160)
    preview["score"] = preview["score"].round(3)
    result["errors_preview"] = json.loads(preview.to_json(orient="records", force_ascii=False))

    with output_folder(out_dir, "train", inputs=[data_path, test_path]) as stage:
        reports.write_report(stage, result, errors, figures)
        save_model(final, stage, {"model_name": saved, "run": result["run"], "labels": labels,
                                  "columns": asdict(cols), "per_target": opts.per_target,
                                  "data_sha256": result["data"]["sha256"],
                                  "macro_f1": model_results[saved]["macro_f1"]["value"]})
        write_text(stage / "model_card.md", reports.model_card(json.loads(json.dumps(
            reports._strip_private(result), default=str))))
    return reports._strip_private(result)


def _counts(frame: pd.DataFrame | None, labels: list[str]) -> dict[str, int]:
    if frame is None:
        return {}
    c = Counter(frame["label"])
    return {lab: int(c.get(lab, 0)) for lab in labels}


def run_predict(model_path: str | Path, quotes_path: str | Path, out: str | Path, table: str | Path | None = None,
                cols: Columns | None = None, model_version: str | None = None, trust: tuple[str, ...] = ()
                ) -> dict[str, Any]:
    """Label quotes with a saved model; write Label Studio predictions (and a flat table)."""

    model, meta = load_model(model_path, trust=trust)
    if cols is None:
        saved = meta.get("columns") or {}
        cols = Columns(**{k: v for k, v in saved.items() if k in Columns.__dataclass_fields__})
    quotes = read_quotes(quotes_path)
    preds = predict_frame(model, quotes, cols, str(quotes_path))
    version = model_version or f"qst-{meta.get('model_name', 'model')}-{str(meta.get('data_sha256', ''))[:8]}"
    renamed = quotes.rename(columns={cols.text: "text", cols.id: "quote_id", cols.speaker: "speaker",
                                     cols.target: "target", cols.group: "article_id", cols.context: "context"})
    tasks = labelstudio_predictions(renamed, preds, version)
    members = [Path(out)] + ([Path(table)] if table is not None else [])
    with output_files(members, inputs=(model_path, quotes_path)) as staged:
        write_json(staged[0], tasks)
        if table is not None:
            suffix = Path(table).suffix.lower()
            if suffix == ".parquet":
                preds.to_parquet(staged[1], index=False)
            elif suffix in {".jsonl", ".ndjson"}:
                preds.to_json(staged[1], orient="records", lines=True, force_ascii=False)
            else:
                preds.to_csv(staged[1], index=False)
    return {"n": len(preds), "model_version": version, "label_counts": dict(Counter(preds["label"]))}

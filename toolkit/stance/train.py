"""`qst train`: one training run, from a labelled table to a run folder (metrics, reports, model).

Why a run is built like this: the numbers must be honest. The reference baselines (majority,
speaker-majority) always run beside the text models, every model is scored on the same leak-free
folds (`toolkit.stance.splits`), the intervals come from a seeded bootstrap, and the model that is
saved is refitted on all labelled quotes only after it was evaluated. `run_training` is the
orchestration; each step below it is a small function over plain data.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics import f1_score

import toolkit
from toolkit.errors import InputError
from toolkit.fileio import check_replaceable, output_folder, write_text
from toolkit.stance import report as reports
from toolkit.stance.data import (LABELS, Columns, Prepared, check_trainable, data_sha256, load_labelled,
                                 prepare)
from toolkit.stance.features import features_of
from toolkit.stance.modelfile import save_model
from toolkit.stance.models import (DEFAULT_MODELS, REFERENCE_MODELS, ModelParams, build_model, class_scores,
                                   describe_model, fit_model)
from toolkit.stance.splits import SplitPlan, given_split, plan_splits

Progress = Callable[[str, int], Callable[[], None]]


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
    model_params: tuple[str, ...] = ()
    n_jobs: int | None = -1


# --------------------------------------------------------------------------------------------
# Fitting and scoring over a split plan
# --------------------------------------------------------------------------------------------


def cross_predict(model: Any, frame: pd.DataFrame, plan: SplitPlan,
                  test: pd.DataFrame | None = None, progress: Callable[[], None] | None = None,
                  keep: list[Any] | None = None) -> pd.DataFrame:
    """Out-of-fold predictions: one row per evaluated item with gold, predicted, score and fold.

    `keep`, when given, receives each fold's fitted model (a given test file's single fold is
    trained on exactly the training table, so that fit is the final model too).
    """
    both = frame if test is None else pd.concat([frame, test], ignore_index=True)
    parts = []
    for fold, (tr, te) in enumerate(plan.folds):
        fitted = fit_model(model, both.iloc[tr])
        if keep is not None:
            keep.append(fitted)
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
                          sizes: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0),
                          fitted_folds: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Macro-F1 on each fold's test part for growing random shares of its training part.

    `fitted_folds` are the out-of-fold predictions `cross_predict` already made with this model
    and plan: a share that takes a fold's whole training part is that same fit, so its score is
    read from them instead of fitting the model again.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for frac in sizes:
        f1s, n_train = [], []
        for fold, (tr, te) in enumerate(plan.folds):
            take = np.sort(rng.permutation(tr)[: max(2, int(round(len(tr) * frac)))])
            if frame.iloc[take]["label"].nunique() < 2:
                continue
            if fitted_folds is not None and np.array_equal(take, tr):
                part = fitted_folds[fitted_folds["fold"] == fold]
                gold, pred = part["gold"], part["pred"]
            else:
                gold = frame.iloc[te]["label"]
                pred = fit_model(model, frame.iloc[take]).predict(features_of(frame.iloc[te]))
            f1s.append(f1_score(gold, pred, average="macro", zero_division=0))
            n_train.append(len(take))
        if f1s:
            rows.append({"fraction": frac, "n_train": float(np.mean(n_train)), "macro_f1": float(np.mean(f1s)),
                         "macro_f1_sd": float(np.std(f1s))})
    return rows


# --------------------------------------------------------------------------------------------
# The steps of a training run
# --------------------------------------------------------------------------------------------


@dataclass
class _Data:
    """The checked tables of one run and what was said about them."""

    path: Path
    prep: Prepared
    train: pd.DataFrame
    test: pd.DataFrame | None
    test_path: str | Path | None  # the test file, or "<data> (test split)" for a bundled split
    test_sha: str | None
    warnings: list[str]


def _load_data(data_path: Path, test_path: str | Path | None, cols: Columns, labels: list[str]) -> _Data:
    """The training table and the test table (a separate file, or the dataset's own test split)."""
    raw, bundled_test = load_labelled(data_path)
    prep = prepare(raw, cols, str(data_path), tuple(labels))
    warn = list(prep.warnings)
    test, test_sha = None, None
    if test_path is not None:
        raw_test, _ = load_labelled(test_path)
        tprep = prepare(raw_test, cols, str(test_path), tuple(labels))
        test, test_sha = tprep.frame, data_sha256(test_path)
        warn += tprep.warnings
    elif bundled_test is not None:
        tprep = prepare(bundled_test, cols, f"{data_path} (test split)", tuple(labels))
        test, test_path = tprep.frame, f"{data_path} (test split)"
        warn += tprep.warnings
    return _Data(data_path, prep, prep.frame, test, test_path, test_sha, warn)


def _resolve_group_by(opt: str | None, prep: Prepared, cols: Columns, warn: list[str]) -> str | None:
    """The split design: `auto` is article when the group column exists; a named design needs its column."""
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


def _check_data(data: _Data, cols: Columns, group_by: str | None) -> None:
    """Refuse data a run cannot be honest on (see `check_trainable`) and an empty test table."""
    check_trainable(data.train, str(data.path), group_by, cols.group if group_by == "article" else group_by)
    if data.test is not None and len(data.test) == 0:
        raise InputError(f"{data.test_path}: no labelled rows to test on")


def _model_names(opts: TrainOptions, estimator: Any, data: _Data, cols: Columns) -> tuple[list[str], str]:
    """(models to evaluate, the one to save): the reference baselines always run, so every score has
    something to beat."""
    has_speaker = data.prep.has_speaker
    requested = list(opts.models) or [m for m in DEFAULT_MODELS if m not in REFERENCE_MODELS]
    if opts.estimator or estimator is not None:
        spec = f"custom:{opts.estimator or type(estimator).__module__ + ':' + type(estimator).__name__}"
        requested = (list(opts.models) + [spec]) if opts.models else [spec]
    refs = ["majority"] + (["speaker-majority"] if has_speaker else [])
    if not has_speaker and "speaker-majority" in requested:
        raise InputError(f"{data.path}: model speaker-majority needs a speaker column ({cols.speaker!r})")
    if not has_speaker:
        data.warnings.append(f"no speaker column {cols.speaker!r}: the speaker-majority baseline is skipped")
    names = list(dict.fromkeys(refs + requested))
    saved = opts.save or next((m for m in requested if m not in REFERENCE_MODELS), requested[0])
    if saved not in names:
        raise InputError(f"--save {saved!r} is not among the trained models ({', '.join(names)})")
    return names, saved


def _model_factory(opts: TrainOptions, data: _Data, estimator: Any) -> Callable[[str], Any]:
    """name -> a fresh unfitted model with this run's options (target input, class weight, seed)."""
    use_target = opts.use_target and data.prep.has_target
    params = ModelParams.parse(opts.model_params)

    def make(name: str) -> Any:
        return build_model(name, use_target=use_target, class_weight=opts.class_weight, seed=opts.seed,
                           per_target=opts.per_target and name != "speaker-majority",
                           estimator=estimator if name.startswith("custom:") else None, params=params,
                           n_jobs=opts.n_jobs)
    return make


def _plan(data: _Data, group_by: str | None, opts: TrainOptions) -> SplitPlan:
    """The folds: the given test file as one fold, else grouped CV or a grouped held-out split."""
    if data.test is not None:
        plan = given_split(data.train, data.test, group_by, opts.seed)
        both = pd.concat([data.train, data.test], ignore_index=True)
    else:
        plan = plan_splits(data.train, group_by, seed=opts.seed, n_splits=opts.n_splits, test_size=opts.test_size,
                           cv_below=opts.cv_below)
        both = data.train
    for i, (tr, te) in enumerate(plan.folds):
        if both.iloc[tr]["label"].nunique() < 2:
            raise InputError(f"{data.path}: fold {i} trains on a single class; label more data or change the split")
    return plan


def _evaluate(names: list[str], make: Callable[[str], Any], data: _Data, plan: SplitPlan, labels: list[str],
              clusters: str | None, opts: TrainOptions, progress: Progress | None, saved: str | None = None
              ) -> tuple[dict[str, dict[str, Any]], dict[str, pd.DataFrame], Any]:
    """Out-of-fold predictions and their metrics (bootstrap intervals) for every model.

    Also returns the saved model's evaluation fit when it can be the final model (a given test
    file: its one fold trains on the whole training table), so it is not searched twice.
    """
    results: dict[str, dict[str, Any]] = {}
    predictions: dict[str, pd.DataFrame] = {}
    reusable = None
    for name in names:
        tick = progress(f"evaluating {name}", len(plan.folds)) if progress else None
        keep: list[Any] | None = [] if name == saved and plan.kind == "given" else None
        predictions[name] = cross_predict(make(name), data.train, plan, test=data.test, progress=tick, keep=keep)
        results[name] = reports.evaluate(predictions[name], labels, clusters, n_boot=opts.n_boot, seed=opts.seed)
        if keep:
            reusable = keep[0]
    return results, predictions, reusable


def _counts(frame: pd.DataFrame | None, labels: list[str]) -> dict[str, int]:
    if frame is None:
        return {}
    c = Counter(frame["label"])
    return {lab: int(c.get(lab, 0)) for lab in labels}


def _summary(out_dir: Path, data: _Data, cols: Columns, opts: TrainOptions, labels: list[str], plan: SplitPlan,
             names: list[str], saved: str, results: dict[str, dict[str, Any]], uncertain: list[str],
             data_label: str | None) -> dict[str, Any]:
    """The head of metrics.json: versions, inputs and their checksums, the split, the scores."""
    test, test_path, clusters = data.test, data.test_path, data.prep.has_group
    return {
        "run": out_dir.name,
        "toolkit_version": toolkit.__version__,
        "sklearn_version": sklearn.__version__,
        "seed": opts.seed,
        "labels": labels,
        "uncertain": uncertain,
        "warnings": data.warnings,
        "columns": asdict(cols),
        "options": {**asdict(opts), "test": str(test_path) if test_path else None},
        "data": {"path": data_label or str(data.path), "sha256": data_sha256(data.path), "n_train": len(data.train),
                 "test_path": str(test_path) if test_path else None, "test_sha256": data.test_sha,
                 "n_test": len(test) if test is not None else None},
        "label_distribution": ({"train": _counts(data.train, labels), "test": _counts(test, labels)}
                               if test is not None else {"all": _counts(data.train, labels)}),
        "split": plan.to_json(),
        "models_evaluated": names,
        "saved_model": saved,
        "models": results,
        "bootstrap": f"{opts.n_boot} seeded bootstrap replicates (seed {opts.seed}), resampling "
                     f"{'whole articles' if clusters else 'quotes'}",
    }


def _uncertain(evaluated: pd.DataFrame, labels: list[str], clusters: str | None, n_train: int) -> list[str]:
    """Why the numbers may not be trusted: few quotes, few examples of a class, few clusters."""
    n_eval_groups = int(evaluated["group"].nunique()) if clusters else None
    uncertain = reports.size_warnings(evaluated["gold"], labels, n_eval_groups)
    if n_train < 100:
        uncertain.insert(0, f"only {n_train} labelled training quotes")
    return uncertain


def _comparisons(result: dict[str, Any], evaluated: pd.DataFrame, prep: Prepared) -> None:
    """Add the paired differences (text vs speaker, vs majority) and per-target/per-speaker scores."""
    results, saved, labels = result["models"], result["saved_model"], result["labels"]
    if "speaker-majority" in results and saved not in REFERENCE_MODELS:
        d = reports.paired_difference(results[saved], results["speaker-majority"])
        lo, hi = d["ci95"]
        verdict = ("Yes: the text model beats speaker identity alone" if lo > 0 else
                   "No: speaker identity alone does better than the text model" if hi < 0 else
                   "Not shown: the difference is within the uncertainty")
        result["text_vs_speaker"] = {"text_model": saved, **d, "verdict": verdict}
    if saved != "majority":
        result["vs_majority"] = {"text_model": saved, **reports.paired_difference(results[saved], results["majority"])}
    if prep.has_target:
        result["per_target"] = reports.per_target_breakdown(evaluated, labels, "group" if prep.has_group else None,
                                                            n_boot=result["options"]["n_boot"], seed=result["seed"])
    if prep.has_speaker:
        result["per_speaker"] = reports.breakdown(evaluated, "speaker", labels)


def _figures(result: dict[str, Any]) -> dict[str, bytes]:
    """The report's plots: confusion matrix of the saved model, per-class F1, label distribution."""
    results, saved, labels = result["models"], result["saved_model"], result["labels"]
    m = results[saved]
    return {
        f"confusion matrix ({saved})": reports.plot_confusion(
            m["confusion_matrix"]["rows_gold_cols_pred"], labels, f"{saved}: gold vs predicted (n={m['n']})"),
        "per-class F1 with 95% CI": reports.plot_per_class_f1(results, labels),
        "label distribution": reports.plot_label_distribution(result["label_distribution"], labels),
    }


def _learning_curve(result: dict[str, Any], figures: dict[str, bytes], model: Any, data: _Data, plan: SplitPlan,
                    fitted_folds: pd.DataFrame, opts: TrainOptions) -> None:
    """Add the learning curve (and its plot), or the reason it was skipped."""
    saved, n = result["saved_model"], len(data.train)
    tuned = saved in ("svm-ngrams", "linear-calibrated", "ensemble")
    if opts.learning_curve and n >= 60 and data.test is None and not tuned:
        points = learning_curve_points(model, data.train, plan, opts.seed, fitted_folds=fitted_folds)
        result["learning_curve"] = points
        if len(points) >= 2:
            figures["learning curve"] = reports.plot_learning_curve(points, saved)
        return
    result["learning_curve"] = []
    result["learning_curve_skipped"] = ("too few quotes (< 60)" if n < 60 else
                                        "given test file: no folds to grow" if data.test is not None else
                                        "tuned model (grid search per fit): too costly" if tuned else
                                        "disabled")


def _final_fit(result: dict[str, Any], model: Any, data: _Data, fitted: Any = None) -> Any:
    """The saved model: fitted on all training quotes, after (and apart from) the evaluation.

    `fitted`: the evaluation's fit on exactly these training quotes (given test file), kept as is.
    """
    n = len(data.train)
    final = fitted if fitted is not None else fit_model(model, data.train)
    result["final_fit"] = (f"fitted on the {n} training quotes only (test file kept out)" if data.test is not None
                           else f"refitted on all {n} labelled quotes after evaluation")
    result["data"]["n_final"] = n
    result["best_params"] = getattr(final, "best_params_", None) or None
    result["model_config"] = describe_model(final)
    return final


def _errors(result: dict[str, Any], evaluated: pd.DataFrame, cols: Columns) -> pd.DataFrame:
    """The misclassified quotes (errors.csv); the first 50, shortened, go into metrics.json."""
    errors = evaluated[evaluated["gold"] != evaluated["pred"]].copy()
    errors = errors.rename(columns={"group": cols.group})[
        ["quote_id", cols.group, "speaker", "target", "gold", "pred", "score", "text", "context"]]
    result["n_errors"] = int(len(errors))
    preview = errors.head(50).copy()
    preview["text"] = preview["text"].astype(str).str.slice(0, 160)
    preview["context"] = preview["context"].astype(str).str.slice(0, 160)
    preview["score"] = preview["score"].round(3)
    result["errors_preview"] = json.loads(preview.to_json(orient="records", force_ascii=False))
    return errors


def _write_run(out_dir: Path, data: _Data, result: dict[str, Any], errors: pd.DataFrame,
               figures: dict[str, bytes], final: Any, opts: TrainOptions) -> None:
    """The run folder as one output set: reports, model.skops + model_meta.json, model card."""
    saved = result["saved_model"]
    with output_folder(out_dir, "train", inputs=[data.path, data.test_path]) as stage:
        reports.write_report(stage, result, errors, figures)
        save_model(final, stage, {"model_name": saved, "run": result["run"], "labels": result["labels"],
                                  "columns": result["columns"], "per_target": opts.per_target,
                                  "data_sha256": result["data"]["sha256"],
                                  "macro_f1": result["models"][saved]["macro_f1"]["value"]})
        write_text(stage / "model_card.md", reports.model_card(json.loads(json.dumps(
            reports._strip_private(result), default=str))))


def run_training(data_path: str | Path, out_dir: str | Path, cols: Columns | None = None,
                 opts: TrainOptions | None = None, test_path: str | Path | None = None,
                 estimator: Any = None, progress: Progress | None = None,
                 data_label: str | None = None) -> dict[str, Any]:
    """Train, evaluate and report: writes the run folder and returns the metrics dict.

    The run folder (metrics.json, report.md/.html, errors.csv, config.json, model.skops,
    model_meta.json, model_card.md) is one output set: refused up front unless new or ours,
    replaced only when complete.

    Parameters
    ----------
    data_path : str or Path
        Labelled quotes: parquet/jsonl/json/csv, a parquet folder, a `datasets` save_to_disk
        folder or a Hub dataset folder (whose test split is then the test set).
    out_dir : str or Path
        The run folder to write.
    cols : Columns, optional
        The user's column names (default: text, label, target, speaker, article_id, ...).
    opts : TrainOptions, optional
        Models, split design, seed, bootstrap size, ... (default: `TrainOptions()`).
    test_path : str or Path, optional
        A separate test table: one fixed train/test split, checked disjoint by group.
    estimator : estimator object, optional
        Any scikit-learn classifier, used after the TF-IDF features, as `--estimator
        module:Class` does on the command line.
    progress : callable, optional
        ``progress(label, total)`` returns a callable ticked once per fitted fold.
    data_label : str, optional
        How reports name the training file (default: its path).

    Returns
    -------
    dict
        The content of metrics.json: ``models`` (scores with 95% intervals per model),
        ``split``, ``saved_model``, ``uncertain``, ``warnings``, ``text_vs_speaker``, ...

    Raises
    ------
    toolkit.errors.InputError
        Data that cannot be trained and evaluated honestly (one class, one group, unknown
        labels, empty text, ...), naming file, column and rows.
    toolkit.stance.splits.LeakError
        A test file that shares a group (article, speaker, date) with the training table.

    Examples
    --------
    >>> from toolkit.stance.train import TrainOptions, run_training
    >>> result = run_training("labelled.parquet", "reports/run1",
    ...                       opts=TrainOptions(models=("tfidf-svm",), seed=0))  # doctest: +SKIP
    >>> result["saved_model"], round(result["models"]["tfidf-svm"]["macro_f1"]["value"], 3)  # doctest: +SKIP
    ('tfidf-svm', 0.612)
    """
    cols = cols or Columns()
    opts = opts or TrainOptions()
    labels = list(opts.labels)
    out_dir, data_path = Path(out_dir), Path(data_path)
    check_replaceable(out_dir, [data_path, test_path])
    data = _load_data(data_path, test_path, cols, labels)
    if opts.per_target and not data.prep.has_target:
        raise InputError(f"{data_path}: --per-target needs a target column ({cols.target!r}); name it with "
                         f"--target-col")
    group_by = _resolve_group_by(opts.group_by, data.prep, cols, data.warnings)
    _check_data(data, cols, group_by)
    names, saved = _model_names(opts, estimator, data, cols)
    make = _model_factory(opts, data, estimator)
    plan = _plan(data, group_by, opts)
    clusters = "group" if data.prep.has_group else None
    results, predictions, reusable = _evaluate(names, make, data, plan, labels, clusters, opts, progress, saved)
    evaluated = predictions[saved]
    uncertain = _uncertain(evaluated, labels, clusters, len(data.train))
    result = _summary(out_dir, data, cols, opts, labels, plan, names, saved, results, uncertain, data_label)
    _comparisons(result, evaluated, data.prep)
    figures = _figures(result)
    _learning_curve(result, figures, make(saved), data, plan, evaluated, opts)
    final = _final_fit(result, make(saved), data, reusable)
    errors = _errors(result, evaluated, cols)
    _write_run(out_dir, data, result, errors, figures, final, opts)
    return reports._strip_private(result)

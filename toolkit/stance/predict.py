"""`qst predict`: label new quotes with a saved model; Label Studio tasks with predictions out.

Why Label Studio output: the next annotation round starts pre-annotated, and the annotators see
the model's guess as a prediction (never as an annotation), so agreement is still measured on
human labels. The prediction objects come from `toolkit.labelstudio.tasks.prediction`, the one
builder that `qst export` uses too.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import InputError
from toolkit.fileio import output_files, write_json
from toolkit.labelstudio.tasks import prediction
from toolkit.stance.data import Columns, prepare, read_quotes
from toolkit.stance.features import features_of
from toolkit.stance.modelfile import load_model
from toolkit.stance.models import class_scores

log = logging.getLogger(__name__)

#: Task data fields copied from the input quote to the Label Studio task when present.
TASK_DATA_FIELDS = ("quote_id", "article_id", "text", "context", "speaker", "speaker_mention", "quote_type",
                    "target")


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
    unseen = model.unseen_targets(X) if hasattr(model, "unseen_targets") else None
    if unseen:
        log.warning("%s: target(s) %s unseen in training: predicted the global majority class", where,
                    ", ".join(unseen))
    return out


def labelstudio_predictions(quotes: pd.DataFrame, preds: pd.DataFrame, model_version: str) -> list[dict[str, Any]]:
    """One Label Studio task per quote, pre-annotated with the model's Choices result."""
    tasks = []
    for rec, (_, p) in zip(quotes.to_dict(orient="records"), preds.iterrows()):
        data = {k: _json_value(rec[k]) for k in TASK_DATA_FIELDS if k in rec}
        data["quote_id"] = str(p["quote_id"])
        score = p.get("score")
        score = None if score is None or pd.isna(score) else round(float(score), 6)
        tasks.append({"data": data, "predictions": [prediction(str(p["label"]), model_version, score)]})
    return tasks


def _json_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


def _write_table(preds: pd.DataFrame, path: Path, staged: Path) -> None:
    """The flat predictions table in the format `path`'s suffix names (csv unless parquet/jsonl)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        preds.to_parquet(staged, index=False)
    elif suffix in {".jsonl", ".ndjson"}:
        preds.to_json(staged, orient="records", lines=True, force_ascii=False)
    else:
        preds.to_csv(staged, index=False)


def run_predict(model_path: str | Path, quotes_path: str | Path, out: str | Path, table: str | Path | None = None,
                cols: Columns | None = None, model_version: str | None = None, trust: tuple[str, ...] = (),
                text_col: str | None = None, id_col: str | None = None) -> dict[str, Any]:
    """Label quotes with a saved model; write Label Studio predictions (and a flat table).

    The model is loaded once, with the trust rules of `toolkit.stance.modelfile.load_model`. Both
    outputs are one output set: written completely or not at all, never over an input.

    Parameters
    ----------
    model_path : str or Path
        A run folder from `qst train` or its model.skops.
    quotes_path : str or Path
        Quotes to label: any table `read_table` reads, or Label Studio tasks JSON (their `data`).
    out : str or Path
        The Label Studio tasks JSON to write (a list, one task per quote, each with one prediction).
    table : str or Path, optional
        Also a flat table (quote_id, label, score, score_<class>): .parquet, .jsonl or else CSV.
    cols : Columns, optional
        Column names of the quotes; default: those the model was trained with.
    model_version : str, optional
        Label Studio `model_version`; default ``qst-<model>-<first 8 hex of the data sha256>``.
    trust : tuple of str
        Extra types to trust in the model file (classes you wrote yourself).
    text_col, id_col : str, optional
        Override the text and id column names (of `cols` or of those saved with the model).

    Returns
    -------
    dict
        ``n`` (quotes labelled), ``model_version``, ``label_counts`` (label -> count).

    Examples
    --------
    >>> summary = run_predict("reports/run1", "new_quotes.jsonl", "predictions.json",
    ...                       table="predictions.csv")  # doctest: +SKIP
    >>> sorted(summary)  # doctest: +SKIP
    ['label_counts', 'model_version', 'n']
    """
    model, meta = load_model(model_path, trust=trust)
    base = cols if cols is not None else Columns.from_saved(meta.get("columns"))
    cols = Columns.from_saved(vars(base), text=text_col, id=id_col)
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
            _write_table(preds, Path(table), staged[1])
    return {"n": len(preds), "model_version": version, "label_counts": dict(Counter(preds["label"]))}


def _pool(quotes: pd.DataFrame, cols: Columns, exclude: tuple[str | Path, ...], target: str | None,
          where: str) -> tuple[pd.DataFrame, int]:
    """The unlabelled pool: quotes minus those in the `exclude` tables (already labelled or pushed).

    A pool without a target column gets `target` (default: the Label Studio default target), the
    target the pushed task will carry, so the model scores the quote against the same target.
    """
    pool = quotes
    if cols.target not in pool.columns:
        from toolkit.labelstudio.config import load_settings

        pool = pool.assign(**{cols.target: target or load_settings()["default_target"]})
    skipped = 0
    for path in exclude:
        done = read_quotes(path)
        key = cols.id if cols.id in done.columns else "quote_id"
        if key not in done.columns:
            raise InputError(f"{path}: no quote id column ({cols.id!r}) to exclude by")
        drop = pool[cols.id].astype(str).isin(set(done[key].astype(str)))
        skipped += int(drop.sum())
        pool = pool[~drop]
    if len(pool) == 0:
        raise InputError(f"{where}: no quotes left to select from" + (f" after excluding {skipped}" if skipped else ""))
    return pool.reset_index(drop=True), skipped


def _selection_inputs(pool: pd.DataFrame, preds: pd.DataFrame, cols: Columns, strategy: str
                      ) -> tuple[np.ndarray | None, np.ndarray | None, Any]:
    """(class scores, article of each quote, text vectors for `diverse`) of the pool."""
    from toolkit.stance.features import text_features

    score_cols = [c for c in preds.columns if c.startswith("score_")]
    scores = preds[score_cols].to_numpy(dtype=float) if score_cols else None
    if scores is None and strategy != "random":
        raise InputError(f"--strategy {strategy}: the model gives no class scores; use --strategy random")
    groups = pool[cols.group].astype(str).to_numpy() if cols.group in pool.columns else None
    vectors = text_features().fit_transform(pool[cols.text].astype(str)) if strategy == "diverse" else None
    return scores, groups, vectors


def run_select(model_path: str | Path, quotes_path: str | Path, out: str | Path, n: int,
               strategy: str = "uncertainty", seed: int = 0, max_per_article: int | None = None,
               exclude: tuple[str | Path, ...] = (), target: str | None = None, model_version: str | None = None,
               trust: tuple[str, ...] = ()) -> dict[str, Any]:
    """Pick the `n` quotes worth labelling next; write them as pre-annotated Label Studio tasks.

    Each task carries the model's prediction (so `qst push` starts it pre-annotated) and, in
    `meta.qst_select`, the strategy that chose it, its rank, priority and the seed, so a later
    analysis can tell actively chosen labels from random ones. Deterministic for a given seed.

    Parameters
    ----------
    model_path : str or Path
        A run folder from `qst train` or its model.skops.
    quotes_path : str or Path
        The unlabelled pool: a quote table (`qst extract` output) or Label Studio tasks JSON.
    out : str or Path
        The tasks JSON to write (best first).
    n : int
        Batch size.
    strategy : {"uncertainty", "margin", "diverse", "random"}
        See `toolkit.stance.select`.
    seed : int
        Tie-breaking and the random strategy.
    max_per_article : int, optional
        Diversity guard (default: a fifth of the batch).
    exclude : tuple of paths
        Tables or task JSONs whose quote ids are left out of the pool (labelled or already pushed).
    target : str, optional
        Target for pool quotes without one (default: the Label Studio default target).
    model_version, trust
        As in `run_predict`.

    Returns
    -------
    dict
        ``pool``, ``excluded``, ``selected``, ``strategy``, ``max_per_article``, ``over_cap``,
        ``per_article``, ``label_counts``, ``mean_priority`` and ``model_version``.

    Examples
    --------
    >>> run_select("reports/run1", "quotes.jsonl", "next.json", n=200)["selected"]  # doctest: +SKIP
    200
    """
    from toolkit.stance.select import STRATEGIES, select

    if strategy not in STRATEGIES:
        raise InputError(f"--strategy {strategy!r}: choose {', '.join(STRATEGIES)}")
    model, meta = load_model(model_path, trust=trust)
    cols = Columns.from_saved(meta.get("columns"))
    pool, skipped = _pool(read_quotes(quotes_path), cols, tuple(exclude), target, str(quotes_path))
    preds = predict_frame(model, pool, cols, str(quotes_path))
    scores, groups, vectors = _selection_inputs(pool, preds, cols, strategy)
    sel = select(scores, n, strategy, groups=groups, vectors=vectors, seed=seed, max_per_group=max_per_article)
    version = model_version or f"qst-{meta.get('model_name', 'model')}-{str(meta.get('data_sha256', ''))[:8]}"
    renamed = pool.rename(columns={cols.text: "text", cols.id: "quote_id", cols.speaker: "speaker",
                                   cols.target: "target", cols.group: "article_id", cols.context: "context"})
    if "quote_type" not in renamed.columns and "type" in renamed.columns:  # `qst extract` names it `type`
        renamed["quote_type"] = renamed["type"]
    chosen = renamed.iloc[sel.indices].reset_index(drop=True)
    tasks = labelstudio_predictions(chosen, preds.iloc[sel.indices].reset_index(drop=True), version)
    for rank, (task, prio) in enumerate(zip(tasks, sel.priority), start=1):
        task["meta"] = {"qst_select": {"strategy": strategy, "rank": rank, "priority": round(float(prio), 6),
                                       "seed": seed, "pool": len(pool), "model_version": version}}
    with output_files([Path(out)], inputs=(model_path, quotes_path, *exclude)) as staged:
        write_json(staged[0], tasks)
    labels = [t["predictions"][0]["result"][0]["value"]["choices"][0] for t in tasks]
    return {"pool": len(pool), "excluded": skipped, "selected": len(tasks), "strategy": strategy,
            "max_per_article": sel.max_per_group, "over_cap": sel.over_cap, "per_article": sel.groups,
            "label_counts": dict(Counter(labels)), "model_version": version,
            "mean_priority": round(float(np.mean(sel.priority)), 4) if len(tasks) else None}

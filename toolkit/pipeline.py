"""`qst run`: the whole pipeline on the bundled seed articles, stage by stage.

articles -> quotes (toolkit.extract) -> Label Studio tasks (toolkit.labelstudio) -> the team's
real annotations (annotations/labelstudio/*.json, a Label Studio JSON export) -> agreement and
adjudication (toolkit.agreement) -> baseline models (toolkit.baseline) -> reports -> dataset
folder (toolkit.hub).

This module only wires stages together: every stage's logic lives in its own module and is
called through its public functions. A stage whose module or function is not available raises a
ToolkitError naming exactly the missing glue, after the earlier stages' outputs are written.
Each stage writes its outputs under OUT/ so a failed run can be inspected.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.errors import ToolkitError
from toolkit.fileio import write_json, write_jsonl, write_parquet

#: Bundled inputs, relative to the repository root.
ARTICLES_DIR = Path("annotations/articles")
LABELSTUDIO_EXPORT_DIR = Path("annotations/labelstudio")
GUIDELINES = Path("annotations/guidelines.md")

STAGES = ("extract", "tasks", "annotations", "agreement", "train", "reports", "dataset")


class MissingGlue(ToolkitError):
    """A stage module or function the pipeline calls does not exist (yet)."""


@dataclass
class StageResult:
    name: str
    counts: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class RunResult:
    out: Path
    stages: list[StageResult] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def glue(module: str, *names: str, contract: str) -> Callable[..., Any]:
    """The first of `names` that `toolkit.<module>` defines; MissingGlue naming them all otherwise."""
    try:
        mod = importlib.import_module(f"toolkit.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"toolkit.{module}":
            raise
        raise MissingGlue(f"stage module toolkit.{module} is not there yet: the pipeline needs "
                          f"toolkit.{module}.{names[0]} ({contract})") from None
    for name in names:
        fn = getattr(mod, name, None)
        if callable(fn):
            return fn
    raise MissingGlue(f"toolkit.{module} has no {' / '.join(names)}: the pipeline needs it ({contract})")


# ----------------------------------------------------------------------------------- stages


def stage_extract(articles_dir: Path, out: Path) -> tuple[pd.DataFrame, StageResult]:
    from toolkit.extract import extract_articles
    from toolkit.ingest import read_articles

    articles = list(read_articles(articles_dir))
    if not articles:
        raise ToolkitError(f"{articles_dir}: no articles found")
    records = list(extract_articles(articles))
    folder = out / "quotes"
    write_jsonl(folder / "quotes.jsonl", records)
    quotes = pd.DataFrame(records)
    write_parquet(folder / "quotes.parquet", quotes)
    return quotes, StageResult("extract", {"articles": len(articles), "quotes": len(records)},
                               {"quotes": str(folder / "quotes.jsonl")})


def stage_tasks(quotes: pd.DataFrame, out: Path) -> tuple[list[dict], StageResult]:
    export = glue("labelstudio", "export_tasks", "tasks_from_quotes", "make_tasks",
                  contract="docs/CONTRACTS.md 'Label Studio tasks': quote records -> one task per quote")
    tasks = list(export(quotes))
    path = out / "labelstudio" / "tasks.json"
    write_json(path, tasks)
    return tasks, StageResult("tasks", {"tasks": len(tasks)}, {"tasks": str(path)})


def stage_annotations(export_dir: Path, quotes: pd.DataFrame, out: Path) -> tuple[pd.DataFrame, StageResult]:
    files = sorted(export_dir.glob("*.json"))
    if not files:
        raise ToolkitError(
            f"{export_dir}/: no Label Studio export (*.json) found. The pipeline needs the team's real "
            "annotations of the seed tasks: in Label Studio, Export -> JSON, and save the file(s) as "
            f"{export_dir}/<project>.json (or pull them with `qst pull`). Quotes and tasks are already written "
            f"under {out}/."
        )
    read_export = glue("labelstudio", "import_export", "annotations_from_export", "read_export",
                       contract="docs/CONTRACTS.md 'Annotation table': Label Studio JSON export -> annotation table")
    frames, reconciliation = [], []
    for path in files:
        result = read_export(path)
        table, rec = (result if isinstance(result, tuple) else (result, None))
        frames.append(table)
        if rec is not None:
            reconciliation.append({"file": str(path), **rec})
    annotations = pd.concat(frames, ignore_index=True)
    unknown = sorted(set(annotations["quote_id"].astype(str)) - set(quotes["quote_id"].astype(str)))
    if unknown:
        raise ToolkitError(
            f"{export_dir}: {len(unknown)} annotated quote id(s) are not produced by the current extraction "
            f"(first: {', '.join(unknown[:3])}); the export belongs to an older extraction run: re-export the "
            "tasks and annotate them again, or restore the matching extractor version")
    folder = out / "annotations"
    write_parquet(folder / "annotations.parquet", annotations)
    if reconciliation:
        write_json(folder / "reconciliation.json", reconciliation)
    return annotations, StageResult(
        "annotations", {"files": len(files), "annotations": len(annotations),
                        "annotators": int(annotations["annotator"].nunique()),
                        "quotes annotated": int(annotations["quote_id"].nunique())},
        {"annotations": str(folder / "annotations.parquet")})


def stage_agreement(annotations: pd.DataFrame, out: Path) -> tuple[pd.DataFrame, dict, StageResult]:
    from toolkit import agreement as ag

    source = "annotations"
    df = ag.validate_annotations(annotations, source)
    adjudicated = ag.adjudicate(df, source=source)
    result = {
        "source": source,
        "stance": ag.compute_agreement(df, "stance", source=source, validated=True),
        "speaker_review": ag.compute_agreement(df, "speaker_review", source=source, validated=True),
        "adjudication": ag.adjudication_summary(adjudicated),
        "attribution": ag.attribution_accuracy(adjudicated),
    }
    folder = out / "agreement"
    write_json(folder / "agreement.json", result)
    write_parquet(folder / "adjudicated.parquet", ag.adjudicated_for_parquet(adjudicated))
    alpha = (result["stance"].get("krippendorff_alpha") or {}).get("value")
    return adjudicated, result, StageResult(
        "agreement", {"krippendorff alpha": alpha, "gold labels": result["adjudication"]["gold_labels"],
                      "unresolved": result["adjudication"]["resolution_counts"].get("unresolved", 0)},
        {"agreement": str(folder / "agreement.json"), "adjudicated": str(folder / "adjudicated.parquet")})


def training_table(quotes: pd.DataFrame, adjudicated: pd.DataFrame) -> pd.DataFrame:
    """The labelled quotes the models train on: the same rows (and exclusions) as the dataset."""
    from toolkit.hub import assemble_rows

    rows, _ = assemble_rows(quotes, adjudicated, skip_unlabelled=True)
    return rows.rename(columns={"quote": "text"}).assign(article_date=rows["date"])


def stage_train(table: pd.DataFrame, out: Path, seed: int = 0,
                progress: Callable[[], None] | None = None) -> tuple[dict, StageResult]:
    """Grouped-by-article cross-validation of the baseline models; save the best text model."""
    from sklearn.metrics import f1_score

    from toolkit import baseline as bl

    where = "adjudicated quotes"
    prep = bl.prepare(table, bl.Columns(), where)
    frame = prep.frame
    warnings = list(prep.warnings) + bl.check_trainable(frame, where, "article")
    plan = bl.plan_splits(frame, "article", seed=seed)
    labels = [lab for lab in bl.LABELS if lab in set(frame["label"])]
    scores, predictions = {}, {}
    for name in bl.DEFAULT_MODELS:
        model = bl.build_model(name, use_target=prep.has_target, seed=seed)
        pred = bl.cross_predict(model, frame, plan)
        scores[name] = float(f1_score(pred["gold"], pred["pred"], labels=labels, average="macro", zero_division=0))
        predictions[name] = pred
        if progress:
            progress()
    text_models = [m for m in bl.DEFAULT_MODELS if m not in bl.REFERENCE_MODELS]
    best = max(text_models, key=lambda m: scores[m])
    folder = out / "model"
    fitted = bl.fit_model(bl.build_model(best, use_target=prep.has_target, seed=seed), frame)
    bl.save_model(fitted, folder, {"model_name": best, "labels": labels, "n_train": len(frame),
                                   "split": plan.to_json(), "macro_f1_cv": scores[best]})
    metrics = {"split": plan.to_json(), "labels": labels, "n_labelled": len(frame), "macro_f1": scores,
               "best_model": best, "warnings": warnings}
    write_json(out / "reports" / "metrics.json", metrics)
    write_parquet(out / "reports" / "predictions.parquet",
                  pd.concat([p.assign(model=m) for m, p in predictions.items()], ignore_index=True))
    return metrics, StageResult("train", {"labelled quotes": len(frame), "best model": best,
                                          "macro-F1 (best)": round(scores[best], 3),
                                          "macro-F1 (majority)": round(scores["majority"], 3)},
                                {"model": str(folder), "metrics": str(out / "reports" / "metrics.json")})


def stage_reports(metrics: dict, out: Path) -> StageResult:
    """Hand the training results to toolkit.reports (metrics.json / report.md / report.html)."""
    write_report = glue("reports", "write_reports", "write_report", "render_reports",
                        contract="training metrics + predictions -> OUT/reports/report.md and report.html")
    paths = write_report(metrics, out / "reports")
    outputs = {str(k): str(v) for k, v in (paths.items() if isinstance(paths, dict) else [("report", paths)])}
    return StageResult("reports", {"files": len(outputs)}, outputs)


def stage_dataset(out: Path, seed: int = 13) -> tuple[Any, StageResult]:
    from toolkit import hub

    result = hub.build(out / "quotes" / "quotes.jsonl", out / "agreement" / "adjudicated.parquet", out / "dataset",
                       annotations_path=out / "annotations" / "annotations.parquet",
                       agreement_path=out / "agreement" / "agreement.json",
                       guidelines_path=GUIDELINES if GUIDELINES.exists() else None, seed=seed, skip_unlabelled=True)
    s = result.stats
    return result, StageResult("dataset", {"rows": s.rows_out, **{f"{k} split": v for k, v in s.split_rows.items()},
                                           "left out": sum(s.excluded.values())}, {"dataset": str(result.folder)})


# ----------------------------------------------------------------------------------- runner


def run(out: str | Path, *, articles_dir: str | Path = ARTICLES_DIR, export_dir: str | Path = LABELSTUDIO_EXPORT_DIR,
        seed: int = 0, on_stage: Callable[[str, StageResult | None], None] | None = None) -> RunResult:
    """Run every stage in order; `on_stage(name, None)` before and `on_stage(name, result)` after each."""
    out = Path(out)
    run_result = RunResult(out=out)

    def step(name: str, fn: Callable[[], Any]) -> Any:
        if on_stage:
            on_stage(name, None)
        t0 = time.monotonic()
        value = fn()
        stage = value[-1] if isinstance(value, tuple) else value
        stage.seconds = round(time.monotonic() - t0, 2)
        run_result.stages.append(stage)
        write_json(out / "run.json", [vars(s) for s in run_result.stages])
        if on_stage:
            on_stage(name, stage)
        return value

    quotes, _ = step("extract", lambda: stage_extract(Path(articles_dir), out))
    step("tasks", lambda: stage_tasks(quotes, out))
    annotations, _ = step("annotations", lambda: stage_annotations(Path(export_dir), quotes, out))
    adjudicated, agreement, _ = step("agreement", lambda: stage_agreement(annotations, out))
    table = training_table(quotes, adjudicated)
    metrics, _ = step("train", lambda: stage_train(table, out, seed=seed))
    step("reports", lambda: stage_reports(metrics, out))
    dataset, _ = step("dataset", lambda: stage_dataset(out))
    run_result.summary = {
        "quotes": len(quotes),
        "annotations": len(annotations),
        "krippendorff_alpha": (agreement["stance"].get("krippendorff_alpha") or {}).get("value"),
        "gold_labels": agreement["adjudication"]["gold_labels"],
        "best_model": metrics["best_model"],
        "macro_f1": metrics["macro_f1"][metrics["best_model"]],
        "report": str(out / "reports"),
        "dataset": str(dataset.folder),
    }
    write_json(out / "summary.json", run_result.summary)
    return run_result

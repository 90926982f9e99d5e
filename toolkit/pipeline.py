"""`qst run`: the whole pipeline on the bundled seed articles, stage by stage.

articles -> quotes (toolkit.attribution.extract) -> Label Studio tasks (toolkit.labelstudio) -> the team's
real annotations (annotations/labelstudio/*.json, a Label Studio JSON export) -> agreement and
adjudication (toolkit.agreement) -> baseline models (toolkit.stance.train) -> reports -> dataset
folder (toolkit.dataset.build).

This module only wires stages together: every stage's logic lives in its own module and is
called through its public functions. The whole OUT/ folder is one output set
(`fileio.output_folder`): every stage writes into a staging folder, which replaces OUT/ only
when the last stage succeeded, so a failed run leaves the previous run's outputs as they were.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.errors import ToolkitError
from toolkit.fileio import output_folder, write_json, write_jsonl, write_parquet

log = logging.getLogger(__name__)

#: Bundled inputs, relative to the repository root.
ARTICLES_DIR = Path("annotations/articles")
LABELSTUDIO_EXPORT_DIR = Path("annotations/labelstudio")
GUIDELINES = Path("annotations/guidelines.md")
#: Who made the labels, for the dataset card (annotations_creators + description): a file of this
#: name beside the Label Studio export(s) the run reads.
ANNOTATORS_FILE = "annotators.yaml"

STAGES = ("extract", "tasks", "annotations", "agreement", "train", "reports", "dataset")


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


# ----------------------------------------------------------------------------------- stages


def stage_extract(articles_dir: Path, out: Path) -> tuple[pd.DataFrame, StageResult]:
    from toolkit.attribution.extract import extract_articles
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


def stage_tasks(quotes: pd.DataFrame, out: Path, articles_dir: Path | None = None) -> tuple[list[dict], StageResult]:
    """One Label Studio task per quote for the default target (toolkit.labelstudio.tasks.quotes_to_tasks).

    With `articles_dir` (the articles the quotes were extracted from) each context holds the
    sentence before and after the quote's own, as `qst export --articles` gives.
    """
    from toolkit.labelstudio.tasks import quotes_to_tasks, read_article_index

    index = read_article_index(articles_dir) if articles_dir is not None else None
    tasks = list(quotes_to_tasks(quotes, where=str(out / "quotes" / "quotes.jsonl"), articles=index))
    path = out / "labelstudio" / "tasks.json"
    write_json(path, tasks)
    return tasks, StageResult("tasks", {"tasks": len(tasks)}, {"tasks": str(path)})


def stage_annotations(export_dir: Path, quotes: pd.DataFrame, out: Path) -> tuple[pd.DataFrame, StageResult]:
    from toolkit.inputs import require_folder

    if export_dir.exists():
        require_folder(export_dir, "--labelstudio-export folder of Label Studio exports")
    # `qst pull --out X.json` writes X.reconciliation.json beside the export: not an export itself.
    files = sorted(p for p in export_dir.glob("*.json") if not p.name.endswith(".reconciliation.json"))
    if not files:
        raise ToolkitError(
            f"{export_dir}/: no Label Studio export (*.json) found. The pipeline needs the team's real "
            "annotations of the seed tasks: in Label Studio, Export -> JSON, and save the file(s) as "
            f"{export_dir}/<project>.json (or pull them with `qst pull`). Nothing was written: the run's "
            "folder is replaced only when every stage succeeds."
        )
    from toolkit.inputs import require_file
    from toolkit.labelstudio.annotations import Who, detect_and_normalise as normalise, pulled_from
    from toolkit.labelstudio.merge import merge_sources

    known = set(quotes["quote_id"].astype(str))
    sources, reconciliation = [], []
    for path in files:
        who = Who(server_id=pulled_from(path))  # the server `qst pull` recorded beside the export, if any
        table, rec = normalise(require_file(path, "Label Studio export").read_bytes(), path, known=known, who=who)
        sources.append((str(path), table, rec))
        reconciliation.append({"file": str(path), **rec})
    annotations, warnings = merge_sources(sources)
    for line in warnings:
        log.warning("%s", line)
    set_aside: dict[str, int] = {}
    for rec in reconciliation:
        for reason, n in (rec.get("set_aside") or {}).items():
            set_aside[reason] = set_aside.get(reason, 0) + int(n)
    if annotations.empty:
        raise ToolkitError(
            f"{export_dir}: the export(s) hold no usable annotation (set aside: {set_aside or 'none'}). "
            + ("Their quote ids are not produced by the current extraction: the export belongs to another "
               "extraction run; re-export the tasks (`qst export`) and annotate them again."
               if set_aside.get("unknown_quote_id") else "Annotate the tasks in Label Studio and export again."))
    folder = out / "annotations"
    write_parquet(folder / "annotations.parquet", annotations)
    write_json(folder / "reconciliation.json", reconciliation)
    return annotations, StageResult(
        "annotations", {"files": len(files), "annotations": len(annotations),
                        "set aside": sum(set_aside.values()),
                        "annotators": int(annotations["annotator"].nunique()),
                        "quotes annotated": int(annotations["quote_id"].nunique())},
        {"annotations": str(folder / "annotations.parquet")})


def adjudicator_of(df: pd.DataFrame) -> str | None:
    """The one annotator whose every annotation is marked ground truth in Label Studio.

    Adjudicators only label contested quotes and mark them as ground truth; they must not vote
    with the annotators (a tie would become a majority) nor count in the agreement figures.
    """
    live = df[~df["was_cancelled"].astype(bool)]
    only_truth = [a for a, g in live.groupby("annotator") if g["is_ground_truth"].astype(bool).all()]
    return only_truth[0] if len(only_truth) == 1 else None


def stage_agreement(annotations: pd.DataFrame, out: Path) -> tuple[pd.DataFrame, dict, StageResult]:
    from toolkit import agreement as ag

    source = "annotations"
    df = ag.validate_annotations(annotations, source)
    adjudicator = adjudicator_of(df)
    adjudicated = ag.adjudicate(df, source=source, adjudicator=adjudicator, validated=True)  # df is validated above
    result = {
        "source": source,
        "adjudicator": adjudicator,
        "stance": ag.compute_agreement(df, "stance", source=source, validated=True,
                                       exclude_annotators=[adjudicator] if adjudicator else ()),
        "speaker_review": ag.compute_agreement(df, "speaker_review", source=source, validated=True,
                                               exclude_annotators=[adjudicator] if adjudicator else ()),
        "adjudication": ag.adjudication_summary(adjudicated),
        "attribution": ag.attribution_accuracy(adjudicated),
    }
    folder = out / "agreement"
    write_json(folder / "agreement.json", result)
    write_parquet(folder / "adjudicated.parquet", ag.adjudicated_for_parquet(adjudicated))
    alpha = (result["stance"].get("krippendorff_alpha") or {}).get("value")
    return adjudicated, result, StageResult(
        "agreement", {"krippendorff alpha": None if alpha is None else round(alpha, 3), "gold labels": result["adjudication"]["gold_labels"],
                      "unresolved": result["adjudication"]["resolution_counts"].get("unresolved", 0)},
        {"agreement": str(folder / "agreement.json"), "adjudicated": str(folder / "adjudicated.parquet")})


def training_table(quotes: pd.DataFrame, adjudicated: pd.DataFrame) -> pd.DataFrame:
    """The labelled quotes the models train on: the same rows (and exclusions) as the dataset."""
    from toolkit.dataset.build import assemble_rows

    rows, _ = assemble_rows(quotes, adjudicated, skip_unlabelled=True)
    return rows.rename(columns={"quote": "text"}).assign(article_date=rows["date"])


def stage_train(table: pd.DataFrame, out: Path, seed: int = 0,
                progress: Callable[[str, int], Callable[[], None]] | None = None,
                n_boot: int = 1000, learning_curve: bool = True,
                shown_out: Path | None = None) -> tuple[dict, StageResult]:
    """Baselines under article-grouped evaluation, report and saved model (toolkit.stance.train.run_training).

    run_training writes the run folder OUT/reports/: metrics.json, report.md/.html (toolkit.stance.report)
    and model.skops; the labelled table it trains on is kept beside it for reproducibility.
    """
    from toolkit.stance.data import Columns
    from toolkit.stance.modelfile import MODEL_FILE
    from toolkit.stance.train import TrainOptions, run_training

    data = out / "train" / "labelled.parquet"
    write_parquet(data, table.drop(columns=["annotations"], errors="ignore"))
    folder = out / "reports"
    label = str((shown_out or out) / "train" / "labelled.parquet")
    result = run_training(data, folder, Columns(), TrainOptions(seed=seed, group_by="article", n_boot=n_boot,
                                                                learning_curve=learning_curve), progress=progress,
                          data_label=label)
    models = {name: m["macro_f1"]["value"] for name, m in result["models"].items()}
    saved = result["saved_model"]
    counts = {"labelled quotes": len(table), "model": saved, "macro-F1": round(models[saved], 3)}
    if "majority" in models:
        counts["macro-F1 majority"] = round(models["majority"], 3)
    return result, StageResult("train", counts, {"run": str(folder), "model": str(folder / MODEL_FILE)})


def stage_reports(result: dict, out: Path) -> StageResult:
    """The report files the training run wrote (toolkit.stance.report via run_training); fail if one is missing."""
    folder = out / "reports"
    wanted = ["metrics.json", "report.md", "report.html"]
    missing = [name for name in wanted if not (folder / name).exists()]
    if missing:
        raise ToolkitError(f"{folder}: the training run wrote no {', '.join(missing)}; toolkit.stance.train.run_training "
                          "is expected to write them through toolkit.stance.report.write_report")
    return StageResult("reports", {"files": len(wanted), "uncertain": len(result.get("uncertain") or [])},
                       {name: str(folder / name) for name in wanted})


def stage_dataset(out: Path, export_dir: Path = LABELSTUDIO_EXPORT_DIR, seed: int = 13) -> tuple[Any, StageResult]:
    from toolkit.dataset import build as dataset

    annotators = export_dir / ANNOTATORS_FILE

    result = dataset.build(out / "quotes" / "quotes.jsonl", out / "agreement" / "adjudicated.parquet", out / "dataset",
                           annotations_path=out / "annotations" / "annotations.parquet",
                           agreement_path=out / "agreement" / "agreement.json",
                           guidelines_path=GUIDELINES if GUIDELINES.exists() else None, seed=seed, skip_unlabelled=True,
                           annotators_path=annotators if annotators.exists() else None)
    s = result.stats
    return result, StageResult("dataset", {"rows": s.rows_out, **{f"{k} split": v for k, v in s.split_rows.items()},
                                           "left out": sum(s.excluded.values())}, {"dataset": str(result.folder)})


# ----------------------------------------------------------------------------------- runner


def run(out: str | Path, *, articles_dir: str | Path = ARTICLES_DIR, export_dir: str | Path = LABELSTUDIO_EXPORT_DIR,
        seed: int = 0, on_stage: Callable[[str, StageResult | None], None] | None = None,
        train_progress: Callable[[str, int], Callable[[], None]] | None = None,
        n_boot: int = 1000, learning_curve: bool = True) -> RunResult:
    """Run every stage in order; `on_stage(name, None)` before and `on_stage(name, result)` after each.

    `train_progress(label, total)` returns a callable ticked per fitted fold (as in `qst train`).
    """
    out = Path(out)
    with output_folder(out, "run", inputs=[articles_dir, export_dir]) as stage_dir:
        run_result = _run_stages(stage_dir, out, Path(articles_dir), Path(export_dir), seed, on_stage,
                                 train_progress, n_boot, learning_curve)
    return run_result


def _run_stages(work: Path, out: Path, articles_dir: Path, export_dir: Path, seed: int,
                on_stage: Callable[[str, StageResult | None], None] | None,
                train_progress: Callable[[str, int], Callable[[], None]] | None,
                n_boot: int, learning_curve: bool) -> RunResult:
    """Every stage writes under `work` (the staging folder); paths are reported as under `out`."""
    run_result = RunResult(out=out)

    def shown(path: str | Path) -> str:
        return str(out / Path(path).relative_to(work))

    def step(name: str, fn: Callable[[], Any]) -> Any:
        if on_stage:
            on_stage(name, None)
        t0 = time.monotonic()
        value = fn()
        stage = value[-1] if isinstance(value, tuple) else value
        stage.seconds = round(time.monotonic() - t0, 2)
        stage.outputs = {k: shown(v) for k, v in stage.outputs.items()}
        run_result.stages.append(stage)
        write_json(work / "run.json", [vars(s) for s in run_result.stages])
        if on_stage:
            on_stage(name, stage)
        return value

    quotes, _ = step("extract", lambda: stage_extract(articles_dir, work))
    step("tasks", lambda: stage_tasks(quotes, work, articles_dir))
    annotations, _ = step("annotations", lambda: stage_annotations(export_dir, quotes, work))
    adjudicated, agreement, _ = step("agreement", lambda: stage_agreement(annotations, work))
    table = training_table(quotes, adjudicated)
    metrics, _ = step("train", lambda: stage_train(table, work, seed=seed, progress=train_progress,
                                                   n_boot=n_boot, learning_curve=learning_curve, shown_out=out))
    step("reports", lambda: stage_reports(metrics, work))
    dataset, _ = step("dataset", lambda: stage_dataset(work, export_dir))
    run_result.summary = {
        "quotes": len(quotes),
        "annotations": len(annotations),
        "krippendorff_alpha": (agreement["stance"].get("krippendorff_alpha") or {}).get("value"),
        "gold_labels": agreement["adjudication"]["gold_labels"],
        "best_model": metrics["saved_model"],
        "macro_f1": metrics["models"][metrics["saved_model"]]["macro_f1"]["value"],
        "macro_f1_ci95": metrics["models"][metrics["saved_model"]]["macro_f1"].get("ci95"),
        "uncertain": list(metrics.get("uncertain") or []),
        "report": str(out / "reports" / "report.html"),
        "dataset": shown(dataset.folder),
    }
    write_json(work / "summary.json", run_result.summary)
    return run_result

"""`qst train`, `qst predict`, `qst select`: thin CLI over toolkit.stance (logic and checks live there)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from toolkit.cli.options import SEED_MAX, fraction

console = Console(stderr=True)
#: Shown in --help without importing scikit-learn; a test checks it equals the stance package's
#: MODEL_NAMES.
MODEL_NAMES = ("majority", "speaker-majority", "tfidf-logreg", "tfidf-svm", "svm-ngrams", "linear-calibrated",
               "ensemble")


def train(
    data: Path = typer.Argument(..., help="Labelled quotes: .parquet/.jsonl/.json/.csv, a parquet folder, or a "
                                          "`datasets` save_to_disk folder."),
    out: Path = typer.Option(..., "--out", help="Run folder, e.g. reports/<run>: metrics, report, model."),
    test: Optional[Path] = typer.Option(None, "--test", help="Separate test table (fixed train/test split)."),
    model: list[str] = typer.Option([], "--model", "-m", help=f"Model(s) to train: {', '.join(MODEL_NAMES)}. "
                                    "Repeatable. majority and speaker-majority always run as references."),
    estimator: Optional[str] = typer.Option(None, "--estimator", help="Any scikit-learn classifier as module:Class, "
                                            "used after the TF-IDF features (e.g. sklearn.linear_model:RidgeClassifier)."),
    save: Optional[str] = typer.Option(None, "--save", help="Which model to save (default: first non-reference)."),
    per_target: bool = typer.Option(False, "--per-target", help="One model per target (SemEval-2016 protocol)."),
    group_by: str = typer.Option("auto", "--group-by", help="Split groups: article, speaker, date, none, or auto "
                                 "(article when the group column exists)."),
    use_target: bool = typer.Option(True, "--use-target/--no-use-target", help="Feed the target's words to the model."),
    class_weight: Optional[str] = typer.Option(None, "--class-weight", help="'balanced' to reweight rare classes."),
    seed: int = typer.Option(0, "--seed", min=0, max=SEED_MAX, help="Seed for splits, models and bootstrap."),
    folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds."),
    test_size: float = typer.Option(0.2, "--test-size", callback=fraction, help="Held-out share for large data."),
    cv_below: int = typer.Option(2000, "--cv-below", min=0, help="Cross-validate below this many quotes, else hold out."),
    n_boot: int = typer.Option(1000, "--bootstrap", min=1, help="Bootstrap replicates for the 95% intervals."),
    learning_curve: bool = typer.Option(True, "--learning-curve/--no-learning-curve"),
    model_param: list[str] = typer.Option([], "--model-param", help="KEY=VALUE for svm-ngrams / linear-calibrated / "
                                          "ensemble (repeatable): tokens=tweet|word, lowercase=true|false, "
                                          "hashtags=keep|word, drop_tag=#SemST (empty keeps it), "
                                          "weights=binary|tf, c_grid=0.01,0.1,1, tune=favg|macro_f1|accuracy, "
                                          "svm=liblinear|libsvm. See docs/baseline.md."),
    jobs: int = typer.Option(-1, "--jobs", help="Threads for the C searches' folds (-1: all cores, 1: none)."),
    text_col: str = typer.Option("text", "--text-col"),
    label_col: str = typer.Option("label", "--label-col"),
    target_col: str = typer.Option("target", "--target-col"),
    speaker_col: str = typer.Option("speaker", "--speaker-col"),
    group_col: str = typer.Option("article_id", "--group-col"),
    id_col: str = typer.Option("quote_id", "--id-col"),
    context_col: str = typer.Option("context", "--context-col"),
    date_col: str = typer.Option("article_date", "--date-col"),
    cue_col: str = typer.Option("cue", "--cue-col", help="Cue verb column (metadata feature), if any."),
    quote_type_col: str = typer.Option("quote_type", "--quote-type-col", help="Quote type column, if any."),
) -> None:
    """Train baseline stance classifiers, evaluate them on leak-free splits, write reports and a model."""
    from toolkit.stance import api as baseline

    cols = baseline.Columns(text=text_col, label=label_col, target=target_col, speaker=speaker_col,
                            group=group_col, id=id_col, context=context_col, date=date_col, cue=cue_col,
                            quote_type=quote_type_col)
    opts = baseline.TrainOptions(models=tuple(model), estimator=estimator, save=save, group_by=group_by,
                                 per_target=per_target, use_target=use_target, class_weight=class_weight,
                                 seed=seed, n_splits=folds, test_size=test_size, cv_below=cv_below,
                                 n_boot=n_boot, learning_curve=learning_curve, model_params=tuple(model_param),
                                 n_jobs=None if jobs == 1 else jobs)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        def progress(label: str, total: int):
            task = bar.add_task(label, total=total)
            return lambda: bar.advance(task)

        result = baseline.run_training(data, out, cols, opts, test_path=test, progress=progress)
    for w in result["warnings"]:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
    if result["uncertain"]:
        console.print("[bold yellow]NUMBERS ARE UNCERTAIN:[/] " + "; ".join(result["uncertain"]), highlight=False)
    console.print(f"split: {result['split']['description']}", highlight=False)
    for note in result["split"]["notes"]:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    for name, m in result["models"].items():
        fa = f"  F_avg {m['f_avg']['value']:.3f}" if "f_avg" in m else ""
        console.print(f"  {name:<22} macro-F1 {m['macro_f1']['value']:.3f} "
                      f"[{m['macro_f1']['ci95'][0]:.3f}, {m['macro_f1']['ci95'][1]:.3f}]{fa}", highlight=False)
    if "text_vs_speaker" in result:
        console.print(f"text vs speaker: {result['text_vs_speaker']['verdict']}", highlight=False)
    console.print(f"wrote {out}/report.html, metrics.json, model.skops (saved: {result['saved_model']})",
                  highlight=False)


def predict(
    model: Path = typer.Argument(..., help="A run folder from `qst train` or its model.skops."),
    quotes: Path = typer.Argument(..., help="Quotes to label: a table, or Label Studio tasks JSON."),
    out: Path = typer.Option(..., "--out", help="Label Studio tasks with predictions (JSON list)."),
    table: Optional[Path] = typer.Option(None, "--table", help="Also a flat table (.csv/.parquet/.jsonl)."),
    model_version: Optional[str] = typer.Option(None, "--model-version", help="Label Studio model_version."),
    trust: list[str] = typer.Option([], "--trust", help="Extra type to trust in the model file (your own class)."),
    text_col: Optional[str] = typer.Option(None, "--text-col", help="Default: as at training."),
    id_col: Optional[str] = typer.Option(None, "--id-col", help="Default: as at training."),
) -> None:
    """Label new quotes; write Label Studio predictions so the next round starts pre-annotated."""
    from toolkit.stance import api as baseline

    summary = baseline.run_predict(model, quotes, out, table=table, model_version=model_version,
                                   trust=tuple(trust), text_col=text_col, id_col=id_col)
    console.print(f"{summary['n']} quotes labelled ({summary['label_counts']}), model_version "
                  f"{summary['model_version']} -> {out}" + (f", {table}" if table else ""), highlight=False)


STRATEGIES = ("uncertainty", "margin", "diverse", "random")  # = toolkit.stance.select.STRATEGIES (tested)


def select(
    model: Path = typer.Option(..., "--model", help="A run folder from `qst train` or its model.skops."),
    quotes: Path = typer.Option(..., "--quotes", help="The unlabelled pool: quotes table or Label Studio tasks JSON."),
    out: Path = typer.Option(..., "--out", help="Label Studio tasks with predictions, best first (JSON list)."),
    n: int = typer.Option(200, "--n", min=1, help="How many quotes to select."),
    strategy: str = typer.Option("uncertainty", "--strategy", help=f"{' | '.join(STRATEGIES)}."),
    seed: int = typer.Option(0, "--seed", min=0, max=SEED_MAX, help="Tie-breaking and the random strategy."),
    max_per_article: Optional[int] = typer.Option(None, "--max-per-article", min=1,
                                                  help="Diversity guard (default: a fifth of --n)."),
    exclude: list[Path] = typer.Option([], "--exclude", help="Table/tasks whose quote ids to leave out (repeatable)."),
    target: Optional[str] = typer.Option(None, "--target", help="Target for quotes without one "
                                         "(default: the Label Studio default target)."),
    model_version: Optional[str] = typer.Option(None, "--model-version", help="Label Studio model_version."),
    trust: list[str] = typer.Option([], "--trust", help="Extra type to trust in the model file (your own class)."),
) -> None:
    """Pick the quotes worth labelling next (active learning); write pre-annotated tasks for `qst push`."""
    from toolkit.stance import api as baseline

    s = baseline.run_select(model, quotes, out, n, strategy=strategy, seed=seed, max_per_article=max_per_article,
                            exclude=tuple(exclude), target=target, model_version=model_version, trust=tuple(trust))
    over = f", {s['over_cap']} over the per-article cap (too few articles)" if s["over_cap"] else ""
    cap = f"max {s['max_per_article']} per article" if s["max_per_article"] else "no per-article cap"
    console.print(f"{s['selected']} of {s['pool']} quotes selected by {s['strategy']} "
                  f"({cap}{over}; {s['excluded']} excluded), predicted "
                  f"{s['label_counts']}, model_version {s['model_version']} -> {out}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command(name="train")(train)
    app.command(name="predict")(predict)
    app.command(name="select")(select)

"""`qst run`: the whole pipeline on the bundled seed articles, with progress and a summary."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from toolkit.cli.options import SEED_MAX

console = Console(stderr=True)


def run_command(
    out: Path = typer.Option(Path("out/demo"), "--out", help="Folder for every stage's outputs."),
    articles: Path = typer.Option(Path("annotations/articles"), "--articles", help="Seed articles folder."),
    export_dir: Path = typer.Option(Path("annotations/labelstudio"), "--labelstudio-export",
                                    help="Folder with the team's Label Studio JSON export(s)."),
    seed: int = typer.Option(0, "--seed", min=0, max=SEED_MAX, help="Seed for the model's cross-validation folds."),
    n_boot: int = typer.Option(1000, "--bootstrap", min=1, help="Bootstrap replicates for the macro-F1 intervals."),
    learning_curve: bool = typer.Option(True, "--learning-curve/--no-learning-curve"),
) -> None:
    """Run extract -> tasks -> annotations -> agreement -> train -> reports -> dataset and summarise."""
    from toolkit import pipeline

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        bar = progress.add_task("pipeline", total=len(pipeline.STAGES))

        def on_stage(name: str, result) -> None:
            if result is None:
                progress.update(bar, description=f"[bold]{name}[/] ...")
                return
            counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
            progress.console.print(f"[green]done[/] {name:<12} {counts}  ({result.seconds:.1f} s)", highlight=False)
            progress.advance(bar)

        def train_progress(label: str, total: int):
            task = progress.add_task(f"  {label}", total=total)
            return lambda: progress.advance(task)

        try:
            result = pipeline.run(out, articles_dir=articles, export_dir=export_dir, seed=seed, on_stage=on_stage,
                                  train_progress=train_progress, n_boot=n_boot, learning_curve=learning_curve)
        except Exception:
            progress.update(bar, description="[red]stopped[/]")
            raise
        progress.update(bar, description="[green]finished[/]")

    s = result.summary
    table = Table(title="qst run: summary", show_header=False)
    table.add_column(overflow="fold")
    table.add_column(overflow="fold")
    table.add_row("quotes extracted", str(s["quotes"]))
    table.add_row("annotations", str(s["annotations"]))
    alpha = s["krippendorff_alpha"]
    table.add_row("Krippendorff's alpha (stance)", "undefined" if alpha is None else f"{alpha:.3f}")
    table.add_row("gold labels", str(s["gold_labels"]))
    ci = s.get("macro_f1_ci95")
    ci_text = f" [95% CI {ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
    table.add_row(f"macro-F1 ({s['best_model']}, grouped by article)", f"{s['macro_f1']:.3f}{ci_text}")
    if s.get("uncertain"):
        table.add_row("[yellow]numbers are uncertain[/]", "; ".join(s["uncertain"]))
    table.add_row("report", s["report"])
    table.add_row("dataset", s["dataset"])
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command(name="run")(run_command)

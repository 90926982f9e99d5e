"""`qst train-attribution`: the learned attribution layer, trained on SpkAtt-style gold JSONL."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

console = Console(stderr=True)


def train_attribution_cmd(
    gold: Path = typer.Argument(..., help="Gold quotes in SpkAtt-2023 Task 2 JSONL (doc_id, text, quotes with segments and speaker_segments)."),
    out: Path = typer.Option(Path("model/attribution"), "--out", "-o", help="Output folder: model.skops, model_meta.json."),
    registry: Optional[Path] = typer.Option(None, "--registry", help="Speaker registry YAML (default schemas/speakers.yaml)."),
    threshold: float = typer.Option(0.5, "--threshold", min=0.0, max=1.0, help="Speech probability below which a candidate is dropped."),
    no_sentence_candidates: bool = typer.Option(False, "--no-sentence-candidates", help="Only decide over the rules' quotes; propose no extra sentences."),
) -> None:
    """Train the learned layer (speech filter, message boundaries, source choice) over the rules.

    Use it with `qst extract --attribution-model DIR`. A model trained on SpkAtt (CC BY-NC-SA)
    inherits its licence: keep it out of the repository.
    """
    from toolkit.attribution.learned.modelfile import save_attribution_model
    from toolkit.attribution.learned.train import train_attribution
    from toolkit.attribution.speakers import load_registry
    from toolkit.fileio import check_replaceable, output_folder

    check_replaceable(out, [gold, registry])
    model, summary = train_attribution(gold, load_registry(registry), threshold=threshold,
                                       sentence_candidates=not no_sentence_candidates)
    with output_folder(out, "train-attribution", inputs=[gold, registry]) as stage:
        save_attribution_model(model, stage, summary)
    console.print(f"trained on {summary['documents']} documents ({summary['gold_events']} gold events, "
                  f"{summary['rule_quotes']} rule quotes) in {summary['cpu_seconds']} CPU s -> {out}")


def register(app: typer.Typer) -> None:
    app.command(name="train-attribution")(train_attribution_cmd)

"""`qst train-attribution`: the learned attribution layer, trained on SpkAtt-style gold JSONL and/or
the team's Label Studio reviews."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

console = Console(stderr=True)


def train_attribution_cmd(
    gold: Optional[Path] = typer.Argument(None, help="Gold quotes in SpkAtt-2023 Task 2 JSONL (doc_id, text, quotes with segments and speaker_segments); optional with --reviews."),
    out: Path = typer.Option(Path("model/attribution"), "--out", "-o", help="Output folder: model.skops, model_meta.json."),
    registry: Optional[Path] = typer.Option(None, "--registry", help="Speaker registry YAML (default schemas/speakers.yaml)."),
    threshold: float = typer.Option(0.5, "--threshold", min=0.0, max=1.0, help="Speech probability below which a candidate is dropped."),
    no_sentence_candidates: bool = typer.Option(False, "--no-sentence-candidates", help="Only decide over the rules' quotes; propose no extra sentences."),
    reviews: Optional[Path] = typer.Option(None, "--reviews", help="Annotation table of `qst import` / `qst pull` (.parquet, .jsonl, .csv): confirmed / corrected quotes train as speech with their (corrected) speaker, not_a_quote as no speech. Needs --quotes and --articles."),
    quotes: Optional[Path] = typer.Option(None, "--quotes", help="The quotes table the reviews were made on (`qst extract` output: quotes.jsonl or .parquet)."),
    articles: Optional[Path] = typer.Option(None, "--articles", help="The articles those quotes were extracted from (as `qst extract` reads them)."),
    review_weight: float = typer.Option(1.0, "--review-weight", min=0.0, help="Weight of a reviewed quote's training rows against a gold event's 1."),
) -> None:
    """Train the learned layer (speech filter, message boundaries, source choice) over the rules.

    Use it with `qst extract --attribution-model DIR`. A model trained on SpkAtt (CC BY-NC-SA)
    inherits its licence: keep it out of the repository.
    """
    from toolkit.attribution.learned.modelfile import save_attribution_model
    from toolkit.attribution.learned.train import train_attribution
    from toolkit.attribution.speakers import load_registry
    from toolkit.fileio import check_replaceable, output_folder

    from toolkit.errors import InputError

    if reviews is not None and (quotes is None or articles is None):
        raise InputError("--reviews needs --quotes (the quotes table reviewed) and --articles (their articles)")
    if reviews is None and (quotes is not None or articles is not None):
        raise InputError("--quotes and --articles go with --reviews (the annotation table)")
    inputs = [gold, registry, reviews, quotes, articles]
    check_replaceable(out, inputs)
    model, summary = train_attribution(gold, load_registry(registry),
                                       (reviews, quotes, articles) if reviews is not None else None,
                                       threshold=threshold, sentence_candidates=not no_sentence_candidates,
                                       review_weight=review_weight)
    with output_folder(out, "train-attribution", inputs=inputs) as stage:
        save_attribution_model(model, stage, summary)
    rv = summary["reviews"]
    used = f", {rv['reviewed_quotes_used']} reviewed quotes of {rv['articles_used']} articles" if rv else ""
    console.print(f"trained on {summary['documents']} gold documents ({summary['gold_events']} gold events{used}; "
                  f"{summary['rule_quotes']} rule quotes) in {summary['cpu_seconds']} CPU s -> {out}")


def register(app: typer.Typer) -> None:
    app.command(name="train-attribution")(train_attribution_cmd)

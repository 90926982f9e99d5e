"""`qst build-dataset` and `qst publish`: thin typer shells over toolkit.dataset.build and toolkit.dataset.publish."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from toolkit.cli.options import SEED_MAX, fraction

out = Console()


def build_dataset(
    quotes: Path = typer.Option(..., "--quotes", help="Quote records (quotes.jsonl / .parquet from `qst extract`)."),
    adjudicated: Path = typer.Option(..., "--adjudicated", help="Adjudicated labels, one row per quote (from the agreement stage)."),
    out_dir: Path = typer.Option(..., "--out", help="Dataset folder to write (replaced as a whole)."),
    annotations: Optional[Path] = typer.Option(None, "--annotations", help="Annotation table: individual labels, targets, process figures."),
    agreement: Optional[Path] = typer.Option(None, "--agreement", help="agreement.json from the agreement stage, quoted in the card."),
    guidelines: Optional[Path] = typer.Option(None, "--guidelines", help="Annotation guidelines to ship with the card (default: annotations/guidelines.md if present)."),
    outlet_notes: Optional[Path] = typer.Option(None, "--outlet-notes", help="YAML/JSON mapping outlet -> note on its slant, for the card."),
    annotators: Optional[Path] = typer.Option(None, "--annotators", help="YAML with annotations_creators and a description of who annotated (see annotations/labelstudio/annotators.yaml)."),
    text_mode: str = typer.Option("full", "--text-mode", help="full: quote + context; quote: quote only; ids: ids, offsets and URLs, no news text."),
    seed: int = typer.Option(13, "--seed", min=0, max=SEED_MAX, help="Seed of the article-grouped split."),
    validation_size: float = typer.Option(0.1, "--validation-size", callback=fraction, help="Share of articles for validation (at least 1)."),
    test_size: float = typer.Option(0.1, "--test-size", callback=fraction, help="Share of articles for test (at least 1)."),
    skip_unlabelled: bool = typer.Option(False, "--skip-unlabelled", help="Leave out quotes with no adjudicated row (counted in the card) instead of failing."),
    license: str = typer.Option("cc-by-4.0", "--license", help="Licence of the annotations (Hub licence id)."),
    pretty_name: str = typer.Option("German news quotes: stance towards a target", "--pretty-name"),
    repo_id: Optional[str] = typer.Option(None, "--repo-id", help="ORG/NAME the dataset will be published as (for the citation)."),
) -> None:
    """Build the Hugging Face dataset folder (data/*.parquet + README.md card) from quotes and adjudicated labels."""
    from toolkit.dataset import build as dataset

    if guidelines is None and Path("annotations/guidelines.md").exists():
        guidelines = Path("annotations/guidelines.md")
    result = dataset.build(quotes, adjudicated, out_dir, annotations_path=annotations, agreement_path=agreement,
                           guidelines_path=guidelines, text_mode=text_mode, seed=seed, validation_size=validation_size,
                           test_size=test_size, skip_unlabelled=skip_unlabelled, license=license,
                           pretty_name=pretty_name, repo_id=repo_id, outlet_notes_path=outlet_notes,
                           annotators_path=annotators)
    s = result.stats
    table = Table(title=f"dataset written to {result.folder}")
    for col in ("split", "articles", "quotes"):
        table.add_column(col)
    for split in dataset.SPLITS:
        table.add_row(split, str(len(s.split_articles[split])), str(s.split_rows[split]))
    out.print(table)
    left_out = ", ".join(f"{k}: {v}" for k, v in sorted(s.excluded.items())) or "none"
    out.print(f"{s.rows_out} of {s.quotes_in} quotes in the dataset; left out: {left_out}; text mode {s.text_mode}")
    out.print(s.split_note, highlight=False)


def publish(
    folder: Path = typer.Argument(..., help="Dataset folder written by `qst build-dataset`."),
    repo_id: str = typer.Option(..., "--repo-id", help="Target dataset repo, ORG/NAME."),
    private: bool = typer.Option(False, "--private", help="Create the repo as private (ignored if it exists)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be uploaded and where; upload nothing."),
    endpoint: Optional[str] = typer.Option(None, "--endpoint", help="Hub URL (default: HF_ENDPOINT, else https://huggingface.co)."),
) -> None:
    """Upload a dataset folder to the Hugging Face Hub (token from HF_TOKEN or `hf auth login`)."""
    import os

    from toolkit.dataset import publish as hp
    from toolkit.redact import redact_url, remember_url

    hp.validate_repo_id(repo_id)
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or hp.DEFAULT_ENDPOINT).rstrip("/")
    remember_url(endpoint)
    shown = redact_url(endpoint)  # a user:pw@ in the endpoint is never printed
    if dry_run:
        files = hp.plan_upload(folder)
        # plain lines, never truncated by the terminal width: these are the exact bytes to be sent
        out.print(f"dry run: would upload to {shown}/datasets/{repo_id} (revision main; "
                  f"{'private' if private else 'public'} if the repo is created):", soft_wrap=True, highlight=False)
        for f in files:
            out.print(f"  {f.path_in_repo}  {f.size} bytes  sha256:{f.sha256}", soft_wrap=True, highlight=False)
        try:
            _, where = hp.resolve_token()
            out.print(f"{len(files)} file(s), {sum(f.size for f in files)} bytes; token found ({where}).")
        except Exception:
            out.print(f"{len(files)} file(s), {sum(f.size for f in files)} bytes; no token found yet: "
                      "set HF_TOKEN or run `hf auth login` before the real upload.")
        return
    token, _ = hp.resolve_token()
    with out.status(f"uploading {folder} to {shown}/datasets/{repo_id} ..."):
        result = hp.publish(folder, repo_id, token=token, private=private, endpoint=endpoint)
    if result.committed:
        out.print(f"committed {len(result.committed)} file(s) to {result.repo_url}: {', '.join(result.committed)}")
        out.print(f"commit: {result.commit_url}")
    if result.unchanged:
        out.print(f"unchanged on the Hub (skipped): {', '.join(result.unchanged)}")
    if not result.committed:
        out.print(f"nothing to do: {result.repo_url} already holds this folder")


def register(app: typer.Typer) -> None:
    app.command(name="build-dataset")(build_dataset)
    app.command(name="publish")(publish)

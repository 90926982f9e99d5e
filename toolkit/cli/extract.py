"""`qst extract`: articles in, attributed quotes out (JSONL + Parquet), validated against the schema."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from toolkit.errors import InputError
from toolkit.fileio import check_replaceable, output_folder, write_json, write_jsonl, write_parquet_records

console = Console(stderr=True)


def extract_cmd(
    articles: Path = typer.Argument(..., help="Folder of .txt files (optional _metadata.jsonl), a .jsonl or a .csv file with id and text."),
    out: Path = typer.Option(Path("out/quotes"), "--out", "-o", help="Output folder: quotes.jsonl, quotes.parquet, extract_summary.json."),
    registry: Optional[Path] = typer.Option(None, "--registry", help="Speaker registry YAML (default schemas/speakers.yaml)."),
    lexicon: Optional[list[Path]] = typer.Option(None, "--lexicon", help="Extra word lists (YAML, docs/lexicon.md): their entries are added to the bundled lists they name (cue verbs, Konjunktiv forms, role nouns, …); repeatable."),
    speakers: Optional[list[str]] = typer.Option(None, "--speakers", "-s", help="Keep only quotes of these speakers (registry id, name or alias); repeatable."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Report malformed articles and go on instead of stopping."),
    attribution_model: Optional[Path] = typer.Option(None, "--attribution-model", help="A folder written by `qst train-attribution`: learned speech filter, boundaries and sources over the rules (default: the rules alone)."),
    types: Optional[str] = typer.Option(None, "--types", help="Quote types to emit, comma-separated: direct, indirect, mixed (the default set), free_indirect, reported (SpkAtt's further types: opt-in, proposed only by an --attribution-model), or all."),
) -> None:
    """Find direct, indirect and mixed quotes and attribute them to speakers.

    For archives of many articles use `qst extract-corpus` (streaming, parallel, resumable).
    """
    from toolkit.attribution.extract import OPTIONAL_TYPES, extract_article, parse_types, validate_record
    from toolkit.attribution.speakers import load_registry, select_speakers
    from toolkit.ingest import read_articles
    from toolkit.lexicon.active import use_lexicon

    wanted_types = parse_types(types) if types is not None else None
    extra = list(lexicon or [])
    check_replaceable(out, [articles, registry, *extra, *([attribution_model] if attribution_model else [])])
    reg = load_registry(registry)
    use_lexicon(extra)
    wanted = select_speakers(reg, speakers) if speakers else None
    refine = None
    if attribution_model is not None:
        from toolkit.attribution.learned.modelfile import load_attribution_model

        refine = load_attribution_model(attribution_model)
    errors: list[str] = []
    records: list[dict] = []
    n_articles = 0
    with _progress() as progress:
        task = progress.add_task("extract", total=None, q=0)
        for article in read_articles(articles, skip_bad=skip_bad, errors=errors):
            n_articles += 1
            for rec in extract_article(article, reg, refine, wanted_types):
                validate_record(rec)
                if wanted is None or rec["speaker_id"] in wanted:
                    records.append(rec)
            progress.update(task, advance=1, q=len(records))
    if n_articles == 0:
        raise InputError(f"{articles}: no articles read; nothing written")
    # Most frequent first, ties in order of first appearance.
    by_type = dict(Counter(r["type"] for r in records).most_common())
    by_speaker = dict(Counter(r["speaker"] or "(unknown)" for r in records).most_common(10))
    summary = {"articles": n_articles, "quotes": len(records), "by_type": by_type, "top_speakers": by_speaker,
               "bad_articles": len(errors), "errors": errors}
    _pyarrow_without_numpy()
    # The three files are one output set: staged together, swapped in together.
    with output_folder(out, "extract", inputs=[articles, registry, *extra]) as stage:
        write_jsonl(stage / "quotes.jsonl", records)
        write_parquet_records(stage / "quotes.parquet", records, _parquet_types())
        write_json(stage / "extract_summary.json", summary)
    for err in errors:
        console.print(f"[yellow]skipped:[/] {err}", highlight=False)
    from rich.table import Table

    table = Table(title=f"{len(records)} quotes from {n_articles} articles")
    table.add_column("speaker")
    table.add_column("quotes", justify="right")
    for name, n in by_speaker.items():
        table.add_row(str(name), str(n))
    console.print(table)
    # Rich's highlighting of the dict compiles its four largest patterns (0.05 CPU-s); without a
    # terminal it colours nothing, so it is asked for only on one: the same bytes either way.
    console.print(f"types: {by_type}  ->  {out / 'quotes.jsonl'}, {out / 'quotes.parquet'}", highlight=console.is_terminal)
    if refine is None and wanted_types is not None and wanted_types.intersection(OPTIONAL_TYPES):
        console.print("note: the rules propose no free_indirect or reported quotes; give --attribution-model "
                      "(`qst train-attribution`) to get them", highlight=console.is_terminal)


class _NoProgress:
    """What `qst extract` uses of a Rich `Progress` where none is drawn: what Rich writes there, the
    empty line `Progress.stop` prints on a console that is not interactive, and nothing else."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if not console.is_interactive and not console.is_jupyter:
            console.print()

    def add_task(self, *args: Any, **fields: Any) -> int:
        return 0

    def update(self, *args: Any, **fields: Any) -> None:
        return None


def _progress() -> Any:
    """The progress bar, on a terminal (or in Jupyter) only. Why: a transient Rich `Progress` writes
    nothing to a file or pipe but one empty line (Rich's `Live` draws only on a terminal, and a
    transient one prints no final frame), so there it is that line alone, without the imports
    (rich.progress, rich.live, the spinners) and the refresh thread: about 0.01 CPU-s. Same bytes."""
    if not (console.is_terminal or console.is_jupyter):
        return _NoProgress()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]extract"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[q]} quotes"),
                    TimeElapsedColumn(), console=console, transient=True)


def _pyarrow_without_numpy() -> None:
    """Import pyarrow (and the two modules quotes.parquet needs) with numpy kept out, in a process
    that runs this command alone (`toolkit.cli.one_command_process`) and has not imported numpy.

    Why: pyarrow imports numpy when it can (`try: import numpy ... except ImportError: np = None`
    in pyarrow.lib; numpy is optional to pyarrow), about 0.13 of a one-article run's CPU seconds,
    only to offer numpy conversions, which writing records read from JSON lines does not use: the
    file is the same bytes (tests/test_cli_startup.py). `sys.modules["numpy"] = None` is Python's
    own way to make that import fail. It is not done in a process that goes on after the command:
    its pyarrow would stay without numpy's conversions, which pandas needs."""
    from toolkit.cli import one_command_process

    if not one_command_process() or "numpy" in sys.modules or "pyarrow" in sys.modules:
        return
    sys.modules["numpy"] = None  # type: ignore[assignment]
    try:
        import pyarrow  # noqa: F401
        import pyarrow.json  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    finally:
        if "numpy" in sys.modules and sys.modules["numpy"] is None:
            del sys.modules["numpy"]


def _parquet_types() -> dict[str, Any]:
    """quotes.parquet's column types, from schemas/quote.schema.json: strings, int64 offsets (null
    where the schema allows null), float64 confidence, list<string> flags, list<list<int64>> segments."""
    import pyarrow as pa

    s, i = pa.string(), pa.int64()
    ints = ("start", "end", "speaker_mention_start", "speaker_mention_end", "antecedent_start", "antecedent_end",
            "cue_start", "cue_end", "context_start", "context_end", "paragraph_index")
    strings = ("quote_id", "article_id", "text", "type", "speaker", "speaker_id", "speaker_kind", "speaker_mention",
               "antecedent", "attribution_method", "cue", "context", "article_title", "article_date", "article_url",
               "article_source")
    return {**{n: i for n in ints}, **{n: s for n in strings}, "confidence": pa.float64(), "flags": pa.list_(s),
            "segments": pa.list_(pa.list_(i))}


def register(app: typer.Typer) -> None:
    app.command(name="extract")(extract_cmd)

"""`qst extract-corpus`: quote extraction over millions of articles, locally or on a Dask cluster.

Thin shell over toolkit.corpus.driver: a rich progress bar (articles/s, quotes found) while parts
complete, and a final summary table (counts, failures by kind, throughput).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from toolkit.corpus import DEFAULT_ARTICLE_TIMEOUT, DEFAULT_EXTRACT_FN
from toolkit.errors import ToolkitError

console = Console(stderr=True)


def summary_table(summary: dict[str, Any], out: Path) -> Table:
    """The end-of-run figures, also stored under `summary` in manifest.json."""
    t = Table(title=f"extract-corpus: {summary['status']} -> {out}", title_justify="left")
    t.add_column("figure")
    t.add_column("value", justify="right")
    p = summary["parts"]
    t.add_row("parts complete / total", f"{p['complete']} / {p['total']}")
    t.add_row("  written this run / resumed", f"{p['written_this_run']} / {p['resumed']}")
    if p["failed"]:
        t.add_row("  lost to dying workers", str(p["failed"]))
    t.add_row("input records", f"{summary['records']:,}")
    t.add_row("articles extracted", f"{summary['articles']:,}")
    t.add_row("bad records (skipped)", f"{summary['bad_records']:,}")
    t.add_row("extraction failures (skipped)", f"{summary['extract_failures']:,}")
    t.add_row("quotes", f"{summary['quotes']:,}")
    for kind, n in summary["failures_by_kind"].items():
        t.add_row(f"  failures: {kind}", f"{n:,}")
    r = summary["this_run"]
    t.add_row("this run", f"{r['records']:,} records in {r['seconds']:.1f} s ({r['engine']}, {r['workers']} workers)")
    if r["records_per_s"] is not None:
        t.add_row("throughput", f"{r['records_per_s']:.1f} articles/s")
    return t


def quiet_dask_logs() -> None:
    """Silence distributed's loggers in this process (scheduler, client, nannies of a LocalCluster).

    They log dozens of INFO lines per run and the remote traceback of a failing task; the run's
    outcome is reported by us instead: a progress bar, a summary, or one `error:` line.
    """
    import distributed  # noqa: F401 - importing it applies its logging config, which we override

    for name in [n for n in logging.root.manager.loggerDict if n.split(".")[0] in ("distributed", "tornado", "bokeh")]:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    for name in ("distributed", "tornado", "bokeh"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def extract_corpus(
    input: Path = typer.Argument(..., help="Corpus: a .jsonl, .csv or .parquet file, or a folder of them "
                                           "(e.g. Parquet parts). Records need 'id' and 'text'."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: quotes-part-NNNNN.parquet, manifest.json, "
                                                      "errors.jsonl."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Processes (local) or LocalCluster workers (dask)."),
    engine: str = typer.Option("local", "--engine", help="local (processes on this machine) or dask."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. "
                                            "tcp://10.0.0.5:8786 (default: a LocalCluster of --workers)."),
    part_size: int = typer.Option(1000, "--part-size", "-k", min=1, help="Articles per part (the unit of "
                                  "parallelism, memory and resume)."),
    resume: bool = typer.Option(False, "--resume", help="Continue a stopped run in --out: redo only missing parts."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Report malformed records and failing articles in "
                                  "errors.jsonl and go on (default: stop at the first)."),
    jsonl: bool = typer.Option(False, "--jsonl", help="Also write each part as quotes-part-NNNNN.jsonl."),
    extract_fn: str = typer.Option(DEFAULT_EXTRACT_FN, "--extract-fn", help="Per-article function "
                                   "module:function (article dict -> list of quote records)."),
    article_timeout: float = typer.Option(DEFAULT_ARTICLE_TIMEOUT, "--article-timeout", min=0,
                                          help="Seconds one article may take; a slower one is reported in "
                                               "errors.jsonl (kind timeout) and the run goes on. 0 = no limit."),
) -> None:
    """Extract quotes from a large corpus in parts, in parallel, resumably (use `qst extract` for small inputs)."""
    progress = Progress(TextColumn("[bold]extract-corpus"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("articles · {task.fields[rate]} articles/s · {task.fields[quotes]:,} quotes"),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False)
    state: dict[str, Any] = {"task": None, "t0": time.time(), "done": 0, "quotes": 0}

    def on_start(total: int, already: int) -> None:
        state["task"] = progress.add_task("extract", total=total, completed=already, rate="-", quotes=0)
        state["t0"] = time.time()

    def on_part(entry: dict[str, Any]) -> None:
        state["done"] += entry["records"]
        state["quotes"] += entry["quotes"]
        rate = state["done"] / max(time.time() - state["t0"], 1e-9)
        progress.update(state["task"], advance=entry["records"], rate=f"{rate:.1f}", quotes=state["quotes"])

    from toolkit.corpus.driver import run_corpus
    from toolkit.corpus.plan import CorpusRun

    run = CorpusRun(input=input, out=out, workers=workers, engine=engine, scheduler=scheduler,
                    part_size=part_size, resume=resume, skip_bad=skip_bad, jsonl=jsonl, extract_fn=extract_fn,
                    article_timeout=article_timeout, on_start=on_start, on_part=on_part)
    if engine == "dask":
        quiet_dask_logs()
    progress.start()
    try:
        summary = run_corpus(run)
    except BaseException:
        progress.live.transient = True  # the error is one line; no half-done progress bar above it
        raise
    finally:
        progress.stop()
    Console().print(summary_table(summary, out))
    _report_duplicates(summary, out, skip_bad)
    if summary["status"] != "complete":
        console.print(f"[yellow]{summary['parts']['missing']} part(s) missing[/]: see {out / 'errors.jsonl'}; "
                      "rerun the same command with --resume to redo them.")
        raise typer.Exit(1)


def _report_duplicates(summary: dict[str, Any], out: Path, skip_bad: bool) -> None:
    """Article ids used by two records: a warning under --skip-bad, else an error (exit 2).

    The quotes are written either way (the run is complete); the ids are what needs fixing."""
    dup = summary["duplicate_ids"]
    if not dup["records"]:
        return
    message = f"{dup['records']:,} record(s) reuse an article id (first: {dup['first']}); see {out / 'errors.jsonl'}"
    if not skip_bad:
        raise ToolkitError(message)
    console.print(f"[yellow]warning:[/] {message}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command(name="extract-corpus")(extract_corpus)

"""`qst evaluate-attribution`: score extracted quotes against hand-annotated gold.

Thin shell over toolkit.attribution.evaluation: read gold and articles, get predictions (a file, or the
extractor run on the gold's articles), score, print rich tables, optionally write JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from toolkit.errors import InputError
from toolkit.fileio import write_json

console = Console()
DEFAULT_ARTICLES = Path("annotations/articles")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _name(v: Any) -> str:
    return "—" if v is None or (isinstance(v, float) and v != v) else str(v)


def _prf_row(table: Table, name: str, f: dict[str, Any]) -> None:
    table.add_row(name, _pct(f["precision"]), _pct(f["recall"]), _pct(f["f1"]),
                  f"{f['tp']} of {f['n_pred']} predicted / {f['n_gold']} gold")


def _print_report(rep: dict[str, Any], show_errors: int) -> None:
    import pandas as pd

    o = rep["overall"]
    s = rep["settings"]
    t = Table(title=f"Quote attribution vs gold (span match: {s['measure']} ≥ {s['threshold']}, one-to-one greedy)",
              title_justify="left")
    for col, just in (("figure", "left"), ("P %", "right"), ("R %", "right"), ("F1 %", "right"), ("counts", "left")):
        t.add_column(col, justify=just)
    _prf_row(t, "quote spans (overlap)", o["span"])
    _prf_row(t, "quote spans (exact)", o["exact_span"])
    _prf_row(t, "span + right speaker", o["attribution"])
    console.print(t)
    a = Table(title="On matched quotes", title_justify="left")
    a.add_column("figure")
    a.add_column("value %", justify="right")
    a.add_row(f"speaker accuracy ({o['n_speaker_correct']}/{o['n_matched']})", _pct(o["speaker_accuracy"]))
    a.add_row("speaker mention span exact", _pct(o["mention_exact_accuracy"]))
    a.add_row("speaker mention span overlapping", _pct(o["mention_overlap_accuracy"]))
    a.add_row("quote type correct", _pct(o["type_accuracy"]))
    a.add_row("mean span overlap", _pct(o["mean_overlap"]))
    console.print(a)
    bt = Table(title="By quote type (recall over gold of the type, precision over predictions of the type)",
               title_justify="left")
    for col in ("type", "gold", "pred", "P %", "R %", "F1 %", "exact R %", "speaker acc %"):
        bt.add_column(col, justify="left" if col == "type" else "right")
    for r in rep["by_type"].to_dict("records"):
        bt.add_row(r["type"], str(r["n_gold"]), str(r["n_pred"]), _pct(r["precision"]), _pct(r["recall"]),
                   _pct(r["f1"]), _pct(r["exact_recall"]), _pct(r["speaker_accuracy"]))
    console.print(bt)
    ba = Table(title="By article", title_justify="left")
    for col in ("article", "gold", "pred", "matched", "span F1 %", "speaker acc %", "attribution F1 %"):
        ba.add_column(col, justify="left" if col == "article" else "right")
    for r in rep["by_article"].to_dict("records"):
        ba.add_row(r["article_id"], str(r["n_gold"]), str(r["n_pred"]), str(r["matched"]), _pct(r["span_f1"]),
                   _pct(r["speaker_accuracy"]), _pct(r["attribution_f1"]))
    console.print(ba)
    if show_errors <= 0:
        return
    m = rep["matches"]
    wrong = m[(m["status"] != "match") | (m["speaker_correct"] == False)]  # noqa: E712
    if wrong.empty:
        return
    et = Table(title=f"Errors (first {min(show_errors, len(wrong))} of {len(wrong)})", title_justify="left")
    for col in ("article", "kind", "offsets", "gold speaker", "predicted speaker", "text"):
        et.add_column(col, overflow="fold")
    for r in wrong.head(show_errors).to_dict("records"):
        kind = r["status"] if r["status"] != "match" else "wrong speaker"
        start = r["gold_start"] if r["gold_start"] is not None and not pd.isna(r["gold_start"]) else r["pred_start"]
        end = r["gold_end"] if r["gold_end"] is not None and not pd.isna(r["gold_end"]) else r["pred_end"]
        text = r["gold_text"] if isinstance(r["gold_text"], str) else r["pred_text"]
        et.add_row(r["article_id"], kind, f"{int(start)}:{int(end)}", _name(r["gold_speaker"]), _name(r["pred_speaker"]),
                   (text[:90] + "…") if isinstance(text, str) and len(text) > 90 else str(text))
    console.print(et)


def evaluate_attribution(
    gold: Path = typer.Argument(..., help="Gold quotes, JSONL (see annotations/gold/CONVENTIONS.md)."),
    pred: Optional[Path] = typer.Option(None, "--pred", help="Predicted quote records (JSONL from `qst extract`, "
                                        "or .parquet/.csv). Without it the extractor runs on the gold's articles."),
    articles: Path = typer.Option(DEFAULT_ARTICLES, "--articles",
                                  help="Articles the gold offsets point into (folder of .txt, .jsonl or .csv)."),
    threshold: float = typer.Option(0.5, "--threshold", min=0.01, max=1.0,
                                    help="Minimum span overlap for a predicted and a gold quote to match."),
    overlap: str = typer.Option("jaccard", "--overlap",
                                help="Overlap measure: jaccard (|A∩B|/|A∪B|) or shorter (|A∩B|/shorter span)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write all figures and the match table as JSON here."),
    show_errors: int = typer.Option(15, "--show-errors", min=0, help="How many misses/false alarms/wrong speakers to list."),
) -> None:
    """Score quote spans and speakers against gold: precision/recall/F1 on spans (overlap and
    exact), speaker accuracy on matched quotes, figures per quote type and per article."""
    from toolkit.attribution import evaluation as ev
    from toolkit.ingest import read_articles
    import pandas as pd

    if overlap not in ev.MEASURES:
        raise InputError(f"--overlap: unknown measure {overlap!r} (use one of {', '.join(ev.MEASURES)})")
    arts = {a["id"]: a for a in read_articles(articles)}
    gold_df = ev.load_gold(gold, arts)
    gold_ids = sorted(set(gold_df["article_id"].astype(str)))
    if pred is not None:
        pred_df = ev.load_predictions(pred)
        pred_df = pred_df[pred_df["article_id"].astype(str).isin(gold_ids)]
        source = str(pred)
    else:
        from toolkit.attribution.extract import extract_article

        records: list[dict[str, Any]] = []
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("extracting quotes", total=len(gold_ids))
            for aid in gold_ids:
                records.extend(extract_article(arts[aid]))
                progress.advance(task)
        pred_df = pd.DataFrame(records)
        source = f"toolkit.attribution.extract on {articles}"
    rep = ev.score_attribution(gold_df, pred_df, threshold=threshold, measure=overlap)
    console.print(f"gold: {gold} ({len(gold_df)} quotes in {len(gold_ids)} articles); predictions: {source} "
                  f"({len(pred_df)} quotes in those articles)", highlight=False)
    _print_report(rep, show_errors)
    if out is not None:
        payload = ev.report_to_json(rep)
        payload["gold"] = str(gold)
        payload["predictions"] = source
        write_json(out, payload)
        console.print(f"wrote {out}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command(name="evaluate-attribution")(evaluate_attribution)

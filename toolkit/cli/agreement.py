"""`qst agreement`: agreement figures, disagreement report and gold labels from annotations.

Thin shell over toolkit.agreement: read the table, compute, print a rich table, write files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from toolkit.errors import InputError
from toolkit.fileio import check_replaceable, output_folder, read_table, write_json, write_jsonl, write_parquet, write_text

console = Console()
#: Shown in --help without importing toolkit.agreement (scikit-learn, scipy); a test checks it
#: equals toolkit.agreement.DEFAULT_RULE.
DEFAULT_RULE_TEXT = "unanimous > majority > adjudicator > ground_truth"


def _fmt(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("value") is None:
        return "undefined"
    return f"{entry['value']:.3f}"


def _basis(entry: dict[str, Any]) -> str:
    if entry.get("value") is None and entry.get("reason"):
        return entry["reason"]
    parts = []
    if "n_items" in entry:
        parts.append(f"{entry['n_items']} items")
    if "raters_per_item" in entry:
        parts.append(f"{entry['raters_per_item']} raters each")
        if entry.get("items_excluded_other_rater_count"):
            parts.append(f"{entry['items_excluded_other_rater_count']} items with other rater counts left out")
    if "n_pairs" in entry:
        parts.append(f"{entry['n_pairs']} pairs")
        if entry.get("n_pairs_undefined"):
            parts.append(f"{entry['n_pairs_undefined']} pairs undefined")
    return ", ".join(parts)


def _figures_table(title: str, fig: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("rests on / why undefined")
    table.add_row("Krippendorff's alpha (nominal)", _fmt(fig["krippendorff_alpha"]), _basis(fig["krippendorff_alpha"]))
    for lab, entry in fig["per_label_alpha"].items():
        table.add_row(f"  alpha {lab} vs rest", _fmt(entry), _basis(entry))
    table.add_row("Fleiss' kappa", _fmt(fig["fleiss_kappa"]), _basis(fig["fleiss_kappa"]))
    table.add_row("mean Cohen's kappa (Light)", _fmt(fig["mean_cohen_kappa"]), _basis(fig["mean_cohen_kappa"]))
    for pair in fig["cohen_kappa_pairs"]:
        table.add_row(f"  Cohen's kappa {pair['annotator_a']}–{pair['annotator_b']}", _fmt(pair), _basis(pair))
    table.add_row("observed pairwise agreement", _fmt(fig["percent_agreement"]), _basis(fig["percent_agreement"]))
    table.add_row("items used / labelled", f"{fig['items_used']}/{fig['items_labelled']}",
                  f"{fig['single_annotator_items_excluded']} single-annotator items excluded; "
                  f"{fig['cancelled_excluded']} cancelled, {fig['without_label_excluded']} unlabelled, "
                  f"{fig['superseded_duplicates_excluded']} superseded annotations excluded")
    return table


def _read_rows(annotations: Path) -> Any:
    """The annotation table, refused when empty: an agreement.json without figures would pass for a result."""
    table = read_table(annotations)
    if table.empty:
        raise InputError(f"{annotations}: the annotation table has no rows; nothing to compute agreement on "
                         "(import or pull an export that holds annotations)")
    return table


def agreement_command(
    annotations: Path = typer.Argument(..., help="Annotation table (.parquet, .jsonl, .json or .csv) "
                                                 "as written by `qst pull`/`qst import`."),
    out: Path = typer.Option(Path("out/agreement"), "--out", "-o", help="Folder for the output files."),
    adjudicator: Optional[str] = typer.Option(None, "--adjudicator", "-a",
                                              help="Annotator id whose annotation settles quotes that "
                                                   "have no unanimous or majority label."),
    rule: Optional[str] = typer.Option(None, "--rule", show_default=False,
                                       help=f"Adjudication steps in order [default: {DEFAULT_RULE_TEXT}]."),
    min_annotators: int = typer.Option(1, "--min-annotators", min=1,
                                       help="Voting annotators a quote needs before unanimous/majority "
                                            "can settle it (2 = never accept a single annotator's label)."),
    quotes: Optional[Path] = typer.Option(None, "--quotes",
                                          help="Quote table (quotes.jsonl/.parquet): write quotes_reviewed.* "
                                               "with the reviewers' speaker corrections applied."),
    keep_not_a_quote: bool = typer.Option(False, "--keep-not-a-quote",
                                          help="With --quotes: keep 'not a quote' items (flagged) instead of dropping them."),
) -> None:
    """Inter-annotator agreement, disagreements and adjudicated gold labels.

    Writes OUT/agreement.json (all figures, the rule, attribution accuracy), OUT/disagreements.md and .csv (every contested quote with every annotator's label) and OUT/adjudicated.parquet and .jsonl (one gold label per quote). See docs/agreement.md.
    """
    from toolkit import agreement as ag

    rule = rule or " > ".join(ag.DEFAULT_RULE)
    source = str(annotations)
    check_replaceable(out, [annotations, quotes])
    table = _read_rows(annotations)
    df = ag.validate_annotations(table, source)
    exclude = [adjudicator] if adjudicator else []
    adjudicated = ag.adjudicate(df, rule=rule, adjudicator=adjudicator, min_annotators=min_annotators,
                                source=source, validated=True)
    stance = ag.compute_agreement(df, "stance", exclude_annotators=exclude, source=source, validated=True)
    review = ag.compute_agreement(df, "speaker_review", exclude_annotators=exclude, source=source,
                                  validated=True)
    summary = ag.adjudication_summary(adjudicated)
    accuracy = ag.attribution_accuracy(adjudicated)
    report = ag.disagreement_report(df, adjudicated, source=source, validated=True)
    result: dict[str, Any] = {
        "source": source,
        "target": adjudicated["target"].iloc[0] if "target" in adjudicated.columns and len(adjudicated) else None,
        "stance": stance,
        "speaker_review": review,
        "adjudication": summary,
        "attribution": accuracy,
        "contested_quotes": int(len(report)),
    }

    if quotes is not None:
        reviewed = ag.apply_speaker_review(read_table(quotes), adjudicated, drop_not_a_quote=not keep_not_a_quote)
        result["speaker_review_applied"] = reviewed.attrs["speaker_review"]
    with output_folder(out, "agreement", inputs=[annotations, quotes]) as stage:
        if quotes is not None:
            write_parquet(stage / "quotes_reviewed.parquet", reviewed)
            write_jsonl(stage / "quotes_reviewed.jsonl", ag.adjudicated_records(reviewed))
        write_json(stage / "agreement.json", result)
        write_text(stage / "disagreements.md", ag.disagreements_markdown(report, summary["rule"]))
        write_text(stage / "disagreements.csv", report.to_csv(index=False))
        write_parquet(stage / "adjudicated.parquet", ag.adjudicated_for_parquet(adjudicated))
        write_jsonl(stage / "adjudicated.jsonl", ag.adjudicated_records(adjudicated))

    console.print(_figures_table("Stance agreement", stance))
    console.print(_figures_table("Speaker review agreement", review))
    adj = Table(title="Adjudication", title_justify="left")
    adj.add_column("resolution")
    adj.add_column("quotes", justify="right")
    for name, n in summary["resolution_counts"].items():
        adj.add_row(name, str(n))
    adj.add_row("gold labels", str(summary["gold_labels"]))
    adj.add_row("  of which from a single annotator", str(summary["resolved_from_single_annotator"]))
    acc = accuracy["attribution_accuracy"]
    adj.add_row("attribution accuracy (confirmed / real quotes)",
                f"{_fmt(acc)} ({accuracy['confirmed']}/{acc['n_items']})")
    adj.add_row("corrected speakers", str(accuracy["corrected"]))
    adj.add_row("not a quote", str(accuracy["not_a_quote"]))
    console.print(adj)
    console.print(f"Rule: {summary['rule']}", highlight=False)
    console.print(f"{len(report)} contested quote(s); files written to {out}/", highlight=False)


def register(app: typer.Typer) -> None:
    app.command(name="agreement")(agreement_command)

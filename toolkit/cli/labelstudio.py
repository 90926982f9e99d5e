"""`qst export | push | pull | import | ls-config`: the Label Studio round trip.

Thin shell over toolkit.labelstudio: config, tasks, annotations (offline) and client (SDK).
The API key comes from --api-key or LABEL_STUDIO_API_KEY and is never printed; nor is a
`user:pw@` in --url / LABEL_STUDIO_URL (the Connection only shows its redacted URL).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from toolkit.errors import InputError
from toolkit.fileio import read_table, write_json

console = Console(stderr=True)
#: Shown in --help without importing toolkit.labelstudio.tasks (pandas); a test checks it equals
#: toolkit.labelstudio.tasks.RULES.
RULE_NAMES = ("lexicon",)

URL_OPT = typer.Option(None, "--url", help="Label Studio URL [env LABEL_STUDIO_URL, default http://127.0.0.1:8080].")
KEY_OPT = typer.Option(None, "--api-key", help="API key: legacy token or personal access token "
                       "[env LABEL_STUDIO_API_KEY; prefer the env var: options show up in shell history].",
                       show_default=False)
ARTICLES_OPT = typer.Option(None, "--articles", help="The articles the quotes were extracted from (as for `qst extract`): "
                            "the context then holds the sentence before and after the quote's own.")
RETRIES_OPT = typer.Option(4, "--retries", min=0, help="Retries with exponential backoff (1s, 2s, 4s, ...) on 5xx or a down server.")


def _prefix_for(path: Path) -> Path:
    return path.with_suffix("") if path.suffix else path


def _known_quotes(quotes: Optional[Path]) -> set[str] | None:
    if quotes is None:
        return None
    df = read_table(quotes)
    if "quote_id" not in df.columns:
        raise InputError(f"{quotes}: no quote_id column")
    return set(df["quote_id"].astype(str))


def _conflict_warning(rows: list[dict[str, Any]]) -> None:
    """One warning line: corrections that fill both the registry choice and a different free text."""
    if not rows:
        return
    shown = "; ".join(f"task {r['task_id']} ({r['annotator']}): choice {r['speaker_choice']!r}, "
                      f"free text {r['speaker_free']!r}" for r in rows[:5])
    more = f"; and {len(rows) - 5} more" if len(rows) > 5 else ""
    console.print(f"warning: {len(rows)} speaker correction(s) fill both the registry choice and a different "
                  f"free text; speaker_corrected keeps the free text, speaker_conflict the choice: {shown}{more}",
                  highlight=False, soft_wrap=True)


def _recon_table(recon: dict[str, Any], paths: list[Path]) -> None:
    table = Table(title="Reconciliation", title_justify="left")
    table.add_column("count")
    table.add_column("n", justify="right")
    table.add_row("tasks in", str(recon["tasks_in"]))
    table.add_row("annotations in (incl. drafts)", str(recon["annotations_in"]))
    table.add_row("rows out", str(recon["rows_out"]))
    table.add_row("  of which cancelled/skipped (kept, was_cancelled=True)", str(recon["cancelled_rows"]))
    for reason, n in recon["set_aside"].items():
        ids = recon["set_aside_task_ids"].get(reason, [])
        shown = ", ".join(map(str, ids[:8])) + (" …" if len(ids) > 8 else "")
        table.add_row(f"set aside: {reason} (tasks {shown})", str(n))
    table.add_row("tasks without any annotation", str(recon["tasks_without_annotations"]))
    table.add_row("balanced (in = out + set aside)", "yes" if recon["balanced"] else "NO")
    table.add_row("corrections naming two speakers (speaker_conflict)", str(recon.get("speaker_conflicts", 0)))
    console.print(table)
    _conflict_warning(recon.get("speaker_conflict_rows") or [])
    if not recon["rows_out"]:  # refuse_unusable let it through: nobody has annotated yet
        console.print(f"no annotation yet: none of the {recon['tasks_in']} task(s) has been annotated; "
                      "the table is empty", highlight=False)
    for p in paths:
        console.print(f"wrote {p}")


def _print_team_settings(summary: dict[str, Any]) -> None:
    """Say what the queue will do, and loudly what a re-push changed on an existing project."""
    s = summary["settings"]
    console.print(f"team: {s.get('maximum_annotations')} annotator(s) per task on "
                  f"{s.get('overlap_cohort_percentage')} % of tasks (maximum_annotations, overlap_cohort_percentage)",
                  highlight=False)
    for field, (old, new) in summary["settings_changed"].items():
        console.print(f"changed project setting {field}: {old} -> {new}", highlight=False)


def _identity_note(recon: dict[str, Any], file: Path) -> None:
    """Say when annotators could only be told apart within this one file (ids restart on every server)."""
    bare = recon.get("annotators", {}).get("ls_user_ids_without_email_or_server") or []
    if bare:
        console.print(f"note: {file}: {len(bare)} annotator(s) known only by Label Studio user id (no e-mail): "
                      "their ids are scoped to this file's name; pass --users (GET /api/users) or --server-id "
                      "to identify them across exports", highlight=False)


def _context_note(index: Any) -> None:
    if index is None:
        console.print("note: without --articles the context is the quote's own sentence(s); pass --articles "
                      "(the extraction's input) for the sentence before and after", highlight=False)


def export_cmd(
    quotes: Path = typer.Argument(..., help="Quotes (quotes.jsonl or quotes.parquet from `qst extract`)."),
    out: Path = typer.Option(Path("tasks.json"), "--out", "-o", help="Task JSON to write (Label Studio import format)."),
    target: Optional[list[str]] = typer.Option(None, "--target", "-t", help="Stance target(s); default from schemas/labelstudio.yaml. One task per quote and target."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="Pre-annotations: table with quote_id, stance|label, [score], [model_version]."),
    rule: Optional[str] = typer.Option(None, "--rule", help=f"Pre-annotate by a rule instead: {', '.join(RULE_NAMES)}."),
    model_version: Optional[str] = typer.Option(None, "--model-version", help="model_version for --predictions rows that have none (default: file stem)."),
    articles: Optional[Path] = ARTICLES_OPT,
) -> None:
    """Write Label Studio tasks, one per quote (data.quote_id is the stable key), optionally with a stance suggestion."""
    from toolkit.labelstudio import tasks as lstasks

    if predictions and rule:
        raise InputError("give either --predictions or --rule, not both")
    preds = lstasks.load_predictions(predictions, model_version) if predictions else None
    index = lstasks.read_article_index(articles) if articles else None
    tasks = lstasks.quotes_to_tasks(read_table(quotes), targets=target, predictions=preds, rule=rule, where=str(quotes),
                                    articles=index)
    write_json(out, tasks)
    n_pred = sum(1 for t in tasks if t["data"].get("suggestion_stance"))
    console.print(f"wrote {len(tasks)} tasks ({n_pred} with a stance suggestion) to {out}")
    _context_note(index)


def push_cmd(
    source: Path = typer.Argument(..., help="Quotes (.jsonl/.parquet) or a task JSON from `qst export`."),
    project: str = typer.Option(..., "--project", "-p", help="Project title; created if missing."),
    url: Optional[str] = URL_OPT,
    api_key: Optional[str] = KEY_OPT,
    target: Optional[list[str]] = typer.Option(None, "--target", "-t", help="Stance target(s) when SOURCE is quotes."),
    rule: Optional[str] = typer.Option(None, "--rule", help="Pre-annotate quotes by a rule (when SOURCE is quotes)."),
    model_version: Optional[str] = typer.Option(None, "--model-version", help="The project's model_version: only "
                                                "qst-quote-in-context-v1 (the highlight's, also the default) is accepted."),
    batch_size: int = typer.Option(1000, "--batch-size", min=1, help="Tasks per import request (large batches cost the server less per task)."),
    dedupe: bool = typer.Option(False, "--dedupe", help="Delete extra copies of a task (same quote_id and target) that have no annotation, skip or draft; annotated copies are never deleted."),
    full_read: bool = typer.Option(False, "--full-read", help="Read every task of the project instead of only those new or updated since the local record of the last push (the record is then rewritten)."),
    retries: int = RETRIES_OPT,
    articles: Optional[Path] = ARTICLES_OPT,
) -> None:
    """Create/update the project (label config) and import tasks it lacks: re-running adds no duplicates.

    A push holds a lease in the project (see docs/labelstudio.md): a second push into the same
    project while one runs is refused. Afterwards the tasks are counted and copies of one quote
    reported (and removed with --dedupe).

    Stance predictions in a task file (`qst predict`, `qst select`) are shown as a suggestion
    (data.suggestion_*), not pre-selected; the one prediction pushed is the quote's highlight.
    """
    from toolkit.labelstudio import config as lsconfig
    from toolkit.labelstudio import tasks as lstasks

    from toolkit.labelstudio.client import Connection, push_tasks

    if model_version not in (None, lstasks.CONTEXT_MODEL_VERSION):
        raise InputError(f"--model-version {model_version!r}: Label Studio shows only the predictions of the project's "
                         f"model_version, and the one prediction qst pushes is the quote highlight "
                         f"({lstasks.CONTEXT_MODEL_VERSION}); a stance model's version travels in data.suggestion_model_version")
    settings = lsconfig.load_settings()
    index = lstasks.read_article_index(articles) if articles else None
    tasks = lstasks.read_tasks_or_quotes(source, targets=target, rule=rule, settings=settings, articles=index)
    if source.suffix.lower() != ".json":  # a task file keeps the context it was exported with
        _context_note(index)
    config = lsconfig.render_label_config(settings)
    conn = Connection(url, api_key, retries=retries)
    with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        job = bar.add_task("push", total=len(tasks))
        summary = push_tasks(conn, project, tasks, config, batch_size=batch_size, model_version=model_version,
                             progress=lambda n: bar.advance(job, n), default_target=settings["default_target"],
                             settings=lsconfig.project_settings(settings), remove_duplicates=dedupe,
                             full_read=full_read)
        bar.update(job, completed=len(tasks))
    _push_summary(summary, dedupe)


def _push_summary(summary: dict[str, Any], dedupe: bool) -> None:
    """Print what the push did; the task count is of tasks, not of distinct quotes, so copies show."""
    from toolkit.redact import redact_url

    console.print(f"project {summary['project']!r} (id {summary['project_id']}, "
                  f"{'created' if summary['created'] else 'existing'}): {summary['added']} added, "
                  f"{summary['already_present']} already present, {summary['tasks_in_project']} tasks in project "
                  f"({summary['distinct_keys']} distinct quote/target keys); model_version={summary['model_version']}",
                  highlight=False)
    console.print(f"read {summary['tasks_read']} task(s) back from the server ({summary['read']})", highlight=False)
    if summary["duplicate_copies"]:
        msg = (f"duplicates: {summary['duplicate_keys']} quote/target key(s) held by more than one task, "
               f"{summary['duplicate_copies']} extra task(s)")
        if dedupe:
            msg += (f"; deleted {summary['duplicates_deleted']} unannotated extra task(s), kept "
                    f"{summary['duplicates_kept_with_annotations']} extra annotated one(s)")
        else:
            msg += "; run `qst push ... --dedupe` to delete the extra copies nobody has annotated"
        console.print(msg, highlight=False)
    else:
        console.print("duplicates: none", highlight=False)
    _print_team_settings(summary)
    console.print(f"open {redact_url(summary['url'])}")


def pull_cmd(
    project: str = typer.Option(..., "--project", "-p", help="Project title."),
    out: Path = typer.Option(Path("annotations.json"), "--out", "-o", help="Raw export (Label Studio JSON); the table goes beside it (.parquet, .jsonl, .reconciliation.json)."),
    quotes: Optional[Path] = typer.Option(None, "--quotes", help="Quotes table: annotations on quote ids not in it are set aside as unknown_quote_id."),
    url: Optional[str] = URL_OPT,
    api_key: Optional[str] = KEY_OPT,
    retries: int = RETRIES_OPT,
    wait: float = typer.Option(900.0, "--wait", min=1, help="Seconds to wait for Label Studio to build and send the export snapshot (about 140 s at 100k tasks)."),
) -> None:
    """Snapshot-export a project (full predictions, annotator details) and normalise it to the annotation table."""
    from toolkit.labelstudio import annotations as lsx

    from toolkit.fileio import check_not_folder, check_not_input
    from toolkit.labelstudio.client import Connection, pull_export

    check_not_folder(out)
    check_not_input([out], [quotes])
    known = _known_quotes(quotes)
    from toolkit.labelstudio.identity import server_id_of

    conn = Connection(url, api_key, retries=retries)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  transient=True) as bar:
        job = bar.add_task("export snapshot", total=None)
        raw, info = pull_export(conn, project, wait=wait, progress=lambda stage: bar.update(job, description=stage))
    from toolkit.labelstudio.exportfile import normalise_export

    server = server_id_of(conn.url)  # host:port only: no scheme, credentials or path
    df, recon = normalise_export(raw, out, known=known, fmt="JSON", model_version=info.get("model_version"),
                                 who=lsx.Who(server_id=server))
    recon["source"] = {"project": project, "project_id": info["project_id"], "export_id": info["export_id"],
                       "server": server}
    # The raw export and the table made from it are one output set.
    paths = lsx.write_annotation_table(df, recon, _prefix_for(out), inputs=(quotes,), extra={out: raw})
    console.print(f"wrote raw export {out}")
    _recon_table(recon, paths)


def import_cmd(
    file: Path = typer.Argument(..., help="Label Studio export: JSON, JSON_MIN or CSV."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output prefix (default: FILE without suffix); writes PREFIX.parquet, .jsonl, .reconciliation.json."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="JSON, JSON_MIN or CSV (default: detect)."),
    quotes: Optional[Path] = typer.Option(None, "--quotes", help="Quotes table: annotations on quote ids not in it are set aside as unknown_quote_id."),
    server_id: Optional[str] = typer.Option(None, "--server-id", help="The Label Studio server the export comes from (e.g. ls.example.org:8080): "
                                            "annotators without an e-mail are told apart per server, not only per file."),
    users: Optional[Path] = typer.Option(None, "--users", help="Users list of that server (JSON of GET /api/users): "
                                         "maps the user ids of a JSON_MIN/CSV/UI export to e-mails, the most stable identity."),
) -> None:
    """Normalise a Label Studio export file to the annotation table, with a reconciliation."""
    from toolkit.labelstudio import annotations as lsx

    from toolkit.fileio import check_not_input
    from toolkit.inputs import require_file

    require_file(file, "Label Studio export file")
    prefix = out if out is not None else _prefix_for(file)
    check_not_input(lsx.annotation_table_paths(prefix), [file, quotes, users])  # before reading anything
    from toolkit.labelstudio.identity import server_id_of

    server = (server_id_of(server_id) if "://" in server_id else server_id.strip().lower()) if server_id else None
    if server_id is not None and not server:
        raise InputError("--server-id: empty; give the server as host:port, as `qst pull` records it")
    who = lsx.Who(server_id=server, emails=lsx.read_users(require_file(users, "--users list")) if users else None)
    from toolkit.labelstudio.exportfile import normalise_export

    df, recon = normalise_export(file, file, known=_known_quotes(quotes), fmt=fmt, who=who)
    recon["source"] = {"file": str(file), **({"server": server} if server else {})}
    _identity_note(recon, file)
    paths = lsx.write_annotation_table(df, recon, prefix, inputs=(file, quotes, users))
    _recon_table(recon, paths)


def _status_table(status: dict[str, Any], alpha: Any, project: str) -> Table:
    table = Table(title=f"{project}: {status['tasks']} tasks, {status['annotators_per_task']} annotator(s) per task, "
                        f"{status['tasks_complete']} complete, {status['tasks_double_annotated']} double-annotated; "
                        f"alpha so far {alpha}", title_justify="left")
    for col in ("annotator", "done", "skipped", "remaining in queue", "median time (s)", "double-annotated",
                "agreement so far"):
        table.add_column(col, justify="left" if col == "annotator" else "right")
    for r in status["annotators"]:
        table.add_row(r["annotator"], str(r["done"]), str(r["skipped"]), str(r["remaining"]),
                      "–" if r["median_lead_time"] is None else f"{r['median_lead_time']:.1f}",
                      str(r["double_annotated"]), "–" if r["agreement"] is None else f"{r['agreement']:.0%}")
    return table


def _alpha_so_far(df: Any) -> dict[str, Any]:
    """Krippendorff's alpha over the tasks already double-annotated (None with the reason otherwise)."""
    from toolkit import agreement as ag

    try:
        stats = ag.compute_agreement(df, "stance", source="project")
    except InputError as exc:  # e.g. several targets in one project: per-annotator figures still stand
        return {"value": None, "reason": str(exc)}
    return stats["krippendorff_alpha"]


def status_cmd(
    project: str = typer.Option(..., "--project", "-p", help="Project title."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON instead of a table."),
    url: Optional[str] = URL_OPT,
    api_key: Optional[str] = KEY_OPT,
    retries: int = RETRIES_OPT,
) -> None:
    """Progress per annotator: tasks done, skipped, left in their queue, median time, agreement so far."""
    from toolkit.labelstudio import annotations as lsx
    from toolkit.labelstudio.status import project_status

    from toolkit.labelstudio.client import Connection, pull_export

    conn = Connection(url, api_key, retries=retries)
    raw, info = pull_export(conn, project)
    full = conn.call(f"reading project {project!r}", conn.client.projects.get, info["project_id"])
    df, _recon = lsx.detect_and_normalise(raw, f"project {project!r}", fmt="JSON", model_version=info.get("model_version"))
    task_ids = [int(t["id"]) for t in json.loads(raw)]
    status = project_status(df, task_ids, getattr(full, "maximum_annotations", 1) or 1)
    status["krippendorff_alpha"] = _alpha_so_far(df)
    status["project"], status["project_id"] = project, info["project_id"]
    if as_json:
        typer.echo(json.dumps(status, ensure_ascii=False, indent=2, default=str))
        return
    alpha = status["krippendorff_alpha"].get("value")
    Console().print(_status_table(status, "–" if alpha is None else f"{alpha:.3f}", project))


def config_cmd(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the XML here instead of stdout."),
    speakers: Optional[Path] = typer.Option(None, "--speakers", help="Speaker registry YAML (default: schemas/speakers.yaml)."),
) -> None:
    """Print the Label Studio labeling config rendered from schemas/labelstudio.yaml."""
    from toolkit.labelstudio import config as lsconfig

    xml = lsconfig.render_label_config(speakers_file=speakers)
    if out:
        from toolkit.fileio import write_text
        write_text(out, xml)
        console.print(f"wrote {out}")
    else:
        typer.echo(xml)


def register(app: typer.Typer) -> None:
    app.command(name="export")(export_cmd)
    app.command(name="push")(push_cmd)
    app.command(name="pull")(pull_cmd)
    app.command(name="import")(import_cmd)
    app.command(name="ls-config")(config_cmd)
    app.command(name="status")(status_cmd)

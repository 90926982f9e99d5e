"""Label Studio round trip, offline half: export parsing, normalisation, reconciliation.

Pure functions over dicts and DataFrames; the network half (push/pull through
label-studio-sdk) lives in toolkit.labelstudio.client. Keeping them apart lets `qst import`
and the tests of the normalisation run without a server.

Annotation table columns and the reconciliation are fixed by docs/CONTRACTS.md.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.errors import InputError
from toolkit.inputs import decode_utf8, loads_json
from toolkit.labelstudio import identity as ident
from toolkit.labelstudio.config import REVIEWS, STANCES
from toolkit.labelstudio.tasks import QUOTE_ID_RE, _clean

ANNOTATION_COLUMNS = [
    "quote_id", "task_id", "annotator", "stance", "speaker_review", "speaker_corrected", "comment",
    "lead_time", "created_at", "updated_at", "was_cancelled", "is_ground_truth",
    "prediction_stance", "prediction_model_version", "changed_from_prediction", "target", "speaker_conflict",
]


# --------------------------------------------------------------------------- import (export -> table)

def anonymise(user: Any, server_id: str | None = None, scope: str | None = None,
              emails: dict[int, str] | None = None, seen: "_Identities | None" = None) -> str | None:
    """Pseudonymous annotator id: `ann_` + HMAC-SHA256(salt, identity), see toolkit.labelstudio.identity.

    The identity is the e-mail when the export (or `emails`) has it, else `server_id` + the
    Label Studio user id, else the user id scoped to this export (`scope`): user ids restart at
    1 on every server, so a bare id must never meet another export's bare id unmarked.
    """
    found = ident.identity(_clean(user) if not isinstance(user, dict) else user, server_id, scope, emails)
    if found is None:
        return None
    name = ident.pseudonym(found[0])
    if seen is not None:
        seen.add(name, found[1], found[2])
    return name


@dataclass(frozen=True)
class Who:
    """How one export's annotators are identified: its server (host:port), its users list
    (id -> e-mail) and the name that scopes ids known by neither (the export's file name)."""

    server_id: str | None = None
    emails: dict[int, str] | None = None
    scope: str | None = None

    def anonymise(self, user: Any, seen: "_Identities | None" = None) -> str | None:
        return anonymise(user, self.server_id, self.scope, self.emails, seen)


class _Identities:
    """Which kind of identity each annotator of one export got, and the numeric ids behind them
    (what a merge needs to tell whether two exports' annotators may collide)."""

    def __init__(self) -> None:
        self.kind: dict[str, str] = {}
        self.user_ids: set[int | str] = set()
        self.unscoped_ids: set[int | str] = set()

    def add(self, name: str, kind: str, uid: int | str | None) -> None:
        self.kind[name] = kind
        if uid is not None:
            self.user_ids.add(uid)
            if kind == "file":
                self.unscoped_ids.add(uid)

    def as_dict(self) -> dict[str, Any]:
        by = {k: sum(1 for v in self.kind.values() if v == k) for k in ident.KINDS}
        return {"by": by, "ls_user_ids": sorted(self.user_ids, key=str),
                "ls_user_ids_without_email_or_server": sorted(self.unscoped_ids, key=str)}


def _first_choice(value: Any, where: str, name: str, allowed: tuple[str, ...] | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("choices", value.get("text"))
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("{") or stripped.startswith("["):
            try:
                return _first_choice(json.loads(stripped), where, name, allowed)
            except (ValueError, RecursionError):  # not JSON (or JSON Python cannot take): a plain string
                pass
        value = [stripped] if stripped else []
    if isinstance(value, float) and math.isnan(value):
        return None
    if not isinstance(value, list):
        raise InputError(f"{where}: {name} has an unexpected value {value!r}")
    if not value:
        return None
    if len(value) > 1 and allowed is not None:
        raise InputError(f"{where}: {name} has several values {value}; expected one")
    choice = str(value[0])
    if allowed is not None and choice not in allowed:
        raise InputError(f"{where}: {name} {choice!r} is not one of {', '.join(allowed)}")
    return choice


def _result_fields(result: Any, where: str) -> dict[str, Any]:
    """Annotation `result` list -> {stance, speaker_review, speaker_choice, speaker_free, comment}."""
    if result is None:
        result = []
    if not isinstance(result, list):
        raise InputError(f"{where}: result is not a list")
    fields: dict[str, Any] = {}
    for item in result:
        if not isinstance(item, dict) or "from_name" not in item or not isinstance(item.get("value"), dict):
            raise InputError(f"{where}: result item {item!r} lacks from_name/value")
        name, value = item["from_name"], item["value"]
        if "choices" in value:
            fields[name] = value["choices"]
        elif "text" in value:
            texts = value["text"]
            fields[name] = " ".join(texts) if isinstance(texts, list) else str(texts)
    return fields


_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0", ""}


def _strict_bool(value: Any, where: str, name: str) -> bool:
    """true/false, 1/0, yes/no, t/f (any case), empty/None -> False; anything else is an error.

    Why: `bool("False")` is True, so a CSV or hand-edited export would silently mark every
    annotation cancelled or ground truth.
    """
    value = _clean(value)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InputError(f"{where}: {name} {value!r} is not a boolean (use true/false, 1/0 or yes/no)")


def _strict_number(value: Any, where: str, name: str) -> float | None:
    """A number (or a numeric string); None/empty -> None; anything else names the field."""
    value = _clean(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, bool):
        try:
            number = float(value)
            if math.isfinite(number):
                return number
        except (TypeError, ValueError):
            pass
    raise InputError(f"{where}: {name} {value!r} is not a number")


def _task_id(value: Any, where: str, name: str = "task id") -> int:
    """Task/annotation ids are integers in every Label Studio export; 3.0 and "3" are accepted."""
    value = _clean(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise InputError(f"{where}: {name} {value!r} is not a whole number")


def _row(quote_id: str, task_id: Any, annotator: str | None, fields: dict[str, Any], meta: dict[str, Any],
         pred: tuple[str | None, str | None], target: Any, where: str) -> dict[str, Any]:
    stance = _first_choice(fields.get("stance"), where, "stance", STANCES)
    review = _first_choice(fields.get("speaker_review"), where, "speaker_review", REVIEWS)
    chosen = _first_choice(fields.get("speaker_choice"), where, "speaker_choice", None)
    free = _clean(fields.get("speaker_free"))
    free = str(free).strip() if free is not None and str(free).strip() else None
    corrected = free or chosen  # free text wins: it is what the annotator typed last ...
    # ... but not silently: a registry choice that names someone else is kept in speaker_conflict
    conflict = chosen if free and chosen and " ".join(free.split()).casefold() != " ".join(chosen.split()).casefold() else None
    if corrected and review is None:
        review = "corrected"
    comment = _clean(fields.get("comment"))
    comment = str(comment).strip() if comment is not None and str(comment).strip() else None
    pred_stance, pred_mv = pred
    changed = None if stance is None or pred_stance is None else stance != pred_stance
    lead = _strict_number(meta.get("lead_time"), where, "lead_time")
    return {
        "quote_id": quote_id,
        "task_id": _task_id(task_id, where) if task_id is not None else None,
        "annotator": annotator,
        "stance": stance,
        "speaker_review": review,
        "speaker_corrected": corrected if review == "corrected" else None,
        "comment": comment,
        "lead_time": lead,
        "created_at": _clean(meta.get("created_at")),
        "updated_at": _clean(meta.get("updated_at")),
        "was_cancelled": _strict_bool(meta.get("was_cancelled"), where, "was_cancelled"),
        "is_ground_truth": _strict_bool(meta.get("ground_truth"), where, "ground_truth"),
        "prediction_stance": pred_stance,
        "prediction_model_version": pred_mv,
        "changed_from_prediction": changed,
        "target": None if _clean(target) is None else str(target),
        "speaker_conflict": conflict if review == "corrected" else None,
    }


class _Recon:
    """Counts for the reconciliation: every task and annotation is accounted for."""

    def __init__(self) -> None:
        self.tasks_in = 0
        self.annotations_in = 0
        self.rows_out = 0
        self.set_aside: Counter[str] = Counter()
        self.set_aside_tasks: dict[str, list[int]] = {}
        self.cancelled_rows = 0
        self.tasks_without_annotations: list[int] = []
        self.speaker_conflicts: list[dict[str, Any]] = []

    def row(self, row: dict[str, Any]) -> None:
        """Count a row that goes out; a correction naming two different speakers is listed."""
        self.rows_out += 1
        self.cancelled_rows += row["was_cancelled"]
        if row["speaker_conflict"] is not None:
            self.speaker_conflicts.append({"task_id": row["task_id"], "quote_id": row["quote_id"],
                                           "annotator": row["annotator"], "speaker_choice": row["speaker_conflict"],
                                           "speaker_free": row["speaker_corrected"]})

    def aside(self, reason: str, task_id: Any, n: int = 1) -> None:
        self.set_aside[reason] += n
        self.set_aside_tasks.setdefault(reason, [])
        if task_id is not None and int(task_id) not in self.set_aside_tasks[reason]:
            self.set_aside_tasks[reason].append(int(task_id))

    def as_dict(self, fmt: str) -> dict[str, Any]:
        return {
            "format": fmt,
            "tasks_in": self.tasks_in,
            "annotations_in": self.annotations_in,
            "rows_out": self.rows_out,
            "set_aside": dict(sorted(self.set_aside.items())),
            "set_aside_task_ids": {k: sorted(v) for k, v in sorted(self.set_aside_tasks.items())},
            "cancelled_rows": self.cancelled_rows,
            "tasks_without_annotations": len(self.tasks_without_annotations),
            "tasks_without_annotations_ids": sorted(self.tasks_without_annotations),
            "balanced": self.annotations_in == self.rows_out + sum(self.set_aside.values()),
            "speaker_conflicts": len(self.speaker_conflicts),
            "speaker_conflict_rows": self.speaker_conflicts,
        }


def _quote_check(qid: Any, known: set[str] | None) -> str | None:
    """None if the quote id is ours, else the reason to set the annotation aside."""
    if qid is None or (isinstance(qid, float) and math.isnan(qid)) or str(qid).strip() == "":
        return "no_quote_id"
    if not QUOTE_ID_RE.match(str(qid)) or (known is not None and str(qid) not in known):
        return "unknown_quote_id"
    return None


def _prediction_of(pred: Any, where: str) -> tuple[str | None, str | None]:
    """(stance, model_version) of a prediction with a stance choice; (None, None) for one without
    (e.g. the quote highlight every task carries)."""
    if not isinstance(pred, dict) or not pred.get("result"):
        return (None, None)
    fields = _result_fields(pred.get("result"), where + " prediction")
    stance = _first_choice(fields.get("stance"), where + " prediction", "stance", STANCES)
    return (stance, pred.get("model_version")) if stance is not None else (None, None)


def _suggestion_of(data: dict[str, Any], where: str) -> tuple[str | None, str | None]:
    """The stance suggestion `qst push` shows as text (data.suggestion_*), as (stance, model_version)."""
    stance = _first_choice(_clean(data.get("suggestion_stance")), where + " suggestion_stance", "stance", STANCES)
    mv = _clean(data.get("suggestion_model_version"))
    return (stance, None if mv is None else str(mv)) if stance is not None else (None, None)


def _refuse_duplicates(ids: list[int], where: str, kind: str, tasks_of: dict[int, int] | None = None) -> None:
    """A task or annotation exported twice would double its rows while the counts still balance."""
    dups = sorted(i for i, n in Counter(ids).items() if n > 1)
    if not dups:
        return
    shown = ", ".join(map(str, dups[:5])) + (f" and {len(dups) - 5} more" if len(dups) > 5 else "")
    if tasks_of is not None:
        in_tasks = sorted({tasks_of[i] for i in dups})
        shown += f" (tasks {', '.join(map(str, in_tasks[:5]))}{' …' if len(in_tasks) > 5 else ''})"
    raise InputError(f"{where}: {kind} id(s) {shown} appear more than once; the export is not one "
                     "snapshot (concatenated or edited?): re-export the project from Label Studio")


def _full_task_parts(task: Any, i: int, where: str) -> tuple[int, str, dict[str, Any], list[list[Any]]]:
    """Check one task of a full JSON export -> (id, location, data, [annotations, drafts, predictions])."""
    if not isinstance(task, dict):
        raise InputError(f"{where}: task #{i + 1} is not a JSON object")
    if "data" not in task and ("annotation_id" in task or "annotator" in task):
        raise InputError(f"{where}: task #{i + 1} is a flat JSON_MIN record, not a full JSON task; "
                         "use --format JSON_MIN (or leave --format out to detect it)")
    raw_id = task.get("id")
    loc = f"{where}: task {raw_id}" if raw_id is not None else f"{where}: task #{i + 1}"
    if raw_id is None:
        raise InputError(f"{loc}: has no id (is this a Label Studio export?)")
    task_id = _task_id(raw_id, loc)
    data = task.get("data")
    if not isinstance(data, dict):
        raise InputError(f"{loc}: has no data object")
    parts = []
    for name in ("annotations", "drafts", "predictions"):
        value = task.get(name, [])
        if value is not None and not isinstance(value, list):
            raise InputError(f"{loc}: {name} is not a list")
        parts.append(value or [])
    return task_id, loc, data, parts


def normalise_full(tasks: list[Any], known: set[str] | None = None, where: str = "export",
                   model_version: str | None = None, who: Who | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Label Studio JSON export (tasks with annotations, drafts, predictions) -> table + reconciliation.

    Decisions (see docs/labelstudio.md): cancelled (skipped) annotations stay as rows with
    was_cancelled=True and stance as given (usually None); drafts are set aside as `draft`;
    annotations on tasks without a quote_id, or with an id not of ours, are set aside as
    `no_quote_id` / `unknown_quote_id`; tasks with no annotation are counted. `who` says how
    annotators are identified (toolkit.labelstudio.identity).
    """
    who = who or Who(scope=Path(where).name)
    rec, rows, seen = _Recon(), _Rows(), _Identities()
    task_ids: list[int] = []
    ann_ids: list[int] = []
    ann_task: dict[int, int] = {}
    for i, task in enumerate(tasks):
        task_id, loc, data, (anns, drafts, preds) = _full_task_parts(task, i, where)
        task_ids.append(task_id)
        for ann in anns:
            if isinstance(ann, dict) and ann.get("id") is not None:
                aid = _task_id(ann["id"], f"{loc} annotation {ann['id']}", "annotation id")
                ann_ids.append(aid)
                ann_task.setdefault(aid, task_id)
        rec.tasks_in += 1
        rec.annotations_in += len(anns) + len(drafts)
        if drafts:
            rec.aside("draft", task_id, len(drafts))
        if not anns:
            rec.tasks_without_annotations.append(int(task_id))
            continue
        reason = _quote_check(data.get("quote_id"), known)
        if reason:
            rec.aside(reason, task_id, len(anns))
            continue
        task_preds = [p for p in preds if isinstance(p, dict)]
        if model_version:
            task_preds = [p for p in task_preds if p.get("model_version") == model_version] or task_preds
        fallback = next((p for p in (_prediction_of(x, loc) for x in reversed(task_preds)) if p[0] is not None),
                        _suggestion_of(data, loc))
        for j, ann in enumerate(anns):
            aloc = f"{loc} annotation {ann.get('id', '#' + str(j + 1)) if isinstance(ann, dict) else '#' + str(j + 1)}"
            if not isinstance(ann, dict):
                raise InputError(f"{aloc}: is not a JSON object")
            fields = _result_fields(ann.get("result"), aloc)
            pred = _prediction_of(ann.get("prediction"), aloc)
            if pred == (None, None):
                pred = fallback
            row = _row(str(data["quote_id"]), task_id, who.anonymise(ann.get("completed_by"), seen), fields, ann,
                       pred, data.get("target"), aloc)
            rows.append(row)
            rec.row(row)
    _refuse_duplicates(task_ids, where, "task")
    _refuse_duplicates(ann_ids, where, "annotation", ann_task)
    return _frame(rows), {**rec.as_dict("JSON"), "annotators": seen.as_dict()}


def normalise_min(records: list[Any], known: set[str] | None = None, where: str = "export",
                  fmt: str = "JSON_MIN", who: Who | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """JSON_MIN / CSV export (one flat record per annotation) -> table + reconciliation.

    These formats hold submitted annotations only: Label Studio leaves out skipped ones,
    drafts and predictions, so prediction columns are None and tasks_in counts distinct tasks.
    A record without annotation_id is a task with no annotation (CSV with all tasks).
    """
    who = who or Who(scope=Path(where).name)
    rec, rows, tasks_seen, seen = _Recon(), _Rows(), set(), _Identities()
    bare_tasks: list[int] = []
    ann_ids: list[int] = []
    ann_task: dict[int, int] = {}
    for i, r in enumerate(records):
        loc = f"{where}: record #{i + 1}"
        if not isinstance(r, dict):
            raise InputError(f"{loc} is not an object")
        if isinstance(r.get("annotations"), list) or isinstance(r.get("data"), dict):
            raise InputError(f"{loc} is a full JSON task (with data/annotations), not a flat {fmt} record; "
                             "use --format JSON (or leave --format out to detect it)")
        task_id = _clean(r.get("id"))
        if task_id is None:
            raise InputError(f"{loc}: has no task id column 'id' (is this a Label Studio {fmt} export?)")
        task_id = _task_id(task_id, f"{loc}: column 'id':")
        loc = f"{where}: task {task_id} (record #{i + 1})"
        if task_id not in tasks_seen:
            tasks_seen.add(task_id)
            rec.tasks_in += 1
        if _clean(r.get("annotation_id")) is not None:
            aid = _task_id(r.get("annotation_id"), loc, "annotation_id")
            ann_ids.append(aid)
            ann_task.setdefault(aid, task_id)
        if _clean(r.get("annotation_id")) is None and _clean(r.get("annotator")) is None:
            rec.tasks_without_annotations.append(task_id)
            bare_tasks.append(task_id)
            continue
        rec.annotations_in += 1
        reason = _quote_check(_clean(r.get("quote_id")), known)
        if reason:
            rec.aside(reason, task_id)
            continue
        fields = {k: _clean(r.get(k)) for k in ("stance", "speaker_review", "speaker_choice", "speaker_free", "comment")}
        row = _row(str(r["quote_id"]), task_id, who.anonymise(r.get("annotator"), seen), fields, r,
                   _suggestion_of(r, loc),
                   r.get("target"), loc)
        rows.append(row)
        rec.row(row)
    annotated = set(ann_task.values())
    _refuse_duplicates(bare_tasks + [t for t in set(bare_tasks) if t in annotated], where, "task")
    _refuse_duplicates(ann_ids, where, "annotation", ann_task)
    if rec.annotations_in and not any(isinstance(r, dict) and "quote_id" in r for r in records):
        raise InputError(f"{where}: no record has a quote_id {'column' if fmt == 'CSV' else 'field'}, so no "
                         f"annotation can be matched to a quote; export the tasks' data fields with the {fmt} export")
    return _frame(rows), {**rec.as_dict(fmt), "annotators": seen.as_dict()}


#: Columns whose few distinct strings are shared (sys.intern) instead of stored once per row.
_REPEATED = ("annotator", "stance", "speaker_review", "prediction_stance", "prediction_model_version", "target")


class _Rows:
    """Table rows kept as one list per column, repeated strings shared.

    Why: a dict per row costs about twice its values; at 100k annotations the rows were the
    largest thing `qst import` held besides the export itself (now streamed).
    """

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {c: [] for c in ANNOTATION_COLUMNS}

    def append(self, row: dict[str, Any]) -> None:
        for col, values in self.columns.items():
            value = row[col]
            values.append(sys.intern(value) if col in _REPEATED and type(value) is str else value)

    def __len__(self) -> int:
        return len(self.columns["quote_id"])


def _frame(rows: _Rows) -> pd.DataFrame:
    df = pd.DataFrame(rows.columns, columns=ANNOTATION_COLUMNS)
    for col in ("was_cancelled", "is_ground_truth"):
        df[col] = df[col].astype(bool)
    df["lead_time"] = df["lead_time"].astype("float64")
    df["task_id"] = df["task_id"].astype("Int64")
    df["changed_from_prediction"] = df["changed_from_prediction"].astype("boolean")
    return df


def _csv_records(raw: bytes, where: str) -> list[dict[str, Any]]:
    """CSV export -> records, refusing a file that was visibly cut short.

    Label Studio ends its CSV with a line break, so a last line without one means the file was
    truncated (copy, download or editor); a row with fewer or more fields than the header is
    refused as well. A cut exactly at a line break cannot be seen here (docs/GUARANTEES.md).
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not UTF-8 ({exc})") from exc
    if text and not text.endswith(("\n", "\r")):
        last = text.count("\n") + 1
        raise InputError(f"{where}: line {last}: the file does not end with a line break, so it was cut "
                         "short (the last row may be incomplete); export the project again")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or "id" not in reader.fieldnames:
        raise InputError(f"{where}: CSV has no 'id' column (is this a Label Studio CSV export?)")
    records = []
    for row in reader:
        if None in row or None in row.values():
            n = len(row.get(None) or []) + sum(v is not None for k, v in row.items() if k is not None)
            raise InputError(f"{where}: line {reader.line_num}: {n} fields, the header has "
                             f"{len(reader.fieldnames)}; the file is damaged: export the project again")
        records.append({k: (v if v != "" else None) for k, v in row.items()})
    return records


def refuse_unusable(recon: dict[str, Any], where: str) -> None:
    """An export that yields no row is an error unless no task has been annotated yet (drafts aside).

    Why: a wrong column set, a wrong --format or foreign quote ids used to give an empty table
    and exit 0; the only honest empty table is a project nobody has annotated.
    """
    submitted = recon["annotations_in"] - recon["set_aside"].get("draft", 0)
    if recon["rows_out"] or (recon["tasks_in"] and not submitted):  # drafts alone: not annotated yet
        return
    if not recon["tasks_in"]:
        raise InputError(f"{where}: the export holds no task; export the project again (after `qst push`)")
    aside = ", ".join(f"{k} {v}" for k, v in recon["set_aside"].items()) or "none"
    hint = (" (their quote ids are not from this extraction: the export belongs to another run)"
            if recon["set_aside"].get("unknown_quote_id") else "")
    raise InputError(f"{where}: 0 usable rows from {recon['annotations_in']} annotation(s) in "
                     f"{recon['tasks_in']} task(s); set aside: {aside}{hint}")


def _usable(result: tuple[pd.DataFrame, dict[str, Any]], where: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    refuse_unusable(result[1], where)
    return result


def detect_and_normalise(raw: bytes, path: str | Path, known: set[str] | None = None,
                         fmt: str | None = None, model_version: str | None = None,
                         who: Who | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Parse a Label Studio export (JSON, JSON_MIN or CSV; detected unless `fmt` says) and normalise.

    `who` (server id, users list) identifies the annotators; without it, ids lacking an e-mail
    are scoped to the file's name."""
    where = str(path)
    who = who or Who()
    if who.scope is None:
        who = Who(who.server_id, who.emails, Path(path).name)
    fmt = fmt.upper() if fmt else None
    if fmt is None:
        if Path(path).suffix.lower() == ".csv":
            fmt = "CSV"
        elif Path(path).suffix.lower() in {".json", ".jsonl"}:
            fmt = "JSON?"
        else:
            raise InputError(f"{where}: cannot tell the export format from the name; pass --format JSON|JSON_MIN|CSV")
    if fmt == "CSV":
        records = _csv_records(raw, where)
        return _usable(normalise_min(records, known, where, fmt="CSV", who=who), where)
    data = loads_json(decode_utf8(raw, where), where, first_line=1)
    if not isinstance(data, list):
        raise InputError(f"{where}: expected a JSON list of tasks, got {type(data).__name__}")
    if fmt == "JSON?":
        first = next((x for x in data if isinstance(x, dict)), {})
        fmt = "JSON" if ("annotations" in first or "data" in first) else "JSON_MIN"
    if fmt == "JSON":
        return _usable(normalise_full(data, known, where, model_version=model_version, who=who), where)
    if fmt == "JSON_MIN":
        return _usable(normalise_min(data, known, where, fmt="JSON_MIN", who=who), where)
    raise InputError(f"{where}: unknown export format {fmt!r}; use JSON, JSON_MIN or CSV")


def pulled_from(export: str | Path) -> str | None:
    """The server (host:port) `qst pull` recorded in EXPORT's reconciliation file, if there is one.

    Why: it lets ids of annotators without an e-mail be scoped to their server, not just the file."""
    sibling = Path(export).with_name(Path(export).stem + ".reconciliation.json")
    try:
        server = json.loads(sibling.read_text(encoding="utf-8")).get("source", {}).get("server")
    except (OSError, ValueError, AttributeError):
        return None
    return server if isinstance(server, str) and server else None


def read_users(path: str | Path) -> dict[int, str]:
    """A Label Studio users list (GET /api/users: objects with id and email) -> {id: email}."""
    where = str(path)
    data = loads_json(decode_utf8(Path(path).read_bytes(), where), where, first_line=1)
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        data = data["results"]
    if not isinstance(data, list):
        raise InputError(f"{where}: expected a JSON list of Label Studio users (GET /api/users)")
    emails = {}
    for i, user in enumerate(data):
        if not isinstance(user, dict) or "id" not in user or not isinstance(user.get("email"), str):
            raise InputError(f"{where}: user #{i + 1} has no id and email")
        emails[_task_id(user["id"], f"{where}: user #{i + 1}", "user id")] = user["email"]
    return emails


def annotation_table_paths(prefix: str | Path) -> list[Path]:
    """The three files of an annotation table: PREFIX.parquet, PREFIX.jsonl, PREFIX.reconciliation.json."""
    prefix = Path(prefix)
    return [prefix.with_name(prefix.name + ext) for ext in (".parquet", ".jsonl", ".reconciliation.json")]


def _json_records(df: pd.DataFrame, chunk: int = 10_000) -> Iterator[dict[str, Any]]:
    """pandas' JSON form of each row, a chunk at a time: the whole table as one JSON string plus its
    parsed records cost several times the table (at 100k rows, more than the rest of `qst import`)."""
    for start in range(0, len(df), chunk):
        yield from json.loads(df.iloc[start:start + chunk].to_json(orient="records", force_ascii=False))


def write_annotation_table(df: pd.DataFrame, recon: dict[str, Any], prefix: str | Path,
                           inputs: tuple[str | Path | None, ...] = (),
                           extra: dict[Path, bytes] | None = None) -> list[Path]:
    """Write PREFIX.parquet, PREFIX.jsonl and PREFIX.reconciliation.json (and `extra` files) as one set.

    The members are staged and moved into place together (`fileio.output_files`), and none may
    be one of the command's `inputs`: the table never overwrites the export it was read from.
    """
    from toolkit.fileio import output_files, write_json, write_jsonl, write_parquet

    paths = annotation_table_paths(prefix)
    extra = extra or {}
    with output_files([*paths, *extra], inputs=inputs) as staged:
        write_parquet(staged[0], df)
        write_jsonl(staged[1], _json_records(df))
        write_json(staged[2], recon)
        for tmp, data in zip(staged[3:], extra.values()):
            tmp.write_bytes(data)
    return paths

"""Label Studio round trip, offline half: export parsing, normalisation, reconciliation.

Pure functions over dicts and DataFrames; the network half (push/pull through
label-studio-sdk) lives in toolkit.labelstudio.client. Keeping them apart lets `qst import`
and the tests of the normalisation run without a server.

Annotation table columns and the reconciliation are fixed by docs/CONTRACTS.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.errors import InputError
from toolkit.inputs import decode_utf8, loads_json
from toolkit.labelstudio.config import REVIEWS, STANCES
from toolkit.labelstudio.tasks import QUOTE_ID_RE, _clean

ANNOTATION_COLUMNS = [
    "quote_id", "task_id", "annotator", "stance", "speaker_review", "speaker_corrected", "comment",
    "lead_time", "created_at", "updated_at", "was_cancelled", "is_ground_truth",
    "prediction_stance", "prediction_model_version", "changed_from_prediction", "target",
]


# --------------------------------------------------------------------------- import (export -> table)

def anonymise(user: Any, salt: str | None = None) -> str | None:
    """Stable anonymised annotator id from the Label Studio user id.

    `ann_` + the first 12 hex digits of sha256("<salt>:ls-user:<id>"), salt from
    QST_ANNOTATOR_SALT (empty by default). The LS numeric user id is used, not the email,
    because it is the one identity present in every export format (JSON, JSON_MIN, CSV).
    """
    if isinstance(user, dict):
        user = user.get("id")
    user = _clean(user)
    if user is None or user == "":
        return None
    if isinstance(user, float) and user.is_integer():
        user = int(user)
    salt = os.environ.get("QST_ANNOTATOR_SALT", "") if salt is None else salt
    digest = hashlib.sha256(f"{salt}:ls-user:{user}".encode()).hexdigest()
    return f"ann_{digest[:12]}"


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


def _row(quote_id: str, task_id: Any, annotator: str | None, fields: dict[str, Any], meta: dict[str, Any],
         pred: tuple[str | None, str | None], target: Any, where: str) -> dict[str, Any]:
    stance = _first_choice(fields.get("stance"), where, "stance", STANCES)
    review = _first_choice(fields.get("speaker_review"), where, "speaker_review", REVIEWS)
    chosen = _first_choice(fields.get("speaker_choice"), where, "speaker_choice", None)
    free = _clean(fields.get("speaker_free"))
    free = str(free).strip() if free is not None and str(free).strip() else None
    corrected = free or chosen  # free text wins: it is what the annotator typed last
    if corrected and review is None:
        review = "corrected"
    comment = _clean(fields.get("comment"))
    comment = str(comment).strip() if comment is not None and str(comment).strip() else None
    pred_stance, pred_mv = pred
    changed = None if stance is None or pred_stance is None else stance != pred_stance
    lead = _clean(meta.get("lead_time"))
    return {
        "quote_id": quote_id,
        "task_id": int(task_id) if task_id is not None else None,
        "annotator": annotator,
        "stance": stance,
        "speaker_review": review,
        "speaker_corrected": corrected if review == "corrected" else None,
        "comment": comment,
        "lead_time": None if lead is None else float(lead),
        "created_at": _clean(meta.get("created_at")),
        "updated_at": _clean(meta.get("updated_at")),
        "was_cancelled": bool(meta.get("was_cancelled") or False),
        "is_ground_truth": bool(meta.get("ground_truth") or False),
        "prediction_stance": pred_stance,
        "prediction_model_version": pred_mv,
        "changed_from_prediction": changed,
        "target": None if _clean(target) is None else str(target),
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
        }


def _quote_check(qid: Any, known: set[str] | None) -> str | None:
    """None if the quote id is ours, else the reason to set the annotation aside."""
    if qid is None or (isinstance(qid, float) and math.isnan(qid)) or str(qid).strip() == "":
        return "no_quote_id"
    if not QUOTE_ID_RE.match(str(qid)) or (known is not None and str(qid) not in known):
        return "unknown_quote_id"
    return None


def _prediction_of(pred: Any, where: str) -> tuple[str | None, str | None]:
    if not isinstance(pred, dict) or not pred.get("result"):
        return (None, None)
    fields = _result_fields(pred.get("result"), where + " prediction")
    return (_first_choice(fields.get("stance"), where + " prediction", "stance", STANCES), pred.get("model_version"))


def normalise_full(tasks: list[Any], known: set[str] | None = None, where: str = "export",
                   model_version: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Label Studio JSON export (tasks with annotations, drafts, predictions) -> table + reconciliation.

    Decisions (see docs/labelstudio.md): cancelled (skipped) annotations stay as rows with
    was_cancelled=True and stance as given (usually None); drafts are set aside as `draft`;
    annotations on tasks without a quote_id, or with an id not of ours, are set aside as
    `no_quote_id` / `unknown_quote_id`; tasks with no annotation are counted.
    """
    rec, rows = _Recon(), []
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise InputError(f"{where}: task #{i + 1} is not a JSON object")
        task_id = task.get("id")
        loc = f"{where}: task {task_id}" if task_id is not None else f"{where}: task #{i + 1}"
        if task_id is None:
            raise InputError(f"{loc}: has no id (is this a Label Studio export?)")
        data = task.get("data")
        if not isinstance(data, dict):
            raise InputError(f"{loc}: has no data object")
        anns, drafts = task.get("annotations", []), task.get("drafts", [])
        preds = task.get("predictions", [])
        for name, value in (("annotations", anns), ("drafts", drafts), ("predictions", preds)):
            if value is not None and not isinstance(value, list):
                raise InputError(f"{loc}: {name} is not a list")
        anns, drafts, preds = anns or [], drafts or [], preds or []
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
        fallback = _prediction_of(task_preds[-1], loc) if task_preds else (None, None)
        for j, ann in enumerate(anns):
            aloc = f"{loc} annotation {ann.get('id', '#' + str(j + 1)) if isinstance(ann, dict) else '#' + str(j + 1)}"
            if not isinstance(ann, dict):
                raise InputError(f"{aloc}: is not a JSON object")
            fields = _result_fields(ann.get("result"), aloc)
            pred = _prediction_of(ann.get("prediction"), aloc)
            if pred == (None, None):
                pred = fallback
            row = _row(str(data["quote_id"]), task_id, anonymise(ann.get("completed_by")), fields, ann, pred,
                       data.get("target"), aloc)
            rows.append(row)
            rec.rows_out += 1
            rec.cancelled_rows += row["was_cancelled"]
    return _frame(rows), rec.as_dict("JSON")


def normalise_min(records: list[Any], known: set[str] | None = None, where: str = "export",
                  fmt: str = "JSON_MIN") -> tuple[pd.DataFrame, dict[str, Any]]:
    """JSON_MIN / CSV export (one flat record per annotation) -> table + reconciliation.

    These formats hold submitted annotations only: Label Studio leaves out skipped ones,
    drafts and predictions, so prediction columns are None and tasks_in counts distinct tasks.
    A record without annotation_id is a task with no annotation (CSV with all tasks).
    """
    rec, rows, tasks_seen = _Recon(), [], set()
    for i, r in enumerate(records):
        loc = f"{where}: record #{i + 1}"
        if not isinstance(r, dict):
            raise InputError(f"{loc} is not an object")
        task_id = _clean(r.get("id"))
        if task_id is None:
            raise InputError(f"{loc}: has no task id column 'id' (is this a Label Studio {fmt} export?)")
        try:
            task_id = int(task_id)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{loc}: task id {task_id!r} is not a number") from exc
        loc = f"{where}: task {task_id} (record #{i + 1})"
        if task_id not in tasks_seen:
            tasks_seen.add(task_id)
            rec.tasks_in += 1
        if _clean(r.get("annotation_id")) is None and _clean(r.get("annotator")) is None:
            rec.tasks_without_annotations.append(task_id)
            continue
        rec.annotations_in += 1
        reason = _quote_check(_clean(r.get("quote_id")), known)
        if reason:
            rec.aside(reason, task_id)
            continue
        fields = {k: _clean(r.get(k)) for k in ("stance", "speaker_review", "speaker_choice", "speaker_free", "comment")}
        row = _row(str(r["quote_id"]), task_id, anonymise(r.get("annotator")), fields, r, (None, None),
                   r.get("target"), loc)
        rows.append(row)
        rec.rows_out += 1
        rec.cancelled_rows += row["was_cancelled"]
    return _frame(rows), rec.as_dict(fmt)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=ANNOTATION_COLUMNS)
    for col in ("was_cancelled", "is_ground_truth"):
        df[col] = df[col].astype(bool)
    df["lead_time"] = df["lead_time"].astype("float64")
    df["task_id"] = df["task_id"].astype("Int64")
    df["changed_from_prediction"] = df["changed_from_prediction"].astype("boolean")
    return df


def detect_and_normalise(raw: bytes, path: str | Path, known: set[str] | None = None,
                         fmt: str | None = None, model_version: str | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Parse a Label Studio export (JSON, JSON_MIN or CSV; detected unless `fmt` says) and normalise."""
    where = str(path)
    fmt = fmt.upper() if fmt else None
    if fmt is None:
        if Path(path).suffix.lower() == ".csv":
            fmt = "CSV"
        elif Path(path).suffix.lower() in {".json", ".jsonl"}:
            fmt = "JSON?"
        else:
            raise InputError(f"{where}: cannot tell the export format from the name; pass --format JSON|JSON_MIN|CSV")
    if fmt == "CSV":
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"{where}: not UTF-8 ({exc})") from exc
        reader = csv.DictReader(io.StringIO(text))
        records = [{k: (v if v != "" else None) for k, v in row.items()} for row in reader]
        if reader.fieldnames is None or "id" not in reader.fieldnames:
            raise InputError(f"{where}: CSV has no 'id' column (is this a Label Studio CSV export?)")
        return normalise_min(records, known, where, fmt="CSV")
    data = loads_json(decode_utf8(raw, where), where, first_line=1)
    if not isinstance(data, list):
        raise InputError(f"{where}: expected a JSON list of tasks, got {type(data).__name__}")
    if fmt == "JSON?":
        first = next((x for x in data if isinstance(x, dict)), {})
        fmt = "JSON" if ("annotations" in first or "data" in first) else "JSON_MIN"
    if fmt == "JSON":
        return normalise_full(data, known, where, model_version=model_version)
    if fmt == "JSON_MIN":
        return normalise_min(data, known, where, fmt="JSON_MIN")
    raise InputError(f"{where}: unknown export format {fmt!r}; use JSON, JSON_MIN or CSV")


def annotation_table_paths(prefix: str | Path) -> list[Path]:
    """The three files of an annotation table: PREFIX.parquet, PREFIX.jsonl, PREFIX.reconciliation.json."""
    prefix = Path(prefix)
    return [prefix.with_name(prefix.name + ext) for ext in (".parquet", ".jsonl", ".reconciliation.json")]


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
        records = json.loads(df.to_json(orient="records", force_ascii=False))
        write_jsonl(staged[1], records)
        write_json(staged[2], recon)
        for tmp, data in zip(staged[3:], extra.values()):
            tmp.write_bytes(data)
    return paths

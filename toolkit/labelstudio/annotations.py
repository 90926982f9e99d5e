"""Label Studio round trip, offline half: labeling config, task export, export normalisation.

Pure functions over dicts and DataFrames; the network half (push/pull through
label-studio-sdk) lives in toolkit.labelstudio_client. Keeping them apart lets `qst import`
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
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterable
from xml.sax.saxutils import quoteattr

import jsonschema
import pandas as pd
import yaml

from toolkit import SCHEMAS_DIR
from toolkit.errors import InputError
from toolkit.attribution.speakers import load_registry

SETTINGS_FILE = SCHEMAS_DIR / "labelstudio.yaml"
CONFIG_TEMPLATE = SCHEMAS_DIR / "labeling_config.xml"
TASK_SCHEMA = SCHEMAS_DIR / "labelstudio_task.schema.json"

STANCES = ("favor", "against", "neutral", "unclear")
REVIEWS = ("confirmed", "corrected", "not_a_quote")
QUOTE_ID_RE = re.compile(r"^q_[0-9a-f]{16}$")
UNKNOWN_SPEAKER = "(Sprecher unbekannt)"

ANNOTATION_COLUMNS = [
    "quote_id", "task_id", "annotator", "stance", "speaker_review", "speaker_corrected", "comment",
    "lead_time", "created_at", "updated_at", "was_cancelled", "is_ground_truth",
    "prediction_stance", "prediction_model_version", "changed_from_prediction", "target",
]


# --------------------------------------------------------------------------- settings + config

def load_settings(path: str | Path | None = None) -> dict[str, Any]:
    """Read schemas/labelstudio.yaml (targets, choices, hotkeys); the one place to edit them."""
    path = Path(path) if path else SETTINGS_FILE
    try:
        settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise InputError(f"{path}: Label Studio settings file not found") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from exc
    for key in ("default_target", "stance_choices", "speaker_review_choices"):
        if key not in settings:
            raise InputError(f"{path}: missing setting {key!r}")
    values = [c.get("value") for c in settings["stance_choices"]]
    if sorted(values) != sorted(STANCES):
        raise InputError(f"{path}: stance_choices must be exactly {', '.join(STANCES)}, got {values}")
    settings["_path"] = str(path)
    return settings


def load_registry_speakers(path: str | Path | None) -> list[dict[str, str]]:
    """Speakers (id, name) of a speaker registry (`toolkit.attribution.speakers.load_registry`, schema-checked),
    one per name. A missing file gives an empty list: the config then offers free text only."""
    if path is None or not Path(path).exists():
        return []
    speakers, seen = [], set()
    for sid, sp in load_registry(path).speakers.items():
        if sp.name not in seen:
            seen.add(sp.name)
            speakers.append({"id": sid, "name": sp.name})
    return speakers


def _choice_lines(choices: Iterable[dict[str, Any]], indent: str) -> str:
    lines = []
    for c in choices:
        attrs = f"value={quoteattr(str(c['value']))}"
        if c.get("hint"):
            attrs += f" hint={quoteattr(str(c['hint']))}"
        if c.get("hotkey"):
            attrs += f" hotkey={quoteattr(str(c['hotkey']))}"
        lines.append(f"{indent}<Choice {attrs}/>")
    return "\n".join(lines)


def render_label_config(settings: dict[str, Any] | None = None, speakers_file: str | Path | None = None,
                        template: str | Path | None = None) -> str:
    """Fill schemas/labeling_config.xml from the settings and the speaker registry.

    Every inserted value is XML-attribute-escaped, so a speaker name cannot break the config.
    """
    settings = settings or load_settings()
    if speakers_file is None and settings.get("speakers_file"):
        base = Path(settings.get("_path", SETTINGS_FILE)).parent
        speakers_file = base / settings["speakers_file"]
    speakers = load_registry_speakers(speakers_file)
    text = Path(template or CONFIG_TEMPLATE).read_text(encoding="utf-8")
    text = text.replace("{{STANCE_CHOICES}}", _choice_lines(settings["stance_choices"], "    "))
    text = text.replace("{{SPEAKER_REVIEW_CHOICES}}", _choice_lines(settings["speaker_review_choices"], "    "))
    speaker_choices = [{"value": s["name"]} for s in speakers]
    text = text.replace("{{SPEAKER_CHOICES}}", _choice_lines(speaker_choices, "      "))
    leftover = re.findall(r"\{\{[A-Z_]+\}\}", text)
    if leftover:
        raise InputError(f"{template or CONFIG_TEMPLATE}: unknown placeholder(s) {', '.join(leftover)}")
    return text


# --------------------------------------------------------------------------- export (quotes -> tasks)

def _clean(value: Any) -> Any:
    """NaN/None from pandas -> None; numpy scalars -> Python."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return value
    return value


def speaker_display(speaker: str | None, mention: str | None) -> str:
    """What the annotator reads as the speaker: canonical name, plus the mention if it differs."""
    if speaker and mention and mention.strip() and mention.strip() != speaker:
        return f"{speaker} (im Text: „{mention.strip()}“)"
    if speaker:
        return speaker
    if mention and mention.strip():
        return f"{UNKNOWN_SPEAKER} – im Text: „{mention.strip()}“"
    return UNKNOWN_SPEAKER


def quote_to_task(quote: dict[str, Any], target: str, where: str = "") -> dict[str, Any]:
    """One Label Studio task for one quote and target; `data.quote_id` is the stable key."""
    q = {k: _clean(v) for k, v in quote.items()}
    for key in ("quote_id", "article_id", "text"):
        if not q.get(key):
            raise InputError(f"{where}: quote has no {key!r}")
    if not QUOTE_ID_RE.match(str(q["quote_id"])):
        raise InputError(f"{where}: quote_id {q['quote_id']!r} is not of the form q_ + 16 hex digits")
    data = {
        "quote_id": str(q["quote_id"]),
        "article_id": str(q["article_id"]),
        "text": str(q["text"]),
        "context": str(q.get("context") or q["text"]),
        "speaker": q.get("speaker"),
        "speaker_id": q.get("speaker_id"),
        "speaker_display": speaker_display(q.get("speaker"), q.get("speaker_mention")),
        "speaker_mention": q.get("speaker_mention"),
        "quote_type": q.get("type") or q.get("quote_type") or "direct",
        "target": target,
        "confidence": q.get("confidence"),
    }
    for key in ("article_title", "article_date", "article_url", "article_source"):
        data[key] = None if q.get(key) is None else str(q.get(key))
    return {"data": data}


def prediction(stance: str, model_version: str, score: float | None = None) -> dict[str, Any]:
    """A pre-annotation in Label Studio's prediction format for the `stance` Choices."""
    if stance not in STANCES:
        raise InputError(f"prediction stance {stance!r} is not one of {', '.join(STANCES)}")
    return {
        "model_version": model_version,
        "score": None if score is None else float(score),
        "result": [{"from_name": "stance", "to_name": "quote", "type": "choices",
                    "value": {"choices": [stance]}}],
    }


# A deliberately small, transparent cue lexicon for `--rule lexicon`: a pre-annotation that
# annotators can see is a guess, not a model. Lowercase stems, matched as substrings.
_AGAINST_CUES = ("verurteil", "bedroh", "verletz", "destabilis", "instabil", "besorg", "warn", "kritisier",
                 "sanktion", "gefahr", "illegal", "verstoß", "aggression", "provokation", "rücksichtslos")
_FAVOR_CUES = ("unterstütz", "begrüß", "freundschaft", "partnerschaft stärk", "zusammenarbeit ausbau",
               "vertiefen", "brüderlich", "strategische partnerschaft", "gute beziehungen", "stärken")

RULES = {"lexicon": "rule-lexicon-v1"}


def rule_prediction(text: str, rule: str = "lexicon") -> dict[str, Any]:
    """Pre-annotate by a named rule; the model_version names the rule so LS shows it."""
    if rule not in RULES:
        raise InputError(f"unknown rule {rule!r}; known: {', '.join(RULES)}")
    low = text.lower()
    against = sum(cue in low for cue in _AGAINST_CUES)
    favor = sum(cue in low for cue in _FAVOR_CUES)
    if against > favor:
        stance, score = "against", min(0.9, 0.5 + 0.1 * (against - favor))
    elif favor > against:
        stance, score = "favor", min(0.9, 0.5 + 0.1 * (favor - against))
    else:
        stance, score = "neutral", 0.3
    return prediction(stance, RULES[rule], score)


def load_predictions(path: str | Path, default_model_version: str | None = None) -> dict[str, dict[str, Any]]:
    """Predictions table (quote_id, stance|label, optional score, model_version) -> {quote_id: prediction}."""
    from toolkit.fileio import read_table

    df = read_table(path)
    label_col = "stance" if "stance" in df.columns else "label" if "label" in df.columns else None
    if "quote_id" not in df.columns or label_col is None:
        raise InputError(f"{path}: predictions need columns quote_id and stance (or label); got {list(df.columns)}")
    mv_default = default_model_version or Path(path).stem
    out: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(df.to_dict("records"), start=1):
        qid, stance = _clean(row.get("quote_id")), _clean(row.get(label_col))
        if stance is None:
            continue
        mv = _clean(row.get("model_version")) or mv_default
        score = _clean(row.get("score"))
        try:
            out[str(qid)] = prediction(str(stance), str(mv), score)
        except InputError as exc:
            raise InputError(f"{path}: row {i} (quote_id {qid}): {exc}") from exc
    return out


def validate_tasks(tasks: list[dict[str, Any]], where: str = "tasks") -> None:
    """Check tasks against schemas/labelstudio_task.schema.json; the error names the task."""
    schema = json.loads(TASK_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(tasks), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        path = list(err.absolute_path)
        idx = path[0] if path and isinstance(path[0], int) else None
        qid = None
        if idx is not None and isinstance(tasks[idx], dict):
            qid = (tasks[idx].get("data") or {}).get("quote_id")
        loc = f"task #{idx + 1}" if idx is not None else "task list"
        if qid:
            loc += f" (quote_id {qid})"
        field = "/".join(str(p) for p in path[1:]) or "(task)"
        raise InputError(f"{where}: {loc}: {field}: {err.message}")


def quotes_to_tasks(quotes: pd.DataFrame, targets: list[str] | None = None,
                    predictions: dict[str, dict[str, Any]] | None = None, rule: str | None = None,
                    settings: dict[str, Any] | None = None, where: str = "quotes") -> list[dict[str, Any]]:
    """Tasks for every quote × target, optionally with predictions; validated before return."""
    settings = settings or load_settings()
    targets = targets or [settings["default_target"]]
    tasks, seen = [], set()
    for i, quote in enumerate(quotes.to_dict("records"), start=1):
        for target in targets:
            task = quote_to_task(quote, target, where=f"{where}: row {i}")
            key = (task["data"]["quote_id"], target)
            if key in seen:
                raise InputError(f"{where}: row {i}: duplicate quote_id {key[0]}")
            seen.add(key)
            if predictions is not None and task["data"]["quote_id"] in predictions:
                task["predictions"] = [predictions[task["data"]["quote_id"]]]
            elif rule:
                task["predictions"] = [rule_prediction(task["data"]["text"], rule)]
            tasks.append(task)
    validate_tasks(tasks, where=where)
    return tasks


def read_tasks_or_quotes(path: str | Path, **kwargs: Any) -> list[dict[str, Any]]:
    """A task JSON from `qst export` (validated) or a quote table (converted)."""
    from toolkit.fileio import read_table

    path = Path(path)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        if isinstance(data, list) and data and isinstance(data[0], dict) and "data" in data[0]:
            settings = kwargs.get("settings") or load_settings()
            tasks = [complete_task(t, settings["default_target"], where=f"{path}: task #{i + 1}")
                     for i, t in enumerate(data)]
            validate_tasks(tasks, where=str(path))
            return tasks
        return quotes_to_tasks(pd.DataFrame(data if isinstance(data, list) else [data]), where=str(path), **kwargs)
    return quotes_to_tasks(read_table(path), where=str(path), **kwargs)


def complete_task(task: dict[str, Any], default_target: str, where: str = "") -> dict[str, Any]:
    """Fill display fields of a task written by another stage (e.g. `qst predict`), keeping its predictions.

    Tasks from `qst export` pass through unchanged; a task whose data is a bare quote
    (quote_id, text, context, speaker, quote_type, target) is rebuilt with quote_to_task.
    """
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise InputError(f"{where}: not a Label Studio task (needs a data object)")
    data = task["data"]
    if "speaker_display" in data:
        return task
    quote = dict(data)
    quote.setdefault("type", data.get("quote_type"))
    rebuilt = quote_to_task(quote, data.get("target") or default_target, where=where)
    for key in ("predictions", "meta"):
        if task.get(key):
            rebuilt[key] = task[key]
    return rebuilt


def task_key(task: dict[str, Any], default_target: str | None = None) -> tuple[str, str | None] | None:
    """Dedup key of a task on the server: (data.quote_id, data.target)."""
    data = task.get("data") or {}
    qid = data.get("quote_id")
    if not qid:
        return None
    return (str(qid), data.get("target", default_target))


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
            except json.JSONDecodeError:
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
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{where}: not valid JSON ({exc})") from exc
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


def write_annotation_table(df: pd.DataFrame, recon: dict[str, Any], prefix: str | Path) -> list[Path]:
    """Write PREFIX.parquet, PREFIX.jsonl and PREFIX.reconciliation.json atomically."""
    from toolkit.fileio import write_json, write_jsonl, write_parquet

    prefix = Path(prefix)
    paths = [prefix.with_name(prefix.name + ext) for ext in (".parquet", ".jsonl", ".reconciliation.json")]
    write_parquet(paths[0], df)
    records = json.loads(df.to_json(orient="records", force_ascii=False))
    write_jsonl(paths[1], records)
    write_json(paths[2], recon)
    return paths

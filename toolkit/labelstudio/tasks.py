"""Label Studio tasks: quote -> task, pre-annotations (predictions, `--rule`), task validation.

One task per quote and target; `data.quote_id` (with `data.target`) is the stable key that
`push` deduplicates on. Tasks are checked against schemas/labelstudio_task.schema.json.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd

from toolkit import SCHEMAS_DIR
from toolkit.errors import InputError
from toolkit.inputs import read_json_file
from toolkit.labelstudio.config import STANCES, load_settings

TASK_SCHEMA = SCHEMAS_DIR / "labelstudio_task.schema.json"

QUOTE_ID_RE = re.compile(r"^q_[0-9a-f]{16}$")
UNKNOWN_SPEAKER = "(Sprecher unbekannt)"


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


@functools.lru_cache(maxsize=1)
def _fast_validator() -> Callable[[Any], Any]:
    """The task schema compiled to Python by fastjsonschema (~40x faster than jsonschema at 100k tasks).

    fastjsonschema knows drafts 4/6/7, not 2020-12; the task schema uses only keywords that mean
    the same in draft 7 (type, properties, required, enum, const, pattern, items as one schema, ...),
    so it is compiled as draft 7. It only answers valid/invalid: the message of an invalid file
    still comes from jsonschema (Draft 2020-12), so errors read exactly as before.
    """
    import fastjsonschema

    schema = json.loads(TASK_SCHEMA.read_text(encoding="utf-8"))
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return fastjsonschema.compile(schema)


def validate_tasks(tasks: list[dict[str, Any]], where: str = "tasks") -> None:
    """Check tasks against schemas/labelstudio_task.schema.json; the error names the task."""
    import fastjsonschema

    try:
        _fast_validator()(tasks)
        return
    except fastjsonschema.JsonSchemaException:
        pass  # invalid: let jsonschema find and word the first error
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
        data = read_json_file(path, "tasks JSON file")
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

"""Label Studio tasks: quote -> task, pre-annotations (predictions, `--rule`), task validation.

One task per quote and target; `data.quote_id` (with `data.target`) is the stable key that
`push` deduplicates on. Tasks are checked against schemas/labelstudio_task.schema.json.
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import re
from collections.abc import Callable, Iterable
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


#: Label (in the hidden `quote_span` Labels of the config) of the read-only region that
#: highlights the quote inside the context `Text`.
QUOTE_LABEL = "Zitat"
#: model_version of the one prediction every task carries (the highlight). A project shows only
#: predictions of its own model_version, so one constant keeps every task's highlight visible
#: whatever rule or model made the stance suggestion (that one is in data.suggestion_*).
CONTEXT_MODEL_VERSION = "qst-quote-in-context-v1"
NO_SUGGESTION = "kein Vorschlag"


class ArticleIndex:
    """Articles by id, with their sentences computed on first use (only articles with quotes).

    Why: the quote record carries only the quote's own sentence(s) (`context_start`/`_end`);
    the sentence before and after need the article text and the extraction's own sentence
    spans (`toolkit.attribution.extract.article_sentences`), so the widened context starts
    and ends on the same boundaries extraction used.
    """

    def __init__(self, articles: Iterable[dict[str, Any]], where: str = "articles") -> None:
        self.where = where
        self._articles = {str(a["id"]): a for a in articles}
        self._sentences: dict[str, list[tuple[int, int]]] = {}

    def __len__(self) -> int:
        return len(self._articles)

    def text(self, article_id: str) -> str | None:
        article = self._articles.get(article_id)
        return None if article is None else article["text"]

    def sentences(self, article_id: str) -> list[tuple[int, int]]:
        """Sentences of the article that are not boilerplate (marked at ingest)."""
        if article_id not in self._sentences:
            from toolkit.attribution.extract import article_sentences

            article = self._articles[article_id]
            skip = [(b["start"], b["end"]) for b in article.get("boilerplate", [])]
            self._sentences[article_id] = [s for s in article_sentences(article["text"])
                                           if not any(s[0] < e and b < s[1] for b, e in skip)]
        return self._sentences[article_id]


def read_article_index(path: str | Path) -> ArticleIndex:
    """The articles a quote table was extracted from (any input `qst extract` reads)."""
    from toolkit.ingest import read_articles

    return ArticleIndex(read_articles(path), where=str(path))


def widen_context(sents: list[tuple[int, int]], c_start: int, c_end: int) -> tuple[int, int]:
    """The quote's own sentence(s) [c_start, c_end) plus the sentence before and the one after."""
    starts = [s for s, _ in sents]
    k = bisect.bisect_left(starts, c_start)  # first sentence starting at or after the context
    before = [s for s in sents[max(0, k - 3):k] if s[1] <= c_start]
    j = bisect.bisect_left(starts, c_end)
    after = [s for s in sents[j:j + 1] if s[0] >= c_end]
    return (before[-1][0] if before else c_start, after[0][1] if after else c_end)


def _context_of(q: dict[str, Any], articles: ArticleIndex | None, where: str) -> tuple[str, int, int]:
    """(context, quote start, quote end in the context): the widened one when the article is known."""
    quote = str(q["text"])
    start, c_start, c_end = q.get("start"), q.get("context_start"), q.get("context_end")
    if articles is not None and isinstance(start, int):
        text = articles.text(str(q["article_id"]))
        if text is None:
            raise InputError(f"{where}: article {q['article_id']!r} is not in {articles.where}")
        if text[start:start + len(quote)] != quote:
            raise InputError(f"{where}: quote {q['quote_id']} is not at offset {start} of article "
                             f"{q['article_id']!r} in {articles.where} (another version of the article?)")
        lo, hi = (c_start, c_end) if isinstance(c_start, int) and isinstance(c_end, int) else (start, start + len(quote))
        ws, we = widen_context(articles.sentences(str(q["article_id"])), min(lo, start), max(hi, start + len(quote)))
        return text[ws:we], start - ws, start - ws + len(quote)
    context = str(q.get("context") or quote)
    if isinstance(start, int) and isinstance(c_start, int) and context[start - c_start:][:len(quote)] == quote:
        return context, start - c_start, start - c_start + len(quote)
    at = context.find(quote)
    if at < 0:  # a context that does not hold the quote: show the quote alone
        return quote, 0, len(quote)
    return context, at, at + len(quote)


def quote_to_task(quote: dict[str, Any], target: str, where: str = "",
                  articles: ArticleIndex | None = None) -> dict[str, Any]:
    """One Label Studio task for one quote and target; `data.quote_id` is the stable key.

    The first data fields are what a lead scans in the data manager (quote, speaker); the
    context is the quote's sentence(s) plus the sentence before and after when `articles` is
    given, with the quote's offsets in it (`quote_start`/`quote_end`) for the highlight.
    """
    q = {k: _clean(v) for k, v in quote.items()}
    for key in ("quote_id", "article_id", "text"):
        if not q.get(key):
            raise InputError(f"{where}: quote has no {key!r}")
    if not QUOTE_ID_RE.match(str(q["quote_id"])):
        raise InputError(f"{where}: quote_id {q['quote_id']!r} is not of the form q_ + 16 hex digits")
    context, qs, qe = _context_of(q, articles, where)
    data = {
        "text": str(q["text"]),
        "speaker_display": speaker_display(q.get("speaker"), q.get("speaker_mention")),
        "quote_id": str(q["quote_id"]),
        "article_id": str(q["article_id"]),
        "context": context,
        "quote_start": qs,
        "quote_end": qe,
        "speaker": q.get("speaker"),
        "speaker_id": q.get("speaker_id"),
        "speaker_mention": q.get("speaker_mention"),
        "quote_type": q.get("type") or q.get("quote_type") or "direct",
        "target": target,
        "confidence": q.get("confidence"),
    }
    for key in ("article_title", "article_date", "article_url", "article_source"):
        data[key] = None if q.get(key) is None else str(q.get(key))
    return {"data": data}


def highlight_prediction(data: dict[str, Any]) -> dict[str, Any]:
    """The read-only pre-annotated region that marks the quote inside the context `Text`.

    `readonly` on a result item makes Label Studio's region read-only (the editor's
    ReadOnlyRegionMixin reads it from the result); the annotator can neither move nor delete it.
    """
    qs, qe = data.get("quote_start"), data.get("quote_end")
    context = str(data.get("context") or "")
    if not isinstance(qs, int) or not isinstance(qe, int) or not 0 <= qs < qe <= len(context):
        at = context.find(str(data.get("text") or ""))
        qs, qe = (at, at + len(str(data["text"]))) if at >= 0 and data.get("text") else (0, len(context))
    region = {"id": "quote", "from_name": "quote_span", "to_name": "context", "type": "labels",
              "readonly": True, "value": {"start": qs, "end": qe, "text": context[qs:qe], "labels": [QUOTE_LABEL]}}
    return {"model_version": CONTEXT_MODEL_VERSION, "score": data.get("suggestion_score"), "result": [region]}


@functools.lru_cache(maxsize=1)
def _stance_hints() -> dict[str, str | None]:
    return {c["value"]: c.get("hint") for c in load_settings().get("stance_choices", [])}


def _suggestion_display(stance: str, model_version: str | None, score: Any) -> str:
    hints = _stance_hints()
    shown = f"{stance} ({hints[stance]})" if hints.get(stance) else stance
    extra = ", ".join(x for x in (model_version, None if score is None else f"score {float(score):.2f}") if x)
    return f"{shown} – {extra}" if extra else shown


def label_studio_ready(task: dict[str, Any]) -> dict[str, Any]:
    """The task as pushed: a stance prediction becomes a shown, not pre-selected, suggestion.

    Why: Label Studio's Choice hotkey toggles (tags/control/Choice.jsx: onHotKey ->
    toggleSelected), so a pre-selected stance was un-selected by its own hotkey and Submit then
    failed as required. The suggestion moves to data.suggestion_* (shown as text, read back by
    the import as prediction_*); the one prediction left is the quote's highlight. Idempotent.
    """
    data = task["data"]
    for pred in task.get("predictions") or []:
        stance = next((item["value"]["choices"][0] for item in pred.get("result") or []
                       if item.get("from_name") == "stance" and (item.get("value") or {}).get("choices")), None)
        if stance is not None:
            data["suggestion_stance"] = stance
            data["suggestion_model_version"] = pred.get("model_version")
            data["suggestion_score"] = pred.get("score")
            break
    stance = data.get("suggestion_stance")
    for key in ("suggestion_stance", "suggestion_model_version", "suggestion_score"):
        data.setdefault(key, None)
    data["suggestion"] = (_suggestion_display(stance, data["suggestion_model_version"], data["suggestion_score"])
                          if stance else NO_SUGGESTION)
    task["predictions"] = [highlight_prediction(data)]
    return task


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


def _rows(quotes: pd.DataFrame) -> list[dict[str, Any]]:
    """The table's rows as dicts, built column by column.

    Why not `DataFrame.to_dict("records")`: it boxes every cell one by one (about 2 CPU-s of a
    100k-quote push); `Series.tolist()` gives the same Python values (str, float, int, None/NaN)
    per column at once. tests/test_labelstudio_record.py compares the two on mixed tables.
    """
    cols = list(quotes.columns)
    if len(set(cols)) != len(cols):
        return quotes.to_dict("records")
    values = [quotes[c].tolist() if _plain(quotes[c].dtype) else [r[c] for r in quotes[[c]].to_dict("records")]
              for c in cols]
    return [dict(zip(cols, row)) for row in zip(*values)]


def _plain(dtype: Any) -> bool:
    """A dtype whose tolist() gives what to_dict("records") gives: numpy bool/int/float/object, and
    pandas' default str (missing = NaN). Others (nullable "string", Int64, datetimes) go the slow way."""
    if getattr(dtype, "kind", None) in ("b", "i", "u", "f", "O") and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return True
    return isinstance(dtype, pd.StringDtype) and dtype.na_value is not pd.NA


def quotes_to_tasks(quotes: pd.DataFrame, targets: list[str] | None = None,
                    predictions: dict[str, dict[str, Any]] | None = None, rule: str | None = None,
                    settings: dict[str, Any] | None = None, where: str = "quotes",
                    articles: ArticleIndex | None = None) -> list[dict[str, Any]]:
    """Tasks for every quote × target, optionally with suggestions; validated before return."""
    settings = settings or load_settings()
    targets = targets or [settings["default_target"]]
    tasks, seen = [], set()
    for i, quote in enumerate(_rows(quotes), start=1):
        for target in targets:
            task = quote_to_task(quote, target, where=f"{where}: row {i}", articles=articles)
            key = (task["data"]["quote_id"], target)
            if key in seen:
                raise InputError(f"{where}: row {i}: duplicate quote_id {key[0]}")
            seen.add(key)
            if predictions is not None and task["data"]["quote_id"] in predictions:
                task["predictions"] = [predictions[task["data"]["quote_id"]]]
            elif rule:
                task["predictions"] = [rule_prediction(task["data"]["text"], rule)]
            tasks.append(label_studio_ready(task))
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
            tasks = [complete_task(t, settings["default_target"], where=f"{path}: task #{i + 1}",
                                   articles=kwargs.get("articles"))
                     for i, t in enumerate(data)]
            validate_tasks(tasks, where=str(path))
            return tasks
        return quotes_to_tasks(pd.DataFrame(data if isinstance(data, list) else [data]), where=str(path), **kwargs)
    return quotes_to_tasks(read_table(path), where=str(path), **kwargs)


def complete_task(task: dict[str, Any], default_target: str, where: str = "",
                  articles: ArticleIndex | None = None) -> dict[str, Any]:
    """Fill display fields of a task written by another stage (e.g. `qst predict`), keeping its suggestion.

    Tasks from `qst export` pass through (made Label Studio-ready again, which changes nothing);
    a task whose data is a bare quote (quote_id, text, context, speaker, quote_type, target) is
    rebuilt with quote_to_task.
    """
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise InputError(f"{where}: not a Label Studio task (needs a data object)")
    data = task["data"]
    if "speaker_display" in data:
        return label_studio_ready(task)
    quote = dict(data)
    quote.setdefault("type", data.get("quote_type"))
    rebuilt = quote_to_task(quote, data.get("target") or default_target, where=where, articles=articles)
    for key in ("predictions", "meta"):
        if task.get(key):
            rebuilt[key] = task[key]
    return label_studio_ready(rebuilt)


def task_key(task: dict[str, Any], default_target: str | None = None) -> tuple[str, str | None] | None:
    """Dedup key of a task on the server: (data.quote_id, data.target)."""
    data = task.get("data") or {}
    qid = data.get("quote_id")
    if not qid:
        return None
    return (str(qid), data.get("target", default_target))

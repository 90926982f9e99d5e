"""Articles in, attributed quote records out (schemas/quote.schema.json).

The per-article function is pure and deterministic, so a corpus can be split across
processes or a Dask cluster and still give identical records and ids.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from toolkit import SCHEMAS_DIR
from toolkit.attribution.frames.direct import colon_frame
from toolkit.attribution.frames.free_indirect import free_indirect
from toolkit.attribution.quotes import QuoteSpan, detect_quotes
from toolkit.attribution.segment import paragraphs, sentences
from toolkit.attribution.speakers import Discourse, Registry, load_registry, parse_date
from toolkit.attribution.spans import SpanList
from toolkit.errors import InputError

if TYPE_CHECKING:  # jsonschema is imported only to word an error (`validate_record`)
    import jsonschema

#: The learned layer's hook: (text, sentences, [(paragraph index, quote)], boilerplate) -> the same list.
Refine = Callable[[str, SpanList, list[tuple[int, QuoteSpan]], list[tuple[int, int]]], list[tuple[int, QuoteSpan]]]

#: Quote types `qst extract --types` chooses from. The default set is what the rules have always
#: emitted (stance workflow); `free_indirect` (indicative speech without a frame) and `reported`
#: (a speech act without its content) are SpkAtt's further types, opt-in: only a learned model
#: (toolkit.attribution.learned) proposes them.
DEFAULT_TYPES = ("direct", "indirect", "mixed")
OPTIONAL_TYPES = ("free_indirect", "reported")
ALL_TYPES = DEFAULT_TYPES + OPTIONAL_TYPES

CONFIDENCE = {"name": 0.95, "alias": 0.9, "metonymy": 0.8, "role": 0.85, "pronoun": 0.75,
              "continuation": 0.8, "mention": 0.6, "none": 0.3}


def quote_id(article_id: str, start: int, end: int, qtype: str) -> str:
    """Stable id: the same article, offsets and type always give the same id."""
    digest = hashlib.sha1(f"{article_id}\x1f{start}\x1f{end}\x1f{qtype}".encode("utf-8")).hexdigest()
    return f"q_{digest[:16]}"


@lru_cache(maxsize=1)
def quote_validator() -> jsonschema.Draft202012Validator:
    import jsonschema

    schema = json.loads((SCHEMAS_DIR / "quote.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


@lru_cache(maxsize=1)
def _fast_quote_check() -> Callable[[Any], Any]:
    """The quote schema compiled to Python by fastjsonschema, as draft 7: its keywords (type,
    enum, pattern, minimum, minLength, items as one schema, ...) mean the same there as in 2020-12
    (tests/test_extract_validation.py compares the verdicts). It only says valid or not; jsonschema,
    whose import alone cost a tenth of a one-article `qst extract`, words the error of an invalid
    record, so messages read as before."""
    import fastjsonschema

    schema = json.loads((SCHEMAS_DIR / "quote.schema.json").read_text(encoding="utf-8"))
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return fastjsonschema.compile(schema)


def validate_record(record: dict[str, Any]) -> None:
    import fastjsonschema

    try:
        _fast_quote_check()(record)
        return
    except fastjsonschema.JsonSchemaException:
        pass  # invalid (or a case the draft-7 reading refuses): jsonschema decides and words it
    err = next(iter(quote_validator().iter_errors(record)), None)
    if err is not None:
        path = ".".join(str(p) for p in err.absolute_path) or "(record)"
        raise ValueError(f"quote {record.get('quote_id')} of article {record.get('article_id')}: {path}: {err.message}")


def _title_span(article: dict[str, Any], paras: list[tuple[int, int]]) -> list[tuple[int, int]]:
    title = article.get("title")
    if title and paras and article["text"][paras[0][0]:paras[0][1]] == title:
        return [paras[0]]
    return []


_SENTENCE_END = re.compile(r"[^.!?]*(?:[.!?]+|$)")


def _safe_sentences(text: str, paras: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """SoMaJo's sentences; for a paragraph it cannot align (it asserts on some combining marks,
    e.g. "0\u0f81"), a plain split at . ! ? so that extraction never raises on odd Unicode."""
    out: list[tuple[int, int]] = []
    for ps, pe in paras:
        try:
            out.extend(sentences(text, [(ps, pe)]))
        except AssertionError:
            for m in _SENTENCE_END.finditer(text, ps, pe):
                s, e = m.span()
                while s < e and text[s].isspace():
                    s += 1
                while e > s and text[e - 1].isspace():
                    e -= 1
                if e > s:
                    out.append((s, e))
    return out


def article_sentences(text: str) -> list[tuple[int, int]]:
    """The sentence spans extraction uses for `text` (its `context_start`/`context_end` are
    boundaries of these), so a later stage can widen a quote's context by whole sentences."""
    return _safe_sentences(text, paragraphs(text))


def parse_types(value: str | Iterable[str] | None) -> frozenset[str]:
    """The set of quote types a `--types` value names ("direct,reported", "all", "default");
    InputError naming the unknown type otherwise. None gives the default set."""
    if value is None:
        return frozenset(DEFAULT_TYPES)
    items = value.split(",") if isinstance(value, str) else [v for part in value for v in part.split(",")]
    out: set[str] = set()
    for item in (i.strip().lower() for i in items):
        if item in ("all", "default"):
            out.update(ALL_TYPES if item == "all" else DEFAULT_TYPES)
        elif item in ALL_TYPES:
            out.add(item)
        elif item:
            raise InputError(f"--types: unknown quote type {item!r}; choose from {', '.join(ALL_TYPES)}, all, default")
    if not out:
        raise InputError("--types: empty; name at least one quote type")
    return frozenset(out)


def extract_article(article: dict[str, Any], registry: Registry | None = None,
                    refine: Refine | None = None, types: Collection[str] | None = None) -> list[dict[str, Any]]:
    """All quotes of one article, attributed, in text order.

    `refine` is the learned layer's hook (toolkit.attribution.learned): it gets the rules' quotes
    and returns the ones to keep, possibly re-bounded or re-sourced. None gives the rules' output.
    `types` keeps only records of these types (None: DEFAULT_TYPES, all the rules produce; a
    model's free_indirect and reported quotes are opt-in); a dropped quote still counts as
    context for the others' attribution (a continuation keeps its speaker), so the kept records
    do not change.
    """
    registry = registry or load_registry()
    text: str = article["text"]
    paras = paragraphs(text)
    skip = [(b["start"], b["end"]) for b in article.get("boilerplate", [])] + _title_span(article, paras)
    # Sentences and boilerplate are indexed once per article, so that finding a paragraph's
    # sentences or a quote's context is a bisection, not a scan over the whole article.
    sents = SpanList(_safe_sentences(text, paras))
    skip_index = SpanList(sorted(skip))
    spans: list[tuple[int, QuoteSpan]] = []
    for pi, (ps, pe) in enumerate(paras):
        if skip_index.contains((ps, pe)):
            continue
        p_sents = [sents[k] for k in sents.within(ps, pe)]
        # Only boilerplate overlapping the paragraph can overlap its sentences and marks.
        p_skip = [skip_index[k] for k in skip_index.overlapping(ps, pe)]
        for q in detect_quotes(text, (ps, pe), p_sents, p_skip):
            spans.append((pi, q))
    for _pi, q in spans:
        # A quote opening a paragraph after "… sagte:" at the end of the previous one.
        if q.type == "direct" and q.frame.kind == "none":
            k = sents.last_ending_by(q.start)
            if k >= 0 and not text[sents[k][1]:q.start].strip() and not skip_index.overlaps(sents[k]):
                frame = colon_frame(text, sents[k])
                if frame is not None:
                    q.frame = frame
                    q.flags = [f for f in q.flags if f != "no_speaker_frame"]
    spans = _with_free_indirect(text, paras, sents, spans, skip)
    if refine is not None:
        spans = refine(text, sents, spans, skip)
    # The discourse scan (every name, role and pronoun of the article) serves only to resolve
    # speaker mentions: an article whose quotes name none (or that has no quotes) skips it.
    discourse = None
    if any(q.frame.mention is not None for _, q in spans):
        discourse = Discourse(text, registry, parse_date(article.get("date")), [(q.start, q.end) for _, q in spans])
    records: list[dict[str, Any]] = []
    previous = _Previous()
    for pi, q in spans:
        rec = _record(article, text, sents, pi, q, discourse, registry, previous)
        records.append(rec)
        previous.add(q.start, rec)
    wanted = DEFAULT_TYPES if types is None else types
    if refine is not None or types is not None:  # the rules' records are all of DEFAULT_TYPES
        records = [r for r in records if r["type"] in wanted]
    return records


def _with_free_indirect(text: str, paras: list[tuple[int, int]], sents: SpanList,
                        spans: list[tuple[int, QuoteSpan]], skip: list[tuple[int, int]]) -> list[tuple[int, QuoteSpan]]:
    """`spans` with the free indirect quotes added, in text order. A whole reported sentence
    replaces every quote found inside it (a bare quoted fragment, or an earlier such sentence):
    the result of removing, for each free indirect quote in turn, what it contains and then
    appending it, computed with one index instead of a pass over all quotes per added one."""
    free = free_indirect(text, sents, [q for _, q in spans], skip)
    if not free:
        spans.sort(key=lambda item: item[1].start)
        return spans
    free_index = SpanList((q.start, q.end) for q in free)
    kept = [(pi, old) for pi, old in spans if not free_index.contains((old.start, old.end))]
    para_index = SpanList(paras)
    for i, q in enumerate(free):
        if free_index.ordered:
            # Starts and ends never decrease: a later quote holds this one only if it starts here too.
            swallowed = i + 1 < len(free) and free[i + 1].start == q.start
        else:
            swallowed = any(later.start <= q.start and q.end <= later.end for later in free[i + 1:])
        if not swallowed:
            kept.append((max(para_index.first_holding(q.start), 0), q))
    kept.sort(key=lambda item: item[1].start)
    return kept


class _Previous:
    """The records so far, by quote start, as a dict in text order; answers "the latest of them
    whose speaker mention starts at m" (a continuation's source) without a scan over all of them.

    Records come sorted by start, so the dict's key order is start order and a start seen again is
    its last key; per mention start, a stack of starts whose record had that mention, entries that
    a later record of the same start has since replaced being dropped as they surface."""

    def __init__(self) -> None:
        self.by_start: dict[int, dict[str, Any]] = {}
        self._by_mention: dict[int | None, list[int]] = {}

    def add(self, start: int, rec: dict[str, Any]) -> None:
        self.by_start[start] = rec
        self._by_mention.setdefault(rec["speaker_mention_start"], []).append(start)

    def last_with_mention(self, m_start: int | None) -> dict[str, Any] | None:
        stack = self._by_mention.get(m_start, [])
        while stack and self.by_start[stack[-1]]["speaker_mention_start"] != m_start:
            stack.pop()
        return self.by_start[stack[-1]] if stack else None


def _record(article: dict[str, Any], text: str, sents: SpanList, pi: int, q: QuoteSpan,
            discourse: Discourse | None, registry: Registry, previous: _Previous) -> dict[str, Any]:
    speaker = speaker_id = mention = ante = None
    m_start = m_end = a_start = a_end = None
    kind = "unknown"
    method = "none"
    if q.frame.mention is not None and discourse is not None:
        m_start, m_end = q.frame.mention
        resolved = discourse.resolve(m_start, m_end)
        mention = text[m_start:m_end]
        method = resolved.method
        if resolved.entity is not None:
            speaker, speaker_id, kind = resolved.entity.name, resolved.entity.speaker_id, resolved.entity.kind
        if resolved.antecedent is not None:
            a_start, a_end, ante = resolved.antecedent
        if q.frame.kind == "continuation":
            method = "continuation"
            ante, a_start, a_end = mention, m_start, m_end
            # The continuation's own frame is the previous quote's: same mention, same speaker.
            prev = previous.last_with_mention(m_start)
            if prev is not None:
                speaker, speaker_id, kind = prev["speaker"], prev["speaker_id"], prev["speaker_kind"]
                if prev["antecedent"] is not None:
                    ante, a_start, a_end = prev["antecedent"], prev["antecedent_start"], prev["antecedent_end"]
    if kind == "unknown" and speaker is not None and method != "mention":
        kind = "person"
    cue = text[q.frame.cue[0]:q.frame.cue[1]] if q.frame.cue else None
    lo = min(q.start, m_start if m_start is not None else q.start)
    hi = max(q.end, m_end if m_end is not None else q.end)
    ctx = sents.overlapping(lo, hi)
    c_start, c_end = (sents[ctx[0]][0], sents[ctx[-1]][1]) if ctx else (q.start, q.end)
    confidence = CONFIDENCE.get(method, 0.5) if speaker is not None else CONFIDENCE["none"]
    if "unbalanced_quote" in q.flags:
        confidence *= 0.5
    record = {
        "quote_id": quote_id(article["id"], q.start, q.end, q.type),
        "article_id": article["id"],
        "start": q.start,
        "end": q.end,
        "text": text[q.start:q.end],
        "type": q.type,
        "speaker": speaker,
        "speaker_id": speaker_id,
        "speaker_kind": kind,
        "speaker_mention": mention,
        "speaker_mention_start": m_start,
        "speaker_mention_end": m_end,
        "antecedent": ante,
        "antecedent_start": a_start,
        "antecedent_end": a_end,
        "attribution_method": method if speaker is not None else "none",
        "cue": cue,
        "cue_start": q.frame.cue[0] if q.frame.cue else None,
        "cue_end": q.frame.cue[1] if q.frame.cue else None,
        "context": text[c_start:c_end],
        "context_start": c_start,
        "context_end": c_end,
        "paragraph_index": pi,
        "confidence": round(confidence, 3),
        "flags": list(q.flags),
        "article_title": article.get("title"),
        "article_date": article.get("date"),
        "article_url": article.get("url"),
        "article_source": article.get("source"),
    }
    segments = message_segments(text, q.start, q.end, q.frame.cue, q.frame.mention if q.frame.kind != "continuation" else None)
    if segments is not None:
        record["segments"] = segments
    return record


def message_segments(text: str, start: int, end: int, cue: tuple[int, int] | None,
                     mention: tuple[int, int] | None) -> list[list[int]] | None:
    """The message without a frame embedded in it ("Die Saison hat nach Polizeiangaben einen Toten
    gefordert" -> "Die Saison hat" + "einen Toten gefordert"), as SpkAtt splits such messages.

    Only when cue and mention are both strictly inside the span and adjacent (only spaces between),
    so the frame is one block; None when the message is one piece. The record's start/end still
    cover the whole span (``text == article[start:end]``).
    """
    if cue is None or mention is None:
        return None
    (cs, ce), (ms, me) = cue, mention
    lo, hi = min(cs, ms), max(ce, me)
    gap = text[min(ce, me):max(cs, ms)] if ce <= ms or me <= cs else ""
    if gap.strip() or not (start < lo and hi < end):
        return None
    left_end = lo
    while left_end > start and text[left_end - 1].isspace():
        left_end -= 1
    right_start = hi
    while right_start < end and (text[right_start].isspace() or text[right_start] == ","):
        right_start += 1
    if left_end <= start or right_start >= end:
        return None
    return [[start, left_end], [right_start, end]]


def extract_articles(articles: Iterable[dict[str, Any]], registry: Registry | None = None,
                     speakers: set[str] | None = None, refine: Refine | None = None) -> Iterator[dict[str, Any]]:
    """Records for many articles; `speakers` (registry ids) filters the output."""
    registry = registry or load_registry()
    for article in articles:
        for rec in extract_article(article, registry, refine):
            if speakers is None or rec["speaker_id"] in speakers:
                yield rec

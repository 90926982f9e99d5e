"""The GermEval 2023 SpkAtt Task 2 metric (simplified subtrack: Message + Source, top-level events).

Re-implemented from the official scorer (uhh-lt/news-speaker-attribution-2023, eval/classes.py,
`EvaluateSubtrack2`), because the official script only reads its own token-indexed JSON files.
What it does, and so what this does:

1. Each speech event is a set of **token indices** per role (Message, Source; Cue here as an
   extra, unofficial figure). Only events with `is_nested == false` take part.
2. Per document, gold and system events are paired by the Hungarian algorithm
   (`scipy.optimize.linear_sum_assignment`, maximising) over a score matrix whose cells are the
   token-level F1 of the two Message token sets, plus 0.01 when they overlap and have the same
   form (Direct/Indirect/...) and 0.001 when they overlap and have the same medium (STWR): the
   bonuses only break ties. As in the official code, *every* row or column of the smaller side
   is assigned, even to a partner with zero overlap.
3. Each pair (and each unpaired event, against an empty partner) is a *group*. In a group every
   role's tokens are compared exactly: TP = tokens in both, FP = only system, FN = only gold.
4. Per group and role, precision = TP/(TP+FP) and recall = TP/(TP+FN), each left out when its
   denominator is 0 (e.g. no source on either side).
5. The reported scores are **macro averages over groups**: Message P = mean of the groups'
   Message precisions, Message R likewise, Message F1 = 2PR/(P+R). Source the same over the
   Source role. Joint P/R pool the Message and Source values of all groups before averaging.

Deviations, all forced by our data: tokens are recovered from the detokenised text with a regex
(word characters incl. inner `-`/`.`/`,`/apostrophes, or any single other non-space character),
so counts can differ slightly from the corpus tokenisation; system events have no medium (no
STWR bonus) and `mixed` maps to form Indirect; events whose message covers no token are dropped
(the official code would divide by zero on them). Micro figures (token counts summed over all
groups) are reported beside the official macro ones.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

ROLES = ("message", "source")
# The event types the team targets are defined on (issue 2): top-level direct, indirect and
# indirect_free_indirect speech. `reported` acts without content and `free_indirect` speech are
# scored by the official metric only.
TARGET_TYPES = ("direct", "indirect", "indirect_free_indirect")
_TOKEN = re.compile(r"\w+(?:[-.,'’]\w+)*|[^\w\s]")
FORM_OF_GOLD_TYPE = {"direct": "Direct", "indirect": "Indirect", "free_indirect": "FreeIndirect",
                     "indirect_free_indirect": "IndirectFreeIndirect", "reported": "Reported"}
FORM_OF_PRED_TYPE = {"direct": "Direct", "indirect": "Indirect", "mixed": "Indirect", "free_indirect": "FreeIndirect",
                     "reported": "Reported"}
STWR_OF_MEDIUM = {"speech": "Speech", "thought": "Thought", "writing": "Writing", "speech_thought": "ST",
                  "speech_writing": "SW", "thought_writing": "TW", "none": "none"}


@dataclass
class Event:
    """One speech event as token-index lists; `label` is the original type, `ref` points back to it."""

    message: list[int]
    source: list[int] = field(default_factory=list)
    cue: list[int] = field(default_factory=list)
    form: str | None = None
    stwr: str | None = None
    label: str | None = None
    ref: Any = None


class Tokens:
    """Regex tokens of a text with a fast character-span → token-indices lookup."""

    def __init__(self, text: str) -> None:
        matches = list(_TOKEN.finditer(text))  # read by `map`: the learned layer tokenises every article
        self.starts: list[int] = list(map(re.Match.start, matches))
        self.ends: list[int] = list(map(re.Match.end, matches))

    def __len__(self) -> int:
        return len(self.starts)

    def covering(self, segments: Iterable[Sequence[int]]) -> list[int]:
        """Sorted unique indices of tokens sharing at least one character with any segment."""
        out: set[int] = set()
        for seg in segments:
            s, e = int(seg[0]), int(seg[1])
            if e <= s:
                continue
            i = bisect.bisect_right(self.ends, s)  # first token ending after s
            while i < len(self.starts) and self.starts[i] < e:
                out.add(i)
                i += 1
        return sorted(out)


def token_f1(gold: Sequence[int], sys: Sequence[int]) -> float:
    """Token-set F1 of two sorted index lists (the official `compute_overlap`)."""
    if not gold or not sys:
        return 0.0
    both = len(set(gold) & set(sys))
    if both == 0:
        return 0.0
    p, r = both / len(sys), both / len(gold)
    return 2 * p * r / (p + r)


def count_spans(gold: Sequence[int], sys: Sequence[int]) -> tuple[int, int, int]:
    """(TP, FP, FN) token counts, as the official `score_spans`."""
    g, s = set(gold), set(sys)
    return len(g & s), len(s - g), len(g - s)


def assign(sys_events: Sequence[Event], gold_events: Sequence[Event]) -> list[tuple[int, int]]:
    """Official pairing: Hungarian maximisation of message token F1 + form/STWR tie-breakers."""
    if not sys_events or not gold_events:
        return []
    scores = np.zeros((len(gold_events), len(sys_events)))
    for i, gg in enumerate(gold_events):
        for j, gs in enumerate(sys_events):
            ov = token_f1(gg.message, gs.message)
            bonus = 0.0
            if ov > 0.0:
                bonus += 0.01 if gg.form == gs.form else 0.0
                bonus += 0.001 if gg.stwr == gs.stwr else 0.0
            scores[i, j] = ov + bonus
    rows, cols = linear_sum_assignment(scores, maximize=True)
    return [(int(c), int(r)) for r, c in zip(rows, cols)]


def _group_row(doc_id: str, gs: Event | None, gg: Event | None) -> dict[str, Any]:
    row: dict[str, Any] = {"doc_id": doc_id, "sys_ref": None if gs is None else gs.ref,
                           "gold_ref": None if gg is None else gg.ref,
                           "sys_type": None if gs is None else gs.label, "gold_type": None if gg is None else gg.label}
    for role in (*ROLES, "cue"):
        tp, fp, fn = count_spans(getattr(gg, role) if gg else [], getattr(gs, role) if gs else [])
        row[f"{role}_tp"], row[f"{role}_fp"], row[f"{role}_fn"] = tp, fp, fn
        row[f"{role}_p"] = tp / (tp + fp) if tp + fp else None
        row[f"{role}_r"] = tp / (tp + fn) if tp + fn else None
    row["message_overlap"] = token_f1(gg.message if gg else [], gs.message if gs else [])
    row["status"] = "pair" if gs is not None and gg is not None else ("false_alarm" if gg is None else "miss")
    return row


def evaluate_document(doc_id: str, gold_events: Sequence[Event], sys_events: Sequence[Event]) -> list[dict[str, Any]]:
    """One row per group of a document: paired events, then unpaired system, then unpaired gold."""
    gold_events = [g for g in gold_events if g.message]
    sys_events = [s for s in sys_events if s.message]
    pairs = assign(sys_events, gold_events)
    rows = [_group_row(doc_id, sys_events[si], gold_events[gi]) for si, gi in pairs]
    used_s = {si for si, _ in pairs}
    used_g = {gi for _, gi in pairs}
    rows += [_group_row(doc_id, s, None) for j, s in enumerate(sys_events) if j not in used_s]
    rows += [_group_row(doc_id, None, g) for i, g in enumerate(gold_events) if i not in used_g]
    return rows


def _mean(values: Iterable[Any]) -> float:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and v != v)]
    return sum(vals) / len(vals) if vals else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def scores_from_groups(groups: pd.DataFrame) -> dict[str, float]:
    """Official macro figures (and micro ones) from a groups table."""
    out: dict[str, float] = {}
    for role in ROLES:
        p = _mean(groups[f"{role}_p"]) if len(groups) else 0.0
        r = _mean(groups[f"{role}_r"]) if len(groups) else 0.0
        out[f"{role}_p"], out[f"{role}_r"], out[f"{role}_f1"] = p, r, _f1(p, r)
    if len(groups):
        jp = _mean(list(groups["message_p"]) + list(groups["source_p"]))
        jr = _mean(list(groups["message_r"]) + list(groups["source_r"]))
    else:
        jp = jr = 0.0
    out["joint_p"], out["joint_r"], out["joint_f1"] = jp, jr, _f1(jp, jr)
    for role in (*ROLES, "cue"):
        tp, fp, fn = (int(groups[f"{role}_{k}"].sum()) if len(groups) else 0 for k in ("tp", "fp", "fn"))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        out[f"micro_{role}_p"], out[f"micro_{role}_r"], out[f"micro_{role}_f1"] = p, r, _f1(p, r)
    cp, cr = (_mean(groups["cue_p"]), _mean(groups["cue_r"])) if len(groups) else (0.0, 0.0)
    out["cue_p"], out["cue_r"], out["cue_f1"] = cp, cr, _f1(cp, cr)
    return out


def evaluate(docs: Iterable[tuple[str, Sequence[Event], Sequence[Event]]]) -> tuple[dict[str, float], pd.DataFrame]:
    """Score (doc_id, gold events, system events) triples; returns (scores, groups table)."""
    rows: list[dict[str, Any]] = []
    for doc_id, gold, sys in docs:
        rows.extend(evaluate_document(doc_id, gold, sys))
    groups = pd.DataFrame(rows)
    if groups.empty:
        groups = pd.DataFrame(columns=["doc_id", "status", *[f"{r}_{k}" for r in (*ROLES, "cue")
                                                              for k in ("tp", "fp", "fn", "p", "r")]])
    return scores_from_groups(groups), groups


def outcome(group: dict[str, Any]) -> str:
    """What went wrong in one group: miss / false_alarm, message_boundary (partial overlap),
    message_no_overlap (paired with nothing in common), wrong_source, or perfect."""
    if group["status"] != "pair":
        return group["status"]
    if group["message_fp"] + group["message_fn"] > 0:
        return "message_boundary" if group["message_tp"] else "message_no_overlap"
    return "wrong_source" if group["source_fp"] + group["source_fn"] > 0 else "perfect"


def by_type(groups: pd.DataFrame) -> pd.DataFrame:
    """Per gold type: recall-side figures; per system type: precision-side figures (macro over groups)."""
    rows = []
    for t in sorted(set(groups["gold_type"].dropna())):
        g = groups[groups["gold_type"] == t]
        rows.append({"side": "gold", "type": t, "events": len(g), "found": int((g["status"] == "pair").sum()),
                     "message_r": _mean(g["message_r"]), "source_r": _mean(g["source_r"]),
                     "message_p": None, "source_p": None})
    for t in sorted(set(groups["sys_type"].dropna())):
        g = groups[groups["sys_type"] == t]
        rows.append({"side": "system", "type": t, "events": len(g), "found": int((g["status"] == "pair").sum()),
                     "message_r": None, "source_r": None,
                     "message_p": _mean(g["message_p"]), "source_p": _mean(g["source_p"])})
    return pd.DataFrame(rows, columns=["side", "type", "events", "found", "message_p", "message_r",
                                       "source_p", "source_r"])


# --------------------------------------------------------------------------- converters


def gold_events(doc: dict[str, Any], tokens: Tokens) -> list[Event]:
    """Top-level (is_nested == false) events of a SpkAtt Task 2 JSONL document."""
    out = []
    for i, q in enumerate(doc.get("quotes", [])):
        if q.get("is_nested"):
            continue
        segs = q.get("segments") or [[q["start"], q["end"]]]
        out.append(Event(message=tokens.covering(segs), source=tokens.covering(q.get("speaker_segments") or []),
                         cue=tokens.covering(q.get("cue_segments") or []),
                         form=FORM_OF_GOLD_TYPE.get(q.get("type")), stwr=STWR_OF_MEDIUM.get(q.get("medium")),
                         label=q.get("type"), ref=i))
    return out


def record_events(records: Sequence[dict[str, Any]], tokens: Tokens) -> list[Event]:
    """Our quote records as events: message = quote span, source = speaker mention, cue = cue span."""
    out = []
    for i, r in enumerate(records):
        if r.get("is_nested"):
            continue

        def seg(prefix: str) -> list[list[int]]:
            s, e = r.get(f"{prefix}_start"), r.get(f"{prefix}_end")
            return [] if s is None or e is None else [[int(s), int(e)]]

        # A record may split its message around an embedded frame (optional `segments`).
        segs = r.get("segments")
        message = segs if isinstance(segs, (list, tuple)) and len(segs) > 0 else [[int(r["start"]), int(r["end"])]]
        out.append(Event(message=tokens.covering([[int(a), int(b)] for a, b in message]),
                         source=tokens.covering(seg("speaker_mention")), cue=tokens.covering(seg("cue")),
                         form=FORM_OF_PRED_TYPE.get(r.get("type")), stwr=None, label=r.get("type"), ref=i))
    return out


# --------------------------------------------------------------------------- span-overlap metric
#
# The team's own figure (issue 2), beside the official one: events are character sets; a system
# and a gold event match when they share at least half of *each* one's characters (mutual
# overlap >= 0.5), paired one-to-one greedily by descending overlap. Gold = top-level events of
# TARGET_TYPES. A system event that matches a gold event outside that set (nested, reported,
# free_indirect) is neither credited nor counted as a false alarm. Joint: a matched event whose
# source is right too (both without a source, or the two source mentions in mutual overlap >= 0.5).


@dataclass
class CharEvent:
    message: frozenset[int]
    source: frozenset[int]
    label: str | None
    ref: Any
    scored: bool = True


def _chars(segments: Iterable[Sequence[int]]) -> frozenset[int]:
    return frozenset(i for s, e in segments for i in range(int(s), int(e)))


def mutual_overlap(a: frozenset[int], b: frozenset[int]) -> float:
    """Shared characters over the larger of the two sets (>= 0.5 means half of each is shared)."""
    return len(a & b) / max(len(a), len(b)) if a and b else 0.0


def gold_char_events(doc: dict[str, Any]) -> list[CharEvent]:
    """All gold events of a SpkAtt document; only top-level ones of TARGET_TYPES are `scored`."""
    return [CharEvent(_chars(q.get("segments") or [[q["start"], q["end"]]]), _chars(q.get("speaker_segments") or []),
                      q.get("type"), i, scored=not q.get("is_nested") and q.get("type") in TARGET_TYPES)
            for i, q in enumerate(doc.get("quotes", []))]


def record_char_events(records: Sequence[dict[str, Any]]) -> list[CharEvent]:
    out = []
    for i, r in enumerate(records):
        segs = r.get("segments")
        message = segs if isinstance(segs, (list, tuple)) and len(segs) > 0 else [[r["start"], r["end"]]]
        s, e = r.get("speaker_mention_start"), r.get("speaker_mention_end")
        out.append(CharEvent(_chars(message), _chars([] if s is None or e is None else [[s, e]]), r.get("type"), i))
    return out


def overlap_document(doc_id: str, gold: Sequence[CharEvent], sys: Sequence[CharEvent],
                     threshold: float = 0.5) -> list[dict[str, Any]]:
    """Rows with status match / ignored / miss / false_alarm and, for matches, source_ok."""
    cands = sorted((-ov, gi, sj) for gi, g in enumerate(gold) for sj, s in enumerate(sys)
                   if (ov := mutual_overlap(g.message, s.message)) >= threshold)
    used_g: set[int] = set()
    used_s: set[int] = set()
    rows: list[dict[str, Any]] = []
    for neg, gi, sj in cands:
        if gi in used_g or sj in used_s:
            continue
        used_g.add(gi)
        used_s.add(sj)
        g, s = gold[gi], sys[sj]
        source_ok = (not g.source and not s.source) or mutual_overlap(g.source, s.source) >= threshold
        rows.append({"doc_id": doc_id, "status": "match" if g.scored else "ignored", "gold_ref": g.ref,
                     "sys_ref": s.ref, "gold_type": g.label, "sys_type": s.label, "overlap": -neg,
                     "source_ok": source_ok})
    rows += [{"doc_id": doc_id, "status": "miss", "gold_ref": g.ref, "sys_ref": None, "gold_type": g.label,
              "sys_type": None, "overlap": 0.0, "source_ok": False}
             for gi, g in enumerate(gold) if g.scored and gi not in used_g]
    rows += [{"doc_id": doc_id, "status": "false_alarm", "gold_ref": None, "sys_ref": s.ref, "gold_type": None,
              "sys_type": s.label, "overlap": 0.0, "source_ok": False}
             for sj, s in enumerate(sys) if sj not in used_s]
    return rows


def overlap_scores(rows: pd.DataFrame) -> dict[str, float | int]:
    """Micro P/R/F1 of messages and of message + source from `overlap_document` rows."""
    n_match = int((rows["status"] == "match").sum()) if len(rows) else 0
    n_joint = int(((rows["status"] == "match") & rows["source_ok"]).sum()) if len(rows) else 0
    n_gold = n_match + (int((rows["status"] == "miss").sum()) if len(rows) else 0)
    n_sys = n_match + (int((rows["status"] == "false_alarm").sum()) if len(rows) else 0)
    out: dict[str, float | int] = {"gold": n_gold, "system": n_sys, "matched": n_match, "joint_matched": n_joint,
                                   "ignored": int((rows["status"] == "ignored").sum()) if len(rows) else 0}
    for key, tp in (("message", n_match), ("joint", n_joint)):
        p = tp / n_sys if n_sys else 0.0
        r = tp / n_gold if n_gold else 0.0
        out[f"{key}_p"], out[f"{key}_r"], out[f"{key}_f1"] = p, r, _f1(p, r)
    return out

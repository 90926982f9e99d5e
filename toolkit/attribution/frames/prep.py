"""Prepositional and adverbial source frames: the source is a phrase, not the subject of a verb.

"laut X" / "gemäß X", "nach Angaben X" / "Dem Vernehmen nach", "Wie X erklärte, …",
"X zufolge", "Berichte, wonach …", "Demnach …". Their content is the clause around the frame,
up to a "wobei"/"während" that adds the writer's own remark.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from toolkit.attribution.mentions import (article_before_noun, is_nominative_like, np_after_verb, np_at,
                                          np_ending_at)
from toolkit.attribution.spans import (Frame, QuoteSpan, Span, holds, inside, skip_space, span_index, strip_final_punct,
                                      word_before)
from toolkit.lexicon.active import LEX

SOURCE_NOUN_PREP = re.compile(r"(?<![\wÄÖÜäöüß-])(?P<cue>[Ll]aut|[Gg]emäß)(?![\wÄÖÜäöüß])")
WONACH = re.compile(r",\s*(?:(?P<cue>wonach)|(?P<cue2>nach)\s+(?P<pron>denen|dem|der))(?![\wÄÖÜäöüß])")
ZUFOLGE = re.compile(r"(?<![\wÄÖÜäöüß-])zufolge(?![\wÄÖÜäöüß])")
DEMNACH = re.compile(r"(?:Demnach|Demzufolge)(?![\wÄÖÜäöüß])")
DANACH = re.compile(r"Danach(?![\wÄÖÜäöüß])")
WIE_FRAME = re.compile(r"(?<![\wÄÖÜäöüß-])(?P<cue0>[Ww]ie)\s+(?P<body>(?:[^,;:.!?\n]|\.(?=\S)){3,160}?)\s*(?:,|[.!?]\s*$)")
_GEN_START = re.compile(r"\s+(?:des|der|eines|einer|von|vom|seines|seiner|ihres|ihrer|unseres)\s")
_GEN_NAME = re.compile(r"\s+[A-ZÄÖÜ][\wäöüß]+s(?![\wÄÖÜäöüß-])")
# A genitive plural without article: strong adjective in -er, then the noun ("informierter Kreise").
_STRONG_GENITIVE = re.compile(r"\s+(?:[a-zäöü][\wäöüß-]*er\s+){1,2}[A-ZÄÖÜ][\wÄÖÜäöüß-]*(?![\wÄÖÜäöüß-])")
_ADJ_BEFORE = re.compile(r"(?<![\wÄÖÜäöüß-])(?:[a-zäöü][\wäöüß-]*)?(?:ischen|lichen|ellen|igen|ersten|letzten|neuesten|"
                         r"jüngsten)\s+$")
# Where the content of a prepositional or zu-infinitive frame stops before the sentence end: only
# at "wobei"/"während", which add the writer's own remark. Coordinated and subordinate clauses
# ("…, und manche hätten …", "…, als dieser …", "…, wenn …") stay in the reported content, as
# SpkAtt annotates it (cutting at und/als/wenn/weil/aber cost 0.3 message F1 there).
CLAUSE_END = re.compile(r",\s+(?=(?:wobei|während)\s)")


class PrepFrame(NamedTuple):
    """A source phrase: where the frame starts, its cue ("laut", "nach", the wie-clause's verb) and mention."""

    start: int
    cue: Span
    mention: Span


def laut_frames(text: str, s: int, e: int) -> Iterator[PrepFrame]:
    """"laut der Polizei", "Gemäß der Aussage des Ministers": the noun phrase after the preposition.
    (Each finder here first looks for the literal its pattern cannot match without, `holds`: a
    pattern opening with a look-behind is otherwise tried at every position of the sentence.)"""
    if not holds(text, s, e, "aut", "emäß"):
        return
    for m in SOURCE_NOUN_PREP.finditer(text, s, e):
        mention = np_at(text, m.end(), e)
        if mention is not None:
            yield PrepFrame(m.start(), m.span("cue"), mention)


def nach_frames(text: str, s: int, e: int) -> Iterator[PrepFrame]:
    """"nach Angaben der Polizei", "Nach Zeugenaussagen", "nach Meinung Russlands", "nach Einschätzung
    politischer Beobachter": the mention is the noun of saying with its genitive, as the SpkAtt gold
    takes it; the cue is "nach" alone. "Erst nach …", "Zwei Monate nach …" are temporal."""
    if not holds(text, s, e, "ach"):
        return
    for m in LEX.NACH_FRAME.finditer(text, s, e):
        prev_word = word_before(text, max(s, m.start() - 30), m.start())
        if prev_word is not None and prev_word.lower() in LEX.TEMPORAL_BEFORE_NACH:
            continue
        ns, ne = m.span("noun")
        g = _GEN_START.match(text, ne, e)
        gn = _GEN_NAME.match(text, ne, e)
        if gn and not g:
            ne = gn.end()
        ga = _STRONG_GENITIVE.match(text, ne, e)
        if ga and not g and not gn:
            ne = ga.end()
        if g:
            word = text[g.start():g.end()].split()[0]
            np_ = np_at(text, g.end() if word in ("von", "vom") else g.start(), e)
            if np_ is not None:
                ne = max(ne, np_[1])
        yield PrepFrame(m.start(), m.span("cue"), (ns, ne))


def wie_frames(text: str, s: int, e: int) -> Iterator[PrepFrame]:
    """"Wie der Minister am Dienstag erklärte, …" / "…, wie eine Sprecherin mitteilte.": the cue is
    the verb at the end of the wie-clause, the mention its subject."""
    if not holds(text, s, e, "wie", "Wie"):
        return
    for m in WIE_FRAME.finditer(text, s, e):
        fs = m.start()
        initial = text[s:fs].strip() == ""
        trailing = text[s:fs].rstrip().endswith(",") and text[m.end():e].strip(" .!?\n") == ""
        if not (initial and text[m.end() - 1] == "," or trailing):
            continue
        body_s, body_e = m.span("body")
        verb = None
        for v in LEX.SPEECH_VERB.finditer(text, body_s, body_e):
            if len(text[v.end():body_e].split()) <= 1 and v.group()[:1].islower():
                verb = v
        if verb is None:
            continue
        mention = np_after_verb(text, m.end("cue0"), verb.start())
        if mention is None or not is_nominative_like(text, mention) or \
                re.search(r"[,;:]", text[mention[1]:verb.start()]):
            continue
        yield PrepFrame(fs, verb.span(), mention)


#: A run of the characters a NACH_POST match is made of (when `LEX.NACH_POST_IN_RUNS`), the white
#: space between its words, and the "nach" every match ends in.
_RUN = re.compile(r"[\w\s-]+")
_SPACE = re.compile(r"\s+")
_NACH_CUE = re.compile(r"(?<=\s)nach(?![\wÄÖÜäöüß])")


def nach_post_matches(text: str, s: int, e: int) -> Iterator[re.Match[str]]:
    """`LEX.NACH_POST.finditer(text, s, e)`, the same matches, tried only where one can start.

    NACH_POST backtracks through every word it is tried at. Each of its matches is a noun part of
    at most four words (three determiners and the say-noun, or "Dem Vernehmen"), white space and
    "nach"; with say-nouns of letters (`LEX.NACH_POST_IN_RUNS`) all of it is word characters, "-"
    and white space, so it lies in one run of them (`_RUN`) and starts at one of the four words
    before an occurrence of `_NACH_CUE`. So the pattern is matched (`match`, no scan) only there:
    per cue, in text order, at each of those word starts not before the end of the last match. A
    match that starts before a cue and ends at a later one starts among the four words before
    every cue it spans, so the first cue after the leftmost start tries it first."""
    if not holds(text, s, e, "nach"):
        return
    if not LEX.NACH_POST_IN_RUNS:
        yield from LEX.NACH_POST.finditer(text, s, e)
        return
    pos = s
    for run in _RUN.finditer(text, s, e):
        a, b = run.span()
        if text.find("nach", a, b) < 0:
            continue
        starts = [a, *(m.end() for m in _SPACE.finditer(text, a, b))]
        for cue in _NACH_CUE.finditer(text, a, b):
            k = bisect_left(starts, cue.start())
            for x in starts[max(0, k - 4):k]:
                m = LEX.NACH_POST.match(text, x, e) if x >= pos else None
                if m is not None:
                    yield m
                    pos = m.end()


def nach_post_frames(text: str, s: int, e: int, found: list[PrepFrame]) -> Iterator[PrepFrame]:
    """Postposed "nach": "Dem Vernehmen nach", "Medienberichten nach", "eigenen Angaben nach" (not
    inside a mention already found). Tried at every word, it costs a third of detection, so only
    in the runs of words that hold a literal "nach" (`nach_post_matches`)."""
    for m in nach_post_matches(text, s, e):
        if any(fs <= m.start("cue") < mn[1] for fs, _c, mn in found):
            continue
        yield PrepFrame(m.start(), m.span("cue"), m.span("noun"))


def prep_frames(text: str, s: int, e: int) -> list[PrepFrame]:
    """All source phrases of text[s:e], in text order."""
    out = [*laut_frames(text, s, e), *nach_frames(text, s, e), *wie_frames(text, s, e)]
    out.extend(nach_post_frames(text, s, e, out))
    out.sort()
    return out


def subclause_around(text: str, s: int, frame_start: int, frame_end: int, e: int) -> Span | None:
    """"Die Täter, die nach den Ermittlungen für zehn Morde verantwortlich sein dürften, hatten …":
    a frame inside a relative or subordinate clause reports that clause only, up to its closing comma."""
    last = None
    for m in LEX.SUBCLAUSE_START.finditer(text, s, frame_start):
        last = m
    if last is None or "," in text[last.end():frame_start]:
        return None
    word = last.group("w")
    if word in ("der", "die", "das") and article_before_noun(text, last.end("w"), e):
        return None  # an article opening a new clause, not a relative pronoun
    close = text.find(",", frame_end, e)
    end = close if close > 0 else e
    return last.start("w"), end


def _prep_content(text: str, s: int, e: int, frame: PrepFrame) -> Span:
    """The clause a source phrase reports: after an initial frame, or the clause around it."""
    fs, cue, mention = frame
    frame_end = max(mention[1], cue[1])
    if fs == s or text[s:fs].strip() == "":
        c_start = frame_end
        while c_start < e and text[c_start] in " ,":
            c_start += 1
        nxt = CLAUSE_END.search(text, c_start, e)
        return strip_final_punct(text, c_start, nxt.start() if nxt else e)
    c_start = s
    for b in CLAUSE_END.finditer(text, s, fs):
        c_start = b.end()
    nxt = CLAUSE_END.search(text, frame_end, e)
    c_end = nxt.start() if nxt else e
    sub = subclause_around(text, s, fs, frame_end, e)
    if sub is not None:
        c_start, c_end = sub
    if text[frame_end:e].strip(" .!?\n") == "" and text[s:fs].rstrip().endswith(","):
        # A trailing frame (", wie X mitteilte."): the content is the clause before it.
        c_end = len(text[:fs].rstrip().rstrip(",").rstrip())
    return strip_final_punct(text, c_start, c_end)


def prep_quotes(text: str, sent: Span, mark_spans: Sequence[Span], speech_spans: Sequence[Span]) -> Iterator[QuoteSpan]:
    """Indirect quotes framed by a source phrase (`prep_frames`), kind "prep". `speech_spans` are the
    speech-like quote marks (a SpanList from `detect_quotes`, looked up by bisection)."""
    s, e = sent
    speech = span_index(speech_spans)
    for frame in prep_frames(text, s, e):
        if inside(frame.cue, mark_spans):
            continue
        content = _prep_content(text, s, e, frame)
        if content[1] - content[0] < 15:
            continue
        # "„…“, sagte er laut einer Abschrift": the source phrase belongs to a direct quote's frame.
        if any(speech.starts[k] <= content[0] or speech.ends[k] > content[1]
               for k in speech.overlapping(*content)):
            continue
        yield QuoteSpan(content[0], content[1], "indirect", Frame(frame.cue, frame.mention, "prep"))


def demnach_quotes(text: str, sent: Span, previous: Span | None, mark_spans: Sequence[Span]) -> Iterator[QuoteSpan]:
    """"Demnach ist …": the source is the document of the sentence before (not resolved here), the
    rest of the sentence is its content. "Die Studie wurde vorgestellt. Danach bestimmen …": after a
    report noun (lexicon `report_nouns`), "Danach" cites it."""
    s, e = sent
    dm = DEMNACH.match(text, skip_space(text, s, e), e)
    if dm is None and previous is not None and LEX.REPORT_NOUN.search(text, *previous):
        dm = DANACH.match(text, skip_space(text, s, e), e)
    if dm is not None and not inside(dm.span(), mark_spans):
        content = strip_final_punct(text, skip_space(text, dm.end(), e), e)
        if content[1] - content[0] >= 15:
            yield QuoteSpan(content[0], content[1], "indirect", Frame(dm.span(), None, "prep"))


def wonach_quotes(text: str, sent: Span, mark_spans: Sequence[Span]) -> Iterator[QuoteSpan]:
    """"Berichte, wonach …" / "Studien, nach denen …": the noun before the comma is the source."""
    s, e = sent
    for m in WONACH.finditer(text, s, e):
        if inside(m.span(), mark_spans):
            continue
        c_start = skip_space(text, m.end(), e)
        nxt = CLAUSE_END.search(text, c_start, e)
        content = strip_final_punct(text, c_start, nxt.start() if nxt else e)
        if content[1] - content[0] < 15:
            continue
        if m.group("cue") is None:
            cue, mention = m.span("cue2"), m.span("pron")
        else:
            cue, mention = m.span("cue"), np_ending_at(text, s, m.start())
        yield QuoteSpan(content[0], content[1], "indirect", Frame(cue, mention, "prep"))


def zufolge_quotes(text: str, sent: Span, mark_spans: Sequence[Span]) -> Iterator[QuoteSpan]:
    """"Dem Kreml zufolge …" (the rest is the content); mid-clause "Sie stammen Zeitungsberichten
    zufolge aus …" (the whole clause is), with an adjective before the noun ("ersten Angaben zufolge")."""
    s, e = sent
    for m in (ZUFOLGE.finditer(text, s, e) if holds(text, s, e, "zufolge") else ()):
        pre_start = s
        for b in CLAUSE_END.finditer(text, s, m.start()):
            pre_start = b.end()
        mention = np_at(text, pre_start, m.start())
        if mention is not None and not text[mention[1]:m.start()].strip():
            content = strip_final_punct(text, m.end(), e)
        else:
            mention = np_ending_at(text, pre_start, len(text[:m.start()].rstrip()), participle=False)
            if mention is None or inside(m.span(), mark_spans):
                continue
            adj = _ADJ_BEFORE.search(text, pre_start, mention[0])
            if adj is not None:
                mention = (adj.start(), mention[1])
            nxt = CLAUSE_END.search(text, m.end(), e)
            content = strip_final_punct(text, pre_start, nxt.start() if nxt else e)
        if content[1] - content[0] >= 15:
            yield QuoteSpan(content[0], content[1], "indirect", Frame(m.span(), mention, "prep"))

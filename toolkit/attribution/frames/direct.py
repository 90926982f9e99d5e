"""Frames of direct quotes: the verb after the quote ("„…“, sagte Miller"), before it with a colon
("Peskow sagte: „…“", "Bundesinnenminister Schäuble: „…“"), a statement verb earlier in the sentence
("Schüssel würdigte Ligeti als „…“"), the sentence before ("Einer der Helfer sagte:⏎„…“") and
continuations ("„…“, sagte X. „…“"). Short quoted phrases are speech only with a frame of their
own (`fragment_frame`); otherwise they are scare quotes or titles.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from toolkit.attribution.marks import QuoteMark, is_speechlike
from toolkit.attribution.mentions import PRONOUN, colon_subject, frame_subject, is_nominative_like, np_after_verb, np_at
from toolkit.attribution.spans import Frame, QuoteSpan, Span, inside, overlaps, sentence_of, skip_space
from toolkit.lexicon.active import LEX

_ENDS_IN_COLON = re.compile(r":\s*$")
_SENTENCE_STOP = re.compile(r"[.!?](?=\s|$)")


def fragment_frame(text: str, sentences: list[Span], mark: QuoteMark, p_start: int) -> Frame | None:
    """A short quoted phrase is the speaker's words, not a scare quote, when a colon hands it over or
    a reporting verb follows it ("„Wir sind bereit“, sagte er": kind "handover", the caller finds the
    speaker), or when a naming verb earlier in its clause frames it ("bezeichnete den Plan als
    „Wortbruch“", "nannte die Zahlen „aus der Luft gegriffen“")."""
    k = sentence_of(sentences, mark.start)
    sent_start = max(sentences[k][0], p_start) if sentences else p_start
    before = text[sent_start:mark.start]
    if _ENDS_IN_COLON.search(before) or LEX.SPEECH_AFTER.match(text, mark.end):
        return Frame(None, None, "handover")
    verbs = list(LEX.NAMING_VERB.finditer(text, sent_start, mark.start))
    if not verbs:
        return None
    v = verbs[-1]
    between = text[v.end():mark.start]
    if re.search(r"[.;:!?„“”\"«»]", between) or len(between.split()) > 10:
        return None
    if between.split() and between.split()[-1] in LEX.PREP_BEFORE_NAME:
        return None  # "nannte es im „Deutschlandfunk“ …": a name after a preposition, not the words named
    subj = frame_subject(text, sent_start, v.span(), mark.start)
    return Frame(v.span(), subj, "before") if subj is not None else None


def colon_frame(text: str, sentence: Span) -> Frame | None:
    """The frame of a sentence ending in a colon ("Einer der Helfer sagte:"), for the quote after it."""
    ps, pe = sentence
    if not _ENDS_IN_COLON.search(text[ps:pe]):
        return None
    verbs = [v for v in LEX.STATEMENT_VERB.finditer(text, ps, pe) if v.group()[:1].islower()]
    if not verbs:
        return None
    v = verbs[-1]
    return Frame(v.span(), frame_subject(text, ps, v.span(), pe), "before")


def _after_or_colon(text: str, mk: QuoteMark, p_end: int, sent_start: int, mark_spans: list[Span]) -> Frame | None:
    """"„…“, sagte Miller." (the frame runs to the next sentence end outside the quote), else
    "Peskow sagte: „…“" or the verbless "Bundesinnenminister Schäuble: „…“"."""
    after_limit = p_end
    stop = _SENTENCE_STOP.search(text[mk.end:p_end])
    if stop:
        after_limit = mk.end + stop.end()
    after_limit = max(min(after_limit, p_end), mk.end)
    m = LEX.SPEECH_AFTER_QUOTE.match(text[mk.end:after_limit])
    before = text[sent_start:mk.start]
    if m and m.group("verb")[0].islower():
        verb = (mk.end + m.start("verb"), mk.end + m.end("verb"))
        return Frame(verb, np_after_verb(text, verb[1], after_limit), "after")
    if not _ENDS_IN_COLON.search(before):
        return None
    verbs = [v for v in LEX.SPEECH_VERB.finditer(text, sent_start, mk.start) if not inside(v.span(), mark_spans)]
    if verbs:
        v = verbs[-1]
        return Frame(v.span(), frame_subject(text, sent_start, v.span(), mk.start), "before")
    colon = sent_start + before.rstrip().rfind(":")
    np_ = np_at(text, sent_start, colon)
    if np_ is not None and np_[1] == len(text[:colon].rstrip()) and np_[0] == skip_space(text, sent_start, colon) \
            and is_nominative_like(text, np_) and not PRONOUN.fullmatch(text[np_[0]:np_[1]]):
        return Frame(None, np_, "before")
    return None


def _in_sentence(text: str, mk: QuoteMark, sent_start: int, mark_spans: list[Span]) -> Frame | None:
    """A statement verb earlier in the sentence ("Schüssel würdigte Ligeti als „…“"), else the
    subject of a verbless sentence ending in a colon ("Der Ermittler will seine Arbeit einstellen: „…“")."""
    before = text[sent_start:mk.start]
    if before.strip():
        verbs = [v for v in LEX.STATEMENT_VERB.finditer(text, sent_start, mk.start)
                 if not inside(v.span(), mark_spans) and v.group()[:1].islower()]
        if verbs:
            v = verbs[-1]
            subj = frame_subject(text, sent_start, v.span(), mk.start)
            if subj is not None:
                return Frame(v.span(), subj, "before")
    if _ENDS_IN_COLON.search(before):
        subj = colon_subject(text, sent_start, sent_start + before.rstrip().rfind(":"))
        if subj is not None:
            return Frame(None, subj, "before")
    return None


def _continuation(text: str, mk: QuoteMark, prev: QuoteSpan | None, claimed: list[Span]) -> Frame | None:
    """Nothing but the previous quote's own frame lies between them: the same speaker goes on."""
    if prev is None or prev.frame.mention is None:
        return None
    gap = text[prev.end:mk.start]
    prev_sentence_end = re.search(r"[.!?]\s*$", gap)
    if "\n" not in gap.strip() and (prev_sentence_end or not gap.strip()) and \
            not any(p_s > prev.end and p_s < mk.start for p_s, _ in claimed):
        return Frame(None, prev.frame.mention, "continuation")
    return None


def direct_frame(text: str, paragraph: Span, sentences: list[Span], mk: QuoteMark, mark_spans: list[Span],
                 prev: QuoteSpan | None, claimed: list[Span]) -> Frame | None:
    """The first frame that fits, in the order above; None when the quote has none."""
    p_start, p_end = paragraph
    k_start = sentence_of(sentences, mk.start)
    sent_start = sentences[k_start][0] if sentences else p_start
    frame = _after_or_colon(text, mk, p_end, sent_start, mark_spans) or \
        _in_sentence(text, mk, sent_start, mark_spans)
    if frame is None and not text[sent_start:mk.start].strip() and k_start > 0:
        frame = colon_frame(text, sentences[k_start - 1])
    return frame or _continuation(text, mk, prev, claimed)


def direct_quotes(text: str, paragraph: Span, sentences: list[Span], marks: list[QuoteMark], skip: list[Span],
                  claimed: list[Span]) -> Iterator[QuoteSpan]:
    """Direct quotes not inside an indirect or mixed quote (`claimed` is read as quotes are claimed).

    A frameless quote of ten words or more, or one ending like a sentence, is kept with the flag
    `no_speaker_frame`; a shorter one is a title or a name („Cobra II – die wirkliche Geschichte …“)."""
    mark_spans = [(mk.start, mk.end) for mk in marks]
    prev: QuoteSpan | None = None
    for mk in marks:
        if overlaps((mk.start, mk.end), skip):
            continue
        naming = None
        if not is_speechlike(text, mk):
            naming = fragment_frame(text, sentences, mk, paragraph[0])
            if naming is None:
                continue
        if inside((mk.start, mk.end), claimed):
            prev = None
            continue
        q = QuoteSpan(mk.start, mk.end, "direct", Frame(), [] if mk.balanced else ["unbalanced_quote"])
        if naming is not None and naming.kind != "handover":
            q.frame = naming
        else:
            q.frame = direct_frame(text, paragraph, sentences, mk, mark_spans, prev, claimed) or q.frame
        if q.frame.kind == "none":
            inner = text[mk.inner[0]:mk.inner[1]].strip()
            if len(inner.split()) < 10 and not re.search(r"[.!?…]$", inner):
                continue
            q.flags.append("no_speaker_frame")
        yield q
        prev = q

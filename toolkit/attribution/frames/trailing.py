"""Frames after their content: "<clause>, sagte X.", "<clause>, so X.", and anaphoric frames that
point back to the sentence before ("… Dies bestätigte Westerwelle am Abend.")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from toolkit.attribution.marks import QuoteMark
from toolkit.attribution.mentions import is_nominative_like, np_after_verb, np_at
from toolkit.attribution.spans import WORD, Frame, QuoteSpan, Span, first_word, overlaps, skip_space, strip_final_punct
from toolkit.lexicon.active import LEX

_PREP_OPENERS = {"In", "Auf", "Bei", "Mit", "Vor", "Zu", "Aus", "Für", "Über", "Unter", "Nach", "Von", "Im", "Am"}
_DASS_IN_REST = re.compile(r",\s*(?:dass|daß|ob)\s")


class TrailingFrame(NamedTuple):
    """"<content>, <cue> <mention>": the mention is None for "…, heißt es."."""

    content: Span
    cue: Span
    mention: Span | None
    word: str


def _subject_not_clause(text: str, s: int, end: int) -> bool:
    """"Die Politikerin X, kritisierte …" is not "<clause>, kritisierte X": what precedes the comma is
    the verb's own subject (a noun phrase, perhaps with a relative clause) or a subordinate clause."""
    first = first_word(text, s, end)
    if first is not None and first[0] in LEX.SUBORDINATE_OPENERS:
        return True
    i = skip_space(text, s, end)
    w = WORD.match(text, i, end)
    if w and w.group() in _PREP_OPENERS:
        i = w.end()  # a prepositional phrase: "In seiner Rede, die …, mahnte Harper"
    np_ = np_at(text, i, min(end + 1, len(text)), appositions=True)  # the comma closes an apposition
    if np_ is None:
        return False
    rest = text[np_[1]:end].strip()
    if rest in ("", ","):
        return True
    rel = LEX.RELATIVE.match(text, np_[1], end)
    return rel is not None and "," not in text[rel.end():end]


def _so_source(text: str, rest_s: int, rest_e: int) -> Span | None:
    """", so der Sprecher" names a source, ", so Elshorst weiter." without the adverb;
    ", so dass …" / ", so wie …" are conjunctions."""
    rest_s, rest_e = strip_final_punct(text, rest_s, rest_e)
    w = LEX.SO_SOURCE_TAIL.search(text[rest_s:rest_e])
    if w:
        rest_e = rest_s + w.start()
    first = (text[rest_s:rest_e].split() or [""])[0]
    if rest_e > rest_s and (text[rest_s].isupper() or first in {"der", "die", "das", "ein", "eine"}):
        return rest_s, rest_e
    return None


def trailing_frame(text: str, s: int, e: int) -> TrailingFrame | None:
    """"Die Lage ist ernst, sagte Miller." · "…, so Peskow." · "…, heißt es." (cue `clause_verbs`)."""
    m = LEX.TRAILING_FRAME.search(text, s, e)
    if not m:
        return None
    content_end = m.start()
    if content_end - s < 15 or text[content_end - 1] in "“”\"»«’":
        return None
    if _subject_not_clause(text, s, content_end):
        return None
    cue = m.span("cue")
    rest_s, rest_e = m.span("rest")
    if _DASS_IN_REST.search(text[rest_s:rest_e]):
        return None  # "…, bekräftigte gegenüber Medien, dass …": the dass-clause is the content
    if m.group("cue") == "so":
        mention = _so_source(text, rest_s, rest_e)
        if mention is None:
            return None
    else:
        mention = np_after_verb(text, cue[1], e)
        if mention is None and not m.group("cue").endswith(" es"):
            return None
    content = strip_final_punct(text, s, content_end)
    return TrailingFrame(content, cue, mention, m.group("cue"))


def trailing_quotes(text: str, sent: Span, speech_marks: list[QuoteMark]) -> Iterator[QuoteSpan]:
    """The indirect quote of a trailing frame, unless a direct quote ends where its content ends."""
    tf = trailing_frame(text, *sent)
    if tf and not overlaps(tf.content, [(mk.start, mk.end) for mk in speech_marks if mk.end >= tf.content[1] - 1]):
        yield QuoteSpan(tf.content[0], tf.content[1], "indirect", Frame(tf.cue, tf.mention, "trailing"))


def anaphoric_quotes(text: str, sentences: list[Span], marks: list[QuoteMark],
                     claimed: list[Span]) -> Iterator[QuoteSpan]:
    """"<sentence>. Dies bestätigte Westerwelle am Abend.": the frame points back to the sentence
    before, when neither sentence holds a quote yet (`claimed` is read as quotes are claimed)."""
    for k in range(1, len(sentences)):
        s, e = sentences[k]
        m = LEX.ANAPHORIC_FRAME.match(text, s, e)
        if m is None or overlaps(sentences[k - 1], claimed) or overlaps((s, e), claimed):
            continue
        mention = np_after_verb(text, m.end("cue"), e)
        if mention is None or not is_nominative_like(text, mention):
            continue
        ps, pe = sentences[k - 1]
        if overlaps((ps, pe), [(mk.start, mk.end) for mk in marks]):
            continue
        content = strip_final_punct(text, ps, pe)
        if content[1] - content[0] >= 20:
            yield QuoteSpan(content[0], content[1], "indirect", Frame(m.span("cue"), mention, "anaphoric"))

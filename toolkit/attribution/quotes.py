"""Direct, indirect and mixed quotes in German news text, with their cues and local speaker mentions.

Works on one paragraph at a time over the normalised article text, so every span is a true
offset into it. `detect_quotes` is a short pipeline over the finders of toolkit.attribution.frames
(one per construction: source phrases, trailing frames, reporting verbs, direct quotes, anaphoric
frames); the first quote to claim a span keeps it, and an indirect quote that holds quoted
fragments is a mixed quote. Free indirect speech (`free_indirect`) needs the whole article's
quotes and runs after this, in toolkit.attribution.extract.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from toolkit.attribution.frames.direct import colon_frame, direct_quotes, fragment_frame
from toolkit.attribution.frames.free_indirect import free_indirect
from toolkit.attribution.frames.prep import demnach_quotes, prep_quotes, wonach_quotes, zufolge_quotes
from toolkit.attribution.frames.trailing import anaphoric_quotes, trailing_quotes
from toolkit.attribution.frames.verb import verb_quotes
from toolkit.attribution.marks import QuoteMark, find_quote_marks, is_speechlike
from toolkit.attribution.spans import Claimed, Frame, QuoteSpan, Span, SpanList, overlaps
from toolkit.lexicon.active import LEX
from toolkit.lexicon.compile import GATE_FRAME_WORDS, NOT_CASE_SAFE

__all__ = ["Frame", "QuoteMark", "QuoteSpan", "Span", "colon_frame", "detect_quotes", "find_quote_marks",
           "fragment_frame", "free_indirect", "is_speechlike", "may_hold_speech"]

#: The fixed words of the per-sentence frames, outside the lexicon: laut/gemäß (prep.SOURCE_NOUN_PREP),
#: nach (prep.NACH_FRAME, NACH_POST, WONACH, Demnach, Danach), zufolge (ZUFOLGE, Demzufolge) and
#: ", so" (lexicon.TRAILING_FRAME, also after "das"/"dies").
_FRAME_WORDS = re.compile(r"[Ll]aut|[Gg]emäß|[Nn]ach|zufolge|,\s*(?:(?:das|dies)\s+)?so")


_NOT_GATE_SAFE = NOT_CASE_SAFE  # the characters the lower-cased scan is exact on (toolkit.lexicon.compile)
_GATE_FRAME_WORDS = re.compile(GATE_FRAME_WORDS)


def may_hold_speech(text: str, sent: Span) -> bool:
    """Whether any per-sentence finder of `detect_quotes` can fire on text[sent]: each needs one of
    the frame words above or a cue word of the lexicon (`LEX.CUE_WORD`, built from the same lists
    the finders use, so it follows `--lexicon`). Most sentences of news prose hold neither (63 % of
    SpkAtt's), and for them one quick scan replaces six finders. A necessary condition only, never
    a decision: tests/test_quotes.py checks that no finder fires on a sentence it turns away.

    The scans run over the lower-cased sentence (no case folding in the engine): the frame words
    (`GATE_FRAME_WORDS`), then the cue words, `LEX.SPEECH_GATE`, over " " + the lower-cased
    sentence (the space stands for the start the word-start look-behind saw); each pattern opens
    with a literal or a character class, so the engine skips to the places it can match. They find everything the exact scans find (and some upper-case
    frame words more), as long as the sentence holds only `CASE_SAFE` characters; a sentence with
    another one gets the exact scans (`_exact_gate`)."""
    s, e = sent
    if _NOT_GATE_SAFE.search(text, s, e) is not None:
        return _exact_gate(text, sent)
    low = text[s:e].lower()
    return _GATE_FRAME_WORDS.search(low) is not None or LEX.SPEECH_GATE.search(" " + low) is not None


def _exact_gate(text: str, sent: Span) -> bool:
    """The gate's condition, stated directly: a frame word or a cue word (IGNORECASE) in text[sent]."""
    s, e = sent
    return _FRAME_WORDS.search(text, s, e) is not None or LEX.CUE_WORD.search(text, s, e) is not None


class _Claims:
    """The quotes of a paragraph so far; a candidate overlapping one of them is dropped. The claimed
    spans and the marks are indexes (`Claimed`, `SpanList`), so a paragraph of thousands of quotes
    does not cost a scan over all of them for each candidate."""

    def __init__(self, mark_spans: SpanList) -> None:
        self.mark_spans = mark_spans
        self.found: list[QuoteSpan] = []
        self.spans = Claimed()

    def claim(self, q: QuoteSpan) -> None:
        if q.end <= q.start or overlaps((q.start, q.end), self.spans):
            return
        inner = [self.mark_spans[k] for k in self.mark_spans.within(q.start, q.end)]
        if inner and q.type == "indirect":
            q.type = "mixed"
            q.fragments = inner
        self.found.append(q)
        self.spans.add((q.start, q.end))


def detect_quotes(text: str, paragraph: Span, sentences: Sequence[Span], skip: Sequence[Span]) -> list[QuoteSpan]:
    """All quotes of one paragraph. `sentences` are those inside it; `skip` marks boilerplate."""
    marks = find_quote_marks(text, *paragraph)
    # Indexed once per paragraph: the finders look marks, sentences, boilerplate and claimed quotes
    # up by bisection, not by a scan over all of them for each sentence or quote.
    mark_spans = SpanList((mk.start, mk.end) for mk in marks)
    speech_spans = SpanList((mk.start, mk.end) for mk in marks if is_speechlike(text, mk))
    sentences, skip = SpanList(sentences), SpanList(skip)
    claims = _Claims(mark_spans)
    for k, sent in enumerate(sentences):
        if overlaps(sent, skip) or not may_hold_speech(text, sent):
            continue
        previous = sentences[k - 1] if k > 0 else None
        for finder in (prep_quotes(text, sent, mark_spans, speech_spans),
                       demnach_quotes(text, sent, previous, mark_spans),
                       wonach_quotes(text, sent, mark_spans),
                       zufolge_quotes(text, sent, mark_spans),
                       trailing_quotes(text, sent, speech_spans),
                       verb_quotes(text, sent, mark_spans, claims.spans)):
            for q in finder:
                claims.claim(q)
    for finder in (direct_quotes(text, paragraph, sentences, marks, skip, claims.spans),
                   anaphoric_quotes(text, sentences, mark_spans, claims.spans)):
        for q in finder:
            claims.claim(q)
    claims.found.sort(key=lambda q: q.start)
    return claims.found

"""Direct, indirect and mixed quotes in German news text, with their cues and local speaker mentions.

Works on one paragraph at a time over the normalised article text, so every span is a true
offset into it. `detect_quotes` is a short pipeline over the finders of toolkit.attribution.frames
(one per construction: source phrases, trailing frames, reporting verbs, direct quotes, anaphoric
frames); the first quote to claim a span keeps it, and an indirect quote that holds quoted
fragments is a mixed quote. Free indirect speech (`free_indirect`) needs the whole article's
quotes and runs after this, in toolkit.attribution.extract.
"""

from __future__ import annotations

from toolkit.attribution.frames.direct import colon_frame, direct_quotes, fragment_frame
from toolkit.attribution.frames.free_indirect import free_indirect
from toolkit.attribution.frames.prep import demnach_quotes, prep_quotes, wonach_quotes, zufolge_quotes
from toolkit.attribution.frames.trailing import anaphoric_quotes, trailing_quotes
from toolkit.attribution.frames.verb import verb_quotes
from toolkit.attribution.marks import QuoteMark, find_quote_marks, is_speechlike
from toolkit.attribution.spans import Frame, QuoteSpan, Span, overlaps

__all__ = ["Frame", "QuoteMark", "QuoteSpan", "Span", "colon_frame", "detect_quotes", "find_quote_marks",
           "fragment_frame", "free_indirect", "is_speechlike"]


class _Claims:
    """The quotes of a paragraph so far; a candidate overlapping one of them is dropped."""

    def __init__(self, marks: list[QuoteMark]) -> None:
        self.marks = marks
        self.found: list[QuoteSpan] = []
        self.spans: list[Span] = []

    def claim(self, q: QuoteSpan) -> None:
        if q.end <= q.start or overlaps((q.start, q.end), self.spans):
            return
        inner = [(mk.start, mk.end) for mk in self.marks if q.start <= mk.start and mk.end <= q.end]
        if inner and q.type == "indirect":
            q.type = "mixed"
            q.fragments = inner
        self.found.append(q)
        self.spans.append((q.start, q.end))


def detect_quotes(text: str, paragraph: Span, sentences: list[Span], skip: list[Span]) -> list[QuoteSpan]:
    """All quotes of one paragraph. `sentences` are those inside it; `skip` marks boilerplate."""
    marks = find_quote_marks(text, *paragraph)
    claims = _Claims(marks)
    speech_marks = [mk for mk in marks if is_speechlike(text, mk)]
    mark_spans = [(mk.start, mk.end) for mk in marks]
    for k, sent in enumerate(sentences):
        if overlaps(sent, skip):
            continue
        previous = sentences[k - 1] if k > 0 else None
        for finder in (prep_quotes(text, sent, mark_spans, speech_marks),
                       demnach_quotes(text, sent, previous, mark_spans),
                       wonach_quotes(text, sent, mark_spans),
                       zufolge_quotes(text, sent, mark_spans),
                       trailing_quotes(text, sent, speech_marks),
                       verb_quotes(text, sent, marks, mark_spans, claims.spans)):
            for q in finder:
                claims.claim(q)
    for finder in (direct_quotes(text, paragraph, sentences, marks, skip, claims.spans),
                   anaphoric_quotes(text, sentences, marks, claims.spans)):
        for q in finder:
            claims.claim(q)
    claims.found.sort(key=lambda q: q.start)
    return claims.found

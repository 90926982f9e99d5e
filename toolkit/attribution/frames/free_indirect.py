"""Free indirect speech: Konjunktiv sentences without a cue of their own that report someone's speech.

"Miller sagte, die Lage sei ernst. Es gebe keine Pläne." — the second sentence is still Miller's
(a free indirect continuation): its mention is the frame it continues, its cue None. A chain of
such sentences continues the same frame (one quote per paragraph, as SpkAtt annotates it);
Konjunktiv II and hearsay modals (lexicon `konjunktiv_ii`) count only inside such a chain. A
Konjunktiv I sentence (`konjunktiv_i`) after a sentence without a quote ("Das Institut sieht keine
Gefahr. Nur Halter von Geflügel seien gefährdet.") takes the subject of that sentence's statement
verb as its mention, else the latest quote's mention within three sentences, or none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from toolkit.attribution.frames.verb import speech_verbs
from toolkit.attribution.marks import QuoteMark, find_quote_marks
from toolkit.attribution.mentions import frame_subject
from toolkit.attribution.spans import WORD, Frame, QuoteSpan, Span, SpanList, inside, overlaps, strip_final_punct
from toolkit.lexicon.active import LEX

_DASS_AFTER_FRAME = re.compile(r",\s+(?P<conj>dass|daß)\s")
_ICH = re.compile(r"(?<![\wÄÖÜäöüß-])[Ii]ch(?![\wÄÖÜäöüß-])")
_HEARSAY_PERFECT = re.compile(r"(?<![\wÄÖÜäöüß-])(?:haben|sein|worden)(?=\s*[.!?,;]|\s*$)")


@dataclass
class _Chain:
    """What the sentences so far leave for the next: the quote a chain continues, the sentence
    before, and the latest quote mention with its sentence number."""

    out: list[QuoteSpan] = field(default_factory=list)
    prev: QuoteSpan | None = None
    last: Span | None = None
    recent: tuple[Span, int] | None = None


def _end(q: QuoteSpan) -> int:
    return q.end


def _first_person(text: str, span: Span) -> bool:
    """"Ich lehne sie ab": with "ich" next to it, a form in -e is indicative, not Konjunktiv I."""
    before = text[max(0, span[0] - 40):span[0]].split()
    after = text[span[1]:span[1] + 20].split()
    return bool(before and _ICH.fullmatch(before[-1]) or after and _ICH.fullmatch(after[0].strip(",.;:!?")))


def _fragment_only(s: int, e: int, text: str, covering: list[QuoteSpan]) -> bool:
    """"Die Lage sei „äußerst ernst“.": the sentence's only quotes are frameless fragments inside it,
    so the Konjunktiv sentence as a whole is one mixed quote, not a direct one."""
    return bool(covering) and all(
        q.type == "direct" and q.frame.kind in ("none", "continuation") and s < q.start and q.end <= e
        and len(text[s:q.start].split()) >= 2 for q in covering)


def _reported(text: str, k: int, sent: Span, content: Span, mark_spans: list[Span],
              st: _Chain) -> tuple[bool, Span | None]:
    """Whether the sentence is reported speech, and its mention."""
    s, e = sent
    strong = next((m for m in LEX.KONJUNKTIV_I.finditer(text, s, e)
                   if not inside(m.span(), mark_spans) and not _first_person(text, m.span())), None)
    weak = next((m for m in LEX.KONJUNKTIV.finditer(text, s, e) if not inside(m.span(), mark_spans)
                 and m.group() not in ("wollten", "sollten")), None)
    if strong is None and weak is None:
        return False, None  # no Konjunktiv: not reported, whatever follows (checked first: it is cheaper)
    # A sentence with a reporting verb of its own has its own frame (and maybe another speaker).
    # (`speech_verbs`: SPEECH_VERB's matches, found on the lower-cased sentence when that is exact.)
    if any(not inside(v.span(), mark_spans) for v in speech_verbs(text, s, e)) or \
            content[1] - content[0] < 15 or text[content[1]:content[1] + 1] == "?":
        return False, None
    if st.prev is not None and (strong or weak):
        return True, st.prev.frame.mention
    if strong is None and weak is not None and weak.group() in ("soll", "sollen") and \
            _HEARSAY_PERFECT.search(text, weak.end(), e) and st.recent is not None and st.recent[1] >= k - 2:
        # "Er soll … verholfen haben." right after a sourced report: hearsay from that source.
        return True, st.recent[0]
    if strong is None:
        return False, None
    mention = None
    if st.last is not None:
        v = next((m for m in LEX.STATEMENT_VERB.finditer(text, *st.last)), None)
        if v is not None:
            mention = frame_subject(text, st.last[0], v.span(), st.last[1])
    if mention is None and st.recent is not None and st.recent[1] >= k - 3:
        # No statement just before: the speaker of the latest quote a few sentences back.
        mention = st.recent[0]
    return True, mention


def _dass_after_unlisted(text: str, sent: Span, content: Span, mark_spans: list[Span]) -> QuoteSpan | None:
    """"Der Arzt hat sich zuversichtlich gezeigt, dass er spielen könne": the clause after an unlisted
    verb of saying is the content, the word before the comma the cue, its subject the mention."""
    dm = _DASS_AFTER_FRAME.search(text, content[0], content[1])
    if dm is None or len(text[content[0]:dm.start()].split()) < 3:
        return None
    s, e = sent
    verb = list(WORD.finditer(text, content[0], dm.start()))[-1].span()
    subj = frame_subject(text, s, verb, e)
    c = strip_final_punct(text, dm.start("conj"), content[1])
    inner = [sp for sp in mark_spans if c[0] <= sp[0] and sp[1] <= c[1]]
    return QuoteSpan(c[0], c[1], "mixed" if inner else "indirect", Frame(verb, subj, "before"), [], inner)


def _add(text: str, k: int, sent: Span, content: Span, mention: Span | None, marks: list[QuoteMark],
         covering: list[QuoteSpan], st: _Chain) -> None:
    """A new quote, or the chain's quote extended: reported sentences in one paragraph are one quote."""
    mark_spans = [(mk.start, mk.end) for mk in marks]
    inner = [sp for sp in mark_spans if content[0] <= sp[0] and sp[1] <= content[1]]
    flags = ["unbalanced_quote"] if any(not mk.balanced for mk in marks) else []
    prev = st.prev
    if prev is not None and st.out and prev is st.out[-1] and not covering and \
            prev.frame.mention == mention and not text[prev.end:content[0]].count("\n"):
        prev.end = content[1]
        prev.fragments += inner
        prev.flags = sorted(set(prev.flags) | set(flags))
        if inner:
            prev.type = "mixed"
        st.last = sent
        return
    q = QuoteSpan(content[0], content[1], "mixed" if inner else "indirect",
                  Frame(None, mention, "continuation"), flags, inner)
    st.out.append(q)
    if mention is not None:
        st.recent = (mention, k)
    st.prev, st.last = q, sent


def has_konjunktiv(text: str, s: int, e: int) -> bool:
    """Whether `LEX.KONJUNKTIV_I` or `LEX.KONJUNKTIV` matches in text[s:e] (searched with pos s).

    Both open with the look-behind of a word start, which the engine must try at every position;
    `LEX.KONJUNKTIV_ANY` consumes that character instead (a class of non-word characters, which
    the engine skips to in one loop) and holds both lists, so one search from s - 1 answers: a
    match at x >= s of either pattern is a match of it at x - 1, the look-behind having seen
    text[x - 1] too. At the start of the text there is no character to consume: the two plain
    searches then."""
    if s == 0:
        return LEX.KONJUNKTIV_I.search(text, 0, e) is not None or LEX.KONJUNKTIV.search(text, 0, e) is not None
    return LEX.KONJUNKTIV_ANY.search(text, s - 1, e) is not None


def _not_reported(st: _Chain, covering: list[QuoteSpan], sent: Span) -> None:
    """A sentence that is not reported speech: the chain continues from its latest quote, if any."""
    st.prev, st.last = (max(covering, key=_end) if covering else None), sent


def _sentence(text: str, k: int, sent: Span, covering: list[QuoteSpan], st: _Chain) -> None:
    s, e = sent
    if not has_konjunktiv(text, s, e):
        # `_reported` would find no Konjunktiv (its first test) and say "not reported": decided
        # here without the quote marks and content bounds it needs otherwise (most sentences).
        _not_reported(st, covering, sent)
        return
    marks = find_quote_marks(text, s, e)
    mark_spans = [(mk.start, mk.end) for mk in marks]
    content = (s, e) if text[e - 1:e] in ".!?" else strip_final_punct(text, s, e)
    ok, mention = _reported(text, k, sent, content, mark_spans, st)
    if not ok:
        _not_reported(st, covering, sent)
        return
    if covering:
        # The fragment is replaced by the whole sentence, which must contain it entirely.
        content = (min(content[0], *(q.start for q in covering)), max(content[1], *(q.end for q in covering)))
        if mention is None:
            mention = covering[0].frame.mention
    dass = None if covering else _dass_after_unlisted(text, sent, content, mark_spans)
    if dass is not None:
        st.out.append(dass)
        st.prev, st.last = None, sent
        return
    _add(text, k, sent, content, mention, marks, covering, st)


def free_indirect(text: str, sentences: list[Span], quotes: list[QuoteSpan], skip: list[Span]) -> list[QuoteSpan]:
    """Free indirect quotes of an article, given the quotes `detect_quotes` found in it."""
    st = _Chain()
    # Indexed once: each sentence's quotes and boilerplate by bisection, not by a scan over all.
    quote_spans = SpanList((q.start, q.end) for q in quotes)
    skip = SpanList(skip)
    for k, (s, e) in enumerate(sentences):
        if overlaps((s, e), skip):
            st.prev, st.last = None, None
            continue
        covering = [quotes[i] for i in quote_spans.overlapping(s, e)]
        with_mention = [q for q in covering if q.frame.mention is not None]
        if with_mention:
            st.recent = (max(with_mention, key=_end).frame.mention, k)
        if covering and not _fragment_only(s, e, text, covering):
            st.prev, st.last = max(covering, key=_end), (s, e)
            continue
        _sentence(text, k, (s, e), covering, st)
    return st.out

"""Frames with a reporting verb before its content: a dass-clause ("X sagte, dass …"), a clause
without dass ("sagte er, Russland habe …"), a zu-infinitive ("drohte Putin, … auszustatten") and
nouns of saying with their content ("der Verdacht, er sei …").

The verbs are lexicon lists (`speech_verbs`, `clause_verbs`, `zu_verbs`, `speech_nouns`); a clause
without dass needs Konjunktiv I (`konjunktiv_i`) unless the comma follows the verb directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from toolkit.attribution.mentions import article_before_noun, frame_subject, np_at
from toolkit.attribution.spans import Frame, QuoteSpan, Span, first_word, inside, skip_space, span_index, strip_final_punct
from toolkit.attribution.frames.prep import CLAUSE_END
from toolkit.lexicon.active import LEX
from toolkit.lexicon.compile import AFTER_NON_WORD, NOT_CASE_SAFE

DASS = re.compile(r"(?<![\wÄÖÜäöüß])(?:dass|daß|ob)(?![\wÄÖÜäöüß])")
_DASS_TAIL = re.compile(r",\s*(?:darüber|darauf|davon|dafür|damit|daran|dazu)?\s*$")
_UNTIL_COMMA = re.compile(r"[^,.;:!?„“\"»«]{1,60}?,\s*")
_ZU_INFINITIVE = re.compile(r"(?<![\wäöü])zu\s+[\wäöü]+n\b|\w+zu\w+en\b")
_WERDEN = re.compile(r"(?<![\wÄÖÜäöüß-])(?:wurde|wurden|wird|werden|worden)(?![\wÄÖÜäöüß])")
_VON = re.compile(r"(?<![\wÄÖÜäöüß-])(?:von|vom)\s+")
_ARTICLES = ("die", "der", "das", "den", "dem")
_NON_WORD = re.compile(AFTER_NON_WORD)


def speech_verbs(text: str, s: int, e: int) -> list[re.Match[str]]:
    """`LEX.SPEECH_VERB.finditer(text, s, e)`, the same matches, found on the lower-cased text.

    SPEECH_VERB is case-insensitive, and the engine folds every character it compares; on text of
    `CASE_SAFE` characters (the one before `s` too, which the look-behind sees) the lower-cased
    pattern finds the same matches in the lower-cased text at a third of the cost. Its word-start
    look-behind is a consumed character there (`SPEECH_VERB_LOWER_AFTER`, scanned over the
    character before `s`, or a space standing for the start of the text), which the engine skips
    to. Each match is then matched again with SPEECH_VERB at its start, so the rules get its own
    match objects; `_plain_scan_needed` says when that shortcut could differ (never on the
    bundled lists), and the plain scan decides then."""
    if LEX.SPEECH_VERB_LOWER_AFTER is None or NOT_CASE_SAFE.search(text, max(0, s - 1), e) is not None:
        return list(LEX.SPEECH_VERB.finditer(text, s, e))
    low = text[s - 1:e].lower() if s > 0 else " " + text[:e].lower()
    out = []
    for m in LEX.SPEECH_VERB_LOWER_AFTER.finditer(low):
        exact = LEX.SPEECH_VERB.match(text, s + m.start(), e)
        if _plain_scan_needed(text, exact, s - 1 + m.end()):
            return list(LEX.SPEECH_VERB.finditer(text, s, e))
        out.append(exact)  # type: ignore[arg-type]
    return out


def _plain_scan_needed(text: str, exact: re.Match[str] | None, end: int) -> bool:
    """Whether a match found with the word start consumed may not be the plain scan's: when the
    plain pattern does not match there to the same end, or when its match is empty or ends in a
    character the look-behind accepts before a word (then the plain scan could find another match
    right at its end, where the consuming scan needs one character more)."""
    return exact is None or exact.end() != end or exact.end() == exact.start() or \
        _NON_WORD.match(text, exact.end() - 1) is not None


def frame_verbs(text: str, s: int, e: int) -> list[re.Match[str]]:
    """Reporting verbs, verbs that take a zu-infinitive ("beschloss, … zu reduzieren") and nouns of
    saying right before a comma ("die Forderung, … zu …"), in text order. ZU_VERB and SPEECH_NOUN
    run only where one search of both (`ZU_VERB_OR_NOUN_AFTER`, the word start consumed: from
    s - 1) finds one of them, which most sentences do not hold."""
    seen: dict[int, re.Match[str]] = {m.start(): m for m in speech_verbs(text, s, e)}
    if s == 0 or LEX.ZU_VERB_OR_NOUN_AFTER.search(text, s - 1, e) is not None:
        for m in LEX.ZU_VERB.finditer(text, s, e):
            seen.setdefault(m.start(), m)
        for m in LEX.SPEECH_NOUN.finditer(text, s, e):
            seen.setdefault(m.start(), m)
    return [seen[k] for k in sorted(seen)]


def dass_content(text: str, verb: Span, sent: Span) -> Span | None:
    """"X sagte am Montag, dass …", "geht davon aus, dass …": from dass/ob to a trailing frame or the end."""
    s, e = sent
    m = DASS.search(text, verb[1], e)
    if not m:
        return None
    between = text[verb[1]:m.start()]
    tail = _DASS_TAIL.search(between)
    if not tail:
        return None
    if LEX.SPEECH_VERB.search(between) or len(between.split()) > 25 or re.search(r"[.!?:;]", between):
        return None
    if "," in between[:tail.start()]:
        return None  # "sagte, es zeige, dass …": the content starts at the first comma, not at dass
    start = m.start()
    end = e
    tf = LEX.TRAILING_FRAME.search(text, start, e)
    if tf:
        end = tf.start()
    return strip_final_punct(text, start, end)


def _marks_from(mark_spans: Sequence[Span], lo: int, hi: int) -> list[Span]:
    """The quote marks starting in [lo, hi), by bisection when `mark_spans` is a SpanList."""
    index = span_index(mark_spans)
    return [index[k] for k in index.starting_in(lo, hi)]


def _has_konjunktiv(text: str, c_start: int, e: int, c_marks: list[Span]) -> bool:
    return any(not inside(k.span(), c_marks) for k in LEX.KONJUNKTIV_I.finditer(text, c_start, e))


def clause_content(text: str, v: re.Match[str], sent: Span, mark_spans: Sequence[Span]) -> Span | None:
    """"sagte er, Russland habe …", "gab die Zeitung an, …", "Rice sagte weiter, …" (then only with
    Konjunktiv content), "sagte er, „No-Go-Areas“ dürfe es nicht geben" (a quoted fragment opens it)."""
    s, e = sent
    subj = frame_subject(text, s, v.span(), e)
    after_subj = subj[1] if subj and subj[0] > v.start() else v.end()
    m2 = LEX.PARTICLE_COMMA.match(text[after_subj:e])
    konj = False
    if not m2:
        m2 = _UNTIL_COMMA.match(text[after_subj:e])
        konj = True
    if not m2:
        return None
    c_start = after_subj + m2.end()
    fw = first_word(text, c_start, e)
    c_marks = _marks_from(mark_spans, c_start, e)
    has_konj = _has_konjunktiv(text, c_start, e, c_marks)
    if konj and not has_konj:
        fw = None
    # "sagen"/"bestätigen" may be a plural or an infinitive ("wollte … nicht bestätigen,
    # unterstrich jedoch …"): only a subject-like word may then open the content.
    if fw is not None and v.group() in LEX.INFINITIVE_CUES and not (
            fw[0][:1].isupper() or fw[0] in LEX.CLAUSE_SUBJECTS):
        fw = None
    opens_quote = c_start < e and text[c_start] in "„“\"«»" and has_konj and \
        any(ms == c_start and me < e - 5 for ms, me in c_marks)
    if opens_quote:
        fw = first_word(text, c_start + 1, e)
    # "X erklärte, die neue Verfassung werde …": right after the verb, with Konjunktiv I,
    # "die"/"damit" open the content (no noun precedes for a relative clause to attach to).
    if fw is not None and not konj and has_konj and after_subj == v.end() and fw[0] in (*_ARTICLES, "damit"):
        fw = ("_konj_" + fw[0], fw[1], fw[2])
    if c_start < e and (text[c_start] not in "„“\"«»" or opens_quote) and not DASS.match(text, c_start) and \
            fw is not None and (fw[0] not in LEX.NOT_CLAUSE_START or
                                fw[0] in _ARTICLES and article_before_noun(text, fw[2], e)):
        content = strip_final_punct(text, c_start, e)
        # A short content needs its Konjunktiv: "sagte, die Lage sei ernst" (18 characters) is
        # speech, a short clause without one is too often not (20 characters then).
        return None if content[1] - content[0] < (12 if has_konj else 20) else content
    return None


def noun_content(text: str, v: re.Match[str], sent: Span, mark_spans: Sequence[Span]) -> Span | None:
    """"der Verdacht, er sei infiziert worden": a noun of saying with Konjunktiv I content."""
    e = sent[1]
    c_start = skip_space(text, v.end() + 1, e)
    c_marks = _marks_from(mark_spans, c_start, e)
    if _has_konjunktiv(text, c_start, e, c_marks) and \
            (first_word(text, c_start, e) or ("",))[0] not in LEX.NOT_CLAUSE_START:
        return strip_final_punct(text, c_start, e)
    return None


def zu_content(text: str, v: re.Match[str], sent: Span) -> Span | None:
    """"drohte Putin, die Armee mit … auszustatten": the zu-infinitive after the first comma."""
    e = sent[1]
    comma = text.find(",", v.end(), e)
    if comma > 0 and len(text[v.end():comma].split()) <= 12:
        c = strip_final_punct(text, comma + 1, e)
        nxt = CLAUSE_END.search(text, c[0], e)
        if nxt:
            c = strip_final_punct(text, c[0], nxt.start())
        if _ZU_INFINITIVE.search(text[c[0]:c[1]]):
            return c
    return None


def _passive_accusation(text: str, s: int, verb: re.Match[str]) -> bool:
    """"Klien wurde vorgeworfen, …", "Die Männer werden beschuldigt, …": the clause's subject is
    the addressee, not the speaker, so the frame names no source (but see `_passive_agent`)."""
    return verb.group() in LEX.PASSIVE_PARTICIPLE and _WERDEN.search(text, s, verb.start()) is not None


def _passive_agent(text: str, s: int, verb: re.Match[str]) -> Span | None:
    """"Zudem wurde die Regierung vom LSVD aufgefordert, …": the von-phrase is the source."""
    w = _WERDEN.search(text, s, verb.start())
    if w is None:
        return None
    m = None
    for m in _VON.finditer(text, w.end(), verb.start()):
        pass
    return None if m is None else np_at(text, m.end(), verb.start(), appositions=False)


def _content(text: str, v: re.Match[str], sent: Span, mark_spans: Sequence[Span]) -> tuple[Span, str] | None:
    """The verb's content and the frame kind: dass, clause or zu, tried in that order."""
    content = dass_content(text, v.span(), sent)
    if content is not None:
        return content, "dass"
    if LEX.CORE_VERB.match(text, v.start()):
        content = clause_content(text, v, sent, mark_spans)
        if content is not None:
            return content, "clause"
    noun = v.group()[:1].isupper() and LEX.SPEECH_NOUN.match(text, v.start()) is not None
    if noun:
        # "Vorwürfe werden laut, dass …" is found above; "der Verdacht, er sei …" here.
        content = noun_content(text, v, sent, mark_spans)
        if content is not None:
            return content, "clause"
    if LEX.ZU_VERB.match(text, v.start()) or noun:
        content = zu_content(text, v, sent)
        if content is not None:
            return content, "zu"
    return None


def verb_quotes(text: str, sent: Span, mark_spans: Sequence[Span], claimed: Sequence[Span]) -> Iterator[QuoteSpan]:
    """Indirect quotes of the reporting verbs of a sentence not inside a quote or a claimed quote
    (`claimed` is read as quotes are claimed); the mention is the verb's subject."""
    s, e = sent
    for v in frame_verbs(text, s, e):
        if inside(v.span(), mark_spans) or inside(v.span(), claimed):
            continue
        found = _content(text, v, sent, mark_spans)
        if found is None:
            continue
        content, kind = found
        if v.group()[:1].isupper() and LEX.SPEECH_NOUN.match(text, v.start()) is not None:
            # "Der Verdacht, er sei infiziert worden, bestätigte sich nicht": the main clause
            # resumes after the content with its verb.
            resume = LEX.MAIN_CLAUSE_RESUMES.search(text, content[0], content[1])
            if resume is not None:
                content = strip_final_punct(text, content[0], resume.start())
        subj = _passive_agent(text, s, v) if _passive_accusation(text, s, v) else frame_subject(text, s, v.span(), e)
        yield QuoteSpan(content[0], content[1], "indirect", Frame(v.span(), subj, kind))

"""Speaker mentions in frames: noun phrases, pronouns and the subject of a reporting verb.

The noun-phrase grammar (toolkit.lexicon: `NP`, `APPOSITION`) takes determiners, up to three
adjectives, capitalised words, quoted names and bracketed parties; the word lists that refuse
a candidate (clause starters, non-speakers, function words) are lexicon data. `frame_subject`
finds who speaks in a frame: subject-first, after a subordinator, inverted, coordinated, or
before a late cue.
"""

from __future__ import annotations

import re

from toolkit.attribution.spans import WORD, Span, first_word, skip_space
from toolkit.lexicon.active import LEX

PRONOUN = re.compile(r"(?:er|sie|Er|Sie)(?![\wÄÖÜäöüß])")
_IN_SOURCE = re.compile(r"(?<![\wÄÖÜäöüß-])(?:[Ii]n|[Aa]uf|[Ii]m)\s+")
_INVERTED_PRONOUN = re.compile(r"[A-ZÄÖÜ][\wäöüß]*\s+[a-zäöüß]+\s+(?P<pron>er|sie)(?![\wÄÖÜäöüß])")
_PARTICIPLE_LIKE = re.compile(r"ge|.*(?:ier|ert|elt)t?$|be|er|ver|an|mit|zu|vor|hin")


def is_not_a_speaker(word: str) -> bool:
    """"Es", "Denn", "Offiziell", "Darüber": capitalised, but never a speaker on their own."""
    return word in LEX.NOT_A_SPEAKER or bool(LEX.ADVERB_LIKE.fullmatch(word))


def np_at(text: str, i: int, limit: int, appositions: bool = True) -> Span | None:
    """The noun phrase (or pronoun) starting at i, with appositions ("Miller, der Sprecher …,")."""
    i = skip_space(text, i, limit)
    m = PRONOUN.match(text, i, limit)
    if m:
        return m.span()
    m = LEX.NP.match(text, i, limit)
    if not m:
        return None
    end = m.end()
    # Trim a trailing abbreviation dot or sentence period that the noun pattern swallowed.
    while end > i and text[end - 1] in ".'’":
        end -= 1
    if is_not_a_speaker(text[i:end]):
        return None
    if appositions:
        while True:
            a = LEX.APPOSITION.match(text, end, limit)
            if not a:
                break
            end = a.end()
    return (i, end) if end > i else None


def np_after_verb(text: str, verb_end: int, limit: int) -> Span | None:
    """Subject after a verb in V2 inversion ("sagte er", "betonte jedoch Miller")."""
    i = verb_end
    for _ in range(3):
        j = skip_space(text, i, limit)
        w = WORD.match(text, j, limit)
        if w and w.group() in LEX.ADVERBS and \
                not (w.group() == "ein" and (first_word(text, w.end(), limit) or ("",))[0][:1].isupper()):
            i = w.end()
        else:
            break
    return np_at(text, i, limit)


def clause_starts(text: str, s: int, verb_start: int) -> list[int]:
    """Sentence start and every position after ", " before the verb, outside quotes."""
    starts = [s]
    depth = 0
    for k in range(s, verb_start):
        ch = text[k]
        if ch in "„«‚“\"»" and depth == 0 and ch != "“":
            depth = 1
        elif ch in "“”\"»«‘’" and depth == 1:
            depth = 0
        elif ch in ",;:" and depth == 0:
            starts.append(k + 1)
    return starts


def frame_subject(text: str, sent_start: int, verb: Span, limit: int) -> Span | None:
    """Who speaks in a frame: subject-first, after a subordinator, inverted, or coordinated."""
    vs, ve = verb
    # "Der Politik schlug er vor, …": "er" right after the verb is the subject whatever comes first.
    nxt = first_word(text, ve, limit)
    if nxt is not None and nxt[0] == "er" and nxt[1] == skip_space(text, ve, limit):
        return nxt[1], nxt[2]
    starts = clause_starts(text, sent_start, vs)
    before = _subject_before_verb(text, sent_start, vs, starts)
    if before is not None:
        return before
    after = np_after_verb(text, ve, limit)
    pre_stripped = text[sent_start:vs].rstrip()
    first = first_word(text, sent_start, vs)
    coordinated = pre_stripped.endswith(",") or re.search(r"(?<![\wÄÖÜäöüß-])(?:und|sowie|oder)$", pre_stripped)
    if coordinated and not re.search(r"[“”\"»«]\s*,$", pre_stripped) and first and \
            first[0] not in LEX.STARTERS and first[0] not in LEX.SUBORDINATORS:
        # Coordinated verb phrase: "Peskow wollte …, unterstrich jedoch, dass …".
        span = np_at(text, sent_start, vs)
        if span and (after is None or not is_subject_like(text, after)):
            return span
    if after is None:
        return _subject_before_auxiliary(text, sent_start, verb, starts) or \
            _subject_before_finite(text, vs, starts)
    return after


def _subject_before_verb(text: str, sent_start: int, vs: int, starts: list[int]) -> Span | None:
    """The subject directly before the verb at some clause start, or after a subordinator with
    adverbials before a verb-final cue ("Wie der Minister am Dienstag in Hannover erklärte, …")."""
    for cs in starts:
        fw = first_word(text, cs, vs)
        if fw is None:
            continue
        word, _ws, we = fw
        if word in LEX.CONJUNCTIONS:
            cs = we
            fw = first_word(text, cs, vs)
            if fw is None:
                continue
            word, _ws, we = fw
        if word in LEX.SUBORDINATORS or word == "Wie" or word.lower() in LEX.SUBORDINATORS and cs != sent_start:
            span = np_after_verb(text, we, vs)
            if span and (text[span[1]:vs].strip() == "" or
                         is_nominative_like(text, span) and re.search(r"[,;:„“”\"]", text[span[1]:vs]) is None):
                return span
            continue
        if word in LEX.STARTERS:
            continue
        span = np_at(text, cs, vs)
        if span and text[span[1]:vs].strip(" ,") == "" and is_nominative_like(text, span):
            return _with_apposition_before(text, sent_start, span)
    return None


def _with_apposition_before(text: str, sent_start: int, span: Span) -> Span:
    """"Die Vorsitzende des Ausschusses, Renate Künast (Grüne), fragte …": in a verb-second clause
    everything before the verb is one constituent, so a noun phrase that fills the clause before the
    comma is an apposition of the subject and belongs to the mention (SpkAtt and our gold agree)."""
    before = text[sent_start:span[0]].rstrip()
    if not before.endswith(","):
        return span
    comma = sent_start + len(before) - 1
    cs = clause_starts(text, sent_start, comma)[-1]
    fw = first_word(text, cs, comma)
    if fw is not None and fw[0] in LEX.STARTERS and fw[0] not in {"Als", "Nach", "Laut", "So"}:
        cs = fw[2]  # "Auch die US-Delegationsleiterin beim Klimagipfel, Sharon Hayes, …"
    np_ = np_at(text, cs, comma, appositions=False)
    if np_ is not None and np_[1] == comma and is_nominative_like(text, np_) and \
            not PRONOUN.fullmatch(text[np_[0]:np_[1]]):
        return (np_[0], span[1])
    return span


def _opens_main_clause(fw: tuple[str, int, int] | None) -> bool:
    """A clause start whose first word may be its subject (no starter, subordinator or conjunction)."""
    return not (fw is None or fw[0] in LEX.STARTERS or fw[0] in LEX.SUBORDINATORS or fw[0] in LEX.CONJUNCTIONS or
                fw[0].lower() in LEX.SUBORDINATORS or fw[0] in LEX.NOT_CLAUSE_START)


def _np_before_finite(text: str, i: int, limit: int, nominative: bool, strict: bool) -> Span | None:
    """A subject at i followed by a lower-case (finite) word: "Der Ermittler will …", "Die WWF gab …".

    `nominative` asks for `is_nominative_like` (and refuses "Des …") instead of `is_subject_like`;
    `strict` also refuses a relative or subordinate word after the noun phrase."""
    span = np_at(text, i, limit)
    oblique = {"Dem", "Den", "Des"} if nominative else {"Dem", "Den"}
    like = is_nominative_like if nominative else is_subject_like
    if span is None or not like(text, span) or text[span[0]:span[1]].split()[0] in oblique:
        return None
    nxt = first_word(text, span[1], limit)
    if nxt is None or not nxt[0][:1].islower() or nxt[0] in LEX.DET_WORDS or strict and nxt[0] in LEX.NOT_CLAUSE_START:
        return None
    return span


def _subject_before_finite(text: str, vs: int, starts: list[int]) -> Span | None:
    """Subject-first clause whose cue comes late: a separable particle or a verb after adverbials
    ("Die Organisation WWF gab in einer Pressemitteilung bekannt, …", "Der Sportler gab bekannt: …").
    Nothing between the subject and the cue may open a new clause."""
    for cs in reversed(starts):
        if not _opens_main_clause(first_word(text, cs, vs)):
            continue
        span = _np_before_finite(text, cs, vs, nominative=False, strict=False)
        if span is None:
            continue
        return span if re.search(r"[,;:]", text[span[1]:vs]) is None else None
    return None


def _subject_before_auxiliary(text: str, sent_start: int, verb: Span, starts: list[int]) -> Span | None:
    """"Die Regierung hat am Montag angekündigt, …" (subject, auxiliary, participle) and
    "In der Resolution heißt es, …" (the document is the source)."""
    vs, ve = verb
    word = text[vs:ve]
    if word in ("heißt", "hieß"):
        for m in _IN_SOURCE.finditer(text, sent_start, vs):
            span = np_at(text, m.end(), vs, appositions=False)
            if span is not None:
                return span
        return None
    if not _PARTICIPLE_LIKE.match(word):
        return None
    for cs in starts:
        fw = first_word(text, cs, vs)
        if fw is None or fw[0] in LEX.STARTERS or fw[0] in LEX.SUBORDINATORS or fw[0] in LEX.CONJUNCTIONS:
            continue
        span = np_at(text, cs, vs)
        if span is not None and LEX.AUX.match(text, span[1], vs):
            return span
    # Inversion after an adverbial: "Gestern hat eine Sprecherin des Gerichts mitgeteilt, …".
    cs = starts[-1]
    for m in LEX.AUX_WORD.finditer(text, cs, vs):
        if m.start() == cs or text[cs:m.start()].strip() == "":
            continue
        span = np_after_verb(text, m.end(), vs)
        if span is not None and is_nominative_like(text, span) and \
                re.search(r"[,;:„“”\"]", text[span[1]:vs]) is None:
            return span
        break
    return None


def is_nominative_like(text: str, span: Span) -> bool:
    """A pronoun or a noun phrase that does not open with a dative/genitive article."""
    words = text[span[0]:span[1]].split()
    if PRONOUN.fullmatch(text[span[0]:span[1]]):
        return True
    return bool(words) and words[0].lower() not in {"dem", "den", "des", "einem", "einen", "eines"} and \
        any(w[:1].isupper() or w[:1] == "„" for w in words)


def is_subject_like(text: str, span: Span) -> bool:
    s, e = span
    w = text[s:e]
    return bool(PRONOUN.fullmatch(w)) or w[:1].isupper() and not w.endswith("n ") and w.split()[0] not in {"dem", "den"}


def colon_subject(text: str, sent_start: int, colon: int) -> Span | None:
    """The subject of a sentence that hands over to a quote with a colon but has no reporting verb:
    a nominative noun phrase opening the sentence and followed by its finite verb ("Der Ermittler
    will …:"), or a pronoun right after the verb of an inverted clause ("Dabei griff sie … an:")."""
    i = skip_space(text, sent_start, colon)
    inv = _INVERTED_PRONOUN.match(text, i, colon)
    if inv and text[i:inv.start("pron")].split()[0] not in LEX.NOT_CLAUSE_START:
        return inv.span("pron")
    if not _opens_main_clause(first_word(text, i, colon)):
        return None
    return _np_before_finite(text, i, colon, nominative=True, strict=True)


def np_ending_at(text: str, s: int, end: int, participle: bool = True) -> Span | None:
    """The longest noun phrase of text[s:end] that ends exactly at `end` (last ~12 words)."""
    starts = [w.start() for w in WORD.finditer(text, max(s, end - 120), end)]
    for ws in starts:
        first = WORD.match(text, ws, end)
        if first and first.group()[:1].islower() and first.group() not in LEX.DET_WORDS:
            continue
        if ws > 0 and (text[ws - 1].isalnum() or ws != s and text[ws - 1] not in " \n\t\"„“«»"):
            continue
        span = np_at(text, ws, end, appositions=False)
        if span is not None and span[1] == end:
            return span
    # "Berichte der Zeitung zurückgewiesen, wonach …": the noun phrase before a final participle.
    last = list(WORD.finditer(text, max(s, end - 40), end))
    if participle and last and last[-1].end() == end and last[-1].group()[:1].islower() and last[-1].start() > s:
        return np_ending_at(text, s, len(text[:last[-1].start()].rstrip()), participle=False)
    return None


def article_before_noun(text: str, i: int, limit: int) -> bool:
    """After "die"/"der"/"das": a capitalised word means an article ("die Tatsache"), not a relative pronoun."""
    nxt = first_word(text, i, limit)
    return nxt is not None and nxt[0][:1].isupper()

"""Direct, indirect and mixed quotes in German news text, with their cues and local speaker mentions.

Works on one paragraph at a time over the normalised article text, so every span is a true
offset into it. Quotation marks are paired with a small state machine that accepts the
mismatched pairs real articles publish („…” as well as „…“); an opener that never closes is
flagged, not fatal. Indirect speech is found from its frames: a reporting verb with a
dass-clause, "sagte er, <clause>", "<clause>, sagte X", "<clause>, so X", "laut X",
"gemäß der Aussage des …", "X zufolge", "nach Angaben von X". An indirect clause that holds
quoted fragments is a mixed quote.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, pairwise

Span = tuple[int, int]

# Opening mark -> accepted closing marks.
_OPENERS: dict[str, str] = {
    "„": "“”\"",
    "“": "”",
    "\"": "\"",
    "«": "»",
    "»": "«",
    "‚": "‘’",
    "‹": "›",
    "›": "‹",
}
_ALL_MARKS = set(_OPENERS) | {"”", "’", "‘"}

# Finite reporting verbs (3rd person, present and past) and a few participles.
_SPEECH_VERB = (
    r"sagt(?:e|en)?|gesagt|erklärt\w*|betont(?:e|en)?|unterstrich(?:en)?|unterstreicht|behauptet(?:e|en)?|"
    r"warnt(?:e|en)?|gewarnt|kritisiert(?:e|en)?|meint(?:e|en)?|berichtet(?:e|en)?|argumentiert(?:e|en)?|"
    r"erwähnt(?:e|en)?|bestätigt(?:e|en)?|schrieb(?:en)?|schreibt|teilt(?:e|en)?|mitteilte|mitgeteilt|"
    r"fügt(?:e|en)?|hinzufügte|ergänzt(?:e|en)?|versichert(?:e|en)?|räumt(?:e|en)?|gab(?:en)?|gibt|"
    r"deutet(?:e|en)?|kündigt(?:e|en)?|angekündigt|fordert(?:e|en)?|erinnert(?:e|en)?|schlug(?:en)?|schlägt|"
    r"droht(?:e|en)?|beschuldigt(?:e|en)?|warf(?:en)?|wirft|äußert(?:e|en)?|bekräftigt(?:e|en)?|"
    r"antwortet(?:e|en)?|sprach(?:en)?|spricht|verkündet(?:e|en)?|stellt(?:e|en)?|bezeichnet(?:e|en)?|"
    r"nannte(?:n)?|beharrt(?:e|en)?|wies(?:en)?|weist|glaubt(?:e|en)?|hofft(?:e|en)?|befürchtet(?:e|en)?|"
    r"vermutet(?:e|en)?|zitiert(?:e|en)?|meldet(?:e|en)?|twittert(?:e|en)?|erwidert(?:e|en)?|"
    r"entgegnet(?:e|en)?|verwies(?:en)?|verweist|sieht|sah(?:en)?|ruft|rief(?:en)?|mahnt(?:e|en)?|"
    r"verlangt(?:e|en)?|bekannt\w*|begründet(?:e|en)?|bestritt(?:en)?|bestreitet|dementiert(?:e|en)?|"
    r"insistiert(?:e|en)?|versprach(?:en)?|verspricht|schätzt(?:e|en)?|heißt|hieß|lautet(?:e)?|"
    r"geht|gehen|ging(?:en)?|besagt(?:e|en)?|bezweifelt(?:e|en)?|vorgeworfen|versprochen|gefordert|betont|"
    r"behauptet|bestätigt|beteuert(?:e|en)?|befürchten|glauben|meinen|erklären|sagen|fordern|berichten|"
    r"kritisieren|warnen|betonen|bestätigen|hoffen|vermuten|räumen|geben|erläutert(?:e|en)?|bekräftigen|"
    r"beklagt(?:e|en)?|bedauert(?:e|en)?|überzeugt|Meinung|Ansicht|Auffassung|Überzeugung|Angaben|"
    r"vermeldet(?:e|en)?|verkündete|signalisiert(?:e|en)?|unterstellt(?:e|en)?|wünscht(?:e|en)?|"
    r"vorgeschlagen|angedeutet|dementiert|zugegeben|gab zu|gibt zu|zugestanden|fragt(?:e|en)?|gefragt|"
    r"eingeräumt|geäußert|beruft|berief(?:en)?|begründen|bemängelt(?:e|en)?|moniert(?:e|en)?|"
    r"konstatiert(?:e|en)?|zugesichert|sichert(?:e|en)?|skandiert(?:e|en)?|resümiert(?:e|en)?|bilanziert(?:e|en)?|"
    r"bezweifeln|ausgegangen|diskutiert(?:e|en)?|beteuern|mutmaßt(?:e|en)?|spekuliert(?:e|en)?|"
    r"strich(?:en)?|hob(?:en)?|hebt|fragen|schilderte(?:n)?|schildert|präzisierte(?:n)?|kommentierte(?:n)?|"
    r"kommentiert|beschrieb(?:en)?|beschreibt|folgerte(?:n)?|urteilte(?:n)?|verlauten"
)
SPEECH_VERB = re.compile(rf"(?<![\wÄÖÜäöüß-])(?:{_SPEECH_VERB})(?![\wÄÖÜäöüß])", re.IGNORECASE)
# Verbs that frame a clause without "dass" ("sagte er, …" / "…, sagte Miller").
_CORE_VERB = (
    r"sagt(?:e|en)?|erklärt(?:e|en)?|betont(?:e|en)?|meint(?:e|en)?|schrieb(?:en)?|schreibt|"
    r"berichtet(?:e|en)?|behauptet(?:e|en)?|kritisiert(?:e|en)?|warnt(?:e|en)?|ergänzt(?:e|en)?|"
    r"argumentiert(?:e|en)?|unterstrich(?:en)?|fügt(?:e|en)? hinzu|teilt(?:e|en)? mit|hieß es|heißt es|"
    r"versichert(?:e|en)?|bekräftigt(?:e|en)?|antwortet(?:e|en)?|erwidert(?:e|en)?|entgegnet(?:e|en)?|"
    r"räumt(?:e|en)? ein|gab(?:en)? an|gibt an|bestätigt(?:e|en)?|meldet(?:e|en)?|mahnt(?:e|en)?|"
    r"kündigt(?:e|en)? an|erinnert(?:e|en)?|zitiert(?:e|en)?|twittert(?:e|en)?|"
    r"gab(?:en)?|teilt(?:e|en)?|fügt(?:e|en)?|räumt(?:e|en)?|kündigt(?:e|en)?|gesagt|erklärt|betont|berichtet|"
    r"mitgeteilt|bekräftigt|bestätigt|versichert|behauptet|geschrieben|gewarnt|hinzugefügt|erläutert(?:e|en)?|"
    r"vermeldet(?:e|en)?|beteuert(?:e|en)?|unterstrichen|verkündet(?:e|en)?|meldeten|fordert(?:e|en)?|hofft(?:e|en)?|beklagt(?:e|en)?|bemängelt(?:e|en)?|bilanziert(?:e|en)?|resümiert(?:e|en)?|schätzt(?:e|en)?|verlangt(?:e|en)?|"
    r"sagen|erklären|betonen|meinen|schreiben|behaupten|kritisieren|warnen|argumentieren|versichern|"
    r"bekräftigen|bestätigen|melden|fordern|hoffen|beklagen|teilen mit|fügen hinzu|räumen ein|geben an|kündigen an"
)
CORE_VERB = re.compile(rf"(?<![\wÄÖÜäöüß-])(?:{_CORE_VERB})(?![\wÄÖÜäöüß])")
TRAILING_FRAME = re.compile(rf",\s*(?:(?:das|dies)\s+(?={_CORE_VERB}))?(?P<cue>{_CORE_VERB}|so)(?:\s+|(?=[.!?:]?\s*$))(?P<rest>[^,.;:!?]*(?:,[^,.;:!?]*)?)[.!?:]?\s*$")
DASS = re.compile(r"(?<![\wÄÖÜäöüß])(?:dass|daß|ob)(?![\wÄÖÜäöüß])")
# Prepositional source frames: "laut X", "gemäß X", "nach Angaben X", "X zufolge".
WONACH = re.compile(r",\s*(?:(?P<cue>wonach)|(?P<cue2>nach)\s+(?P<pron>denen|dem|der))(?![\wÄÖÜäöüß])")
ZUFOLGE = re.compile(r"(?<![\wÄÖÜäöüß-])zufolge(?![\wÄÖÜäöüß])")
ADVERBS = {"auch", "jedoch", "zudem", "dann", "nun", "bereits", "außerdem", "ebenfalls", "hierzu", "dazu",
           "weiter", "ferner", "noch", "aber", "daraufhin", "später", "erneut", "abermals", "schließlich",
           "gestern", "heute", "hinzu", "ein", "fest", "klar", "darauf", "darüber",
           "sich", "zuvor", "damals", "ebenso", "zugleich", "gleichzeitig"}


@dataclass
class QuoteMark:
    """A quoted stretch between two marks (inclusive of the marks)."""

    start: int
    end: int
    balanced: bool = True

    @property
    def inner(self) -> Span:
        return (self.start + 1, self.end - 1 if self.balanced else self.end)


@dataclass
class Frame:
    """Where a quote's speaker and cue were found, all as absolute offsets."""

    cue: Span | None = None
    mention: Span | None = None
    kind: str = "none"  # after | before | dass | clause | trailing | prep | continuation | none


@dataclass
class QuoteSpan:
    start: int
    end: int
    type: str
    frame: Frame
    flags: list[str] = field(default_factory=list)
    fragments: list[Span] = field(default_factory=list)


def find_quote_marks(text: str, start: int, end: int) -> list[QuoteMark]:
    """Top-level quoted stretches in text[start:end]; unbalanced openers run to the paragraph end."""
    out: list[QuoteMark] = []
    stack: list[tuple[str, int]] = []
    i = start
    while i < end:
        ch = text[i]
        if ch in _ALL_MARKS:
            prev = text[i - 1] if i > start else " "
            nxt = text[i + 1] if i + 1 < end else " "
            # An apostrophe inside or after a word ("Peking’s", "geht’s") is not a mark.
            if ch in "’‘" and prev.isalnum():
                i += 1
                continue
            if stack and ch in _OPENERS[stack[-1][0]]:
                opener, pos = stack.pop()
                if not stack:
                    out.append(QuoteMark(pos, i + 1))
            elif ch in _OPENERS and not (ch == "\"" and stack and stack[-1][0] == "\""):
                # A straight quote opens only before a non-space character.
                if ch == "\"" and (nxt.isspace() or i + 1 >= end):
                    i += 1
                    continue
                if ch in "’‘":
                    i += 1
                    continue
                stack.append((ch, i))
        i += 1
    if stack:
        pos = stack[0][1]
        out.append(QuoteMark(pos, end, balanced=False))
    return out


def is_speechlike(text: str, mark: QuoteMark) -> bool:
    """Long or sentence-like quoted stretches are speech; one or two words are scare quotes."""
    s, e = mark.inner
    inner = text[s:e].strip()
    words = inner.split()
    if len(words) >= 5:
        return True
    return len(words) >= 3 and bool(re.search(r"[.!?,]$", inner))


# Verbs that hand a short quoted phrase to their subject: "bezeichnete den Plan als „Wortbruch“",
# "nannte die Zahlen „aus der Luft gegriffen“", "warfen der Regierung „Wortbruch“ vor".
NAMING_VERB = re.compile(r"(?<![\wÄÖÜäöüß-])(?:bezeichnet(?:e|en)?|nannte(?:n)?|nennt|nennen|sprach(?:en)?\s+von|"
                         r"spricht\s+von|wertete(?:n)?|lobte(?:n)?|warf(?:en)?|wirft|werfen|beschrieb(?:en)?|"
                         r"beschreibt|titulierte(?:n)?|kommentierte(?:n)?)(?![\wÄÖÜäöüß])")


_PREP_BEFORE_NAME = {"im", "in", "bei", "beim", "auf", "gegenüber", "vom", "von", "zum", "zur", "dem", "der", "des", "den",
                     "mit", "aus", "nach", "vor", "über", "unter", "für", "an", "am"}


_SPEECH_AFTER = re.compile(rf"\s*,\s*(?:{_SPEECH_VERB})(?![\wÄÖÜäöüß])")


def fragment_frame(text: str, sentences: Sequence[Span], mark: QuoteMark, p_start: int) -> Frame | None:
    """A short quoted phrase is the speaker's words, not a scare quote, when a colon hands it over or
    a reporting verb follows it ("„Wir sind bereit“, sagte er": kind "handover", the caller finds the
    speaker), or when a naming verb earlier in its clause frames it."""
    k = _sentence_of(sentences, mark.start)
    sent_start = max(sentences[k][0], p_start) if sentences else p_start
    before = text[sent_start:mark.start]
    if re.search(r":\s*$", before) or _SPEECH_AFTER.match(text, mark.end):
        return Frame(None, None, "handover")
    verbs = list(NAMING_VERB.finditer(text, sent_start, mark.start))
    if not verbs:
        return None
    v = verbs[-1]
    between = text[v.end():mark.start]
    if re.search(r"[.;:!?„“”\"«»]", between) or len(between.split()) > 10:
        return None
    if between.split() and between.split()[-1] in _PREP_BEFORE_NAME:
        return None  # "nannte es im „Deutschlandfunk“ …": a name after a preposition, not the words named
    subj = frame_subject(text, sent_start, v.span(), mark.start)
    return Frame(v.span(), subj, "before") if subj is not None else None


def strip_final_punct(text: str, s: int, e: int) -> Span:
    while e > s and text[e - 1] in " .;:!?":
        e -= 1
    while s < e and text[s] in " ,":
        s += 1
    return s, e


# --- noun phrases in frames -------------------------------------------------------------

_DET = r"(?:der|die|das|des|den|dem|ein|eine|einer|eines|einem|einen|Der|Die|Das|Ein|Eine)"
# Prepositions that end like an inflected adjective ("gegenüber mehreren Medien", "unter dem Motto").
_NOT_ADJ = (r"(?!(?:gegenüber|unter|über|hinter|wegen|neben|zwischen|entgegen|außer|innerhalb|außerhalb|"
            r"oberhalb|unterhalb|während|trotz|gemäß|entsprechend|inmitten|anstatt|jenseits|diesseits|seitens|"
            r"binnen|mittels|zugunsten|ungeachtet|hinsichtlich|bezüglich|angesichts|aber|oder|sondern|immer|"
            r"wieder|später|früher|weiter|ebenfalls|jedoch|daher|sehr|mehr|gerne|gern|vorher|nachher|"
            r"ferner|außerdem|bereits|sowie|sowohl|hierbei|dabei|haben|habe|hatte|hatten|hätte|hätten|sind|"
            r"werden|wurde|wurden|würde|würden|wäre|wären|sie)(?![\wäöüß-]))")
_ADJ = rf"(?:{_NOT_ADJ}[a-zäöüß][\wäöüß-]*(?:e|en|er|es|em)|US-amerikanische[nrs]?|[A-ZÄÖÜ][\wäöüß]*-[a-zäöüß][\wäöüß-]*(?:e|en|er|es))"
# A capitalised word, or a quoted name of up to five words ("Die Zeitung „Yemen Observer“").
_NOUN = r"(?:[a-z][\w-]*\.(?:de|com|org|net|at|ch|eu|info)(?![\w.])|(?:al-|el-|as-|ad-)?[A-ZÄÖÜ][\wÄÖÜäöüßéèáíóúñçë'’.-]*|„[A-ZÄÖÜ0-9][^„“”\"\s.,:;!?]*(?:\s[^„“”\"\s.,:;!?]+){0,4}“)"
_NP_CORE = rf"(?:{_DET}\s+)?(?:{_ADJ}\s+){{0,3}}{_NOUN}(?:\s+{_NOUN}){{0,3}}"
# A party or abbreviation in brackets after a name: "Matthias Berninger (Grüne)", "(IGDRB)".
_PAREN = r"(?:\s*\([^()\n,.;:]{1,30}\))?"
# "in" joins only a bare name ("die Banca d'Italia in Rom"), not "in der Nacht".
_CONNECT = r"(?:aus|von|vom|und|der|des|für|im|in(?=\s+[A-ZÄÖÜ]))"
# "in/für einem …" after a name is an adverbial ("Papier in einem Gastbeitrag"), not part of the name.
NP = re.compile(rf"{_NP_CORE}{_PAREN}(?:\s+{_CONNECT}\s+(?!(?:einem|einer|eine|einen)\s){_NP_CORE}{_PAREN})*")
APPOSITION = re.compile(rf",\s+(?:(?:{_DET}\s+)?(?:{_ADJ}\s+){{0,3}}{_NOUN}(?:\s+(?:{_CONNECT}\s+)?(?:{_DET}\s+)?(?:{_ADJ}\s+){{0,2}}{_NOUN}){{0,4}})(?=\s*(?:[,:]|[.!?](?:\s|$)))")
PRONOUN = re.compile(r"(?:er|sie|Er|Sie)(?![\wÄÖÜäöüß])")
SUBORDINATORS = {"als", "weil", "während", "nachdem", "wenn", "da", "indem", "obwohl", "wie", "bevor", "sodass", "wo", "wobei"}
CONJUNCTIONS = {"aber", "und", "doch", "sondern", "denn", "oder"}
STARTERS = {"Am", "Im", "Auf", "In", "Nach", "Vor", "Zuvor", "Dabei", "Gestern", "Heute", "Später", "Zudem",
            "Außerdem", "Ohne", "Gefragt", "Befragt", "Angesprochen", "Während", "Bei", "Mit", "Seit", "Dazu",
            "Daraufhin", "Dann", "Nun", "Danach", "Damals", "Anschließend", "Weiter", "Zugleich", "Gleichzeitig",
            "Hierzu", "Darauf", "Jetzt", "Auch", "Zum", "Zur", "Beim", "Vom", "Über", "Unter", "Gegenüber",
            "Trotz", "Wegen", "Angesichts", "Laut", "So", "Allerdings", "Jedoch", "Deshalb", "Daher", "Dennoch",
            "Dort", "Hier", "Darin", "Inzwischen", "Zuletzt", "Bislang", "Bisher", "Ebenso", "Erst", "Zunächst",
            "Vorher", "Kürzlich", "Damit", "Demnach", "Insgesamt", "Offenbar", "Morgen", "Ferner", "Gleichwohl",
            "Ebenfalls", "Erneut", "Weiterhin", "Schließlich", "Deswegen", "Somit", "Trotzdem", "Als",
            "Da", "Weil", "Obwohl", "Wenn", "Nachdem", "Falls", "Sobald", "Bevor"}
_WORD = re.compile(r"[\wÄÖÜäöüß-]+")
# Capitalised words that open a clause but never name a speaker on their own: the expletive
# "Es", bare articles and possessives, conjunctions and sentence adverbs ("Offiziell, …",
# "Denn …", "Höhnisch …"). The noun pattern takes any capitalised word, so these are refused here.
NOT_A_SPEAKER = {"Es", "Der", "Die", "Das", "Dies", "Dem", "Den", "Des", "Sein", "Seine", "Ihr", "Ihre", "Ihm",
                 "Ihnen", "Man", "Denn", "Doch", "Und", "Aber", "Oder", "Von", "Bis", "Da", "Ob", "Nachdem", "Warum",
                 "Wie", "Was", "Wer", "Sehr", "Alles", "Vieles", "Insbesondere", "Dagegen", "Andererseits",
                 "Tatsächlich", "Aktuell", "Neuerdings", "Seinerzeit", "Verglichen", "Besorgt", "Sinngemäß"}
_ADVERB_LIKE = re.compile(r"[A-ZÄÖÜ][a-zäöüß]{3,}(?:lich|isch|iell|erweise|mals|ierend|fassend|gehend)|"
                          r"(?:Da|Dar|Hier|Wo|Wor)(?:über|auf|aus|zu|bei|mit|nach|von|für|gegen|um|unter|in|an)|"
                          r"Zusammen|Gemeinsam|Ebenso|Stattdessen|Zwar")


def is_not_a_speaker(word: str) -> bool:
    return word in NOT_A_SPEAKER or bool(_ADVERB_LIKE.fullmatch(word))


def _skip_space(text: str, i: int, limit: int) -> int:
    while i < limit and text[i].isspace():
        i += 1
    return i


def np_at(text: str, i: int, limit: int, appositions: bool = True) -> Span | None:
    """The noun phrase (or pronoun) starting at i, with appositions ("Miller, der Sprecher …,")."""
    i = _skip_space(text, i, limit)
    m = PRONOUN.match(text, i, limit)
    if m:
        return m.span()
    m = NP.match(text, i, limit)
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
            a = APPOSITION.match(text, end, limit)
            if not a:
                break
            end = a.end()
    return (i, end) if end > i else None


def np_after_verb(text: str, verb_end: int, limit: int) -> Span | None:
    """Subject after a verb in V2 inversion ("sagte er", "betonte jedoch Miller")."""
    i = verb_end
    for _ in range(3):
        j = _skip_space(text, i, limit)
        w = _WORD.match(text, j, limit)
        if w and w.group() in ADVERBS and \
                not (w.group() == "ein" and (_first_word(text, w.end(), limit) or ("",))[0][:1].isupper()):
            i = w.end()
        else:
            break
    return np_at(text, i, limit)


def _first_word(text: str, i: int, limit: int) -> tuple[str, int, int] | None:
    i = _skip_space(text, i, limit)
    w = _WORD.match(text, i, limit)
    return (w.group(), w.start(), w.end()) if w else None


def _clause_starts(text: str, s: int, verb_start: int) -> list[int]:
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
    nxt = _first_word(text, ve, limit)
    if nxt is not None and nxt[0] == "er" and nxt[1] == _skip_space(text, ve, limit):
        return nxt[1], nxt[2]
    # Subject directly before the verb, starting at some clause start.
    for cs in _clause_starts(text, sent_start, vs):
        fw = _first_word(text, cs, vs)
        if fw is None:
            continue
        word, ws, we = fw
        if word in CONJUNCTIONS:
            cs = we
            fw = _first_word(text, cs, vs)
            if fw is None:
                continue
            word, ws, we = fw
        if word in SUBORDINATORS or word == "Wie" or word.lower() in SUBORDINATORS and cs != sent_start:
            # Verb-final clause: the subject follows the subordinator, adverbials may come
            # before the verb ("Wie der Minister am Dienstag in Hannover erklärte, …").
            span = np_after_verb(text, we, vs)
            if span and (text[span[1]:vs].strip() == "" or
                         _is_nominative_like(text, span) and re.search(r"[,;:„“”\"]", text[span[1]:vs]) is None):
                return span
            continue
        if word in STARTERS:
            continue
        span = np_at(text, cs, vs)
        if span and text[span[1]:vs].strip(" ,") == "" and _is_nominative_like(text, span):
            return _with_apposition_before(text, sent_start, span)
    after = np_after_verb(text, ve, limit)
    pre = text[sent_start:vs]
    pre_stripped = pre.rstrip()
    first = _first_word(text, sent_start, vs)
    coordinated = pre_stripped.endswith(",") or re.search(r"(?<![\wÄÖÜäöüß-])(?:und|sowie|oder)$", pre_stripped)
    if coordinated and not re.search(r"[“”\"»«]\s*,$", pre_stripped) and first and \
            first[0] not in STARTERS and first[0] not in SUBORDINATORS:
        # Coordinated verb phrase: "Peskow wollte …, unterstrich jedoch, dass …".
        span = np_at(text, sent_start, vs)
        if span and (after is None or not _is_subject_like(text, after)):
            return span
    if after is None:
        return _subject_before_auxiliary(text, sent_start, verb) or _subject_before_finite(text, sent_start, verb)
    return after


def _with_apposition_before(text: str, sent_start: int, span: Span) -> Span:
    """"Die Vorsitzende des Ausschusses, Renate Künast (Grüne), fragte …": in a verb-second clause
    everything before the verb is one constituent, so a noun phrase that fills the clause before the
    comma is an apposition of the subject and belongs to the mention (SpkAtt and our gold agree)."""
    before = text[sent_start:span[0]].rstrip()
    if not before.endswith(","):
        return span
    comma = sent_start + len(before) - 1
    starts = [c for c in _clause_starts(text, sent_start, comma)]
    cs = starts[-1]
    fw = _first_word(text, cs, comma)
    if fw is not None and fw[0] in STARTERS and fw[0] not in {"Als", "Nach", "Laut", "So"}:
        cs = fw[2]  # "Auch die US-Delegationsleiterin beim Klimagipfel, Sharon Hayes, …"
    np_ = np_at(text, cs, comma, appositions=False)
    if np_ is not None and np_[1] == comma and _is_nominative_like(text, np_) and \
            not PRONOUN.fullmatch(text[np_[0]:np_[1]]):
        return (np_[0], span[1])
    return span


def _subject_before_finite(text: str, sent_start: int, verb: Span) -> Span | None:
    """Subject-first clause whose cue comes late: a separable particle or a verb after adverbials
    ("Die Organisation WWF gab in einer Pressemitteilung bekannt, …", "Der Sportler gab bekannt: …").
    The noun phrase at a clause start must be followed by a lower-case (finite) word, and nothing
    between it and the cue may open a new clause."""
    vs, _ = verb
    for cs in reversed(_clause_starts(text, sent_start, vs)):
        fw = _first_word(text, cs, vs)
        if fw is None or fw[0] in STARTERS or fw[0] in SUBORDINATORS or fw[0] in CONJUNCTIONS or \
                fw[0].lower() in SUBORDINATORS or fw[0] in _NOT_CLAUSE_START:
            continue
        span = np_at(text, cs, vs)
        if span is None or not _is_subject_like(text, span) or text[span[0]:span[1]].split()[0] in {"Dem", "Den"}:
            continue
        nxt = _first_word(text, span[1], vs)
        if nxt is None or not nxt[0][:1].islower() or nxt[0] in _DET_WORDS:
            continue
        if re.search(r"[,;:]", text[span[1]:vs]) is None:
            return span
        return None
    return None


_AUX = re.compile(r",?\s*(?:hat|hatte|haben|hatten|ist|war|sind|waren|wurde|wurden|wird|werden|habe|sei|soll|"
                  r"sollen|will|wollte|kann|konnte|muss|musste)(?![\wÄÖÜäöüß])")
_IN_SOURCE = re.compile(r"(?<![\wÄÖÜäöüß-])(?:[Ii]n|[Aa]uf|[Ii]m)\s+")


def _subject_before_auxiliary(text: str, sent_start: int, verb: Span) -> Span | None:
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
    if not re.match(r"ge|.*(?:ier|ert|elt)t?$|be|er|ver|an|mit|zu|vor|hin", word):
        return None
    for cs in _clause_starts(text, sent_start, vs):
        fw = _first_word(text, cs, vs)
        if fw is None or fw[0] in STARTERS or fw[0] in SUBORDINATORS or fw[0] in CONJUNCTIONS:
            continue
        span = np_at(text, cs, vs)
        if span is not None and _AUX.match(text, span[1], vs):
            return span
    # Inversion after an adverbial: "Gestern hat eine Sprecherin des Gerichts mitgeteilt, …".
    cs = _clause_starts(text, sent_start, vs)[-1]
    for m in _AUX_WORD.finditer(text, cs, vs):
        if m.start() == cs or text[cs:m.start()].strip() == "":
            continue
        span = np_after_verb(text, m.end(), vs)
        if span is not None and _is_nominative_like(text, span) and \
                re.search(r"[,;:„“”\"]", text[span[1]:vs]) is None:
            return span
        break
    return None


_AUX_WORD = re.compile(r"(?<![\wÄÖÜäöüß-])(?:hat|hatte|haben|hatten|ist|war|sind|waren|wurde|wurden|wird|werden|"
                       r"will|wollte|wollten|soll|sollte|sollten|kann|konnte|konnten|muss|musste|mussten)"
                       r"(?![\wÄÖÜäöüß])")


def _is_nominative_like(text: str, span: Span) -> bool:
    """A pronoun or a noun phrase that does not open with a dative/genitive article."""
    words = text[span[0]:span[1]].split()
    if PRONOUN.fullmatch(text[span[0]:span[1]]):
        return True
    return bool(words) and words[0].lower() not in {"dem", "den", "des", "einem", "einen", "eines"} and \
        any(w[:1].isupper() or w[:1] == "„" for w in words)


def _is_subject_like(text: str, span: Span) -> bool:
    s, e = span
    w = text[s:e]
    return bool(PRONOUN.fullmatch(w)) or w[:1].isupper() and not w.endswith("n ") and w.split()[0] not in {"dem", "den"}


# --- quote detection --------------------------------------------------------------------

SOURCE_NOUN_PREP = re.compile(
    r"(?<![\wÄÖÜäöüß-])(?P<cue>[Ll]aut|[Gg]emäß)(?![\wÄÖÜäöüß])")
# Nouns of saying/knowing after "nach" ("nach Angaben der Polizei", "Nach Zeugenaussagen", "nach deren Angaben").
_SAY_NOUN = (r"[\wÄÖÜäöüß-]*(?:[Aa]ngaben|[Bb]ericht|[Ss]tellungnahmen?|[Nn]achrichten?|[Mm]edien|[Aa]ussagen?|[Ii]nformationen|[Aa]nsicht|[Ee]inschätzung(?:en)?|[Mm]einung|"
             r"[Dd]arstellung|[Aa]uffassung|[Bb]erichten|[Bb]erichts|[Ss]chätzungen|[Ww]orten|[Mm]eldungen|[Ee]rkenntnissen|"
             r"[Ee]rmittlungen|[Rr]echerchen|[Üü]berzeugung|[Aa]uskunft|[Mm]itteilung|[Vv]ermutungen|[Bb]erechnungen|"
             r"[Uu]mfragen?|[Uu]ntersuchungen|[Ss]tudien?|[Ii]nformation|[Dd]arstellungen|[Vv]ersion|[Ww]unsch|[Pp]lanungen|"
             r"[Pp]länen|[Vv]orstellungen?|[Dd]efinition|[Aa]ufassung|[Rr]echnung|[Zz]ählungen?|[Ss]ichtweise|[Üü]berlieferungen?|"
             r"[Aa]nalysen?|[Ee]rgebnisse?n?|[Pp]rognosen?|[Hh]ochrechnungen?|[Ss]tatistiken?|[Gg]utachten|[Aa]uswertungen?|"
             r"[Aa]nnahmen?|[Ss]childerungen?|[Uu]rteil|[Ee]rklärungen?|[Aa]ussagen|[Mm]utmaßungen|[Gg]erüchten|[Ss]pekulationen|"
             r"[Ii]ndizien|[Ee]mpfehlungen?|[Ww]illen|[Ää]ußerungen?|[Pp]lan|[Gg]rundgesetz|[Gg]esetz|[Vv]erfassung|[Aa]rtikel|[Ss]chätzung|[Vv]orhersagen?|[Aa]uszählung|[Ee]rkenntnisstand|[Ee]rfahrungen)")
_NACH_DET = (r"(?:(?:deren|dessen|seine[nmr]?|ihre[nmr]?|eigene[nmr]?|den|dem|der|einem|einer|eine[nmr]?|"
             r"[a-zäöü][\wäöüß]*(?:en|er|em))\s+){0,3}")
NACH_FRAME = re.compile(rf"(?<![\wÄÖÜäöüß-])(?P<cue>[Nn]ach)\s+(?P<noun>{_NACH_DET}{_SAY_NOUN})(?![\wÄÖÜäöüß])")
# Postposed "nach": "Dem Vernehmen nach", "Medienberichten nach", "eigenen Angaben nach".
NACH_POST = re.compile(rf"(?<![\wÄÖÜäöüß-])(?P<noun>(?:[Dd]em\s+Vernehmen|{_NACH_DET}{_SAY_NOUN}))\s+(?P<cue>nach)(?![\wÄÖÜäöüß])")
_GEN_START = re.compile(r"\s+(?:des|der|eines|einer|von|vom|seines|seiner|ihres|ihrer|unseres)\s")
_NOT_CLAUSE_START = {"die", "der", "das", "den", "dem", "deren", "dessen", "welche", "welcher", "welches", "was",
                     "wo", "wie", "weil", "wenn", "falls", "als", "während", "obwohl", "nachdem", "bevor", "um",
                     "ohne", "und", "aber", "sondern", "denn", "da", "damit", "sodass", "indem", "wobei"}
ZU_VERB = re.compile(r"(?<![\wÄÖÜäöüß-])(?:beschuldigt(?:e|en)?|droht(?:e|en)?|warf(?:en)?|wirft|fordert(?:e|en)?|"
                     r"rief(?:en)?|ruft|appelliert(?:e|en)?|versprach(?:en)?|verspricht|kündigt(?:e|en)?|"
                     r"drängt(?:e|en)?|mahnt(?:e|en)?|bat(?:en)?|bittet|schlägt|schlug(?:en)?|vorgeschlagen|"
                     r"versprochen|vorgeworfen|beschuldigt|beschlossen|beschließt|beschloss(?:en)?|angekündigt|"
                     r"gefordert|aufgefordert|aufgerufen|empfiehlt|empfahl(?:en)?|empfohlen|plädiert(?:e|en)?|"
                     r"angeboten|bot(?:en)?|bietet|erklärt(?:e|en)?|verpflichtet(?:e|en)?|zugesagt|sagt(?:e|en)? zu|"
                     r"wirbt|warb(?:en)?|verlangt(?:e|en)?|ermahnt(?:e|en)?|untersagt(?:e|en)?|verbietet|verbot(?:en)?|"
                     r"geeinigt|einigte(?:n)?|zugebilligt|vereinbart(?:e|en)?)"
                     r"(?![\wÄÖÜäöüß])")
# "räumte zwar ein, …", "sagte aber auch, …": adverbs and a separable particle before the comma.
_PARTICLE_COMMA = re.compile(r"\s*(?:(?:zwar|auch|aber|jedoch|allerdings|dann|nun|noch|ebenfalls|außerdem|zudem|"
                             r"gleichzeitig|zugleich|später|weiter|erneut)\s+){0,2}(?:hinzu|mit|an|ein)?\s*,\s*")


_INFINITIVE_CUES = {"sagen", "erklären", "betonen", "meinen", "schreiben", "behaupten", "kritisieren", "warnen",
                    "argumentieren", "versichern", "bekräftigen", "bestätigen", "melden", "fordern", "hoffen", "beklagen"}
_CLAUSE_SUBJECTS = {"er", "sie", "es", "man", "der", "die", "das", "ein", "eine", "einer", "wir", "ich", "dies",
                    "diese", "dieser", "dieses", "alle", "viele", "mehrere", "seine", "ihre", "sein", "ihr"}


_PASSIVE_PARTICIPLE = {"vorgeworfen", "beschuldigt", "aufgefordert", "aufgerufen", "verpflichtet", "untersagt",
                       "verboten", "gebeten", "ermahnt", "empfohlen", "geraten"}
_WERDEN = re.compile(r"(?<![\wÄÖÜäöüß-])(?:wurde|wurden|wird|werden|worden)(?![\wÄÖÜäöüß])")


def _passive_accusation(text: str, s: int, verb: re.Match[str]) -> bool:
    """"Klien wurde vorgeworfen, …", "Die Männer werden beschuldigt, …": the clause's subject is
    the addressee, not the speaker, so the frame names no source (but see `_passive_agent`)."""
    return verb.group() in _PASSIVE_PARTICIPLE and _WERDEN.search(text, s, verb.start()) is not None


_VON = re.compile(r"(?<![\wÄÖÜäöüß-])(?:von|vom)\s+")


def _passive_agent(text: str, s: int, verb: re.Match[str]) -> Span | None:
    """"Zudem wurde die Regierung vom LSVD aufgefordert, …": the von-phrase is the source."""
    w = _WERDEN.search(text, s, verb.start())
    if w is None:
        return None
    m = None
    for m in _VON.finditer(text, w.end(), verb.start()):
        pass
    return None if m is None else np_at(text, m.end(), verb.start(), appositions=False)


# Nouns of saying, asking and planning whose content follows after a comma: "die Forderung, …
# zu …", "der Verdacht, er sei …", "Vorwürfe, dass …".
SPEECH_NOUN = re.compile(
    r"(?<![\wÄÖÜäöüß-])(?:Forderung|Aufforderung|Behauptung|Vorwurf|Vorwürfe|Verdacht|Warnung|Anfragen?|"
    r"Darstellung|Appell)(?=,\s)")


_MAIN_CLAUSE_RESUMES = re.compile(r",\s+(?!(?:dass|daß|und|oder|aber|sondern|die|der|das|den|dem|des|ein|eine|er|sie|es|"
                                  r"man|wie|wo|wenn|weil|ob|um|zu|so|da|als|nachdem|während|sowie|wobei)"
                                  r"(?![\wäöüß]))(?=[a-zäöüß]+(?![\wäöüß-]))")


def _frame_verbs(text: str, s: int, e: int) -> list[re.Match[str]]:
    """Reporting verbs, verbs that take a zu-infinitive ("beschloss, … zu reduzieren") and nouns of
    saying right before a comma ("die Forderung, … zu …"), in text order."""
    seen: dict[int, re.Match[str]] = {m.start(): m for m in SPEECH_VERB.finditer(text, s, e)}
    for m in ZU_VERB.finditer(text, s, e):
        seen.setdefault(m.start(), m)
    for m in SPEECH_NOUN.finditer(text, s, e):
        seen.setdefault(m.start(), m)
    return [seen[k] for k in sorted(seen)]


# Where the content of a prepositional or zu-infinitive frame stops before the sentence end: only
# at "wobei"/"während", which add the writer's own remark. Coordinated and subordinate clauses
# ("…, und manche hätten …", "…, als dieser …", "…, wenn …") stay in the reported content, as
# SpkAtt annotates it (cutting at und/als/wenn/weil/aber cost 0.3 message F1 there).
_CLAUSE_END = re.compile(r",\s+(?=(?:wobei|während)\s)")


def _article_before_noun(text: str, i: int, limit: int) -> bool:
    """After "die"/"der"/"das": a capitalised word means an article ("die Tatsache"), not a relative pronoun."""
    nxt = _first_word(text, i, limit)
    return nxt is not None and nxt[0][:1].isupper()


def _sentence_of(sentences: Sequence[Span], pos: int) -> int:
    if isinstance(sentences, SpanList) and sentences.ordered:
        # The same answer by bisection: the first sentence holding pos, else the next one.
        k = sentences.first_holding(pos)
        if k >= 0:
            return k
        if sentences and pos == sentences.ends[-1]:
            return len(sentences) - 1
        k = bisect_right(sentences.starts, pos)
        return k if k < len(sentences) else len(sentences) - 1
    for k, (s, e) in enumerate(sentences):
        if s <= pos < e or (pos == e and k == len(sentences) - 1):
            return k
    # pos in a gap (white space): the next sentence
    for k, (s, _e) in enumerate(sentences):
        if pos < s:
            return k
    return len(sentences) - 1


def _inside(span: Span, spans: Iterable[Span]) -> bool:
    if isinstance(spans, (SpanList, _Claimed)):
        return spans.contains(span)
    return any(s <= span[0] and span[1] <= e for s, e in spans)


def _overlaps(span: Span, spans: Iterable[Span]) -> bool:
    if isinstance(spans, (SpanList, _Claimed)):
        return spans.overlaps(span)
    return any(s < span[1] and span[0] < e for s, e in spans)


class SpanList(Sequence[Span]):
    """Spans in text order (sentences, quote marks, quotes) with their starts and ends kept apart, so
    that the spans overlapping or inside a stretch are found by bisection, not by a scan over all of
    them: the per-sentence and per-quote look-ups of a long article or of a paragraph of thousands
    of quotes stay O(log n) each instead of O(n).

    The range look-ups need starts and ends that never decrease, as sentences, top-level quote marks
    and the quotes of an article have; for any other list they fall back to the plain scan, so the
    answer is the same either way. `overlaps` and `contains` hold for any spans (a start-sorted copy
    with the running maximum of the ends)."""

    def __init__(self, spans: Iterable[Span]) -> None:
        self._spans = tuple(spans)
        self.starts = [s for s, _ in self._spans]
        self.ends = [e for _, e in self._spans]
        self.ordered = all(a <= b for a, b in pairwise(self.starts)) and all(a <= b for a, b in pairwise(self.ends))
        by_start = sorted(self._spans)
        self._sorted_starts = [s for s, _ in by_start]
        self._max_end = list(accumulate((e for _, e in by_start), max))

    def __len__(self) -> int:
        return len(self._spans)

    def __getitem__(self, k):  # type: ignore[override]  # int or slice, as a tuple has them
        return self._spans[k]

    def __iter__(self) -> Iterator[Span]:
        return iter(self._spans)

    def overlapping(self, lo: int, hi: int) -> Sequence[int]:
        """Indices, in order, of the spans (s, e) with s < hi and lo < e."""
        if self.ordered:
            return range(bisect_right(self.ends, lo), bisect_left(self.starts, hi))
        return [k for k, (s, e) in enumerate(self._spans) if s < hi and lo < e]

    def within(self, lo: int, hi: int) -> Sequence[int]:
        """Indices, in order, of the spans (s, e) with lo <= s and e <= hi."""
        if self.ordered:
            return range(bisect_left(self.starts, lo), bisect_right(self.ends, hi))
        return [k for k, (s, e) in enumerate(self._spans) if lo <= s and e <= hi]

    def starting_in(self, lo: int, hi: int) -> Sequence[int]:
        """Indices, in order, of the spans (s, e) with lo <= s < hi."""
        if self.ordered:
            return range(bisect_left(self.starts, lo), bisect_left(self.starts, hi))
        return [k for k, (s, _e) in enumerate(self._spans) if lo <= s < hi]

    def first_holding(self, pos: int) -> int:
        """Index of the first span (s, e) with s <= pos < e, -1 if there is none."""
        if self.ordered:
            k = bisect_right(self.ends, pos)
            return k if k < bisect_right(self.starts, pos) else -1
        return next((k for k, (s, e) in enumerate(self._spans) if s <= pos < e), -1)

    def last_ending_by(self, pos: int) -> int:
        """Index of the last span (s, e) with e <= pos, -1 if there is none."""
        if self.ordered:
            return bisect_right(self.ends, pos) - 1
        return max((k for k, (_s, e) in enumerate(self._spans) if e <= pos), default=-1)

    def overlaps(self, span: Span) -> bool:
        """`_overlaps(span, spans)`: some span (s, e) has s < span[1] and span[0] < e."""
        k = bisect_left(self._sorted_starts, span[1])
        return k > 0 and self._max_end[k - 1] > span[0]

    def contains(self, span: Span) -> bool:
        """`_inside(span, spans)`: some span (s, e) has s <= span[0] and span[1] <= e."""
        k = bisect_right(self._sorted_starts, span[0])
        return k > 0 and self._max_end[k - 1] >= span[1]


class _Claimed:
    """The spans a paragraph's quotes have claimed so far. `detect_quotes` claims only a span that
    overlaps none of them, so they stay disjoint and, kept sorted by start, their ends are sorted
    too: every question below is one bisection."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, span: Span) -> None:
        k = bisect_left(self.starts, span[0])
        self.starts.insert(k, span[0])
        self.ends.insert(k, span[1])

    def overlaps(self, span: Span) -> bool:
        k = bisect_left(self.starts, span[1])
        return k > 0 and self.ends[k - 1] > span[0]

    def contains(self, span: Span) -> bool:
        k = bisect_right(self.starts, span[0])
        return k > 0 and self.ends[k - 1] >= span[1]

    def starts_between(self, lo: int, hi: int) -> bool:
        """Some claimed span starts strictly between lo and hi."""
        k = bisect_right(self.starts, lo)
        return k < len(self.starts) and self.starts[k] < hi


_SUBORDINATE_OPENERS = {"Nachdem", "Als", "Weil", "Wenn", "Obwohl", "Bevor", "Seitdem", "Sobald",
                        "Damit", "Um", "Falls", "Sofern", "Indem", "Ob"}
_RELATIVE = re.compile(r",\s+(?:(?:von|mit|bei|in|an|auf|für|zu|aus|über|unter)\s+)?(?:der|die|das|dem|den|denen|deren|"
                       r"dessen|welche[rsmn]?)\s")


def _subject_not_clause(text: str, s: int, end: int) -> bool:
    """"Die Politikerin X, kritisierte …" is not "<clause>, kritisierte X": what precedes the comma is
    the verb's own subject (a noun phrase, perhaps with a relative clause) or a subordinate clause."""
    first = _first_word(text, s, end)
    if first is not None and first[0] in _SUBORDINATE_OPENERS:
        return True
    i = _skip_space(text, s, end)
    w = _WORD.match(text, i, end)
    if w and w.group() in {"In", "Auf", "Bei", "Mit", "Vor", "Zu", "Aus", "Für", "Über", "Unter", "Nach", "Von", "Im", "Am"}:
        i = w.end()  # a prepositional phrase: "In seiner Rede, die …, mahnte Harper"
    np_ = np_at(text, i, min(end + 1, len(text)), appositions=True)  # the comma closes an apposition
    if np_ is None:
        return False
    rest = text[np_[1]:end].strip()
    if rest in ("", ","):
        return True
    rel = _RELATIVE.match(text, np_[1], end)
    return rel is not None and "," not in text[rel.end():end]


def _trailing_frame(text: str, s: int, e: int) -> tuple[Span, Span, Span | None, str] | None:
    """"<clause>, sagte X." -> (content, cue, mention, cue word)."""
    m = TRAILING_FRAME.search(text, s, e)
    if not m:
        return None
    content_end = m.start()
    if content_end - s < 15 or text[content_end - 1] in "“”\"»«’":
        return None
    if _subject_not_clause(text, s, content_end):
        return None
    cue = m.span("cue")
    rest_s, rest_e = m.span("rest")
    if re.search(r",\s*(?:dass|daß|ob)\s", text[rest_s:rest_e]):
        return None  # "…, bekräftigte gegenüber Medien, dass …": the dass-clause is the content
    if m.group("cue") == "so":
        rest_s, rest_e = strip_final_punct(text, rest_s, rest_e)
        w = re.search(r"\s+(?:weiter|außerdem|zudem|ferner|abschließend|damals|heute|gestern)$", text[rest_s:rest_e])
        if w:  # ", so Elshorst weiter."
            rest_e = rest_s + w.start()
        first = (text[rest_s:rest_e].split() or [""])[0]
        # ", so der Sprecher" names a source; ", so dass …" / ", so wie …" are conjunctions.
        mention = (rest_s, rest_e) if rest_e > rest_s and (text[rest_s].isupper() or first in {
            "der", "die", "das", "ein", "eine"}) else None
        if mention is None:
            return None
    else:
        mention = np_after_verb(text, cue[1], e)
        if mention is None and not m.group("cue").endswith(" es"):
            return None
    content = strip_final_punct(text, s, content_end)
    return content, cue, mention, m.group("cue")


def _dass_content(text: str, verb: Span, sent: Span) -> Span | None:
    s, e = sent
    m = DASS.search(text, verb[1], e)
    if not m:
        return None
    between = text[verb[1]:m.start()]
    tail = re.search(r",\s*(?:darüber|darauf|davon|dafür|damit|daran|dazu)?\s*$", between)
    if not tail:
        return None
    if SPEECH_VERB.search(between) or len(between.split()) > 25 or re.search(r"[.!?:;]", between):
        return None
    if "," in between[:tail.start()]:
        return None  # "sagte, es zeige, dass …": the content starts at the first comma, not at dass
    start = m.start()
    end = e
    tf = TRAILING_FRAME.search(text, start, e)
    if tf:
        end = tf.start()
    return strip_final_punct(text, start, end)


_DET_WORDS = {"der", "die", "das", "des", "den", "dem", "ein", "eine", "einer", "eines", "einem", "einen"}


def _np_ending_at(text: str, s: int, end: int, participle: bool = True) -> Span | None:
    """The longest noun phrase of text[s:end] that ends exactly at `end` (last ~12 words)."""
    starts = [w.start() for w in _WORD.finditer(text, max(s, end - 120), end)]
    for ws in starts:
        first = _WORD.match(text, ws, end)
        if first and first.group()[:1].islower() and first.group() not in _DET_WORDS:
            continue
        if ws > 0 and (text[ws - 1].isalnum() or ws != s and text[ws - 1] not in " \n\t\"„“«»"):
            continue
        span = np_at(text, ws, end, appositions=False)
        if span is not None and span[1] == end:
            return span
    # "Berichte der Zeitung zurückgewiesen, wonach …": the noun phrase before a final participle.
    last = list(_WORD.finditer(text, max(s, end - 40), end))
    if participle and last and last[-1].end() == end and last[-1].group()[:1].islower() and last[-1].start() > s:
        return _np_ending_at(text, s, len(text[:last[-1].start()].rstrip()), participle=False)
    return None


_ADJ_BEFORE = re.compile(r"(?<![\wÄÖÜäöüß-])(?:[a-zäöü][\wäöüß-]*)?(?:ischen|lichen|ellen|igen|ersten|letzten|neuesten|"
                         r"jüngsten)\s+$")
DEMNACH = re.compile(r"(?:Demnach|Demzufolge)(?![\wÄÖÜäöüß])")
DANACH = re.compile(r"Danach(?![\wÄÖÜäöüß])")
_REPORT_NOUN = re.compile(r"(?:Studie|Bericht|Umfrage|Untersuchung|Analyse|Statistik|Report|Gutachten|Erhebung|"
                          r"Befragung|Auswertung|Mitteilung|Erklärung|Urteil|Prognose)")
WIE_FRAME = re.compile(r"(?<![\wÄÖÜäöüß-])(?P<cue0>[Ww]ie)\s+(?P<body>(?:[^,;:.!?\n]|\.(?=\S)){3,160}?)\s*(?:,|[.!?]\s*$)")


_SUBCLAUSE_START = re.compile(
    r",\s+(?P<w>(?:(?:von|mit|bei|in|an|auf|für|nach|zu|aus|über|unter|durch|gegen)\s+)?"
    r"(?:der|die|das|dem|den|denen|deren|dessen|welche[rsmn]?)|da|weil|dass|daß|wenn|obwohl|nachdem|sodass|zumal)\s")


def _subclause_around(text: str, s: int, frame_start: int, frame_end: int, e: int) -> Span | None:
    """"Die Täter, die nach den Ermittlungen für zehn Morde verantwortlich sein dürften, hatten …":
    a frame inside a relative or subordinate clause reports that clause only, up to its closing comma."""
    last = None
    for m in _SUBCLAUSE_START.finditer(text, s, frame_start):
        last = m
    if last is None or "," in text[last.end():frame_start]:
        return None
    word = last.group("w")
    if word in ("der", "die", "das") and _article_before_noun(text, last.end("w"), e):
        return None  # an article opening a new clause, not a relative pronoun
    close = text.find(",", frame_end, e)
    end = close if close > 0 else e
    return last.start("w"), end


# A genitive plural without article: strong adjective in -er, then the noun ("informierter Kreise").
_STRONG_GENITIVE = re.compile(r"\s+(?:[a-zäöü][\wäöüß-]*er\s+){1,2}[A-ZÄÖÜ][\wÄÖÜäöüß-]*(?![\wÄÖÜäöüß-])")
_TEMPORAL_BEFORE_NACH = {"erst", "kurz", "bald", "unmittelbar", "gleich", "direkt", "schon", "tage", "monate", "jahre",
                         "wochen", "stunden", "minuten", "tag", "monat", "jahr", "woche", "stunde", "jahrzehnte",
                         "lange", "spätestens", "frühestens", "sofort"}


def _prep_frames(text: str, s: int, e: int) -> list[tuple[int, Span, Span]]:
    """(frame start, cue, mention) of "laut X", "gemäß X", "nach Angaben X", "X nach" in text[s:e].

    For "nach" frames the mention is the noun of saying with its genitive ("Angaben der Polizei"),
    as the SpkAtt gold takes it; the cue is "nach" alone.
    """
    out: list[tuple[int, Span, Span]] = []
    for m in SOURCE_NOUN_PREP.finditer(text, s, e):
        mention = np_at(text, m.end(), e)
        if mention is not None:
            out.append((m.start(), m.span("cue"), mention))
    for m in NACH_FRAME.finditer(text, s, e):
        prev_word = re.search(r"([\wÄÖÜäöüß]+)\s*$", text[max(s, m.start() - 30):m.start()])
        if prev_word and prev_word.group(1).lower() in _TEMPORAL_BEFORE_NACH:
            continue  # "Erst nach umfangreichen Ermittlungen", "Zwei Monate nach dem Urteil"
        ns, ne = m.span("noun")
        g = _GEN_START.match(text, ne, e)
        gn = re.compile(r"\s+[A-ZÄÖÜ][\wäöüß]+s(?![\wÄÖÜäöüß-])").match(text, ne, e)
        if gn and not g:  # "nach Meinung Russlands"
            ne = gn.end()
        ga = _STRONG_GENITIVE.match(text, ne, e)
        if ga and not g and not gn:  # "nach Einschätzung politischer Beobachter"
            ne = ga.end()
        if g:
            word = text[g.start():g.end()].split()[0]
            np_ = np_at(text, g.end() if word in ("von", "vom") else g.start(), e)
            if np_ is not None:
                ne = max(ne, np_[1])
        out.append((m.start(), m.span("cue"), (ns, ne)))
    for m in WIE_FRAME.finditer(text, s, e):
        # "Wie der Minister am Dienstag erklärte, …" / "…, wie eine Sprecherin mitteilte.":
        # the cue is the verb at the end of the wie-clause, the mention its subject.
        fs = m.start()
        initial = text[s:fs].strip() == ""
        trailing = text[s:fs].rstrip().endswith(",") and text[m.end():e].strip(" .!?\n") == ""
        if not (initial and text[m.end() - 1] == "," or trailing):
            continue
        body_s, body_e = m.span("body")
        verb = None
        for v in SPEECH_VERB.finditer(text, body_s, body_e):
            if len(text[v.end():body_e].split()) <= 1 and v.group()[:1].islower():
                verb = v
        if verb is None:
            continue
        mention = np_after_verb(text, m.end("cue0"), verb.start())
        if mention is None or not _is_nominative_like(text, mention) or \
                re.search(r"[,;:]", text[mention[1]:verb.start()]):
            continue
        out.append((fs, verb.span(), mention))
    # NACH_POST is tried at every word and costs a third of detect_quotes; its cue is a literal "nach".
    for m in (NACH_POST.finditer(text, s, e) if "nach" in text[s:e] else ()):
        if any(fs <= m.start("cue") < mn[1] for fs, _c, mn in out):
            continue
        out.append((m.start(), m.span("cue"), m.span("noun")))
    out.sort()
    return out


_SENTENCE_STOP = re.compile(r"[.!?](?=\s|$)")
ANAPHORIC_FRAME = re.compile(rf"(?:Dies|Das|Dieses)\s+(?P<cue>{_CORE_VERB}|mitteilte|erklärte|bestätigte)(?![\wÄÖÜäöüß])")


def detect_quotes(text: str, paragraph: Span, sentences: list[Span], skip: list[Span]) -> list[QuoteSpan]:
    """All quotes of one paragraph. `sentences` are those inside it; `skip` marks boilerplate."""
    p_start, p_end = paragraph
    marks = find_quote_marks(text, p_start, p_end)
    found: list[QuoteSpan] = []
    # Indexed once per paragraph: a paragraph of thousands of quotes must not cost a scan over all
    # its marks, sentences and claimed quotes for each of them.
    claimed = _Claimed()
    sentences = SpanList(sentences)
    skip = SpanList(skip)

    def claim(q: QuoteSpan) -> None:
        if q.end <= q.start or _overlaps((q.start, q.end), claimed):
            return
        inner = [mark_spans[k] for k in mark_spans.within(q.start, q.end)]
        if inner and q.type == "indirect":
            q.type = "mixed"
            q.fragments = inner
        found.append(q)
        claimed.add((q.start, q.end))

    speech_marks = [mk for mk in marks if is_speechlike(text, mk)]
    mark_spans = SpanList((mk.start, mk.end) for mk in marks)
    speech_spans = SpanList((mk.start, mk.end) for mk in speech_marks)

    for k_sent, (s, e) in enumerate(sentences):
        p_sent: Span | None = sentences[k_sent - 1] if k_sent > 0 else None
        if _overlaps((s, e), skip):
            continue
        # 1. Prepositional source frames: "laut X", "gemäß der Aussage des …", "nach Angaben von X".
        for fs, cue, mention in _prep_frames(text, s, e):
            if _inside(cue, mark_spans):
                continue
            if fs == s or text[s:fs].strip() == "":
                c_start = max(mention[1], cue[1])
                while c_start < e and text[c_start] in " ,":
                    c_start += 1
                nxt = _CLAUSE_END.search(text, c_start, e)
                c_end = nxt.start() if nxt else e
            else:
                c_start = s
                for b in _CLAUSE_END.finditer(text, s, fs):
                    c_start = b.end()
                nxt = _CLAUSE_END.search(text, max(mention[1], cue[1]), e)
                c_end = nxt.start() if nxt else e
                sub = _subclause_around(text, s, fs, max(mention[1], cue[1]), e)
                if sub is not None:
                    c_start, c_end = sub
                if text[max(mention[1], cue[1]):e].strip(" .!?\n") == "" and text[s:fs].rstrip().endswith(","):
                    # A trailing frame (", wie X mitteilte."): the content is the clause before it.
                    c_end = len(text[:fs].rstrip().rstrip(",").rstrip())
            content = strip_final_punct(text, c_start, c_end)
            if content[1] - content[0] < 15:
                continue
            # "„…“, sagte er laut einer Abschrift": the source phrase belongs to a direct quote's frame.
            if any(speech_spans.starts[k] <= content[0] or speech_spans.ends[k] > content[1]
                   for k in speech_spans.overlapping(*content)):
                continue
            claim(QuoteSpan(content[0], content[1], "indirect", Frame(cue, mention, "prep")))
        # 1a. "Demnach ist …": the source is the document of the sentence before (not resolved
        # here), the rest of the sentence is its content.
        dm = DEMNACH.match(text, _skip_space(text, s, e), e)
        if dm is None and p_sent is not None and _REPORT_NOUN.search(text, *p_sent):
            # "Die Studie wurde vorgestellt. Danach bestimmen …": after a report, "Danach" cites it.
            dm = DANACH.match(text, _skip_space(text, s, e), e)
        if dm is not None and not _inside(dm.span(), mark_spans):
            content = strip_final_punct(text, _skip_space(text, dm.end(), e), e)
            if content[1] - content[0] >= 15:
                claim(QuoteSpan(content[0], content[1], "indirect", Frame(dm.span(), None, "prep")))
        # 1b. "Berichte, wonach …" / "Studien, nach denen …": the noun before the comma is the source.
        for m in WONACH.finditer(text, s, e):
            if _inside(m.span(), mark_spans):
                continue
            c_start = _skip_space(text, m.end(), e)
            nxt = _CLAUSE_END.search(text, c_start, e)
            content = strip_final_punct(text, c_start, nxt.start() if nxt else e)
            if content[1] - content[0] < 15:
                continue
            if m.group("cue") is None:
                cue, mention = m.span("cue2"), m.span("pron")
            else:
                cue, mention = m.span("cue"), _np_ending_at(text, s, m.start())
            claim(QuoteSpan(content[0], content[1], "indirect", Frame(cue, mention, "prep")))
        # 2. "X zufolge".
        for m in ZUFOLGE.finditer(text, s, e):
            pre_start = s
            for b in _CLAUSE_END.finditer(text, s, m.start()):
                pre_start = b.end()
            mention = np_at(text, pre_start, m.start())
            if mention is not None and not text[mention[1]:m.start()].strip():
                content = strip_final_punct(text, m.end(), e)
            else:
                # Mid-clause "Sie stammen Zeitungsberichten zufolge aus …": the whole clause is the content.
                mention = _np_ending_at(text, pre_start, len(text[:m.start()].rstrip()), participle=False)
                if mention is None or _inside(m.span(), mark_spans):
                    continue
                adj = _ADJ_BEFORE.search(text, pre_start, mention[0])
                if adj is not None:  # "ersten Angaben zufolge", "behördlichen Angaben zufolge"
                    mention = (adj.start(), mention[1])
                nxt = _CLAUSE_END.search(text, m.end(), e)
                content = strip_final_punct(text, pre_start, nxt.start() if nxt else e)
            if content[1] - content[0] >= 15:
                claim(QuoteSpan(content[0], content[1], "indirect", Frame(m.span(), mention, "prep")))
        # 3. "<clause>, sagte X." / "<clause>, so X."
        tf = _trailing_frame(text, s, e)
        if tf and not any(speech_spans.ends[k] >= tf[0][1] - 1 for k in speech_spans.overlapping(*tf[0])):
            content, cue, mention, _ = tf
            claim(QuoteSpan(content[0], content[1], "indirect", Frame(cue, mention, "trailing")))
        # 4. Reporting verb + dass-clause, or "sagte er, <clause>".
        for v in _frame_verbs(text, s, e):
            if _inside(v.span(), mark_spans) or _inside(v.span(), claimed):
                continue
            content = _dass_content(text, v.span(), (s, e))
            kind = "dass"
            if content is None and CORE_VERB.match(text, v.start()):
                subj = frame_subject(text, s, v.span(), e)
                after_subj = subj[1] if subj and subj[0] > v.start() else v.end()
                m2 = _PARTICLE_COMMA.match(text[after_subj:e])
                konj = False
                if not m2:
                    # "Rice sagte weiter, …", "sagte bei der Gelegenheit, …": only with Konjunktiv content.
                    m2 = re.match(r"[^,.;:!?„“\"»«]{1,60}?,\s*", text[after_subj:e])
                    konj = True
                if m2:
                    c_start = after_subj + m2.end()
                    fw = _first_word(text, c_start, e)
                    c_marks = [mark_spans[k] for k in mark_spans.starting_in(c_start, e)]
                    has_konj = any(not _inside(k.span(), c_marks) for k in KONJUNKTIV_I.finditer(text, c_start, e))
                    if konj and not has_konj:
                        fw = None
                    # "sagen"/"bestätigen" may be a plural or an infinitive ("wollte … nicht bestätigen,
                    # unterstrich jedoch …"): only a subject-like word may then open the content.
                    if fw is not None and v.group() in _INFINITIVE_CUES and not (
                            fw[0][:1].isupper() or fw[0] in _CLAUSE_SUBJECTS):
                        fw = None
                    # "sagte er, „No-Go-Areas“ dürfe es nicht geben": a quoted fragment may open the content.
                    opens_quote = c_start < e and text[c_start] in "„“\"«»" and has_konj and \
                        any(ms == c_start and me < e - 5 for ms, me in c_marks)
                    if opens_quote:
                        fw = _first_word(text, c_start + 1, e)
                    # "X erklärte, die neue Verfassung werde …": right after the verb, with Konjunktiv I,
                    # "die"/"damit" open the content (no noun precedes for a relative clause to attach to).
                    if fw is not None and not konj and has_konj and after_subj == v.end() and \
                            fw[0] in ("die", "der", "das", "den", "dem", "damit"):
                        fw = ("_konj_" + fw[0], fw[1], fw[2])
                    if c_start < e and (text[c_start] not in "„“\"«»" or opens_quote) and \
                            not DASS.match(text, c_start) and \
                            fw is not None and (fw[0] not in _NOT_CLAUSE_START or
                                            fw[0] in ("die", "der", "das", "den", "dem") and _article_before_noun(text, fw[2], e)):
                        content = strip_final_punct(text, c_start, e)
                        kind = "clause"
                        if content[1] - content[0] < 20:
                            content = None
            noun = v.group()[:1].isupper() and SPEECH_NOUN.match(text, v.start()) is not None
            if content is None and noun:
                # "Vorwürfe werden laut, dass …" is found above; "der Verdacht, er sei …" here.
                c_start = _skip_space(text, v.end() + 1, e)
                c_marks = [mark_spans[k] for k in mark_spans.starting_in(c_start, e)]
                if any(not _inside(k.span(), c_marks) for k in KONJUNKTIV_I.finditer(text, c_start, e)) and \
                        (_first_word(text, c_start, e) or ("",))[0] not in _NOT_CLAUSE_START:
                    content, kind = strip_final_punct(text, c_start, e), "clause"
            if content is None and (ZU_VERB.match(text, v.start()) or noun):
                comma = text.find(",", v.end(), e)
                if comma > 0 and len(text[v.end():comma].split()) <= 12:
                    c = strip_final_punct(text, comma + 1, e)
                    nxt = _CLAUSE_END.search(text, c[0], e)
                    if nxt:
                        c = strip_final_punct(text, c[0], nxt.start())
                    if re.search(r"(?<![\wäöü])zu\s+[\wäöü]+n\b|\w+zu\w+en\b", text[c[0]:c[1]]):
                        content, kind = c, "zu"
            if content is None:
                continue
            if noun:
                # "Der Verdacht, er sei infiziert worden, bestätigte sich nicht": the main clause
                # resumes after the content with its verb.
                resume = _MAIN_CLAUSE_RESUMES.search(text, content[0], content[1])
                if resume is not None:
                    content = strip_final_punct(text, content[0], resume.start())
            subj = _passive_agent(text, s, v) if _passive_accusation(text, s, v) else frame_subject(text, s, v.span(), e)
            claim(QuoteSpan(content[0], content[1], "indirect", Frame(v.span(), subj, kind)))

    # 5. Direct quotes not inside an indirect/mixed quote.
    prev: QuoteSpan | None = None
    for mk in marks:
        if _overlaps((mk.start, mk.end), skip):
            continue
        naming = None
        if not is_speechlike(text, mk):
            naming = fragment_frame(text, sentences, mk, p_start)
            if naming is None:
                continue
        if _inside((mk.start, mk.end), claimed):
            prev = None
            continue
        q = QuoteSpan(mk.start, mk.end, "direct", Frame(), [] if mk.balanced else ["unbalanced_quote"])
        if naming is not None and naming.kind != "handover":
            q.frame = naming
            claim(q)
            prev = q
            continue
        k_end = _sentence_of(sentences, max(mk.end - 1, mk.start))
        sent_end = sentences[k_end][1] if sentences else p_end
        # The frame after the quote runs to the next sentence end outside the quote.
        after_limit = p_end
        stop = _SENTENCE_STOP.search(text, mk.end, p_end)  # not a slice: that copies the paragraph's rest
        if stop:
            after_limit = stop.end()
        after_limit = max(min(after_limit, p_end), mk.end)
        m = re.match(rf"\s*,?\s*(?P<verb>{_SPEECH_VERB}|so)(?![\wÄÖÜäöüß])", text[mk.end:after_limit], re.IGNORECASE)
        k_start = _sentence_of(sentences, mk.start)
        sent_start = sentences[k_start][0] if sentences else p_start
        before = text[sent_start:mk.start]
        if m and m.group("verb")[0].islower():
            verb = (mk.end + m.start("verb"), mk.end + m.end("verb"))
            q.frame = Frame(verb, np_after_verb(text, verb[1], after_limit), "after")
        elif re.search(r":\s*$", before):
            verbs = [v for v in SPEECH_VERB.finditer(text, sent_start, mk.start) if not _inside(v.span(), mark_spans)]
            if verbs:
                v = verbs[-1]
                q.frame = Frame(v.span(), frame_subject(text, sent_start, v.span(), mk.start), "before")
            else:
                # Verbless frame: "Bundesinnenminister Schäuble: „…“" (the name alone before the colon).
                colon = sent_start + before.rstrip().rfind(":")
                np_ = np_at(text, sent_start, colon)
                if np_ is not None and np_[1] == len(text[:colon].rstrip()) and np_[0] == _skip_space(text, sent_start, colon) \
                        and _is_nominative_like(text, np_) and not PRONOUN.fullmatch(text[np_[0]:np_[1]]):
                    q.frame = Frame(None, np_, "before")
        if q.frame.kind == "none" and before.strip():
            # "Schüssel würdigte Ligeti als „…“": a statement verb earlier in the same sentence.
            verbs = [v for v in STATEMENT_VERB.finditer(text, sent_start, mk.start)
                     if not _inside(v.span(), mark_spans) and v.group()[:1].islower()]
            if verbs:
                v = verbs[-1]
                subj = frame_subject(text, sent_start, v.span(), mk.start)
                if subj is not None:
                    q.frame = Frame(v.span(), subj, "before")
        if q.frame.kind == "none" and re.search(r":\s*$", before):
            # "Der Ermittler will seine Arbeit einstellen: „…“": no reporting verb, but the colon hands
            # the quote to the sentence's subject.
            subj = colon_subject(text, sent_start, sent_start + before.rstrip().rfind(":"))
            if subj is not None:
                q.frame = Frame(None, subj, "before")
        if q.frame.kind == "none" and not before.strip() and k_start > 0:
            q.frame = colon_frame(text, sentences[k_start - 1]) or q.frame
        if q.frame.kind == "none" and prev is not None and prev.frame.mention is not None:
            # Continuation: nothing but the previous quote's own frame lies between them.
            gap = text[prev.end:mk.start]
            prev_sentence_end = re.search(r"[.!?]\s*$", gap)
            if "\n" not in gap.strip() and (prev_sentence_end or not gap.strip()) and \
                    not claimed.starts_between(prev.end, mk.start):
                q.frame = Frame(None, prev.frame.mention, "continuation")
        if q.frame.kind == "none":
            inner = text[mk.inner[0]:mk.inner[1]].strip()
            if len(inner.split()) < 10 and not re.search(r"[.!?…]$", inner):
                # A short quoted phrase with no frame and no sentence end is a title or a name
                # („Cobra II – die wirkliche Geschichte …“), not speech.
                continue
            q.flags.append("no_speaker_frame")
        claim(q)
        prev = q
    # 6. "<sentence>. Dies bestätigte Westerwelle am Abend.": the frame points back to the sentence before.
    for k in range(1, len(sentences)):
        s, e = sentences[k]
        m = ANAPHORIC_FRAME.match(text, s, e)
        if m is None or _overlaps(sentences[k - 1], claimed) or _overlaps((s, e), claimed):
            continue
        mention = np_after_verb(text, m.end("cue"), e)
        if mention is None or not _is_nominative_like(text, mention):
            continue
        ps, pe = sentences[k - 1]
        if _overlaps((ps, pe), mark_spans):
            continue
        content = strip_final_punct(text, ps, pe)
        if content[1] - content[0] >= 20:
            claim(QuoteSpan(content[0], content[1], "indirect", Frame(m.span("cue"), mention, "anaphoric")))
    found.sort(key=lambda q: q.start)
    return found


# --- free indirect continuations ----------------------------------------------------------

#: Konjunktiv I forms: outside quotes in news text they all but always mark reported speech
#: ("Er sei bereit", "Es gebe keine Pläne").
KONJUNKTIV_I = re.compile(
    r"(?<![\wÄÖÜäöüß-])(?:sei|seien|habe|werde|könne|müsse|dürfe|wolle|solle|gebe|liege|stehe|gehe|komme|"
    r"bleibe|brauche|handle|handele|bestehe|fehle|diene|zeige|trage|lasse|wisse|sehe|verfüge|befinde|plane|"
    r"arbeite|erwarte|benötige|halte|stamme|betrage|belaufe|entspreche|bedeute|erscheine|existiere|gelte|"
    r"führe|mache|nehme|erhalte|reiche|treffe|habe|wachse|sinke|steige|falle|laufe|freue|glaube|hoffe|wünsche|"
    r"unterstütze|lehne|biete|kenne|nutze|setze|suche|bringe|denke|finde|folge|fühle|helfe|kämpfe|leide|"
    r"verstehe|vertrete|verlange|fordere|rechne|spiele|zahle|koste|wirke|trete|sitze|lebe|drohe|beginne|"
    r"gelinge|vermöge|bedürfe|verdiene|ziele|richte|hänge|spreche|warte|achte|sorge|prüfe|teile|werde|"
    # more common verbs, 3rd person singular Konjunktiv I (in -te only where the stem ends in t:
    # the past tense of those is -tete)
    r"rate|ruhe|gehöre|erfolge|entstehe|ergebe|verursache|betreffe|lohne|passe|beruhe|ende|enthalte|erlaube|"
    r"ermögliche|fördere|gefährde|genüge|leiste|liefere|löse|schade|schaffe|schütze|sichere|stelle|stimme|tue|"
    r"verbessere|verfolge|verhindere|verlasse|verliere|vermeide|versuche|wähle|weigere|wohne|ziehe|zähle|"
    r"beabsichtige|bemühe|bestimme|betone|bezweifle|bilde|dauere|empfehle|entscheide|entwickle|erkenne|erkläre|"
    r"erreiche|fürchte|gewinne|greife|lege|melde|nenne|rede|sage|schreibe|schließe|stütze|verkaufe|vermute|"
    r"vertraue|verweise|warne|weise|wende|zwinge|gewähre|ändere|begrüße|bestätige|bestreite|beziehe|entfalle|"
    r"erhöhe|erwäge|akzeptiere|basiere|funktioniere|garantiere|profitiere|reagiere|reduziere|respektiere|"
    r"riskiere|toleriere|kritisiere|informiere|investiere|kontrolliere|produziere|ignoriere|dominiere|"
    r"bewege|besitze|beweise|gebe|nütze|nutze|laufe|schwebe|sterbe|überlege|übernehme|unterstütze|verfüge|"
    r"verzichte|vorbereite|wirke|zögere|herrsche|lasse|liege|mangle|mangele|scheitere|sinke|stecke|stamme|"
    r"befürworte|berichte|beschäftige|bedrohe|bewerte|erfülle|ermittle|fahre|fließe|gestehe|kehre|leugne|"
    r"rechtfertige|sammle|schicke|schweige|stoße|verbiete|verfehle|verletze|vermisse|verstoße|verteidige|"
    r"verweigere|weiche|wiege|überwiege|erfahre|spüre|strebe|trenne)"
    r"(?![\wÄÖÜäöüß])")
#: Konjunktiv II and hearsay modals: reported speech only when they carry on a frame
#: ("Die Lage könnte sich verschärfen" after "sagte Miller").
KONJUNKTIV = re.compile(
    r"(?<![\wÄÖÜäöüß-])(?:hätte|hätten|wäre|wären|würde|würden|könnte|könnten|müsste|müssten|dürfte|dürften|"
    r"wollten|sollten|gäbe|gäben|soll|sollen|seien|sei)(?![\wÄÖÜäöüß])")
#: Verbs whose subject is the likely source of following free indirect speech.
STATEMENT_VERB = re.compile(
    rf"(?<![\wÄÖÜäöüß-])(?:{_SPEECH_VERB}|würdigt(?:e|en)?|schildert(?:e|en)?|bittet|bat(?:en)?|lobt(?:e|en)?|"
    r"verurteilt(?:e|en)?|beschreibt|beschrieb(?:en)?|erläutert(?:e|en)?|informiert(?:e|en)?|appelliert(?:e|en)?|"
    r"vermeldet(?:e|en)?|begrüßt(?:e|en)?|wertet(?:e|en)?|kommentiert(?:e|en)?|präsentiert(?:e|en)?|"
    r"veröffentlicht(?:e|en)?|berichten|sagen|erklären|fordern|kritisieren|warnen|sehen|sprechen)(?![\wÄÖÜäöüß])")


_DASS_AFTER_FRAME = re.compile(r",\s+(?P<conj>dass|daß)\s")


_ICH = re.compile(r"(?<![\wÄÖÜäöüß-])[Ii]ch(?![\wÄÖÜäöüß-])")


def _first_person(text: str, span: Span) -> bool:
    """"Ich lehne sie ab": with "ich" next to it, a form in -e is indicative, not Konjunktiv I."""
    before = text[max(0, span[0] - 40):span[0]].split()
    after = text[span[1]:span[1] + 20].split()
    return bool(before and _ICH.fullmatch(before[-1]) or after and _ICH.fullmatch(after[0].strip(",.;:!?")))


_HEARSAY_PERFECT = re.compile(r"(?<![\wÄÖÜäöüß-])(?:haben|sein|worden)(?=\s*[.!?,;]|\s*$)")


def free_indirect(text: str, sentences: Sequence[Span], quotes: list[QuoteSpan], skip: list[Span]) -> list[QuoteSpan]:
    """Konjunktiv sentences without a cue of their own that report someone's speech.

    "Miller sagte, die Lage sei ernst. Es gebe keine Pläne." — the second sentence is still
    Miller's (a free indirect continuation): its mention is the frame it continues, its cue None.
    A chain of such sentences continues the same frame (one quote per paragraph); Konjunktiv II and hearsay modals count
    only inside such a chain. A Konjunktiv I sentence after a sentence without a quote
    ("Das Institut sieht keine Gefahr. Nur Halter von Geflügel seien gefährdet.") takes the
    subject of that sentence's statement verb as its mention, or none.
    """
    out: list[QuoteSpan] = []
    prev: QuoteSpan | None = None
    last: Span | None = None
    recent: tuple[Span, int] | None = None  # latest quote mention and its sentence number
    # Indexed once: the quotes of each sentence by bisection, not by a scan over all of them.
    quote_spans = SpanList((q.start, q.end) for q in quotes)
    skip = SpanList(skip)
    for k, (s, e) in enumerate(sentences):
        if _overlaps((s, e), skip):
            prev, last = None, None
            continue
        covering = [quotes[i] for i in quote_spans.overlapping(s, e)]
        with_mention = [q for q in covering if q.frame.mention is not None]
        if with_mention:
            recent = (max(with_mention, key=lambda q: q.end).frame.mention, k)
        # A Konjunktiv sentence whose only quote is a frameless fragment inside it is reported
        # speech as a whole: "Die Lage sei „äußerst ernst“." is one mixed quote, not a direct one.
        fragment_only = bool(covering) and all(
            q.type == "direct" and q.frame.kind in ("none", "continuation") and s < q.start and q.end <= e
            and len(text[s:q.start].split()) >= 2 for q in covering)
        if covering and not fragment_only:
            prev, last = max(covering, key=lambda q: q.end), (s, e)
            continue
        marks = find_quote_marks(text, s, e)
        mark_spans = [(mk.start, mk.end) for mk in marks]
        content = (s, e) if text[e - 1:e] in ".!?" else strip_final_punct(text, s, e)
        # A sentence with a reporting verb of its own has its own frame (and maybe another speaker).
        own_frame = any(not _inside(v.span(), mark_spans) for v in SPEECH_VERB.finditer(text, s, e))
        strong = next((m for m in KONJUNKTIV_I.finditer(text, s, e)
                       if not _inside(m.span(), mark_spans) and not _first_person(text, m.span())), None)
        weak = next((m for m in KONJUNKTIV.finditer(text, s, e) if not _inside(m.span(), mark_spans)
                     and m.group() not in ("wollten", "sollten")), None)
        mention: Span | None = None
        ok = False
        if own_frame or content[1] - content[0] < 15 or text[content[1]:content[1] + 1] == "?":
            ok = False
        elif prev is not None and (strong or weak):
            ok, mention = True, prev.frame.mention
        elif strong is None and weak is not None and weak.group() in ("soll", "sollen") and \
                _HEARSAY_PERFECT.search(text, weak.end(), e) and recent is not None and recent[1] >= k - 2:
            # "Er soll … verholfen haben." right after a sourced report: hearsay from that source.
            ok, mention = True, recent[0]
        elif strong is not None:
            ok = True
            if last is not None:
                v = next((m for m in STATEMENT_VERB.finditer(text, *last)), None)
                if v is not None:
                    mention = frame_subject(text, last[0], v.span(), last[1])
            if mention is None and recent is not None and recent[1] >= k - 3:
                # No statement just before: the speaker of the latest quote a few sentences back.
                mention = recent[0]
        if not ok:
            if covering:
                prev, last = max(covering, key=lambda q: q.end), (s, e)
            else:
                prev, last = None, (s, e)
            continue
        if covering:
            # The fragment is replaced by the whole sentence, which must contain it entirely.
            content = (min(content[0], *(q.start for q in covering)), max(content[1], *(q.end for q in covering)))
            if mention is None:
                mention = covering[0].frame.mention
        dm = None if covering else _DASS_AFTER_FRAME.search(text, content[0], content[1])
        if dm is not None and len(text[content[0]:dm.start()].split()) >= 3:
            # "Der Arzt hat sich zuversichtlich gezeigt, dass er spielen könne": the clause after
            # an unlisted verb of saying is the content, the verb's subject the mention.
            words = list(_WORD.finditer(text, content[0], dm.start()))
            verb = words[-1].span()
            subj = frame_subject(text, s, verb, e)
            c = strip_final_punct(text, dm.start("conj"), content[1])
            q = QuoteSpan(c[0], c[1], "mixed" if any(c[0] <= sp[0] and sp[1] <= c[1] for sp in mark_spans)
                          else "indirect", Frame(verb, subj, "before"), [],
                          [sp for sp in mark_spans if c[0] <= sp[0] and sp[1] <= c[1]])
            out.append(q)
            prev, last = None, (s, e)
            continue
        inner = [sp for sp in mark_spans if content[0] <= sp[0] and sp[1] <= content[1]]
        flags = ["unbalanced_quote"] if any(not mk.balanced for mk in marks) else []
        if prev is not None and out and prev is out[-1] and not covering and \
                prev.frame.mention == mention and not text[prev.end:content[0]].count("\n"):
            # A chain of reported sentences in one paragraph is one quote, as SpkAtt annotates it.
            prev.end = content[1]
            prev.fragments += inner
            prev.flags = sorted(set(prev.flags) | set(flags))
            if inner:
                prev.type = "mixed"
            last = (s, e)
            continue
        q = QuoteSpan(content[0], content[1], "mixed" if inner else "indirect",
                      Frame(None, mention, "continuation"), flags, inner)
        out.append(q)
        if mention is not None:
            recent = (mention, k)
        prev, last = q, (s, e)
    return out


_INVERTED_PRONOUN = re.compile(r"[A-ZÄÖÜ][\wäöüß]*\s+[a-zäöüß]+\s+(?P<pron>er|sie)(?![\wÄÖÜäöüß])")


def colon_subject(text: str, sent_start: int, colon: int) -> Span | None:
    """The subject of a sentence that hands over to a quote with a colon but has no reporting verb:
    a nominative noun phrase opening the sentence and followed by its finite verb ("Der Ermittler
    will …:"), or a pronoun right after the verb of an inverted clause ("Dabei griff sie … an:")."""
    i = _skip_space(text, sent_start, colon)
    inv = _INVERTED_PRONOUN.match(text, i, colon)
    if inv and text[i:inv.start("pron")].split()[0] not in _NOT_CLAUSE_START:
        return inv.span("pron")
    fw = _first_word(text, i, colon)
    if fw is None or fw[0] in STARTERS or fw[0] in SUBORDINATORS or fw[0] in CONJUNCTIONS or \
            fw[0].lower() in SUBORDINATORS or fw[0] in _NOT_CLAUSE_START:
        return None
    span = np_at(text, i, colon)
    if span is None or not _is_nominative_like(text, span) or text[span[0]:span[1]].split()[0] in {"Dem", "Den", "Des"}:
        return None
    nxt = _first_word(text, span[1], colon)
    if nxt is None or not nxt[0][:1].islower() or nxt[0] in _DET_WORDS or nxt[0] in _NOT_CLAUSE_START:
        return None
    return span


def colon_frame(text: str, sentence: Span) -> Frame | None:
    """The frame of a sentence ending in a colon ("Einer der Helfer sagte:"), for the quote after it."""
    ps, pe = sentence
    if not re.search(r":\s*$", text[ps:pe]):
        return None
    verbs = [v for v in STATEMENT_VERB.finditer(text, ps, pe) if v.group()[:1].islower()]
    if not verbs:
        return None
    v = verbs[-1]
    return Frame(v.span(), frame_subject(text, ps, v.span(), pe), "before")

"""The compiled patterns and word sets of the quote rules, built from a `Lexicon`.

Each pattern is the grammar of one construction (look-arounds, groups, the order of its parts)
around one or more word lists; the lists come from the lexicon files, in file order, so the
patterns match exactly what the rules were written and measured with. A list's alternation is
laid out by first letter (`grouped_alt`: the same strings, the same first-match order, about four
times fewer steps for the regex engine on a list of hundreds of verbs). Everything here is built
once per lexicon (`toolkit.lexicon.patterns`) and shared; each pattern is compiled on first use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from toolkit.lexicon.load import Lexicon

#: Word boundaries the rules use: a word is letters, digits, umlauts, ß (and "-" before it).
WB_BEFORE = r"(?<![\wÄÖÜäöüß-])"
WB_AFTER = r"(?![\wÄÖÜäöüß])"
#: The character WB_BEFORE accepts before a word, as a consumed character: a pattern that opens
#: with it lets the engine skip to the next such character in one C loop, where a look-behind is
#: tried at every position ("…_AFTER" patterns, searched from one character before the span).
AFTER_NON_WORD = r"[^\wÄÖÜäöüß-]"
#: A capitalised name token (speaker names, "Vize-Außenminister Kim Hong-kyun").
NAME_TOKEN = r"[A-ZÄÖÜ][a-zäöüßéèáíóúñçë]+(?:-[A-Za-zäöüß]+)?"

#: First letters whose case partners are one class under re.IGNORECASE: distinct lower-case forms,
#: distinct classes, so entries grouped by `str.lower()` of their first letter never compete.
_PLAIN_LETTER = "A-Za-zÄÖÜäöüß"
_FIRST_LETTER = re.compile(rf"(?:([{_PLAIN_LETTER}])|\[([{_PLAIN_LETTER}]+)\])(?![?*{{])")


def _top_level_bar(entry: str) -> bool:
    """Whether `entry` holds a "|" outside any group or class ("a|b", not "sagt(?:e|en)?")."""
    depth, i, in_class = 0, 0, False
    while i < len(entry):
        ch = entry[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class, i = True, i + 1
            i += entry[i:i + 1] == "^"
            i += entry[i:i + 1] == "]"  # a "]" first in a class is a literal
            continue
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif ch == "|" and depth == 0:
            return True
        i += 1
    return False


def _first_letter(entry: str) -> str | None:
    """The letter every match of `entry` starts with, lower-cased ("sagt(?:e|en)?" -> "s",
    "[Aa]ngaben" -> "a"); None when that is not plain to see (an escape, a group, another class,
    an optional first letter, an alternation at the top level)."""
    m = _FIRST_LETTER.match(entry)
    if m is None or _top_level_bar(entry):
        return None
    letters = {c.lower() for c in (m.group(1) or m.group(2))}
    return letters.pop() if len(letters) == 1 else None


def grouped_alt(entries: Sequence[str]) -> str:
    """The alternation of `entries`, laid out by first letter: "(?:sagt…|sprach…)|(?:erklärt…)|…".

    It matches what "|".join(entries) matches, in any context and with or without IGNORECASE:
    at a given position only the group of that letter can match, and inside a group the entries
    keep their file order, so the engine tries the same entries in the same order (the first that
    fits wins, as before). What changes is the work: the engine fails a group at its first letter
    instead of each of its entries (tests/test_lexicon.py compares the matches on real text). When
    one entry's first letter is not plain to see, the list is joined as it is."""
    keys = [_first_letter(e) for e in entries]
    if None in keys or len(set(keys)) == len(keys):
        return "|".join(entries)
    groups: dict[str | None, list[str]] = {}
    for key, entry in zip(keys, entries):
        groups.setdefault(key, []).append(entry)
    return "|".join(g[0] if len(g) == 1 else "(?:" + "|".join(g) + ")" for g in groups.values())


def _alt(lx: Lexicon, name: str) -> str:
    """A list as one alternation for the patterns (`grouped_alt`)."""
    return grouped_alt(lx.lists[name].entries)


class Patterns:
    """Compiled patterns (upper case, as the rules name them) and word sets of one lexicon."""

    lexicon: Lexicon

    # cue verbs
    SPEECH_VERB_ALT: str
    CORE_VERB_ALT: str
    SPEECH_VERB: re.Pattern[str]
    SPEECH_VERB_LOWER: re.Pattern[str] | None
    SPEECH_VERB_LOWER_AFTER: re.Pattern[str] | None
    CORE_VERB: re.Pattern[str]
    TRAILING_FRAME: re.Pattern[str]
    SPEECH_AFTER: re.Pattern[str]
    SPEECH_AFTER_QUOTE: re.Pattern[str]
    STATEMENT_VERB: re.Pattern[str]
    ANAPHORIC_FRAME: re.Pattern[str]
    NAMING_VERB: re.Pattern[str]
    ZU_VERB: re.Pattern[str]
    ZU_VERB_OR_NOUN_AFTER: re.Pattern[str]
    INFINITIVE_CUES: frozenset[str]
    CUE_WORD: re.Pattern[str]
    SPEECH_GATE: re.Pattern[str]
    PASSIVE_PARTICIPLE: frozenset[str]
    # Konjunktiv
    KONJUNKTIV_I: re.Pattern[str]
    KONJUNKTIV: re.Pattern[str]
    KONJUNKTIV_ANY: re.Pattern[str]
    # nouns of saying
    SAY_NOUN: str
    NACH_FRAME: re.Pattern[str]
    NACH_POST: re.Pattern[str]
    NACH_POST_IN_RUNS: bool
    SPEECH_NOUN: re.Pattern[str]
    REPORT_NOUN: re.Pattern[str]
    # noun phrases and speakers
    NP: re.Pattern[str]
    APPOSITION: re.Pattern[str]
    ADVERB_LIKE: re.Pattern[str]
    NOT_A_SPEAKER: frozenset[str]
    STARTERS: frozenset[str]
    ADVERBS: frozenset[str]
    ROLE_NOUN: str
    ROLE_THEN_NAME: re.Pattern[str]
    ROLE_CANDIDATE: re.Pattern[str] | None
    NAME_THEN_APPOSITION: re.Pattern[str]
    ORG_HEAD: re.Pattern[str]
    # clauses
    PARTICLE_COMMA: re.Pattern[str]
    SO_SOURCE_TAIL: re.Pattern[str]
    TEMPORAL_BEFORE_NACH: frozenset[str]
    AUX: re.Pattern[str]
    AUX_WORD: re.Pattern[str]
    RELATIVE: re.Pattern[str]
    SUBCLAUSE_START: re.Pattern[str]
    MAIN_CLAUSE_RESUMES: re.Pattern[str]
    DET_WORDS: frozenset[str]
    SUBORDINATORS: frozenset[str]
    CONJUNCTIONS: frozenset[str]
    NOT_CLAUSE_START: frozenset[str]
    SUBORDINATE_OPENERS: frozenset[str]
    CLAUSE_SUBJECTS: frozenset[str]
    PREP_BEFORE_NAME: frozenset[str]

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        _cue_verbs(self, lexicon)
        _konjunktiv_and_nouns(self, lexicon)
        _noun_phrases(self, lexicon)
        _clauses(self, lexicon)
        # The builders leave each pattern as its source; it is compiled on first use (`__getattr__`).
        self._sources: dict[str, _Source] = {k: v for k, v in vars(self).items() if isinstance(v, _Source)}
        for name in self._sources:
            del self.__dict__[name]

    def __getattr__(self, name: str) -> Any:
        """A pattern compiled on first use and kept: compiling all of them is a tenth of a CPU-second
        of every `qst extract` start, and an article that never reaches a construction never needs
        its pattern; the compiled form of all of them is kept in toolkit.cache (`_from_cache`). Called only for
        a name not (yet) in the instance's __dict__."""
        sources = self.__dict__.get("_sources")
        if sources is None or name not in sources:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        compiled = self._from_cache().get(name) or re.compile(*sources[name])
        self.__dict__[name] = compiled
        return compiled

    def _from_cache(self) -> dict[str, re.Pattern[str]]:
        """All the patterns of this lexicon from their compiled form in toolkit.cache (read once, 0.01
        CPU-s; the same pattern objects as `re.compile` gives), or {} when they are not all to be had
        (a pattern that does not compile: `re.compile` then names the error)."""
        found = self.__dict__.get("_cached")
        if found is None:
            from toolkit import cache

            found = self.__dict__["_cached"] = cache.compiled_patterns("patterns", dict(self.__dict__["_sources"]))
        return found

    def pattern_names(self) -> tuple[str, ...]:
        """The names of the compiled patterns (the rest are strings and word sets)."""
        return tuple(self._sources)


class _Source(NamedTuple):
    """A pattern not compiled yet: `re.compile`'s arguments."""

    pattern: str
    flags: int = 0


def _source(pattern: str, flags: int = 0) -> Any:
    """What a builder assigns for a pattern (typed Any: the attribute reads as the compiled pattern)."""
    return _Source(pattern, flags)


def _words(lx: Lexicon, name: str) -> str:
    """A list as a word-bounded alternation."""
    return rf"{WB_BEFORE}(?:{_alt(lx, name)}){WB_AFTER}"


def _cue_verbs(p: Patterns, lx: Lexicon) -> None:
    speech, core = _alt(lx, "speech_verbs"), _alt(lx, "clause_verbs")
    p.SPEECH_VERB_ALT, p.CORE_VERB_ALT = speech, core
    p.SPEECH_VERB = _source(rf"{WB_BEFORE}(?:{speech}){WB_AFTER}", re.IGNORECASE)
    p.CORE_VERB = _source(rf"{WB_BEFORE}(?:{core}){WB_AFTER}")
    p.TRAILING_FRAME = _source(
        rf",\s*(?:(?:das|dies)\s+(?={core}))?(?P<cue>{core}|so)(?:\s+|(?=[.!?:]?\s*$))"
        r"(?P<rest>[^,.;:!?]*(?:,[^,.;:!?]*)?)[.!?:]?\s*$")
    p.SPEECH_AFTER = _source(rf"\s*,\s*(?:{speech}){WB_AFTER}")
    p.SPEECH_AFTER_QUOTE = _source(rf"\s*,?\s*(?P<verb>{speech}|so){WB_AFTER}", re.IGNORECASE)
    p.SPEECH_VERB_LOWER = _source(p.SPEECH_VERB.pattern.lower()) if _plain(lx, "speech_verbs") else None
    # The same with the word start's look-behind a consumed character (`AFTER_NON_WORD`: a class
    # the engine skips to; toolkit.attribution.frames.verb.speech_verbs).
    p.SPEECH_VERB_LOWER_AFTER = _source(rf"{AFTER_NON_WORD}(?:{speech}){WB_AFTER}".lower()) \
        if _plain(lx, "speech_verbs") else None
    p.STATEMENT_VERB = _source(rf"{WB_BEFORE}(?:{speech}|{_alt(lx, 'statement_verbs')}){WB_AFTER}")
    p.ANAPHORIC_FRAME = _source(rf"(?:Dies|Das|Dieses)\s+(?P<cue>{core}|{_alt(lx, 'anaphoric_verbs')}){WB_AFTER}")
    p.NAMING_VERB = _source(_words(lx, "naming_verbs"))
    p.ZU_VERB = _source(_words(lx, "zu_verbs"))
    # Whether ZU_VERB or SPEECH_NOUN matches in text[s:e]: one search from s - 1 (frames.verb.frame_verbs).
    p.ZU_VERB_OR_NOUN_AFTER = _source(
        rf"{AFTER_NON_WORD}(?:(?:{_alt(lx, 'zu_verbs')}){WB_AFTER}|(?:{_alt(lx, 'speech_nouns')})(?=,\s))")
    p.INFINITIVE_CUES = lx.words("infinitive_cues")
    # One pass for the sentence gate (toolkit.attribution.quotes.may_hold_speech): wherever
    # SPEECH_VERB, CORE_VERB, ZU_VERB or SPEECH_NOUN match, this matches too (the union of their
    # entries, word-bounded, in any case), so a sentence it finds nothing in has no verb frame.
    cue_entries = [e for name in ("speech_verbs", "clause_verbs", "zu_verbs", "speech_nouns")
                   for e in lx.lists[name].entries]
    p.CUE_WORD = _source(rf"{WB_BEFORE}(?:{grouped_alt(cue_entries)}){WB_AFTER}", re.IGNORECASE)
    p.SPEECH_GATE = _source(*_lowered_gate(cue_entries))
    p.PASSIVE_PARTICIPLE = lx.words("passive_participles")


#: The fixed words of the per-sentence frames, outside the lexicon, lower-cased for the sentence
#: gate (toolkit.attribution.quotes.may_hold_speech; a pattern of its own beside `SPEECH_GATE`):
#: laut/gemäß (prep.SOURCE_NOUN_PREP), nach (prep.NACH_FRAME, NACH_POST, WONACH, Demnach, Danach),
#: zufolge (ZUFOLGE, Demzufolge) and ", so" (TRAILING_FRAME, also after "das"/"dies").
GATE_FRAME_WORDS = r"laut|gemäß|nach|zufolge|,\s*(?:(?:das|dies)\s+)?so"
#: Characters on which lower-casing and IGNORECASE agree exactly (`SPEECH_GATE`, `SPEECH_VERB_LOWER`):
#: ASCII, the German letters and case-less punctuation of news text. Any other character in a
#: sentence (é, ſ, ı, the Kelvin sign, Greek, …; 2 % of SpkAtt's sentences) sends it to the exact
#: patterns. tests/test_quotes.py checks each character against the regex engine's own case folding.
CASE_SAFE = "\\x00-\\x7fÄÖÜäöüß„“”‚‘’–—…«»·•€§°´′×"
NOT_CASE_SAFE = re.compile(f"[^{CASE_SAFE}]")
#: An entry that reads the same lower-cased: letters of ASCII and German, spaces, groups "(?:",
#: "|", quantifiers, and the escapes \w \s \d \b (which lower-casing leaves as they are).
_PLAIN_ENTRY = re.compile(r"(?:[A-Za-zÄÖÜäöüß ()|?*+{},0-9]|\(\?:|\\[wsdb])*")


def _plain(lx: Lexicon, name: str) -> bool:
    """Whether every entry of a list reads the same lower-cased (`_PLAIN_ENTRY`)."""
    return all(_PLAIN_ENTRY.fullmatch(e) for e in lx.lists[name].entries)


def _lowered_gate(cue_entries: Sequence[str]) -> tuple[str, int]:
    """`SPEECH_GATE`: a cue word, as one pattern over " " + the lower-cased sentence.

    On text that holds no character but those `quotes.may_hold_speech` lets through (ASCII, German
    letters, case-less punctuation), matching under IGNORECASE and matching the lower-cased text
    case-sensitively with lower-cased entries are the same thing, and the second is about seven
    times cheaper (the engine compares every character through its case folding otherwise). An
    entry that is not plain (`_PLAIN_ENTRY`) keeps IGNORECASE: slower, but the same matches on
    lower-cased text. The look-behind of a word start is a consumed character of its class
    instead (hence the " " before the sentence, which stands for its start): a pattern that opens
    with a character class lets the engine skip to the next character of that class in one C loop
    instead of trying the look-behind and the list at every position."""
    cue = rf"{AFTER_NON_WORD}(?:{grouped_alt(cue_entries)}){WB_AFTER}"
    if all(_PLAIN_ENTRY.fullmatch(e) for e in cue_entries):
        return cue.lower(), 0
    return cue, re.IGNORECASE


def _konjunktiv_and_nouns(p: Patterns, lx: Lexicon) -> None:
    p.KONJUNKTIV_I = _source(_words(lx, "konjunktiv_i"))
    p.KONJUNKTIV = _source(_words(lx, "konjunktiv_ii"))
    # Whether text[s:e] holds a match of either: one search from s - 1, the word start's
    # look-behind a consumed character (toolkit.attribution.frames.free_indirect.has_konjunktiv).
    p.KONJUNKTIV_ANY = _source(rf"{AFTER_NON_WORD}(?:{_alt(lx, 'konjunktiv_i')}|{_alt(lx, 'konjunktiv_ii')}){WB_AFTER}")
    p.SAY_NOUN = rf"[\wÄÖÜäöüß-]*(?:{_alt(lx, 'say_nouns')})"
    nach_det = (r"(?:(?:deren|dessen|seine[nmr]?|ihre[nmr]?|eigene[nmr]?|den|dem|der|einem|einer|eine[nmr]?|"
                r"[a-zäöü][\wäöüß]*(?:en|er|em))\s+){0,3}")
    p.NACH_FRAME = _source(rf"{WB_BEFORE}(?P<cue>[Nn]ach)\s+(?P<noun>{nach_det}{p.SAY_NOUN}){WB_AFTER}")
    p.NACH_POST = _source(
        rf"{WB_BEFORE}(?P<noun>(?:[Dd]em\s+Vernehmen|{nach_det}{p.SAY_NOUN}))\s+(?P<cue>nach){WB_AFTER}")
    # Every NACH_POST match is then made of word characters, "-" and white space alone
    # (toolkit.attribution.frames.prep.nach_post_matches scans only such runs that hold "nach").
    p.NACH_POST_IN_RUNS = all(_LETTER_ENTRY.fullmatch(e) for e in lx.lists["say_nouns"].entries)
    p.SPEECH_NOUN = _source(rf"{WB_BEFORE}(?:{_alt(lx, 'speech_nouns')})(?=,\s)")
    p.REPORT_NOUN = _source(rf"(?:{_alt(lx, 'report_nouns')})")


def _noun_phrases(p: Patterns, lx: Lexicon) -> None:
    det = f"(?:{_alt(lx, 'determiners')})"
    not_adj = rf"(?!(?:{_alt(lx, 'not_adjectives')})(?![\wäöüß-]))"
    adj = (rf"(?:{not_adj}[a-zäöüß][\wäöüß-]*(?:e|en|er|es|em)|US-amerikanische[nrs]?|"
           r"[A-ZÄÖÜ][\wäöüß]*-[a-zäöüß][\wäöüß-]*(?:e|en|er|es))")
    # A capitalised word, a web address, or a quoted name of up to five words ("Die Zeitung „Yemen Observer“").
    noun = (r"(?:[a-z][\w-]*\.(?:de|com|org|net|at|ch|eu|info)(?![\w.])|(?:al-|el-|as-|ad-)?[A-ZÄÖÜ]"
            r"[\wÄÖÜäöüßéèáíóúñçë'’.-]*|„[A-ZÄÖÜ0-9][^„“”\"\s.,:;!?]*(?:\s[^„“”\"\s.,:;!?]+){0,4}“)")
    core = rf"(?:{det}\s+)?(?:{adj}\s+){{0,3}}{noun}(?:\s+{noun}){{0,3}}"
    paren = r"(?:\s*\([^()\n,.;:]{1,30}\))?"  # "Matthias Berninger (Grüne)", "(IGDRB)"
    connect = r"(?:aus|von|vom|und|der|des|für|im|in(?=\s+[A-ZÄÖÜ]))"  # "in" only before a bare name
    p.NP = _source(rf"{core}{paren}(?:\s+{connect}\s+(?!(?:einem|einer|eine|einen)\s){core}{paren})*")
    p.APPOSITION = _source(
        rf",\s+(?:(?:{det}\s+)?(?:{adj}\s+){{0,3}}{noun}(?:\s+(?:{connect}\s+)?(?:{det}\s+)?(?:{adj}\s+){{0,2}}"
        rf"{noun}){{0,4}})(?=\s*(?:[,:]|[.!?](?:\s|$)))")
    p.ADVERB_LIKE = _source(_alt(lx, "adverb_like"))
    p.NOT_A_SPEAKER = lx.words("not_a_speaker")
    p.STARTERS = lx.words("clause_starters")
    p.ADVERBS = lx.words("after_verb")
    p.ROLE_NOUN = rf"(?:[\wÄÖÜäöüß-]*(?:{_alt(lx, 'role_nouns')}))"
    p.ROLE_THEN_NAME = _source(rf"\b{p.ROLE_NOUN}\s+(?P<name>{NAME_TOKEN}(?:\s+{NAME_TOKEN}){{0,2}})")
    p.ROLE_CANDIDATE = _role_candidate(lx)
    p.NAME_THEN_APPOSITION = _source(
        rf"(?P<name>{NAME_TOKEN}(?:\s+{NAME_TOKEN}){{1,2}}),\s+(?:der|die)\s+(?:[\wÄÖÜäöüß-]+\s+){{0,2}}{p.ROLE_NOUN}")
    p.ORG_HEAD = _source(rf"({_alt(lx, 'organisation_heads')})\b")


#: A role-noun entry whose every match is a non-empty run of letters: letters, classes of letters,
#: groups "(?:", "|" and "?" ("[Mm]inister(?:in)?", "[Vv]orsitzende[rn]?").
_LETTER_ENTRY = re.compile(r"(?:[A-Za-zÄÖÜäöüß]|\[[A-Za-zÄÖÜäöüß]+\]|\(\?:|[)?|])+")
_LEAD_LETTER = re.compile(r"(?:[A-Za-zÄÖÜäöüß]|\[[A-Za-zÄÖÜäöüß]+\])(?=[A-Za-zÄÖÜäöüß[])")


def _role_candidate(lx: Lexicon) -> Any:
    """`ROLE_CANDIDATE`: a role noun without its first letter, then space and a capital. Every match
    of ROLE_THEN_NAME holds one, inside the run of word characters it starts in
    (toolkit.attribution.speakers.role_then_name starts from these instead of trying
    "\\b[\\w-]*" and the role nouns at every word). Without the first letter ("[Mm]") each
    alternative starts with a literal, so the engine scans for their first characters in one loop:
    a seventh of the time. None when an entry is not a plain run of letters that starts with a
    letter or a class of them and cannot end after it: then the shortcut is not shown exact."""
    rests = []
    for e in lx.lists["role_nouns"].entries:
        lead = _LEAD_LETTER.match(e)
        if lead is None or _top_level_bar(e) or not _LETTER_ENTRY.fullmatch(e):
            return None
        rests.append(e[lead.end():])
        if re.fullmatch(rests[-1], "") is not None:
            return None
    return _source(rf"(?:{grouped_alt(rests)})\s+[A-ZÄÖÜ]")


def _clauses(p: Patterns, lx: Lexicon) -> None:
    p.PARTICLE_COMMA = _source(rf"\s*(?:(?:{_alt(lx, 'before_comma')})\s+){{0,2}}(?:hinzu|mit|an|ein)?\s*,\s*")
    p.SO_SOURCE_TAIL = _source(rf"\s+(?:{_alt(lx, 'after_so_source')})$")
    p.TEMPORAL_BEFORE_NACH = lx.words("temporal_before_nach")
    aux = _alt(lx, "auxiliaries")  # whole words bounded on both sides: their order does not matter
    p.AUX = _source(rf",?\s*(?:{aux}|{_alt(lx, 'auxiliaries_after_subject')}){WB_AFTER}")
    p.AUX_WORD = _source(rf"{WB_BEFORE}(?:{aux}|{_alt(lx, 'auxiliaries_inverted')}){WB_AFTER}")
    # ", der …", ", in der …", ", nach denen …": one relative-clause opener for both patterns.
    relative = rf"(?:(?:{_alt(lx, 'relative_prepositions')})\s+)?(?:{_alt(lx, 'relative_pronouns')})"
    p.RELATIVE = _source(rf",\s+{relative}\s")
    p.SUBCLAUSE_START = _source(rf",\s+(?P<w>{relative}|{_alt(lx, 'subclause_conjunctions')})\s")
    p.MAIN_CLAUSE_RESUMES = _source(
        rf",\s+(?!(?:{_alt(lx, 'not_main_clause')})(?![\wäöüß]))(?=[a-zäöüß]+(?![\wäöüß-]))")
    p.DET_WORDS = lx.words("determiner_words")
    p.SUBORDINATORS = lx.words("subordinators")
    p.CONJUNCTIONS = lx.words("conjunctions")
    p.NOT_CLAUSE_START = lx.words("not_clause_start")
    p.SUBORDINATE_OPENERS = lx.words("subordinate_openers")
    p.CLAUSE_SUBJECTS = lx.words("clause_subjects")
    p.PREP_BEFORE_NAME = lx.words("prepositions_before_name")

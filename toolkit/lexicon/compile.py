"""The compiled patterns and word sets of the quote rules, built from a `Lexicon`.

Each pattern is the grammar of one construction (look-arounds, groups, the order of its parts)
around one or more word lists; the lists come from the lexicon files, in file order, so the
pattern strings are exactly those the rules were written and measured with. Everything here is
built once per lexicon (`toolkit.lexicon.patterns`) and shared.
"""

from __future__ import annotations

import re

from toolkit.lexicon.load import Lexicon

#: Word boundaries the rules use: a word is letters, digits, umlauts, ß (and "-" before it).
WB_BEFORE = r"(?<![\wÄÖÜäöüß-])"
WB_AFTER = r"(?![\wÄÖÜäöüß])"
#: A capitalised name token (speaker names, "Vize-Außenminister Kim Hong-kyun").
NAME_TOKEN = r"[A-ZÄÖÜ][a-zäöüßéèáíóúñçë]+(?:-[A-Za-zäöüß]+)?"


class Patterns:
    """Compiled patterns (upper case, as the rules name them) and word sets of one lexicon."""

    lexicon: Lexicon

    # cue verbs
    SPEECH_VERB_ALT: str
    CORE_VERB_ALT: str
    SPEECH_VERB: re.Pattern[str]
    CORE_VERB: re.Pattern[str]
    TRAILING_FRAME: re.Pattern[str]
    SPEECH_AFTER: re.Pattern[str]
    SPEECH_AFTER_QUOTE: re.Pattern[str]
    STATEMENT_VERB: re.Pattern[str]
    ANAPHORIC_FRAME: re.Pattern[str]
    NAMING_VERB: re.Pattern[str]
    ZU_VERB: re.Pattern[str]
    INFINITIVE_CUES: frozenset[str]
    PASSIVE_PARTICIPLE: frozenset[str]
    # Konjunktiv
    KONJUNKTIV_I: re.Pattern[str]
    KONJUNKTIV: re.Pattern[str]
    # nouns of saying
    SAY_NOUN: str
    NACH_FRAME: re.Pattern[str]
    NACH_POST: re.Pattern[str]
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


def _words(lx: Lexicon, name: str) -> str:
    """A list as a word-bounded alternation."""
    return rf"{WB_BEFORE}(?:{lx.alt(name)}){WB_AFTER}"


def _cue_verbs(p: Patterns, lx: Lexicon) -> None:
    speech, core = lx.alt("speech_verbs"), lx.alt("clause_verbs")
    p.SPEECH_VERB_ALT, p.CORE_VERB_ALT = speech, core
    p.SPEECH_VERB = re.compile(rf"{WB_BEFORE}(?:{speech}){WB_AFTER}", re.IGNORECASE)
    p.CORE_VERB = re.compile(rf"{WB_BEFORE}(?:{core}){WB_AFTER}")
    p.TRAILING_FRAME = re.compile(
        rf",\s*(?:(?:das|dies)\s+(?={core}))?(?P<cue>{core}|so)(?:\s+|(?=[.!?:]?\s*$))"
        r"(?P<rest>[^,.;:!?]*(?:,[^,.;:!?]*)?)[.!?:]?\s*$")
    p.SPEECH_AFTER = re.compile(rf"\s*,\s*(?:{speech}){WB_AFTER}")
    p.SPEECH_AFTER_QUOTE = re.compile(rf"\s*,?\s*(?P<verb>{speech}|so){WB_AFTER}", re.IGNORECASE)
    p.STATEMENT_VERB = re.compile(rf"{WB_BEFORE}(?:{speech}|{lx.alt('statement_verbs')}){WB_AFTER}")
    p.ANAPHORIC_FRAME = re.compile(rf"(?:Dies|Das|Dieses)\s+(?P<cue>{core}|{lx.alt('anaphoric_verbs')}){WB_AFTER}")
    p.NAMING_VERB = re.compile(_words(lx, "naming_verbs"))
    p.ZU_VERB = re.compile(_words(lx, "zu_verbs"))
    p.INFINITIVE_CUES = lx.words("infinitive_cues")
    p.PASSIVE_PARTICIPLE = lx.words("passive_participles")


def _konjunktiv_and_nouns(p: Patterns, lx: Lexicon) -> None:
    p.KONJUNKTIV_I = re.compile(_words(lx, "konjunktiv_i"))
    p.KONJUNKTIV = re.compile(_words(lx, "konjunktiv_ii"))
    p.SAY_NOUN = rf"[\wÄÖÜäöüß-]*(?:{lx.alt('say_nouns')})"
    nach_det = (r"(?:(?:deren|dessen|seine[nmr]?|ihre[nmr]?|eigene[nmr]?|den|dem|der|einem|einer|eine[nmr]?|"
                r"[a-zäöü][\wäöüß]*(?:en|er|em))\s+){0,3}")
    p.NACH_FRAME = re.compile(rf"{WB_BEFORE}(?P<cue>[Nn]ach)\s+(?P<noun>{nach_det}{p.SAY_NOUN}){WB_AFTER}")
    p.NACH_POST = re.compile(
        rf"{WB_BEFORE}(?P<noun>(?:[Dd]em\s+Vernehmen|{nach_det}{p.SAY_NOUN}))\s+(?P<cue>nach){WB_AFTER}")
    p.SPEECH_NOUN = re.compile(rf"{WB_BEFORE}(?:{lx.alt('speech_nouns')})(?=,\s)")
    p.REPORT_NOUN = re.compile(rf"(?:{lx.alt('report_nouns')})")


def _noun_phrases(p: Patterns, lx: Lexicon) -> None:
    det = f"(?:{lx.alt('determiners')})"
    not_adj = rf"(?!(?:{lx.alt('not_adjectives')})(?![\wäöüß-]))"
    adj = (rf"(?:{not_adj}[a-zäöüß][\wäöüß-]*(?:e|en|er|es|em)|US-amerikanische[nrs]?|"
           r"[A-ZÄÖÜ][\wäöüß]*-[a-zäöüß][\wäöüß-]*(?:e|en|er|es))")
    # A capitalised word, a web address, or a quoted name of up to five words ("Die Zeitung „Yemen Observer“").
    noun = (r"(?:[a-z][\w-]*\.(?:de|com|org|net|at|ch|eu|info)(?![\w.])|(?:al-|el-|as-|ad-)?[A-ZÄÖÜ]"
            r"[\wÄÖÜäöüßéèáíóúñçë'’.-]*|„[A-ZÄÖÜ0-9][^„“”\"\s.,:;!?]*(?:\s[^„“”\"\s.,:;!?]+){0,4}“)")
    core = rf"(?:{det}\s+)?(?:{adj}\s+){{0,3}}{noun}(?:\s+{noun}){{0,3}}"
    paren = r"(?:\s*\([^()\n,.;:]{1,30}\))?"  # "Matthias Berninger (Grüne)", "(IGDRB)"
    connect = r"(?:aus|von|vom|und|der|des|für|im|in(?=\s+[A-ZÄÖÜ]))"  # "in" only before a bare name
    p.NP = re.compile(rf"{core}{paren}(?:\s+{connect}\s+(?!(?:einem|einer|eine|einen)\s){core}{paren})*")
    p.APPOSITION = re.compile(
        rf",\s+(?:(?:{det}\s+)?(?:{adj}\s+){{0,3}}{noun}(?:\s+(?:{connect}\s+)?(?:{det}\s+)?(?:{adj}\s+){{0,2}}"
        rf"{noun}){{0,4}})(?=\s*(?:[,:]|[.!?](?:\s|$)))")
    p.ADVERB_LIKE = re.compile(lx.alt("adverb_like"))
    p.NOT_A_SPEAKER = lx.words("not_a_speaker")
    p.STARTERS = lx.words("clause_starters")
    p.ADVERBS = lx.words("after_verb")
    p.ROLE_NOUN = rf"(?:[\wÄÖÜäöüß-]*(?:{lx.alt('role_nouns')}))"
    p.ROLE_THEN_NAME = re.compile(rf"\b{p.ROLE_NOUN}\s+(?P<name>{NAME_TOKEN}(?:\s+{NAME_TOKEN}){{0,2}})")
    p.NAME_THEN_APPOSITION = re.compile(
        rf"(?P<name>{NAME_TOKEN}(?:\s+{NAME_TOKEN}){{1,2}}),\s+(?:der|die)\s+(?:[\wÄÖÜäöüß-]+\s+){{0,2}}{p.ROLE_NOUN}")
    p.ORG_HEAD = re.compile(rf"({lx.alt('organisation_heads')})\b")


def _clauses(p: Patterns, lx: Lexicon) -> None:
    p.PARTICLE_COMMA = re.compile(rf"\s*(?:(?:{lx.alt('before_comma')})\s+){{0,2}}(?:hinzu|mit|an|ein)?\s*,\s*")
    p.SO_SOURCE_TAIL = re.compile(rf"\s+(?:{lx.alt('after_so_source')})$")
    p.TEMPORAL_BEFORE_NACH = lx.words("temporal_before_nach")
    aux = lx.alt("auxiliaries")  # whole words bounded on both sides: their order does not matter
    p.AUX = re.compile(rf",?\s*(?:{aux}|{lx.alt('auxiliaries_after_subject')}){WB_AFTER}")
    p.AUX_WORD = re.compile(rf"{WB_BEFORE}(?:{aux}|{lx.alt('auxiliaries_inverted')}){WB_AFTER}")
    # ", der …", ", in der …", ", nach denen …": one relative-clause opener for both patterns.
    relative = rf"(?:(?:{lx.alt('relative_prepositions')})\s+)?(?:{lx.alt('relative_pronouns')})"
    p.RELATIVE = re.compile(rf",\s+{relative}\s")
    p.SUBCLAUSE_START = re.compile(rf",\s+(?P<w>{relative}|{lx.alt('subclause_conjunctions')})\s")
    p.MAIN_CLAUSE_RESUMES = re.compile(
        rf",\s+(?!(?:{lx.alt('not_main_clause')})(?![\wäöüß]))(?=[a-zäöüß]+(?![\wäöüß-]))")
    p.DET_WORDS = lx.words("determiner_words")
    p.SUBORDINATORS = lx.words("subordinators")
    p.CONJUNCTIONS = lx.words("conjunctions")
    p.NOT_CLAUSE_START = lx.words("not_clause_start")
    p.SUBORDINATE_OPENERS = lx.words("subordinate_openers")
    p.CLAUSE_SUBJECTS = lx.words("clause_subjects")
    p.PREP_BEFORE_NAME = lx.words("prepositions_before_name")

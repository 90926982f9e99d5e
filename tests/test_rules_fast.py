"""The rules' faster scans (issue 13, `rules5`) find exactly what the plain scans find.

Each shortcut is compared with the scan it replaces, match for match (span and text), on every
sentence of the seed articles, the SpkAtt texts (when ../shared/spkatt-news is present) and
generated articles, on sentences cut a few characters in and out, and on Hypothesis text built
from the words the patterns look for, mixed with punctuation, digits, "-", "_", non-ASCII
letters and white space of several kinds.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.attribution.extract import article_sentences
from toolkit.ingest import read_articles

ROOT = Path(__file__).resolve().parents[1]
SPKATT = ROOT.parent / "shared" / "spkatt-news" / "train.jsonl"
Scan = Callable[[str, int, int], Iterable[re.Match[str]]]


@cache
def _texts() -> tuple[str, ...]:
    """The seed articles, 300 generated ones and the SpkAtt texts (when present)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import make_corpus

    texts = [a["text"] for a in read_articles(ROOT / "annotations" / "articles")]
    texts += [a["text"] for a in make_corpus.articles(300, seed=17)]
    if SPKATT.exists():
        texts += [json.loads(line)["text"] for line in SPKATT.open(encoding="utf-8")]
    return tuple(texts)


@cache
def _sentences() -> tuple[tuple[str, int, int], ...]:
    return tuple((text, s, e) for text in _texts() for s, e in article_sentences(text))


def _same(fast: Scan, plain: Scan, text: str, s: int, e: int) -> int:
    """`fast` and `plain` give the same matches on text[s:e]; how many."""
    want = [(m.span(), m.group()) for m in plain(text, s, e)]
    assert [(m.span(), m.group()) for m in fast(text, s, e)] == want, text[s:e]
    return len(want)


def _same_on_real_text(fast: Scan, plain: Scan) -> int:
    """`_same` on every sentence, and on each cut two characters out and three in at either end."""
    found = 0
    for text, s, e in _sentences():
        for a, b in ((s, e), (max(0, s - 2), min(len(text), e + 2)), (min(e, s + 3), max(s, e - 3))):
            found += _same(fast, plain, text, a, max(a, b))
    return found


def _nach_post_plain(text: str, s: int, e: int) -> Iterable[re.Match[str]]:
    from toolkit.lexicon.active import LEX

    return LEX.NACH_POST.finditer(text, s, e)


def test_nach_post_in_runs_finds_what_the_plain_scan_finds_on_real_text() -> None:
    from toolkit.attribution.frames.prep import nach_post_matches
    from toolkit.lexicon.active import LEX

    assert LEX.NACH_POST_IN_RUNS
    assert _same_on_real_text(nach_post_matches, _nach_post_plain) >= 40


def _window(parts: list[tuple[str, str]], a: int, b: int) -> tuple[str, int, int]:
    """The Hypothesis words joined by their separators, cut a characters in at the start and b at the end."""
    text = "".join(w + sep for w, sep in parts)
    s = min(a, len(text))
    return text, s, max(s, len(text) - b)


_NACH_WORDS = ["nach", "Nach", "dem", "Dem", "Vernehmen", "Angaben", "eigenen", "seinen", "Medienberichten", "Polizeiangaben",
               "Berichten", "nach-", "-nach", "Nachrichten", "danach", "der", "ersten", "Studien", "Bericht",
               "polizeiangaben", "nach-Angaben", "nach-angaben", "eigener", "Dem Vernehmen"]
_SEPARATORS = [" ", "  ", "\n", "\t", "\u00a0", ",", ", ", ".", "-", "_", "1", "é", "„", "“", ";", ""]


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_NACH_WORDS), st.sampled_from(_SEPARATORS)), max_size=14),
       st.integers(0, 5), st.integers(0, 5))
def test_nach_post_in_runs_finds_what_the_plain_scan_finds(parts: list[tuple[str, str]], a: int, b: int) -> None:
    from toolkit.attribution.frames.prep import nach_post_matches

    _same(nach_post_matches, _nach_post_plain, *_window(parts, a, b))


@cache
def _one_pattern_gate() -> re.Pattern[str]:
    """The gate as it was one pattern (rules4): the frame words or a word-bounded cue word."""
    from toolkit.lexicon.active import LEX
    from toolkit.lexicon.compile import GATE_FRAME_WORDS, WB_AFTER, WB_BEFORE, grouped_alt

    lists = LEX.lexicon.lists
    entries = [e for name in ("speech_verbs", "clause_verbs", "zu_verbs", "speech_nouns") for e in lists[name].entries]
    return re.compile(rf"{GATE_FRAME_WORDS}|{WB_BEFORE}(?:{grouped_alt(entries)}){WB_AFTER}".lower())


def _gate_agrees(text: str, s: int, e: int) -> bool:
    """`may_hold_speech` says what the one-pattern gate said (both lower-case CASE_SAFE text)."""
    from toolkit.attribution.quotes import _NOT_GATE_SAFE, may_hold_speech

    if _NOT_GATE_SAFE.search(text, s, e) is not None:
        return True  # both hand such a sentence to the exact scans
    said = _one_pattern_gate().search(text[s:e].lower()) is not None
    assert may_hold_speech(text, (s, e)) == said, text[s:e]
    return said


def test_gate_of_two_scans_says_what_the_one_pattern_said_on_real_text() -> None:
    passed = sum(_gate_agrees(text, a, max(a, b)) for text, s, e in _sentences()
                 for a, b in ((s, e), (min(e, s + 3), max(s, e - 3))))
    assert passed > 1000


_GATE_WORDS = ["sagte", "Sagte", "sagten", "erklärte", "Forderung", "teilte mit", "fügte hinzu", "laut", "Laut", "gemäß",
               "nach", "zufolge", ",so", ", das so", "Dies", "Ex-Sprecher", "Minister", "droht", "warnt"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_GATE_WORDS), st.sampled_from(_SEPARATORS)), max_size=10),
       st.integers(0, 4), st.integers(0, 4))
def test_gate_of_two_scans_says_what_the_one_pattern_said(parts: list[tuple[str, str]], a: int, b: int) -> None:
    _gate_agrees(*_window(parts, a, b))


def _union_agrees(union: str, plains: tuple[str, ...], text: str, s: int, e: int) -> bool:
    """One search of the `union` pattern (word start consumed) from s - 1 says whether any of the
    `plains` patterns matches in text[s:e]; `has_konjunktiv` answers the same for its two lists."""
    from toolkit.attribution.frames.free_indirect import has_konjunktiv
    from toolkit.lexicon.active import LEX

    said = any(getattr(LEX, p).search(text, s, e) is not None for p in plains)
    if s > 0:
        assert (getattr(LEX, union).search(text, s - 1, e) is not None) == said, text[s:e]
    if union == "KONJUNKTIV_ANY":
        assert has_konjunktiv(text, s, e) == said, text[s:e]
    return said


_UNIONS = [("KONJUNKTIV_ANY", ("KONJUNKTIV_I", "KONJUNKTIV")), ("ZU_VERB_OR_NOUN_AFTER", ("ZU_VERB", "SPEECH_NOUN"))]


@pytest.mark.parametrize("union,plains", _UNIONS)
def test_one_search_says_what_the_plain_patterns_said_on_real_text(union: str, plains: tuple[str, ...]) -> None:
    passed = sum(_union_agrees(union, plains, text, a, max(a, b)) for text, s, e in _sentences()
                 for a, b in ((s, e), (max(0, s - 2), e), (min(e, s + 2), e), (s, max(s, e - 3))))
    assert passed > 1000


_KONJUNKTIV_WORDS = ["sei", "seien", "Sei", "habe", "hätte", "wäre", "könne", "werde", "würde", "soll", "sollen", "gebe",
                     "seit", "Haus", "ich", "-sei", "sei-", "wolle", "wollten", "beschloss", "drohte", "Forderung",
                     "Forderung,", "Vorwurf", "kündigte"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_KONJUNKTIV_WORDS), st.sampled_from(_SEPARATORS)), max_size=10),
       st.integers(0, 4), st.integers(0, 4), st.sampled_from(_UNIONS))
def test_one_search_says_what_the_plain_patterns_said(parts: list[tuple[str, str]], a: int, b: int,
                                                      union: tuple[str, tuple[str, ...]]) -> None:
    _union_agrees(*union, *_window(parts, a, b))


def _whole_text(scan: Callable[[str], Iterable[re.Match[str]]]) -> Scan:
    """A scan of the whole text as a Scan of text[s:e] (the text cut there first)."""
    return lambda text, s, e: scan(text[s:e])


def test_name_then_apposition_around_commas_finds_what_the_plain_scan_finds() -> None:
    from toolkit.attribution.speakers import name_then_apposition
    from toolkit.lexicon.active import LEX

    assert LEX.ROLE_CANDIDATE is not None
    plain = _whole_text(LEX.NAME_THEN_APPOSITION.finditer)
    found = sum(_same(_whole_text(name_then_apposition), plain, text, 0, len(text)) for text in _texts())
    assert found > 50
    long_name = "Hans M" + "üller" * 60 + ", der Ministerpräsident, sagte"  # a name longer than the slice
    assert _same(_whole_text(name_then_apposition), plain, long_name, 0, len(long_name)) == 1


_APPOSITION_WORDS = ["Hans", "Peter", "Müller", "Kim", "Hong-kyun", "José", "der", "die", "Minister", "Sprecherin",
                     "Ex-Ministerin", "Präsident", "frühere", "des", "Landes", "sagte", "SPD", "McCain", "Ärztin"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_APPOSITION_WORDS), st.sampled_from(_SEPARATORS)), max_size=14))
def test_name_then_apposition_around_commas_finds_what_the_plain_scan_finds_on_hypothesis_text(
        parts: list[tuple[str, str]]) -> None:
    from toolkit.attribution.speakers import name_then_apposition
    from toolkit.lexicon.active import LEX

    text = "".join(w + sep for w, sep in parts)
    _same(_whole_text(name_then_apposition), _whole_text(LEX.NAME_THEN_APPOSITION.finditer), text, 0, len(text))


def _pronouns_agree(text: str) -> int:
    from toolkit.attribution.speakers import PRONOUN_WORD, pronoun_spans

    want = [m.span() for m in PRONOUN_WORD.finditer(text)]
    assert list(pronoun_spans(text)) == want, text
    return len(want)


def test_pronoun_spans_are_the_pronoun_pattern_s() -> None:
    assert sum(_pronouns_agree(text) for text in _texts()) > 1000
    for probe in ("Er", "er sie", "Sie, er.", "-er", "er-", "Ver er", "sie\ner", " Er", "_er", "éer", "ersie", ""):
        _pronouns_agree(probe)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["er", "Er", "sie", "Sie", "der", "Ser", "e", "r"]),
                          st.sampled_from(_SEPARATORS)), max_size=12))
def test_pronoun_spans_are_the_pronoun_pattern_s_on_hypothesis_text(parts: list[tuple[str, str]]) -> None:
    _pronouns_agree("".join(w + sep for w, sep in parts))


def test_lists_the_shortcuts_are_not_shown_exact_on_take_the_plain_scans(tmp_path: Path) -> None:
    """A speech verb ending in white space (a match then ends in a character the look-behind accepts,
    so the consuming scan is not shown exact), a say-noun that is not letters (a NACH_POST match may hold other characters) and a role
    noun that is not letters: each shortcut then gives the plain scan's matches."""
    from toolkit.attribution.frames.prep import nach_post_matches
    from toolkit.attribution.frames.verb import speech_verbs
    from toolkit.attribution.speakers import name_then_apposition
    from toolkit.lexicon.active import LEX, using_lexicon

    extra = tmp_path / "odd.yaml"
    extra.write_text("lists:\n  speech_verbs:\n    entries: ['zischt\\s']\n  say_nouns:\n    entries: ['Angaben\\.']\n"
                     "  role_nouns:\n    entries: ['Chef\\.in']\n", encoding="utf-8")
    with using_lexicon([extra]):
        assert not LEX.NACH_POST_IN_RUNS and LEX.ROLE_CANDIDATE is None
        text = "Er zischt  und zischt  es. Den Angaben. nach kam Hans Meier, der Chef.in der Firma."
        assert _same(speech_verbs, lambda t, s, e: LEX.SPEECH_VERB.finditer(t, s, e), text, 1, len(text)) >= 2
        assert _same(nach_post_matches, _nach_post_plain, text, 0, len(text)) == 1
        assert _same(_whole_text(name_then_apposition), _whole_text(LEX.NAME_THEN_APPOSITION.finditer),
                     text, 0, len(text)) == 1


_LITERALS = [("SOURCE_NOUN_PREP", ("aut", "emäß")), ("NACH_FRAME", ("ach",)), ("WIE_FRAME", ("wie", "Wie")),
             ("ZUFOLGE", ("zufolge",))]


@pytest.mark.parametrize("name,literals", _LITERALS)
def test_source_phrase_patterns_never_match_without_their_literal(name: str, literals: tuple[str, ...]) -> None:
    """The finders of frames.prep skip a sentence without the literal (`holds`); no match is lost."""
    from toolkit.attribution.frames import prep
    from toolkit.attribution.spans import holds
    from toolkit.lexicon.active import LEX

    pattern = getattr(prep, name, None) or getattr(LEX, name)
    matched = 0
    for text, s, e in _sentences():
        if pattern.search(text, s, e) is not None:
            assert holds(text, s, e, *literals), text[s:e]
            matched += 1
    assert matched > 20
    for probe in ("Laut Polizei", "gemäß dem", "Nach Angaben", "Wie er sagte, kam er.", "Dem Kreml zufolge"):
        assert pattern.search(probe) is None or holds(probe, 0, len(probe), *literals)


def _word_before_agrees(text: str, lo: int, hi: int) -> None:
    from toolkit.attribution.spans import word_before

    for hyphen, pattern in ((False, r"([\wÄÖÜäöüß]+)\s*$"), (True, r"([\wÄÖÜäöüß-]+)\s*$")):
        m = re.compile(pattern).search(text, lo, hi)
        assert word_before(text, lo, hi, hyphen) == (m.group(1) if m else None), (text[lo:hi], hyphen)


def test_word_before_is_the_last_word_pattern_s_group() -> None:
    """`word_before` against the search it replaces, on the 30 characters before every 7th
    position of the texts, and on probes (white space of several kinds, "-", a word cut at lo)."""
    for text in _texts()[:400]:
        for hi in range(0, len(text), 7):
            _word_before_agrees(text, max(0, hi - 30), hi)
    for probe in ("nach ", "nach\n", "nach \n ", "Vize-", "-", " ", "", "a.b ", "x\u00a0", "é ", "Straße\t"):
        for lo in range(len(probe) + 1):
            _word_before_agrees(probe, lo, len(probe))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab-_ \n\t\u00a0.é1ß", max_size=12), st.integers(0, 12))
def test_word_before_is_the_last_word_pattern_s_group_on_hypothesis_text(text: str, lo: int) -> None:
    _word_before_agrees(text, min(lo, len(text)), len(text))


@pytest.mark.parametrize("name", ["ROLE_THEN_NAME", "NAME_THEN_APPOSITION"])
def test_name_patterns_never_match_where_their_precheck_says_they_cannot(name: str) -> None:
    """`speakers._may_match` is a necessary condition: on every sentence (and on its stretches of
    up to 40 characters from every 9th position) the pattern finds nothing where it says False."""
    from toolkit.attribution.speakers import _may_match
    from toolkit.lexicon.active import LEX

    pattern = getattr(LEX, name)
    matched = 0
    for text, s, e in _sentences():
        for a, b in [(s, e), *((x, min(e, x + 40)) for x in range(s, e, 9))]:
            if pattern.search(text, a, b) is not None:
                assert _may_match(pattern, text, a, b), text[a:b]
                matched += 1
    assert matched > 50

"""The project's SoMaJo is an unpatched SoMaJo made faster, nothing else.

toolkit.attribution.segment puts speed patches on its own SoMaJo instance (emoji pass only where an
emoji is, node splits in chunks, abbreviation regexes only on words with a ".", rare-character passes
only on nodes their gate finds something in, offsets by in-place scanning). Every token (text, class, spacing, original spelling, sentence flags, character offsets)
and so every sentence must be what a fresh, unpatched instance gives: on the seed articles, on 300
SpkAtt articles (skipped when ../shared/spkatt-news is absent), on probes for the German cases the
patches touch, on a 200 kB paragraph and on generated text.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st
from somajo import SoMaJo, alignment
from somajo.token import Token

from toolkit import ANNOTATIONS_DIR
from toolkit.attribution import segment
from toolkit.attribution.segment import _plain_somajo, _tokenizer, paragraphs, sentences
from toolkit.ingest import make_article, read_articles

SPKATT = Path(__file__).resolve().parents[2] / "shared" / "spkatt-news" / "train.jsonl"

PROBES = [
    "Wladimir Putin ist am 11. September 2023 in Wladiwostok abgebildet. Er wird Kim treffen.",
    "Dr. Müller kam z. B. nicht. Prof. Dr. Meier kam z.B. doch. DR. MÜLLER schrieb u.a. an die U.S.A.",
    "Der Verein spielt in der 3. Liga. Am 3. Oktober feiert er; am 3.10. auch. Das ist Art. 5 GG.",
    "„Wir sind bereit“, sagte er. „Das ist – sagte sie – „falsch“ usw.“ Dann ging er. ‚Gut‘, meinte Dr. Ing. Kurz.",
    "Er kam aus den USA bzw. aus Kanada usw. Dann ging er. Es kostet 5 Mio. Euro. Sie wohnt in der Hauptstr. 5.",
    "Mehr auf https://www.example.de/a.b?x=1. oder www.tagesschau.de. Mail an dr.x@y.de. Ende etc.",
    "Super 👍🏽 gemacht!Das war’s 😀😀. Nächster Satz ❤️ folgt. 🇩🇪🇺🇦 Flaggen. Ende 1️⃣.",
    "Ab\u00adkür\u00adzung z.\u00adB. hier\u200b. Zwei  Leer\tzeichen. Steuer\u0007zeichen. (z.B. hier) [Dr. X]",
    "Cafe\u0301 mit Dr. Mu\u0308ller: nicht NFC. Ps. Grüße. PS. Nochmals. a... Na ja &c. So i.d.R. Nr. 5.",
    "Das Kürzel lautet Abk. Der Satz endet mit z. B. Und dann ca. So war es Bsp. Das war’s usw.",
    "Ende usw.",
    # one or more matches for each pass `segment._GATES` gates
    "C++ und AT&T, Strg+Alt+Entf, Google+; R&D und B+B. Mail: info@example.de, max [at] web [dot] de. "
    "Seite www.example.de, http://x.org/a(b)c und bild.jpg oder test.pdf-Datei. Bürger*innen, Lehrer:innen, "
    "Student/innen. tl;dr /s 5G .Net. Kto.-Nr. 5, Best.-Nr. 7. Am 11.09.2001, 09/11/2001, 2001-09-11, 3.4. "
    "und 12-3. ISBN 978-3-16-148410-0, ISBN 3-16-148410-X, 3161484100. 3 km/h, 5kg, 10-12 Euro, 1/2, 3/4-5/6, "
    "1.000.000,50 und 1,999.95, 1.2.3 und 192.168.0.1, 3+4=7, 5x6, 1.000,- Euro, 12:30 Uhr, 12:30:15. "
    "Am 3. und 1000. Tag, WS20/21, SoSe2020, 3D-Drucker, 2000er, IV. Quartal, XII. Jahrhundert. c# und d#-moll, "
    "d'accord, O’Connor, l'Enfer. ``Zitat'' und `so' und 'einfach'. -> und <- und →. @user #hashtag #a-b. "
    "Und dann... oder …! Ende.",
    "Zwei  Leerzeichen\tund Tab. 3 . 4 und 3 - 4 - 2001 sowie 1 2 3 4 5 6 7 8 9 X.",
]

_PIECES = ["a", "Bb", " ", ".", "z. B.", "Dr.", "11.", "September", "„", "“", "e\u0301", "\u00ad", "\t", "👍🏽",
           "usw.", "U.S.", "http://x.de", "3.", "Liga", "\u200b", "(", ")", "Nr.", "ps.", "str.", ",", "!"]


@lru_cache(maxsize=1)
def _plain() -> SoMaJo:
    """One unpatched instance for the comparisons (building one compiles all of SoMaJo's regexes)."""
    return _plain_somajo()


def _tokens(text: str, tokenizer: SoMaJo) -> list:
    """Per sentence of each paragraph: every token with all that SoMaJo sets on it."""
    return [[(t.text, t.token_class, t.space_after, t.original_spelling, t.first_in_sentence, t.last_in_sentence,
              t.character_offset) for t in sent]
            for s, e in paragraphs(text) for sent in tokenizer.tokenize_text([text[s:e]])]


def _outcome(fn, *args) -> object:  # noqa: ANN001 - any callable
    """fn's result, or the type and message of the error SoMaJo's code raises on garbled input."""
    try:
        return fn(*args)
    except (AssertionError, UnboundLocalError, KeyError) as exc:
        return type(exc), str(exc)


def _assert_like_plain(texts: list[str]) -> int:
    tok, plain = _tokenizer(), _plain()
    n = 0
    for text in texts:
        assert _tokens(text, tok) == _tokens(text, plain), text[:200]
        n += 1
    return n


def test_patches_sit_on_the_project_instance_only() -> None:
    tok, plain = _tokenizer(), _plain_somajo()
    assert {"_split_emojis", "_split_on_boundaries"} <= set(vars(tok._tokenizer))
    assert isinstance(tok._tokenizer.abbreviation, segment._DottedWords)
    assert isinstance(tok._tokenizer.single_token_abbreviation, segment._DottedWords)
    assert "_tokenize" in vars(tok)
    # a fresh instance and the installed package are untouched
    assert not {"_split_emojis", "_split_on_boundaries"} & set(vars(plain._tokenizer)) and "_tokenize" not in vars(plain)
    assert isinstance(plain._tokenizer.abbreviation, regex.Pattern)
    assert alignment._determine_offsets.__module__ == "somajo.alignment"
    assert alignment.token_offsets.__module__ == "somajo.alignment"


def test_seed_articles_tokenise_like_plain_somajo() -> None:
    texts = [a["text"] for a in read_articles(ANNOTATIONS_DIR / "articles")]
    assert _assert_like_plain(texts) >= 5


def test_spkatt_articles_tokenise_like_plain_somajo() -> None:
    if not SPKATT.exists():
        pytest.skip(f"{SPKATT} absent")
    with SPKATT.open(encoding="utf-8") as fh:
        docs = [json.loads(line) for _, line in zip(range(300), fh)]
    texts = [make_article({"id": d["doc_id"], "text": d["text"]}, "spkatt")["text"] for d in docs]
    assert _assert_like_plain(texts) == 300


def test_probes_tokenise_like_plain_somajo() -> None:
    assert _assert_like_plain(PROBES) == len(PROBES)
    for text in PROBES:
        assert sentences(text) == sentences(text, tokenizer=_plain())
    got = [PROBES[0][s:e] for s, e in sentences(PROBES[0])]
    assert got == ["Wladimir Putin ist am 11. September 2023 in Wladiwostok abgebildet.", "Er wird Kim treffen."]
    spans = sentences(PROBES[1])
    assert PROBES[1][spans[0][0]:spans[0][1]] == "Dr. Müller kam z. B. nicht."
    assert any(PROBES[2][s:e] == "Der Verein spielt in der 3. Liga." for s, e in sentences(PROBES[2]))


def test_a_200_kb_paragraph_tokenises_like_plain_somajo() -> None:
    """One paragraph of 200 kB (SoMaJo's quadratic passes at their worst), every probe in it."""
    unit = " ".join(p.replace("\n", " ") for p in PROBES) + " "
    text = (unit * (200_000 // len(unit) + 1))[:200_000].rstrip()
    assert len(paragraphs(text)) == 1 and len(text) > 199_000
    assert _assert_like_plain([text]) == 1


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_generated_text_tokenises_like_plain_somajo(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert _outcome(_tokens, text, _tokenizer()) == _outcome(_tokens, text, _plain())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES + ["Prof.", "bzw.", "Mio.", "Hauptstr.", "Abk.", "a...", "&c.", "i.d.R."]),
                max_size=30))
def test_dotted_word_search_finds_what_the_pattern_finds(pieces: list[str]) -> None:
    text = unicodedata.normalize("NFC", regex.sub(r"\s+", " ", "".join(pieces)))
    tok = _tokenizer()._tokenizer
    for name in ("abbreviation", "single_token_abbreviation"):
        wrapped = getattr(tok, name)
        assert [m.span() for m in wrapped.finditer(text)] == [m.span() for m in wrapped.pattern.finditer(text)]


_raw_chars = st.sampled_from(["a", "b", " ", "\u00ad", "\u200b", "\n", "\t"])


@settings(max_examples=300, deadline=None)
@given(raw=st.text(_raw_chars, max_size=14),
       words=st.lists(st.text(st.sampled_from(["a", "b", " ", "\t"]), max_size=3), max_size=6))
def test_offsets_match_somajo_on_any_tokens(raw: str, words: list[str]) -> None:
    """Offsets (or SoMaJo's error, message included) for arbitrary tokens over arbitrary text,
    skippable characters, tokens that are not there and tokens past the end included."""
    ours = _outcome(segment._determine_offsets, [Token(w) for w in words], raw, 0)
    assert ours == _outcome(alignment._determine_offsets, [Token(w) for w in words], raw, 0)


def test_every_white_space_but_the_space_is_unprintable() -> None:
    """What lets `_determine_offsets` skip regex.sub(r"\\s", " ", token) on printable tokens."""
    ws = regex.compile(r"\s")
    printable_ws = [hex(c) for c in range(sys.maxunicode + 1)
                    if chr(c) != " " and chr(c).isprintable() and ws.match(chr(c))]
    assert printable_ws == []


_GATED_PIECES = _PIECES + ["+", "&", "@", " [at] ", "www.", "://", "*in", ":innen", "/", ";", "-", ":", "1", "2",
                           "3", "9", "0", "X", "IV", "#", "'", "’", "`", "``", "''", ">", "<", "→", "km", "kg",
                           "ISBN ", "97", "8", "Nr", ".de", ".pdf", "tl;dr", "5G", "WS", "SoSe", "x", "−", ",", "…"]


def test_every_gated_pass_is_gated_and_the_spaces_pass_too() -> None:
    tok = _tokenizer()._tokenizer
    assert all(isinstance(getattr(tok, name), segment._Gated) for name in segment._GATES)
    assert isinstance(tok.spaces, segment._Spaces) and "_split_all_matches" in vars(tok)


def _gate_holds(text: str) -> None:
    """Every match of a gated pattern contains a match of its gate (what makes skipping exact)."""
    tok = _tokenizer()._tokenizer
    for name in segment._GATES:
        gated = getattr(tok, name)
        for m in gated.pattern.finditer(text):
            assert gated.gate.search(m.group()) is not None, (name, m.group())
            assert gated.gate.search(text) is not None


def test_each_gate_holds_on_the_probes() -> None:
    for text in PROBES:
        _gate_holds(text)
    # and the probes do exercise the gated passes: most of them match somewhere
    tok = _tokenizer()._tokenizer
    matched = {name for name in segment._GATES if any(getattr(tok, name).pattern.search(t) for t in PROBES)}
    assert len(matched) >= len(segment._GATES) - 3, sorted(set(segment._GATES) - matched)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_GATED_PIECES), max_size=40))
def test_each_gate_holds_on_generated_text(pieces: list[str]) -> None:
    text = "".join(pieces)
    _gate_holds(text)
    assert _outcome(_tokens, text, _tokenizer()) == _outcome(_tokens, text, _plain())


def test_a_changed_gated_pattern_is_left_alone() -> None:
    """A SoMaJo whose gated pattern is not the one the gate was derived from runs that pass ungated."""
    plain = _plain_somajo()
    other = regex.compile(r"\bfoo\+?", regex.IGNORECASE)
    plain._tokenizer.token_with_plus_ampersand = other
    segment._gate_rare_passes(plain)
    assert plain._tokenizer.token_with_plus_ampersand is other
    assert isinstance(plain._tokenizer.email, segment._Gated)


def test_a_changed_pattern_is_left_alone() -> None:
    """A SoMaJo whose abbreviation pattern is not the one the lists vouch for runs unpatched."""
    plain = _plain_somajo()
    other = regex.compile(r"(?<![\p{L}.])(?:etc\.|z)+", regex.IGNORECASE)
    plain._tokenizer.abbreviation = other
    segment._abbreviations_on_dotted_words(plain)
    assert plain._tokenizer.abbreviation is other
    assert isinstance(plain._tokenizer.single_token_abbreviation, segment._DottedWords)


def _resolved(value: object) -> object:
    """A pattern as (source, flags) after compiling a stand-in; lists element by element."""
    if isinstance(value, segment._LazyPattern):
        value = value.compiled()
    if isinstance(value, regex.Pattern):
        return ("pattern", value.pattern, value.flags)
    if isinstance(value, list):
        return [_resolved(v) for v in value]
    return value


def test_the_quick_build_gives_the_plain_instance() -> None:
    """`_built_quickly` (compiled regex.search and stand-ins for regex.compile while SoMaJo's
    constructor runs) builds the same tokenizer as the plain constructor: each stand-in compiles to
    the pattern SoMaJo compiled, with the same flags; and it leaves the module's `re` as it was."""
    import somajo.tokenizer

    quick, plain = segment._built_quickly()._tokenizer, _plain_somajo()._tokenizer
    assert somajo.tokenizer.re is regex
    assert vars(quick).keys() == vars(plain).keys()
    assert sum(isinstance(v, segment._LazyPattern) for v in vars(quick).values()) >= 90  # nothing compiled yet
    for name, value in vars(plain).items():
        assert _resolved(vars(quick)[name]) == _resolved(value), name


def test_a_pattern_compiles_on_first_use_and_then_sits_in_place_of_its_stand_in() -> None:
    """After the seed articles: every pattern SoMaJo used is the compiled pattern itself where
    SoMaJo (or a patch's wrapper) reads it, so the hot path has no stand-in in between; one it never
    uses with split_camel_case=False (the 7,647-entry camel-case list) was never compiled."""
    for path in sorted((ANNOTATIONS_DIR / "articles").glob("*.txt")):
        segment.sentences(path.read_text(encoding="utf-8"))
    tok = segment._tokenizer()._tokenizer
    assert isinstance(tok.camel_case_token, segment._LazyPattern) and tok.camel_case_token._compiled is None
    for name, value in vars(tok).items():
        inner = value.pattern if isinstance(value, (segment._Gated, segment._DottedWords, segment._Spaces)) else value
        if isinstance(inner, segment._LazyPattern):
            assert inner._compiled is None, name  # compiled means replaced
    assert isinstance(tok.dot, regex.Pattern) and isinstance(tok.abbreviation.pattern, regex.Pattern)



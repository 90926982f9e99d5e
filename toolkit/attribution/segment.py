"""Paragraphs and sentences with character offsets into the normalised article text.

Sentence splitting is SoMaJo's (it knows German abbreviations and keeps "11. September"
together); we only map its token offsets back to spans. Paragraphs are blank-line or
line-break separated blocks, since news text arrives both ways.

SoMaJo 2.5 spends most of the extractor's time; the project's instance (`_tokenizer`) carries four
patches, each on that instance only (the installed package and any other SoMaJo stay as they are),
each leaving every token, offset and sentence unchanged (tests/test_segment.py compares against an
unpatched instance) and each written to be offered to SoMaJo upstream: the emoji pass only on
tokens with an emoji character, node splits in chunks (linear in a long paragraph), the
abbreviation regexes only on words holding a ".", and offsets by in-place scanning. SoMaJo's
`_merge_empty_sentences` needs no patch: it is linear; profiles charge it the whole tokenizer
because it is the generator that drives it (docs/speed.md).

`sentences` runs SoMaJo only where a sentence end is in doubt (`_fast_paragraph_sentences`, issue 13):
a paragraph is cut at places SoMaJo 2.5 certainly ends a sentence, a chunk that can hold no other end
is one sentence, and the rest goes to SoMaJo in one call; the spans are SoMaJo's, span for span
(tests/test_segment_fast.py).
"""

from __future__ import annotations

import bisect
import hashlib
import re
import unicodedata
from functools import lru_cache

import regex
from somajo import SoMaJo, alignment, doubly_linked_list
from somajo import tokenizer as somajo_tokenizer
from somajo import utils as somajo_utils
from somajo.token import Token

Span = tuple[int, int]

_PARAGRAPH = re.compile(r"[^\n]+")
_WHITESPACE = regex.compile(r"\s")


# Every character SoMaJo's emoji pass could split on (the union of its two per-grapheme classes).
_EMOJI_CHAR = regex.compile(r"[\p{Extended_Pictographic}\p{Emoji_Presentation}\uFE0F]")


def _skip_emoji_pass_without_emoji(somajo: SoMaJo) -> SoMaJo:
    """SoMaJo 2.x runs a regex search per grapheme to find emoji, about half of its time on
    news prose that holds none. A token without any emoji character cannot be split by that
    pass, so one search over the token decides whether to run it; the result is unchanged
    (tests/test_segment.py compares against an unpatched SoMaJo, emoji included). The patch
    sits on this instance only and is skipped if SoMaJo's internals change shape. Offered upstream
    as "skip the per-grapheme emoji search on tokens without an emoji character"."""
    tokenizer = getattr(somajo, "_tokenizer", None)
    original = getattr(tokenizer, "_split_emojis", None)
    if original is None:
        return somajo

    def split_emojis(node, token_class: str = "emoticon") -> None:  # noqa: ANN001 - SoMaJo's DLL node
        if _EMOJI_CHAR.search(node.value.text):
            original(node, token_class)

    tokenizer._split_emojis = split_emojis
    return somajo


#: Boundaries per call of SoMaJo's node split (see `_split_long_nodes_in_chunks`).
_SPLIT_CHUNK = 64


def _split_long_nodes_in_chunks(somajo: SoMaJo) -> SoMaJo:
    """SoMaJo starts from one node per paragraph and splits nodes at regex matches; its split
    copies the node's rest (text[end:]) for every match, so the first pass that finds many matches
    in a long paragraph costs O(matches × length): quadratic in the paragraph.

    This wrapper hands SoMaJo's own split at most `_SPLIT_CHUNK` matches at a time, each on a
    node holding just the text up to its last match (the last one the rest). What the split reads
    of a node is its text, first_in_sentence, last_in_sentence and space_after; chunk nodes get the
    values that make every token come out as from the one call: first_in_sentence only on the first
    chunk, last_in_sentence and space_after of the node only on the last, and space_after = "a space
    follows" on the others. Only for matches in strictly increasing, non-overlapping order (what
    finditer gives); anything else goes to SoMaJo's split unchanged. Per instance, like the emoji
    shortcut; tests/test_segment.py compares against an unpatched SoMaJo. Offered upstream as
    "split a node without copying its rest per match" (upstream would rather keep an offset into
    the node's text than chunk; this wrapper is the same idea without touching SoMaJo's code)."""
    tokenizer = getattr(somajo, "_tokenizer", None)
    original = getattr(tokenizer, "_split_on_boundaries", None)
    if original is None:
        return somajo

    def split_on_boundaries(node, boundaries, token_class, **kwargs) -> None:  # noqa: ANN001 - SoMaJo's node
        n = len(boundaries)
        if n <= _SPLIT_CHUNK or not _strictly_increasing(boundaries, len(node.value.text)):
            return original(node, boundaries, token_class, **kwargs)
        text, tok, dll = node.value.text, node.value, node.list
        chunks = []
        off = 0
        for c in range(0, n, _SPLIT_CHUNK):
            part = boundaries[c:c + _SPLIT_CHUNK]
            last = c + _SPLIT_CHUNK >= n
            end = len(text) if last else part[-1][1]
            dll.insert_left(Token(text[off:end], space_after=tok.space_after if last else text[end] == " ",
                                  first_in_sentence=tok.first_in_sentence and c == 0,
                                  last_in_sentence=tok.last_in_sentence and last), node)
            chunks.append((node.prev, [(s - off, e - off, r) for s, e, r in part]))
            off = end
        dll.remove(node)
        for chunk, part in chunks:
            original(chunk, part, token_class, **kwargs)

    tokenizer._split_on_boundaries = split_on_boundaries
    return somajo


def _strictly_increasing(boundaries: list[tuple[int, int, str | None]], length: int) -> bool:
    """0 <= s1, e_i <= s_i+1, e_i < e_i+1, e_n <= length: each chunk's matches lie in its text."""
    if boundaries[0][0] < 0 or boundaries[-1][1] > length:
        return False
    return all(e1 <= s2 and e1 < e2 for (_s1, e1, _r1), (s2, e2, _r2) in zip(boundaries, boundaries[1:]))


# Every match of SoMaJo's abbreviation patterns holds a "." and no white space (checked on the lists
# the patterns are built from, see `_abbreviation_sources`), so it lies inside one white-space
# delimited word that holds a "."; this finds those words in linear time (the look-behind lets only
# a word's first character start a match).
_DOTTED_WORD = regex.compile(r"(?<!\S)[^\s.]*\.\S*")
#: Dotted words without an abbreviation match that `_DottedWords` remembers (then starts afresh).
_MISSES_MAX = 65_536


class _DottedWords:
    r"""A compiled SoMaJo pattern whose `finditer` searches only the words that hold a ".".

    Offered upstream as: "run the abbreviation regexes only on words containing a full stop".
    SoMaJo runs its 1,205-alternative, case-insensitive abbreviation regex (and the 37-alternative
    single-token one) over the whole text of every node, trying every alternative at every
    character: about a quarter of SoMaJo's time on news prose. Output is identical because (1) each
    alternative contains a "." and no white space (a match cannot start in a word without a "." or
    span two words), (2) `pattern.finditer(text, pos, endpos)` sees the real text before `pos`, so
    look-behinds and \b at a word's start read what they read in the whole text, and (3) the
    look-aheads after a match, (?!\p{L}{1,3}\.) and (?!\p{L}), succeed both at a white-space
    character and at `endpos`, the only places a word ends. Matches come in the same order, from
    the same non-overlapping left-to-right scan (no match can be empty).

    By (2) and (3) a word's matches depend on the word alone (before it: white space or the start,
    both pass the look-behinds), so the words found to hold no match (most of them: "sagte.",
    "werden.") are remembered in `misses` and not searched again."""

    __slots__ = ("pattern", "misses")

    def __init__(self, pattern: regex.Pattern[str]) -> None:
        self.pattern = pattern
        self.misses: set[str] = set()

    def __getattr__(self, name: str):  # noqa: ANN204 - groupindex, pattern, flags, ... of the wrapped pattern
        return getattr(self.pattern, name)

    def finditer(self, text: str):  # noqa: ANN201 - an iterator of regex.Match, as Pattern.finditer
        if "." not in text:
            return
        misses = self.misses
        for word in _DOTTED_WORD.finditer(text):
            w = word.group()
            if w in misses:
                continue
            found = False
            for m in self.pattern.finditer(text, word.start(), word.end()):
                found = True
                yield m
            if not found:
                if len(misses) >= _MISSES_MAX:
                    misses.clear()
                misses.add(w)


def _abbreviation_sources(language: str) -> dict[str, str] | None:
    """The sources SoMaJo 2.5 builds its two list-based abbreviation patterns from (attribute ->
    regex source), or None if a list entry lacks a "." or holds white space (then `_DottedWords`
    would not be exact)."""
    lang = language[:2]
    abbreviations = somajo_utils.read_abbreviation_file(f"abbreviations_{lang}.txt", to_lower=True)
    single = somajo_utils.read_abbreviation_file(f"single_token_abbreviations_{lang}.txt")
    if any("." not in a or _WHITESPACE.search(a) for a in abbreviations + single):
        return None
    return {
        "abbreviation": r"(?<![\p{L}.])(?:(?:(?:\p{L}\.){2,})|" + "|".join(regex.escape(a) for a in abbreviations)
                        + r")+(?!\p{L}{1,3}\.)",
        "single_token_abbreviation": r"(?<![\w.])(?:" + "|".join(regex.escape(a) for a in single) + r")(?!\p{L})",
    }


def _abbreviations_on_dotted_words(somajo: SoMaJo) -> SoMaJo:
    """Wrap this instance's abbreviation patterns in `_DottedWords`, each only if its source is the
    one `_abbreviation_sources` vouches for (so a SoMaJo whose patterns changed shape runs as is)."""
    tokenizer = getattr(somajo, "_tokenizer", None)
    sources = _abbreviation_sources(getattr(tokenizer, "language", ""))
    for name, source in (sources or {}).items():
        pattern = getattr(tokenizer, name, None)
        if isinstance(pattern, _PATTERNS) and pattern.pattern == source:
            setattr(tokenizer, name, _DottedWords(pattern))
    return somajo



#: SoMaJo 2.5's one-pass patterns that can only match where a character (or short sequence) occurs
#: that is rare in news prose: attribute -> (gate, `_fingerprint` of the SoMaJo source it was derived
#: from). Every match of the pattern contains a match of its gate (the reason is the comment), so a
#: node text without one has no match. The gate is compiled with the pattern's IGNORECASE flag and
#: the same `regex` module, so \d, \w and case folding read as in the pattern.
_GATES: dict[str, tuple[str, str]] = {
    "token_with_plus_ampersand": (r"[+&]", "326aac3e3516"),  # each of the 168 entries holds \+ or \&
    "simple_plus_ampersand_candidates": (r"[&+]", "e7a2d90acd52"),  # \b\w+[&+]\w+\b
    "email": (r"@|\[at\]", "40758303ff81"),  # (?:@| \[at\] )
    "url_without_protocol": (r"\.(?:de|com|tv|me|net|us|org|at|cc|ly|be|ch|info|live|eu|edu|gov|jpg|png|gif|log|txt"
                             r"|xlsx?|docx?|pptx?|pdf)", "8f67a28688e5"),  # the pattern's own \.(?:…) part
    "simple_url": (r"://|www\.", "98585065165e"),  # (?:https?|ftp|svn):// | (?:https?://)?www\.
    "simple_url_with_brackets": (r"://|www\.", "3ea67574d9ff"),
    "gender_marker": (r"[*:/]in", "61d6ddc8e9f8"),  # \p{L}+[*:/]in(?:nen)?
    "single_tokens": (r"[;/]|\.net|[345]g", "8744284d5aa1"),  # tl;dr zl;ng /rant .Net E/E S/4 R/3 3G 4G 5G /s
    "nr_abbreviations": (r"nr\.", "f0baf358564e"),  # \w+\.-?Nr\.
    "three_part_date_dmy": (r"\d[./-]\d", "2e8635fc0221"),  # day ([./-]) month: digit, separator, digit
    "three_part_date_mdy": (r"\d[./-]\d", "2e8635fc0221"),
    "two_part_date": (r"\d[./-]\d", "c280ae87d71b"),  # \d{1,2}([./-]) \d{1,2}
    "three_part_date_year_first": (r"\d[/-]\d", "52757eca65f8"),  # \d{4} ([/-])\d{1,2}
    "isbn": (r"[0-9]", "014925a47b6a"),  # every alternative starts with [0-9] or 97[89]
    "measurement": (r"\d", "a925ed365a8c"),  # every number alternative holds \d+ or \d{…}
    "number_range": (r"\d", "7f87b3ca017a"),
    "number": (r"\d", "ae5f2c229f90"),
    "section_number": (r"\d\.\d", "8b66c87f6996"),  # (?:\d+[.])+\d+
    "calculation": (r"\d[+*x×÷−]", "5cc2d1ea1612"),  # \d+(?:[,.]\d+)? then the operator
    "amount": (r"[,.]-", "ab77a3c0351b"),  # \d+[\d,.]*[,.]-
    "fraction": (r"\d/", "dec3ef17d6cd"),  # \d+/\d+
    "time": (r"\d:", "a43df4a9c408"),  # \d{1,2}(?::\d{2})…
    "ordinal": (r"\d\.", "7a677162e698"),  # (?:\d{1,3}|\d{5,}|[3-9]\d{3})\.
    "semester": (r"\d", "cbaa1106e550"),  # …(?P<b_jahr>\d\d…)
    "number_compound": (r"\d", "aa7102f5950d"),  # \d+-?[\p{L}@]…
    "ipv4": (r"\d\.\d", "c5a24f6392b9"),  # (?:\d{1,3}[.]){3}\d{1,3}
    "roman_ordinal": (r"[MDCLXVI]\.", "425a24148afc"),  # the look-ahead (?=[MDCLXVI]) forbids a bare "."
    "letter_sharp": (r"#", "1ac4a20cc73b"),  # [acdfg]#
    "letter_apostrophe_word": (r"['’]", "8a7261fc6902"),  # [dlo]['’]\p{L}+
    "double_latex_quote": (r"``|''", "038fba094b02"),
    "paired_single_latex_quote": (r"`", "1d070e7d85cb"),
    "paired_single_quot_mark": (r"'", "837b6c1b7eba"),
    "arrow": (r"[<>\u2190-\u21ff]", "56406996679d"),  # -+[ ]?> | <[ ]?-+ | [\u2190-\u21ff]
    "mention": (r"@", "a648c281a39c"),  # [@]\w+
    "hashtag_sequence": (r"#", "e86c68b15eb4"),  # (?:[#]\w…)+
    "ellipsis": (r"\.\.|…", "e41440a22f79"),  # \.{2,}|…+…
}


class _Gated:
    """A compiled SoMaJo pattern whose `finditer` first asks a cheap gate whether the text can hold a
    match at all (`_GATES`). Offered upstream as "skip a pass on text without the characters its
    matches need": SoMaJo runs some 60 such passes over every node, and most nodes of news prose hold
    no "+", "@", "://" or digit-separator-digit; the gate is one scan for a character class or a short
    literal, the pattern one try of a long expression at every position. Output identical: no gate
    match, no pattern match; otherwise the pattern runs as it would have."""

    __slots__ = ("pattern", "gate")

    def __init__(self, pattern: regex.Pattern[str], gate: regex.Pattern[str]) -> None:
        self.pattern, self.gate = pattern, gate

    def __getattr__(self, name: str):  # noqa: ANN204 - groupindex, pattern, flags, ... of the wrapped pattern
        return getattr(self.pattern, name)

    def finditer(self, text: str):  # noqa: ANN201 - an iterator of regex.Match, as Pattern.finditer
        if self.gate.search(text) is None:
            return iter(())
        return self.pattern.finditer(text)


class _Spaces:
    r"""SoMaJo's `spaces` pattern (\s+, replaced by one " ") whose `sub` leaves a text alone that holds
    no white space but single " " characters: then every \s+ run is one " " and the result is the text
    itself. SoMaJo calls it three times per paragraph."""

    __slots__ = ("pattern",)
    _OTHER = regex.compile(r"[^\S ]| {2}")

    def __init__(self, pattern: regex.Pattern[str]) -> None:
        self.pattern = pattern

    def __getattr__(self, name: str):  # noqa: ANN204 - finditer, search, ... of the wrapped pattern
        return getattr(self.pattern, name)

    def sub(self, repl: str, text: str) -> str:
        if repl == " " and self._OTHER.search(text) is None:
            return text
        return self.pattern.sub(repl, text)


def _fingerprint(source: str) -> str:
    """A SHA-1 prefix of a pattern source that does not depend on the order of its alternatives (the
    pieces between "|", "(", "(?:", "(?P<name>" and ")"): SoMaJo builds some alternations from sets,
    whose order changes with the string hash seed of the process."""
    return hashlib.sha1("\n".join(sorted(re.split(r"\(\?(?::|P<\w+>)|[|()]", source))).encode()).hexdigest()[:12]


def _gate_rare_passes(somajo: SoMaJo) -> SoMaJo:
    """Wrap this instance's patterns of `_GATES` in `_Gated` (and `spaces` in `_Spaces`), each only if
    its source is the one the gate was derived from (a SoMaJo whose patterns changed runs as is)."""
    tokenizer = getattr(somajo, "_tokenizer", None)
    for name, (gate, digest) in _GATES.items():
        pattern = getattr(tokenizer, name, None)
        if isinstance(pattern, _PATTERNS) and _fingerprint(pattern.pattern) == digest:
            setattr(tokenizer, name, _Gated(pattern, regex.compile(gate, pattern.flags & regex.IGNORECASE)))
    spaces = getattr(tokenizer, "spaces", None)
    if isinstance(spaces, _PATTERNS) and spaces.pattern == r"\s+":
        tokenizer.spaces = _Spaces(spaces)
    original = getattr(tokenizer, "_split_all_matches", None)
    if original is None or not callable(getattr(tokenizer, "_split_matches", None)):
        return somajo

    def split_all_matches(pattern, token_dll, token_class: str = "regular", **kwargs) -> None:  # noqa: ANN001
        """SoMaJo's loop over the nodes with the gate asked first: a node it turns away would get no
        boundaries, for which SoMaJo's split does nothing; this saves the call and its set-up."""
        if not isinstance(pattern, _Gated):
            return original(pattern, token_dll, token_class, **kwargs)
        gate, compiled = pattern.gate.search, pattern.pattern
        for t in token_dll:
            if t.value.markup or t.value._locked or gate(t.value.text) is None:
                continue
            tokenizer._split_matches(compiled, t, token_class, kwargs.get("repl"),
                                     kwargs.get("split_named_subgroups", True), kwargs.get("delete_whitespace", False))

    tokenizer._split_all_matches = split_all_matches
    return somajo


def _starts_at(raw: str, i: int, text: str) -> bool:
    """raw[i:].startswith(text) without copying raw[i:] (str.startswith is False past the end)."""
    return raw.startswith(text, i) if i <= len(raw) else raw[i:].startswith(text)


def _determine_offsets(tokens: list[Token], raw: str, position: int) -> list[tuple[int, int]]:
    r"""SoMaJo's `alignment._determine_offsets` with two changes, offered upstream as "linear-time
    offset alignment". SoMaJo tests each token with raw[raw_i:].startswith(text), copying the rest
    of the paragraph per token (O(n²) in a paragraph of n characters: a 1 MB paragraph of short
    quotes took about a minute and 700 MB), and runs regex.sub(r"\s", " ", text) on every token.
    Here (1) the tests read raw in place (`_starts_at`: the same truth value, " " + text tested as
    " " at raw_i and text at raw_i + 1) and (2) the substitution runs only on a token that is not
    `str.isprintable()`: every character \s matches except " " is unprintable (tests/test_segment.py
    checks all of Unicode), so on the others it is the identity. The search for a token that is
    neither at raw_i nor one space on (skipped soft hyphens, control characters) is SoMaJo's loop
    unchanged, carried-over start/end and assertion included."""
    offsets: list[tuple[int, int]] = []
    raw_i = 0
    raw = _WHITESPACE.sub(" ", raw)
    n = len(raw)
    for token in tokens:
        if token.markup:
            start, end = token.character_offset
            start -= position
            end -= position
        else:
            text = token.text if token.original_spelling is None else token.original_spelling
            if not text.isprintable():
                text = _WHITESPACE.sub(" ", text)
            # `_starts_at`, inlined (a call per token and test costs about a tenth of SoMaJo's time).
            if raw.startswith(text, raw_i) if raw_i <= n else not text:
                start = raw_i
                end = start + len(text)
            elif raw_i < n and raw[raw_i] == " " and raw.startswith(text, raw_i + 1):
                start = raw_i + 1
                end = start + len(text)
            else:
                raw_start = raw_i
                for i, char in enumerate(text):
                    for j in range(raw_start, len(raw)):
                        if raw[j] == char:
                            if i == 0:
                                start = j
                            if i == len(text) - 1:
                                end = j + 1
                            break
                        assert raw[j] in alignment._skipable_characters, (
                            f"'{raw[j]}' ({hex(ord(raw[j]))}) is not a skipable character; token: '{text}', "
                            f"raw: '{raw[raw_i:]}'")
                    raw_start = j + 1
        offsets.append((start, end))
        raw_i = end
    return offsets


def _token_offsets(token_list: list[Token], raw: str, position: int, xml_input: bool,
                   tokens: list[Token]) -> list[tuple[int, int]]:
    """SoMaJo's `alignment.token_offsets` for text input, with `_determine_offsets` above and no
    NFC alignment tables when the paragraph is already NFC (the toolkit's text always is: ingest
    normalises): SoMaJo then builds four dicts with an entry per character that map every offset to
    itself. An offset those identity tables would not hold (SoMaJo: KeyError) goes to SoMaJo's own
    function, which raises as before. XML input goes to SoMaJo's function unchanged."""
    if xml_input:
        return alignment.token_offsets(token_list, raw, position, xml_input, tokens)
    raw_nfc = unicodedata.normalize("NFC", raw)
    offsets = _determine_offsets(tokens, raw_nfc, position)
    assert len(tokens) == len(offsets), f"Not as many tokens as offsets: {len(tokens)} != {len(offsets)}"
    if raw_nfc == raw:
        n = len(raw)
        if all(0 <= s < n and 0 < e <= n for s, e in offsets):
            return [(s + position, e + position) for s, e in offsets]
        return alignment.token_offsets(token_list, raw, position, xml_input, tokens)
    align_to_raw = alignment._align_nfc(raw_nfc, raw)
    starts = {i: v[0] for k, v in align_to_raw.items() for i in range(k[0], k[1])}
    ends = {i: v[1] for k, v in align_to_raw.items() for i in range(k[0], k[1])}
    return [(starts[s] + position, ends[e - 1] + position) for s, e in offsets]


def _linear_offsets(somajo: SoMaJo) -> SoMaJo:
    """Give this instance `_token_offsets` as its offset pass: `SoMaJo._tokenize` as in SoMaJo 2.5,
    with the one call to `alignment.token_offsets` replaced (the installed module is left alone).
    Skipped if SoMaJo's internals have changed shape."""
    method = getattr(type(somajo), "_tokenize", None)
    shape = (getattr(getattr(method, "__code__", None), "co_varnames", ())[:3] == ("self", "token_info", "xml_input")
             and "token_offsets" in method.__code__.co_names
             and alignment._determine_offsets.__code__.co_varnames[:3] == ("tokens", "raw", "position"))
    if not shape:
        return somajo

    def tokenize(token_info: tuple[list[Token], str, int], xml_input: bool) -> list[list[Token]]:
        token_list, raw, position = token_info
        tokens = somajo._tokenizer._tokenize(doubly_linked_list.DLL(token_list))
        if somajo.character_offsets:
            for tok, offset in zip(tokens, _token_offsets(token_list, raw, position, xml_input, tokens)):
                tok.character_offset = offset
        if somajo.split_sentences:
            return somajo._sentence_splitter._split_sentences(tokens)
        return [tokens]

    somajo._tokenize = tokenize
    return somajo


def _plain_somajo() -> SoMaJo:
    return SoMaJo("de_CMC", split_camel_case=False, character_offsets=True)


class _LazyPattern:
    """A SoMaJo pattern compiled on first use. SoMaJo's tokenizer compiles its 139 patterns in the
    constructor, 0.14 CPU-s of every process start; a German run with split_camel_case=False never
    touches some of them (the camel-case list, a third of the cost of the longest two; the English
    ones; most gated passes on prose without their characters), and one article touches few more.
    The first use compiles with the very arguments SoMaJo gave (`regex.compile(pattern, flags)`: the
    same pattern object SoMaJo would have held) and puts the compiled pattern in the place this
    stand-in was bound to (`_bind_lazy_patterns`), so from then on SoMaJo's code reads the pattern
    itself, with no stand-in in between. `pattern` and `flags` are SoMaJo's arguments, readable
    without compiling (the patches above check sources and the IGNORECASE bit)."""

    __slots__ = ("pattern", "flags", "_compiled", "_holder", "_name")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern, self.flags = pattern, flags
        self._compiled: regex.Pattern[str] | None = None
        self._holder: object = None
        self._name = ""

    def bind(self, holder: object, name: str) -> None:
        """On compiling, set `holder.<name>` (where this stand-in sits) to the compiled pattern."""
        self._holder, self._name = holder, name

    def compiled(self) -> regex.Pattern[str]:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = regex.compile(self.pattern, self.flags)
            if self._holder is not None:
                setattr(self._holder, self._name, compiled)
                self._holder = None
        return compiled

    def __getattr__(self, name: str):  # noqa: ANN204 - finditer, sub, groupindex, ... of the compiled pattern
        return getattr(self.compiled(), name)


#: What a SoMaJo pattern attribute of the project's instance may be before its first use.
_PATTERNS = (regex.Pattern, _LazyPattern)


class _CompiledSearch:
    r"""`regex` as SoMaJo's tokenizer module sees it while the constructor runs: `compile` gives a
    `_LazyPattern`, and `search(pattern, string)` keeps the compiled pattern: SoMaJo's constructor
    calls regex.search(r"^\w+$", entry) for each of its 7,647 camel-case entries (and
    r"^\w+[&+]\w+$" for the +/& ones), and regex's per-call cache look-up (flag enums included) was
    two thirds of building the tokenizer, about 0.2 CPU-s of every process start. Same pattern,
    same flags, same search: the same match."""

    def __init__(self) -> None:
        self._compiled: dict[str, regex.Pattern[str]] = {}

    def __getattr__(self, name: str):  # noqa: ANN204 - escape, IGNORECASE, ... of regex
        return getattr(regex, name)

    def compile(self, pattern, flags=0, *args, **kwargs):  # noqa: ANN001, ANN201 - regex.compile's signature
        if args or kwargs or not isinstance(pattern, str):
            return regex.compile(pattern, flags, *args, **kwargs)
        return _LazyPattern(pattern, flags)

    def search(self, pattern, string, *args, **kwargs):  # noqa: ANN001, ANN201 - regex.search's signature
        if args or kwargs or not isinstance(pattern, str):
            return regex.search(pattern, string, *args, **kwargs)
        compiled = self._compiled.get(pattern)
        if compiled is None:
            compiled = self._compiled[pattern] = regex.compile(pattern)
        return compiled.search(string)


def _bind_lazy_patterns(somajo: SoMaJo) -> SoMaJo:
    """Bind each `_LazyPattern` where it sits, after the patches: a tokenizer attribute, or the
    `pattern` of a patch's wrapper (`_Gated`, `_DottedWords`, `_Spaces`), so that its first use
    replaces it there by the compiled pattern. One in a list (English contractions) stays a
    stand-in; it compiles on first use all the same."""
    tokenizer = getattr(somajo, "_tokenizer", None)
    for name, value in list(vars(tokenizer).items()) if tokenizer is not None else ():
        if isinstance(value, _LazyPattern):
            value.bind(tokenizer, name)
        elif isinstance(value, (_Gated, _DottedWords, _Spaces)) and isinstance(value.pattern, _LazyPattern):
            value.pattern.bind(value, "pattern")
    return somajo


def _built_quickly() -> SoMaJo:
    """`_plain_somajo()` with `_CompiledSearch` as the tokenizer module's `re` while the constructor
    runs (then `regex` again, also on error). Only that name is swapped, only for the construction
    (anything else calling through it meanwhile gets regex's own answer); the instance holds
    `_LazyPattern`s that compile, on first use, to the very patterns `regex.compile` gives."""
    module = somajo_tokenizer
    if getattr(module, "re", None) is not regex:
        return _plain_somajo()
    module.re = _CompiledSearch()
    try:
        return _plain_somajo()
    finally:
        module.re = regex


@lru_cache(maxsize=1)
def _tokenizer() -> SoMaJo:
    """The project's SoMaJo: an unpatched instance with the speed patches above on it alone (each
    leaves tokens, offsets and sentences as they were; tests/test_segment.py compares)."""
    somajo = _built_quickly()
    for patch in (_skip_emoji_pass_without_emoji, _split_long_nodes_in_chunks, _abbreviations_on_dotted_words,
                  _gate_rare_passes, _linear_offsets, _bind_lazy_patterns):
        somajo = patch(somajo)
    return somajo


def paragraphs(text: str) -> list[Span]:
    """Non-empty lines, stripped of surrounding white space; each line is a paragraph."""
    spans = []
    for m in _PARAGRAPH.finditer(text):
        s, e = m.span()
        chunk = m.group()
        s += len(chunk) - len(chunk.lstrip())
        e -= len(chunk) - len(chunk.rstrip())
        if s < e:
            spans.append((s, e))
    return spans


def _paragraph_sentences(tok: SoMaJo, paragraph: str) -> tuple[Span, ...]:
    """Sentence spans of one paragraph, relative to it."""
    return tuple((sent[0].character_offset[0], sent[-1].character_offset[1])
                 for sent in tok.tokenize_text([paragraph]) if sent)


# The fast path: SoMaJo's sentences without running SoMaJo where the answer is certain (issue 13).
# A Latin letter as SoMaJo 2.5's patterns see it (no digit, no combining mark, no dot).
_LATIN = "A-Za-zÀ-ÖØ-öø-ÿ"
_LATIN_OR_HYPHEN = frozenset(chr(c) for c in range(0x250) if re.fullmatch(f"[{_LATIN}-]", chr(c)))
#: Lower-case Latin letters (`_lower_word_follows`).
_LATIN_LOWER = frozenset(c for c in _LATIN_OR_HYPHEN if c.islower())
#: Latin letters, no hyphen (`_abbreviation_dot`, `_closed_before`).
_LATIN_LETTER = _LATIN_OR_HYPHEN - {"-"}
#: The right half of a place where SoMaJo 2.5 certainly ends a sentence: one [.!?], at most one
#: closing quote, one space, at most one opening quote and an upper-case letter; the left half, a word
#: of Latin letters (hyphenated parts of two or more) after a space, an opening quote or "(", is
#: checked by `_certain_end` (a look-behind per character made the `regex` scan a seventh of the cost).
_END_MARK = re.compile(r"[.!?][“”\"]? (?=[„“\"]?[A-ZÄÖÜ])")
_WORD = re.compile(rf"[{_LATIN}]{{2,}}(?:-[{_LATIN}]{{2,}})*")
#: What a chunk SoMaJo 2.5 certainly leaves as one sentence, from its first to its last character, may
#: not hold before its final [.!?] and closing quote: any character SoMaJo skips (control, format, white
#: space but " ") or a combining mark (`\w` of `re` is `str.isalnum`, no mark), or a character outside
#: this list; its marks . ! ? … (SoMaJo's sentence ends are tokens of those and its end-of-sentence
#: abbreviations, each of which holds a ".") are checked one by one in `_one_sentence`, e.g. a "." that
#: closes an ordinal of one to three digits after a space or "(" and before a space ("am 5. August",
#: "3. Liga"; `_ordinal_dot`: SoMaJo's `ordinal` makes it one token, no end token). The stdlib `re`
#: scans faster than `regex`.
_NOT_ONE_SENTENCE = re.compile(r"[^\w .,;:()\[\]\"'„“”‚‘’»«/%&+§$€°–—!?…-]")
#: The marks `_one_sentence` checks one by one: what SoMaJo's end tokens are made of.
_MARKS = re.compile("[.!?…]")
#: The first and the last character of such a chunk (before the final [.!?]): no space, no ".".
_FIRST = re.compile(r"[\w,;:()\[\]\"'„“”‚‘’»«/%&+§$€°–—-]")
_LAST = re.compile(r"[\w)\]\"'„“”‘’«%]")
_ROMAN = regex.compile(r"[MDCLXVI]+")


@lru_cache(maxsize=1)
def _dot_words() -> frozenset[str]:
    """Lower-cased words that SoMaJo 2.5 may join with the "." after them into one token (then that "."
    need not end a sentence, or ends it for another reason): its abbreviation lists, its single-token
    abbreviations, its end-of-sentence abbreviations and "ps." (its `ps` pattern). The other patterns
    that take a word's "." are handled in `_absorbs_punctuation`."""
    lists = ("abbreviations_de.txt", "single_token_abbreviations_de.txt", "eos_abbreviations.txt")
    words = {a.lower() for name in lists for a in somajo_utils.read_abbreviation_file(name)}
    return frozenset(words | {"ps."})


@lru_cache(maxsize=65_536)  # a word's answer depends on the word alone; most words recur
def _absorbs_punctuation(word: str) -> bool:
    """Whether a SoMaJo 2.5 pattern could make the punctuation after `word` part of a token. Such a
    match begins at the word's start or after one of its hyphens (every abbreviation pattern has a
    look-behind that forbids a letter before it) and, the word holding no ".", ends at that
    punctuation: a list entry equal to the rest of the word + ".", a word ending in "str"
    (`str_abbreviations`), a Roman numeral (`roman_ordinal`, case-sensitive)."""
    dot_words = _dot_words()
    for k in [0] + [i + 1 for i, ch in enumerate(word) if ch == "-"]:
        rest = word[k:]
        low = rest.lower()
        if low + "." in dot_words or low.endswith("str") or _ROMAN.fullmatch(rest):
            return True
    return False


def _certain_end(paragraph: str, mark: int) -> bool:
    """Whether SoMaJo 2.5 certainly makes the [.!?] at `mark` (an `_END_MARK` match) a token of its own:
    after a word it leaves the mark apart from (`_word_before`, not `_absorbs_punctuation`), or after
    one of the three left halves of `_closed_before` ("Ball“.", "(CDU).", "im Jahr 1988.")."""
    before = paragraph[mark - 1:mark]
    if before in ("“", "”", ")") or "0" <= before <= "9":
        return _closed_before(paragraph, mark, before)
    word = _word_before(paragraph, mark)
    return word is not None and not _absorbs_punctuation(word)


def _word_before(paragraph: str, end: int) -> str | None:
    """The word of Latin letters (`_WORD`) that ends at `end` and follows the start, a space, an
    opening quote or "(", or None."""
    j = end
    while j > 0 and paragraph[j - 1] in _LATIN_OR_HYPHEN:
        j -= 1
    if j > 0 and paragraph[j - 1] not in " „“\"(":
        return None
    word = paragraph[j:end]
    return word if _WORD.fullmatch(word) is not None else None


_PARENTHESIS_BODY = re.compile(f"[{_LATIN}0-9 -]+")
_YEAR = re.compile("[12][0-9]{3}")


def _closed_before(paragraph: str, mark: int, before: str) -> bool:
    r"""Whether the mark at `mark` follows (1) a closing quote “ or ” after a `_word_before`, (2) a
    parenthesis of Latin letters, digits, spaces and hyphens that follows the start, a space or „, or
    (3) a year [12]ddd after a Latin letter and a space. In each the mark is a token of its own: no
    pattern of SoMaJo's takes a "“" or ")" together with the punctuation after it (its abbreviations
    and ordinals need a letter or digit right before it, and none of its emoticons or single tokens
    that can occur in such text holds "“." or ")."; tests/test_segment_fast.py checks the lists);
    and a four-digit number beginning with 1 or 2 is no `ordinal` ((?:\d{1,3}|\d{5,}|[3-9]\d{3})\.),
    no number, date, section number or amount ends with ".", no measurement has a unit ".", and the
    letter and space before it leave no date, time or ISBN a way in. Nothing inside a parenthesis of
    those characters reaches the mark: no URL, e-mail or abbreviation can form there."""
    if before == ")":
        k = paragraph.rfind("(", 0, mark)
        return (k != -1 and (k == 0 or paragraph[k - 1] in " „")
                and _PARENTHESIS_BODY.fullmatch(paragraph, k + 1, mark - 1) is not None)
    if before in "“”":
        return _word_before(paragraph, mark - 1) is not None
    return (mark >= 6 and paragraph[mark - 5] == " " and paragraph[mark - 6] in _LATIN_LETTER
            and _YEAR.fullmatch(paragraph, mark - 4, mark) is not None)


def _ordinal_dot(paragraph: str, start: int, dot: int) -> bool:
    """Whether the "." at `dot` closes one to three ASCII digits that follow a space, "(" or the chunk's
    start and is followed by a space: SoMaJo's `ordinal` token ((?<![\\w.])\\d{1,3}\\.(?!\\d))."""
    k = dot
    while k > start and dot - k < 4 and "0" <= paragraph[k - 1] <= "9":
        k -= 1
    return (0 < dot - k <= 3 and (k == start or paragraph[k - 1] in " (")
            and paragraph.startswith(" ", dot + 1))


#: What a chunk may not hold for `_abbreviation_dot`: the characters that let a pattern SoMaJo runs
#: before its abbreviations reach into a word ("[" markdown links and " [at] " e-mail, "/" URL paths
#: and DOIs, "&" entities, "+" and "&" tokens, "_" underlines).
_NOT_PLAIN = re.compile(r"[\[\]/&+_]")


def _lower_word_follows(paragraph: str, mark: int) -> bool:
    """Whether the . ! ? or … at `mark` is followed, after at most one closing quote (“ ” ") and at
    most one space, by a run of Latin letters whose first two are lower case and that holds no upper-case
    one ("sagte er. dann", "bzw. der", "ver.di", „Warum?“ fragt er). Such a mark never ends a sentence
    for SoMaJo 2.5, however it is tokenised: its sentence splitter ends a sentence after an end token
    only when the next token, past closing quotes and brackets and emoticons, starts with an upper-case
    letter, is numeric, or is a mention or hashtag. If the token holding the mark ends there, the quote
    is a closing one (followed by a space) or an opening one (followed by a letter), both passed over,
    and the next token starts at the lower-case letter (a token never starts with a space) and is none of
    those, nor a quote or bracket, nor an emoticon: no emoticon of SoMaJo's starts with a quote or two
    lower-case Latin letters but `emojiQ…`, whose "Q" is upper case (tests/test_segment_fast.py checks
    its lists). A token that runs on past the mark, or a quote token that takes letters, is no end token
    or no quote: end tokens are runs of . … ! ? or end-of-sentence abbreviations."""
    k = mark + 1
    if paragraph[k:k + 1] in ("“", "”", '"'):
        k += 1
    if paragraph.startswith(" ", k):
        k += 1
    letters = _LATIN_LOWER
    if not (paragraph[k:k + 1] in letters and paragraph[k + 1:k + 2] in letters):
        return False
    k += 2
    while k < len(paragraph) and paragraph[k] in _LATIN_LETTER:
        if paragraph[k] not in letters:
            return False
        k += 1
    return True


@lru_cache(maxsize=1)
def _abbreviation_words() -> tuple[frozenset[str], frozenset[str]]:
    """Lower-cased words of Latin letters that SoMaJo 2.5 makes one token with the "." after them when
    the word stands alone between spaces (`_abbreviation_dot`): every single letter
    (`single_letter_abbreviation`) and the words of its abbreviation and single-token abbreviation
    lists (both case-insensitive), but none SoMaJo could take otherwise: its end-of-sentence
    abbreviations (an end token), "ps" (its `ps` pattern has a look-behind of its own), "www" (URLs),
    "xd…" and "oo" (the emoticons xD, XD, oO). Returned as (words, units): the units ("s", "m",
    "min") are apart, since after a number they are a measurement ("5 min" and a ".")."""
    lists = ("abbreviations_de.txt", "single_token_abbreviations_de.txt")
    words = {a.lower()[:-1] for name in lists for a in somajo_utils.read_abbreviation_file(name)}
    words = {w for w in words if w and all(c in _LATIN_LETTER for c in w)} | {c.lower() for c in _LATIN_LETTER}
    eos = {a.lower()[:-1] for a in somajo_utils.read_abbreviation_file("eos_abbreviations.txt")}
    words = {w for w in words - eos - {"ps", "www", "oo"} if not re.fullmatch("xd+", w)}
    units = {u.lower().rstrip(".") for u in somajo_utils.read_abbreviation_file("units.txt")}
    return frozenset(words - units), frozenset(words & units)


def _abbreviation_dot(paragraph: str, start: int, dot: int) -> bool:
    """Whether the "." at `dot` closes a word of `_abbreviation_words` that stands between spaces (or
    the chunk's start, which follows a space or the paragraph's start): "Dr. Meier", "ca. 50",
    "S. Fischer". SoMaJo 2.5 then makes "word." one token, which is no end token (not a run of
    punctuation, not an end-of-sentence abbreviation), so the "." ends no sentence. Why the token is
    always "word.": the passes before its abbreviations cannot reach into such a word in a chunk
    without "[ ] / & + _" (`_NOT_PLAIN`; `_one_sentence` has already excluded "<", "@", "#", "*",
    emoji and marks): their matches hold characters the word lacks (":", ";", digits, "://", "www.",
    "(" after a letter) or are listed emoticons and single tokens none of which fits " word. "
    (tests/test_segment_fast.py checks the lists), a measurement is a number, at most one space and a
    unit, so a unit counts only when no digit stands before that space;
    then each abbreviation pattern that matches at the word's start (their look-behinds forbid a
    letter before) matches exactly "word." (its entries hold a "." and no space, the word holds no
    "."), and a matched token is locked against later passes."""
    j = dot
    while j > start and paragraph[j - 1] in _LATIN_LETTER:
        j -= 1
    if j == dot or (j > start and paragraph[j - 1] != " ") or not paragraph.startswith(" ", dot + 1):
        return False
    words, units = _abbreviation_words()
    word = paragraph[j:dot].lower()
    return word in words or (word in units and not (j >= 2 and "0" <= paragraph[j - 2] <= "9"))


#: The numbers `_number_dot` vouches for: thousands groups, a decimal point, a date d.m.yy or d.m.yyyy.
_NUMBER = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]{1,8}\.[0-9]{1,8}|[0-9]{1,2}\.[0-9]{1,2}\.(?:[0-9]{2}){1,2}")


def _number_dot(paragraph: str, start: int, dot: int) -> bool:
    r"""Whether the "." at `dot` lies inside a number of `_NUMBER`'s shapes that follows "(", or a space
    without a digit or "-" before it, or the chunk's start, and is followed by " ", ", " or ")" (not
    after ".8": "8)" is an emoticon's eye and mouth): "1.000 Menschen", "2.5 Prozent", "(1.10.2020)".
    SoMaJo 2.5 keeps each such "." inside a token: a valid date is split by `three_part_date_dmy` (or
    `_mdy`) into "1." "10." "2020" (the dots stay with their digits); otherwise `number` takes the whole
    (its look-behind (?<!\w-?|\d[.,]?) and that of every later number pattern forbid a start after a
    digit or "digit."; none of the shapes can start a two-part date, which needs a "." after its second
    part, or an ordinal, whose "." is followed by no digit), and no earlier pass can take part of it:
    measurements need a unit after the whole number, ISBNs need ten digits or groups separated by " "
    or "-" (no group here has nine digits, and no digit and space come before), the emoticon eye "8"
    needs a mouth, calculations an operator. A "." inside a token is no end token, so it ends no
    sentence. The chunk's start follows a space."""
    i = dot
    while i > start and paragraph[i - 1] in "0123456789.":
        i -= 1
    j = dot + 1
    while j < len(paragraph) and paragraph[j] in "0123456789.":
        j += 1
    if i > start and not (paragraph[i - 1] == "(" or (paragraph[i - 1] == " " and (i - 1 == 0 or paragraph[i - 2]
                                                                                    not in "0123456789-"))):
        return False
    if not (paragraph.startswith(" ", j) or paragraph.startswith(", ", j)
            or (paragraph.startswith(")", j) and not paragraph.endswith(".8", i, j))):  # "8)" is an emoticon
        return False
    return _NUMBER.fullmatch(paragraph, i, j) is not None


def _one_sentence(paragraph: str, start: int, end: int) -> bool:
    """Whether SoMaJo 2.5 certainly keeps paragraph[start:end] as one sentence spanning all of it:
    its body (before a final [.!?] and closing quote) holds nothing `_NOT_ONE_SENTENCE` finds, no mark
    of . ! ? … that could end a sentence (`_lower_word_follows`; for a "." also `_ordinal_dot`,
    `_number_dot`, `_abbreviation_dot`), and begins and ends with a character that begins and ends a
    token (`_FIRST`, `_LAST`)."""
    body = end
    if body > start and paragraph[body - 1] in "“”\"" and body - 1 > start and paragraph[body - 2] in ".!?":
        body -= 2
    elif body > start and paragraph[body - 1] in ".!?":
        body -= 1
    if not (body > start and _FIRST.match(paragraph, start) and _LAST.match(paragraph, body - 1)
            and _NOT_ONE_SENTENCE.search(paragraph, start, body) is None):
        return False
    plain = None
    for m in _MARKS.finditer(paragraph, start, body):
        dot = m.start()
        if _lower_word_follows(paragraph, dot):
            continue
        if m.group() != "." or not (_ordinal_dot(paragraph, start, dot) or _number_dot(paragraph, start, dot)):
            if plain is None:
                plain = _NOT_PLAIN.search(paragraph, start, body) is None
            if not (m.group() == "." and plain and _abbreviation_dot(paragraph, start, dot)):
                return False
    return True


def _chunks(paragraph: str) -> list[tuple[int, int, bool]]:
    """(start, end, one sentence for certain) of the chunks between the certain sentence ends."""
    out: list[tuple[int, int, bool]] = []
    start = 0
    one = _one_sentence
    for m in _END_MARK.finditer(paragraph):
        if _certain_end(paragraph, m.start()):
            end = m.end() - 1
            out.append((start, end, one(paragraph, start, end)))
            start = m.end()
    out.append((start, len(paragraph), one(paragraph, start, len(paragraph))))
    return out


def _may_cross_an_end(paragraph: str) -> bool:
    """Whether a SoMaJo 2.5 pattern whose match may hold ". " and a capital could occur: `underline`
    (_…_, any characters but "_" between), `markdown_links` ([…](…)) and XML `tag`s (<…>). Such a
    match could cross a certain end, where SoMaJo reads the paragraph otherwise than the chunks
    (found by Hypothesis: "Er kam _1.000 km. Der 50_"), so such a paragraph goes to SoMaJo whole."""
    return paragraph.count("_") > 1 or "](" in paragraph or ("<" in paragraph and ">" in paragraph)


def _fast_paragraph_sentences(tok: SoMaJo, paragraph: str) -> tuple[Span, ...]:
    """The spans `_paragraph_sentences` gives, with SoMaJo run only on the chunks between certain
    sentence ends (`_END_MARK`, `_certain_end`) that could hold another end, all of them in one call,
    joined by " ". Why the spans are the same: SoMaJo splits a sentence at an end token ([.!?] or an
    end-of-sentence abbreviation) when the next token that is not a quote or bracket starts with an
    upper-case letter; at a certain end the [.!?] is a token of its own, so SoMaJo ends a sentence
    there; and none of its patterns crosses such a place (their look-behinds see a space there as at
    the start of a text, their look-aheads a space as at the end), so a chunk tokenises the same
    within the paragraph, alone or after another chunk that ends at a certain end (the joint is then
    again a certain end). A span that would cross a joint sends the paragraph to SoMaJo whole, as
    does a paragraph not in NFC (SoMaJo maps its offsets through NFC alignment) and one where a
    pattern could cross a certain end after all (`_may_cross_an_end`).
    tests/test_segment_fast.py compares with SoMaJo on the seeds, the SpkAtt articles, generated
    text, probes and Hypothesis text."""
    if not (paragraph.isascii() or unicodedata.is_normalized("NFC", paragraph)) or _may_cross_an_end(paragraph):
        return _paragraph_sentences(tok, paragraph)
    chunks = _chunks(paragraph)
    hard = [(s, e) for s, e, one in chunks if not one]
    found: dict[int, list[Span]] = {}
    if hard:
        joined, starts = [], []
        at = 0
        for s, e in hard:
            starts.append(at)
            joined.append(paragraph[s:e])
            at += e - s + 1
        for s, e in _paragraph_sentences(tok, " ".join(joined)):
            i = bisect.bisect_right(starts, s) - 1
            if e > starts[i] + hard[i][1] - hard[i][0]:
                return _paragraph_sentences(tok, paragraph)
            found.setdefault(i, []).append((hard[i][0] + s - starts[i], hard[i][0] + e - starts[i]))
    out: list[Span] = []
    h = 0
    for s, e, one in chunks:
        if one:
            out.append((s, e))
        else:
            out.extend(found.get(h, ()))
            h += 1
    return tuple(out)


#: Paragraphs whose sentences `sentences` keeps (about 25 MB at the generated corpus's 430 characters).
PARAGRAPH_CACHE = 32_768


@lru_cache(maxsize=PARAGRAPH_CACHE)
def _cached_paragraph_sentences(paragraph: str) -> tuple[Span, ...]:
    """`_paragraph_sentences` with the project's SoMaJo, remembered per paragraph text: SoMaJo reads
    each paragraph alone (one `tokenize_text` call, nothing carried over), so a paragraph seen again
    (agency boilerplate, a repeated caption; a third of the generated corpus's) has the same
    sentences. An exception (SoMaJo's alignment assertion) is not remembered and is raised again."""
    return _fast_paragraph_sentences(_tokenizer(), paragraph)


def sentences(text: str, paras: list[Span] | None = None, tokenizer: SoMaJo | None = None) -> list[Span]:
    """Sentence spans, never crossing a paragraph boundary (SoMaJo runs per paragraph)."""
    paras = paragraphs(text) if paras is None else paras
    out: list[Span] = []
    for p_start, p_end in paras:
        paragraph = text[p_start:p_end]
        spans = (_cached_paragraph_sentences(paragraph) if tokenizer is None
                 else _paragraph_sentences(tokenizer, paragraph))
        out.extend((p_start + s, p_start + e) for s, e in spans)
    return out

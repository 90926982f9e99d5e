"""Paragraphs and sentences with character offsets into the normalised article text.

Sentence splitting is SoMaJo's (it knows German abbreviations and keeps "11. September"
together); we only map its token offsets back to spans. Paragraphs are blank-line or
line-break separated blocks, since news text arrives both ways.
"""

from __future__ import annotations

import re
from functools import lru_cache

import regex
from somajo import SoMaJo, alignment
from somajo.token import Token

Span = tuple[int, int]

_PARAGRAPH = re.compile(r"[^\n]+")


# Every character SoMaJo's emoji pass could split on (the union of its two per-grapheme classes).
_EMOJI_CHAR = regex.compile(r"[\p{Extended_Pictographic}\p{Emoji_Presentation}\uFE0F]")


def _skip_emoji_pass_without_emoji(somajo: SoMaJo) -> SoMaJo:
    """SoMaJo 2.x runs a regex search per grapheme to find emoji, about half of its time on
    news prose that holds none. A token without any emoji character cannot be split by that
    pass, so one search over the token decides whether to run it; the result is unchanged
    (tests/test_ingest.py compares against an unpatched SoMaJo, emoji included). The patch
    sits on this instance only and is skipped if SoMaJo's internals change shape."""
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
    shortcut; tests/test_ingest.py compares against an unpatched SoMaJo."""
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


#: SoMaJo's own offset pass, kept for the slow path and for tests/test_ingest.py.
_SOMAJO_OFFSETS = getattr(alignment, "_determine_offsets", None)
_WHITESPACE = regex.compile(r"\s")


def _starts_at(raw: str, i: int, text: str) -> bool:
    """raw[i:].startswith(text) without copying raw[i:] (str.startswith is False past the end)."""
    return raw.startswith(text, i) if i <= len(raw) else raw[i:].startswith(text)


def _token_offsets(tokens: list, raw: str, position: int) -> list[tuple[int, int]]:  # SoMaJo Token objects
    """SoMaJo's `alignment._determine_offsets`, linear in the paragraph: SoMaJo tests each token
    with raw[i:].startswith(token), copying the rest of the paragraph per token, so a paragraph of
    n characters cost O(n²) (a 1 MB paragraph of short quotes: about a minute and 700 MB).

    The common cases (token at i, or after one space) are tested in place. A token SoMaJo has to
    search for (skipped soft hyphens or control characters, extra spaces) goes to SoMaJo's own
    function alone, on a window of the paragraph and, if that is too short, on the whole rest;
    should that single call read state the whole pass would have carried over from an earlier
    token (which only garbled input reaches), SoMaJo's pass runs over the whole paragraph instead.
    Offsets are identical in every case (tests/test_ingest.py compares against SoMaJo's)."""
    raw = _WHITESPACE.sub(" ", raw)
    offsets: list[tuple[int, int]] = []
    raw_i = 0
    for token in tokens:
        if token.markup:
            start, end = token.character_offset
            start, end = start - position, end - position
        else:
            text = _WHITESPACE.sub(" ", token.text if token.original_spelling is None else token.original_spelling)
            if _starts_at(raw, raw_i, text):
                start, end = raw_i, raw_i + len(text)
            elif _starts_at(raw, raw_i, " " + text):
                start, end = raw_i + 1, raw_i + 1 + len(text)
            else:
                found = _search_token(token, raw, raw_i)
                if found is None:
                    return _SOMAJO_OFFSETS(tokens, raw, position)
                start, end = found
        offsets.append((start, end))
        raw_i = end
    return offsets


def _search_token(token, raw: str, raw_i: int) -> tuple[int, int] | None:  # noqa: ANN001 - SoMaJo Token
    """SoMaJo's search for one token from raw_i, on as little of the paragraph as it reads; None if
    the search needs state from earlier tokens (UnboundLocalError: it found nothing to read)."""
    window = 64 + 2 * len(token.text if token.original_spelling is None else token.original_spelling)
    for stop in (raw_i + window, len(raw)):
        whole = stop >= len(raw)
        try:
            ((start, end),) = _SOMAJO_OFFSETS([token], raw[raw_i:stop], 0)
        except AssertionError:  # raised again on the whole rest, with SoMaJo's own message
            if whole:
                raise
            continue
        except UnboundLocalError:  # the window was too short, or (whole) state from earlier tokens
            if whole:
                return None
            continue
        return start + raw_i, end + raw_i
    return None


def _linear_offsets() -> None:
    """Install `_token_offsets` as SoMaJo's offset pass (module-wide: the results are the same,
    only the time is not), unless SoMaJo's internals have changed shape."""
    if _SOMAJO_OFFSETS is not None and _SOMAJO_OFFSETS.__code__.co_varnames[:3] == ("tokens", "raw", "position"):
        alignment._determine_offsets = _token_offsets


def _plain_somajo() -> SoMaJo:
    return SoMaJo("de_CMC", split_camel_case=False, character_offsets=True)


@lru_cache(maxsize=1)
def _tokenizer() -> SoMaJo:
    _linear_offsets()
    return _split_long_nodes_in_chunks(_skip_emoji_pass_without_emoji(_plain_somajo()))


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


def sentences(text: str, paras: list[Span] | None = None, tokenizer: SoMaJo | None = None) -> list[Span]:
    """Sentence spans, never crossing a paragraph boundary (SoMaJo runs per paragraph)."""
    paras = paragraphs(text) if paras is None else paras
    tok = tokenizer or _tokenizer()
    out: list[Span] = []
    for p_start, p_end in paras:
        for sent in tok.tokenize_text([text[p_start:p_end]]):
            if sent:
                out.append((p_start + sent[0].character_offset[0], p_start + sent[-1].character_offset[1]))
    return out

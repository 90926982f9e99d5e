"""Paragraphs and sentences with character offsets into the normalised article text.

Sentence splitting is SoMaJo's (it knows German abbreviations and keeps "11. September"
together); we only map its token offsets back to spans. Paragraphs are blank-line or
line-break separated blocks, since news text arrives both ways.
"""

from __future__ import annotations

import re
from functools import lru_cache

import regex
from somajo import SoMaJo

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


def _plain_somajo() -> SoMaJo:
    return SoMaJo("de_CMC", split_camel_case=False, character_offsets=True)


@lru_cache(maxsize=1)
def _tokenizer() -> SoMaJo:
    return _skip_emoji_pass_without_emoji(_plain_somajo())


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

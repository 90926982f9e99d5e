"""Paragraphs and sentences with character offsets into the normalised article text.

Sentence splitting is SoMaJo's (it knows German abbreviations and keeps "11. September"
together); we only map its token offsets back to spans. Paragraphs are blank-line or
line-break separated blocks, since news text arrives both ways.
"""

from __future__ import annotations

import re
from functools import lru_cache

from somajo import SoMaJo

Span = tuple[int, int]

_PARAGRAPH = re.compile(r"[^\n]+")


@lru_cache(maxsize=1)
def _tokenizer() -> SoMaJo:
    return SoMaJo("de_CMC", split_camel_case=False, character_offsets=True)


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


def sentences(text: str, paras: list[Span] | None = None) -> list[Span]:
    """Sentence spans, never crossing a paragraph boundary (SoMaJo runs per paragraph)."""
    paras = paragraphs(text) if paras is None else paras
    tok = _tokenizer()
    out: list[Span] = []
    for p_start, p_end in paras:
        for sent in tok.tokenize_text([text[p_start:p_end]]):
            if sent:
                out.append((p_start + sent[0].character_offset[0], p_start + sent[-1].character_offset[1]))
    return out

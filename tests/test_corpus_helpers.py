"""Per-article functions for the corpus tests (module-level, so spawned workers can import them).

`toy_extract` is a cheap deterministic stand-in for toolkit.attribution.extract.extract_article: it finds
„…“ / "…" spans and gives them stable ids, so engine tests do not pay for SoMaJo.
`crashing_extract` kills its own process (os._exit, no cleanup, like an OOM kill) on a marked
article while the file named by $QST_CRASH_MARKER exists.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from typing import Any

_QUOTE = re.compile(r"[„\"]([^“\"\n]{3,}?)[“\"]")
CRASH_ON = "gen13_00000031"  # an article of part 1 with --part-size 20


def toy_extract(article: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for m in _QUOTE.finditer(article["text"]):
        qid = "q_" + hashlib.sha256(f"{article['id']}:{m.start()}:{m.end()}".encode()).hexdigest()[:16]
        out.append({"quote_id": qid, "article_id": article["id"], "start": m.start(), "end": m.end(),
                    "text": m.group(), "type": "direct", "confidence": 0.5, "flags": [],
                    "article_title": article["title"], "article_date": article["date"], "toy_extra": len(m.group())})
    return out


def crashing_extract(article: dict[str, Any]) -> list[dict[str, Any]]:
    marker = os.environ.get("QST_CRASH_MARKER")
    if article["id"] == CRASH_ON and marker and os.path.exists(marker):
        os._exit(3)
    return toy_extract(article)


def failing_extract(article: dict[str, Any]) -> list[dict[str, Any]]:
    if article["id"] == CRASH_ON:
        raise ValueError("synthetic extractor bug")
    return toy_extract(article)


SLOW_ON = "gen13_00000007"  # an article of part 0 with --part-size 4 or more


def slow_extract(article: dict[str, Any]) -> list[dict[str, Any]]:
    """A real slow article: sleeps $QST_SLOW_SECONDS (default 600) on SLOW_ON, the toy extractor otherwise."""
    if article["id"] == SLOW_ON:
        time.sleep(float(os.environ.get("QST_SLOW_SECONDS", "600")))
    return toy_extract(article)


def stubborn_extract(article: dict[str, Any]) -> list[dict[str, Any]]:
    """Loops forever on SLOW_ON, in pure Python, swallowing every Exception it sees."""
    while article["id"] == SLOW_ON:
        try:
            sum(range(100_000))
        except Exception:  # noqa: BLE001, S110 - the point: a time limit must not be an Exception
            pass
    return toy_extract(article)


def sluggish_extract(article: dict[str, Any]) -> list[dict[str, Any]]:
    """The toy extractor, $QST_SLUG_SECONDS (default 0.05) slower per article: runs long enough to be killed."""
    time.sleep(float(os.environ.get("QST_SLUG_SECONDS", "0.05")))
    return toy_extract(article)


def gated_extract(article: dict[str, Any]) -> list[dict[str, Any]]:
    """The toy extractor, but every article waits while the file named by $QST_GATE exists."""
    gate = os.environ.get("QST_GATE")
    while gate and os.path.exists(gate):
        time.sleep(0.05)
    return toy_extract(article)

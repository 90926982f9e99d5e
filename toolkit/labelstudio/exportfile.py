"""Read a Label Studio JSON export one task at a time (ijson), so a 100k-annotation file fits in memory.

Why: `json.loads` of a whole export holds every task's text, predictions and annotations as
Python objects at once — about 7x the file size at peak for 100k annotations. Streamed through
ijson's C backend, only the current task and the growing table are held.

The streamed path must never accept a file the whole-file path would refuse, nor read it
differently, so it is only a fast path: anything unusual goes to
toolkit.labelstudio.annotations.detect_and_normalise, which then reads or refuses it with its
usual one-line message. Unusual = not a JSON list, a first task that is not a full JSON task
(JSON_MIN, CSV), invalid JSON/UTF-8 or a BOM (ijson stops; the whole-file reader names the line),
NaN/Infinity, integers beyond 64 bits (ijson stops), and — found by a cheap scan first — surrogate
escapes (ijson would read a lone one as "?").
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from toolkit.labelstudio import annotations as lsx

_CHUNK = 8 << 20


def _has_surrogate_escape(f: BinaryIO) -> bool:
    r"""Whether the file may hold a \uD800-\uDFFF escape (ijson reads a lone one as "?")."""
    tail = b""
    while chunk := f.read(_CHUNK):
        window = tail + chunk
        if b"\\ud" in window or b"\\uD" in window:
            f.seek(0)
            return True
        tail = chunk[-2:]
    f.seek(0)
    return False


def _tasks(f: BinaryIO) -> Iterator[Any] | None:
    """The export's tasks as a stream, or None if the file is not a plain list of full JSON tasks."""
    import ijson

    start = f.read(64).lstrip()
    f.seek(0)
    if not start.startswith(b"["):
        return None
    items = ijson.items(f, "item", use_float=True)  # straight on the file: ijson's C builder
    head = next(items, None)
    if not isinstance(head, dict) or not ("annotations" in head or "data" in head):
        return None
    return itertools.chain([head], items)


def normalise_export(source: str | Path | bytes, where: str | Path, known: set[str] | None = None,
                     fmt: str | None = None, model_version: str | None = None,
                     who: lsx.Who | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Like annotations.detect_and_normalise, reading a full JSON export (file or bytes) as a stream."""
    import ijson

    name = str(where)
    is_json = (fmt or "").upper() == "JSON" or (fmt is None and Path(name).suffix.lower() in {".json", ".jsonl"})
    if is_json:
        f = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
        try:
            if not _has_surrogate_escape(f):
                tasks = _tasks(f)
                if tasks is not None:
                    result = lsx.normalise_full(tasks, known, name, model_version=model_version, who=who)
                    lsx.refuse_unusable(result[1], name)
                    return result
        except (ijson.JSONError, UnicodeDecodeError):
            pass  # the whole-file reader words the error (line, column)
        finally:
            f.close()
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    return lsx.detect_and_normalise(raw, where, known=known, fmt=fmt, model_version=model_version, who=who)

"""Read articles from .txt folders, JSONL and CSV; normalise once; mark boilerplate spans.

The normalised text (UTF-8, NFC, "\n" line ends) is the reference every offset in the
toolkit points into. Boilerplate (teasers, photo credits and captions, comment-form
leftovers) is *marked*, never cut out, so offsets never shift; later stages skip marked spans.

An article is a plain dict: id, text, title, date, url, source, boilerplate (list of
{start, end, kind}) and origin ("file" or "file:line", for error messages).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from toolkit.errors import InputError
from toolkit.fileio import read_jsonl

ARTICLE_FIELDS = ("id", "text", "title", "date", "url", "source")
METADATA_FILE = "_metadata.jsonl"

# Whole-line boilerplate, by kind. Each pattern must match the entire (stripped) line.
_BOILERPLATE_LINES: list[tuple[str, re.Pattern[str]]] = [
    ("teaser", re.compile(r"^(Mehr zum Thema|Lesen Sie auch|Mehr dazu|Auch interessant|Weiterlesen)\s*[–—:-].*$")),
    ("photo_credit", re.compile(
        r"^(©\s*)?(Foto|Bild|Photo|Quelle)?\s*:?\s*(Getty Images|AFP|dpa|Reuters|AP|imago|picture alliance|"
        r"Sputnik|Keystone|EPA)([ /|,].{0,60})?$", re.IGNORECASE)),
    ("source_marker", re.compile(r"^source site-\d+$", re.IGNORECASE)),
    ("comment_form", re.compile(r"^(Leave a Reply|Leave a Comment|Kommentar (verfassen|schreiben)|"
                                r"Antworten|Schreibe einen Kommentar)\.?$", re.IGNORECASE)),
]


def normalise_text(raw: str) -> str:
    """NFC, no BOM, "\n" line ends. Applied once, at ingest."""
    text = raw.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def decode_bytes(data: bytes, where: str) -> str:
    """Decode UTF-8 strictly; name the file and byte offset when it is not text."""
    if not data.strip():
        raise InputError(f"{where}: empty file")
    nul = data.find(b"\x00", 0, 8192)
    if nul >= 0:
        raise InputError(f"{where}: binary file (NUL byte at offset {nul})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{where}: not UTF-8 at byte {exc.start} ({data[exc.start:exc.start + 4]!r}); "
            "convert it first, e.g. iconv -f cp1252 -t utf-8"
        ) from None


def _lines(text: str) -> Iterator[tuple[int, int]]:
    pos = 0
    for line in text.split("\n"):
        yield pos, pos + len(line)
        pos += len(line) + 1


def find_boilerplate(text: str) -> list[dict[str, Any]]:
    """Spans of non-prose lines; a caption is the paragraph right before a photo credit."""
    spans: list[dict[str, Any]] = []
    lines = list(_lines(text))
    for i, (s, e) in enumerate(lines):
        line = text[s:e]
        stripped = line.strip()
        if not stripped:
            continue
        lead = len(line) - len(line.lstrip())
        for kind, pattern in _BOILERPLATE_LINES:
            if pattern.match(stripped):
                spans.append({"start": s + lead, "end": s + lead + len(stripped), "kind": kind})
                if kind == "photo_credit":
                    j = i - 1
                    while j >= 0 and not text[lines[j][0]:lines[j][1]].strip():
                        j -= 1
                    if j >= 0:
                        cs, ce = lines[j]
                        cap = text[cs:ce]
                        cl = len(cap) - len(cap.lstrip())
                        spans.append({"start": cs + cl, "end": cs + cl + len(cap.strip()), "kind": "caption"})
                break
    spans.sort(key=lambda sp: sp["start"])
    return spans


def _guess_title(text: str) -> str | None:
    first = text.lstrip("\n").split("\n", 1)[0].strip()
    if first and len(first) <= 200 and not re.search(r"[.!?:“”\"«»]$", first):
        return first
    return None


def make_article(obj: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate a raw record (needs id and text) and return a normalised article dict."""
    if "text" not in obj or obj["text"] is None:
        raise InputError(f"{where}: missing required field 'text'")
    if not isinstance(obj["text"], str):
        raise InputError(f"{where}: field 'text' must be a string, got {type(obj['text']).__name__}")
    art_id = obj.get("id")
    if art_id is None or str(art_id).strip() == "":
        raise InputError(f"{where}: missing required field 'id'")
    text = normalise_text(obj["text"])
    article: dict[str, Any] = {"id": str(art_id), "text": text}
    for key in ("title", "date", "url", "source"):
        val = obj.get(key)
        article[key] = None if val is None or (isinstance(val, float) and val != val) or val == "" else str(val)
    if article["title"] is None:
        article["title"] = _guess_title(text)
    article["boilerplate"] = find_boilerplate(text)
    article["origin"] = where
    return article


def _load_metadata(folder: Path) -> dict[str, dict[str, Any]]:
    meta_path = folder / METADATA_FILE
    if not meta_path.exists():
        return {}
    return {str(obj["id"]): obj for _, obj in read_jsonl(meta_path, required=("id",))}


def _guarded(raw: Iterator[tuple[str, Callable[[], dict[str, Any]]]], skip_bad: bool,
             errors: list[str] | None) -> Iterator[dict[str, Any]]:
    """Build an article from each (where, loader); a bad one raises, or with skip_bad is recorded."""
    for where, load in raw:
        try:
            yield make_article(load(), where)
        except InputError as exc:
            if not skip_bad:
                raise
            if errors is not None:
                errors.append(str(exc))


def read_txt_folder(folder: Path, skip_bad: bool = False, errors: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """One article per .txt file; id = file stem; optional _metadata.jsonl adds date/url/source/title."""
    meta = _load_metadata(folder)
    files = sorted(p for p in folder.rglob("*.txt") if p.is_file())
    if not files:
        raise InputError(f"{folder}: no .txt files found")

    def loader(path: Path) -> Callable[[], dict[str, Any]]:
        return lambda: {**meta.get(path.stem, {}), "id": path.stem,
                        "text": decode_bytes(path.read_bytes(), str(path))}

    yield from _guarded(((str(p), loader(p)) for p in files), skip_bad, errors)


def read_jsonl_articles(path: Path, skip_bad: bool = False, errors: list[str] | None = None) -> Iterator[dict[str, Any]]:
    rows = read_jsonl(path, required=("id", "text"), skip_bad=skip_bad, errors=errors)
    yield from _guarded(((f"{path}:{n}", (lambda o=obj: o)) for n, obj in rows), skip_bad, errors)


def read_csv_articles(path: Path, skip_bad: bool = False, errors: list[str] | None = None) -> Iterator[dict[str, Any]]:
    data = decode_bytes(path.read_bytes(), str(path))
    reader = csv.DictReader(data.splitlines(keepends=True) if "\n" in data else [data])
    if reader.fieldnames is None or "id" not in reader.fieldnames or "text" not in reader.fieldnames:
        raise InputError(f"{path}:1: CSV header must have 'id' and 'text' columns (found {reader.fieldnames})")
    yield from _guarded(((f"{path}:{reader.line_num}", (lambda r=row: r)) for row in reader), skip_bad, errors)


def read_articles(path: str | Path, skip_bad: bool = False, errors: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Read articles from a folder of .txt files, a .jsonl/.ndjson file, a .csv file or a single .txt file.

    Bad records raise InputError naming file and line; with skip_bad=True they are appended to
    `errors` and reading goes on.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        yield from read_txt_folder(path, skip_bad, errors)
        return
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson"}:
        yield from read_jsonl_articles(path, skip_bad, errors)
    elif suffix == ".csv":
        yield from read_csv_articles(path, skip_bad, errors)
    elif suffix == ".txt":
        text = decode_bytes(path.read_bytes(), str(path))
        yield make_article({"id": path.stem, "text": text}, str(path))
    else:
        raise InputError(f"{path}: unknown article format {suffix!r} (use a folder of .txt, .jsonl or .csv)")


def in_boilerplate(article: dict[str, Any], start: int, end: int) -> bool:
    """True if [start, end) overlaps any boilerplate span of the article."""
    return any(sp["start"] < end and start < sp["end"] for sp in article.get("boilerplate", ()))


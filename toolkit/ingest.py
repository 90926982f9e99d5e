"""Read articles from .txt folders, JSONL and CSV; normalise once; mark boilerplate spans.

The normalised text (UTF-8, NFC, "\n" line ends) is the reference every offset in the
toolkit points into. Boilerplate (teasers, photo credits and captions, comment-form
leftovers) is *marked*, never cut out, so offsets never shift; later stages skip marked spans.

An article is a plain dict: id, text, title, date, url, source, boilerplate (list of
{start, end, kind}) and origin ("file" or "file:line", for error messages).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from toolkit.errors import InputError
from toolkit.fileio import read_jsonl
from toolkit.inputs import check_tree, csv_header, csv_rows, require_file_or_folder

log = logging.getLogger(__name__)

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


_MONTHS = {name: i for i, names in enumerate([
    ("januar", "jänner", "jan"), ("februar", "feber", "feb"), ("märz", "maerz", "mär", "mrz"), ("april", "apr"),
    ("mai",), ("juni", "jun"), ("juli", "jul"), ("august", "aug"), ("september", "sept", "sep"),
    ("oktober", "okt"), ("november", "nov"), ("dezember", "dez")], start=1) for name in names}
_DATE_FORMATS = [  # (pattern, group order) -- day, month, year; anything after the date (a time) is ignored
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?"), "ymd"),                  # 2025-03-01[T10:00:00Z]
    (re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})(?:[T ].*)?"), "ymd"),                  # 2025/03/01
    (re.compile(r"(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})(?:[ ,].*)?"), "dmy"),          # 1.3.2025, 01.03.2025
    (re.compile(r"(\d{1,2})\.?\s+([^\W\d]+)\.?\s+(\d{4})(?:[ ,].*)?"), "dmy"),        # 1. März 2025
]
_MONTH_ONLY = re.compile(r"(?:[^\W\d]+\.?\s+\d{4}|\d{4}-\d{1,2}|\d{1,2}[./]\d{4})")
_UNREAD_SHOWN = 20
_unread_dates = 0


def _parse_date_text(text: str) -> dt.date | None:
    """A date from the formats German and international feeds use; None if none fits exactly."""
    for pattern, order in _DATE_FORMATS:
        m = pattern.fullmatch(text)
        if m is None:
            continue
        parts = dict(zip(order, m.groups()))
        month = _MONTHS.get(parts["m"].lower()) if not parts["m"].isdigit() else int(parts["m"])
        if month is None:  # not a German month name: maybe RFC 2822 below
            continue
        try:
            return dt.date(int(parts["y"]), month, int(parts["d"]))
        except ValueError:  # 2012-13-45: the right shape, no such day
            return None
    try:  # RFC 2822, as in RSS feeds: "Sat, 01 Mar 2025 10:00:00 +0000"
        return email.utils.parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        return None


def normalise_date(value: Any, where: str, article_id: str) -> str | None:
    """The article date as ISO YYYY-MM-DD, or None with a warning naming the article.

    Role descriptions in the registry count only within their dates, and an unreadable date
    turns every role on, so a date is never dropped silently: it is read from the common
    German and ISO spellings, and otherwise reported. A month without a day ("März 2025")
    is reported too: a role that changed hands mid-month cannot be decided from it.
    """
    global _unread_dates
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    text = str(value).strip()
    date = _parse_date_text(text)
    if date is not None:
        return date.isoformat()
    _unread_dates += 1
    if _unread_dates <= _UNREAD_SHOWN:
        why = "month and year only" if _MONTH_ONLY.fullmatch(text) else "not a date format the toolkit reads"
        log.warning("%s: article %r: date %r cannot be read (%s; use YYYY-MM-DD); "
                    "its quotes get no date and every registry role counts for them", where, article_id, text, why)
        if _unread_dates == _UNREAD_SHOWN:
            log.warning("further unreadable article dates are not reported")
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
    article["date"] = normalise_date(obj.get("date") if article["date"] is not None else None, where, article["id"])
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
    """Build an article from each (where, loader); a bad one raises, or with skip_bad is recorded.

    A repeated article id is bad too (its quote_ids would collide with the first one's): the
    message names both places.
    """
    seen: dict[str, str] = {}
    for where, load in raw:
        try:
            article = make_article(load(), where)
            first = seen.setdefault(article["id"], where)
            if first != where:
                raise InputError(f"{where}: duplicate article id {article['id']!r} (first at {first}); "
                                 "ids must be unique, or quote ids collide")
            yield article
        except InputError as exc:
            if not skip_bad:
                raise
            if errors is not None:
                errors.append(str(exc))


def read_txt_folder(folder: Path, skip_bad: bool = False, errors: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """One article per .txt file; id = file stem; optional _metadata.jsonl adds date/url/source/title.

    Two files with the same stem in different subfolders would share an id: refused (the
    duplicate-id check names both), rather than ids from relative paths that would change the
    ids of existing nested collections.
    """
    meta = _load_metadata(folder)
    files = list(check_tree(sorted(folder.rglob("*.txt"))))
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
    """Articles of a CSV file, read record by record exactly as `qst extract-corpus` reads them.

    The file must be UTF-8 as a whole (decode_bytes names the byte); records are then read by
    toolkit.inputs.csv_rows, the one CSV reader: lines end only at "\n", an unterminated quote
    is an error naming its line, a row with the wrong number of fields is a bad record.
    """
    decode_bytes(path.read_bytes(), str(path))  # the whole file: not empty, not binary, UTF-8
    with open(path, "rb") as fh:
        header, delimiter, feed = csv_header(fh, path)

        def rows() -> Iterator[tuple[str, Callable[[], dict[str, Any]]]]:
            for line, _, row in csv_rows(feed, path, delimiter):
                yield f"{path}:{line}", (lambda r=row, w=f"{path}:{line}": _csv_record(header, r, w))

        yield from _guarded(rows(), skip_bad, errors)


def _csv_record(header: list[str], row: list[str], where: str) -> dict[str, Any]:
    if len(row) != len(header):
        raise InputError(f"{where}: expected {len(header)} fields, got {len(row)}")
    return dict(zip(header, row))


def read_articles(path: str | Path, skip_bad: bool = False, errors: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Read articles from a folder of .txt files, a .jsonl/.ndjson file, a .csv file or a single .txt file.

    Bad records raise InputError naming file and line; with skip_bad=True they are appended to
    `errors` and reading goes on.
    """
    path = require_file_or_folder(path, "articles (a folder of .txt, a .jsonl or a .csv file)")
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


"""Streaming input for corpus-scale extraction: plan parts, then read one part at a time.

Why a plan: a corpus of millions of articles is cut into *parts* of at most K records before any
extraction starts. A part is a byte range of one JSONL/CSV file or a row range of one Parquet
file, so any process (a local worker, a Dask worker on another machine) can read exactly its
part with a seek, without reading what comes before it. Part boundaries depend only on the
input and K, never on the number of workers or the engine, which is what makes the output of
1 process, N processes and a Dask cluster identical, and what lets `--resume` redo exactly the
parts that are missing.

Memory stays flat: planning keeps only offsets (one small dict per part); reading streams
lines (JSONL, CSV) or record batches (Parquet, `iter_batches`) of one part.

A malformed record does not stop the plan: it still occupies its slot (so the layout does not
depend on validation) and is reported when its part is read, with its location
(`file:line` or `file:row-group G/row R`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from toolkit.errors import InputError
from toolkit.ingest import ARTICLE_FIELDS, make_article

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}

#: Columns read from Parquet input (those present); `id` and `text` are required.

#: Arrow schema of a part's articles, including rows that stand for bad records.
ARTICLE_SCHEMA = pa.schema([
    ("id", pa.string()), ("text", pa.string()), ("title", pa.string()), ("date", pa.string()),
    ("url", pa.string()), ("source", pa.string()),
    ("boilerplate", pa.list_(pa.struct([("start", pa.int64()), ("end", pa.int64()), ("kind", pa.string())]))),
    ("origin", pa.string()),
    ("extra", pa.string()),      # JSON of article keys this schema does not know (future ingest fields)
    ("_error", pa.string()),     # set on rows that stand for a bad record
    ("_kind", pa.string()),      # error kind, e.g. invalid_json, missing_field
])
_ARTICLE_KEYS = {f.name for f in ARTICLE_SCHEMA} - {"extra", "_error", "_kind"}


# ---------------------------------------------------------------------------------------- files

def input_files(path: str | Path) -> tuple[str, list[Path]]:
    """The format and the sorted list of files of a corpus (a file or a folder of same-format files)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file():
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise InputError(f"{path}: unknown corpus format {path.suffix!r} (use .jsonl, .csv, .parquet "
                             "or a folder of them)")
        return fmt, [path]
    found: dict[str, list[Path]] = {}
    for p in sorted(path.rglob("*")):
        if p.is_file() and not p.name.startswith((".", "_")) and p.suffix.lower() in FORMATS:
            found.setdefault(FORMATS[p.suffix.lower()], []).append(p)
    if not found:
        raise InputError(f"{path}: folder holds no .jsonl, .csv or .parquet files "
                         "(a folder of .txt articles is read by `qst extract`)")
    if len(found) > 1:
        raise InputError(f"{path}: folder mixes formats ({', '.join(sorted(found))}); give one format per run")
    fmt, files = next(iter(found.items()))
    return fmt, files


def fingerprint(files: list[Path]) -> list[dict[str, Any]]:
    """Size and mtime of each input file: a resumed run refuses an input that changed."""
    out = []
    for p in files:
        st = p.stat()
        out.append({"path": str(p.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return out


# ------------------------------------------------------------------------------------- planning

def plan_parts(path: str | Path, part_size: int) -> tuple[str, list[dict[str, Any]]]:
    """Cut the corpus into parts of at most `part_size` records; parts never span two files.

    Returns (format, specs). A spec is a small JSON-able dict: part index, file, and the range
    (bytes + first line for JSONL/CSV, rows for Parquet) plus the number of records.
    """
    if part_size < 1:
        raise InputError(f"--part-size must be at least 1, got {part_size}")
    fmt, files = input_files(path)
    planner = {"jsonl": _plan_jsonl, "csv": _plan_csv, "parquet": _plan_parquet}[fmt]
    specs: list[dict[str, Any]] = []
    for f in files:
        for spec in planner(f, part_size):
            spec["part"] = len(specs)
            spec["format"] = fmt
            spec["file"] = str(f)
            specs.append(spec)
    return fmt, specs


def _plan_jsonl(path: Path, k: int) -> Iterator[dict[str, Any]]:
    """Every non-blank line is a record (a malformed one too: it keeps its slot)."""
    offset, lineno, n = 0, 0, 0
    start_off, start_line = 0, 1
    with open(path, "rb") as fh:
        for raw in fh:
            lineno += 1
            if not raw.isspace():
                if n == 0:
                    start_off, start_line = offset, lineno
                n += 1
                if n == k:
                    yield {"byte_start": start_off, "byte_end": offset + len(raw), "line_start": start_line,
                           "line_end": lineno, "records": n}
                    n = 0
            offset += len(raw)
    if n:
        yield {"byte_start": start_off, "byte_end": offset, "line_start": start_line, "line_end": lineno,
               "records": n}


class _LineFeed:
    """Feeds byte lines of a file, decoded, to csv.reader while counting bytes and lines consumed.

    csv.reader pulls exactly the lines one record needs, so after each record `offset` is the
    byte where the next record starts: that makes CSV records (which may span lines) seekable.
    Undecodable bytes become surrogates and are reported per record when the part is read.
    """

    def __init__(self, fh: io.BufferedReader, offset: int, end: int | None, lineno: int) -> None:
        self.fh, self.offset, self.end, self.lineno = fh, offset, end, lineno

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self.end is not None and self.offset >= self.end:
            raise StopIteration
        raw = self.fh.readline()
        if not raw:
            raise StopIteration
        self.offset += len(raw)
        self.lineno += 1
        return raw.decode("utf-8", errors="surrogateescape")


def _csv_header(path: Path) -> tuple[list[str], int, int]:
    with open(path, "rb") as fh:
        head = fh.read(3)
        start = 3 if head == b"\xef\xbb\xbf" else 0
        fh.seek(start)
        feed = _LineFeed(fh, start, None, 0)
        header = next(csv.reader(feed), None)
    if not header or "id" not in header or "text" not in header:
        raise InputError(f"{path}:1: CSV header must have 'id' and 'text' columns (found {header})")
    return header, feed.offset, feed.lineno


def _plan_csv(path: Path, k: int) -> Iterator[dict[str, Any]]:
    header, offset, lineno = _csv_header(path)
    with open(path, "rb") as fh:
        fh.seek(offset)
        feed = _LineFeed(fh, offset, None, lineno)
        reader = csv.reader(feed)
        n, start_off, start_line = 0, offset, lineno + 1
        while True:
            before_off, before_line = feed.offset, feed.lineno
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise InputError(f"{path}:{before_line + 1}: CSV cannot be parsed ({exc})") from None
            if not row:  # blank line
                continue
            if n == 0:
                start_off, start_line = before_off, before_line + 1
            n += 1
            if n == k:
                yield {"byte_start": start_off, "byte_end": feed.offset, "line_start": start_line,
                       "line_end": feed.lineno, "records": n, "header": header}
                n = 0
        if n:
            yield {"byte_start": start_off, "byte_end": feed.offset, "line_start": start_line,
                   "line_end": feed.lineno, "records": n, "header": header}


def _plan_parquet(path: Path, k: int) -> Iterator[dict[str, Any]]:
    """Row ranges from the footer alone (no data is read)."""
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
    names = pf.schema_arrow.names
    missing = [c for c in ("id", "text") if c not in names]
    if missing:
        raise InputError(f"{path}: Parquet file lacks required column(s) {', '.join(missing)} (has {names})")
    total = pf.metadata.num_rows
    for start in range(0, total, k):
        end = min(start + k, total)
        yield {"row_start": start, "row_end": end, "records": end - start}


def describe_range(spec: dict[str, Any]) -> str:
    """Human-readable input range of a part, for messages and the manifest."""
    if spec["format"] == "parquet":
        return f"{spec['file']} rows {spec['row_start']}-{spec['row_end'] - 1}"
    return f"{spec['file']}:{spec['line_start']}-{spec['line_end']}"


# -------------------------------------------------------------------------------------- reading

def _error_row(where: str, kind: str, message: str) -> dict[str, Any]:
    return {"origin": where, "_error": message, "_kind": kind}


def _article_row(obj: dict[str, Any], where: str) -> dict[str, Any]:
    """make_article, then split keys the Arrow schema knows from extras (kept as JSON)."""
    art = make_article(obj, where)
    row = {k: art.get(k) for k in _ARTICLE_KEYS}
    extra = {k: v for k, v in art.items() if k not in _ARTICLE_KEYS}
    row["extra"] = json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None
    return row


def _classify(message: str) -> str:
    m = message.lower()
    for needle, kind in (("not utf-8", "encoding"), ("not valid json", "invalid_json"),
                         ("expected a json object", "not_an_object"), ("missing required", "missing_field"),
                         ("must be a string", "wrong_type"), ("fields, got", "csv_fields")):
        if needle in m:
            return kind
    return "invalid_record"


def _bad(where: str, message: str, skip_bad: bool) -> dict[str, Any]:
    """A bad record: raise (default) or return an error row (--skip-bad)."""
    if not skip_bad:
        raise InputError(message)
    return _error_row(where, _classify(message), message)


def _checked_row(obj: dict[str, Any], where: str, skip_bad: bool) -> dict[str, Any]:
    """The article row of a parsed record, or its error row when the record is not an article."""
    try:
        return _article_row(obj, where)
    except InputError as exc:
        return _bad(where, str(exc), skip_bad)


def iter_part_rows(spec: dict[str, Any], skip_bad: bool = False) -> Iterator[dict[str, Any]]:
    """Rows of one part in input order: an article row per good record, an error row per bad one."""
    reader = {"jsonl": _rows_jsonl, "csv": _rows_csv, "parquet": _rows_parquet}[spec["format"]]
    yield from reader(spec, skip_bad)


def _rows_jsonl(spec: dict[str, Any], skip_bad: bool) -> Iterator[dict[str, Any]]:
    path = spec["file"]
    with open(path, "rb") as fh:
        fh.seek(spec["byte_start"])
        pos, lineno = spec["byte_start"], spec["line_start"] - 1
        while pos < spec["byte_end"]:
            raw = fh.readline()
            if not raw:
                break
            pos += len(raw)
            lineno += 1
            if raw.isspace():
                continue
            where = f"{path}:{lineno}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield _bad(where, f"{where}: not UTF-8 (byte {exc.start} of the line: "
                                  f"{raw[exc.start:exc.start + 1]!r})", skip_bad)
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield _bad(where, f"{where}: not valid JSON ({exc.msg} at column {exc.colno})", skip_bad)
                continue
            if not isinstance(obj, dict):
                yield _bad(where, f"{where}: expected a JSON object, got {type(obj).__name__}", skip_bad)
                continue
            yield _checked_row(obj, where, skip_bad)


def _rows_csv(spec: dict[str, Any], skip_bad: bool) -> Iterator[dict[str, Any]]:
    path, header = spec["file"], spec["header"]
    with open(path, "rb") as fh:
        fh.seek(spec["byte_start"])
        feed = _LineFeed(fh, spec["byte_start"], spec["byte_end"], spec["line_start"] - 1)
        reader = csv.reader(feed)
        while True:
            first_line = feed.lineno + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # pragma: no cover - the plan already parsed the file
                raise InputError(f"{path}:{first_line}: CSV cannot be parsed ({exc})") from None
            if not row:
                continue
            where = f"{path}:{first_line}"
            if len(row) != len(header):
                yield _bad(where, f"{where}: expected {len(header)} fields, got {len(row)}", skip_bad)
                continue
            try:
                obj = {h: v.encode("utf-8").decode("utf-8") for h, v in zip(header, row)}
            except UnicodeEncodeError:
                yield _bad(where, f"{where}: not UTF-8", skip_bad)
                continue
            yield _checked_row(obj, where, skip_bad)


def _rows_parquet(spec: dict[str, Any], skip_bad: bool) -> Iterator[dict[str, Any]]:
    """Stream the row range with iter_batches over only the row groups that hold it."""
    path = spec["file"]
    pf = pq.ParquetFile(path)
    meta = pf.metadata
    lo, hi = spec["row_start"], spec["row_end"]
    groups, group_starts, pos = [], [], 0
    for g in range(meta.num_row_groups):
        n = meta.row_group(g).num_rows
        if pos < hi and pos + n > lo:
            groups.append(g)
            group_starts.append(pos)
        pos += n
    cols = [c for c in ARTICLE_FIELDS if c in pf.schema_arrow.names]
    row = group_starts[0] if group_starts else lo
    gi = 0
    for batch in pf.iter_batches(batch_size=256, row_groups=groups, columns=cols, use_threads=False):
        for obj in batch.to_pylist():
            while gi + 1 < len(groups) and row >= group_starts[gi + 1]:
                gi += 1
            if lo <= row < hi:
                where = f"{path}:row-group {groups[gi]}/row {row - group_starts[gi]}"
                obj = {k: v for k, v in obj.items() if v is not None}
                yield _checked_row(obj, where, skip_bad)
            row += 1
            if row >= hi:
                return


def read_part_table(spec: dict[str, Any], skip_bad: bool = False) -> pa.Table:
    """One part's articles (and bad-record rows) as an Arrow table with ARTICLE_SCHEMA."""
    return pa.Table.from_pylist(list(iter_part_rows(spec, skip_bad)), schema=ARTICLE_SCHEMA)


def row_to_article(row: dict[str, Any]) -> dict[str, Any]:
    """Inverse of _article_row: the article dict exactly as toolkit.ingest.make_article made it."""
    art = {k: row[k] for k in (*ARTICLE_FIELDS, "boilerplate", "origin")}
    if row.get("extra"):
        art.update(json.loads(row["extra"]))
    return art


"""Streaming input for corpus-scale extraction: read one planned part at a time.

A part (planned by toolkit.corpus.plan) is a byte range of one JSONL/CSV file or a row range of
one Parquet file; reading seeks to it and streams lines (JSONL, CSV) or record batches (Parquet,
`iter_batches`) of that part only, so memory stays flat.

A malformed record is reported when its part is read, with its location (`file:line` or
`file:row-group G/row R`): an error row under --skip-bad, an InputError otherwise.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from toolkit.errors import InputError
from toolkit.inputs import LineFeed, csv_rows
from toolkit.ingest import ARTICLE_FIELDS, make_article

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


def _bad(where: str, message: str, skip_bad: bool, kind: str | None = None) -> dict[str, Any]:
    """A bad record: raise (default) or return an error row (--skip-bad)."""
    if not skip_bad:
        raise InputError(message)
    return _error_row(where, kind or _classify(message), message)


def _parse_json(line: str, where: str) -> tuple[Any, tuple[str, str] | None]:
    """json.loads, with every way a line can fail to become a Python value as (kind, message).

    Beyond malformed JSON, json.loads raises ValueError for an integer of more than 4,300 digits
    (CPython's int_max_str_digits guard) and RecursionError for deeply nested brackets; both are
    one bad record, not the end of a run.
    """
    try:
        return json.loads(line), None
    except json.JSONDecodeError as exc:
        return None, ("invalid_json", f"{where}: not valid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})")
    except RecursionError:
        return None, ("too_deep", f"{where}: unreadable JSON: nested deeper than Python's recursion "
                                  f"limit ({sys.getrecursionlimit()} levels)")
    except ValueError as exc:  # int_max_str_digits
        return None, ("number_too_long", f"{where}: unreadable JSON: {str(exc).split(';')[0]}")


#: Characters no article may hold: NUL (binary data; `qst extract` refuses it too) and lone
#: surrogates (from a "\ud800" JSON escape: not Unicode, Arrow and UTF-8 writers reject them).
_UNSAFE = re.compile(r"[\x00\ud800-\udfff]")


def _unsafe_text(obj: dict[str, Any], where: str) -> str | None:
    """A message if any string in the record (nested too) holds NUL or a lone surrogate."""
    stack: list[tuple[str, Any]] = [(k, v) for k, v in obj.items()]
    while stack:
        key, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((f"{key}.{k}", v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{key}[{i}]", v) for i, v in enumerate(value))
        for s, what in ((value, f"field {key!r}"), (key, "a field name")):
            m = _UNSAFE.search(s) if isinstance(s, str) else None
            if m:
                char = "a NUL character" if m.group() == "\x00" else f"a lone surrogate (\\u{ord(m.group()):04x})"
                return f"{where}: {what} holds {char} at position {m.start()}"
    return None


def _checked_row(obj: dict[str, Any], where: str, skip_bad: bool) -> dict[str, Any]:
    """The article row of a parsed record, or its error row when the record is not an article."""
    unsafe = _unsafe_text(obj, where)
    if unsafe:
        return _bad(where, unsafe, skip_bad, "invalid_text")
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
            obj, problem = _parse_json(line, where)
            if problem is not None:
                yield _bad(where, problem[1], skip_bad, problem[0])
                continue
            if not isinstance(obj, dict):
                yield _bad(where, f"{where}: expected a JSON object, got {type(obj).__name__}", skip_bad)
                continue
            yield _checked_row(obj, where, skip_bad)


def _rows_csv(spec: dict[str, Any], skip_bad: bool) -> Iterator[dict[str, Any]]:
    path, header = spec["file"], spec["header"]
    with open(path, "rb") as fh:
        fh.seek(spec["byte_start"])
        feed = LineFeed(fh, spec["byte_start"], spec["byte_end"], spec["line_start"] - 1)
        for first_line, _, row in csv_rows(feed, path, spec.get("delimiter", ",")):
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


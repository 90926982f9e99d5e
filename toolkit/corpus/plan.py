"""What a corpus run does: its options, its input files and the parts they are cut into.

Why a plan: a corpus of millions of articles is cut into *parts* of at most K records before any
extraction starts. A part is a byte range of one JSONL/CSV file or a row range of one Parquet
file, so any process (a local worker, a Dask worker on another machine) can read exactly its
part with a seek, without reading what comes before it. Part boundaries depend only on the
input and K, never on the number of workers or the engine, which is what makes the output of
1 process, N processes and a Dask cluster identical, and what lets `--resume` redo exactly the
parts that are missing.

Memory stays flat: planning keeps only offsets (one small dict per part).

A malformed record does not stop the plan: it still occupies its slot (so the layout does not
depend on validation) and is reported when its part is read (toolkit.corpus.io), with its
location (`file:line` or `file:row-group G/row R`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from toolkit.corpus import DEFAULT_ARTICLE_TIMEOUT, DEFAULT_EXTRACT_FN  # noqa: F401  (re-exported: the run's defaults)
from toolkit.errors import InputError
from toolkit.inputs import LineFeed, csv_header, csv_rows, require_file, require_file_or_folder

ExtractFn = Callable[[dict[str, Any]], list[dict[str, Any]]]

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


@dataclass
class CorpusRun:
    """Options of one extract-corpus run (the CLI's flags)."""
    input: str | Path
    out: str | Path
    workers: int = 1
    engine: str = "local"
    scheduler: str | None = None
    part_size: int = 1000
    resume: bool = False
    skip_bad: bool = False
    jsonl: bool = False
    extract_fn: str | ExtractFn = DEFAULT_EXTRACT_FN
    article_timeout: float = DEFAULT_ARTICLE_TIMEOUT  # seconds per article; 0 = no limit
    on_start: Callable[[int, int], None] | None = None      # (total records, records already done)
    on_part: Callable[[dict[str, Any]], None] | None = None  # each part completed by this run
    failed: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------- files

def input_files(path: str | Path) -> tuple[str, list[Path]]:
    """The format and the sorted list of files of a corpus (a file or a folder of same-format files)."""
    path = require_file_or_folder(path, "corpus file or folder")
    if not path.is_dir():
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise InputError(f"{path}: unknown corpus format {path.suffix!r} (use .jsonl, .csv, .parquet "
                             "or a folder of them)")
        return fmt, [path]
    found: dict[str, list[Path]] = {}
    for p in sorted(path.rglob("*")):
        if not p.is_dir() and not p.name.startswith((".", "_")) and p.suffix.lower() in FORMATS:
            require_file(p, "corpus file")  # a FIFO among the files would block
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


def _csv_header(path: Path) -> tuple[list[str], str, int, int]:
    """Header, delimiter, and the byte and line where the records start (toolkit.inputs.csv_header)."""
    with open(require_file(path), "rb") as fh:
        header, delimiter, feed = csv_header(fh, path)
    return header, delimiter, feed.offset, feed.lineno


def _plan_csv(path: Path, k: int) -> Iterator[dict[str, Any]]:
    """Records as csv_rows reads them (the one CSV reader of `qst extract` too); blank lines skipped."""
    header, delimiter, offset, lineno = _csv_header(path)
    extra = {"delimiter": delimiter} if delimiter != "," else {}  # comma specs stay as before (resume)
    with open(path, "rb") as fh:
        fh.seek(offset)
        feed = LineFeed(fh, offset, None, lineno)
        n, start_off, start_line = 0, offset, lineno + 1
        for first_line, first_byte, _row in csv_rows(feed, path, delimiter):
            if n == 0:
                start_off, start_line = first_byte, first_line
            n += 1
            if n == k:
                yield {"byte_start": start_off, "byte_end": feed.offset, "line_start": start_line,
                       "line_end": feed.lineno, "records": n, "header": header, **extra}
                n = 0
        if n:
            yield {"byte_start": start_off, "byte_end": feed.offset, "line_start": start_line,
                   "line_end": feed.lineno, "records": n, "header": header, **extra}


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

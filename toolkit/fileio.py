"""Atomic writes, output sets and line-numbered JSONL reading, shared by every stage.

Three guarantees every command relies on (docs/GUARANTEES.md says how each is tested):

- a single file is written to a temporary file beside it and renamed into place, so an
  interrupted run never leaves a half-written file that looks complete;
- a multi-file output (a folder, or files sharing a prefix) is staged in a temporary sibling
  folder and moved into place only when every member is written, so a kill never leaves a
  new member beside an old one; a folder is swapped in one atomic ``renameat2`` exchange;
- an existing folder is only replaced when it is provably ours (it holds the marker file
  :data:`MARKER` that this module writes), and nothing is written over a command's own input.

Files and folders get the modes the user's umask asks for (``mkstemp`` alone would make every
file 0600, unreadable to a team sharing a server).
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a table is read, so `qst --help` stays light
    import pandas as pd

from toolkit.errors import InputError
from toolkit.inputs import (check_tree, csv_delimiter, decode_utf8, loads_json,
                            read_json_file, require_file, require_file_or_folder)

#: Written into every output folder the toolkit creates; only such folders are ever replaced.
MARKER = ".qst-output.json"
_STAGING = ".qst-staging-"


def current_umask() -> int:
    """The process umask, read without changing it (Linux /proc), else by a set-and-restore."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _apply_umask(path: Path, directory: bool = False) -> None:
    """Give a mkstemp/mkdtemp result the mode a plain open()/mkdir() would have had."""
    os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    check_not_folder(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    _apply_umask(tmp_path)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a file for writing that appears at `path` only when fully written and flushed."""
    if "b" in mode:
        encoding = None
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def check_not_folder(path: Path) -> None:
    if path.is_dir():
        raise InputError(f"{path}: is a folder; an output file was expected here")


def _same_or_inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def check_replaceable(out: Path, inputs: Iterable[str | Path] = ()) -> None:
    """Refuse to replace `out` unless it is new, empty or marked as ours, and holds no input."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: --out is a file; an output folder was expected")
    for inp in inputs:
        if inp is not None and _same_or_inside(Path(inp), out):
            raise InputError(f"{inp}: the input lies inside the output folder {out}, which is replaced "
                             "as a whole; choose another --out")
    if out.is_dir() and not (out / MARKER).is_file() and any(out.iterdir()):
        raise InputError(f"{out}: folder exists, is not empty and was not written by qst (no {MARKER}); "
                         "choose another --out or empty it")


def check_not_input(outputs: Iterable[Path], inputs: Iterable[str | Path | None]) -> None:
    """Refuse an output path that is one of the command's inputs (it would be overwritten)."""
    ins = [Path(p).resolve() for p in inputs if p is not None]
    for out in outputs:
        if Path(out).resolve() in ins:
            raise InputError(f"{out}: the output would overwrite the input; pass another --out")


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    import ctypes  # here, not at the top: only a swap needs it

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(staging: Path, out: Path) -> None:
    """Put `staging` at `out`; an existing `out` ends up at `staging` (to be removed by the caller)."""
    if not out.exists():
        os.rename(staging, out)
    elif not _renameat2_exchange(staging, out):
        old = staging.with_name(staging.name + ".old")
        os.rename(out, old)
        os.rename(staging, out)
        os.rename(old, staging)


def _remove_stale_staging(parent: Path) -> None:
    """Staging folders of killed runs (their pid is gone): never mistaken for output, removed."""
    if not parent.is_dir():
        return
    for p in parent.glob(f".*{_STAGING}*"):
        pid = p.name.rsplit(_STAGING, 1)[1].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def pid_alive(pid: Any) -> bool:
    """Whether a process of this id runs on this machine (a stale lock or staging folder is one whose
    writer is gone); anything but a positive int counts as gone."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _staging_dir(parent: Path, name: str) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}{_STAGING}{os.getpid()}-", dir=parent))
    _apply_umask(staging, directory=True)
    return staging


@contextmanager
def output_folder(out: str | Path, kind: str, inputs: Iterable[str | Path | None] = ()) -> Iterator[Path]:
    """Yield a staging folder; when the block succeeds it replaces `out` as a whole, atomically.

    `out` must be new, empty, or a folder this function wrote before (it holds :data:`MARKER`);
    anything else (a repository, a home folder) is refused before a byte is written. On failure
    the staging folder is removed and `out` is left exactly as it was.
    """
    out = Path(out)
    check_replaceable(out, [p for p in inputs if p is not None])
    staging = _staging_dir(out.parent, out.name)
    try:
        yield staging
        write_json(staging / MARKER, {"written_by": "qst", "kind": kind,
                                      "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        _swap_in(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def output_files(paths: Sequence[str | Path], inputs: Iterable[str | Path | None] = ()) -> Iterator[list[Path]]:
    """Yield staging paths for files that belong together; move them all into place on success.

    The members are written in a staging folder beside the first one and renamed into place one
    after another only once every member is complete, so a failure changes none of them; the
    renames take microseconds, the only window in which a kill could leave a mixed set.
    """
    paths = [Path(p) for p in paths]
    for p in paths:
        check_not_folder(p)
    check_not_input(paths, inputs)
    staging = _staging_dir(paths[0].parent, paths[0].name)
    try:
        staged = [staging / f"{i}-{p.name}" for i, p in enumerate(paths)]
        yield staged
        for src, dst in zip(staged, paths):
            if src.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def sha256_file(path: str | Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks (checksums in manifests, model files, uploads)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records as UTF-8 JSONL atomically; return the number written."""
    n = 0
    # one encoder for all records: json.dumps with options builds a new one per call
    encode = json.JSONEncoder(ensure_ascii=False, sort_keys=False).encode
    with atomic_open(path) as fh:
        for rec in records:
            fh.write(encode(rec) + "\n")
            n += 1
    return n


def write_json(path: str | Path, obj: Any) -> None:
    with atomic_open(path) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=2)
        fh.write("\n")


def write_parquet(path: str | Path, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def write_parquet_records(path: str | Path, records: Sequence[dict[str, Any]], types: dict[str, Any]) -> None:
    """Records (dicts) as a Parquet table with pyarrow alone: no pandas to import (about 0.7 CPU-s of
    a one-article `qst extract`). pyarrow's `pa.array` imports pandas when it is installed (to ask
    whether the input is a pandas object), its JSON reader does not, so the records go through it as
    JSON lines. Columns come in the order their keys first appear, as `pd.DataFrame.from_records`
    lays them out; a key of `types` (name -> pyarrow type) gets that type whatever the values (so
    the file's schema does not change with the data: offsets stay int64 when no quote has one), any
    other key the type the reader infers. A record without a key has null there."""
    import pyarrow as pa
    import pyarrow.json as pa_json
    import pyarrow.parquet as pq

    names = list(dict.fromkeys(k for rec in records for k in rec))
    if names:
        data = "\n".join(json.dumps(rec, ensure_ascii=False) for rec in records).encode("utf-8")
        schema = pa.schema([(n, types[n]) for n in names if n in types])
        table = pa_json.read_json(io.BytesIO(data), read_options=pa_json.ReadOptions(block_size=len(data) + 1),
                                  parse_options=pa_json.ParseOptions(explicit_schema=schema,
                                                                     unexpected_field_behavior="infer"))
        table = table.select(names)
    else:
        table = pa.schema([]).empty_table()
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def write_text(path: str | Path, text: str) -> None:
    with atomic_open(path) as fh:
        fh.write(text)


def read_jsonl(path: str | Path, required: Iterable[str] = (), skip_bad: bool = False,
               errors: list[str] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line.

    A line that is not a JSON object Python can take (toolkit.inputs.loads_json), or lacks a
    required key, raises InputError naming file and line; with skip_bad=True it is appended to
    `errors` instead and reading goes on.
    """
    path = require_file(path, "JSONL file")
    required = tuple(required)
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                obj = _jsonl_object(raw, f"{path}:{lineno}", required)
            except InputError as exc:
                if not skip_bad:
                    raise
                if errors is not None:
                    errors.append(str(exc))
                continue
            if obj is not None:
                yield lineno, obj


def _jsonl_object(raw: bytes, where: str, required: tuple[str, ...]) -> dict[str, Any] | None:
    """One JSONL line as a dict (None for a blank line); anything else raises InputError."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not UTF-8 (byte {exc.start} of the line: {raw[exc.start:exc.start + 1]!r})") from None
    if not line.strip():
        return None
    obj = loads_json(line, where)
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    missing = [k for k in required if k not in obj]
    if missing:
        raise InputError(f"{where}: missing required field(s) {', '.join(missing)}")
    return obj


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd
    import pyarrow as pa

    try:
        return pd.read_parquet(require_file(path, "Parquet file"))
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: not a readable Parquet file ({reason})") from None


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV table: strict UTF-8, delimiter from the header line (toolkit.inputs.csv_delimiter).

    index_col=False and ParserWarning as an error: a row with more fields than the header is
    refused, never silently turned into an index column or cut.
    """
    import pandas as pd

    text = decode_utf8(path.read_bytes(), str(path))
    if not text.strip():
        raise InputError(f"{path}: empty CSV file (no header line)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(io.StringIO(text), sep=csv_delimiter(text.split("\n", 1)[0]), index_col=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: CSV file has no columns") from None
    except pd.errors.ParserWarning:
        raise InputError(f"{path}: CSV rows have more fields than the header") from None
    except pd.errors.ParserError as exc:
        msg = str(exc).strip().removeprefix("Error tokenizing data. C error: ")
        if msg.startswith("EOF inside string"):
            msg = "a quoted field opened on this line is never closed"
        raise InputError(f"{path}{_csv_error_line(str(exc))}: CSV cannot be parsed ({msg})") from None


def _csv_error_line(message: str) -> str:
    """':LINE' (1-based) from a pandas C-parser message ('line 3' is 1-based, 'row 2' 0-based)."""
    m = re.search(r"\bline (\d+)", message) or re.search(r"\brow (\d+)", message)
    if m is None:
        return ""
    return f":{int(m.group(1)) + (1 if m.group(0).startswith('row') else 0)}"


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a Parquet, JSONL, JSON or CSV table (or a folder of Parquet files) into a DataFrame.

    Every problem with the file (not a regular file, unreadable Parquet, bad JSON, empty or
    malformed CSV) is an InputError naming it; a ';'- or tab-separated CSV is read as such.
    """
    import pandas as pd

    path = require_file_or_folder(path, "table file or folder of .parquet files")
    suffix = path.suffix.lower()
    if path.is_dir():
        parts = [p for p in check_tree(sorted(path.glob("*.parquet")))]
        if not parts:
            raise InputError(f"{path}: folder holds no .parquet files")
        return pd.concat([_read_parquet(p) for p in parts], ignore_index=True)
    if suffix == ".parquet":
        return _read_parquet(path)
    if suffix in {".jsonl", ".ndjson"}:
        return pd.DataFrame([obj for _, obj in read_jsonl(path)])
    if suffix == ".json":
        data = read_json_file(path)
        return pd.DataFrame(data if isinstance(data, list) else [data])
    if suffix == ".csv":
        return _read_csv(path)
    raise InputError(f"{path}: unknown table format {suffix!r} (use .parquet, .jsonl, .json or .csv)")

"""Atomic writes and line-numbered JSONL reading, shared by every stage.

Writes go to a temporary file in the target directory and are renamed into place, so an
interrupted run never leaves a half-written file that looks complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pandas as pd

from toolkit.errors import InputError


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
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
    with atomic_open(path) as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=False) + "\n")
            n += 1
    return n


def write_json(path: str | Path, obj: Any) -> None:
    with atomic_open(path) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=2)
        fh.write("\n")


def write_parquet(path: str | Path, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def write_text(path: str | Path, text: str) -> None:
    with atomic_open(path) as fh:
        fh.write(text)


def read_jsonl(path: str | Path, required: Iterable[str] = (), skip_bad: bool = False,
               errors: list[str] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line.

    A line that is not a JSON object, or lacks a required key, raises InputError naming file
    and line; with skip_bad=True it is appended to `errors` instead and reading goes on.
    """
    path = Path(path)
    required = tuple(required)
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            problem = None
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problem = f"{path}:{lineno}: not UTF-8 (byte {exc.start} of the line: {raw[exc.start:exc.start + 1]!r})"
                line = ""
            if problem is None:
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    problem = f"{path}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
                else:
                    if not isinstance(obj, dict):
                        problem = f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}"
                    else:
                        missing = [k for k in required if k not in obj]
                        if missing:
                            problem = f"{path}:{lineno}: missing required field(s) {', '.join(missing)}"
            if problem is not None:
                if not skip_bad:
                    raise InputError(problem)
                if errors is not None:
                    errors.append(problem)
                continue
            yield lineno, obj


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a Parquet, JSONL, JSON or CSV table by extension into a DataFrame."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if path.is_dir():
        parts = sorted(path.glob("*.parquet"))
        if not parts:
            raise InputError(f"{path}: folder holds no .parquet files")
        return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in {".jsonl", ".ndjson"}:
        return pd.DataFrame([obj for _, obj in read_jsonl(path)])
    if suffix == ".json":
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return pd.DataFrame(data if isinstance(data, list) else [data])
    if suffix == ".csv":
        return pd.read_csv(path)
    raise InputError(f"{path}: unknown table format {suffix!r} (use .parquet, .jsonl, .json or .csv)")

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

import ctypes
import errno
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a table is read, so `qst --help` stays light
    import pandas as pd

from toolkit.errors import InputError

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
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
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
    import pandas as pd

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

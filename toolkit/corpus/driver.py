"""Corpus-scale quote extraction: millions of articles, on one machine or on a Dask cluster.

The corpus is planned into parts of K records (toolkit.corpus.plan), each part is read, extracted
and written by toolkit.corpus.parts.process_part (local engine) or by the same functions in a
Dask graph (toolkit.corpus.engines). Output in DIR:

- `quotes-part-NNNNN.parquet` (+ `.jsonl` with `jsonl=True`), one per input part, written atomically;
- `_parts/part-NNNNN.json`, the part's manifest entry, written after its files: the truth for `--resume`;
- `manifest.json`: run config, every complete part (input range, counts, sha256), summary;
- `errors.jsonl`: one line per bad record / failed article / lost part, in part order.

Why parts: they bound memory (a worker holds one part), they are the unit of resume (a crash
costs at most the parts in flight), and because their boundaries depend only on the input and K,
output is identical for any number of workers and either engine.
"""

from __future__ import annotations

import errno
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from toolkit.corpus.engines import _run_inprocess, _run_pool, run_dask
from toolkit.corpus.ids import duplicate_ids
from toolkit.corpus.lock import LOCK_FILE, RunLock
from toolkit.corpus.parts import PARTS_DIR, fn_name
from toolkit.corpus.plan import CorpusRun, fingerprint, input_files, plan_parts
from toolkit.errors import InputError, ToolkitError
from toolkit.fileio import sha256_file, write_json, write_jsonl

MANIFEST = "manifest.json"
ERRORS = "errors.jsonl"
#: Errors that mean "the output location cannot take more data": stop at once, keep what is complete.
FATAL_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR,
                      errno.EISDIR, errno.EFBIG}
#: Config keys that must match for --resume (engine and workers may change: output is the same).
IDENTITY_KEYS = ("input", "format", "files", "part_size", "extract_fn", "jsonl")


# ------------------------------------------------------------------------------ output folder

def _load_entries(out: Path, specs: list[dict[str, Any]], verify: bool = True) -> dict[int, dict[str, Any]]:
    """Complete parts: a manifest entry whose files exist with the recorded size and sha256.

    A part file without an entry (crash between rename and entry), an entry whose file is
    missing or different, or a stray temp file, is not complete and will be redone.
    """
    done: dict[int, dict[str, Any]] = {}
    folder = out / PARTS_DIR
    if not folder.is_dir():
        return done
    for p in sorted(folder.glob("part-*.json")):
        try:
            entry = json.loads(p.read_text(encoding="utf-8"))
            idx = int(entry["part"])
            spec = specs[idx]
            same_input = entry["input"] == {k: v for k, v in spec.items() if k not in ("part", "header")}
            ok = same_input and all(
                (out / f["path"]).is_file() and (out / f["path"]).stat().st_size == f["bytes"]
                and (not verify or sha256_file(out / f["path"]) == f["sha256"])
                for f in entry["files"].values())
        except (ValueError, KeyError, IndexError, TypeError, OSError):
            ok = False
        if ok:
            done[idx] = entry
        else:
            p.unlink()
    return done


def _remove_temp_files(out: Path) -> int:
    """Temp files a killed process left behind (atomic writes that never got renamed)."""
    n = 0
    for folder in (out, out / PARTS_DIR):
        if folder.is_dir():
            for p in folder.glob(".*.tmp"):
                p.unlink()
                n += 1
    return n


def _refuse_foreign(out: Path) -> None:
    """Only our own run folders are ever written to (and cleaned: stale temp files, part entries).

    Checked before the lock file is created, so a foreign folder is left exactly as it was.
    """
    if out.exists() and not out.is_dir():
        raise ToolkitError(f"{out}: --out exists and is not a folder")
    if out.is_dir() and not (out / MANIFEST).exists() and any(p.name != LOCK_FILE for p in out.iterdir()):
        raise ToolkitError(f"{out}: folder exists, is not empty and holds no extract-corpus {MANIFEST}; "
                           "choose an empty or new --out")


def _prepare_out(run: CorpusRun, config: dict[str, Any]) -> dict[str, Any] | None:
    """Check the output folder against --resume (under the lock); return the previous manifest if resuming."""
    out = Path(run.out)
    _refuse_foreign(out)
    manifest_path = out / MANIFEST
    previous = None
    if manifest_path.exists():
        try:
            previous = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise ToolkitError(f"{manifest_path}: unreadable manifest ({exc}); use a new --out") from None
        if not run.resume:
            raise ToolkitError(f"{out} already holds an extract-corpus run ({previous.get('status')}); "
                               "add --resume to continue it, or choose another --out")
        old = previous.get("config", {})
        changed = [k for k in IDENTITY_KEYS if old.get(k) != config.get(k)]
        if changed:
            detail = "; ".join(f"{k}: was {old.get(k)!r}, now {config.get(k)!r}" for k in changed
                               if k != "files")
            if "files" in changed:
                detail = (detail + "; " if detail else "") + "the input files changed (size or modification time)"
            raise ToolkitError(f"{out}: cannot resume, the run's settings differ ({detail}); "
                               "use the same input and options, or a new --out")
    return previous


# ------------------------------------------------------------------------------- write errors

def _is_fatal_write(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in FATAL_WRITE_ERRNOS


def _write_error(exc: OSError, out: Path) -> ToolkitError:
    name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
    where = exc.filename or out
    return ToolkitError(f"cannot write {where}: {exc.strerror} ({name}). The run stopped; complete parts are "
                        f"kept, no half-written part remains. Fix the output location and rerun with --resume.")


# ------------------------------------------------------------------------------------ the run

def run_corpus(run: CorpusRun) -> dict[str, Any]:
    """Extract quotes from a whole corpus into parts under run.out; return the run summary.

    Raises ToolkitError for bad input (without skip_bad), a changed input on resume, another run
    writing to the same folder, or an output location that cannot be written (disk full,
    permissions): in every case the parts already complete stay valid and no half-written part
    is left that looks complete.
    """
    if run.engine not in ("local", "dask"):
        raise InputError(f"--engine must be local or dask, got {run.engine!r}")
    if run.scheduler and run.engine != "dask":
        raise InputError("--scheduler needs --engine dask")
    if run.workers < 1:
        raise InputError(f"--workers must be at least 1, got {run.workers}")
    if run.article_timeout < 0:
        raise InputError(f"--article-timeout must be 0 (no limit) or more, got {run.article_timeout}")
    t0 = time.time()
    fmt, specs = plan_parts(run.input, run.part_size)
    _, files = input_files(run.input)
    config = {"input": str(Path(run.input).resolve()), "format": fmt, "files": fingerprint(files),
              "part_size": run.part_size, "extract_fn": fn_name(run.extract_fn), "jsonl": run.jsonl,
              "parts": len(specs), "records": sum(s["records"] for s in specs)}
    out = Path(run.out)
    _refuse_foreign(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = RunLock(out)
        lock.acquire()
    except OSError as exc:
        if _is_fatal_write(exc):
            raise _write_error(exc, out) from None
        raise
    try:
        return _locked_run(run, specs, config, t0)
    finally:
        lock.release()


def _locked_run(run: CorpusRun, specs: list[dict[str, Any]], config: dict[str, Any], t0: float) -> dict[str, Any]:
    """The run proper, while this process holds the folder's lock."""
    out = Path(run.out)
    previous = _prepare_out(run, config)
    try:
        _remove_temp_files(out)
        done = _load_entries(out, specs) if previous is not None or (out / PARTS_DIR).is_dir() else {}
        runs = (previous or {}).get("runs", [])
        runs.append({"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)), "engine": run.engine,
                     "workers": run.workers, "scheduler": run.scheduler, "skip_bad": run.skip_bad,
                     "article_timeout": run.article_timeout, "resumed_parts": len(done)})
        write_json(out / MANIFEST, {"status": "running", "config": config, "runs": runs,
                                    "parts": [_manifest_part(e) for _, e in sorted(done.items())]})
    except OSError as exc:
        if _is_fatal_write(exc):
            raise _write_error(exc, out) from None
        raise
    todo = [s for s in specs if s["part"] not in done]
    if run.on_start:
        run.on_start(config["records"], sum(e["records"] for e in done.values()))
    new: list[dict[str, Any]] = []

    def emit(entry: dict[str, Any]) -> None:
        new.append(entry)
        if run.on_part:
            run.on_part(entry)

    try:
        if run.engine == "dask":
            run_dask(todo, run, emit)
        elif run.workers == 1:
            _run_inprocess(todo, run, emit)
        else:
            _run_pool(todo, run, emit)
    except OSError as exc:
        if _is_fatal_write(exc):
            _finalise_quietly(run, specs, config, runs, new, t0)
            raise _write_error(exc, out) from None
        raise
    except BaseException:
        _finalise_quietly(run, specs, config, runs, new, t0)
        raise
    return _finalise(run, specs, config, runs, new, t0)


def _manifest_part(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "errors"} | {"errors": len(entry.get("errors", ()))}


def _finalise_quietly(*args: Any) -> None:
    """Best-effort manifest after a failure (it may fail itself, e.g. on a full disk)."""
    try:
        _finalise(*args, status="stopped")
    except Exception:  # noqa: BLE001 - the original error is the one to report
        pass


def _finalise(run: CorpusRun, specs: list[dict[str, Any]], config: dict[str, Any], runs: list[dict[str, Any]],
              new: list[dict[str, Any]], t0: float, status: str | None = None) -> dict[str, Any]:
    """Rebuild manifest.json and errors.jsonl from the part entries on disk; return the summary."""
    out = Path(run.out)
    entries = _load_entries(out, specs, verify=False)
    errors = [e for _, entry in sorted(entries.items()) for e in entry.get("errors", ())]
    duplicates = duplicate_ids(out, entries)
    errors += duplicates
    done_parts = set(entries)
    failed = [f for f in run.failed if f["part"] not in done_parts]
    errors += failed
    kinds = Counter(e["kind"] for e in errors)
    seconds = time.time() - t0
    this_articles = sum(e["records"] for e in new)
    complete = len(entries) == len(specs)
    summary = {
        "status": status or ("complete" if complete else "incomplete"),
        "parts": {"total": len(specs), "complete": len(entries), "written_this_run": len(new),
                  "resumed": len(entries) - len(new), "failed": len(failed), "missing": len(specs) - len(entries)},
        "records": config["records"],
        "articles": sum(e["articles"] for e in entries.values()),
        "bad_records": sum(e["bad_records"] for e in entries.values()),
        "extract_failures": sum(e["extract_failures"] for e in entries.values()),
        "quotes": sum(e["quotes"] for e in entries.values()),
        "duplicate_ids": {"records": len(duplicates), "first": duplicates[0]["message"] if duplicates else None},
        "failures_by_kind": dict(sorted(kinds.items())),
        "this_run": {"engine": run.engine, "workers": run.workers, "records": this_articles,
                     "quotes": sum(e["quotes"] for e in new), "seconds": round(seconds, 2),
                     "records_per_s": round(this_articles / seconds, 2) if seconds > 0 else None},
    }
    runs[-1]["summary"] = summary["this_run"]
    write_jsonl(out / ERRORS, errors)
    write_json(out / MANIFEST, {"status": summary["status"], "config": config, "runs": runs, "summary": summary,
                                "parts": [_manifest_part(e) for _, e in sorted(entries.items())]})
    return summary


def read_quotes(out: str | Path) -> Any:
    """All quotes of a finished run, in part order, as one DataFrame (small corpora and tests)."""
    import pandas as pd
    import pyarrow.parquet as pq

    out = Path(out)
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    tables = [pq.read_table(out / p["files"]["parquet"]["path"]) for p in manifest["parts"]]
    if not tables:
        return pd.DataFrame()
    import pyarrow as pa
    return pa.concat_tables(tables).to_pandas()


__all__ = ["run_corpus", "read_quotes", "MANIFEST", "ERRORS"]

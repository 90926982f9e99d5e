"""The engines: the same parts, run in this process, in local worker processes, or on Dask.

All three call the functions of toolkit.corpus.parts on the parts of toolkit.corpus.plan, so
their output is identical; each reports every finished part's manifest entry through `emit`.

Local processes: at most 2N parts in flight; a worker that dies costs only the parts it was
running (retried alone afterwards, then reported as worker_died).

Dask: the corpus becomes a Dask DataFrame with `dd.from_map(load_part_frame, specs)`: one Dask
partition per planned part. We do not use `dd.read_json`/`dd.read_parquet` here on purpose:
they partition by bytes or row groups (not by K records), pandas' JSON reader coerces values
(dates, numeric ids) and fails a whole block on one malformed line, and neither can report
`file:line` for a bad record. With from_map over our planned ranges, partition i *is* part i,
so the output (files, ids, order, even sha256) is identical to the local engine's, --skip-bad
works per record, and a local run can be resumed on a cluster and vice versa.

Each partition's quotes are written by the task itself (`write_part`), so the output folder must
be reachable from every worker under the same path (a shared file system), as with any Dask
`to_parquet`. A worker that dies is retried elsewhere by the scheduler
(`distributed.scheduler.allowed-failures`); a part that keeps killing workers ends as
KilledWorker, is reported as worker_died, and --resume redoes it.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from toolkit.corpus.parts import ARTICLE_META, QUOTE_FRAME_META, extract_frame, load_part_frame, process_part, write_part
from toolkit.corpus.limits import quiesce_helpers, worker_pool
from toolkit.corpus.plan import CorpusRun, describe_range
from toolkit.errors import ToolkitError


# ------------------------------------------------------------------------------ local engines

def _run_inprocess(todo: list[dict[str, Any]], run: CorpusRun, emit: Callable[[dict[str, Any]], None]) -> None:
    for spec in todo:
        emit(process_part(spec, str(run.out), run.extract_fn, run.skip_bad, run.jsonl, run.article_timeout))


def _pool(workers: int) -> ProcessPoolExecutor:
    # spawn, not fork: the driver runs a progress thread, and forking a threaded process can deadlock.
    # The workers die with the driver (toolkit.corpus.limits.die_with_parent).
    return worker_pool(workers)


def _part_failed(spec: dict[str, Any], exc: Exception) -> Exception:
    """A worker's unexpected exception as one line naming the part.

    ToolkitError (bad input) already is one; OSError stays itself, the driver turns write errors
    (disk full, permissions) into its own message.
    """
    if isinstance(exc, (ToolkitError, OSError)):
        return exc
    return ToolkitError(f"part {spec['part']} ({describe_range(spec)}) failed: {type(exc).__name__}: {exc}")


def _result(fut: Future, spec: dict[str, Any]) -> dict[str, Any]:
    """The part's manifest entry; BrokenProcessPool if its worker died, else one-line errors."""
    try:
        return fut.result()
    except BrokenProcessPool:
        raise
    except Exception as exc:  # noqa: BLE001 - reported as one line naming the part
        raise _part_failed(spec, exc) from None


def _run_pool(todo: list[dict[str, Any]], run: CorpusRun, emit: Callable[[dict[str, Any]], None]) -> None:
    """N local processes, at most 2N parts in flight (flat memory in the driver).

    If a worker dies, ProcessPoolExecutor fails every part then in flight. Those parts become
    suspects: the run goes on with a fresh pool, then retries each suspect alone, so a part that
    kills its worker every time costs only itself (reported as worker_died; --resume redoes it).
    """
    args = (str(run.out), run.extract_fn, run.skip_bad, run.jsonl, run.article_timeout)
    pending = deque(todo)
    suspects: list[dict[str, Any]] = []
    while pending:
        pool = _pool(run.workers)
        inflight: dict[Future, dict[str, Any]] = {}
        broken = False
        try:
            while pending or inflight:
                while pending and len(inflight) < 2 * run.workers and not broken:
                    spec = pending.popleft()
                    inflight[pool.submit(process_part, spec, *args)] = spec
                done, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for fut in done:
                    spec = inflight.pop(fut)
                    try:
                        result = _result(fut, spec)
                    except BrokenProcessPool:
                        broken = True
                        suspects.append(spec)
                        continue
                    emit(result)
                if broken:
                    for fut, spec in inflight.items():
                        try:
                            emit(_result(fut, spec))
                        except BrokenProcessPool:
                            suspects.append(spec)
                    inflight.clear()
                    break
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    for spec in sorted(suspects, key=lambda s: s["part"]):
        with _pool(1) as pool:
            try:
                emit(_result(pool.submit(process_part, spec, *args), spec))
            except BrokenProcessPool:
                run.failed.append({"part": spec["part"], "kind": "worker_died", "where": describe_range(spec),
                                   "message": f"part {spec['part']} ({describe_range(spec)}): the worker process "
                                              "died while extracting it (twice); rerun with --resume"})


# --------------------------------------------------------------------------------- Dask engine

def quotes_frame(todo: list[dict[str, Any]], run: CorpusRun, run_id: str | None = None) -> Any:
    """The lazy Dask DataFrame of quote (and error) rows, one partition per part in `todo`."""
    import dask.dataframe as dd

    articles = dd.from_map(load_part_frame, todo, skip_bad=run.skip_bad, meta=ARTICLE_META,
                           label="read-articles", enforce_metadata=False)
    return articles.map_partitions(extract_frame, run.extract_fn, run.skip_bad, run.article_timeout, run_id,
                                   meta=QUOTE_FRAME_META, enforce_metadata=False)


def connect(run: CorpusRun) -> tuple[Any, Any]:
    """A client on --scheduler, or on a LocalCluster of --workers processes with one thread each."""
    from distributed import Client, LocalCluster

    if run.scheduler:
        try:
            return Client(run.scheduler, timeout="30s"), None
        except (OSError, TimeoutError) as exc:
            raise ToolkitError(f"cannot reach the Dask scheduler at {run.scheduler}: {exc}") from None
    # silence_logs=CRITICAL: a failing task is reported once, by us, as one line (the workers
    # would otherwise log "Compute Failed" with the remote traceback). The scheduler starts an
    # HTTP server even without a dashboard (default port 8787, with a warning on stderr when that
    # is taken): any free port on 127.0.0.1 instead.
    cluster = LocalCluster(n_workers=run.workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.CRITICAL,
                           scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
    return Client(cluster), cluster


def run_dask(todo: list[dict[str, Any]], run: CorpusRun, emit: Callable[[dict[str, Any]], None]) -> None:
    """Compute one write task per partition and report parts as they complete."""
    if not todo:
        return
    import dask
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    client, cluster = connect(run)
    run_id = uuid.uuid4().hex
    try:
        parts = quotes_frame(todo, run, run_id).to_delayed()
        tasks = [dask.delayed(write_part, pure=False)(part, spec, str(run.out), run.jsonl)
                 for part, spec in zip(parts, todo)]
        futures = client.compute(tasks)
        by_key = {f.key: spec for f, spec in zip(futures, todo)}
        try:
            for fut in as_completed(futures):
                spec = by_key[fut.key]
                try:
                    result = fut.result()
                except KilledWorker:
                    run.failed.append({"part": spec["part"], "kind": "worker_died", "where": describe_range(spec),
                                       "message": f"part {spec['part']} ({describe_range(spec)}): Dask workers "
                                                  "died while extracting it; rerun with --resume"})
                    continue
                except Exception as exc:  # noqa: BLE001 - the remote exception, as one line naming the part
                    raise _part_failed(spec, exc) from None
                emit(result)
        except BaseException:
            client.cancel(futures)
            raise
    finally:
        try:
            client.run(quiesce_helpers, run_id)
        except Exception:  # noqa: BLE001 - a worker already gone has no helper left to stop
            pass
        client.close()
        if cluster is not None:
            cluster.close()

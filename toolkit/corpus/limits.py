"""Limits on the processes of a corpus run: a per-article time limit, and death with the parent.

Time limit. One pathological article (a regex that backtracks for minutes, an extractor bug that
loops) must not hold a worker forever. `time_limit` arms a real-time interval timer
(`signal.setitimer`); when it fires, SIGALRM's handler raises ArticleTimeout inside the extractor,
between two bytecodes or inside a blocking call (time.sleep, a `re` match: CPython checks for
signals there), and the article is reported as kind "timeout". Signals are delivered to the main
thread only, so this works in the processes that run the extractor in their main thread (the
driver with --workers 1, the local pool's workers). Dask runs tasks in worker *threads*: there
`extract_frame` hands the part to a helper process of that thread (`run_in_helper`), whose main
thread runs the extractor under the same timer. C code that never checks for signals is not
interrupted until it returns to Python; no pure-Python limit can do better short of killing the
process.

Parent death. A worker process must not outlive the run that started it (after a SIGKILL of the
driver it would go on writing parts nobody records, then sit idle forever). `die_with_parent`,
run as the pool initializer, asks the kernel for SIGKILL when the parent dies
(prctl(PR_SET_PDEATHSIG)), and starts a thread that exits the process once its parent pid has
changed (the fallback where prctl is unavailable).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, TypeVar

PR_SET_PDEATHSIG = 1
#: Seconds between two parent-pid checks of the fallback watcher.
PARENT_CHECK_SECONDS = 0.5
T = TypeVar("T")


class ArticleTimeout(BaseException):
    """An article ran over --article-timeout.

    A BaseException, like KeyboardInterrupt, so that an extractor's own `except Exception`
    cannot swallow it and go on with the slow article.
    """


def _on_alarm(signum: int, frame: Any) -> None:
    raise ArticleTimeout


def in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ArticleTimeout in the body once `seconds` of wall time have passed (0: no limit).

    Only in a main thread (signals are delivered there); callers in other threads use
    run_in_helper.
    """
    if not seconds:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------------------- parent death

def die_with_parent(parent_pid: int) -> None:
    """Pool initializer: end this process as soon as `parent_pid` (the pool's owner) is gone."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the watcher below still works
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="qst-watch-parent", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        if os.getppid() != parent_pid:
            os._exit(1)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """Spawned worker processes (not forked: the driver runs threads) that die with this process."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=die_with_parent, initargs=(os.getpid(),))


# ----------------------------------------------------------------- helper process for threads

class _Helpers:
    """This process's helper processes, one per thread, and whether parts may still start.

    A Dask worker outlives a run (an external cluster serves many), so helpers are kept between
    parts and stopped at the run's end by `quiesce_helpers(run_id)`, which first waits for the
    parts still in helpers; parts of that run that would start afterwards (cancelled tasks still
    running) are refused instead of starting a helper nobody would stop.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pools: dict[int, ProcessPoolExecutor] = {}   # thread id -> its helper
        self.busy = 0
        self.ended: set[str] = set()   # run ids whose parts may no longer start


_helpers = _Helpers()


@contextmanager
def _may_have_children() -> Iterator[None]:
    """Let a daemonic process (a Dask worker) start a child while the with-block runs.

    multiprocessing refuses children to daemonic processes because they could be orphaned; ours
    cannot (die_with_parent), so the flag is lifted for the start only.
    """
    config = multiprocessing.current_process()._config  # type: ignore[attr-defined]
    daemonic = config.get("daemon")
    config["daemon"] = False
    try:
        yield
    finally:
        if daemonic is not None:
            config["daemon"] = daemonic


def run_in_helper(fn: Callable[..., T], *args: Any, run_id: str | None = None) -> T:
    """fn(*args) in this thread's helper process, where a main thread can take SIGALRM.

    If the helper dies (the extractor crashed it, or prctl ended it because the thread that
    started it ended), the call is retried once in a fresh helper; if that dies too, this whole
    process exits, so that a Dask worker that runs the article dies exactly as it would have
    without a helper, and the scheduler retries the part elsewhere or reports KilledWorker.
    """
    tid = threading.get_ident()
    with _helpers.lock:
        if run_id is not None and run_id in _helpers.ended:
            raise RuntimeError("the run has ended; this part was cancelled")
        _helpers.busy += 1
    try:
        for _ in range(2):
            with _helpers.lock:
                pool = _helpers.pools.get(tid) or _helpers.pools.setdefault(tid, worker_pool(1))
            try:
                with _may_have_children():
                    future = pool.submit(fn, *args)
                return future.result()
            except BrokenProcessPool:
                with _helpers.lock:
                    _helpers.pools.pop(tid, None)
                pool.shutdown(wait=False)
    finally:
        with _helpers.lock:
            _helpers.busy -= 1
    os._exit(70)


async def quiesce_helpers(run_id: str, timeout: float = 120.0) -> int:
    """A run ends (Dask: `client.run` on every worker): let the parts in helpers finish, then stop all.

    Async, so that it waits on the worker's event loop without blocking it. A helper killed with
    its worker would leave its semaphores to multiprocessing's resource tracker, which then warns
    about them on stderr. Returns the number of helpers stopped.
    """
    import asyncio

    with _helpers.lock:
        _helpers.ended.add(run_id)
    deadline = time.monotonic() + timeout
    while _helpers.busy and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    with _helpers.lock:
        pools = list(_helpers.pools.values())
        _helpers.pools.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)
    return len(pools)

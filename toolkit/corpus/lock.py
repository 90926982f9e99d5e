"""One extract-corpus run per output folder at a time.

Two runs on the same --out would redo the same parts, rename files over each other and rebuild
the manifest from a mix of both. `RunLock` holds an exclusive `fcntl.flock` on `OUT/.qst-corpus.lock`
for the whole run: the kernel releases it when the holder's process ends, however it ends
(SIGKILL, OOM, power loss on a local disk), so a crashed run never blocks the next one. The
file holds the holder's pid and host, for the refusal message; content left by a holder that
did not end cleanly (its lock is free) is a stale lock, taken over with a warning.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
from pathlib import Path
from types import TracebackType
from typing import Any

from toolkit.errors import ToolkitError
from toolkit.fileio import pid_alive

LOCK_FILE = ".qst-corpus.lock"
log = logging.getLogger(__name__)


def _holder(text: str) -> dict[str, Any]:
    try:
        holder = json.loads(text)
        return holder if isinstance(holder, dict) else {}
    except ValueError:
        return {}


class RunLock:
    """Exclusive lock of an output folder for one run (a context manager)."""

    def __init__(self, out: Path) -> None:
        self.out, self.path, self.fd = out, out / LOCK_FILE, -1

    def acquire(self) -> None:
        """Take the lock or refuse in one line naming the run that holds it."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                holder = _holder(self.path.read_text(encoding="utf-8", errors="replace"))
                who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
                raise ToolkitError(f"{self.out}: another extract-corpus run ({who}) is writing to this folder; "
                                   "wait for it to finish or stop it, then rerun (with --resume)") from None
            # The holder before us may have unlinked the file between our open and our flock:
            # then we hold a lock on a file nobody else can see, so start over.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        self.fd = fd
        self._take_over_stale()
        data = json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)

    def _take_over_stale(self) -> None:
        """Warn when the file names an earlier holder: it ended without releasing (killed, crashed)."""
        old = _holder(os.pread(self.fd, 4096, 0).decode("utf-8", errors="replace"))
        if not old:
            return
        gone = old.get("host") == socket.gethostname() and not pid_alive(old.get("pid"))
        state = "its process is gone" if gone else "it no longer holds the lock"
        log.warning("%s: taking over the stale lock of extract-corpus run pid %s on %s (%s)",
                    self.out, old.get("pid", "?"), old.get("host", "?"), state)

    def release(self) -> None:
        """Remove the file while still holding the lock (acquire checks for that), then unlock."""
        if self.fd < 0:
            return
        try:
            self.path.unlink()
        except OSError:  # e.g. the folder became read-only: the next run takes the lock over
            pass
        os.close(self.fd)
        self.fd = -1

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

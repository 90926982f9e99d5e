"""A push lease stored in the Label Studio project itself, so two `qst push` runs cannot interleave.

Why server-side: two people (or two machines) may push the same quotes into the same project at
once; a local lock file would not see the other machine. Label Studio has no lock API, so the
lease is one marker line at the end of the project's `description`:

    [qst-push-lease holder=<host>:<pid>:<random> until=<UTC ISO time>]

Acquire = read the description; refuse if another holder's lease has not expired; write ours;
wait `settle` seconds; read again and go on only if the marker is still ours. Two runs that both
saw no lease and both wrote one end with exactly one marker on the server (last writer wins), and
both re-read it after the settle time, so only its holder proceeds and the other is refused.
Only two reads within the settle time of each other could both pass, and the read→write gap of one
HTTP round trip is far shorter than the settle time. The post-push duplicate check in
toolkit.labelstudio.client is the safety net behind it.

The lease expires (`ttl`) so a push that died does not block the project forever; a live push
renews it between batches and removes the marker when it ends.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from toolkit.errors import ToolkitError

MARKER_RE = re.compile(r"\n?\[qst-push-lease holder=(?P<holder>\S+) until=(?P<until>\S+)\]\s*$")
DEFAULT_TTL = 180.0
DEFAULT_SETTLE = 2.0


class LeaseHeld(ToolkitError):
    """Another `qst push` holds the project's push lease."""


@dataclass
class Lease:
    """The push lease this process holds on one project."""

    conn: Any
    project_id: int
    title: str
    holder: str
    ttl: float
    renewed: float = 0.0


def _now() -> datetime:
    return datetime.now(timezone.utc)


def parse(description: str | None) -> tuple[str, str | None, datetime | None]:
    """(description without the marker, holder, until) of a project description."""
    text = description or ""
    m = MARKER_RE.search(text)
    if not m:
        return text, None, None
    try:
        until = datetime.fromisoformat(m["until"])
    except ValueError:
        until = None  # an unreadable marker counts as expired
    return text[:m.start()], m["holder"], until


def _marker(holder: str, ttl: float) -> str:
    until = (_now() + timedelta(seconds=ttl)).isoformat(timespec="seconds")
    return f"[qst-push-lease holder={holder} until={until}]"


def _read(conn: Any, project_id: int, title: str) -> str:
    return conn.call(f"reading the push lease of project {title!r}", conn.client.projects.get, project_id).description or ""


def _write(conn: Any, project_id: int, title: str, description: str) -> None:
    conn.call(f"writing the push lease of project {title!r}", conn.client.projects.update, project_id,
              description=description)


def _refuse(title: str, holder: str, until: datetime | None, why: str) -> LeaseHeld:
    when = until.isoformat(timespec="seconds") if until else "?"
    return LeaseHeld(f"project {title!r}: another qst push ({holder}) {why} (its lease runs until {when} UTC "
                     "and is renewed while it runs); wait for it to finish, then push again: nothing is "
                     "imported twice")


def acquire(conn: Any, project_id: int, title: str, ttl: float = DEFAULT_TTL,
            settle: float = DEFAULT_SETTLE) -> Lease:
    """Take the project's push lease or raise LeaseHeld naming the holder."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    base, other, until = parse(_read(conn, project_id, title))
    if other and until and until > _now():
        raise _refuse(title, other, until, "is importing into it")
    _write(conn, project_id, title, (base + "\n" if base else "") + _marker(holder, ttl))
    time.sleep(settle)
    _, now_holder, now_until = parse(_read(conn, project_id, title))
    if now_holder != holder:
        raise _refuse(title, now_holder or "?", now_until, "started at the same moment and took the lease")
    return Lease(conn, project_id, title, holder, ttl, time.monotonic())


def renew(lease: Lease, every: float | None = None) -> None:
    """Extend the lease if a third of its time has passed; stop if someone else took it meanwhile."""
    if time.monotonic() - lease.renewed < (lease.ttl / 3 if every is None else every):
        return
    base, holder, until = parse(_read(lease.conn, lease.project_id, lease.title))
    if holder != lease.holder:
        raise _refuse(lease.title, holder or "(none)", until,
                      "took over the lease while this push ran (was this push paused for longer than "
                      f"{lease.ttl:.0f}s?); stopped")
    _write(lease.conn, lease.project_id, lease.title, (base + "\n" if base else "") + _marker(lease.holder, lease.ttl))
    lease.renewed = time.monotonic()


def release(lease: Lease) -> None:
    """Remove our marker (and only ours) from the description."""
    base, holder, _ = parse(_read(lease.conn, lease.project_id, lease.title))
    if holder == lease.holder:
        _write(lease.conn, lease.project_id, lease.title, base)

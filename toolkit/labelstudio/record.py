"""A local record of the tasks a `qst push` has seen in a project, so a re-push reads only what changed.

Why: Label Studio spends about 1 ms of CPU per task listing a project (its cheapest list, the Data
Manager's `/api/tasks`), so a re-push that read every task to learn which quote keys exist took
200 s at 100k tasks. With this record a push reads only tasks with an id above the highest one
seen and tasks updated since the last read (an edit in the Data Manager changes a task's key),
then checks the project's task count against the record. The rules:

- The record is never required and never trusted blindly: missing, unreadable, of another format,
  of another project (id, created_at) or server, or inconsistent with the server's task count →
  the caller reads every task, as before, and writes a new record. The reason is logged.
- One file per (server URL without credentials, project id, project created_at): a project deleted
  and re-created under the same id gets another created_at, so another file.
- It holds task ids and quote keys only, and the URL with any `user:password@` removed: no API key,
  no token, no URL userinfo (tests/test_labelstudio_record.py reads the file for them).
- Written atomically (a temporary file in the same folder, then os.replace), mode 600, in the user's
  cache folder (toolkit.cache.cache_dir: QST_CACHE_DIR, QST_NO_CACHE=1 turns it off).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from toolkit import cache

log = logging.getLogger(__name__)

#: Bumped when the file's layout or meaning changes; a record of another format is not read.
FORMAT = 1
KIND = "labelstudio-tasks"


@dataclass
class Record:
    """What a push knows of a project's tasks: {task id: key}, the highest id, the count, and the
    server time (Label Studio's DATETIME_FORMAT) after which updated tasks must be read again."""

    tasks: dict[int, Any] = field(default_factory=dict)
    max_id: int = 0
    count: int = 0
    since: str | None = None


def plain_url(url: str) -> str:
    """The server URL without userinfo, query or fragment: what identifies the server, no secret."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def identity(url: str, project_id: int, created_at: Any) -> dict[str, Any]:
    """The fields that tell one project on one server from every other, a re-created one included."""
    return {"server": plain_url(url), "project_id": int(project_id), "created_at": str(created_at or "")}


def path_for(ident: dict[str, Any]) -> Path | None:
    """The record's file, or None when the cache is off (QST_NO_CACHE) or there is no home."""
    folder = cache.cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]
    return folder / f"{KIND}-{digest}.json"


def _key(value: Any) -> Any:
    """A key as stored (a JSON list or null) back to what tasks.task_key returns (a tuple or None)."""
    if value is None:
        return None
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) \
            and (value[1] is None or isinstance(value[1], str)):
        return (value[0], value[1])
    raise ValueError(f"not a task key: {value!r}")


def load(ident: dict[str, Any]) -> tuple[Record | None, str]:
    """(record, "") or (None, why it cannot be used): the caller then reads every task."""
    path = path_for(ident)
    if path is None:
        return None, "the cache is off (QST_NO_CACHE or no cache folder)"
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "no record of this project yet"
    except (OSError, ValueError) as exc:
        return None, f"the record {path} cannot be read ({type(exc).__name__})"
    try:
        if not isinstance(entry, dict) or entry.get("format") != FORMAT:
            return None, f"the record {path} is of another format"
        if entry.get("project") != ident:
            return None, f"the record {path} is of another project"
        tasks = {int(tid): _key(k) for tid, k in entry["tasks"].items()}
        rec = Record(tasks=tasks, max_id=int(entry["max_id"]), count=int(entry["count"]),
                     since=entry.get("since") if isinstance(entry.get("since"), str) else None)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None, f"the record {path} is damaged"
    if rec.count != len(rec.tasks) or (rec.tasks and rec.max_id < max(rec.tasks)):
        return None, f"the record {path} does not add up"
    return rec, ""


def save(ident: dict[str, Any], rec: Record) -> None:
    """Write the record atomically; a failure leaves the old file (or none) and is only logged."""
    path = path_for(ident)
    if path is None:
        return
    payload = {"format": FORMAT, "project": ident, "max_id": rec.max_id, "count": rec.count, "since": rec.since,
               "tasks": {str(t): (list(k) if k else None) for t, k in rec.tasks.items()}}
    try:
        cache.write_private_json(path, payload, separators=(",", ":"))
    except OSError as exc:
        log.warning("could not write the task record %s (%s); the next push reads every task", path, exc)


def forget(ident: dict[str, Any]) -> None:
    """Remove the record (after something the record cannot follow), so the next push reads every task."""
    path = path_for(ident)
    if path is not None:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove the task record %s (%s)", path, exc)

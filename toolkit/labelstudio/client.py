"""Label Studio round trip, network half: push tasks and pull snapshot exports via label-studio-sdk 2.x.

The SDK (`label_studio_sdk.LabelStudio`) already handles both kinds of API key: a legacy
token is sent as `Authorization: Token ...`, a personal access token (a JWT refresh token)
is exchanged for short-lived access tokens (label_studio_sdk/tokens/client_ext.py). It also
retries 5xx/429/408/409 answers and refused connections with exponential backoff
(core/http_client.py). On top of that this module:

* turns every SDK/httpx failure into a ToolkitError naming the server and what went wrong,
  with the API key, the access tokens derived from it and any password in the URL removed
  (toolkit.redact: whole and in pieces, before the server's body is cut);
* imports tasks in batches with its own retry that re-reads the project before each try, so
  a push that died half-way (or whose answer was lost) can be re-run without duplicates —
  the key is (data.quote_id, data.target) of the tasks already on the server;
* sets the project's model_version to the predictions' version: Label Studio shows
  pre-annotations only for the project's current model_version.
"""

from __future__ import annotations

import json
import logging
import os
import time
import weakref
from collections import Counter
from collections.abc import Callable
from typing import Any

from toolkit import redact as rd
from toolkit.errors import ToolkitError
from toolkit.labelstudio.tasks import task_key

log = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8080"


class LabelStudioError(ToolkitError):
    """The Label Studio server could not be reached or refused a request."""


class Connection:
    """A LabelStudio SDK client plus what we need to report errors without leaking the key."""

    def __init__(self, url: str | None = None, api_key: str | None = None, retries: int = 4,
                 timeout: float = 60.0) -> None:
        from label_studio_sdk import LabelStudio

        self.url = (url or os.environ.get("LABEL_STUDIO_URL") or DEFAULT_URL).rstrip("/")
        #: the URL as it may be printed: a `user:pw@` in it shown as `***@`
        self.shown_url = rd.redact_url(self.url)
        rd.remember_url(self.url)
        key = api_key or os.environ.get("LABEL_STUDIO_API_KEY")
        if not key:
            raise LabelStudioError(
                "no Label Studio API key: pass --api-key or set LABEL_STUDIO_API_KEY "
                "(a legacy token or a personal access token from Account & Settings)")
        self._key = key
        rd.remember(key)
        me = weakref.ref(self)  # logging redacts the access token too, once the SDK has one
        rd.remember_source(lambda: [conn._access_token()] if (conn := me()) is not None else [])
        self.retries = retries
        try:
            self.client = LabelStudio(base_url=self.url, api_key=key, max_retries=retries, timeout=timeout)
        except Exception as exc:  # the SDK checks JWT expiry on construction
            raise self.error(exc, "checking the API key") from None

    def _access_token(self) -> str | None:
        """The short-lived access token the SDK got for a personal access token, if any yet."""
        try:
            return self.client._client_wrapper._tokens_client._access_token  # noqa: SLF001
        except AttributeError:
            return None

    def scrub(self, text: str) -> str:
        """Remove the API key, an access token derived from it and URL credentials from a message."""
        return rd.redact(text, [self._key, self._access_token()])

    def error(self, exc: BaseException, doing: str) -> LabelStudioError:
        """A readable error for a failed call: status, server, what we were doing; no key, no traceback."""
        import httpx
        from label_studio_sdk.core.api_error import ApiError

        secrets = [self._key, self._access_token()]
        # a server's text (body, exception message) is redacted before it is cut, then cut to 400
        what = rd.excerpt(f"{type(exc).__name__}: {exc}", 400, secrets)
        if isinstance(exc, ApiError):
            status = exc.status_code
            body = exc.body if isinstance(exc.body, str) else json.dumps(exc.body, ensure_ascii=False, default=str)
            body = rd.excerpt(body, 400, secrets)
            if status in (401, 403):
                msg = (f"Label Studio at {self.shown_url} rejected the API key while {doing} (HTTP {status}): {body}. "
                       "Check LABEL_STUDIO_API_KEY; legacy tokens need LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true "
                       "on the server.")
            elif status is not None and status >= 500:
                msg = (f"Label Studio at {self.shown_url} answered HTTP {status} while {doing}, "
                       f"still after {self.retries} retries with backoff: {body}")
            else:
                msg = f"Label Studio at {self.shown_url} refused the request while {doing} (HTTP {status}): {body}"
        elif isinstance(exc, (httpx.ConnectError, httpx.RemoteProtocolError)):
            msg = (f"cannot reach Label Studio at {self.shown_url} while {doing}, after {self.retries} retries "
                   f"with backoff ({what}). Is the server running? (scripts/labelstudio.sh status)")
        elif isinstance(exc, httpx.TimeoutException):
            msg = f"Label Studio at {self.shown_url} did not answer in time while {doing} ({type(exc).__name__})"
        elif isinstance(exc, httpx.HTTPError):
            msg = f"HTTP error talking to Label Studio at {self.shown_url} while {doing}: {what}"
        else:
            msg = f"Label Studio call failed while {doing}: {what}"
        return LabelStudioError(" ".join(self.scrub(msg).split()))

    def call(self, doing: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LabelStudioError:
            raise
        except Exception as exc:  # SDK raises ApiError/httpx errors/pydantic errors
            raise self.error(exc, doing) from None


def find_project(conn: Connection, title: str) -> Any | None:
    """The project whose title is exactly `title` (lowest id if several), or None."""
    def _list() -> list[Any]:
        return [p for p in conn.client.projects.list(title=title, page_size=100) if p.title == title]
    found = conn.call(f"looking up project {title!r}", _list)
    return min(found, key=lambda p: p.id) if found else None


def ensure_project(conn: Connection, title: str, label_config: str,
                   settings: dict[str, Any] | None = None) -> tuple[Any, bool, dict[str, list[Any]]]:
    """Create the project with `settings` (config.project_settings), or bring an existing one's
    label config and settings up to date. Returns (project, created, {field: [old, new]}).

    Why on re-push too: a project made by an older qst (or edited in the UI) keeps Label
    Studio's maximum_annotations=1, and the second annotator's queue stays empty.
    """
    settings = settings or {}
    project = find_project(conn, title)
    if project is None:
        project = conn.call(f"creating project {title!r}", conn.client.projects.create,
                            title=title, label_config=label_config, show_collab_predictions=True,
                            description="Quote stance and attribution review (qst push)", **settings)
        return project, True, {}
    full = conn.call(f"reading project {title!r}", conn.client.projects.get, project.id)
    if (full.label_config or "").strip() != label_config.strip():
        conn.call(f"updating the label config of project {title!r}", conn.client.projects.update,
                  project.id, label_config=label_config)
    changes = {k: [getattr(full, k, None), v] for k, v in settings.items() if getattr(full, k, None) != v}
    if changes:
        conn.call(f"updating the team settings of project {title!r}", conn.client.projects.update,
                  project.id, **{k: new for k, (_, new) in changes.items()})
    return full, False, changes


def existing_keys(conn: Connection, project_id: int, default_target: str | None = None) -> set[tuple[str, Any]]:
    """(quote_id, target) of every task already in the project."""
    def _list() -> set[tuple[str, Any]]:
        keys = set()
        for t in conn.client.tasks.list(project=project_id, fields="task_only", page_size=500):
            k = task_key({"data": t.data or {}}, default_target)
            if k is not None:
                keys.add(k)
        return keys
    return conn.call(f"listing tasks of project {project_id}", _list)


def push_tasks(conn: Connection, title: str, tasks: list[dict[str, Any]], label_config: str,
               batch_size: int = 100, model_version: str | None = None,
               progress: Callable[[int], None] | None = None, import_retries: int = 3,
               default_target: str | None = None, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Create/update project `title` (label config, team `settings`) and import the tasks it does not hold yet.

    Safe to re-run: before every batch (and every retry of a batch) the project's tasks are
    re-read and tasks already there are left out, so nothing is imported twice.
    """
    project, created, changed = ensure_project(conn, title, label_config, settings)
    have = existing_keys(conn, project.id, default_target)
    already = sum(1 for t in tasks if task_key(t, default_target) in have)
    todo = [t for t in tasks if task_key(t, default_target) not in have]
    added = 0
    for start in range(0, len(todo), batch_size):
        batch = todo[start:start + batch_size]
        for attempt in range(import_retries + 1):
            if attempt:
                have = existing_keys(conn, project.id, default_target)
                landed = [t for t in batch if task_key(t, default_target) in have]
                added += len(landed)
                batch = [t for t in batch if task_key(t, default_target) not in have]
                if not batch:
                    break
            try:
                # max_retries=0: an import is not idempotent, so we retry ourselves after re-reading.
                conn.client.projects.import_tasks(project.id, request=batch, return_task_ids=True,
                                                  request_options={"max_retries": 0})
                added += len(batch)
                break
            except Exception as exc:
                err = conn.error(exc, f"importing tasks into project {title!r}")
                if attempt == import_retries:
                    raise err from None
                log.warning("%s; retrying (%d/%d)", err, attempt + 1, import_retries)
                time.sleep(min(30.0, 1.0 * 2 ** attempt))
        if progress:
            progress(len(todo[start:start + batch_size]))
    versions = Counter(p.get("model_version") for t in tasks for p in t.get("predictions", []) if p.get("model_version"))
    mv = model_version or (versions.most_common(1)[0][0] if versions else None)
    if mv:
        conn.call(f"setting model_version of project {title!r}", conn.client.projects.update, project.id,
                  model_version=mv, show_collab_predictions=True)
    total = len(existing_keys(conn, project.id, default_target))
    mv = mv or getattr(project, "model_version", None) or None
    return {"project_id": project.id, "project": title, "created": created, "tasks_given": len(tasks),
            "already_present": already, "added": added, "tasks_in_project": total, "model_version": mv,
            "settings": dict(settings or {}), "settings_changed": changed,
            "url": f"{conn.shown_url}/projects/{project.id}/data"}


def pull_export(conn: Connection, title: str, timeout: float = 300.0) -> tuple[bytes, dict[str, Any]]:
    """Snapshot export (JSON) with all tasks, full predictions, drafts and annotator details.

    Uses the snapshot API (POST /api/projects/{id}/exports/, poll, download) rather than the
    quick export, because only snapshots take serialization options: completed_by as an
    object (id + email), predictions and drafts in full.
    """
    project = find_project(conn, title)
    if project is None:
        raise LabelStudioError(f"no project titled {title!r} on {conn.shown_url}")
    full = conn.call(f"reading project {title!r}", conn.client.projects.get, project.id)
    exports = conn.client.projects.exports
    snap = conn.call(
        f"creating an export snapshot of project {title!r}", exports.create, project.id,
        title=f"qst pull {time.strftime('%Y-%m-%d %H:%M:%S')}",
        serialization_options={"annotations__completed_by": {"only_id": False},
                               "predictions": {"only_id": False}, "drafts": {"only_id": False}},
        task_filter_options={"only_with_annotations": False},
        annotation_filter_options={"usual": True, "skipped": True, "ground_truth": True})
    start = time.monotonic()
    while snap.status != "completed":
        if snap.status == "failed":
            raise LabelStudioError(f"Label Studio at {conn.shown_url}: export snapshot {snap.id} of {title!r} failed")
        if time.monotonic() - start > timeout:
            raise LabelStudioError(f"Label Studio at {conn.shown_url}: export snapshot {snap.id} of {title!r} "
                                   f"not ready after {timeout:.0f}s (status {snap.status})")
        time.sleep(1.0)
        snap = conn.call("polling the export snapshot", exports.get, project.id, export_pk=snap.id)
    raw = conn.call("downloading the export snapshot",
                    lambda: b"".join(exports.download(project.id, export_pk=snap.id, export_type="JSON")))
    info = {"project_id": project.id, "project": title, "export_id": snap.id,
            "model_version": full.model_version or None}
    return raw, info

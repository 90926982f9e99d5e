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
        #: task rows read back from the server by this connection's listings (server_tasks)
        self.tasks_read = 0
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


#: Tasks per page when reading a project back: large pages cost the server far less per task.
READ_PAGE = 10000


def _task_page(conn: Connection, project_id: int, page: int, query: str | None = None) -> dict[str, Any]:
    """One page of the Data Manager list as plain JSON: {"total": n, "tasks": [{"id", "data"}, ...]}.

    Why not `conn.client.tasks.list`: the SDK builds a pydantic model of every task, which cost
    more client CPU than the server spent answering (10k tasks: ~4 s against 0.2 s for json).
    The SDK's own HTTP client is used, so auth (legacy token or PAT), base URL and its retries
    of 5xx/429 stay the same. `resolve_uri=false`: Label Studio would otherwise look for a
    storage URL in every data field of every task (a fifth of its CPU for this list); our
    fields are plain text and we read only quote_id and target. `query` is the Data Manager's
    own filter JSON (data_manager.prepare_params: {"filters": {"conjunction", "items"}}).
    """
    params: dict[str, Any] = {"project": project_id, "include": "id,data", "page_size": READ_PAGE, "page": page,
                              "resolve_uri": "false"}
    if query is not None:
        params["query"] = query
    return _get_json(conn, "api/tasks", params)[0]


def _get_json(conn: Connection, path: str, params: dict[str, Any] | None = None) -> tuple[Any, str | None]:
    """GET through the SDK's HTTP client: (JSON body, the answer's Date header or None)."""
    from label_studio_sdk.core.api_error import ApiError

    resp = conn.client._client_wrapper.httpx_client.request(path, method="GET", params=params)  # noqa: SLF001
    if not 200 <= resp.status_code < 300:
        raise ApiError(status_code=resp.status_code, headers=dict(resp.headers), body=resp.text)
    return resp.json(), resp.headers.get("date")


def server_tasks(conn: Connection, project_id: int, default_target: str | None = None,
                 query: str | None = None) -> dict[int, Any]:
    """{task id: (quote_id, target) or None} of every task in the project (or those `query` selects), read once.

    Why this endpoint and these options: the Data Manager list (`/api/tasks`) with
    `include=id,data` serialises only id and data (Label Studio's flex fields). Server CPU on 10k
    tasks (/proc/<server>/stat): `fields=task_only` pages of 500 48 s, `include=id,data` pages of
    5,000 9 s, with `resolve_uri=false` 7.3 s, pages of 10,000 6.3 s; `/api/projects/{id}/tasks/`
    (73 s) and the JSON_MIN export (36.5 s) cost more. The pages are read until the list's own
    `total`; a read that missed tasks or saw the total change (a project changing under it) is
    repeated once, and a shortfall left after that is caught by the task count after the push.
    Every task row read is counted in `conn.tasks_read` (the push's summary reports it).
    """
    def _list() -> tuple[dict[int, Any], set[int]]:
        found: dict[int, Any] = {}
        totals: set[int] = set()
        page = 1
        while True:
            body = _task_page(conn, project_id, page, query)
            totals.add(int(body.get("total") or 0))
            rows = body.get("tasks") or []
            conn.tasks_read += len(rows)
            for t in rows:
                found[int(t["id"])] = task_key({"data": t.get("data") or {}}, default_target)
            if not rows or page * READ_PAGE >= max(totals):
                return found, totals
            page += 1
    for _ in range(2):
        found, totals = conn.call(f"listing tasks of project {project_id}", _list)
        if len(totals) == 1 and len(found) >= totals.pop():
            break
    return found


def task_count(conn: Connection, project_id: int) -> int:
    """The number of tasks Label Studio counts in the project (one cheap request)."""
    project = conn.call(f"counting tasks of project {project_id}", conn.client.projects.get, project_id)
    return int(getattr(project, "task_number", None) or 0)


def duplicates(tasks: dict[int, Any]) -> dict[Any, list[int]]:
    """{key: [task ids]} of every key held by more than one task, ids ascending."""
    by_key: dict[Any, list[int]] = {}
    for tid, key in sorted(tasks.items()):
        if key is not None:
            by_key.setdefault(key, []).append(tid)
    return {k: ids for k, ids in by_key.items() if len(ids) > 1}


def _annotated(conn: Connection, project_id: int, ids: list[int]) -> set[int]:
    """The ids among `ids` that carry any annotation, skipped annotation or draft."""
    busy: set[int] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        query = json.dumps({"selectedItems": {"all": False, "included": chunk}})
        for t in conn.call("reading annotation counts of duplicate tasks", lambda: list(conn.client.tasks.list(
                project=project_id, query=query, page_size=len(chunk),
                include="id,total_annotations,cancelled_annotations,draft_exists"))):
            if (t.total_annotations or 0) or (t.cancelled_annotations or 0) or getattr(t, "draft_exists", False):
                busy.add(int(t.id))
    return busy


def dedupe(conn: Connection, project_id: int, dups: dict[Any, list[int]]) -> dict[str, int]:
    """Delete the extra copies of duplicated tasks that nobody has worked on.

    Per key the copies with annotations (or skips or drafts) are all kept (never deleted); if none
    has any, the oldest copy (lowest id) is kept. Returns deleted / kept_with_annotations counts.
    """
    ids = sorted(i for group in dups.values() for i in group)
    busy = _annotated(conn, project_id, ids)
    doomed: list[int] = []
    kept_busy = 0
    for group in dups.values():
        worked = [i for i in group if i in busy]
        keep = set(worked) if worked else {group[0]}
        kept_busy += max(0, len(worked) - 1)
        doomed += [i for i in group if i not in keep]
    for start in range(0, len(doomed), 1000):
        conn.call(f"deleting duplicate tasks of project {project_id}", conn.client.actions.create,
                  id="delete_tasks", project=project_id,
                  selected_items={"all": False, "included": doomed[start:start + 1000]})
    return {"deleted": len(doomed), "kept_with_annotations": kept_busy, "deleted_ids": set(doomed)}


def _import_batch(conn: Connection, title: str, project_id: int, batch: list[dict[str, Any]],
                  import_retries: int, default_target: str | None) -> tuple[int, dict[int, Any] | None]:
    """Import one batch; after a failure re-read the project and send only what did not land.

    Returns (tasks added, {new task id: key}); the ids are None when a retry made them uncertain
    (the caller then reads the project again rather than trust a partial picture).
    """
    added = 0
    for attempt in range(import_retries + 1):
        if attempt:
            have = set(server_tasks(conn, project_id, default_target).values())
            landed = [t for t in batch if task_key(t, default_target) in have]
            added += len(landed)
            batch = [t for t in batch if task_key(t, default_target) not in have]
            if not batch:
                break
        try:
            # max_retries=0: an import is not idempotent, so we retry ourselves after re-reading.
            answer = conn.client.projects.import_tasks(
                project_id, request=batch, return_task_ids=True,
                request_options={"max_retries": 0, "timeout_in_seconds": 600})
            ids = list(getattr(answer, "task_ids", None) or [])
            # Label Studio creates a batch's tasks in order (data_import: bulk_create) and answers their ids in it
            exact = not attempt and len(ids) == len(batch)
            return added + len(batch), ({int(i): task_key(t, default_target) for i, t in zip(ids, batch)}
                                        if exact else None)
        except Exception as exc:
            err = conn.error(exc, f"importing tasks into project {title!r}")
            if attempt == import_retries:
                raise err from None
            log.warning("%s; retrying (%d/%d)", err, attempt + 1, import_retries)
            time.sleep(min(30.0, 1.0 * 2 ** attempt))
    return added, None


def _import_all(conn: Connection, title: str, project_id: int, todo: list[dict[str, Any]], batch_size: int,
                held: Any, progress: Callable[[int], None] | None, import_retries: int,
                default_target: str | None) -> tuple[int, dict[int, Any] | None]:
    """Import `todo` in batches; (added, {new id: key} or None when any batch's ids are uncertain)."""
    from toolkit.labelstudio import lease

    added = 0
    new: dict[int, Any] | None = {}
    for start in range(0, len(todo), batch_size):
        lease.renew(held)
        batch = todo[start:start + batch_size]
        n, ids = _import_batch(conn, title, project_id, batch, import_retries, default_target)
        added += n
        if new is not None and ids is not None:
            new.update(ids)
        else:
            new = None
        if progress:
            progress(len(batch))
    return added, new


#: Label Studio's datetime format in Data Manager filters (data_manager.managers.DATETIME_FORMAT).
LS_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def _project_state(conn: Connection, project_id: int, shift: float = -1.0) -> tuple[int, str | None]:
    """(task count, the server's time of the answer + `shift` seconds, in LS_TIME, or None).

    Why the server's own clock (the Date header, whole seconds): `updated_at` is the server's
    clock. Taken before a read with shift -1, it is a time no later than the read: tasks updated
    after it are those the next incremental read must see again.
    """
    from datetime import timedelta
    from email.utils import parsedate_to_datetime

    body, date = conn.call(f"counting tasks of project {project_id}", _get_json, conn, f"api/projects/{project_id}/")
    try:
        when = (parsedate_to_datetime(date) + timedelta(seconds=shift)).strftime(LS_TIME) if date else None
    except (TypeError, ValueError):
        when = None
    return int(body.get("task_number") or 0), when


def _changed_query(rec: Any) -> str:
    """Data Manager filter (label_studio data_manager.prepare_params.Filters): id > the record's
    highest id, or updated after the record's time (an edit of data changes a task's key)."""
    return json.dumps({"filters": {"conjunction": "or", "items": [
        {"filter": "filter:tasks:id", "operator": "greater", "type": "Number", "value": rec.max_id},
        {"filter": "filter:tasks:updated_at", "operator": "greater", "type": "Datetime", "value": rec.since}]}})


def known_tasks(conn: Connection, project_id: int, ident: dict[str, Any], default_target: str | None,
                full_read: bool = False) -> tuple[dict[int, Any], str | None, str]:
    """({task id: key} of every task in the project, server time of this read, how it was read).

    Reads only what changed since the local record (toolkit.labelstudio.record) when it can be
    trusted: its tasks plus the changed ones must number exactly the server's task count.
    Anything else (no record, a damaged one, a count that does not add up, `full_read`) reads every
    task, and the reason is logged and returned ("full: ...").
    """
    from toolkit.labelstudio import record

    count, since = _project_state(conn, project_id)
    rec, why = (None, "--full-read asked for it") if full_read else record.load(ident)
    if rec is not None and (rec.since is None or since is None):
        rec, why = None, "no server time to read updated tasks from"
    if rec is not None:
        merged = {**rec.tasks, **server_tasks(conn, project_id, default_target, _changed_query(rec))}
        if len(merged) == count:
            return merged, since, "incremental"
        why = (f"the project holds {count} task(s) but the record and the new or updated ones make "
               f"{len(merged)}: tasks deleted or imported outside qst")
    log.info("project %s: reading every task: %s", project_id, why)
    return server_tasks(conn, project_id, default_target), since, f"full: {why}"


def push_tasks(conn: Connection, title: str, tasks: list[dict[str, Any]], label_config: str,
               batch_size: int = 1000, model_version: str | None = None,
               progress: Callable[[int], None] | None = None, import_retries: int = 3,
               default_target: str | None = None, settings: dict[str, Any] | None = None,
               remove_duplicates: bool = False, lease_settle: float | None = None,
               full_read: bool = False) -> dict[str, Any]:
    """Create/update project `title` (label config, team `settings`) and import the tasks it does not hold yet.

    Safe to re-run and to run twice at once: the push holds the project's lease
    (toolkit.labelstudio.lease; a second push is refused with LeaseHeld), learns the project's
    tasks (known_tasks: the local record plus what changed, or every task), imports only the
    missing keys, re-reads after a failed batch, and counts the tasks afterwards; copies of one
    key (left by older versions or pushes that bypassed the lease) are reported and, with
    `remove_duplicates`, the unannotated extra copies deleted. The record is rewritten at the end.
    """
    from toolkit.labelstudio import lease, record

    project, created, changed = ensure_project(conn, title, label_config, settings)
    ident = record.identity(conn.url, project.id, getattr(project, "created_at", None))
    held = lease.acquire(conn, project.id, title, **({} if lease_settle is None else {"settle": lease_settle}))
    try:
        have, since, how = known_tasks(conn, project.id, ident, default_target, full_read)
        keys = set(have.values())
        already = sum(1 for t in tasks if task_key(t, default_target) in keys)
        todo = [t for t in tasks if task_key(t, default_target) not in keys]
        added, new = _import_all(conn, title, project.id, todo, batch_size, held, progress, import_retries,
                                 default_target)
        mv = _set_model_version(conn, title, project, tasks, model_version)
        have, total, since = _after_import(conn, project.id, have, new, added, since, default_target)
        keys = set(have.values())
        dups = duplicates(have)
        cleaned = dedupe(conn, project.id, dups) if remove_duplicates and dups else None
        if cleaned:
            total = task_count(conn, project.id)
            have = {i: k for i, k in have.items() if i not in cleaned["deleted_ids"]}
        _remember(ident, have, total, since)
    finally:
        lease.release(held)
    extra = sum(len(ids) - 1 for ids in dups.values())
    return {"project_id": project.id, "project": title, "created": created, "tasks_given": len(tasks),
            "already_present": already, "added": added, "tasks_in_project": total,
            "distinct_keys": len(keys - {None}),
            "duplicate_keys": len(dups), "duplicate_copies": extra,
            "duplicates_deleted": cleaned["deleted"] if cleaned else 0,
            "duplicates_kept_with_annotations": cleaned["kept_with_annotations"] if cleaned else None,
            "model_version": mv, "settings": dict(settings or {}), "settings_changed": changed,
            "read": how, "tasks_read": conn.tasks_read,
            "url": f"{conn.shown_url}/projects/{project.id}/data"}


def _after_import(conn: Connection, project_id: int, have: dict[int, Any], new: dict[int, Any] | None,
                  added: int, since: str | None, default_target: str | None) -> tuple[dict[int, Any], int, str | None]:
    """The project's tasks after our imports: (tasks, count, server time the record may start from).

    When the count is exactly what we had plus what we imported (and every batch answered its
    ids), our own tasks need no reading; only tasks that were there before and were updated during
    the push (an edit in the Data Manager) are read again, once the server's clock has passed the
    second after our last import, so the record can start there and the next push need not re-read
    the tasks this one added. Otherwise (someone imported meanwhile, a retried batch) every task is read
    again, to find copies, and the record starts from the time before the first read.
    """
    old_max = max(have, default=0)
    # the Date header is whole seconds: the server's clock is before `later` (its second + 1) now
    total, later = _project_state(conn, project_id, shift=1.0)
    after = time.monotonic() + 1.05
    if new is None or total != len(have) + added:
        have = server_tasks(conn, project_id, default_target)
        return have, len(have), since
    have.update(new)
    if since is None or later is None:
        return have, total, None
    time.sleep(max(0.0, after - time.monotonic()))  # so the read below starts after `later`
    query = json.dumps({"filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:id", "operator": "less_or_equal", "type": "Number", "value": old_max},
        {"filter": "filter:tasks:updated_at", "operator": "greater", "type": "Datetime", "value": since}]}})
    have.update(server_tasks(conn, project_id, default_target, query))
    return have, total, later


def _remember(ident: dict[str, Any], have: dict[int, Any], total: int, since: str | None) -> None:
    """Write the local record, or remove it when what we hold does not match the server's count."""
    from toolkit.labelstudio import record

    if len(have) != total or since is None:
        record.forget(ident)
        return
    record.save(ident, record.Record(tasks=have, max_id=max(have, default=0), count=total, since=since))


def _set_model_version(conn: Connection, title: str, project: Any, tasks: list[dict[str, Any]],
                       model_version: str | None) -> str | None:
    """Set the project's model_version to the predictions' most common one (else LS hides them)."""
    versions = Counter(p.get("model_version") for t in tasks for p in t.get("predictions", []) if p.get("model_version"))
    mv = model_version or (versions.most_common(1)[0][0] if versions else None)
    if mv and (mv != getattr(project, "model_version", None) or not getattr(project, "show_collab_predictions", True)):
        conn.call(f"setting model_version of project {title!r}", conn.client.projects.update, project.id,
                  model_version=mv, show_collab_predictions=True)
    return mv or getattr(project, "model_version", None) or None


def _find_export(conn: Connection, project_id: int, title: str) -> Any | None:
    """Our snapshot, by its unique title, when the answer to creating it timed out."""
    found = conn.call("listing export snapshots", conn.client.projects.exports.list, project_id)
    return next((e for e in found if getattr(e, "title", None) == title), None)


def _create_snapshot(conn: Connection, project_id: int, title: str, wait: float) -> Any:
    """Ask for a snapshot; a server without a job queue builds it inside this request.

    Why the long timeout and the fallback: Label Studio without Redis builds the export before it
    answers (140 s at 100k tasks), so a 60 s client timeout failed the pull. The request may take
    up to `wait`; if even that times out, the snapshot is found again by its title and polled.
    """
    import httpx

    name = f"qst pull {time.strftime('%Y-%m-%d %H:%M:%S')} {os.getpid()}"
    try:
        return conn.client.projects.exports.create(
            project_id, title=name,
            serialization_options={"annotations__completed_by": {"only_id": False},
                                   "predictions": {"only_id": False}, "drafts": {"only_id": False}},
            task_filter_options={"only_with_annotations": False},
            annotation_filter_options={"usual": True, "skipped": True, "ground_truth": True},
            request_options={"timeout_in_seconds": max(1, int(wait)), "max_retries": 0})
    except httpx.TimeoutException:
        snap = _find_export(conn, project_id, name)
        if snap is None:
            raise LabelStudioError(f"Label Studio at {conn.shown_url}: no export snapshot of {title!r} after "
                                   f"{wait:.0f}s; try a longer --wait") from None
        return snap
    except Exception as exc:
        raise conn.error(exc, f"creating an export snapshot of project {title!r}") from None


def pull_export(conn: Connection, title: str, wait: float = 900.0,
                progress: Callable[[str], None] | None = None) -> tuple[bytes, dict[str, Any]]:
    """Snapshot export (JSON) with all tasks, full predictions, drafts and annotator details.

    Uses the snapshot API (POST /api/projects/{id}/exports/, poll, download) rather than the
    quick export, because only snapshots take serialization options: completed_by as an
    object (id + email), predictions and drafts in full. `wait` bounds building and downloading
    the snapshot; `progress` is told each stage ("building", "downloading").
    """
    say = progress or (lambda _stage: None)
    project = find_project(conn, title)
    if project is None:
        raise LabelStudioError(f"no project titled {title!r} on {conn.shown_url}")
    full = conn.call(f"reading project {title!r}", conn.client.projects.get, project.id)
    exports = conn.client.projects.exports
    deadline = time.monotonic() + wait
    say("building the export snapshot")
    snap = _create_snapshot(conn, project.id, title, wait)
    while snap.status != "completed":
        if snap.status == "failed":
            raise LabelStudioError(f"Label Studio at {conn.shown_url}: export snapshot {snap.id} of {title!r} failed")
        if time.monotonic() > deadline:
            raise LabelStudioError(f"Label Studio at {conn.shown_url}: export snapshot {snap.id} of {title!r} "
                                   f"not ready after {wait:.0f}s (status {snap.status}); pull again with a "
                                   "longer --wait")
        time.sleep(1.0)
        snap = conn.call("polling the export snapshot", exports.get, project.id, export_pk=snap.id)
    say("downloading the export snapshot")
    left = max(30, int(deadline - time.monotonic()))
    raw = conn.call("downloading the export snapshot", lambda: b"".join(exports.download(
        project.id, export_pk=snap.id, export_type="JSON", request_options={"timeout_in_seconds": left})))
    info = {"project_id": project.id, "project": title, "export_id": snap.id,
            "model_version": full.model_version or None}
    return raw, info

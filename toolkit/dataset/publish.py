"""Upload a dataset folder built by `qst build-dataset` to the Hugging Face Hub.

One `create_commit` per publish: the Hub applies a commit atomically, so a dataset repo never
shows half a release. Large files travel before the commit (LFS/Xet); if the commit then fails,
those blobs stay on the Hub's storage and are not sent again when the command is re-run, and
files already on the Hub with identical content are skipped (the Hub's preupload answer carries
their object ids). The token comes from HF_TOKEN or the saved `hf auth login`; it is handed to
huggingface_hub and removed from every message we print, as is a `user:pw@` in --endpoint
(toolkit.redact).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from toolkit import redact as rd
from toolkit.errors import InputError, ToolkitError
from toolkit.fileio import sha256_file

DEFAULT_ENDPOINT = "https://huggingface.co"
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


@dataclass
class PlannedFile:
    path_in_repo: str
    local_path: Path
    size: int
    sha256: str


@dataclass
class PublishResult:
    repo_url: str
    commit_url: str | None
    committed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def validate_repo_id(repo_id: str) -> str:
    """Require ORG/NAME (the dataset goes to an organisation or user namespace, never a bare name)."""
    if not _REPO_ID.match(repo_id or "") or ".." in repo_id or repo_id.endswith((".git", "-", ".")):
        raise InputError(f"--repo-id {repo_id!r}: expected ORG/NAME, e.g. my-lab/german-quote-stance "
                         "(letters, digits, '-', '_', '.'; one slash)")
    return repo_id


def resolve_token() -> tuple[str, str]:
    """Return (token, where it came from) or raise with how to provide one. Never logs the token."""
    env = os.environ.get("HF_TOKEN")
    if env:
        return env, "HF_TOKEN"
    from huggingface_hub import get_token

    token = get_token()
    if token:
        return token, "saved login"
    raise ToolkitError("no Hugging Face token: set HF_TOKEN to a write token "
                       "(https://huggingface.co/settings/tokens) or run `hf auth login` once; "
                       "or use --dry-run to see what would be uploaded without one")


def plan_upload(folder: str | Path) -> list[PlannedFile]:
    """List exactly the files an upload sends: every non-hidden file under `folder`, checked first.

    Refuses a folder that is not a dataset folder or whose card disagrees with its parquet files.
    """
    from toolkit.dataset.build import check_card

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder (build it with `qst build-dataset --out {folder}`)")
    if not (folder / "README.md").exists() or not list((folder / "data").glob("*.parquet")):
        raise InputError(f"{folder}: not a dataset folder (needs README.md and data/*.parquet from `qst build-dataset`)")
    check_card(folder)
    import pyarrow.parquet as pq

    for path in sorted((folder / "data").glob("*.parquet")):
        if pq.ParquetFile(path).metadata.num_rows == 0:
            raise InputError(f"{path}: split {path.name.split('-')[0]!r} is empty; rebuild the folder with "
                             "`qst build-dataset` from annotations covering more articles (every split needs at "
                             "least one article with a labelled quote)")
    files = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_dir() or any(part.startswith(".") for part in rel.parts):
            continue
        files.append(PlannedFile(rel.as_posix(), path, path.stat().st_size, sha256_file(path)))
    return files


def _scrub(text: str, token: str | None) -> str:
    """`text` without the token (whole or any piece of it) and without URL credentials."""
    return rd.redact(text, [token])


def _detail(exc: BaseException, token: str | None) -> str:
    """An exception's text as it may be shown: redacted first, then on one line and cut."""
    return rd.excerpt(f"{type(exc).__name__}: {exc}", 400, [token])


def publish(folder: str | Path, repo_id: str, *, token: str, private: bool = False,
            endpoint: str | None = None, revision: str = "main",
            commit_message: str = "Upload dataset built with qst build-dataset") -> PublishResult:
    """Create the dataset repo if missing and commit the folder's files in one commit.

    On failure raises ToolkitError saying what reached the Hub (nothing is committed unless the
    commit succeeds; large-file blobs sent before a failed commit are kept by the Hub and skipped
    on the next run) and that re-running the same command finishes the job.
    """
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    validate_repo_id(repo_id)
    rd.remember(token)
    rd.remember_url(endpoint)
    files = plan_upload(folder)
    api = HfApi(endpoint=endpoint or DEFAULT_ENDPOINT, token=token)
    try:
        repo_url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        hint = " (is the token valid and allowed to write to this namespace?)" if status in (401, 403) else ""
        raise ToolkitError(_scrub(f"could not create or find dataset repo {repo_id} at {api.endpoint}: "
                                  f"HTTP {status}{hint}: {_detail(exc, token)}", token)) from None
    except Exception as exc:  # connection refused, DNS, timeouts: httpx/httpx2 transport errors, OSError
        if not (isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in {"httpx", "httpx2", "httpcore"}):
            raise
        raise ToolkitError(_scrub(f"cannot reach {api.endpoint}: {_detail(exc, token)}; check --endpoint "
                                  "and the network, then re-run", token)) from None
    ops = [CommitOperationAdd(path_in_repo=f.path_in_repo, path_or_fileobj=str(f.local_path)) for f in files]
    try:
        info = api.create_commit(repo_id, ops, commit_message=commit_message, repo_type="dataset", revision=revision)
    except Exception as exc:  # report any failure with the upload state, then let the user re-run
        sent = [op.path_in_repo for op in ops if op._is_uploaded]
        unchanged = [op.path_in_repo for op in ops if op._remote_oid is not None and op._remote_oid == op._local_oid]
        status = getattr(getattr(exc, "response", None), "status_code", None)
        lines = [f"upload to {repo_url} failed{f' (HTTP {status})' if status else ''}: {_detail(exc, token)}",
                 f"nothing was committed: the dataset repo still shows its previous state ({len(files)} file(s) pending).",
                 ("large files already transferred to the Hub's storage (not sent again on re-run): " + ", ".join(sent))
                 if sent else "no file content reached the Hub's storage.",
                 ]
        if unchanged:
            lines.append("already on the Hub with identical content: " + ", ".join(unchanged))
        lines.append("re-run the same `qst publish` command to finish the upload.")
        raise ToolkitError(_scrub("\n".join(lines), token)) from None
    unchanged = [op.path_in_repo for op in ops if op._remote_oid is not None and op._remote_oid == op._local_oid]
    committed = [f.path_in_repo for f in files if f.path_in_repo not in set(unchanged)]
    return PublishResult(repo_url=rd.redact_url(str(repo_url)),
                         commit_url=rd.redact_url(info.commit_url) if committed else None,
                         committed=committed, unchanged=unchanged)

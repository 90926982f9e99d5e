"""Pseudonymous annotator ids that are stable across Label Studio servers and exports.

Label Studio numbers its users 1, 2, 3 … on every server, so a pseudonym of the bare user id
merges different people as soon as exports of two servers meet (issue 12: 6 people became 4,
14 annotations were dropped as "superseded", alpha fell from 0.965 to 0.495). The identity
hashed here is therefore, in this order:

1. ``email:<address>`` — the user's e-mail (lower-cased), from ``completed_by`` of a full JSON
   export (``qst pull`` always asks for it), the ``annotator`` column of JSON_MIN/CSV when Label
   Studio wrote an address there, or the users list given to ``qst import --users``;
2. ``ls:<host:port>:<user id>`` — the server a ``qst pull`` talked to (recorded in
   PREFIX.reconciliation.json) or ``qst import --server-id``, plus the numeric id;
3. ``file:<file name>:<user id>`` — neither known: the id means something only inside this one
   export, so it is kept apart per file and a merge that meets the same number elsewhere warns.

The pseudonym is ``ann_`` + 12 hex digits of HMAC-SHA256(salt, identity). Without the salt
nobody can recompute it from an e-mail or a user id. The salt comes from QST_ANNOTATOR_SALT
(≥ 16 characters), else from a per-team salt file (QST_ANNOTATOR_SALT_FILE, default
``~/.config/qst/annotator-salt``) that is created once with mode 600, outside any output folder.
The salt is registered with toolkit.redact and never printed or written anywhere else.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from toolkit import redact as rd
from toolkit.errors import ToolkitError

log = logging.getLogger(__name__)

SALT_ENV = "QST_ANNOTATOR_SALT"
SALT_FILE_ENV = "QST_ANNOTATOR_SALT_FILE"
MIN_SALT = 16

#: identity kinds, strongest first
KINDS = ("email", "server", "file")

_cache: dict[tuple[str, str], bytes] = {}


def salt_file() -> Path:
    """Where the per-team salt lives: QST_ANNOTATOR_SALT_FILE, else $XDG_CONFIG_HOME/qst/annotator-salt."""
    if os.environ.get(SALT_FILE_ENV):
        return Path(os.environ[SALT_FILE_ENV]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "qst" / "annotator-salt"


def _checked(value: str, where: str) -> bytes:
    if len(value) < MIN_SALT:
        raise ToolkitError(f"{where}: the annotator salt has {len(value)} characters; use at least {MIN_SALT} "
                           "random ones (e.g. python -c 'import secrets; print(secrets.token_hex(32))')")
    rd.remember(value)
    return value.encode()


def _read_salt_file(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ToolkitError(f"{path}: the annotator salt file is readable by others (mode {stat.S_IMODE(mode):o}); "
                           f"run: chmod 600 {path}")
    return _checked(path.read_text(encoding="utf-8").strip(), str(path))


def _create_salt_file(path: Path) -> None:
    """Write a new random salt with mode 600 (O_EXCL: two processes starting at once keep one)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secrets.token_hex(32) + "\n")
    log.warning("created a new annotator salt in %s (mode 600). Annotator ids are pseudonyms under it: "
                "to get the same ids elsewhere, give every teammate the same salt (copy the file, or set %s)",
                path, SALT_ENV)


def load_salt() -> bytes:
    """The HMAC key for annotator pseudonyms (see the module docstring for where it comes from)."""
    env = os.environ.get(SALT_ENV, "")
    key = (env, "" if env else str(salt_file()))
    if key in _cache:
        return _cache[key]
    if env:
        salt = _checked(env, SALT_ENV)
    else:
        path = salt_file()
        try:
            if not path.exists():
                _create_salt_file(path)
            salt = _read_salt_file(path)
        except OSError as exc:
            raise ToolkitError(f"{path}: cannot read or create the annotator salt file ({exc.strerror}); "
                               f"set {SALT_ENV} or {SALT_FILE_ENV}") from None
    _cache[key] = salt
    return salt


def _user_id(value: Any) -> int | str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


def identity(user: Any, server_id: str | None = None, scope: str | None = None,
             emails: dict[int, str] | None = None) -> tuple[str, str, int | str | None] | None:
    """(identity, kind, numeric user id or None) of a completed_by / annotator value; None if empty.

    `emails` maps user ids to addresses (the users list); `server_id` is host:port; `scope`
    names the export for ids known by neither.
    """
    email, uid = None, None
    if isinstance(user, dict):
        email, uid = user.get("email"), _user_id(user.get("id"))
    else:
        uid = _user_id(user)
        if isinstance(uid, str) and "@" in uid:
            email, uid = uid, None
    if not email and emails and uid in emails:
        email = emails[uid]
    if isinstance(email, str) and email.strip():
        return f"email:{email.strip().lower()}", "email", uid
    if uid is None:
        return None
    if server_id:
        return f"ls:{server_id}:{uid}", "server", uid
    return f"file:{scope or '?'}:{uid}", "file", uid


def pseudonym(ident: str) -> str:
    """`ann_` + 12 hex digits of HMAC-SHA256(salt, identity)."""
    return "ann_" + hmac.new(load_salt(), ident.encode(), hashlib.sha256).hexdigest()[:12]


def server_id_of(url: str) -> str:
    """host:port of a Label Studio URL (no scheme, no credentials, no path): the server's identity."""
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"http://{url}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"

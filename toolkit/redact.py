"""Keep API keys, tokens and URL passwords out of everything the toolkit prints or logs.

Why a module of its own: servers echo request headers in error bodies, libraries put URLs (with
any `user:password@` in them) into exception texts and log lines, and a message cut to a length
no longer contains the whole key, so a plain `text.replace(key, "***")` after the cut lets the
key's prefix through. Here every secret is removed as a whole *and* as any piece of at least
`WINDOW` characters, URL userinfo is masked wherever it appears, and `excerpt` redacts before
it cuts. The secrets are the values of `SECRET_ENV` and `URL_ENV`, plus what the code that holds
a key or token registers with `remember` / `remember_url` / `remember_source`.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import threading
import traceback
from collections.abc import Callable, Iterable
from urllib.parse import quote, unquote, urlsplit

MASK = "***"
#: Any run of this many characters of a secret is masked: a body cut anywhere shows no piece of it.
WINDOW = 6
#: Shorter values are not searched as free text (they would mask ordinary words); they are still
#: masked where they stand in a URL's userinfo.
MIN_SECRET = 4
SECRET_ENV = ("LABEL_STUDIO_API_KEY", "HF_TOKEN")
URL_ENV = ("LABEL_STUDIO_URL", "HF_ENDPOINT")

# scheme://USERINFO@ ; greedy up to the last "@" before the host, so a raw "@" in a password is covered.
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#\"'<>\\]*@")
# an echoed credential header, whoever's it is: "Authorization: Bearer xyz", '"authorization": "Token xyz"'
_AUTH_HEADER = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|token|basic)\s+)[^\s\"',;}]+")

_lock = threading.Lock()
_remembered: set[str] = set()
_sources: list[Callable[[], Iterable[str | None]]] = []


def remember(*values: str | None) -> None:
    """Register secrets held by this process (an --api-key, a token) so every later message drops them."""
    with _lock:
        _remembered.update(v for v in values if v)


def remember_source(source: Callable[[], Iterable[str | None]]) -> None:
    """Register a callable that yields secrets obtained later (e.g. an access token fetched on demand)."""
    with _lock:
        _sources.append(source)


def url_secrets(url: str | None) -> list[str]:
    """The credentials in a URL's userinfo, as written, decoded, and as the Basic auth header carries them."""
    try:
        parts = urlsplit(url or "")
        user, password = parts.username, parts.password
    except ValueError:
        return []
    if user is None and password is None:
        return []
    user, password = user or "", password or ""
    raw = [password] if password else [user]  # a lone user name may be a token (https://TOKEN@host)
    out = raw + [unquote(v) for v in raw]
    out.append(base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode())
    return out


def remember_url(url: str | None) -> None:
    """Register the password (or token) in a URL's userinfo, e.g. a --url http://user:pw@host."""
    remember(*url_secrets(url))


def known_secrets() -> list[str]:
    """Every secret this process knows of: remembered ones, registered sources, and the environment's."""
    with _lock:
        found = set(_remembered)
        sources = list(_sources)
    for source in sources:
        try:
            found.update(v for v in source() if v)
        except Exception:  # a source that cannot answer has nothing to add
            continue
    found.update(v for v in (os.environ.get(name) for name in SECRET_ENV) if v)
    for name in URL_ENV:
        found.update(url_secrets(os.environ.get(name)))
    return sorted(found)


def redact_url(url: str) -> str:
    """The URL (or any text) with every `scheme://user:pw@` shown as `scheme://***@`."""
    return _USERINFO.sub(lambda m: m.group(1) + MASK + "@", url)


def _masked_spans(text: str, secrets: Iterable[str]) -> bytearray:
    """1 for each character of `text` that belongs to a secret or to a WINDOW-long piece of one."""
    marks = bytearray(len(text))
    windows: set[str] = set()
    for secret in secrets:
        for variant in {secret, quote(secret, safe="")}:
            if len(variant) >= WINDOW:
                windows.update(variant[i:i + WINDOW] for i in range(len(variant) - WINDOW + 1))
            elif len(variant) >= MIN_SECRET:
                start = text.find(variant)
                while start >= 0:
                    marks[start:start + len(variant)] = b"\1" * len(variant)
                    start = text.find(variant, start + 1)
    if windows:
        for i in range(len(text) - WINDOW + 1):
            if text[i:i + WINDOW] in windows:
                marks[i:i + WINDOW] = b"\1" * WINDOW
    return marks


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` without the given secrets, the known ones (`known_secrets`), URL userinfo or echoed credentials.

    A secret goes as a whole and as any piece of WINDOW or more characters (a server's body may have
    been cut inside it); each masked run becomes one MASK.
    """
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + MASK, redact_url(text))
    marks = _masked_spans(text, [s for s in (*secrets, *known_secrets()) if s])
    if not any(marks):
        return text
    out, i = [], 0
    while i < len(text):
        if marks[i]:
            while i < len(text) and marks[i]:
                i += 1
            out.append(MASK)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def excerpt(text: str, limit: int = 400, secrets: Iterable[str | None] = ()) -> str:
    """A server's answer as it may be shown: redacted first, then on one line, then cut to `limit`."""
    flat = " ".join(redact(text, secrets).split())
    return flat if len(flat) <= limit else flat[:limit] + " …"


class _RedactingFactory:
    """Log record factory that redacts the formatted message, traceback and stack of every record."""

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self.inner = inner

    def __call__(self, *args: object, **kwargs: object) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        try:
            record.msg, record.args = redact(record.getMessage()), None
        except Exception:  # a broken format string: keep nothing of it rather than risk a leak
            record.msg, record.args = f"(unformattable log message from {record.name})", None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record


def install_log_redaction() -> None:
    """Redact every log record of this process, whichever library or handler emits it (idempotent).

    A record factory rather than a handler filter: huggingface_hub, httpx and urllib3 may log
    through handlers of their own, and all records are made by the one factory.
    """
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(current))

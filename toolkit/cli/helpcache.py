"""`qst --help` and `qst COMMAND --help` served from a cached copy of the very text they printed.

Why: drawing a help imports Typer and Rich (Typer's `rich_utils` alone pulls in `rich.markdown`,
markdown-it and pygments): about 0.3 of `qst --help`'s 0.4 CPU seconds, to print the same text
every time. So `main` first looks here: when the cache holds the output of this very help in this
very setting, it is written as it is and nothing else is imported; otherwise the help is drawn as
always, and what it wrote to stdout is stored for next time.

What the text can depend on, and so the key (toolkit.cache's rules: never needed, never stale):
- the arguments (one of the exact forms `--help` and `COMMAND --help`), the program name
  (`sys.argv[0]`, `sys.orig_argv`), the interpreter, `sys.path` and the current folder;
- the whole environment except the shell's own bookkeeping (`_IGNORED_ENV`): COLUMNS, TERM,
  NO_COLOR, FORCE_COLOR, TYPER_USE_RICH ... and whatever else a library may read; only a SHA-256
  of it is kept, never a value;
- the terminal: whether each of stdin, stdout and stderr is one and its size, the streams' encodings;
- the code: every module loaded while drawing it (Typer, Rich, the command modules, the standard
  library), each file's size and modification time, and for the project's own files their bytes,
  as recorded in the entry and checked at every read.
A help that wrote anything to stderr, or ended other than with status 0, is not stored.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

from toolkit import cache

#: Environment variables that cannot change a help text: the shell's bookkeeping of folders and depth.
_IGNORED_ENV = frozenset({"PWD", "OLDPWD", "_", "SHLVL"})
#: The project's own code, whose files count by their bytes (an edit keeping size and time is another key).
_TOOLKIT = str(Path(__file__).resolve().parents[1])


def _kind(args: list[str]) -> str | None:
    """The cache kind of a help's arguments, or None when they are not a help this module serves
    (each help its own kind, so that each keeps its own newest entries; no kind is a prefix of another's
    file names)."""
    from toolkit.cli import COMMANDS

    if args == ["--help"]:
        return "help"
    if len(args) == 2 and args[1] == "--help" and args[0] in COMMANDS:
        return "help." + args[0].replace("-", "_")
    return None


def _terminal(fd: int) -> str:
    try:
        return f"{os.isatty(fd)}:{tuple(os.get_terminal_size(fd))}"
    except OSError:
        return f"{os.isatty(fd)}:-"


def _stream(stream: Any) -> str:
    return f"{type(stream).__name__}:{getattr(stream, 'encoding', None)}:{getattr(stream, 'errors', None)}"


def _key(args: list[str]) -> str | None:
    """SHA-256 of everything but the code that the help text may depend on (module docstring)."""
    env = sorted((k, v) for k, v in os.environ.items() if k not in _IGNORED_ENV)
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    try:
        cwd = os.getcwd()
    except OSError:
        return None
    return cache.key(repr(args), repr(sys.argv[0]), repr(getattr(sys, "orig_argv", None)), sys.executable,
                     repr(sys.path), cwd, repr(env), repr(getattr(spec, "name", None)),
                     *(_terminal(fd) for fd in (0, 1, 2)), _stream(sys.stdout), _stream(sys.stderr))


def _signature(path: str) -> list[Any] | None:
    """[path, size, mtime_ns, SHA-256 of the bytes for the project's own files], None if unreadable."""
    try:
        info = os.stat(path)
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest() if path.startswith(_TOOLKIT) else None
    except OSError:
        return None
    return [path, info.st_size, info.st_mtime_ns, digest]


def _loaded_files() -> list[str]:
    """The files of every module loaded now (source or extension), sorted."""
    files = {getattr(m, "__file__", None) for m in list(sys.modules.values())}
    return sorted(f for f in files if isinstance(f, str) and os.path.isfile(f))


def _valid(entry: Any) -> bool:
    if not isinstance(entry, dict) or not isinstance(entry.get("stdout"), str) or not isinstance(entry.get("files"), list):
        return False
    files = entry["files"]
    return bool(files) and all(isinstance(f, list) and len(f) == 4 and isinstance(f[0], str) and _signature(f[0]) == f
                               for f in files)


def replay(args: list[str]) -> bool:
    """Write the cached output of this help to stdout and say True; False (nothing written) when
    the arguments are no help this module serves or the cache holds no valid entry for them."""
    kind = _kind(args)
    if kind is None or cache.cache_dir() is None:
        return False
    entry = cache.read(kind, _key(args))
    if not _valid(entry):
        return False
    sys.stdout.write(entry["stdout"])
    sys.stdout.flush()
    return True


class _Tee:
    """A stream that passes everything to the one it wraps and keeps a copy of what was written."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.written: list[str] = []

    def write(self, text: str) -> int:
        written = self._stream.write(text)  # first: what it refuses (click probes with b"") is not kept
        self.written.append(text)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class Recording:
    """While a help is drawn: stdout and stderr kept (`_Tee`) for `save`; a no-op for other commands."""

    def __init__(self, args: list[str]) -> None:
        self.kind = _kind(args) if cache.cache_dir() is not None else None
        self.key = _key(args) if self.kind else None
        self._streams: tuple[Any, Any] | None = None
        self._out: _Tee | None = None
        self._err: _Tee | None = None
        if self.key:
            self._streams = (sys.stdout, sys.stderr)
            self._out, self._err = _Tee(sys.stdout), _Tee(sys.stderr)
            sys.stdout, sys.stderr = self._out, self._err  # type: ignore[assignment]

    def stop(self) -> None:
        """Put the streams back (only if they are still ours: nothing else swapped them meanwhile)."""
        if self._streams is not None:
            if sys.stdout is self._out and sys.stderr is self._err:
                sys.stdout, sys.stderr = self._streams
            else:
                self.key = None
            self._streams = None

    def save(self) -> None:
        """Store what the help wrote, with the signatures of the code that drew it."""
        if not self.key or self._out is None or self._err is None or self._err.written or not self._out.written:
            return
        signatures = [_signature(f) for f in _loaded_files()]
        if any(s is None for s in signatures):
            return
        cache.write(self.kind or "", self.key, {"stdout": "".join(self._out.written), "files": signatures})


def record(args: list[str]) -> Recording:
    """Start keeping what this run writes if it is a help this module serves (else a no-op)."""
    return Recording(args)

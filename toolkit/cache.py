"""A small on-disk cache of checked input data (the bundled lexicon, a speaker registry), so that a
`qst` process does not parse and validate the same unchanged files at every start.

Why: a one-article `qst extract` spent about a fifth of its CPU time reading the word lists and the
registry with PyYAML and checking them with jsonschema, on files that had not changed since the last
run. The rules, so that the cache can never change an outcome:

- An entry's key is the SHA-256 of everything its value depends on (the files' bytes and paths, the
  schema, the code that reads and checks them, the Python version, `FORMAT`): any edit is another
  key, so a stale entry is never read.
- It is never needed: no cache folder (QST_NO_CACHE=1, no home), a file that cannot be written or
  read, or one that is not what it should be, and the caller reads its files as it always did.
- Entries are written atomically (a temporary file in the same folder, then a rename), readable by
  the user alone, in the user's cache folder (never next to an input); old entries are pruned.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

#: Bumped when an entry's layout changes.
FORMAT = 1
#: Entries kept per kind; older ones (other versions of the files or of the code) are removed.
KEEP = 8
#: Largest file a key reads: the cached inputs are hand-written lists; a bigger one is read as usual.
MAX_KEY_BYTES = 16 * 1024 * 1024


def cache_dir() -> Path | None:
    """$QST_CACHE_DIR, else $XDG_CACHE_HOME/qst, else ~/.cache/qst; None (no cache) when
    QST_NO_CACHE is set to anything but "" or "0", or there is no home folder."""
    if os.environ.get("QST_NO_CACHE", "") not in ("", "0"):
        return None
    if os.environ.get("QST_CACHE_DIR"):
        return Path(os.environ["QST_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home folder to be found
            return None
    return Path(base) / "qst"


def key(*parts: str | Path) -> str | None:
    """SHA-256 over `parts`: a Path counts by its name and bytes, a str as it is. None when a file
    cannot be read (the caller's own reading then reports it)."""
    h = hashlib.sha256(f"{FORMAT}\0{sys.version}\0".encode())
    try:
        for part in parts:
            if isinstance(part, Path) and not _small_regular_file(part):
                return None  # a FIFO would block and /dev/zero never end: the caller's reading refuses them
            data = part.read_bytes() if isinstance(part, Path) else part.encode()
            label = part.name if isinstance(part, Path) else "str"
            h.update(f"{label}\0{len(data)}\0".encode())
            h.update(data)
    except OSError:
        return None
    return h.hexdigest()


def _small_regular_file(path: Path) -> bool:
    info = os.stat(path)
    return stat.S_ISREG(info.st_mode) and info.st_size <= MAX_KEY_BYTES


def _file(kind: str, digest: str) -> Path | None:
    folder = cache_dir()
    return folder / f"{kind}-{digest[:32]}.json" if folder is not None else None


def read(kind: str, digest: str | None) -> Any:
    """The value stored under `digest`, or None (no entry, an unreadable one, another key inside)."""
    path = _file(kind, digest) if digest else None
    if path is None:
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(entry, dict) or entry.get("key") != digest or entry.get("format") != FORMAT:
            return None
        return entry.get("value")
    except (OSError, ValueError):
        return None


def write(kind: str, digest: str | None, value: Any) -> None:
    """Store `value` (JSON) under `digest`; any failure leaves no file behind and is not an error."""
    path = _file(kind, digest) if digest else None
    if path is None:
        return
    try:
        write_private_json(path, {"format": FORMAT, "key": digest, "value": value})
        entries = sorted(path.parent.glob(f"{kind}-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in entries[KEEP:]:
            stale.unlink(missing_ok=True)
    except (OSError, TypeError, ValueError):
        pass


def write_private_json(path: Path, payload: Any, **dump: Any) -> None:
    """Write `payload` as JSON to `path` atomically, readable by the user alone (folder 0700, file
    0600 as mkstemp makes it): a cache entry is whole or absent, never half written. Raises what
    writing raises (OSError, or TypeError/ValueError for what JSON cannot hold), leaving no file.

    Why not toolkit.fileio.atomic_open: that one gives outputs the umask's mode and imports the
    reading stack, which every process that only reads a cache would pay for at start."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f, ensure_ascii=False, **dump)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def compiled_patterns(kind: str, sources: dict[str, tuple[str, int]]) -> dict[str, Any]:
    """`re.compile(pattern, flags)` of each of `sources` (name -> arguments), from the compiled form
    this cache keeps of exactly these patterns; {} when they do not all compile (the caller's own
    `re.compile` then raises its error for the pattern it names).

    Why: parsing and compiling the lexicon's 29 patterns (hundreds of word forms each) with the
    standard library's pure-Python `re` compiler was 0.15 CPU-s, 0.09 of a one-article `qst extract`,
    every process, for the same patterns. What `re` hands to its C engine (`_sre.compile`: the code
    words, the flags, the groups) is plain data: kept here, keyed by the patterns' text, the Python
    version and the engine's `MAGIC` and `CODESIZE`, it gives the same pattern objects (`==` on
    patterns compares their code; tests/test_lexicon_cache.py) in 0.01 CPU-s. The engine checks the
    code it is given; an entry it refuses, or any other failure, and the patterns are compiled anew."""
    import re

    if cache_dir() is None:
        return {}  # no cache: each pattern compiled on its first use, as without this
    try:
        import _sre
        from re import _compiler, _parser
    except ImportError:  # another Python: nothing cached
        return {}
    digest = key(f"{_sre.MAGIC}\0{_sre.CODESIZE}", json.dumps(sorted((n, p, f) for n, (p, f) in sources.items())))
    entry = read(kind, digest)
    if isinstance(entry, dict) and set(entry) == set(sources):
        try:
            return {n: _sre_pattern(_sre, sources[n][0], *entry[n]) for n in sources}
        except (TypeError, ValueError, RuntimeError, OverflowError):
            pass  # not an entry the engine takes: compiled anew
    try:
        codes = {n: _sre_code(_parser, _compiler, p, f) for n, (p, f) in sources.items()}
        compiled = {n: _sre_pattern(_sre, sources[n][0], *codes[n]) for n in sources}
    except (re.error, TypeError, ValueError, RuntimeError, OverflowError, RecursionError):
        return {}
    write(kind, digest, codes)
    return compiled


def _sre_code(parser: Any, compiler: Any, pattern: str, flags: int) -> list[Any]:
    """What `re._compiler.compile` hands to `_sre.compile` for `pattern`, as JSON-able data."""
    parsed = parser.parse(pattern, flags)
    code = compiler._code(parsed, flags)
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    return [flags | parsed.state.flags, list(code), parsed.state.groups - 1, groupindex, indexgroup]


def _sre_pattern(sre: Any, pattern: str, flags: int, code: list[int], groups: int, groupindex: dict[str, int],
                 indexgroup: list[str | None]) -> Any:
    """The pattern object `re.compile` builds from the same data (re._compiler.compile's last step)."""
    if not (isinstance(flags, int) and isinstance(groups, int) and isinstance(groupindex, dict)
            and all(isinstance(c, int) for c in code)):
        raise TypeError("not a compiled pattern")
    return sre.compile(pattern, flags, code, groups, groupindex, tuple(indexgroup))

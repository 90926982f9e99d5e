"""The patterns the quote rules use now: `LEX`, refilled in place by `use_lexicon` (toolkit.lexicon)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from toolkit.errors import InputError
from toolkit.lexicon.compile import NAME_TOKEN, WB_AFTER, WB_BEFORE, Patterns
from toolkit.lexicon.load import BUNDLED_FILES, LEXICON_DIR, Lexicon, WordList, bundled_lexicon, merge_extra

__all__ = ["BUNDLED_FILES", "LEX", "LEXICON_DIR", "NAME_TOKEN", "WB_AFTER", "WB_BEFORE", "Lexicon", "LivePattern",
           "Patterns", "WordList", "live", "load_lexicon", "patterns", "use_lexicon", "using_lexicon"]


def _key(extra: Sequence[str | Path]) -> tuple[tuple[str, float], ...]:
    """Cache key: the resolved paths and their modification times (an edited file is read again)."""
    out = []
    for p in extra:
        path = Path(p).resolve()
        out.append((str(path), path.stat().st_mtime if path.exists() else 0.0))
    return tuple(out)


@lru_cache(maxsize=8)
def _patterns_cached(key: tuple[tuple[str, float], ...]) -> Patterns:
    lexicon = bundled_lexicon()
    for path, _mtime in key:
        lexicon = merge_extra(lexicon, Path(path))
    compiled = Patterns(lexicon)
    if key:  # a user's lists: compile them all now, so a problem is found before any article is read
        try:
            for name in compiled.pattern_names():
                getattr(compiled, name)
        except re.error as exc:
            raise InputError(f"{', '.join(p for p, _ in key)}: the lists with these entries do not compile "
                             f"into pattern {name} ({exc})") from None
    return compiled


def load_lexicon(extra: Sequence[str | Path] = ()) -> Lexicon:
    """The bundled lists with the entries of `extra` files added (validated; errors name file and line)."""
    return _patterns_cached(_key(extra)).lexicon


def patterns(extra: Sequence[str | Path] = ()) -> Patterns:
    """The compiled patterns of the bundled lists plus `extra` files, built once per set of files."""
    return _patterns_cached(_key(extra))


def _refill(target: Patterns, source: Patterns) -> None:
    """`target` takes `source`'s lists and pattern sources; a pattern `target` had compiled from the
    lists before is dropped (it compiles again from the new source on first use; `re` caches)."""
    new = source.__dict__
    target.__dict__.update(new)
    for name in [k for k in target.__dict__ if k not in new]:
        target.__dict__.pop(name, None)


#: The patterns the rules use; `use_lexicon` refills this object in place.
LEX: Patterns = Patterns.__new__(Patterns)
_refill(LEX, patterns())
_active: list[tuple[str, float]] = []


def use_lexicon(extra: Sequence[str | Path] = ()) -> Patterns:
    """Make the rules use the bundled lists plus `extra` files (no files: the bundled lists alone)."""
    compiled = patterns(extra)
    if LEX.__dict__.get("lexicon") is not compiled.lexicon:  # the same lists: keep what LEX compiled
        _refill(LEX, compiled)
    _active[:] = _key(extra)
    return LEX


@contextmanager
def using_lexicon(extra: Sequence[str | Path]) -> Iterator[Patterns]:
    """`use_lexicon` for a block; the previous lists are back afterwards, also on error."""
    before = [Path(p) for p, _ in _active]
    use_lexicon(extra)
    try:
        yield LEX
    finally:
        use_lexicon(before)


class LivePattern:
    """A module-level name for one pattern of `LEX` that follows `use_lexicon`, for modules that keep
    their patterns as module constants (toolkit.attribution.speakers): `ROLE_THEN_NAME.finditer(…)`."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attr: str) -> object:
        return getattr(getattr(LEX, self.name), attr)

    def __repr__(self) -> str:
        return f"LivePattern({self.name!r})"


def live(name: str) -> LivePattern:
    """`LEX.<name>` as it is whenever it is used."""
    if name not in LEX.__dict__ and name not in LEX.pattern_names():
        raise AttributeError(f"toolkit.lexicon.LEX has no pattern {name!r}")
    return LivePattern(name)

"""Read, validate and merge lexicon files (the German word lists of the quote rules).

The bundled files next to this module define every list; a user file (`qst extract --lexicon
extra.yaml`) adds entries to lists it names, the way `--registry` swaps the speaker registry.
Every error is one line naming the file, the line and the list entry, since a user edits these
files by hand.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit import SCHEMAS_DIR
from toolkit.errors import InputError

if TYPE_CHECKING:  # PyYAML and jsonschema are imported where a file is read and checked
    import yaml

LEXICON_DIR = Path(__file__).resolve().parent
LEXICON_SCHEMA = SCHEMAS_DIR / "lexicon.schema.json"
BUNDLED_FILES = ("cue_verbs.yaml", "konjunktiv.yaml", "source_nouns.yaml", "role_nouns.yaml",
                 "non_speakers.yaml", "adverbs.yaml", "function_words.yaml")

#: (list name, entry index or None) -> 1-based line of that node in its file.
Lines = dict[tuple[str, int | None], int]


def _loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class WordList:
    """One named list: regex alternatives in order, or a set of literal words."""

    name: str
    match: str  # regex | word
    entries: tuple[str, ...]
    frames: tuple[str, ...] = ()
    doc: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lexicon:
    """All lists by name; `alt` and `words` give them in the form the patterns are built from."""

    lists: dict[str, WordList]

    def alt(self, name: str) -> str:
        """The list as one regex alternation, entries in file order (the engine takes the first that matches)."""
        return "|".join(self.lists[name].entries)

    def words(self, name: str) -> frozenset[str]:
        return frozenset(self.lists[name].entries)


def _read_yaml(path: Path) -> tuple[Any, Lines]:
    """The file's data (libyaml when present) and, only when needed for an error, its line map."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder; a lexicon YAML file was expected")
    if not path.is_file():
        raise InputError(f"{path}: lexicon file not found")
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=_loader())  # noqa: S506 - a safe loader
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}{line}: invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    return data, _LazyLines(text)


class _LazyLines(dict):  # type: ignore[type-arg]
    """The line map, composed from the text on first look-up (a valid file never needs it)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text: str | None = text

    def get(self, key, default=None):  # type: ignore[no-untyped-def,override]
        if self._text is not None:
            import yaml

            self.update(_node_lines(yaml.compose(self._text, Loader=_loader())))
            self._text = None
        return super().get(key, default)


def _node_lines(root: yaml.Node | None) -> Lines:
    import yaml

    lines: Lines = {}
    lists = _mapping_value(root, "lists")
    if not isinstance(lists, yaml.MappingNode):
        return lines
    for key, value in lists.value:
        name = str(key.value)
        lines[(name, None)] = key.start_mark.line + 1
        entries = _mapping_value(value, "entries")
        if isinstance(entries, yaml.SequenceNode):
            for i, item in enumerate(entries.value):
                lines[(name, i)] = item.start_mark.line + 1
    return lines


def _mapping_value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if k.value == key), None)


def _where(path: Path, lines: Lines, name: str | None, index: int | None = None) -> str:
    line = lines.get((name, index)) or lines.get((name, None)) if name is not None else None
    at = f"{path}:{line}" if line else str(path)
    if name is None:
        return at
    return f"{at}: list {name!r}" + (f", entry #{index + 1}" if index is not None else "")


def _validate(path: Path, data: Any, lines: Lines) -> None:
    """Schema check (schemas/lexicon.schema.json), then each entry on its own."""
    import jsonschema

    schema = json.loads(LEXICON_SCHEMA.read_text(encoding="utf-8"))
    err = next(iter(sorted(jsonschema.Draft202012Validator(schema).iter_errors(data),
                           key=lambda e: list(map(str, e.absolute_path)))), None)
    if err is not None:
        p = list(err.absolute_path)
        name = str(p[1]) if len(p) >= 2 and p[0] == "lists" else None
        index = p[3] if len(p) >= 4 and p[2] == "entries" and isinstance(p[3], int) else None
        field = "" if index is not None or len(p) <= 2 else f", field {'.'.join(map(str, p[2:]))}"
        raise InputError(f"{_where(path, lines, name, index)}{field}: {err.message}")
    for name, spec in data["lists"].items():
        # One compile per list; only a list that fails is checked entry by entry, to name the entry.
        if spec.get("match") != "word" and _joined_ok(spec["entries"]):
            continue
        for i, entry in enumerate(spec["entries"]):
            _check_entry(path, lines, name, i, entry, spec.get("match"))


def _joined_ok(entries: list[str]) -> bool:
    try:
        return re.compile("(?:" + "|".join(entries) + ")").groups == 0 and all("\\" != e[-1:] for e in entries)
    except re.error:
        return False


def _check_entry(path: Path, lines: Lines, name: str, i: int, entry: str, match: str | None) -> None:
    if match == "word":
        if re.search(r"\s", entry):
            raise InputError(f"{_where(path, lines, name, i)}: {entry!r}: a word list takes single words")
        return
    try:
        compiled = re.compile(entry)
    except re.error as exc:
        raise InputError(f"{_where(path, lines, name, i)}: {entry!r} is not a regular expression ({exc})") from None
    if compiled.groups:
        raise InputError(f"{_where(path, lines, name, i)}: {entry!r} has a capturing group; write (?:…)")


def read_lexicon_file(path: Path) -> tuple[dict[str, Any], Lines]:
    """One validated lexicon file and its line map."""
    data, lines = _read_yaml(path)
    _validate(path, data, lines)
    return data, lines


def _read_bundled() -> Lexicon:
    """The bundled files, read and validated (each list is defined in exactly one of them)."""
    lists: dict[str, WordList] = {}
    for fname in BUNDLED_FILES:
        path = LEXICON_DIR / fname
        data, lines = read_lexicon_file(path)
        for name, spec in data["lists"].items():
            if name in lists:
                raise InputError(f"{_where(path, lines, name)}: already defined in {lists[name].sources[0]}")
            if "match" not in spec:
                raise InputError(f"{_where(path, lines, name)}: a bundled list needs 'match' (regex or word)")
            lists[name] = WordList(name, spec["match"], tuple(spec["entries"]), tuple(spec.get("frames", ())),
                                   spec.get("doc", ""), (str(path),))
    return Lexicon(lists)


def bundled_lexicon() -> Lexicon:
    """The lists shipped with the toolkit, from the cache (toolkit.cache) when it holds them for these
    very files, else read and validated, and then cached. Why a cache: reading the YAML and checking
    it with jsonschema (whose import alone is most of it) was a sixth of a one-article `qst extract`.
    The key covers this module's code (how files are read and checked), the schema, and every bundled
    file's path and bytes."""
    from toolkit import cache

    key = cache.key(str(LEXICON_DIR), Path(__file__), LEXICON_SCHEMA, *(LEXICON_DIR / f for f in BUNDLED_FILES))
    cached = _from_cache(cache.read("lexicon", key))
    if cached is not None:
        return cached
    lexicon = _read_bundled()
    cache.write("lexicon", key, {n: {"match": w.match, "entries": list(w.entries), "frames": list(w.frames),
                                     "doc": w.doc, "sources": list(w.sources)} for n, w in lexicon.lists.items()})
    return lexicon


def _from_cache(value: Any) -> Lexicon | None:
    """The lists of a cache entry, or None if it is not the shape the cache writes."""
    if not isinstance(value, dict):
        return None
    lists = {}
    try:
        for name, w in value.items():
            if not (_strings([name, w["match"], w["doc"]]) and all(_strings(w[k]) for k in ("entries", "frames", "sources"))):
                return None
            lists[name] = WordList(name, w["match"], tuple(w["entries"]), tuple(w["frames"]), w["doc"], tuple(w["sources"]))
    except (KeyError, TypeError):
        return None
    return Lexicon(lists)


def _strings(values: Any) -> bool:
    return isinstance(values, list) and all(isinstance(v, str) for v in values)


def merge_extra(base: Lexicon, path: Path) -> Lexicon:
    """Entries of a user file appended to the lists it names (after the bundled ones, duplicates dropped)."""
    data, lines = read_lexicon_file(path)
    lists = dict(base.lists)
    for name, spec in data["lists"].items():
        if name not in lists:
            known = ", ".join(sorted(lists))
            raise InputError(f"{_where(path, lines, name)}: no such list (known: {known})")
        old = lists[name]
        if spec.get("match", old.match) != old.match:
            raise InputError(f"{_where(path, lines, name)}: match {spec['match']!r}, but the list is {old.match!r}")
        for i, entry in enumerate(spec["entries"]):
            _check_entry(path, lines, name, i, entry, old.match)
        added = tuple(dict.fromkeys(e for e in spec["entries"] if e not in old.entries))
        lists[name] = WordList(name, old.match, old.entries + added, old.frames, old.doc, old.sources + (str(path),))
    return Lexicon(lists)

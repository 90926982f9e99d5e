"""Guards for hostile input files, shared by every reader of user input.

Each guard turns a file that would crash Python, hang the process or silently change data
into one :class:`~toolkit.errors.InputError` naming the file (and line or field), so the CLI
prints one line and exits 2. docs/GUARANTEES.md ("Hostile input") lists them with their tests.

- :func:`require_file` / :func:`require_folder`: a FIFO or device would block ``open()``
  forever and a folder where a file is expected gives ``IsADirectoryError``; both are refused
  from ``os.stat`` before anything is opened.
- :func:`loads_json`: valid JSON that Python cannot take (integers over 4,300 digits, nesting
  deeper than the recursion limit, lone surrogates ``"\\ud800"`` that no UTF-8 writer accepts).
- :func:`load_yaml`: PyYAML's safe loader expands aliases before any validation (a 410-byte
  "billion laughs" file takes 44 s and 1.4 GB); ours refuses anchors and aliases outright,
  caps the file size, keeps dates as strings (``2012-13-45`` is reported by the schema, not
  raised as ``ValueError`` by the loader) and names file:line.
- :func:`csv_reader` / :func:`csv_delimiter`: one CSV dialect for every CSV reader: records
  end only at ``\\r``/``\\n`` (never at ``\\x0c \\x1c \\x85 \\u2028``, which ``str.splitlines``
  treats as line ends), an unterminated quote is an error (``strict``), fields may hold up to
  :data:`CSV_FIELD_LIMIT` characters, and a ``;``- or tab-separated file (German Excel) is read
  with the delimiter its header line uses.
"""

from __future__ import annotations

import csv
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any


from toolkit.errors import InputError

#: Longest CSV field accepted (characters). Python's default, 131,072, is shorter than a long
#: article; 64 Mi characters is far above any article yet still stops an unclosed quote from
#: swallowing a multi-GB file into one field.
CSV_FIELD_LIMIT = 64 * 1024 * 1024
csv.field_size_limit(CSV_FIELD_LIMIT)

#: Largest YAML file read (registry, Label Studio settings, card side files): they are hand-written
#: lists of a few hundred entries; a bigger file is a mistake, not a registry.
MAX_YAML_BYTES = 8 * 1024 * 1024

_KINDS = [(stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def require_file(path: str | Path, what: str = "input file") -> Path:
    """Refuse a missing path, a folder, a FIFO or a device before it is opened (a FIFO would block)."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{path}: is a folder; {what} expected here")
    if not stat.S_ISREG(mode):
        raise InputError(f"{path}: is {_kind(mode)}, not a regular file; {what} expected here")
    return path


def require_folder(path: str | Path, what: str = "input folder") -> Path:
    """Refuse a missing path or anything but a folder where a folder is expected."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(f"{path}: no such folder") from None
    if not stat.S_ISDIR(mode):
        raise InputError(f"{path}: is {'a file' if stat.S_ISREG(mode) else _kind(mode)}; {what} expected here")
    return path


def require_file_or_folder(path: str | Path, what: str = "input") -> Path:
    """A path that may be a file or a folder (a table, a corpus): refuse FIFOs, devices, absence."""
    path = Path(path)
    if path.is_dir():
        return path
    return require_file(path, what)


def check_tree(files: Iterable[Path]) -> Iterator[Path]:
    """Regular files of a folder listing; a FIFO or device among them is refused, not opened."""
    for p in files:
        if p.is_dir():
            continue
        yield require_file(p)


# ------------------------------------------------------------------------------------------ JSON

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}")
_LONG_INT = re.compile(r"\d{4301,}")


def _line_of(text: str, pos: int, first_line: int) -> int:
    return first_line + text.count("\n", 0, pos)


def _at(where: str, text: str, match: re.Match[str] | None, first_line: int | None) -> str:
    """`where`, plus the line of `match` when reading a whole file (first_line given)."""
    if first_line is None or match is None:
        return where
    return f"{where}:{_line_of(text, match.start(), first_line)}"


def _lone_surrogate(obj: Any) -> str | None:
    """The first string (key or value) holding a lone surrogate; iterative (no recursion limit)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any("\ud800" <= ch <= "\udfff" for ch in item):
                return next(ch for ch in item if "\ud800" <= ch <= "\udfff")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def loads_json(text: str, where: str, first_line: int | None = None) -> Any:
    """json.loads, with every way valid JSON can still break Python reported as InputError.

    `where` names the record (``file:line`` for a JSONL line). For a whole file pass
    ``first_line=1``: the message then adds the line of the problem.
    """
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        loc = f"{where}:{exc.lineno}" if first_line is not None else where
        raise InputError(f"{loc}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise InputError(f"{where}: unreadable JSON: brackets nested too deeply for Python "
                         "(more than about 1,000 levels)") from None
    except ValueError:  # int() refuses more than sys.get_int_max_str_digits() digits
        loc = _at(where, text, _LONG_INT.search(text), first_line)
        raise InputError(f"{loc}: unreadable JSON: a number with more than 4,300 digits") from None
    if _SURROGATE_ESCAPE.search(text):
        ch = _lone_surrogate(obj)
        if ch is not None:
            needle = re.compile(re.escape(f"\\u{ord(ch):04x}"), re.IGNORECASE)
            loc = _at(where, text, needle.search(text), first_line)
            raise InputError(f"{loc}: unreadable JSON: lone surrogate \\u{ord(ch):04x} in a string "
                             "(not Unicode text; it cannot be written as UTF-8)")
    return obj


def read_json_file(path: str | Path, what: str = "JSON file") -> Any:
    """A whole JSON file of user input: regular file, UTF-8, and :func:`loads_json`."""
    path = require_file(path, what)
    return loads_json(decode_utf8(path.read_bytes(), str(path)), str(path), first_line=1)


def decode_utf8(data: bytes, where: str) -> str:
    """Strict UTF-8 (a BOM is dropped); the error names the byte offset and line."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        pos = start + exc.start
        line = data.count(b"\n", 0, pos) + 1
        raise InputError(f"{where}:{line}: not UTF-8 at byte {pos} ({data[pos:pos + 4]!r}); "
                         "convert it first, e.g. iconv -f latin1 -t utf-8") from None


# ------------------------------------------------------------------------------------------ YAML

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


@lru_cache(maxsize=1)
def _no_alias_loader() -> type:
    """SafeLoader that refuses anchors and aliases (the alias bomb) and keeps dates as strings.
    Built on first use, so that importing this module (every `qst` command does) costs no YAML import."""
    import yaml

    class _NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                mark = event.start_mark
                kind = "alias *" if isinstance(event, yaml.AliasEvent) else "anchor &"
                raise InputError(f"{self.name}:{mark.line + 1}: YAML {kind}{event.anchor} is not allowed "
                                 "(anchors and aliases are refused; write the value out)")
            return super().compose_node(parent, index)

    _NoAliasLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _NoAliasLoader.add_constructor(_TIMESTAMP, lambda loader, node: loader.construct_scalar(node))
    return _NoAliasLoader


def load_yaml(path: str | Path, what: str = "YAML file", max_bytes: int = MAX_YAML_BYTES) -> Any:
    """The one loader for YAML (and JSON) files of user input; every problem is one InputError."""
    path = require_file(path, what)
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(f"{path}: {size:,} bytes; a {what} may have at most {max_bytes:,}")
    text = decode_utf8(path.read_bytes(), str(path))
    import yaml

    loader = _no_alias_loader()(text)
    loader.name = str(path)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}{line}: invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    except RecursionError:
        raise InputError(f"{path}: invalid YAML (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer over 4,300 digits
        raise InputError(f"{path}: invalid YAML value ({exc})") from None
    finally:
        loader.dispose()


# ------------------------------------------------------------------------------------------- CSV

def csv_delimiter(header_line: str) -> str:
    """The delimiter of a CSV file, from its header line: ',' unless the header has none and uses ';' or tab.

    Only the header decides (column names hold no delimiters), so a comma CSV whose texts are
    full of semicolons is never misread, as csv.Sniffer on sample rows could.
    """
    if "," in header_line:
        return ","
    for delim in (";", "\t"):
        if delim in header_line:
            return delim
    return ","


def csv_reader(lines: Iterable[str], delimiter: str = ",") -> Iterator[list[str]]:
    """csv.reader with the toolkit's one dialect: strict (an unclosed quote is an error)."""
    return csv.reader(lines, delimiter=delimiter, strict=True)


def csv_problem(exc: csv.Error, where: str) -> InputError:
    """A csv.Error as a one-line InputError that says what to look for."""
    msg = str(exc)
    if "unexpected end of data" in msg:
        return InputError(f"{where}: CSV quoted field opened in the record starting here is never closed")
    if "field larger than field limit" in msg:
        return InputError(f"{where}: CSV field longer than {CSV_FIELD_LIMIT:,} characters "
                          "(an unclosed quote?)")
    return InputError(f"{where}: CSV cannot be parsed ({msg})")


class LineFeed:
    """Feeds byte lines of a file, decoded, to csv.reader while counting bytes and lines consumed.

    Lines end only at b"\\n" (so \\x0c, \\x1c, \\x85 and \\u2028 stay inside their field, as in
    every spreadsheet). csv.reader pulls exactly the lines one record needs, so after each
    record `offset` is the byte where the next record starts: that makes CSV records (which may
    span lines) seekable. Undecodable bytes become surrogates, reported per record by the caller.
    """

    def __init__(self, fh: Any, offset: int, end: int | None, lineno: int) -> None:
        self.fh, self.offset, self.end, self.lineno = fh, offset, end, lineno

    def __iter__(self) -> LineFeed:
        return self

    def __next__(self) -> str:
        if self.end is not None and self.offset >= self.end:
            raise StopIteration
        raw = self.fh.readline()
        if not raw:
            raise StopIteration
        self.offset += len(raw)
        self.lineno += 1
        return raw.decode("utf-8", errors="surrogateescape")


def csv_rows(feed: LineFeed, path: str | Path, delimiter: str = ",") -> Iterator[tuple[int, int, list[str]]]:
    """(first line, first byte, fields) of each non-blank CSV record; a parse error is an InputError."""
    reader = csv_reader(feed, delimiter)
    while True:
        first_line, first_byte = feed.lineno + 1, feed.offset
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise csv_problem(exc, f"{path}:{first_line}") from None
        if row:
            yield first_line, first_byte, row


def csv_header(fh: Any, path: str | Path) -> tuple[list[str], str, LineFeed]:
    """Header fields, delimiter and the feed positioned after the header (a UTF-8 BOM is skipped).

    Refuses an empty file and a header without `id` and `text` (the article readers' contract).
    """
    start = 3 if fh.read(3) == b"\xef\xbb\xbf" else 0
    fh.seek(start)
    first = fh.readline().decode("utf-8", errors="replace")
    fh.seek(start)
    if not first.strip():
        raise InputError(f"{path}:1: empty CSV file or blank header line")
    delimiter = csv_delimiter(first)
    feed = LineFeed(fh, start, None, 0)
    header = next((row for _, _, row in csv_rows(feed, path, delimiter)), None)
    if not header or "id" not in header or "text" not in header:
        raise InputError(f"{path}:1: CSV header must have 'id' and 'text' columns (found {header})")
    return header, delimiter, feed

"""The cache of checked inputs (toolkit.cache): the validated bundled lists (toolkit.lexicon.load)
and a validated speaker registry (toolkit.attribution.speakers) kept between runs.

It must give exactly what reading the files gives, never serve a stale or damaged entry, and never
be needed: a cache that cannot be written or read is no error. Each test points it at its own
folder and, where it edits the lists, at a copy of the bundled files.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit import ANNOTATIONS_DIR
from toolkit import cache as qcache
from toolkit.attribution import speakers
from toolkit.errors import InputError
from toolkit.lexicon import load


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("QST_CACHE_DIR", str(folder))
    monkeypatch.delenv("QST_NO_CACHE", raising=False)
    return folder


@pytest.fixture()
def lexdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled files that the loader reads instead of the package's."""
    copy = tmp_path / "lexicon"
    copy.mkdir()
    for name in load.BUNDLED_FILES:
        shutil.copy(load.LEXICON_DIR / name, copy / name)
    monkeypatch.setattr(load, "LEXICON_DIR", copy)
    return copy


def _fresh(monkeypatch: pytest.MonkeyPatch) -> load.Lexicon:
    with monkeypatch.context() as m:
        m.setenv("QST_NO_CACHE", "1")
        return load.bundled_lexicon()


def test_a_cached_read_is_the_read_of_the_files(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load.bundled_lexicon()
    files = list(cache.glob("lexicon-*.json"))
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert not list(cache.glob(".*.tmp"))  # written through a temporary file, none left over
    fresh = _fresh(monkeypatch)

    def no_reading() -> load.Lexicon:
        raise AssertionError("the files were read although the cache holds them")

    monkeypatch.setattr(load, "_read_bundled", no_reading)
    assert load.bundled_lexicon() == first == fresh


def test_an_edited_bundled_file_is_read_again(cache: Path, lexdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "polterte" not in load.bundled_lexicon().lists["speech_verbs"].entries
    path = lexdir / "cue_verbs.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("      - 'gesagt'\n", "      - 'gesagt'\n      - 'polterte'\n", 1),
                    encoding="utf-8")
    edited = load.bundled_lexicon()
    assert edited.lists["speech_verbs"].entries[2] == "polterte"
    assert edited == _fresh(monkeypatch)
    assert len(list(cache.glob("lexicon-*.json"))) == 2  # one entry per version of the files


def test_a_broken_bundled_file_is_reported_not_served_from_the_cache(cache: Path, lexdir: Path) -> None:
    load.bundled_lexicon()
    path = lexdir / "cue_verbs.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("'gesagt'", "'ge(sagt'", 1), encoding="utf-8")
    with pytest.raises(InputError, match=r"cue_verbs\.yaml:\d+: list 'speech_verbs', entry #2: 'ge\(sagt' is not a regular"):
        load.bundled_lexicon()


@pytest.mark.parametrize("damage", ["not json{", json.dumps({"format": 1, "key": "x", "value": {}}), "ENTRIES"])
def test_a_damaged_cache_file_is_ignored_and_replaced(cache: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    good = load.bundled_lexicon()
    (path,) = cache.glob("lexicon-*.json")
    if damage == "ENTRIES":  # the right key, a wrong shape
        data = json.loads(path.read_text(encoding="utf-8"))
        data["value"]["speech_verbs"]["entries"] = 5
        damage = json.dumps(data)
    path.write_text(damage, encoding="utf-8")
    assert load.bundled_lexicon() == good
    assert load.bundled_lexicon() == good  # and the rewritten file is read back
    assert json.loads(path.read_text(encoding="utf-8"))["value"]["speech_verbs"]["entries"][0] == "sagt(?:e|en)?"


def test_no_cache_folder_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("QST_CACHE_DIR", str(blocker / "cache"))  # cannot be created, even by root
    assert load.bundled_lexicon() == _fresh(monkeypatch)
    monkeypatch.setenv("QST_CACHE_DIR", str(tmp_path / "off"))
    monkeypatch.setenv("QST_NO_CACHE", "1")
    load.bundled_lexicon()
    assert not (tmp_path / "off").exists()


def test_old_entries_are_pruned(cache: Path, lexdir: Path) -> None:
    path = lexdir / "adverbs.yaml"
    text = path.read_text(encoding="utf-8")
    for i in range(qcache.KEEP + 3):
        path.write_text(text + f"\n# version {i}\n", encoding="utf-8")
        load.bundled_lexicon()
    assert len(list(cache.glob("lexicon-*.json"))) == qcache.KEEP


REGISTRY = """version: 1
speakers:
  - id: anna_muster
    name: Anna Muster
    kind: person
    roles:
      - {title: Ministerin, patterns: [Ministerin], start: 2020-01-01}
  - id: bert_beispiel
    name: Bert Beispiel
    kind: person
    roles:
      - {title: Minister, patterns: [Ministerin], start: 2021-01-01}
"""


def _load(path: Path) -> speakers.Registry:
    speakers._load_registry_cached.cache_clear()  # a new process, as far as the registry goes
    return speakers.load_registry(path)


def test_a_registry_is_cached_and_an_edit_is_read(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "reg.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    first = _load(path)
    assert len(list(cache.glob("registry-*.json"))) == 1

    def no_yaml(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was parsed although the cache holds it")

    monkeypatch.setattr(speakers, "load_yaml", no_yaml)
    caplog.clear()
    again = _load(path)
    assert again == first and again.speakers["anna_muster"].roles[0].start.isoformat() == "2020-01-01"
    assert "Ministerin" in caplog.text  # the overlapping-roles warning also on a cache hit
    monkeypatch.undo()
    monkeypatch.setenv("QST_CACHE_DIR", str(cache))
    path.write_text(REGISTRY.replace("Anna Muster", "Anna Mustermann"), encoding="utf-8")
    assert _load(path).speakers["anna_muster"].name == "Anna Mustermann"


def test_a_damaged_registry_entry_is_ignored(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "reg.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    good = _load(path)
    (entry,) = cache.glob("registry-*.json")
    data = json.loads(entry.read_text(encoding="utf-8"))
    data["value"]["speakers"][0]["name"] = 5
    entry.write_text(json.dumps(data), encoding="utf-8")
    assert _load(path) == good
    entry.write_text(json.dumps({**data, "value": {"speakers": [{"id": "x"}]}}), encoding="utf-8")
    assert _load(path) == good


def test_user_lists_that_do_not_compile_together_are_one_error_before_any_output(tmp_path: Path) -> None:
    """An entry valid alone ("(?i)…" at its own start) that cannot stand inside the joined pattern:
    the bundled patterns compile on first use, a user's lists all at once, so this is found before
    an article is read and is one `error:` line, not a traceback halfway through."""
    extra = tmp_path / "x.yaml"
    extra.write_text('lists:\n  speech_verbs:\n    entries:\n      - "(?i)polterte"\n', encoding="utf-8")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "extract", str(ANNOTATIONS_DIR / "articles"),
                           "--lexicon", str(extra), "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {extra}: the lists with these entries do not compile into pattern SPEECH_VERB (global flags not "
        "at the start of the expression at position " + proc.stderr.split("position ")[1].strip()]
    assert not out.exists()


def test_compiled_patterns_from_the_cache_are_the_patterns_re_compiles(cache: Path) -> None:
    """The lexicon's patterns kept in compiled form (toolkit.cache.compiled_patterns): the same pattern
    objects as `re.compile` (`==` compares flags, pattern text and the engine's code), and matching
    alike on real text; a damaged entry, one the engine refuses, and no cache give them too."""
    import re

    from toolkit.lexicon.compile import Patterns

    sources = dict(Patterns(load.bundled_lexicon())._sources)
    fresh = {n: re.compile(*s) for n, s in sources.items()}
    text = (ANNOTATIONS_DIR / "articles").glob("*.txt").__next__().read_text(encoding="utf-8")
    first = qcache.compiled_patterns("patterns", sources)  # compiled, and stored
    (entry,) = cache.glob("patterns-*.json")
    second = qcache.compiled_patterns("patterns", sources)  # from the entry
    for got in (first, second):
        assert got == fresh
        assert all([m.span() for m in got[n].finditer(text)] == [m.span() for m in fresh[n].finditer(text)] for n in fresh)
    data = json.loads(entry.read_text(encoding="utf-8"))
    name = next(iter(data["value"]))
    data["value"][name][1] = [999999] * 5  # code the engine refuses
    entry.write_text(json.dumps(data), encoding="utf-8")
    assert qcache.compiled_patterns("patterns", sources) == fresh
    entry.write_text("{damaged", encoding="utf-8")
    assert qcache.compiled_patterns("patterns", sources) == fresh
    bad = {**sources, "BROKEN": ("(unclosed", 0)}
    assert qcache.compiled_patterns("patterns", bad) == {}  # then each compiles (and fails) on its own
    patterns = Patterns(load.bundled_lexicon())
    assert all(getattr(patterns, n) == fresh[n] for n in fresh)


def test_no_cache_no_compiled_patterns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QST_NO_CACHE", "1")
    assert qcache.compiled_patterns("patterns", {"A": ("a+", 0)}) == {}

"""Hostile input files for the ingest, table and registry readers, tried through the real `qst`.

Each refusal runs `qst` in a child process on real files in tmp_path and asserts exit 2, exactly
one `error:` line naming the file (and line or field), no traceback, and that every file that
existed before is byte-for-byte unchanged (docs/GUARANTEES.md, "Hostile input").
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import pandas as pd
import pytest

from test_guarantees import ROOT, SEEDS, assert_refused, qst, snapshot
from toolkit.errors import InputError
from toolkit.inputs import load_yaml

HUB = ROOT / "tests" / "fixtures" / "hub"
GOOD = {"id": "a1", "text": "„Wir sind bereit“, sagte Miller.", "date": "2024-01-10"}


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def refused(tmp_path: Path, *args: str | Path, needles: tuple[str, ...]) -> str:
    """Run qst, assert the refusal and that every file in tmp_path before is unchanged; return the
    error line. (A stopped `extract-corpus` may leave its own new manifest, to resume from.)"""
    before = snapshot(tmp_path)
    proc = qst(*args)
    assert_refused(proc, *needles)
    after = snapshot(tmp_path)
    assert {name: after.get(name) for name in before} == before
    return next(ln for ln in proc.stderr.splitlines() if ln.startswith("error:"))


def quotes_of(folder: Path) -> list[dict]:
    """Quote records of `qst extract` (quotes.jsonl) or `qst extract-corpus --jsonl` (parts)."""
    files = [folder / "quotes.jsonl"] if (folder / "quotes.jsonl").exists() else sorted(folder.glob("quotes-part-*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]


# ------------------------------------------------------------------ JSON that Python cannot take

BAD_JSON = {
    "lone_surrogate": '{"id": "a2", "text": "\\ud800 sagte er."}',
    "long_integer": '{"id": "a2", "text": "x", "n": ' + "7" * 5000 + "}",
    "deep_nesting": '{"id": "a2", "text": "x", "n": ' + "[" * 100_000 + "]" * 100_000 + "}",
}


@pytest.mark.parametrize("kind", sorted(BAD_JSON))
def test_json_python_cannot_take_is_one_error_naming_file_and_line(tmp_path, kind):
    src = write_jsonl(tmp_path / "articles.jsonl", [json.dumps(GOOD, ensure_ascii=False), BAD_JSON[kind]])
    refused(tmp_path, "extract", src, "--out", tmp_path / "q", needles=(f"{src}:2", "unreadable JSON"))
    # extract-corpus names the same line; a lone surrogate it reports as the field that holds it
    corpus_says = "lone surrogate" if kind == "lone_surrogate" else "unreadable JSON"
    refused(tmp_path, "extract-corpus", src, "--out", tmp_path / "c", needles=(f"{src}:2", corpus_says))
    # --skip-bad: the record is skipped and reported, the good one is extracted.
    proc = qst("extract", src, "--out", tmp_path / "q", "--skip-bad")
    assert proc.returncode == 0, proc.stderr
    assert f"skipped: {src}:2: unreadable JSON" in proc.stderr.replace("\n", " ")
    assert {r["article_id"] for r in quotes_of(tmp_path / "q")} == {"a1"}


def test_label_studio_export_with_json_python_cannot_take_names_the_line(tmp_path):
    export = tmp_path / "export.json"
    export.write_text('[\n{"id": 1,\n "n": ' + "9" * 5000 + "}\n]\n", encoding="utf-8")
    refused(tmp_path, "import", export, "--out", tmp_path / "ann", needles=(f"{export}:3", "4,300 digits"))


# ------------------------------------------------------------------ the shared table reader


def _annotations(tmp_path: Path, delimiter: str) -> Path:
    df = pd.read_json(HUB / "annotations.jsonl", lines=True)
    path = tmp_path / f"annotations{'_semicolon' if delimiter == ';' else ''}.csv"
    df.to_csv(path, index=False, sep=delimiter)
    return path


@pytest.mark.parametrize("case", ["broken_parquet", "empty_csv", "unterminated_quote", "more_fields_than_header",
                                  "latin1_csv", "folder_for_file"])
def test_table_reader_refuses_broken_tables(tmp_path, case):
    if case == "broken_parquet":
        table = tmp_path / "ann.parquet"
        table.write_bytes(b"PAR1 this is not parquet")
        needles = (str(table), "not a readable Parquet file")
    elif case == "empty_csv":
        table = tmp_path / "ann.csv"
        table.write_bytes(b"")
        needles = (str(table), "empty CSV")
    elif case == "unterminated_quote":
        table = tmp_path / "ann.csv"
        table.write_text('quote_id,annotator,stance\nq1,a,favor\nq2,b,"favor\nq3,c,against\n', encoding="utf-8")
        needles = (f"{table}:3", "never closed")
    elif case == "more_fields_than_header":
        table = tmp_path / "ann.csv"
        table.write_text("quote_id,annotator,stance\nq1,a,favor,extra\n", encoding="utf-8")
        needles = (str(table), "more fields than the header")
    elif case == "latin1_csv":
        table = tmp_path / "ann.csv"
        table.write_bytes("quote_id,annotator,stance\nq1,Jürgen,favor\n".encode("latin-1"))
        needles = (f"{table}:2", "not UTF-8 at byte 30")
    else:
        table = tmp_path / "ann.parquet"
        table.mkdir()
        (table / "notes.txt").write_text("not parquet\n")
        needles = (str(table), "folder holds no .parquet files")
    refused(tmp_path, "agreement", table, "--out", tmp_path / "ag", needles=needles)


def test_semicolon_csv_is_read_with_its_delimiter(tmp_path):
    """German Excel writes ';'-separated CSV: the header line decides the delimiter (documented)."""
    outs = {}
    for delim in (",", ";"):
        out = tmp_path / f"ag{delim == ';'}"
        proc = qst("agreement", _annotations(tmp_path, delim), "--out", out)
        assert proc.returncode == 0, proc.stderr
        outs[delim] = pd.read_parquet(out / "adjudicated.parquet")
    assert len(outs[","]) > 0
    pd.testing.assert_frame_equal(outs[","], outs[";"])


def test_csv_field_longer_than_pythons_default_limit_is_read(tmp_path):
    long_text = "„Wir sind bereit“, sagte Miller. " + "Weiterer Text ohne Zitat. " * 6000   # > 131,072 chars
    assert len(long_text) > 131_072
    src = tmp_path / "long.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["id", "text"], ["long1", long_text]])
    for cmd, out in (("extract", tmp_path / "q"), ("extract-corpus", tmp_path / "c")):
        proc = qst(cmd, src, "--out", out, *(["--jsonl"] if cmd == "extract-corpus" else []))
        assert proc.returncode == 0, proc.stderr
        assert [r["article_id"] for r in quotes_of(out)] == ["long1"]


# ------------------------------------------------------------------ the speaker registry (YAML)

REGISTRY_ENTRY = "speakers:\n  - id: anna_berg\n    name: {name}\n    kind: person\n"


@pytest.mark.parametrize("case", ["invalid_date", "latin1", "folder", "fifo"])
def test_registry_problems_are_one_error_naming_file_and_place(tmp_path, case):
    reg = tmp_path / "speakers.yaml"
    if case == "invalid_date":
        reg.write_text(REGISTRY_ENTRY.format(name="Anna Berg") +
                       "    roles:\n      - {title: Sprecherin, patterns: [Sprecherin], start: 2012-13-45}\n")
        needles = (str(reg), "speaker #1 (id 'anna_berg')", "roles.0.start", "2012-13-45")
    elif case == "latin1":
        reg.write_bytes(REGISTRY_ENTRY.format(name="Jürgen Berg").encode("latin-1"))
        needles = (f"{reg}:3", "not UTF-8 at byte 39")
    elif case == "folder":
        reg.mkdir()
        needles = (str(reg), "is a folder")
    else:
        os.mkfifo(reg)
        needles = (str(reg), "FIFO", "not a regular file")
    refused(tmp_path, "extract", SEEDS, "--registry", reg, "--out", tmp_path / "q", needles=needles)


def _alias_bomb(path: Path) -> Path:
    """The classic 'billion laughs': nine levels of nine aliases each (9**9 strings once expanded)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghi"
    for prev, name in zip(names, names[1:]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append("speakers: *i")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_yaml_alias_bomb_is_refused_at_once(tmp_path):
    bomb = _alias_bomb(tmp_path / "bomb.yaml")
    assert len(bomb.read_bytes()) < 500
    t0 = time.process_time()
    with pytest.raises(InputError, match=r"bomb.yaml:1: YAML anchor &a is not allowed"):
        load_yaml(bomb)
    assert time.process_time() - t0 < 0.1   # the expansion alone takes 44 s and 1.4 GB
    # The same loader serves the registry and the dataset card's side files.
    refused(tmp_path, "extract", SEEDS, "--registry", bomb, "--out", tmp_path / "q",
            needles=(f"{bomb}:1", "anchors and aliases are refused"))
    refused(tmp_path, "build-dataset", "--quotes", HUB / "quotes.jsonl", "--adjudicated", HUB / "adjudicated.jsonl",
            "--annotators", bomb, "--out", tmp_path / "ds", needles=(f"{bomb}:1", "anchors and aliases are refused"))


def test_overlapping_role_patterns_of_two_speakers_warn_at_load(tmp_path):
    reg = tmp_path / "speakers.yaml"
    reg.write_text(
        "speakers:\n"
        "  - {id: anna_berg, name: Anna Berg, kind: person, roles: [{title: Sprecherin,\n"
        "     patterns: [Regierungssprecherin], start: 2020-01-01, end: 2022-12-31}]}\n"
        "  - {id: bea_kurz, name: Bea Kurz, kind: person, roles: [{title: Sprecherin,\n"
        "     patterns: [Regierungssprecherin], start: 2022-06-01}]}\n")
    proc = qst("extract", SEEDS, "--registry", reg, "--out", tmp_path / "q")
    assert proc.returncode == 0, proc.stderr
    warning = " ".join(proc.stderr.split())
    assert "'Regierungssprecherin' belongs to both 'anna_berg' (2020-01-01 to 2022-12-31) and 'bea_kurz'" in warning


# ------------------------------------------------------------------ FIFOs and devices


@pytest.mark.parametrize("where", ["articles_jsonl", "txt_in_folder", "table", "corpus"])
def test_a_fifo_as_input_is_refused_not_waited_on(tmp_path, where):
    if where == "txt_in_folder":
        folder = tmp_path / "articles"
        folder.mkdir()
        (folder / "a.txt").write_text("„Wir sind bereit“, sagte Miller.\n", encoding="utf-8")
        fifo = folder / "b.txt"
        os.mkfifo(fifo)
        args: tuple = ("extract", folder, "--out", tmp_path / "q")
    else:
        fifo = tmp_path / ("ann.csv" if where == "table" else "articles.jsonl")
        os.mkfifo(fifo)
        args = {"articles_jsonl": ("extract", fifo, "--out", tmp_path / "q"),
                "table": ("agreement", fifo, "--out", tmp_path / "ag"),
                "corpus": ("extract-corpus", fifo, "--out", tmp_path / "c")}[where]
    refused(tmp_path, *args, needles=(str(fifo), "FIFO", "not a regular file"))


def test_a_device_as_registry_is_refused(tmp_path):
    refused(tmp_path, "extract", SEEDS, "--registry", "/dev/zero", "--out", tmp_path / "q",
            needles=("/dev/zero", "character device"))


# ------------------------------------------------------------------ article dates


def test_german_and_iso_dates_are_normalised_and_decide_roles(tmp_path):
    text = "Der NATO-Generalsekretär sagte: „Die Allianz steht geschlossen hinter ihren Mitgliedern.“"
    arts = [{"id": "old", "text": text, "date": "1. März 2020"},       # Stoltenberg in office
            {"id": "new", "text": text, "date": "01.03.2025"},         # after his term
            {"id": "slash", "text": text, "date": "2025/03/01"},
            {"id": "stamp", "text": text, "date": "2020-03-01T10:00:00Z"},
            {"id": "vague", "text": text, "date": "gestern"}]
    src = write_jsonl(tmp_path / "articles.jsonl", [json.dumps(a, ensure_ascii=False) for a in arts])
    for cmd, out in (("extract", tmp_path / "q"), ("extract-corpus", tmp_path / "c")):
        proc = qst(cmd, src, "--out", out, *(["--jsonl"] if cmd == "extract-corpus" else []))
        assert proc.returncode == 0, proc.stderr
        recs = {r["article_id"]: r for r in quotes_of(out)}
        assert {k: r["article_date"] for k, r in recs.items()} == {
            "old": "2020-03-01", "new": "2025-03-01", "slash": "2025-03-01", "stamp": "2020-03-01", "vague": None}
        assert recs["old"]["speaker_id"] == recs["stamp"]["speaker_id"] == "jens_stoltenberg"
        assert recs["new"]["speaker_id"] is None and recs["slash"]["speaker_id"] is None
        stderr = " ".join(proc.stderr.split())
        assert f"{src}:5: article 'vague': date 'gestern' cannot be read" in stderr


# ------------------------------------------------------------------ duplicate article ids


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "txt_folder"])
def test_duplicate_article_ids_are_refused_naming_both_places(tmp_path, fmt):
    text = "„Wir sind bereit“, sagte Miller."
    if fmt == "jsonl":
        src = write_jsonl(tmp_path / "articles.jsonl", [json.dumps({"id": i, "text": text}, ensure_ascii=False)
                                                        for i in ("a1", "a2", "a1")])
        needles = (f"{src}:3", "duplicate article id 'a1'", f"first at {src}:1")
    elif fmt == "csv":
        src = tmp_path / "articles.csv"
        with open(src, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([["id", "text"], ["7", text], ["7", text]])
        needles = (f"{src}:3", "duplicate article id '7'", f"first at {src}:2")
    else:
        src = tmp_path / "articles"
        for sub in ("2024", "2025"):
            (src / sub).mkdir(parents=True)
            (src / sub / "bericht.txt").write_text(text + "\n", encoding="utf-8")
        needles = (str(src / "2025" / "bericht.txt"), "duplicate article id 'bericht'",
                   f"first at {src / '2024' / 'bericht.txt'}")
    refused(tmp_path, "extract", src, "--out", tmp_path / "q", needles=needles)


# ------------------------------------------------------------------ one CSV reader


def test_extract_and_extract_corpus_read_csv_control_characters_alike(tmp_path):
    src = tmp_path / "articles.csv"
    rows = [["id", "title", "text"],
            ["c1", "Seite\x0cumbruch", "„Wir sind\x0c bereit“, sagte Miller.\x1c Danach\x85 ging es\u2028 weiter."],
            ["c2", "zwei", "Peskow sagte: „Das ist eine Provokation.“\x0c\n„Wir prüfen das“, sagte Miller."],
            ["c3", "drei", "Wir\x0cbereit sagte Miller\x85 x"]]
    with open(src, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, quoting=csv.QUOTE_MINIMAL).writerows(rows)
    q, c = tmp_path / "q", tmp_path / "c"
    assert qst("extract", src, "--out", q).returncode == 0
    assert qst("extract-corpus", src, "--out", c, "--jsonl").returncode == 0
    from_extract, from_corpus = quotes_of(q), quotes_of(c)
    assert {r["article_id"] for r in from_extract} >= {"c1", "c2"}
    assert from_extract == from_corpus
    assert any("\x0c" in r["text"] or "\x1c" in r["context"] for r in from_extract)


def test_unterminated_csv_quote_is_an_error_naming_its_line_in_both_readers(tmp_path):
    src = tmp_path / "articles.csv"
    src.write_text('id,text\na1,"„Wir sind bereit“, sagte Miller."\na2,"„Offen“, sagte Peskow.\na3,drei\n',
                   encoding="utf-8")
    for cmd, out in (("extract", tmp_path / "q"), ("extract-corpus", tmp_path / "c")):
        refused(tmp_path, cmd, src, "--out", out, needles=(f"{src}:3", "never closed"))

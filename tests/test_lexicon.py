"""The word lists as data (toolkit/lexicon/): loading, validation errors, extra files, `qst extract --lexicon`.

Every sentence here is written for these tests (no corpus text).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.attribution.extract import extract_article
from toolkit.errors import InputError
from toolkit.lexicon.active import LEX, load_lexicon, patterns, using_lexicon
from toolkit.lexicon.compile import grouped_alt
from toolkit.lexicon.load import BUNDLED_FILES, LEXICON_DIR

ROOT = Path(__file__).resolve().parents[1]
QST = [sys.executable, "-m", "toolkit.cli"]
POLTERN = "Die Verhandlungen mit der Gewerkschaft seien endgültig gescheitert, polterte der Minister am Montag."


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def quotes(text: str) -> list[tuple[str, str | None, str | None]]:
    return [(r["text"], r["cue"], r["speaker_mention"]) for r in extract_article({"id": "t", "text": text})]


def test_bundled_lists_load_once_and_name_their_file() -> None:
    lx = load_lexicon()
    assert lx is load_lexicon()  # compiled once, cached
    assert {Path(w.sources[0]).name for w in lx.lists.values()} == set(BUNDLED_FILES)
    assert lx.lists["speech_verbs"].entries[:2] == ("sagt(?:e|en)?", "gesagt")  # file order is pattern order
    # Grouped by first letter, file order inside each group (toolkit.lexicon.compile.grouped_alt).
    assert LEX.SPEECH_VERB.pattern.startswith(r"(?<![\wÄÖÜäöüß-])(?:(?:sagt(?:e|en)?|schrieb(?:en)?|")
    assert "|(?:gesagt|" in LEX.SPEECH_VERB.pattern
    assert "Es" in LEX.NOT_A_SPEAKER and "polterte" not in lx.lists["clause_verbs"].entries


def test_extra_cue_verb_adds_a_trailing_frame(tmp_path: Path) -> None:
    extra = write(tmp_path / "extra.yaml", "lists:\n  clause_verbs:\n    entries:\n      - polterte\n")
    before = quotes(POLTERN)
    assert before[0][1] is None  # bundled lists: a frameless Konjunktiv sentence, no cue
    with using_lexicon([extra]) as lex:
        assert lex.lexicon.lists["clause_verbs"].entries[-1] == "polterte"  # appended after the bundled ones
        assert quotes(POLTERN) == [("Die Verhandlungen mit der Gewerkschaft seien endgültig gescheitert",
                                    "polterte", "der Minister")]
    assert quotes(POLTERN) == before  # the bundled lists are back


def test_extra_role_noun_reaches_speaker_resolution(tmp_path: Path) -> None:
    text = "Der Sender werde sein Programm im Herbst deutlich umbauen, sagte Intendantin Maria Musterfrau."
    speaker = extract_article({"id": "t", "text": text})[0]["speaker"]
    extra = write(tmp_path / "roles.yaml", "lists:\n  role_nouns:\n    entries: ['[Ii]ntendant(?:in)?']\n")
    with using_lexicon([extra]):
        assert extract_article({"id": "t", "text": text})[0]["speaker"] == "Maria Musterfrau"
    assert speaker != "Maria Musterfrau"


def test_duplicates_are_not_added_twice(tmp_path: Path) -> None:
    extra = write(tmp_path / "dup.yaml", "lists:\n  after_verb:\n    entries: [auch, ebenfalls, gestern]\n"
                                         "  clause_starters:\n    entries: [Abends, Abends]\n")
    lx = load_lexicon([extra])
    assert lx.lists["after_verb"].entries == load_lexicon().lists["after_verb"].entries
    assert lx.lists["clause_starters"].entries[-1:] == ("Abends",) and "Abends" in patterns([extra]).STARTERS


@pytest.mark.parametrize("body,needle", [
    ("lists:\n  speech_verbs:\n    entries:\n      - verkündigte\n      - 'sag(te'\n",
     ":5: list 'speech_verbs', entry #2: 'sag(te' is not a regular expression"),
    ("lists:\n  speech_verbs:\n    entries:\n      - '(sagte|meinte)'\n",
     ":4: list 'speech_verbs', entry #1: '(sagte|meinte)' has a capturing group"),
    ("lists:\n  speach_verbs:\n    entries: [x]\n", ":2: list 'speach_verbs': no such list (known: "),
    ("lists:\n  not_a_speaker:\n    entries:\n      - Gestern\n      - 5\n",
     ":5: list 'not_a_speaker', entry #2: 5 is not of type 'string'"),
    ("lists:\n  not_a_speaker:\n    entries:\n      - 'Am Ende'\n",
     ":4: list 'not_a_speaker', entry #1: 'Am Ende': a word list takes single words"),
    ("lists:\n  not_a_speaker:\n    match: regex\n    entries: [X]\n",
     ":2: list 'not_a_speaker': match 'regex', but the list is 'word'"),
    ("lists:\n  clause_verbs:\n    entry: [polterte]\n", ":2: list 'clause_verbs': 'entries' is a required property"),
    ("lists: [\n", ":2: invalid YAML"),
    ("speakers: []\n", "'lists' is a required property"),
    ("- sagte\n", "is not of type 'object'"),
])
def test_bad_extra_file_is_one_line_naming_file_and_line(tmp_path: Path, body: str, needle: str) -> None:
    path = write(tmp_path / "bad.yaml", body)
    with pytest.raises(InputError) as err:
        load_lexicon([path])
    msg = str(err.value)
    assert msg.startswith(str(path)) and needle in msg and "\n" not in msg, msg


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="lexicon file not found"):
        load_lexicon([tmp_path / "nope.yaml"])
    with pytest.raises(InputError, match="is a folder"):
        load_lexicon([tmp_path])


def test_bundled_files_satisfy_the_schema_entry_by_entry() -> None:
    """The loader compiles each bundled list once as a whole; here every entry on its own."""
    from toolkit.lexicon.load import _check_entry, read_lexicon_file

    for fname in BUNDLED_FILES:
        data, lines = read_lexicon_file(LEXICON_DIR / fname)
        for name, spec in data["lists"].items():
            assert spec["match"] in ("regex", "word") and spec.get("doc") and spec.get("frames"), (fname, name)
            for i, entry in enumerate(spec["entries"]):
                _check_entry(LEXICON_DIR / fname, lines, name, i, entry, spec["match"])


def _qst(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "400"}
    return subprocess.run([*QST, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_cli_extract_with_lexicon(tmp_path: Path) -> None:
    arts = tmp_path / "arts"
    arts.mkdir()
    write(arts / "a1.txt", POLTERN + "\n")
    extra = write(tmp_path / "extra.yaml", "lists:\n  clause_verbs:\n    entries:\n      - polterte\n")
    proc = _qst("extract", arts, "--out", tmp_path / "plain", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = _qst("extract", arts, "--out", tmp_path / "out", "--lexicon", extra, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    plain = [json.loads(x) for x in (tmp_path / "plain" / "quotes.jsonl").read_text(encoding="utf-8").splitlines()]
    recs = [json.loads(x) for x in (tmp_path / "out" / "quotes.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["cue"] for r in plain] == [None]
    assert [(r["cue"], r["speaker_mention"]) for r in recs] == [("polterte", "der Minister")]


def test_cli_bad_lexicon_is_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    arts = tmp_path / "arts"
    arts.mkdir()
    write(arts / "a1.txt", POLTERN + "\n")
    bad = write(tmp_path / "bad.yaml", "lists:\n  clause_verbs:\n    entries:\n      - 'polter(te'\n")
    proc = _qst("extract", arts, "--out", tmp_path / "out", "--lexicon", bad, cwd=tmp_path)
    assert proc.returncode == 2
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}:4: list 'clause_verbs', entry #1"), proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize(("entries", "grouped"), [
    (["sagt(?:e|en)?", "erklärt", "Sprach", "[Ee]rgänzt"], "(?:sagt(?:e|en)?|Sprach)|(?:erklärt|[Ee]rgänzt)"),
    (["sagt", "erklärt"], "sagt|erklärt"),  # no two share a letter: nothing to group
    (["sagt", "s?agte", "sah"], "sagt|s?agte|sah"),  # an optional first letter: joined as it is
    (["sagt", "sah|erklärt", "sieht"], "sagt|sah|erklärt|sieht"),  # a bar at the top level: as it is
    (["sagt", "(?:s|e)agt", "sieht"], "sagt|(?:s|e)agt|sieht"),  # a group first: as it is
    (["sagt", r"\w+agt", "sieht"], r"sagt|\w+agt|sieht"),  # an escape first: as it is
    (["[a-z]agt", "sagt", "sieht"], "[a-z]agt|sagt|sieht"),  # a class of many letters: as it is
    (["[|]x", "sagt", "sieht"], "[|]x|sagt|sieht"),
])
def test_grouped_alternation_layout(entries: list[str], grouped: str) -> None:
    assert grouped_alt(entries) == grouped


def _plain(lx, name: str) -> str:
    return "|".join(lx.lists[name].entries)


def test_grouped_patterns_match_what_the_plain_alternations_match() -> None:
    """Every compiled pattern against the same pattern built from the lists joined as they are:
    the same matches, spans and groups, on the seed articles, SpkAtt texts when present, generated
    articles and probes of case, hyphens and competing entries ("teilte mit" vs "teilte")."""
    import toolkit.lexicon.compile as compile_mod
    sys.path.insert(0, str(ROOT / "scripts"))
    import make_corpus

    lx = load_lexicon()
    grouped = compile_mod.Patterns(lx)
    real = compile_mod._alt
    compile_mod._alt = _plain
    try:
        plain = compile_mod.Patterns(lx)
    finally:
        compile_mod._alt = real
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "annotations" / "articles").glob("*.txt"))]
    texts += [a["text"] for a in make_corpus.articles(60, seed=5)]
    spkatt = ROOT.parent / "shared" / "spkatt-news" / "train.jsonl"
    if spkatt.exists():
        texts += [json.loads(line)["text"] for line in spkatt.open(encoding="utf-8")]
    texts += ["Er teilte mit, sie teilte am Montag mit, dass SAGTE Sagten ge-sagt Vize-Außenminister Kim sagte.",
              "Nach Angaben der Polizei, laut Polizeiangaben, Medienberichten nach, so der Sprecher, heißt es."]
    compared = 0
    assert len(grouped.pattern_names()) >= 29
    for name in grouped.pattern_names():
        pat, other = getattr(grouped, name), getattr(plain, name)
        assert pat.flags == other.flags, name
        for text in texts:
            assert [(m.span(), m.groups()) for m in pat.finditer(text)] == \
                [(m.span(), m.groups()) for m in other.finditer(text)], (name, text[:80])
        compared += pat.pattern != other.pattern
    assert compared >= 10  # the long lists are grouped, so the comparison is not of a pattern with itself

"""The output guarantees, tried as a careless user would, through the real `qst` command.

Each case runs `qst` in a child process on real files and asserts three things: exit status 2,
a one-line message naming the file, and — most important — that every file that existed before
is byte-for-byte unchanged afterwards (docs/GUARANTEES.md lists what is promised).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "annotations" / "articles"
QST = [sys.executable, "-m", "toolkit.cli"]


def qst(*args: str | Path, cwd: Path | None = None, umask: int | None = None) -> subprocess.CompletedProcess:
    pre = (lambda: os.umask(umask)) if umask is not None else None
    env = {**os.environ, "COLUMNS": "400"}
    return subprocess.run([*QST, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env,
                          preexec_fn=pre, timeout=300)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below root (hidden ones too) with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_refused(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 2, no traceback, one error line that says what and where."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def good_quotes(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("good") / "quotes"
    proc = qst("extract", SEEDS, "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out


# ------------------------------------------------------------------------ folders that are not ours


def test_build_dataset_never_clears_a_folder_that_merely_holds_a_readme(tmp_path, good_quotes):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / "README.md").write_text("# my notes\n")
    (home / ".ssh" / "id_ed25519").write_text("secret\n")
    before = snapshot(home)
    fix = ROOT / "tests" / "fixtures" / "hub"
    proc = qst("build-dataset", "--quotes", fix / "quotes.jsonl", "--adjudicated", fix / "adjudicated.jsonl",
               "--out", home)
    assert_refused(proc, str(home), "not written by qst")
    assert snapshot(home) == before


@pytest.mark.parametrize("command", ["extract", "agreement", "train", "run", "extract-corpus"])
def test_no_command_replaces_a_foreign_folder(tmp_path, good_quotes, command):
    foreign = tmp_path / "project"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine\n")
    before = snapshot(foreign)
    args = {
        "extract": ["extract", SEEDS, "--out", foreign],
        "agreement": ["agreement", ROOT / "tests" / "fixtures" / "hub" / "annotations.jsonl", "--out", foreign],
        "train": ["train", ROOT / "tests" / "fixtures" / "hub" / "adjudicated.jsonl", "--out", foreign],
        "run": ["run", "--out", foreign],
        "extract-corpus": ["extract-corpus", good_quotes / "quotes.jsonl", "--out", foreign],
    }[command]
    proc = qst(*args, cwd=ROOT)
    assert_refused(proc, str(foreign))
    assert snapshot(foreign) == before


def test_out_that_is_a_regular_file_is_refused(tmp_path):
    target = tmp_path / "quotes"
    target.write_text("a file, not a folder\n")
    proc = qst("extract", SEEDS, "--out", target)
    assert_refused(proc, str(target), "is a file")
    assert target.read_text() == "a file, not a folder\n"


def test_input_inside_the_output_folder_is_refused(tmp_path, good_quotes):
    out = tmp_path / "quotes"
    proc = qst("extract", SEEDS, "--out", out)
    assert proc.returncode == 0, proc.stderr
    articles = out / "articles.jsonl"
    articles.write_text(json.dumps({"id": "a1", "text": "„Wir sind bereit“, sagte Miller."}) + "\n")
    before = snapshot(out)
    proc = qst("extract", articles, "--out", out)
    assert_refused(proc, str(articles), "inside the output folder")
    assert snapshot(out) == before


# ------------------------------------------------------------------------ bad input, good output kept


@pytest.mark.parametrize("bad", ["empty_folder", "empty_jsonl", "broken_jsonl"])
def test_extract_on_bad_input_keeps_the_earlier_output(tmp_path, bad):
    out = tmp_path / "quotes"
    assert qst("extract", SEEDS, "--out", out).returncode == 0
    before = snapshot(out)
    if bad == "empty_folder":
        src = tmp_path / "empty"
        src.mkdir()
    else:
        src = tmp_path / "articles.jsonl"
        src.write_text("" if bad == "empty_jsonl" else '{"id": "a", "text": "ok"}\n{"id": "b", "text": \n')
    proc = qst("extract", src, "--out", out)
    assert_refused(proc, str(src))
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_import_never_overwrites_its_own_input(tmp_path):
    export = ROOT / "annotations" / "labelstudio" / "seed_round1.json"
    work = tmp_path / "a.json"
    work.write_bytes(export.read_bytes())
    assert qst("import", work).returncode == 0
    recon = tmp_path / "a.reconciliation.json"
    parquet = tmp_path / "a.parquet"
    before = snapshot(tmp_path)
    assert_refused(qst("import", recon, "--out", tmp_path / "a"), str(recon), "overwrite the input")
    assert_refused(qst("import", parquet, "--format", "JSON"), str(parquet), "overwrite the input")
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------------ output sets


def _consistent(out: Path) -> int:
    """The three extract outputs describe the same run; return its quote count."""
    n_jsonl = sum(1 for line in (out / "quotes.jsonl").read_text(encoding="utf-8").splitlines() if line)
    n_parquet = len(pd.read_parquet(out / "quotes.parquet"))
    n_summary = json.loads((out / "extract_summary.json").read_text(encoding="utf-8"))["quotes"]
    assert n_jsonl == n_parquet == n_summary
    return n_jsonl


def _without_marker(snap: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in snap.items() if k != ".qst-output.json"}


@pytest.mark.slow
def test_killed_extract_leaves_the_old_set_or_the_new_one_never_a_mix(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_corpus.py"), "--n", "120", "--out", str(corpus)],
                   check=True, capture_output=True)
    reference = tmp_path / "reference"
    assert qst("extract", corpus, "--out", reference).returncode == 0
    new = _without_marker(snapshot(reference))
    out = tmp_path / "quotes"
    assert qst("extract", SEEDS, "--out", out).returncode == 0
    old = _without_marker(snapshot(out))
    outcomes = []
    for delay in (0.5, 1.5, 2.5, 3.5, 4.5, 6.0, None):
        if outcomes and outcomes[-1] == "new":
            assert qst("extract", SEEDS, "--out", out).returncode == 0  # back to the old set
        proc = subprocess.Popen([*QST, "extract", str(corpus), "--out", str(out)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=delay if delay is not None else 300)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        now = _without_marker(snapshot(out))
        assert now in (old, new), f"killed after {delay} s: a mixed or partial output set"
        outcomes.append("old" if now == old else "new")
    assert outcomes[-1] == "new"  # the run that was not killed replaced the set
    # a later run removes the staging folders the killed runs left
    assert qst("extract", SEEDS, "--out", out).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# ------------------------------------------------------------------------ permissions


@pytest.mark.parametrize("umask,file_mode,dir_mode", [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775)])
def test_outputs_follow_the_umask(tmp_path, umask, file_mode, dir_mode):
    out = tmp_path / "quotes"
    proc = qst("extract", SEEDS, "--out", out, umask=umask)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_mode & 0o777 == dir_mode
    for p in out.iterdir():
        assert p.stat().st_mode & 0o777 == file_mode, p

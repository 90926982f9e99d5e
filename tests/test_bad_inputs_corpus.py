"""Corpus runs under hostile input and hostile events, through the real `qst extract-corpus`.

Every case runs the command in a child process on real files: records Python cannot take, a
slow article, a SIGKILLed driver, two runs on one folder. Each asserts the exit status, the one
line it prints, and that what existed before is unchanged (docs/GUARANTEES.md, "Corpus runs").
The per-article functions (toy, slow, stubborn, sluggish) are in tests/test_corpus_helpers.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_corpus_helpers import SLOW_ON  # noqa: E402
from test_guarantees import QST, ROOT, assert_refused, snapshot  # noqa: E402

TOY = "test_corpus_helpers:toy_extract"
LOCK = ".qst-corpus.lock"


def env(**extra: str) -> dict[str, str]:
    """The tests folder on the path of the command and of every worker it starts."""
    path = os.pathsep.join([str(Path(__file__).parent), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "COLUMNS": "400", "PYTHONPATH": path, **extra}


def corpus_cmd(src: Path, out: Path, *args: str) -> list[str]:
    return [*QST, "extract-corpus", str(src), "--out", str(out), *args]


def run_qst(src: Path, out: Path, *args: str, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(corpus_cmd(src, out, *args), capture_output=True, text=True, env=env(**extra),
                          timeout=timeout)


def make_corpus(path: Path, n: int, seed: int = 13) -> Path:
    """A generated corpus, by the project's own script (scripts/make_corpus.py)."""
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_corpus.py"), "--n", str(n), "--seed", str(seed),
                    "--out", str(path)], check=True, capture_output=True)
    return path


def errors(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "errors.jsonl").read_text(encoding="utf-8").splitlines()]


def part_digests(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("quotes-part-*"))}


def assert_kept(before: dict[str, bytes], root: Path) -> None:
    """Every file that existed before is still there, byte for byte."""
    now = snapshot(root)
    assert {k: now.get(k) for k in before} == before


# ------------------------------------------------------------------ records Python cannot take

#: line number (1-based) -> (bad line, kind). The other lines are good generated articles.
BAD_LINES = {
    2: ('{"id": "surrogate", "text": "abc \\ud800 def"}', "invalid_text"),
    4: ('{"id": "big", "text": "x", "n": ' + "9" * 5000 + "}", "number_too_long"),
    6: ('{"id": "deep", "text": "x", "n": ' + "[" * 100_000 + "]" * 100_000 + "}", "too_deep"),
    8: ('{"id": "nul", "text": "a\\u0000b"}', "invalid_text"),
    9: ('{"id": "nul-byte", "text": "a\x00b"}', "invalid_json"),
    10: ('{"id": "list", "text": ["a", "b"]}', "wrong_type"),
    11: ('{"id": "object", "text": {"a": 1}}', "wrong_type"),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """16 generated articles with the records of BAD_LINES in their places."""
    folder = tmp_path_factory.mktemp("hostile")
    lines = make_corpus(folder / "good.jsonl", 16).read_text(encoding="utf-8").splitlines()
    for lineno, (bad, _) in BAD_LINES.items():
        lines[lineno - 1] = bad
    path = folder / "hostile.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def dask_scheduler():
    """A LocalCluster (daemonic worker processes, tasks in threads) that the commands connect to."""
    from distributed import LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=50, scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
    yield cluster.scheduler_address
    cluster.close()


ENGINES = {"local": [], "workers2": ["--workers", "2"], "dask": ["--engine", "dask"]}


@pytest.mark.parametrize("engine", list(ENGINES))
def test_unreadable_records_are_skipped_and_reported(hostile, tmp_path, engine, request):
    args = list(ENGINES[engine])
    if engine == "dask":
        args += ["--scheduler", request.getfixturevalue("dask_scheduler")]
    before = snapshot(hostile.parent)
    out = tmp_path / "out"
    proc = run_qst(hostile, out, "-k", "4", "--skip-bad", "--extract-fn", TOY, *args)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert [(e["where"], e["kind"]) for e in errors(out)] == \
           [(f"{hostile}:{n}", kind) for n, (_, kind) in sorted(BAD_LINES.items())]
    summary = json.loads((out / "manifest.json").read_text())["summary"]
    assert summary["status"] == "complete" and summary["bad_records"] == 7 and summary["articles"] == 9
    assert_kept(before, hostile.parent)


@pytest.fixture(scope="module")
def duplicated(tmp_path_factory) -> Path:
    """12 generated articles; line 3 reuses line 1's id (same part at -k 4), line 11 line 2's (another part)."""
    folder = tmp_path_factory.mktemp("duplicated")
    records = [json.loads(x) for x in make_corpus(folder / "good.jsonl", 12).read_text(encoding="utf-8").splitlines()]
    records[2]["id"], records[10]["id"] = records[0]["id"], records[1]["id"]
    path = folder / "duplicated.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.mark.parametrize("engine", list(ENGINES))
def test_duplicate_article_ids_are_found_across_parts(duplicated, tmp_path, engine, request):
    """Without --skip-bad one error line (exit 2); with it a warning; every duplicate in errors.jsonl."""
    args = list(ENGINES[engine])
    if engine == "dask":
        args += ["--scheduler", request.getfixturevalue("dask_scheduler")]
    before = snapshot(duplicated.parent)
    ids = [json.loads(x)["id"] for x in duplicated.read_text(encoding="utf-8").splitlines()]
    want = [(f"{duplicated}:3", f"{duplicated}:1", ids[0]), (f"{duplicated}:11", f"{duplicated}:2", ids[1])]
    for extra, code, prefix in ((["--skip-bad"], 0, "warning: 2 record(s)"), ([], 2, "error: 2 record(s)")):
        out = tmp_path / f"out{code}"
        proc = run_qst(duplicated, out, "-k", "4", "--extract-fn", TOY, *extra, *args)
        assert proc.returncode == code and "Traceback" not in proc.stderr, proc.stderr
        assert [line for line in proc.stderr.splitlines() if line.startswith(prefix)], proc.stderr
        found = [e for e in errors(out) if e["kind"] == "duplicate_id"]
        assert [(e["where"], e["message"]) for e in found] == [
            (where, f"{where}: article id {aid!r} was already used at {first}; give every article a unique id "
                    "(its quotes' article_id is ambiguous)") for where, first, aid in want]
        summary = json.loads((out / "manifest.json").read_text())["summary"]
        assert summary["status"] == "complete" and summary["duplicate_ids"]["records"] == 2
    assert_kept(before, duplicated.parent)


def test_ids_of_a_resumed_part_are_checked_again(duplicated, tmp_path):
    """The check runs over the parts on disk, so a --resume that redoes one part still sees all ids."""
    out = tmp_path / "out"
    assert run_qst(duplicated, out, "-k", "4", "--extract-fn", TOY, "--skip-bad").returncode == 0
    (out / "_parts" / "part-00002.json").unlink()
    proc = run_qst(duplicated, out, "-k", "4", "--extract-fn", TOY, "--skip-bad", "--resume")
    assert proc.returncode == 0, proc.stderr
    assert [e["where"] for e in errors(out) if e["kind"] == "duplicate_id"] == [f"{duplicated}:3", f"{duplicated}:11"]


@pytest.mark.parametrize("lineno", sorted(BAD_LINES))
def test_unreadable_record_stops_the_run_in_one_line(hostile, tmp_path, lineno):
    src = tmp_path / "c.jsonl"
    good = hostile.with_name("good.jsonl").read_text(encoding="utf-8").splitlines()
    good[lineno - 1] = BAD_LINES[lineno][0]
    src.write_text("\n".join(good) + "\n", encoding="utf-8")
    before = snapshot(tmp_path)
    out = tmp_path / "out"
    proc = run_qst(src, out, "-k", "4", "--extract-fn", TOY)
    assert_refused(proc, f"{src}:{lineno}:")
    assert_kept(before, tmp_path)
    assert not (out / LOCK).exists()
    for entry in (out / "_parts").glob("part-*.json"):  # what was written before the stop is complete
        assert json.loads(entry.read_text())["input"]["line_end"] < lineno


@pytest.mark.parametrize("engine", ["workers2", "dask"])
def test_parallel_run_stops_in_one_line_without_distributed_logs(hostile, tmp_path, engine):
    """Dask here starts its own LocalCluster in the command: its logs must not reach the user."""
    before = snapshot(hostile.parent)
    proc = run_qst(hostile, tmp_path / "out", "-k", "4", "--extract-fn", TOY, "--workers", "2",
                   *(["--engine", "dask"] if engine == "dask" else []))
    assert_refused(proc, f"{hostile}:")
    assert [ln for ln in proc.stderr.splitlines() if ln.strip()] == \
           [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")], proc.stderr
    where = proc.stderr.split("error: ", 1)[1].split(":")[1]
    assert int(where) in BAD_LINES
    assert_kept(before, hostile.parent)


# ---------------------------------------------------------------------------- time limit


@pytest.mark.parametrize("engine,fn", [("local", "slow_extract"), ("local", "stubborn_extract"),
                                       ("workers2", "slow_extract"), ("dask", "slow_extract")])
def test_slow_article_is_reported_and_the_run_goes_on(hostile, tmp_path, engine, fn, request):
    """A real slow article (sleeps 600 s, or loops swallowing Exception) costs 2 s, not the run."""
    src = hostile.with_name("good.jsonl")
    args = list(ENGINES[engine])
    if engine == "dask":
        args += ["--scheduler", request.getfixturevalue("dask_scheduler")]
    reference = tmp_path / "reference"
    assert run_qst(src, reference, "-k", "4", "--extract-fn", TOY).returncode == 0
    out = tmp_path / "out"
    t0 = time.monotonic()
    proc = run_qst(src, out, "-k", "4", "--article-timeout", "2", "--extract-fn", f"test_corpus_helpers:{fn}",
                   *args, timeout=240)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    assert elapsed < 120  # the article alone would take 600 s (or forever)
    lineno = int(SLOW_ON.rsplit("_", 1)[1]) + 1
    [err] = errors(out)
    assert (err["where"], err["kind"]) == (f"{src}:{lineno}", "timeout")
    assert "--article-timeout" in err["message"] and SLOW_ON in err["message"]
    summary = json.loads((out / "manifest.json").read_text())["summary"]
    assert summary["extract_failures"] == 1 and summary["articles"] == 16
    # every other article's quotes are exactly those of an unlimited toy run
    import pandas as pd
    got = pd.concat(pd.read_parquet(p) for p in sorted(out.glob("quotes-part-*.parquet")))
    want = pd.concat(pd.read_parquet(p) for p in sorted(reference.glob("quotes-part-*.parquet")))
    assert got.reset_index(drop=True).equals(want[want["article_id"] != SLOW_ON].reset_index(drop=True))


def test_article_timeout_must_not_be_negative(hostile, tmp_path):
    proc = run_qst(hostile.with_name("good.jsonl"), tmp_path / "out", "--article-timeout", "-1")
    assert proc.returncode == 2 and "--article-timeout" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------- parent death


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("big") / "big.jsonl", 400)


def _entries(out: Path) -> set[str]:
    return {p.name for p in (out / "_parts").glob("part-*.json")} if (out / "_parts").is_dir() else set()


def _wait_for(cond, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def _alive(pids: list[int]) -> list[int]:
    live = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                live.append(pid)
        except psutil.NoSuchProcess:
            pass
    return live


@pytest.mark.slow
def test_workers_die_with_the_killed_driver_and_resume_takes_over(big, tmp_path):
    out = tmp_path / "out"
    cmd = corpus_cmd(big, out, "-k", "10", "--workers", "2", "--extract-fn", "test_corpus_helpers:sluggish_extract")
    driver = subprocess.Popen(cmd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: len(_entries(out)) >= 2, 120), "the run never got going"
        workers = [c.pid for c in psutil.Process(driver.pid).children(recursive=True)]
        assert len(workers) >= 2
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    assert _wait_for(lambda: not _alive(workers), 5), f"workers still running: {_alive(workers)}"
    written = _entries(out)
    time.sleep(2)
    assert _entries(out) == written, "parts were still written after the driver died"
    assert len(written) < 40
    # the dead driver's lock is stale: the next run takes it over, says so, and finishes identically
    proc = subprocess.run(cmd + ["--resume"], env=env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    warning = [ln for ln in proc.stderr.splitlines() if "stale lock" in ln]
    assert len(warning) == 1 and f"pid {driver.pid} " in warning[0] and "its process is gone" in warning[0]
    reference = tmp_path / "reference"
    assert run_qst(big, reference, "-k", "10", "--extract-fn", TOY).returncode == 0
    assert part_digests(out) == part_digests(reference)
    assert not (out / LOCK).exists()


# ---------------------------------------------------------------------------- one run per folder


@pytest.mark.parametrize("resume", [False, True])
def test_second_run_on_the_same_folder_is_refused(big, tmp_path, resume):
    out, gate = tmp_path / "out", tmp_path / "gate"
    gate.touch()  # the first run waits at its first article until the gate is gone
    fn = "test_corpus_helpers:gated_extract"
    cmd = corpus_cmd(big, out, "-k", "50", "--extract-fn", fn)
    first = subprocess.Popen(cmd, env=env(QST_GATE=str(gate)), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: (out / "manifest.json").exists() and (out / LOCK).exists(), 120)
        before = snapshot(out)
        second = run_qst(big, out, "-k", "50", "--extract-fn", fn, *(["--resume"] if resume else []),
                         QST_GATE=str(gate))
        assert_refused(second, str(out), f"pid {first.pid} ", "another extract-corpus run")
        assert first.poll() is None
        assert snapshot(out) == before  # the holder's lock and manifest untouched, nothing written
        gate.unlink()
        assert first.wait(timeout=300) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    # every part was written by the first run alone, and the result is the uninterrupted one
    pids = {json.loads(p.read_text())["worker"]["pid"] for p in (out / "_parts").glob("part-*.json")}
    assert pids == {first.pid}
    reference = tmp_path / "reference"
    assert run_qst(big, reference, "-k", "50", "--extract-fn", TOY).returncode == 0
    assert part_digests(out) == part_digests(reference)
    assert not (out / LOCK).exists()

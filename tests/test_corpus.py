"""Corpus-scale extraction: identical output across engines, resume, faults, flat memory.

Engine tests use tests/test_corpus_helpers.toy_extract (cheap, deterministic); the real
extractor is checked for equivalence on a small corpus at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).parent))

import make_corpus  # noqa: E402
from test_corpus_helpers import CRASH_ON  # noqa: E402

from toolkit.corpus.driver import ERRORS, MANIFEST, read_quotes, run_corpus  # noqa: E402
from toolkit.corpus.lock import LOCK_FILE  # noqa: E402
from toolkit.corpus.plan import CorpusRun  # noqa: E402
from toolkit.errors import InputError, ToolkitError  # noqa: E402

TOY = "test_corpus_helpers:toy_extract"
PY = sys.executable


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), str(ROOT), env.get("PYTHONPATH", "")])
    return env


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("corpus")
    arts = list(make_corpus.articles(60, seed=13))
    make_corpus.write_jsonl(d / "c.jsonl", iter(arts), set())
    make_corpus.write_parquet(d / "c.parquet", iter(arts), row_group=25)
    return {"jsonl": d / "c.jsonl", "parquet": d / "c.parquet", "dir": d}


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory) -> Path:
    """The uninterrupted single-process run every other run must reproduce."""
    out = tmp_path_factory.mktemp("ref") / "out"
    summary = run_corpus(CorpusRun(corpus["jsonl"], out, part_size=20, extract_fn=TOY, jsonl=True))
    assert summary["status"] == "complete" and summary["parts"]["complete"] == 3
    assert summary["articles"] == 60 and summary["quotes"] > 60
    return out


def part_digests(out: Path) -> dict[str, str]:
    """sha256 of every output part file (Parquet and JSONL), by name."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("quotes-part-*"))}


def assert_same_output(out: Path, ref: Path) -> None:
    assert part_digests(out) == part_digests(ref)
    a, b = read_quotes(out), read_quotes(ref)
    assert a.equals(b)
    assert a["quote_id"].is_unique
    man_a, man_b = (json.loads((d / MANIFEST).read_text()) for d in (out, ref))
    assert [(p["part"], p["input_range"], p["records"], p["quotes"]) for p in man_a["parts"]] == \
           [(p["part"], p["input_range"], p["records"], p["quotes"]) for p in man_b["parts"]]
    assert man_a["status"] == "complete"


# ------------------------------------------------------------------------- same output everywhere

def test_reference_run_shape(reference, corpus):
    man = json.loads((reference / MANIFEST).read_text())
    assert man["config"]["part_size"] == 20 and man["config"]["extract_fn"] == TOY
    assert [p["input_range"] for p in man["parts"]] == [f"{corpus['jsonl']}:{a}-{a + 19}" for a in (1, 21, 41)]
    for p in man["parts"]:
        for f in p["files"].values():
            assert hashlib.sha256((reference / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    q = read_quotes(reference)
    # quotes in input order, then offset order, and JSONL parts hold the same records (extras kept)
    assert list(q["article_id"]) == sorted(q["article_id"])
    line = json.loads((reference / "quotes-part-00000.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert line["quote_id"] == q["quote_id"][0] and line["toy_extra"] == len(line["text"])
    assert (reference / ERRORS).read_text() == ""


def test_two_processes_identical(reference, corpus, tmp_path):
    out = tmp_path / "out"
    summary = run_corpus(CorpusRun(corpus["jsonl"], out, workers=2, part_size=20, extract_fn=TOY, jsonl=True))
    assert summary["this_run"]["workers"] == 2
    assert_same_output(out, reference)
    pids = {p["worker"]["pid"] for p in json.loads((out / MANIFEST).read_text())["parts"]}
    assert os.getpid() not in pids  # really ran in other processes


@pytest.fixture(scope="module")
def dask_cluster():
    from distributed import LocalCluster
    # The scheduler's HTTP server binds 8787 even without a dashboard unless told otherwise: a
    # fixed port collides with any other Dask on the machine (a second test run, a user's cluster).
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=40,
                           scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})
    yield cluster
    cluster.close()


def test_dask_identical_from_parquet(reference, corpus, tmp_path, dask_cluster):
    """Dask partitions are the planned parts, so files are byte-identical, from Parquet input too."""
    out = tmp_path / "out"
    summary = run_corpus(CorpusRun(corpus["parquet"], out, engine="dask", scheduler=dask_cluster.scheduler_address,
                                   part_size=20, extract_fn=TOY, jsonl=True))
    assert summary["status"] == "complete"
    assert part_digests(out) == part_digests(reference)
    assert read_quotes(out).equals(read_quotes(reference))
    pids = {p["worker"]["pid"] for p in json.loads((out / MANIFEST).read_text())["parts"]}
    assert os.getpid() not in pids


def test_dask_quotes_frame_is_lazy_dataframe(corpus, dask_cluster):
    import dask.dataframe as dd

    from toolkit.corpus.engines import quotes_frame
    from toolkit.corpus.parts import extract_frame, load_part_frame
    from toolkit.corpus.plan import plan_parts
    _, specs = plan_parts(corpus["parquet"], 20)
    df = quotes_frame(specs, CorpusRun(corpus["parquet"], "unused", extract_fn=TOY))
    assert isinstance(df, dd.DataFrame) and df.npartitions == len(specs) == 3
    # each partition, computed on the cluster, is exactly what the local engine makes of that part
    for i in (0, 2):
        got = df.get_partition(i).compute().reset_index(drop=True)
        want = extract_frame(load_part_frame(specs[i]), TOY).reset_index(drop=True)
        assert len(got) > 0 and got.equals(want)


def test_csv_input_same_quotes(reference, corpus, tmp_path):
    """CSV records may span lines (quoted newlines): parts are still seekable and identical."""
    import csv
    path = tmp_path / "c.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, ["id", "title", "text", "date", "url", "source"])
        w.writeheader()
        w.writerows(make_corpus.articles(60, seed=13))
    out = tmp_path / "out"
    run_corpus(CorpusRun(path, out, part_size=20, extract_fn=TOY, jsonl=True))
    assert part_digests(out) == part_digests(reference)


# ------------------------------------------------------------------------------- resume, crashes

def test_killed_process_then_resume_is_identical(reference, corpus, tmp_path):
    """The whole run (one process) dies for real mid-run; --resume finishes it identically."""
    out, marker = tmp_path / "out", tmp_path / "crash"
    marker.touch()
    cmd = [PY, "-m", "toolkit.cli", "extract-corpus", str(corpus["jsonl"]), "--out", str(out), "-k", "20",
           "--extract-fn", "test_corpus_helpers:crashing_extract", "--jsonl"]
    env = _env() | {"QST_CRASH_MARKER": str(marker)}
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 3  # os._exit(3) in the extractor: the process is gone
    assert (out / "_parts" / "part-00000.json").exists() and not (out / "_parts" / "part-00001.json").exists()
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "--resume" in again.stderr  # refuses to clobber the stopped run
    marker.unlink()
    done = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    man = json.loads((out / MANIFEST).read_text())
    assert man["summary"]["parts"]["resumed"] == 1 and man["summary"]["parts"]["written_this_run"] == 2
    # same records, same ids, same parts (the run config differs only in extract_fn's name)
    assert part_digests(out) == part_digests(reference)


def test_worker_death_costs_one_part(reference, corpus, tmp_path, monkeypatch):
    """A pool worker os._exit()s on a marked article: only that part is lost; --resume redoes it."""
    out, marker = tmp_path / "out", tmp_path / "crash"
    marker.touch()
    monkeypatch.setenv("QST_CRASH_MARKER", str(marker))
    fn = "test_corpus_helpers:crashing_extract"
    summary = run_corpus(CorpusRun(corpus["jsonl"], out, workers=2, part_size=20, extract_fn=fn, jsonl=True))
    assert summary["status"] == "incomplete"
    assert summary["parts"]["complete"] == 2
    assert summary["parts"]["failed"] == 1 and summary["failures_by_kind"] == {"worker_died": 1}
    errors = [json.loads(line) for line in (out / ERRORS).read_text().splitlines()]
    assert [(e["part"], e["kind"]) for e in errors] == [(1, "worker_died")]
    assert not (out / "quotes-part-00001.parquet").exists()
    marker.unlink()
    summary = run_corpus(CorpusRun(corpus["jsonl"], out, workers=2, part_size=20, extract_fn=fn, jsonl=True,
                                   resume=True))
    assert summary["status"] == "complete" and summary["parts"]["written_this_run"] == 1
    assert part_digests(out) == part_digests(reference)
    assert (out / ERRORS).read_text() == ""


def test_half_written_part_is_not_complete(reference, corpus, tmp_path):
    """A temp file left by a killed writer, a part file without its entry, and a part whose
    content no longer matches its sha256 are all redone on --resume."""
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    (out / ".quotes-part-00001.parquet.x1y2.tmp").write_bytes(b"PAR1 half")
    (out / "_parts" / ".part-00001.json.zz.tmp").write_text("{")
    (out / "_parts" / "part-00001.json").unlink()  # died after the rename, before the entry
    part2 = out / "quotes-part-00002.parquet"
    part2.write_bytes(part2.read_bytes()[: part2.stat().st_size // 2])  # truncated behind our back
    summary = run_corpus(CorpusRun(corpus["jsonl"], out, part_size=20, extract_fn=TOY, jsonl=True, resume=True))
    assert summary["parts"]["resumed"] == 1 and summary["parts"]["written_this_run"] == 2
    assert not list(out.rglob("*.tmp"))
    assert part_digests(out) == part_digests(reference)


def test_resume_refuses_changed_settings(reference, corpus, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    with pytest.raises(ToolkitError, match="part_size: was 20, now 30"):
        run_corpus(CorpusRun(corpus["jsonl"], out, part_size=30, extract_fn=TOY, jsonl=True, resume=True))
    # resuming needs the same input; engine and workers may change (and do not change the output)
    summary = run_corpus(CorpusRun(corpus["jsonl"], out, workers=2, part_size=20, extract_fn=TOY, jsonl=True,
                                   resume=True))
    assert summary["parts"]["resumed"] == 3 and summary["parts"]["written_this_run"] == 0


def test_resume_refuses_changed_input_file(corpus, tmp_path):
    src = tmp_path / "c.jsonl"
    shutil.copy(corpus["jsonl"], src)
    out = tmp_path / "out"
    run_corpus(CorpusRun(src, out, part_size=20, extract_fn=TOY, jsonl=True))
    with open(src, "a", encoding="utf-8") as fh:
        fh.write(src.read_text(encoding="utf-8").splitlines()[0] + "\n")
    with pytest.raises(ToolkitError, match="input files changed"):
        run_corpus(CorpusRun(src, out, part_size=20, extract_fn=TOY, jsonl=True, resume=True))


# ------------------------------------------------------------------------------------ bad input

@pytest.fixture(scope="module")
def bad_jsonl(corpus) -> Path:
    lines = corpus["jsonl"].read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = '{"id": "broken", "text": \n'                      # line 5: not JSON
    lines[25] = json.dumps({"id": "no-text"}) + "\n"              # line 26: missing text
    lines[44] = "[1, 2]\n"                                        # line 45: not an object
    lines.insert(10, "\n")                                        # a blank line is not a record
    path = corpus["dir"] / "bad.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def test_bad_record_stops_run_with_location(bad_jsonl, tmp_path):
    with pytest.raises(InputError, match=r"bad\.jsonl:5: not valid JSON"):
        run_corpus(CorpusRun(bad_jsonl, tmp_path / "out", part_size=20, extract_fn=TOY))


def test_skip_bad_reports_and_goes_on(bad_jsonl, reference, tmp_path):
    out = tmp_path / "out"
    summary = run_corpus(CorpusRun(bad_jsonl, out, workers=2, part_size=20, extract_fn=TOY, skip_bad=True))
    assert summary["status"] == "complete"
    assert summary["bad_records"] == 3 and summary["articles"] == 57
    assert summary["failures_by_kind"] == {"invalid_json": 1, "missing_field": 1, "not_an_object": 1}
    errors = [json.loads(line) for line in (out / ERRORS).read_text().splitlines()]
    assert [e["where"] for e in errors] == [f"{bad_jsonl}:5", f"{bad_jsonl}:27", f"{bad_jsonl}:46"]
    # every good article's quotes are exactly those of the clean run
    ref = read_quotes(reference)
    dropped = {"gen13_00000004", "gen13_00000025", "gen13_00000044"}
    assert read_quotes(out).equals(ref[~ref["article_id"].isin(dropped)].reset_index(drop=True))


def test_parquet_bad_row_location(corpus, tmp_path):
    table = pq.read_table(corpus["parquet"])
    texts = table.column("text").to_pylist()
    texts[30] = None
    path = tmp_path / "nulls.parquet"
    pq.write_table(table.set_column(table.schema.get_field_index("text"), "text", pa.array(texts)), path,
                   row_group_size=25)
    with pytest.raises(InputError, match=r"nulls\.parquet:row-group 1/row 5: missing required field 'text'"):
        run_corpus(CorpusRun(path, tmp_path / "o1", part_size=20, extract_fn=TOY))
    summary = run_corpus(CorpusRun(path, tmp_path / "o2", part_size=20, extract_fn=TOY, skip_bad=True))
    assert summary["articles"] == 59 and summary["failures_by_kind"] == {"missing_field": 1}


def test_extractor_exception_is_one_articles_failure(corpus, tmp_path):
    fn = "test_corpus_helpers:failing_extract"
    with pytest.raises(ToolkitError, match=rf"c\.jsonl:32: extraction failed for article '{CRASH_ON}'"):
        run_corpus(CorpusRun(corpus["jsonl"], tmp_path / "o1", part_size=20, extract_fn=fn))
    summary = run_corpus(CorpusRun(corpus["jsonl"], tmp_path / "o2", part_size=20, extract_fn=fn, skip_bad=True))
    assert summary["extract_failures"] == 1 and summary["failures_by_kind"] == {"extract_error:ValueError": 1}


def test_cli_errors_are_one_line(tmp_path):
    bad = tmp_path / "a.txt"
    bad.write_text("x")
    r = subprocess.run([PY, "-m", "toolkit.cli", "extract-corpus", str(bad), "--out", str(tmp_path / "o")],
                       env=_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "unknown corpus format '.txt'" in r.stderr and "Traceback" not in r.stderr


# ------------------------------------------------------------------------ write faults, for real

def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    return r.returncode == 0


def test_disk_full_stops_cleanly_then_resumes(reference, corpus, tmp_path):
    """A 96 KiB tmpfs fills up mid-run: a clear ENOSPC error, nothing corrupt, resume elsewhere."""
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt, "96k"):
        pytest.skip("cannot mount a tmpfs here (needs root); ENOSPC cannot be caused otherwise")
    try:
        out = mnt / "out"
        with pytest.raises(ToolkitError, match=r"No space left on device \(ENOSPC\).*--resume"):
            run_corpus(CorpusRun(corpus["jsonl"], out, part_size=2, extract_fn=TOY, jsonl=True))
        assert not list(out.rglob("*.tmp"))
        entries = [json.loads(p.read_text()) for p in (out / "_parts").glob("part-*.json")]
        assert entries, "the disk should have held a few parts"
        for e in entries:  # every part that claims completeness is intact
            for f in e["files"].values():
                assert hashlib.sha256((out / f["path"]).read_bytes()).hexdigest() == f["sha256"]
        moved = tmp_path / "moved"
        shutil.copytree(out, moved)
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
    summary = run_corpus(CorpusRun(corpus["jsonl"], moved, part_size=2, extract_fn=TOY, jsonl=True, resume=True))
    assert summary["status"] == "complete" and summary["parts"]["resumed"] == len(entries)
    assert read_quotes(moved).equals(read_quotes(reference))


def test_permission_denied_mid_run(reference, corpus, tmp_path):
    """The output folder becomes immutable after the first part (chattr +i stops even root)."""
    probe = tmp_path / "probe"
    probe.mkdir()
    if subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i not available here (needs root on ext4/xfs/tmpfs)")
    subprocess.run(["chattr", "-i", str(probe)], check=True)
    out = tmp_path / "out"
    out.mkdir()

    def lock(entry):
        subprocess.run(["chattr", "+i", str(out)], check=True)

    try:
        with pytest.raises(ToolkitError, match=r"cannot write .*Operation not permitted \(EPERM\).*--resume"):
            run_corpus(CorpusRun(corpus["jsonl"], out, part_size=20, extract_fn=TOY, on_part=lock))
    finally:
        subprocess.run(["chattr", "-i", str(out)], check=False, capture_output=True)
    # the run lock stays too: an immutable folder lets nobody remove it (the next run takes it over)
    names = sorted(p.name for p in out.iterdir() if p.name != LOCK_FILE)
    assert names == ["_parts", MANIFEST, "quotes-part-00000.parquet"]  # no stray or partial part
    summary = run_corpus(CorpusRun(corpus["jsonl"], out, part_size=20, extract_fn=TOY, resume=True))
    assert summary["status"] == "complete"
    assert read_quotes(out).equals(read_quotes(reference))


def test_output_under_a_file_is_refused(corpus, tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ToolkitError, match=r"cannot write .*\(ENOTDIR\)"):
        run_corpus(CorpusRun(corpus["jsonl"], tmp_path / "f" / "out", part_size=20, extract_fn=TOY))


# ------------------------------------------------------------------------------- flat memory

# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child forked from pytest would
# report pytest's own (larger) peak and the comparison could not fail.
_MEASURE = """
import json, sys
from toolkit.corpus.driver import run_corpus
from toolkit.corpus.plan import CorpusRun
run_corpus(CorpusRun(sys.argv[1], sys.argv[2], part_size=200, extract_fn="test_corpus_helpers:toy_extract"))
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:")).split()[1]
print(json.dumps({"peak_mb": int(hwm) / 1024}))
"""


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_memory_flat_in_corpus_size(tmp_path, fmt):
    """Peak RSS of a child run on 1,500 and 24,000 articles (16x, ~55 MB more text): nearly equal."""
    peaks: dict[int, float] = {}
    text_bytes: dict[int, int] = {}

    def counted(n):
        text_bytes[n] = 0
        for art in make_corpus.articles(n, seed=5):
            text_bytes[n] += len(art["text"].encode("utf-8"))
            yield art

    for n in (1500, 24000):
        path = tmp_path / f"c{n}.{fmt}"
        arts = counted(n)
        (make_corpus.write_parquet if fmt == "parquet" else lambda p, a: make_corpus.write_jsonl(p, a, set()))(
            path, arts)
        r = subprocess.run([PY, "-c", _MEASURE, str(path), str(tmp_path / f"o{n}")], env=_env(),
                           capture_output=True, text=True, timeout=600)  # a memory test: generous on a loaded machine
        assert r.returncode == 0, r.stderr
        peaks[n] = json.loads(r.stdout)["peak_mb"]
    text_mb = (text_bytes[24000] - text_bytes[1500]) / 2**20  # the text the larger corpus adds
    assert text_mb > 50
    # Whole-corpus loading would add at least the text size; allow half of it as slack: Arrow's
    # memory pool varies by up to ~20 MB between Parquet runs whatever the corpus size.
    assert peaks[24000] - peaks[1500] < text_mb / 2, (peaks, text_mb)


# ------------------------------------------------------------------------------ real extractor

def test_real_extractor_same_output_everywhere(tmp_path, dask_cluster):
    pytest.importorskip("toolkit.attribution.extract")
    path = tmp_path / "c.jsonl"
    make_corpus.write_jsonl(path, make_corpus.articles(12, seed=7), set())
    outs = {}
    for name, kw in {"one": {}, "two": {"workers": 2},
                     "dask": {"engine": "dask", "scheduler": dask_cluster.scheduler_address}}.items():
        outs[name] = tmp_path / name
        summary = run_corpus(CorpusRun(path, outs[name], part_size=4, jsonl=True, **kw))
        assert summary["status"] == "complete" and summary["articles"] == 12
    q = read_quotes(outs["one"])
    assert len(q) > 12 and q["quote_id"].str.match(r"^q_[0-9a-f]{16}$").all()
    from toolkit.attribution.extract import extract_article
    from toolkit.ingest import make_article
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    direct = extract_article(make_article(first, f"{path}:1"))
    assert list(q[q["article_id"] == first["id"]]["quote_id"]) == [r["quote_id"] for r in direct]
    assert part_digests(outs["two"]) == part_digests(outs["one"]) == part_digests(outs["dask"])

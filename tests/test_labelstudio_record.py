"""The local task record of `qst push` (toolkit/labelstudio/record.py), against the REAL test server.

A re-push reads only tasks new or updated since the record; a record made stale (tasks deleted,
imported or edited behind qst's back, the project re-created) or damaged falls back to reading
every task, with exact counts and no duplicates; the record file holds no secret. What each push
read is asserted from its summary line `read N task(s) back from the server (...)`.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ls_server import LSServer, ls_server  # noqa: E402,F401
from test_labelstudio_scale import bench, flat, project_tasks  # noqa: E402

from toolkit.labelstudio import record, tasks as lst  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
QST = [sys.executable, "-m", "toolkit.cli"]
READ_RE = re.compile(r"read (\d+) task\(s\) back from the server \((incremental|full: .*?)\) duplicates:")


def quotes_file(tmp_path: Path, n: int, name: str = "quotes.jsonl") -> Path:
    path = tmp_path / name
    bench.make_quotes(n, path)
    return path


def push(server: LSServer, cache: Path, quotes: Path, title: str, *extra: str) -> tuple[str, int, str]:
    """One real `qst push`; (its stderr flattened, tasks read, how it read)."""
    env = dict(server.env(), QST_CACHE_DIR=str(cache))
    proc = subprocess.run([*QST, "push", str(quotes), "--project", title, "--rule", "lexicon", *extra], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    msg = flat(proc.stderr)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, msg
    found = READ_RE.search(msg)
    assert found, msg
    return msg, int(found.group(1)), found.group(2)


def record_files(cache: Path) -> list[Path]:
    return sorted(cache.glob(f"{record.KIND}-*.json"))


def distinct_on_server(server: LSServer, title: str) -> tuple[int, int]:
    qids = [t.data["quote_id"] for t in project_tasks(server.client(), title)]
    return len(qids), len(set(qids))


@pytest.mark.labelstudio
def test_repush_with_record_reads_only_new_and_edited_tasks(ls_server: LSServer, tmp_path: Path) -> None:  # noqa: F811
    cache, title = tmp_path / "cache", "record-new"
    q40 = quotes_file(tmp_path, 40)
    q30 = tmp_path / "q30.jsonl"
    q30.write_text("".join(q40.read_text().splitlines(keepends=True)[:30]))
    msg, n, how = push(ls_server, cache, q30, title)
    assert "30 added" in msg and n == 0 and how == "full: no record of this project yet", msg
    msg, n, how = push(ls_server, cache, q30, title)
    assert "0 added, 30 already present, 30 tasks in project" in msg and (n, how) == (0, "incremental"), msg
    msg, n, how = push(ls_server, cache, q40, title)
    assert "10 added, 30 already present, 40 tasks in project" in msg and (n, how) == (0, "incremental"), msg

    ls = ls_server.client()
    proj = next(p for p in ls.projects.list(title=title) if p.title == title)
    others = lst.quotes_to_tasks(pd.read_json(quotes_file(tmp_path, 43, "q43.jsonl"), lines=True), rule="lexicon")[40:]
    ls.projects.import_tasks(proj.id, request=others)  # 3 tasks imported behind qst's back: read, nothing else
    msg, n, how = push(ls_server, cache, q40, title)
    assert "0 added, 40 already present, 43 tasks in project (43 distinct" in msg and (n, how) == (3, "incremental"), msg

    first = min(project_tasks(ls, title), key=lambda t: t.id)  # a task's key edited in the Data Manager
    ls.tasks.update(id=first.id, data={**first.data, "quote_id": "q_edited_in_the_data_manager"})
    msg, n, how = push(ls_server, cache, q40, title)
    assert "1 added, 39 already present, 44 tasks in project (44 distinct" in msg and (n, how) == (1, "incremental"), msg
    assert distinct_on_server(ls_server, title) == (44, 44)
    msg, n, how = push(ls_server, cache, q40, title, "--full-read")
    assert "0 added, 40 already present, 44 tasks in project" in msg and (n, how) == (44, "full: --full-read asked for it")
    assert push(ls_server, cache, q40, title)[1:] == (0, "incremental")


@pytest.mark.labelstudio
def test_record_made_stale_falls_back_to_a_full_read(ls_server: LSServer, tmp_path: Path) -> None:  # noqa: F811
    cache, title = tmp_path / "cache", "record-stale"
    quotes = quotes_file(tmp_path, 20)
    push(ls_server, cache, quotes, title)
    ls = ls_server.client()
    tasks = sorted(project_tasks(ls, title), key=lambda t: t.id)
    for t in tasks[3:5]:  # two tasks deleted behind qst's back
        ls.tasks.delete(t.id)
    msg, n, how = push(ls_server, cache, quotes, title)
    assert "2 added, 18 already present, 20 tasks in project (20 distinct" in msg and "duplicates: none" in msg, msg
    assert n == 18 and how.startswith("full: the project holds 18 task(s)"), msg
    assert distinct_on_server(ls_server, title) == (20, 20)

    # one deleted and one imported outside qst: the count is the same, the record does not add up
    proj = next(p for p in ls.projects.list(title=title) if p.title == title)
    gone = min(project_tasks(ls, title), key=lambda t: t.id)
    ls.tasks.delete(gone.id)
    extra = lst.quotes_to_tasks(pd.read_json(quotes_file(tmp_path, 21, "q21.jsonl"), lines=True), rule="lexicon")[20:]
    ls.projects.import_tasks(proj.id, request=extra)
    msg, n, how = push(ls_server, cache, quotes, title)
    # the new task is read by the incremental read, then all 20 by the full read
    assert "1 added, 19 already present, 21 tasks in project (21 distinct" in msg and n == 21, msg
    assert how.startswith("full: the project holds 20 task(s) but the record and the new or updated ones make 21")
    assert distinct_on_server(ls_server, title) == (21, 21)
    assert push(ls_server, cache, quotes, title)[1:] == (0, "incremental")


@pytest.mark.labelstudio
def test_recreated_project_is_read_in_full(ls_server: LSServer, tmp_path: Path) -> None:  # noqa: F811
    cache, title = tmp_path / "cache", "record-again"
    quotes = quotes_file(tmp_path, 12)
    push(ls_server, cache, quotes, title)
    ls = ls_server.client()
    old = next(p for p in ls.projects.list(title=title) if p.title == title)
    ls.projects.delete(old.id)
    msg, n, how = push(ls_server, cache, quotes, title)
    assert "created" in msg and "12 added, 0 already present, 12 tasks in project" in msg, msg
    assert (n, how) == (0, "full: no record of this project yet")
    assert distinct_on_server(ls_server, title) == (12, 12)
    assert len(record_files(cache)) == 2  # one per (server, project id, created_at)
    assert push(ls_server, cache, quotes, title)[1:] == (0, "incremental")


@pytest.mark.labelstudio
def test_damaged_record_is_ignored_and_replaced(ls_server: LSServer, tmp_path: Path) -> None:  # noqa: F811
    cache, title = tmp_path / "cache", "record-damaged"
    quotes = quotes_file(tmp_path, 15)
    push(ls_server, cache, quotes, title)
    [path] = record_files(cache)
    good = json.loads(path.read_text())
    assert good["count"] == 15 and len(good["tasks"]) == 15
    path.write_text('{"format": 1, "project": ')  # cut half-way
    msg, n, how = push(ls_server, cache, quotes, title)
    assert "0 added, 15 already present, 15 tasks in project" in msg and n == 15, msg
    assert how.startswith("full: the record") and "cannot be read (JSONDecodeError)" in how
    assert json.loads(path.read_text())["tasks"] == good["tasks"]  # replaced by a whole one
    for damage, why in ((lambda r: r["tasks"].popitem(), "does not add up"),
                        (lambda r: r.update(format=0), "is of another format"),
                        (lambda r: r["project"].update(created_at="2001-01-01"), "is of another project"),
                        (lambda r: r["tasks"].update({next(iter(r["tasks"])): 7}), "is damaged")):
        rec = json.loads(path.read_text())
        damage(rec)
        path.write_text(json.dumps(rec))
        msg, n, how = push(ls_server, cache, quotes, title)
        assert n == 15 and how.startswith("full: the record") and why in how, (why, msg)
        assert "0 added, 15 already present, 15 tasks in project" in msg
    assert push(ls_server, cache, quotes, title)[1:] == (0, "incremental")
    assert distinct_on_server(ls_server, title) == (15, 15)


@pytest.mark.labelstudio
def test_record_holds_no_secret_and_no_cache_means_full_reads(ls_server: LSServer, tmp_path: Path,  # noqa: F811
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cache, title = tmp_path / "cache", "record-secret"
    quotes = quotes_file(tmp_path, 5)
    push(ls_server, cache, quotes, title)
    [path] = record_files(cache)
    text = path.read_text()
    assert ls_server.token not in text and ls_server.token[:12] not in text and ls_server.password not in text
    assert json.loads(text)["project"]["server"] == ls_server.url
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    # userinfo in the URL is dropped from the record (such a URL cannot reach the test server: it sends Basic auth)
    ident = record.identity("http://alice:s3cret-pw@127.0.0.1:9/ls/?token=abc#x", 3, "2026-01-01T00:00:00Z")
    assert ident["server"] == "http://127.0.0.1:9/ls"
    env_cache = tmp_path / "other"
    monkeypatch.setenv("QST_CACHE_DIR", str(env_cache))
    record.save(ident, record.Record(tasks={1: ("q_1", "t")}, max_id=1, count=1, since="2026-01-01T00:00:00.000000Z"))
    saved = record_files(env_cache)[0].read_text()
    assert "alice" not in saved and "s3cret" not in saved and "abc" not in saved
    assert record.load(ident)[0].tasks == {1: ("q_1", "t")}
    # QST_NO_CACHE: no record is written or read; every push reads every task
    env = dict(ls_server.env(), QST_CACHE_DIR=str(cache), QST_NO_CACHE="1")
    for _ in range(2):
        proc = subprocess.run([*QST, "push", str(quotes), "--project", "record-nocache", "--rule", "lexicon"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0 and "(full: the cache is off" in flat(proc.stderr), proc.stderr
    assert len(record_files(cache)) == 1


def test_rows_are_the_same_values_as_to_dict_records() -> None:
    """quotes_to_tasks builds rows column by column; same values and types as to_dict("records")."""
    df = pd.DataFrame({"quote_id": ["q_0000000000000001", None, "q_0000000000000003"],
                       "confidence": [0.5, float("nan"), 1.0], "n": [1, 2, 3], "flag": [True, False, True],
                       "mixed": [{"a": 1}, None, "x"], "text": pd.Series(["a", None, "c"], dtype="str")})
    frames = (df, df.astype({"quote_id": "string", "n": "Int64"}), df.astype({"quote_id": "object"}),
              pd.read_json(io.StringIO(df.to_json(orient="records"))), pd.DataFrame({"when": pd.to_datetime(["2024-01-01", None])}))
    for frame in frames:
        want, got = frame.to_dict("records"), lst._rows(frame)
        assert [{k: (type(v), repr(v)) for k, v in r.items()} for r in got] == \
               [{k: (type(v), repr(v)) for k, v in r.items()} for r in want]

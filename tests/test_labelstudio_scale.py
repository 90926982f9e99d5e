"""Label Studio at scale and under concurrency, against the REAL test server (tests/ls_server.py).

Two real `qst push` processes into one project at once (the push lease), a lease held by another
holder, duplicate tasks left by an unguarded import (reported; `--dedupe` deletes only copies
nobody worked on), the fast task-schema check agreeing with jsonschema, and the benchmark
script running end to end at a small size (its table printed; no timing is asserted).
"""

from __future__ import annotations

import copy
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ls_server import LSServer, ls_server  # noqa: E402,F401

from toolkit.labelstudio import lease as lslease, tasks as lst  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
QST = [sys.executable, "-m", "toolkit.cli"]
spec = importlib.util.spec_from_file_location("bench_labelstudio", ROOT / "scripts" / "bench_labelstudio.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def flat(text: str) -> str:
    return " ".join(text.split())


def project_tasks(ls, title: str) -> list:
    proj = next(p for p in ls.projects.list(title=title) if p.title == title)
    return list(ls.tasks.list(project=proj.id, fields="all", page_size=1000))


@pytest.mark.labelstudio
def test_two_concurrent_pushes_leave_no_duplicates(ls_server: LSServer, tmp_path: Path) -> None:  # noqa: F811
    quotes = tmp_path / "quotes.jsonl"
    bench.make_quotes(300, quotes)
    cmd = [*QST, "push", str(quotes), "--project", "concurrent", "--rule", "lexicon"]
    first = subprocess.Popen(cmd, cwd=ROOT, env=ls_server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    second = subprocess.Popen(cmd, cwd=ROOT, env=ls_server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outs = [(p.wait(timeout=600), *p.communicate()) for p in (first, second)]
    for code, _out, err in outs:
        assert "Traceback" not in err
        assert code == 0 or (code == 2 and "another qst push" in flat(err) and "wait for it to finish" in flat(err)), err
    assert any(code == 0 for code, _, _ in outs)
    tasks = project_tasks(ls_server.client(), "concurrent")
    qids = [t.data["quote_id"] for t in tasks]
    assert len(qids) == 300 and len(set(qids)) == 300
    ok = next(err for code, _, err in outs if code == 0)
    assert "300 tasks in project (300 distinct quote/target keys)" in flat(ok) and "duplicates: none" in flat(ok)
    # the refused run, run again later, adds nothing
    proc = subprocess.run(cmd, cwd=ROOT, env=ls_server.env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "0 added, 300 already present, 300 tasks in project" in flat(proc.stderr)


@pytest.mark.labelstudio
def test_held_lease_refuses_a_push_and_is_released(ls_server: LSServer, tmp_path: Path) -> None:  # noqa: F811
    from toolkit.labelstudio.client import Connection, ensure_project
    from toolkit.labelstudio.config import render_label_config

    conn = Connection(ls_server.url, ls_server.token, retries=1)
    project, _, _ = ensure_project(conn, "leased", render_label_config())
    held = lslease.acquire(conn, project.id, "leased", settle=0.1)
    quotes = tmp_path / "quotes.jsonl"
    bench.make_quotes(5, quotes)
    proc = subprocess.run([*QST, "push", quotes, "--project", "leased"], cwd=ROOT, env=ls_server.env(),
                          capture_output=True, text=True, timeout=300)
    msg = flat(proc.stderr)
    assert proc.returncode == 2 and "error: project 'leased': another qst push" in msg and held.holder in msg, msg
    assert "Traceback" not in proc.stderr and not project_tasks(ls_server.client(), "leased")
    lslease.release(held)
    desc = ls_server.client().projects.get(project.id).description
    assert "qst-push-lease" not in desc and desc.startswith("Quote stance")
    proc = subprocess.run([*QST, "push", quotes, "--project", "leased"], cwd=ROOT, env=ls_server.env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "5 added" in flat(proc.stderr)
    assert "qst-push-lease" not in ls_server.client().projects.get(project.id).description


@pytest.mark.labelstudio
def test_duplicates_reported_and_dedupe_keeps_annotated_copies(ls_server: LSServer, tmp_path: Path) -> None:  # noqa: F811
    ls = ls_server.client()
    quotes = tmp_path / "quotes.jsonl"
    bench.make_quotes(20, quotes)
    cmd = [*QST, "push", str(quotes), "--project", "dups"]
    subprocess.run(cmd, cwd=ROOT, env=ls_server.env(), check=True, capture_output=True, timeout=300)
    proj = next(p for p in ls.projects.list(title="dups") if p.title == "dups")
    tasks = lst.quotes_to_tasks(pd.read_json(quotes, lines=True))
    ls.projects.import_tasks(proj.id, request=tasks[:5])  # copies of 5 quotes, as an unguarded import leaves
    by_qid: dict[str, list] = {}
    for t in sorted(project_tasks(ls, "dups"), key=lambda t: t.id):
        by_qid.setdefault(t.data["quote_id"], []).append(t)
    a, b = tasks[0]["data"]["quote_id"], tasks[1]["data"]["quote_id"]
    stance = [{"from_name": "stance", "to_name": "quote", "type": "choices", "value": {"choices": ["favor"]}}]
    ls.annotations.create(id=by_qid[a][1].id, result=stance)            # a: only the copy annotated
    ls.annotations.create(id=by_qid[b][0].id, result=stance)            # b: both copies annotated
    ls.annotations.create(id=by_qid[b][1].id, result=stance)

    proc = subprocess.run(cmd, cwd=ROOT, env=ls_server.env(), capture_output=True, text=True, timeout=300)
    msg = flat(proc.stderr)
    assert proc.returncode == 0 and "0 added, 20 already present, 25 tasks in project (20 distinct" in msg, msg
    assert "duplicates: 5 quote/target key(s) held by more than one task, 5 extra task(s)" in msg and "--dedupe" in msg

    proc = subprocess.run([*cmd, "--dedupe"], cwd=ROOT, env=ls_server.env(), capture_output=True, text=True, timeout=300)
    msg = flat(proc.stderr)
    assert proc.returncode == 0 and "deleted 4 unannotated extra task(s), kept 1 extra annotated one(s)" in msg, msg
    left = project_tasks(ls, "dups")
    assert len(left) == 21 and sum(len(t.annotations) for t in left) == 3
    kept = {t.id for t in left}
    assert by_qid[a][1].id in kept and by_qid[a][0].id not in kept          # the annotated copy survives
    assert {by_qid[b][0].id, by_qid[b][1].id} <= kept                       # annotated copies are never deleted
    for qid in (t["data"]["quote_id"] for t in tasks[2:5]):
        assert by_qid[qid][0].id in kept and by_qid[qid][1].id not in kept  # the oldest copy stays


def _valid_task() -> dict:
    q = {"quote_id": "q_0123456789abcdef", "article_id": "a1", "text": "Wir warnen.", "context": "Er sagte: Wir warnen.",
         "speaker": "X", "type": "direct", "confidence": 0.5}
    return lst.quotes_to_tasks(pd.DataFrame([q]), rule="lexicon")[0]


MUTATIONS = {
    "valid": lambda t: None,
    "no data": lambda t: t.pop("data"),
    "extra top-level field": lambda t: t.update(oops=1),
    "quote_id pattern": lambda t: t["data"].update(quote_id="Q-1"),
    "quote_id number": lambda t: t["data"].update(quote_id=7),
    "confidence bool": lambda t: t["data"].update(confidence=True),
    "confidence string": lambda t: t["data"].update(confidence="0.5"),
    "no text": lambda t: t["data"].pop("text"),
    "prediction stance": lambda t: t["predictions"][0]["result"][0]["value"].update(choices=["maybe"]),
    "predictions not a list": lambda t: t.update(predictions={}),
    "score too big": lambda t: t["predictions"][0].update(score=7),
    "empty result": lambda t: t["predictions"][0].update(result=[]),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_fast_task_check_agrees_with_jsonschema(name: str) -> None:
    """The compiled (draft 7) check must reject exactly what the 2020-12 schema rejects."""
    import json

    task = copy.deepcopy(_valid_task())
    MUTATIONS[name](task)
    schema = json.loads(lst.TASK_SCHEMA.read_text(encoding="utf-8"))
    slow_ok = jsonschema.Draft202012Validator(schema).is_valid([task])
    try:
        lst._fast_validator()([task])  # noqa: SLF001
        fast_ok = True
    except Exception:
        fast_ok = False
    assert fast_ok == slow_ok
    if name != "prediction stance" and name not in ("score too big", "empty result"):  # the schema leaves these open
        assert slow_ok == (name == "valid")


@pytest.mark.labelstudio
def test_bench_script_prints_its_table(ls_server: LSServer, tmp_path: Path) -> None:  # noqa: F811
    env = dict(os.environ, QST_LS_TEST_URL=ls_server.url, QST_LS_TEST_TOKEN=ls_server.token,
               QST_LS_TEST_DATA_DIR=str(ls_server.data_dir))
    proc = subprocess.run([sys.executable, ROOT / "scripts" / "bench_labelstudio.py", "--tasks", "300",
                           "--json", tmp_path / "rows.json", "--keep", tmp_path / "work"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Label Studio bench: 300 tasks")
    steps = [line.split("|")[1].strip() for line in lines[3:]]
    assert steps[:7] == ["qst export (quotes -> task file)", "raw import (one POST of the task file)",
                         "qst push into the raw-imported project (no record: full read)",
                         "qst push into it again (with the record)", "qst push into it again --full-read",
                         "qst push (all new)", "qst push again (adds nothing)"]
    assert steps[7] == "qst pull (export snapshot)" and steps[8].startswith("qst import") and steps[9] == "qst agreement"
    read = [line.split("|")[3].strip() for line in lines[5:10]]  # what each push read back, from its summary
    assert read == ["300 (full)", "0 (incremental)", "300 (full)", "0 (full)", "0 (incremental)"], read
    rows = {r["step"]: r for r in __import__("json").loads((tmp_path / "rows.json").read_text())}
    imported = next(r for step, r in rows.items() if step.startswith("qst import"))
    assert rows["raw import (one POST of the task file)"]["n"] == 300 and imported["n"] == 600
    table = pd.read_parquet(tmp_path / "work" / "table.parquet")
    assert len(table) == 600 and table["quote_id"].nunique() == 300

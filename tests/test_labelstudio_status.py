"""`qst status` against a REAL Label Studio server (tests/ls_server.py): two annotators' work,
counted per annotator (done, skipped, left in their queue, median time, agreement so far)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ls_server import LSServer, annotator_account, ls_server  # noqa: E402,F401

from toolkit.labelstudio import annotations as lsa  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "labelstudio"
QST = [sys.executable, "-m", "toolkit.cli"]


def qst(*args: object, env: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run([*QST, *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return proc


def stance(label: str) -> list[dict]:
    return [{"from_name": "stance", "to_name": "quote", "type": "choices", "value": {"choices": [label]}}]


@pytest.mark.labelstudio
def test_status_per_annotator(ls_server: LSServer) -> None:  # noqa: F811
    env, project = ls_server.env(), "Status check"
    qst("push", FIX / "quotes.jsonl", "--project", project, env=env)
    ls = ls_server.client()
    proj = next(p for p in ls.projects.list(title=project) if p.title == project)
    ls.projects.update(proj.id, maximum_annotations=2)  # two annotators per task
    tasks = sorted(ls.tasks.list(project=proj.id), key=lambda t: t.id)
    assert len(tasks) == 8
    a = annotator_account(ls_server, "status-a@example.com")
    b = annotator_account(ls_server, "status-b@example.com")
    a_labels = ["against", "favor", "neutral", "unclear", "against"]
    for t, label, lead in zip(tasks, a_labels, (4.0, 6.0, 8.0, 10.0, 12.0)):
        a.annotations.create(id=t.id, result=stance(label), lead_time=lead)
    a.annotations.create(id=tasks[5].id, result=[], was_cancelled=True, lead_time=1.0)  # A skips task 6
    for t, label, lead in zip(tasks, ["against", "favor", "against"], (2.0, 3.0, 4.0)):
        b.annotations.create(id=t.id, result=stance(label), lead_time=lead)
    b.annotations.create(id=tasks[3].id, result=[], was_cancelled=True)  # B skips task 4

    status = json.loads(qst("status", "--project", project, "--json", env=env).stdout)
    assert (status["tasks"], status["annotators_per_task"]) == (8, 2)
    assert (status["tasks_complete"], status["tasks_double_annotated"]) == (3, 3)
    rows = {r["annotator"]: r for r in status["annotators"]}
    # the snapshot names each annotator's e-mail, so the pseudonym is keyed on it (toolkit.labelstudio.identity)
    ida, idb = (lsa.anonymise({"id": u.id, "email": u.email}) for u in (a.users.whoami(), b.users.whoami()))
    assert set(rows) == {ida, idb}
    assert {k: rows[ida][k] for k in ("done", "skipped", "remaining", "median_lead_time", "double_annotated")} == {
        "done": 5, "skipped": 1, "remaining": 2, "median_lead_time": 8.0, "double_annotated": 3}
    # B: tasks 5-8 are left (task 5 has one annotation, 6 only A's skip, 7 and 8 none); B skipped 4
    assert {k: rows[idb][k] for k in ("done", "skipped", "remaining", "median_lead_time", "double_annotated")} == {
        "done": 3, "skipped": 1, "remaining": 4, "median_lead_time": 3.0, "double_annotated": 3}
    assert rows[ida]["agreement"] == rows[idb]["agreement"] == pytest.approx(2 / 3, abs=1e-3)
    alpha = status["krippendorff_alpha"]
    assert alpha["value"] is not None and -1 <= alpha["value"] < 1 and alpha["n_items"] == 3, alpha
    # what Label Studio's own queue offers B is one of the tasks counted as left, never one B did or skipped
    r = httpx.get(f"{ls_server.url}/api/projects/{proj.id}/next", headers={"Authorization": f"Token {b.qst_token}"},
                  timeout=60)
    assert r.status_code == 200 and r.json()["id"] in {t.id for t in tasks[4:]}, r.text[:300]

    table = qst("status", "--project", project, env=dict(env, COLUMNS="200")).stdout
    assert ida in table and idb in table and "67%" in table and "8.0" in table
    assert ls_server.token not in table

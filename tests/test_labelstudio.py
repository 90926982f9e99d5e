"""Label Studio round trip against a REAL server (tests/ls_server.py) plus the offline parts.

Offline: label config rendering/escaping, task export and validation, malformed exports.
Server: push (twice, no duplicates), add quotes, resume an interrupted push, two annotators
(one skips), a draft and a foreign task, pull, JSON/JSON_MIN/CSV import, every count and
label, personal access tokens, a down server and a 5xx server, and no token leaks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ls_server import LSServer, free_port, ls_server  # noqa: E402,F401

from toolkit.labelstudio import annotations as lsa, config as lsc, tasks as lst  # noqa: E402
from toolkit.errors import InputError  # noqa: E402
from toolkit.attribution.extract import article_sentences  # noqa: E402
from toolkit.ingest import read_articles  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "labelstudio"
QST = [sys.executable, "-m", "toolkit.cli"]
TARGET = "militärische Zusammenarbeit zwischen Russland und Nordkorea"


def qst(*args: str, env: dict | None = None, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run([*QST, *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"qst {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def quotes(name: str = "quotes.jsonl") -> list[dict]:
    return [json.loads(line) for line in (FIX / name).read_text(encoding="utf-8").splitlines() if line.strip()]


# ----------------------------------------------------------------------------------- offline

def test_label_config_renders_escaped_plain_text(tmp_path: Path) -> None:
    reg = tmp_path / "speakers.yaml"
    reg.write_text('speakers:\n  - {id: evil, name: "A <b>\\"&amp; Co</b>", kind: person}\n'
                   '  - {id: putin, name: Vladimir Putin, kind: person}\n', encoding="utf-8")
    xml = lsc.render_label_config(speakers_file=reg)
    root = ET.fromstring(xml)  # escaping kept it well-formed
    tags = {el.tag for el in root.iter()}
    assert "HyperText" not in tags and "Text" in tags
    text_values = {el.get("name"): el.get("value") for el in root.iter("Text")}
    # in this order: Label Studio's data manager lists the config's fields first, so a lead scans
    # by quote and speaker, and the target (the same on every row) comes last
    assert list(text_values.items()) == [("quote", "$text"), ("speaker", "$speaker_display"), ("context", "$context"),
                                         ("suggestion", "$suggestion"), ("target", "$target")]
    # the quote is highlighted inside the context by a read-only region of the hidden quote_span Labels
    (labels,) = root.iter("Labels")
    assert (labels.get("name"), labels.get("toName"), [x.get("value") for x in labels]) == ("quote_span", "context", ["Zitat"])
    from label_studio_sdk.label_interface import LabelInterface
    li = LabelInterface(xml)
    (task,) = lst.quotes_to_tasks(pd.DataFrame(quotes()[:1]), rule="lexicon")
    assert li.validate_prediction(task["predictions"][0], return_errors=True) == []
    choices = {el.get("name"): el for el in root.iter("Choices")}
    stance = [(c.get("value"), c.get("hotkey")) for c in choices["stance"]]
    assert stance == [("favor", "1"), ("against", "2"), ("neutral", "3"), ("unclear", "4")]
    assert [c.get("value") for c in choices["speaker_review"]] == ["confirmed", "corrected", "not_a_quote"]
    assert [c.get("value") for c in choices["speaker_choice"]] == ['A <b>"&amp; Co</b>', "Vladimir Putin"]
    assert {el.get("name") for el in root.iter("TextArea")} == {"speaker_free", "comment"}
    # the bundled registry is used by default
    default = ET.fromstring(lsc.render_label_config())
    names = [c.get("value") for el in default.iter("Choices") if el.get("name") == "speaker_choice" for c in el]
    assert "Dmitri Peskov" in names and "Matthew Miller" in names


def test_export_cli_tasks_predictions_and_schema(tmp_path: Path) -> None:
    out = tmp_path / "tasks.json"
    qst("export", FIX / "quotes.jsonl", "--out", out, "--rule", "lexicon")
    tasks = json.loads(out.read_text(encoding="utf-8"))
    qs = quotes()
    assert [t["data"]["quote_id"] for t in tasks] == [q["quote_id"] for q in qs]
    lst.validate_tasks(tasks)
    for t, q in zip(tasks, qs):
        d = t["data"]
        assert d["text"] == q["text"] and d["context"] == q["context"]  # no --articles: the quote's own sentence(s)
        assert d["context"][d["quote_start"]:d["quote_end"]] == q["text"]
        assert d["target"] == TARGET and d["quote_type"] == q["type"]
        assert list(d)[:2] == ["text", "speaker_display"]
        # the one prediction is the read-only highlight; the rule's stance is a suggestion, not pre-selected
        (pred,) = t["predictions"]
        (region,) = pred["result"]
        assert pred["model_version"] == lst.CONTEXT_MODEL_VERSION and region["readonly"] is True
        assert (region["from_name"], region["to_name"], region["type"]) == ("quote_span", "context", "labels")
        assert (region["value"]["start"], region["value"]["end"]) == (d["quote_start"], d["quote_end"])
        assert d["suggestion_model_version"] == "rule-lexicon-v1" and d["suggestion"].startswith(d["suggestion_stance"])
    # "Kiew die Verwendung ... nicht kontrolliert" has no cue -> neutral; "instabilisieren" -> against
    by_id = {t["data"]["quote_id"]: t["data"]["suggestion_stance"] for t in tasks}
    assert by_id["q_ced34c8611201353"] == "against"
    assert "without --articles the context is the quote's own sentence(s)" in " ".join(
        qst("export", FIX / "quotes.jsonl", "--out", tmp_path / "t0.json").stderr.split())

    # with the articles: the sentence before and after, from the extraction's own sentence spans
    out_a = tmp_path / "tasks_a.json"
    qst("export", FIX / "quotes.jsonl", "--out", out_a, "--articles", ROOT / "annotations" / "articles")
    articles = {a["id"]: a["text"] for a in read_articles(ROOT / "annotations" / "articles")}
    for t, q in zip(json.loads(out_a.read_text(encoding="utf-8")), qs):
        d = t["data"]
        assert d["context"][d["quote_start"]:d["quote_end"]] == q["text"]
        text_ = articles[q["article_id"]]
        ws = q["start"] - d["quote_start"]
        assert text_[ws:ws + len(d["context"])] == d["context"]
        own = q["context"]
        assert own in d["context"] and len(d["context"]) > len(own)
        sents = article_sentences(text_)
        k = [s for s, _ in sents].index(q["context_start"])
        if k > 0:
            assert d["context"].startswith(text_[sents[k - 1][0]:sents[k - 1][1]])

    preds = tmp_path / "preds.csv"
    pd.DataFrame({"quote_id": [qs[0]["quote_id"], qs[1]["quote_id"]], "label": ["favor", "neutral"],
                  "score": [0.8, 0.55]}).to_csv(preds, index=False)
    out2 = tmp_path / "tasks2.json"
    qst("export", FIX / "quotes.jsonl", "--out", out2, "--predictions", preds, "--target", "Sanktionen gegen Russland")
    tasks2 = json.loads(out2.read_text(encoding="utf-8"))
    assert sum(1 for t in tasks2 if t["data"]["suggestion_stance"]) == 2
    assert {k: tasks2[0]["data"][k] for k in ("suggestion_stance", "suggestion_model_version", "suggestion_score")} == {
        "suggestion_stance": "favor", "suggestion_model_version": "preds", "suggestion_score": 0.8}
    assert tasks2[2]["data"]["suggestion"] == lst.NO_SUGGESTION and tasks2[2]["predictions"][0]["score"] is None
    assert {t["data"]["target"] for t in tasks2} == {"Sanktionen gegen Russland"}


def test_bare_tasks_from_other_stages_are_completed(tmp_path: Path) -> None:
    """Tasks whose data is a bare quote (as `qst predict` writes them) get display fields, keep predictions."""
    q = quotes()[0]
    bare = [{"data": {"quote_id": q["quote_id"], "article_id": q["article_id"], "text": q["text"],
                      "context": q["context"], "speaker": None, "speaker_mention": "er", "quote_type": "direct"},
             "predictions": [lst.prediction("favor", "tfidf-v1", 0.7)]}]
    f = tmp_path / "pred.json"
    f.write_text(json.dumps(bare, ensure_ascii=False), encoding="utf-8")
    (task,) = lst.read_tasks_or_quotes(f)
    assert task["data"]["speaker_display"] == "(Sprecher unbekannt) – im Text: „er“"
    assert task["data"]["target"] == TARGET
    assert (task["data"]["suggestion_stance"], task["data"]["suggestion_model_version"]) == ("favor", "tfidf-v1")
    assert task["predictions"][0]["result"][0]["from_name"] == "quote_span"
    assert lst.complete_task(json.loads(json.dumps(task)), TARGET) == task  # idempotent
    bare[0]["data"]["quote_id"] = "nope"
    f.write_text(json.dumps(bare), encoding="utf-8")
    with pytest.raises(InputError, match=r"task #1.*nope"):
        lst.read_tasks_or_quotes(f)


def test_export_bad_quote_names_row(tmp_path: Path) -> None:
    bad = tmp_path / "q.jsonl"
    rows = quotes()[:3]
    rows[2]["quote_id"] = "Q-7"
    bad.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    proc = qst("export", bad, "--out", tmp_path / "t.json", check=False)
    assert proc.returncode == 2 and "row 3" in proc.stderr and "Q-7" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "t.json").exists()


def test_import_malformed_export_names_task(tmp_path: Path) -> None:
    task = {"id": 42, "data": {"quote_id": "q_0123456789abcdef"}, "annotations": [
        {"id": 7, "completed_by": 1, "was_cancelled": False,
         "result": [{"from_name": "stance", "to_name": "quote", "type": "choices", "value": {"choices": ["maybe"]}}]}]}
    f = tmp_path / "bad.json"
    f.write_text(json.dumps([task]), encoding="utf-8")
    proc = qst("import", f, check=False)
    assert proc.returncode == 2 and "task 42" in proc.stderr and "'maybe'" in proc.stderr, proc.stderr
    f.write_text(json.dumps([{"id": 5, "data": {}, "annotations": {"oops": 1}}]), encoding="utf-8")
    proc = qst("import", f, check=False)
    assert proc.returncode == 2 and "task 5" in proc.stderr and "annotations is not a list" in proc.stderr
    with pytest.raises(InputError, match=r"record #2.*no task id"):
        lsa.detect_and_normalise(b'[{"id": 1, "annotator": 1, "annotation_id": 1, "quote_id": "q_0123456789abcdef"},'
                                 b' {"annotator": 2}]', "x.json")


# ----------------------------------------------------------------------------------- server

def stance_result(label: str) -> list[dict]:
    return [{"from_name": "stance", "to_name": "quote", "type": "choices", "value": {"choices": [label]}}]


def choice(name: str, value: str) -> dict:
    return {"from_name": name, "to_name": "quote", "type": "choices", "value": {"choices": [value]}}


def text(name: str, value: str) -> dict:
    return {"from_name": name, "to_name": "quote", "type": "textarea", "value": {"text": [value]}}


@pytest.mark.labelstudio
def test_round_trip(ls_server: LSServer, tmp_path: Path) -> None:  # noqa: F811
    env = ls_server.env()
    outputs: list[str] = []
    project = "Stance round trip"

    def run(*args: str, **kw) -> subprocess.CompletedProcess:
        proc = qst(*args, env=env, **kw)
        outputs.extend([proc.stdout, proc.stderr])
        return proc

    ls = ls_server.client()
    # 1. push with rule pre-annotations
    run("push", FIX / "quotes.jsonl", "--project", project, "--rule", "lexicon")
    proj = next(p for p in ls.projects.list(title=project) if p.title == project)
    full = ls.projects.get(proj.id)
    assert full.model_version == lst.CONTEXT_MODEL_VERSION  # else LS hides the highlight
    assert "<Text name=\"quote\" value=\"$text\"/>" in full.label_config
    tasks = list(ls.tasks.list(project=proj.id, fields="all"))
    assert len(tasks) == 8 and all(len(t.predictions) == 1 for t in tasks)

    # 2. same quotes again: nothing added
    proc = run("push", FIX / "quotes.jsonl", "--project", project, "--rule", "lexicon")
    assert "0 added, 8 already present" in " ".join(proc.stderr.split())
    assert len(list(ls.tasks.list(project=proj.id))) == 8

    # 3. an interrupted push: one of the three new tasks landed, then the run died
    more = lst.quotes_to_tasks(pd.DataFrame(quotes("quotes_more.jsonl")), rule="lexicon")
    ls.projects.import_tasks(proj.id, request=[more[8]])
    proc = run("push", FIX / "quotes_more.jsonl", "--project", project, "--rule", "lexicon", "--batch-size", "1")
    assert "2 added, 9 already present" in " ".join(proc.stderr.split())
    tasks = list(ls.tasks.list(project=proj.id, fields="all"))
    ids = [t.data["quote_id"] for t in tasks]
    assert len(ids) == 11 and len(set(ids)) == 11
    assert set(ids) == {q["quote_id"] for q in quotes("quotes_more.jsonl")}

    # 4. a task that is not ours (no quote_id) in the same project
    foreign = {"text": "Fremder Text", "context": "Fremder Kontext", "speaker_display": "niemand", "target": TARGET,
               "suggestion": lst.NO_SUGGESTION}  # every $field of the config must be in the data
    ls.projects.import_tasks(proj.id, request=[{"data": foreign}])
    tasks = {t.data.get("quote_id"): t for t in ls.tasks.list(project=proj.id, fields="all")}
    assert len(tasks) == 12

    # 5. two annotators: admin (id 1) and a second user created through the API
    admin = ls.users.whoami()
    second = ls.users.create(username="annotator2", email="annotator2@example.com", first_name="Zweite")
    qids = [q["quote_id"] for q in quotes("quotes_more.jsonl")]
    admin_labels = {qids[0]: "against", qids[1]: "favor", qids[2]: "neutral", qids[3]: "unclear",
                    qids[4]: "against", qids[5]: "against"}
    second_labels = {qids[0]: "against", qids[1]: "neutral", qids[2]: "neutral", qids[3]: "against"}
    extra = {qids[1]: [choice("speaker_review", "corrected"), choice("speaker_choice", "Dmitri Peskov")],
             qids[2]: [choice("speaker_review", "corrected"), text("speaker_free", "Kim Jong Un")],
             # both the registry choice and a different free text: flagged, not silently the free text
             qids[5]: [choice("speaker_review", "corrected"), choice("speaker_choice", "Dmitri Peskov"),
                       text("speaker_free", "Sergej Lawrow")],
             qids[3]: [choice("speaker_review", "not_a_quote"), text("comment", "Das ist eine Überschrift.")],
             qids[0]: [choice("speaker_review", "confirmed")]}
    for qid, label in admin_labels.items():
        ls.annotations.create(id=tasks[qid].id, result=stance_result(label) + extra.get(qid, []), lead_time=4.5)
    for qid, label in second_labels.items():
        ls.annotations.create(id=tasks[qid].id, result=stance_result(label), completed_by=second.id, lead_time=2.0)
    # the second annotator skips qids[4]
    ls.annotations.create(id=tasks[qids[4]].id, result=[], was_cancelled=True, completed_by=second.id)
    # a draft on qids[6] (never submitted) and an annotation on the foreign task
    r = httpx.post(f"{ls_server.url}/api/tasks/{tasks[qids[6]].id}/drafts",
                   headers={"Authorization": f"Token {ls_server.token}"},
                   json={"result": stance_result("favor"), "lead_time": 1.0}, timeout=30)
    assert r.status_code in (200, 201), r.text
    ls.annotations.create(id=tasks[None].id, result=stance_result("favor"))

    # 6. pull: snapshot export -> table + reconciliation
    out = tmp_path / "pull" / "annotations.json"
    run("pull", "--project", project, "--out", out, "--quotes", FIX / "quotes_more.jsonl")
    table = pd.read_parquet(out.with_suffix(".parquet"))
    recon = json.loads((out.parent / "annotations.reconciliation.json").read_text())
    assert list(table.columns) == lsa.ANNOTATION_COLUMNS
    assert recon["tasks_in"] == 12
    assert recon["annotations_in"] == 6 + 4 + 1 + 1 + 1  # admin, second, cancelled, foreign, draft
    assert recon["rows_out"] == len(table) == 11
    assert recon["set_aside"] == {"draft": 1, "no_quote_id": 1}
    assert recon["set_aside_task_ids"]["no_quote_id"] == [tasks[None].id]
    assert recon["set_aside_task_ids"]["draft"] == [tasks[qids[6]].id]
    assert recon["cancelled_rows"] == 1 and recon["balanced"] is True
    assert recon["tasks_without_annotations"] == 12 - 7 - 0  # qids[6..10] (draft only counts as none)

    # pseudonyms of the e-mails the snapshot export carries (ids restart at 1 on every server)
    a1, a2 = lsa.anonymise({"id": admin.id, "email": admin.email}), lsa.anonymise({"id": second.id, "email": second.email})
    assert set(table["annotator"]) == {a1, a2} and a1 != a2
    got = {(r.quote_id, r.annotator): r for r in table.itertuples()}
    for qid, label in admin_labels.items():
        assert got[(qid, a1)].stance == label and got[(qid, a1)].lead_time == 4.5
    for qid, label in second_labels.items():
        assert got[(qid, a2)].stance == label
    skipped = got[(qids[4], a2)]
    assert skipped.was_cancelled and pd.isna(skipped.stance)
    assert table["was_cancelled"].sum() == 1
    assert got[(qids[1], a1)].speaker_review == "corrected" and got[(qids[1], a1)].speaker_corrected == "Dmitri Peskov"
    assert got[(qids[2], a1)].speaker_corrected == "Kim Jong Un"
    assert got[(qids[3], a1)].speaker_review == "not_a_quote" and got[(qids[3], a1)].comment == "Das ist eine Überschrift."
    assert got[(qids[0], a1)].speaker_review == "confirmed" and pd.isna(got[(qids[0], a2)].speaker_review)
    conflict = got[(qids[5], a1)]
    assert (conflict.speaker_corrected, conflict.speaker_conflict) == ("Sergej Lawrow", "Dmitri Peskov")
    assert table["speaker_conflict"].notna().sum() == 1
    assert recon["speaker_conflicts"] == 1 and recon["speaker_conflict_rows"] == [
        {"task_id": tasks[qids[5]].id, "quote_id": qids[5], "annotator": a1, "speaker_choice": "Dmitri Peskov",
         "speaker_free": "Sergej Lawrow"}]
    pulled = " ".join(outputs[-1].split())
    assert f"warning: 1 speaker correction(s) fill both the registry choice and a different free text" in pulled
    assert f"task {tasks[qids[5]].id} ({a1}): choice 'Dmitri Peskov', free text 'Sergej Lawrow'" in pulled
    # predictions joined back: model version and whether the annotator changed the pre-annotation
    rule = {t["data"]["quote_id"]: t["data"]["suggestion_stance"] for t in more}
    for (qid, ann), row in got.items():
        assert row.prediction_model_version == "rule-lexicon-v1" and row.prediction_stance == rule[qid]
        if not pd.isna(row.stance):
            assert bool(row.changed_from_prediction) == (row.stance != rule[qid])
    assert set(table["target"]) == {TARGET} and not table["is_ground_truth"].any()
    jsonl = [json.loads(x) for x in out.with_suffix(".jsonl").read_text().splitlines()]
    assert len(jsonl) == 11

    # 7. import of the same snapshot file gives the same table
    proc = run("import", out, "--out", tmp_path / "reimport", "--quotes", FIX / "quotes_more.jsonl")
    again = pd.read_parquet(tmp_path / "reimport.parquet")
    pd.testing.assert_frame_equal(again.drop(columns=["prediction_stance", "prediction_model_version",
                                                      "changed_from_prediction"]),
                                  table.drop(columns=["prediction_stance", "prediction_model_version",
                                                      "changed_from_prediction"]))

    # 8. the quick exports JSON_MIN and CSV (submitted annotations only, by LS design); they name
    # annotators by user id only, so the server's users list (GET /api/users) maps them to e-mails
    users = tmp_path / "users.json"
    users.write_text(httpx.get(f"{ls_server.url}/api/users", headers={"Authorization": f"Token {ls_server.token}"},
                               timeout=30).text, encoding="utf-8")
    for fmt, suffix in (("JSON_MIN", ".json"), ("CSV", ".csv")):
        raw = b"".join(ls.projects.exports.download_sync(proj.id, export_type=fmt, download_all_tasks=True))
        f = tmp_path / f"export_{fmt.lower()}{suffix}"
        f.write_bytes(raw)
        bare = run("import", f, "--quotes", FIX / "quotes_more.jsonl", "--out", tmp_path / f"bare_{fmt}")
        assert "known only by Label Studio user id" in " ".join(bare.stderr.split())
        assert set(pd.read_parquet(tmp_path / f"bare_{fmt}.parquet")["annotator"]).isdisjoint({a1, a2})
        run("import", f, "--quotes", FIX / "quotes_more.jsonl", "--users", users)
        t2 = pd.read_parquet(f.with_suffix(".parquet"))
        r2 = json.loads(f.with_name(f.stem + ".reconciliation.json").read_text())
        assert r2["format"] == fmt
        assert r2["rows_out"] == len(t2) == 10, (fmt, r2)  # the skipped one is not in quick exports
        assert r2["set_aside"] == {"no_quote_id": 1} and r2["balanced"]
        sub = table[~table["was_cancelled"]]
        def key(df: pd.DataFrame) -> dict:
            cols = ["stance", "speaker_review", "speaker_corrected", "comment", "speaker_conflict",
                    "prediction_stance", "prediction_model_version"]  # the suggestion rides in the task data
            return {(r["quote_id"], r["annotator"]): tuple(None if pd.isna(r[c]) else r[c] for c in cols)
                    for r in df.to_dict("records")}
        want, have = key(sub), key(t2)
        assert have == want, fmt

    # 9. the token appears in no output and no file we wrote, nor in the server's log
    for path in [*tmp_path.rglob("*"), ls_server.log]:
        if path.is_file():
            assert ls_server.token not in path.read_text(errors="replace"), path
    for text_ in outputs:
        assert ls_server.token not in text_


@pytest.mark.labelstudio
def test_personal_access_token(ls_server: LSServer, tmp_path: Path) -> None:  # noqa: F811
    """A personal access token (JWT refresh token) works through the SDK's refresh flow."""
    from toolkit.labelstudio.client import Connection

    ls = ls_server.client()
    try:
        pat = ls.tokens.create(request_options={"max_retries": 0}).token
    except Exception as exc:  # 409: one already exists for this user -> rotate is not needed here
        pytest.fail(f"could not create a personal access token: {exc}")
    conn = Connection(ls_server.url, pat, retries=1)
    assert conn.client._client_wrapper._tokens_client._use_legacy_token is False  # noqa: SLF001
    env = dict(ls_server.env(), LABEL_STUDIO_API_KEY=pat)
    proc = qst("push", FIX / "quotes.jsonl", "--project", "PAT project", env=env)
    assert "8 added" in " ".join(proc.stderr.split())
    assert pat not in proc.stdout + proc.stderr
    proc = qst("pull", "--project", "PAT project", "--out", tmp_path / "a.json", env=env)
    recon = json.loads((tmp_path / "a.reconciliation.json").read_text())
    assert recon["tasks_in"] == 8 and recon["rows_out"] == 0 and recon["tasks_without_annotations"] == 8
    for p in tmp_path.iterdir():
        assert pat not in p.read_text(errors="replace")
    bad = qst("pull", "--project", "PAT project", "--out", tmp_path / "b.json",
              env=dict(env, LABEL_STUDIO_API_KEY="0" * 40), check=False)
    assert bad.returncode == 2 and "rejected the API key" in bad.stderr and "0" * 40 not in bad.stderr


@pytest.mark.labelstudio
def test_pushed_stance_predictions_become_suggestions(ls_server: LSServer, tmp_path: Path) -> None:  # noqa: F811
    """The public path for `qst predict` / `qst select` output: a task file whose tasks carry a stance
    prediction (and meta) is pushed; on the server each task shows the stance as its suggestion
    (data.suggestion_*, not pre-selected), keeps its meta, carries only the highlight prediction,
    and the import reads the suggestion back as prediction_*."""
    from toolkit.stance.predict import labelstudio_predictions

    env, project = ls_server.env(), "Stance from a model"
    qs = pd.DataFrame(quotes()[:3])
    preds = pd.DataFrame({"quote_id": qs["quote_id"], "label": ["favor", "against", "neutral"], "score": [0.9, 0.55, 0.7]})
    written = labelstudio_predictions(qs, preds, "tfidf-v1")
    for rank, t in enumerate(written, start=1):
        t["meta"] = {"qst_select": {"strategy": "uncertainty", "rank": rank}}
    f = tmp_path / "selected.json"
    f.write_text(json.dumps(written, ensure_ascii=False), encoding="utf-8")
    said = lambda proc: " ".join((proc.stdout + proc.stderr).split())  # noqa: E731
    assert "3 added, 0 already present" in said(qst("push", f, "--project", project, env=env))
    again = said(qst("push", f, "--project", project, env=env))
    assert "0 added, 3 already present, 3 tasks in project" in again
    bad = qst("push", f, "--project", project, "--model-version", "tfidf-v1", env=env, check=False)
    assert bad.returncode == 2 and "qst-quote-in-context-v1" in bad.stderr and "Traceback" not in bad.stderr

    ls = ls_server.client()
    proj = next(p for p in ls.projects.list(title=project) if p.title == project)
    assert ls.projects.get(proj.id).model_version == lst.CONTEXT_MODEL_VERSION
    on_server = {t.data["quote_id"]: t for t in ls.tasks.list(project=proj.id, fields="all")}
    assert len(on_server) == 3
    for t, (label, score) in zip(written, zip(preds["label"], preds["score"])):
        remote = on_server[t["data"]["quote_id"]]
        d = remote.data
        assert (d["suggestion_stance"], d["suggestion_model_version"]) == (label, "tfidf-v1")
        assert d["suggestion_score"] == pytest.approx(score)
        assert d["suggestion"].startswith(label) and "tfidf-v1" in d["suggestion"]
        assert remote.meta["qst_select"] == t["meta"]["qst_select"]
        (pred,) = ls.predictions.list(task=remote.id)
        assert pred.model_version == lst.CONTEXT_MODEL_VERSION and [r["from_name"] for r in pred.result] == ["quote_span"]
    first = on_server[written[0]["data"]["quote_id"]]
    ls.annotations.create(id=first.id, result=stance_result("against"), lead_time=3.0)
    out = tmp_path / "pulled.json"
    qst("pull", "--project", project, "--out", out, env=env)
    (row,) = pd.read_parquet(tmp_path / "pulled.parquet").to_dict("records")
    assert (row["stance"], row["prediction_stance"], row["prediction_model_version"], row["changed_from_prediction"]) == (
        "against", "favor", "tfidf-v1", True)


def test_down_server_retries_then_clear_error(tmp_path: Path) -> None:
    port = free_port()  # nothing listens here: a real refused connection
    env = {**__import__("os").environ, "LABEL_STUDIO_URL": f"http://127.0.0.1:{port}",
           "LABEL_STUDIO_API_KEY": "secret-token-that-must-not-leak"}
    t0 = time.monotonic()
    proc = qst("push", FIX / "quotes.jsonl", "--project", "x", "--retries", "2", env=env, check=False)
    took = time.monotonic() - t0
    msg = " ".join(proc.stderr.split())
    assert proc.returncode == 2, proc.stderr
    assert f"cannot reach Label Studio at http://127.0.0.1:{port}" in msg and "after 2 retries" in msg
    assert took >= 2.5  # backoff 1 s + 2 s (±10 % jitter) before giving up
    assert "secret-token-that-must-not-leak" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr


class _Always503(BaseHTTPRequestHandler):
    hits: list[str] = []

    def _answer(self) -> None:
        type(self).hits.append(self.path)
        body = b'{"detail": "upstream unavailable"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, *args) -> None:  # keep test output clean
        pass


def test_5xx_server_retries_then_clear_error(tmp_path: Path) -> None:
    _Always503.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Always503)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {**__import__("os").environ, "LABEL_STUDIO_URL": f"http://127.0.0.1:{server.server_port}",
               "LABEL_STUDIO_API_KEY": "secret-token-that-must-not-leak"}
        proc = qst("pull", "--project", "x", "--out", tmp_path / "a.json", "--retries", "2", env=env, check=False)
    finally:
        server.shutdown()
        server.server_close()
    msg = " ".join(proc.stderr.split())
    assert proc.returncode == 2
    assert "answered HTTP 503" in msg and "after 2 retries" in msg and "upstream unavailable" in msg
    assert len(_Always503.hits) == 3  # first try + 2 retries, then it stopped
    assert all(h.startswith("/api/projects") for h in _Always503.hits)
    assert "secret-token-that-must-not-leak" not in proc.stdout + proc.stderr
    assert not (tmp_path / "a.json").exists()

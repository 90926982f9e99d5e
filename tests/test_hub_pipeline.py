"""qst run (toolkit.pipeline): stages wired to the real stage modules, and clear stops on missing input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from toolkit import pipeline
from toolkit.errors import ToolkitError

ROOT = Path(__file__).resolve().parents[1]
FIX = Path(__file__).parent / "fixtures" / "hub"


def test_extract_stage_on_the_seed_articles(tmp_path):
    quotes, stage = pipeline.stage_extract(ROOT / "annotations" / "articles", tmp_path)
    assert stage.counts["articles"] == 5 and stage.counts["quotes"] == len(quotes) > 0
    written = [json.loads(line) for line in (tmp_path / "quotes" / "quotes.jsonl").read_text().splitlines()]
    assert [q["quote_id"] for q in written] == quotes["quote_id"].tolist()
    assert quotes["article_id"].nunique() == 5


def test_tasks_stage_makes_one_task_per_quote(tmp_path):
    quotes = pd.read_json(FIX / "quotes.jsonl", lines=True)
    tasks, stage = pipeline.stage_tasks(quotes, tmp_path)
    assert stage.counts["tasks"] == 15
    assert [t["data"]["quote_id"] for t in tasks] == quotes["quote_id"].tolist()
    assert json.loads((tmp_path / "labelstudio" / "tasks.json").read_text()) == tasks


def test_run_tasks_carry_the_sentence_before_and_after(tmp_path):
    """`qst run` passes the articles to task building: the context is wider than the quote's own
    sentence(s), is a slice of the article, and the highlight offsets point at the quote."""
    from toolkit.ingest import read_articles

    articles_dir = ROOT / "annotations" / "articles"
    quotes, _ = pipeline.stage_extract(articles_dir, tmp_path)
    tasks, _ = pipeline.stage_tasks(quotes, tmp_path, articles_dir)
    narrow, _ = pipeline.stage_tasks(quotes, tmp_path / "narrow")
    texts = {a["id"]: a["text"] for a in read_articles(articles_dir)}
    wider = 0
    for task, plain, q in zip(tasks, narrow, quotes.to_dict("records")):
        d = task["data"]
        assert d["context"][d["quote_start"]:d["quote_end"]] == q["text"]
        assert d["context"] in texts[q["article_id"]] and plain["data"]["context"] in d["context"]
        wider += len(d["context"]) > len(plain["data"]["context"])
    assert wider == len(tasks) == len(quotes) > 0  # every seed quote has a sentence beside its own


def test_missing_labelstudio_export_stops_with_instructions(tmp_path):
    (tmp_path / "export").mkdir()
    with pytest.raises(ToolkitError, match=r"export/: no Label Studio export \(\*\.json\) found.*Export -> JSON"):
        pipeline.stage_annotations(tmp_path / "export", pd.DataFrame({"quote_id": []}), tmp_path / "out")


def test_agreement_train_and_dataset_stages(tmp_path):
    """From an annotation table on: real agreement, baseline and hub modules, outputs on disk."""
    out = tmp_path / "run"
    (out / "quotes").mkdir(parents=True)
    shutil.copy(FIX / "quotes.jsonl", out / "quotes" / "quotes.jsonl")
    quotes = pd.read_json(FIX / "quotes.jsonl", lines=True)
    annotations = pd.read_json(FIX / "annotations.jsonl", lines=True)
    (out / "annotations").mkdir()
    annotations.to_parquet(out / "annotations" / "annotations.parquet")

    adjudicated, agreement, stage = pipeline.stage_agreement(annotations, out)
    assert stage.counts["gold labels"] == 13 and stage.counts["unresolved"] == 2
    assert json.loads((out / "agreement" / "agreement.json").read_text())["stance"]["items_used"] == 15

    table = pipeline.training_table(quotes, adjudicated)
    assert len(table) == 11 and set(table["label"]) == {"favor", "against", "neutral"}
    metrics, stage = pipeline.stage_train(table, out, n_boot=100, learning_curve=False)
    from toolkit.stance.modelfile import MODEL_FILE

    assert {"majority", "speaker-majority"} <= set(metrics["models"])
    assert all(0.0 <= m["macro_f1"]["value"] <= 1.0 for m in metrics["models"].values())
    assert stage.counts["model"] == metrics["saved_model"] and stage.counts["labelled quotes"] == 11
    assert "article" in metrics["split"]["description"]
    assert (out / "reports" / MODEL_FILE).exists()
    trained = pd.read_parquet(out / "train" / "labelled.parquet")
    assert sorted(trained["quote_id"]) == sorted(table["quote_id"])
    reports = pipeline.stage_reports(metrics, out)
    assert set(reports.outputs) == {"metrics.json", "report.md", "report.html"}

    result, stage = pipeline.stage_dataset(out)
    ids = {r["quote_id"] for split in result.dataset.values() for r in split}
    assert ids == set(table["quote_id"])  # the model trained on exactly the dataset's rows
    assert stage.counts["left out"] == 4


PATTERNS = [("favor", "favor", "favor"), ("against", "against", "neutral"), ("neutral", "neutral", "neutral"),
            ("unclear", "unclear", "favor"), ("favor", "against", "neutral"), ("against", "against", "against")]


def _synthetic_export(tasks: list[dict]) -> list[dict]:
    """A Label Studio JSON export of `tasks` with three annotators' choices.

    Synthetic test data in Label Studio's own export shape (tasks with `id`, `data` and
    `annotations[].result[]` choices); the real team export goes to annotations/labelstudio/.
    """
    export = []
    for i, task in enumerate(tasks):
        anns = []
        for a, stance in enumerate(PATTERNS[i % len(PATTERNS)]):
            anns.append({"id": 10_000 + 3 * i + a, "completed_by": a + 1, "was_cancelled": False,
                         "ground_truth": False, "lead_time": 12.5, "created_at": "2026-11-20T10:00:00Z",
                         "updated_at": "2026-11-20T10:00:00Z",
                         "result": [{"from_name": "stance", "to_name": "context", "type": "choices",
                                     "value": {"choices": [stance]}},
                                    {"from_name": "speaker_review", "to_name": "context", "type": "choices",
                                     "value": {"choices": ["confirmed"]}}]})
        export.append({"id": 500 + i, "data": task["data"], "annotations": anns, "drafts": [], "predictions": []})
    return export


@pytest.mark.slow
def test_qst_run_end_to_end(tmp_path):
    """`qst run` over the seed articles with an export of its own tasks: every stage, then the summary."""
    from typer.testing import CliRunner

    from toolkit.cli import app

    quotes, _ = pipeline.stage_extract(ROOT / "annotations" / "articles", tmp_path / "prep")
    tasks, _ = pipeline.stage_tasks(quotes, tmp_path / "prep")
    export_dir = tmp_path / "labelstudio"
    export_dir.mkdir()
    (export_dir / "seed.json").write_text(json.dumps(_synthetic_export(tasks)), encoding="utf-8")
    # what `qst pull --out seed.json` writes beside an export: not an export, must be passed over
    (export_dir / "seed.reconciliation.json").write_text(json.dumps({"tasks_pulled": len(tasks)}), encoding="utf-8")

    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["run", "--out", str(out), "--articles", str(ROOT / "annotations" / "articles"),
                                      "--labelstudio-export", str(export_dir), "--bootstrap", "100",
                                      "--no-learning-curve"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["quotes"] == len(quotes) and summary["annotations"] == 3 * len(tasks)
    assert summary["gold_labels"] > 0 and 0.0 <= summary["macro_f1"] <= 1.0
    stages = [s["name"] for s in json.loads((out / "run.json").read_text())]
    assert stages == list(pipeline.STAGES)
    assert "qst run: summary" in result.output and "macro-F1" in result.output
    from toolkit.dataset import build as hub

    hub.check_card(out / "dataset")
    assert Path(summary["report"]).exists()
    # no annotators.yaml beside this export: the card must not borrow the bundled one's "machine-generated"
    assert "machine-generated" not in (out / "dataset" / "README.md").read_text(encoding="utf-8")


def test_failed_run_leaves_the_previous_run_unchanged(tmp_path):
    from toolkit.fileio import MARKER

    previous = tmp_path / "demo"
    (previous / "quotes").mkdir(parents=True)
    (previous / MARKER).write_text("{}")
    (previous / "quotes" / "quotes.jsonl").write_text("previous run\n")
    before = {p: p.read_bytes() for p in previous.rglob("*") if p.is_file()}
    with pytest.raises(ToolkitError, match="no Label Studio export.*Nothing was written"):
        pipeline.run(previous, articles_dir=ROOT / "annotations" / "articles", export_dir=tmp_path / "none")
    assert {p: p.read_bytes() for p in previous.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]  # no staging folder left behind


def test_run_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "README.md").write_text("my notes")
    with pytest.raises(ToolkitError, match="not written by qst"):
        pipeline.run(tmp_path / "home", articles_dir=ROOT / "annotations" / "articles")
    assert [p.name for p in (tmp_path / "home").iterdir()] == ["README.md"]

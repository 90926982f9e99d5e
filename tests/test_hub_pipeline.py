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


def test_missing_labelstudio_export_stops_with_instructions(tmp_path):
    (tmp_path / "export").mkdir()
    with pytest.raises(ToolkitError, match=r"export/: no Label Studio export \(\*\.json\) found.*Export -> JSON"):
        pipeline.stage_annotations(tmp_path / "export", pd.DataFrame({"quote_id": []}), tmp_path / "out")


def test_missing_glue_is_named_precisely():
    with pytest.raises(pipeline.MissingGlue, match=r"toolkit.hub has no write_everything / also_missing"):
        pipeline.glue("hub", "write_everything", "also_missing", contract="test")
    with pytest.raises(pipeline.MissingGlue, match=r"toolkit.no_such_stage is not there yet.*no_such_stage.fn"):
        pipeline.glue("no_such_stage", "fn", contract="test")
    assert pipeline.glue("hub", "nope", "build", contract="test").__name__ == "build"


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
    metrics, stage = pipeline.stage_train(table, out)
    from toolkit import baseline

    assert set(metrics["macro_f1"]) == set(baseline.DEFAULT_MODELS)
    assert all(0.0 <= v <= 1.0 for v in metrics["macro_f1"].values())
    assert "grouped by article" in metrics["split"]["description"]
    assert (out / "model" / baseline.MODEL_FILE).exists()
    preds = pd.read_parquet(out / "reports" / "predictions.parquet")
    assert len(preds) == 11 * len(baseline.DEFAULT_MODELS)  # every labelled quote predicted once per model

    result, stage = pipeline.stage_dataset(out)
    ids = {r["quote_id"] for split in result.dataset.values() for r in split}
    assert ids == set(table["quote_id"])  # the model trained on exactly the dataset's rows
    assert stage.counts["left out"] == 4

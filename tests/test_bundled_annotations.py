"""The real Label Studio export shipped in annotations/labelstudio/: complete, adjudicated, still matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit import ANNOTATIONS_DIR
from toolkit import agreement as ag
from toolkit.errors import InputError
from toolkit.attribution.extract import extract_article
from toolkit.dataset.card import read_annotators
from toolkit.ingest import read_articles
from toolkit.labelstudio.annotations import detect_and_normalise
from toolkit.pipeline import adjudicator_of

EXPORT = ANNOTATIONS_DIR / "labelstudio" / "seed_round1.json"


@pytest.fixture(scope="module")
def table():
    quotes = [r for a in read_articles(ANNOTATIONS_DIR / "articles") for r in extract_article(a)]
    df, rec = detect_and_normalise(EXPORT.read_bytes(), EXPORT, known={q["quote_id"] for q in quotes})
    return df, rec


def test_export_reconciles_and_every_annotated_quote_is_still_extracted(table) -> None:
    df, rec = table
    # unknown ids would be set aside: an extractor change that moved a seed quote would show here
    assert rec["tasks_in"] == 48 and rec["annotations_in"] == 97 and rec["rows_out"] == 97
    assert not rec["set_aside"], rec["set_aside"]
    assert df["quote_id"].nunique() == 48
    assert sorted(df.groupby("annotator").size().tolist()) == [1, 48, 48]


def test_adjudicator_settles_the_tie_without_voting(table) -> None:
    df, _ = table
    df = ag.validate_annotations(df, "export")
    adjudicator = adjudicator_of(df)
    assert adjudicator is not None and df[df["annotator"] == adjudicator]["is_ground_truth"].all()
    adjudicated = ag.adjudicate(df, source="export", adjudicator=adjudicator)
    assert len(adjudicated) == 48 and adjudicated["label"].notna().all()
    counts = adjudicated["resolution"].value_counts().to_dict()
    assert counts == {"unanimous": 47, "adjudicator": 1}
    stats = ag.compute_agreement(df, "stance", source="export", validated=True, exclude_annotators=[adjudicator])
    assert stats["krippendorff_alpha"]["value"] == pytest.approx(0.965, abs=0.005)


def test_annotators_file_is_honest_and_validated(tmp_path: Path) -> None:
    info = read_annotators(ANNOTATIONS_DIR / "labelstudio" / "annotators.yaml")
    assert info["annotations_creators"] == ["machine-generated"] and "not people" in info["description"]
    bad = tmp_path / "a.yaml"
    bad.write_text("annotations_creators: [experts]\ndescription: x\n", encoding="utf-8")
    with pytest.raises(InputError, match="annotations_creators must be one or more of"):
        read_annotators(bad)

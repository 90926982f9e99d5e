"""Longer source options of the learned layer (toolkit.attribution.learned.shapes, fifth round).

On handwritten articles (tests/fixtures/attribution/source_shapes_gold.jsonl, SpkAtt JSONL, written
for these tests) whose sources are whole phrases — an apposition after a comma, a prepositional
tail, a bracketed abbreviation, a coordination — the way SpkAtt marks them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.attribution.extract import extract_article
from toolkit.attribution.learned import source as src
from toolkit.attribution.learned.data import capture, read_gold
from toolkit.attribution.learned.layer import AttributionModel
from toolkit.attribution.learned.view import ArticleView
from toolkit.attribution.speakers import load_registry

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "attribution"


@pytest.fixture(scope="module")
def shaped():
    docs = read_gold(FIXTURES / "source_shapes_gold.jsonl") + read_gold(FIXTURES / "handmade_gold.jsonl")
    return docs, capture(docs, load_registry())


def _options(captured, doc_id: str, shapes: bool) -> set[str]:
    """The text of every source option of the document's candidates but the rules' own mention."""
    doc = next(c for c in captured if c.doc_id == doc_id)
    view = ArticleView(doc.text, doc.sentences)
    words = set()
    for c in AttributionModel().candidates(view, doc.text, doc.spans, doc.skip):
        words |= {doc.text[slice(*view.chars(a, b))] for a, b in src.source_options(view, c, shapes)
                  if a >= 0 and (a, b) != c.mention}
    return words


@pytest.mark.parametrize("doc_id, phrase", [
    ("shape-001", "Der Leiter der Feuerwehr in Kassel"),                # prepositional tail
    ("shape-002", "Die Aufsichtsbehörde für Luftfahrt (LBA)"),          # prepositional tail, then a bracket
    ("shape-004", "Das Ministerium für Bildung und Kultur"),            # prepositional tail, then a coordination
])
def test_a_noun_phrase_offers_its_longer_shapes_only_with_shapes(shaped, doc_id, phrase):
    _, captured = shaped
    assert phrase in _options(captured, doc_id, True)
    assert phrase not in _options(captured, doc_id, False)


def test_the_ranker_picks_the_bracketed_phrase_where_no_rule_names_a_source(shaped):
    """`teilte mit` frames no rule quote: the layer proposes the sentence and picks its source. With
    the shapes it is the whole phrase of the gold; the options without them have no such phrase, and
    the layer leaves that quote without a source (in sample: the models saw these articles)."""
    docs, captured = shaped
    doc = next(d for d in docs if d["doc_id"] == "shape-002")
    article = doc | {"id": doc["doc_id"]}
    by_shapes = {}
    for shapes in (True, False):
        records = extract_article(article, None, AttributionModel(source_shapes=shapes).fit(captured))
        by_shapes[shapes] = {r["text"]: r["speaker_mention"] for r in records}
    assert by_shapes[True]["die neuen Regeln gälten ab Juli"] == "Die Aufsichtsbehörde für Luftfahrt (LBA)"
    assert by_shapes[False]["die neuen Regeln gälten ab Juli"] is None
    # The rules' own long mention stays with or without the shapes.
    assert by_shapes[True]["die Vorgaben seien viel zu streng"] == "Der Vorsitzende des Modellflugverbands, Peter Krause"


def test_shapes_scores_by_table_agree_with_feature_strings(shaped, table_scores_agree):
    _, captured = shaped
    model = AttributionModel(source_shapes=True).fit(captured)
    assert table_scores_agree(model, captured) > 100


def test_a_model_file_from_before_reads_no_shapes():
    model = AttributionModel()
    del model.source_shapes  # as unpickled from a model trained before the parameter existed
    assert getattr(model, "source_shapes", False) is False


def test_snapshot_learned_param_snapshots_the_shapes_layer(tmp_path):
    """`scripts/snapshot_learned.py --param source_shapes=true` (how a change of the
    shapes path is checked against the records before it) gives the shapes layer's records: not the default's, and
    the same on a second run."""
    import json
    import subprocess
    import sys

    from toolkit.attribution.learned.folds import make_folds

    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join((FIXTURES / f).read_text(encoding="utf-8")
                            for f in ("source_shapes_gold.jsonl", "handmade_gold.jsonl")), encoding="utf-8")
    folds = tmp_path / "folds.json"
    folds.write_text(json.dumps({"folds": make_folds([d["doc_id"] for d in read_gold(gold)], k=2, seed=1)}),
                     encoding="utf-8")
    script = [sys.executable, str(Path(__file__).resolve().parents[1] / "scripts" / "snapshot_learned.py")]

    def run(out: str, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([*script, str(tmp_path / out), "--data", str(gold), "--folds", str(folds), "--all",
                               *extra], capture_output=True, text=True, timeout=600)

    assert run("plain").returncode == 0
    shaped_run = run("shapes", "--param", "source_shapes=true", "--check", str(tmp_path / "plain"))
    assert shaped_run.returncode == 1 and "differs" in shaped_run.stdout, shaped_run.stdout + shaped_run.stderr
    again = run("again", "--param", "source_shapes=true", "--check", str(tmp_path / "shapes"))
    assert again.returncode == 0 and "identical to" in again.stdout, again.stdout + again.stderr

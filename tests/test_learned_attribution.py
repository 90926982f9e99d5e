"""The learned attribution layer (toolkit.attribution.learned): training, applying, model files, errors.

The handmade gold (tests/fixtures/attribution/handmade_gold.jsonl) is six short German articles
written for these tests, in SpkAtt-2023 Task 2 JSONL. SpkAtt itself (CC BY-NC-SA) is read only
from ../shared/spkatt-news/ by the tests marked `spkatt`, which skip without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit import ANNOTATIONS_DIR
from toolkit.attribution import spkatt as sp
from toolkit.attribution.extract import extract_article
from toolkit.attribution.learned.data import capture, read_gold
from toolkit.attribution.learned.layer import AttributionModel
from toolkit.attribution.learned.modelfile import ModelFileError, load_attribution_model, save_attribution_model
from toolkit.attribution.speakers import load_registry
from toolkit.errors import InputError
from toolkit.ingest import read_articles

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO / "tests" / "fixtures" / "attribution" / "handmade_gold.jsonl"
SPKATT = REPO.parent / "shared" / "spkatt-news" / "train.jsonl"
SEED_SPEAKERS = ("Matthew Miller", "Dmitri Peskov", "Jens Stoltenberg", "Shin Won-sik")


def _scores(docs, records_by_id):
    triples = []
    for d in docs:
        tokens = sp.Tokens(d["text"])
        triples.append((d["doc_id"], sp.gold_events(d, tokens), sp.record_events(records_by_id[d["doc_id"]], tokens)))
    return sp.evaluate(triples)[0]


def _qst(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p))
    return subprocess.run([sys.executable, "-m", "toolkit.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def handmade():
    docs = read_gold(GOLD)
    captured = capture(docs, load_registry())
    return docs, captured, AttributionModel().fit(captured)


def test_a_hook_that_changes_nothing_gives_the_rules_records_exactly():
    registry = load_registry()
    for article in read_articles(ANNOTATIONS_DIR / "articles"):
        assert extract_article(article, registry, lambda text, sents, spans, skip: spans) == \
            extract_article(article, registry)


def test_training_on_handmade_gold_learns_and_beats_the_rules_on_it(handmade):
    docs, captured, model = handmade
    assert model.n_rows_["speech"] >= 17 and model.n_rows_["source"] > model.n_rows_["speech"]
    rules = _scores(docs, {c.doc_id: c.records for c in captured})
    learned = _scores(docs, {d["doc_id"]: extract_article(d | {"id": d["doc_id"]}, None, model) for d in docs})
    # Figures measured on this fixture (in sample: the model saw these articles): rules M 96.35 /
    # S 86.66 / J 91.72, learned M 100 / S 90.32 / J 95.38.
    assert rules["message_f1"] == pytest.approx(0.9635, abs=0.005)
    assert rules["joint_f1"] == pytest.approx(0.9172, abs=0.005)
    assert learned["message_f1"] >= 0.99
    assert learned["joint_f1"] >= 0.95


def test_scores_by_table_agree_with_the_feature_strings_the_model_was_trained_on(handmade, table_scores_agree):
    """The layer scores source and boundary options from value tables (FeatureLogit.table), training from
    source_features' strings: both must give every option the same score and the same winner."""
    _, captured, model = handmade
    source = model.models_["source"]
    assert table_scores_agree(model, captured, boundaries=True) > 100
    assert set(vars(source)) == {"C", "class_weight", "classes_", "weights_", "intercept_"}  # no tables in the file


def test_model_file_round_trip_and_tampering_is_refused(handmade, tmp_path):
    docs, _, model = handmade
    save_attribution_model(model, tmp_path, {"documents": len(docs)})
    loaded = load_attribution_model(tmp_path)
    article = {"id": docs[0]["doc_id"], "text": docs[0]["text"], "date": None}
    assert extract_article(article, None, loaded) == extract_article(article, None, model)
    with open(tmp_path / "model.skops", "ab") as fh:
        fh.write(b"x")
    with pytest.raises(ModelFileError, match="sha256"):
        load_attribution_model(tmp_path)


@pytest.mark.parametrize("line, message", [
    ('{"doc_id": "a", "text": "Er sagte, es regne.", "quotes": 3}', "field 'quotes' must be a list"),
    ('{"doc_id": "a", "text": "Er sagte, es regne.", "quotes": [{"segments": [[5, 99]]}]}', r"not a \[start, end\] pair"),
    ('{"doc_id": "a", "quotes": []}', "text"),
    ('{"doc_id": "a", "text": "x", "quotes": [{"start": 0}]}', "needs 'segments' or integer 'start' and 'end'"),
])
def test_bad_gold_is_one_error_naming_file_and_line(tmp_path, line, message):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"doc_id": "ok", "text": "Gut.", "quotes": []}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message) as exc:
        read_gold(path)
    assert f"{path}:2" in str(exc.value)


def test_cli_train_and_extract_with_the_model_in_real_processes(tmp_path):
    model_dir, out = tmp_path / "model", tmp_path / "out"
    proc = _qst("train-attribution", str(GOLD), "--out", str(model_dir), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((model_dir / "model_meta.json").read_text(encoding="utf-8"))
    assert meta["documents"] == 6 and meta["gold_events"] == 17
    proc = _qst("extract", str(ANNOTATIONS_DIR / "articles"), "--attribution-model", str(model_dir), "--out", str(out),
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in (out / "quotes.jsonl").read_text(encoding="utf-8").splitlines()]
    assert records and all(r["text"] for r in records)


def test_cli_errors_are_one_line_and_leave_files_alone(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"doc_id": "a", "text": "x", "quotes": [{"segments": "no"}]}\n', encoding="utf-8")
    proc = _qst("train-attribution", str(bad), "--out", str(tmp_path / "m"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert f"{bad}:1" in proc.stderr and not (tmp_path / "m").exists()
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    proc = _qst("extract", str(ANNOTATIONS_DIR / "articles"), "--attribution-model", str(not_a_model), "--out",
                str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("error:") and proc.stderr.strip().count("\n") == 0
    assert "no such model file" in proc.stderr and not (tmp_path / "o").exists()


def _seed_quotes(refine):
    registry = load_registry()
    return [r for a in read_articles(ANNOTATIONS_DIR / "articles") for r in extract_article(a, registry, refine)]


def _seed_speakers_found(records) -> dict[str, int]:
    gold = [json.loads(line) for line in (ANNOTATIONS_DIR / "gold" / "seeds.jsonl").read_text().splitlines() if line]
    found: dict[str, int] = {}
    for g in gold:
        if g["speaker"] not in SEED_SPEAKERS:
            continue
        hit = any(r["article_id"] == g["article_id"] and r["speaker"] == g["speaker"]
                  and min(r["end"], g["end"]) - max(r["start"], g["start"]) >= 0.5 * (g["end"] - g["start"])
                  for r in records)
        found[g["speaker"]] = found.get(g["speaker"], 0) + int(hit)
    return found


def test_seed_speakers_keep_their_quotes_with_a_handmade_model(handmade):
    assert _seed_speakers_found(_seed_quotes(handmade[2])) == _seed_speakers_found(_seed_quotes(None))


@pytest.mark.spkatt
@pytest.mark.skipif(not SPKATT.exists(), reason="SpkAtt data not beside the repository")
def test_seed_speakers_keep_their_quotes_with_a_model_trained_on_spkatt():
    model = AttributionModel().fit(capture(read_gold(SPKATT), load_registry()))
    assert _seed_speakers_found(_seed_quotes(model)) == _seed_speakers_found(_seed_quotes(None))


def test_eval_script_folds_prints_training_and_out_of_fold_figures(tmp_path):
    from toolkit.attribution.learned.folds import make_folds

    ids = [d["doc_id"] for d in read_gold(GOLD)]
    folds = tmp_path / "folds.json"
    folds.write_text(json.dumps({"folds": make_folds(ids, k=2, seed=1)}), encoding="utf-8")
    out = tmp_path / "figures.json"
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "eval_spkatt.py"), "--data", str(GOLD), "--folds",
                           str(folds), "--out", str(out), "--errors", str(tmp_path / "errors.jsonl")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "rules: training figure" in proc.stdout and "learned: out of fold" in proc.stdout
    assert "outcomes, learned: miss" in proc.stdout and "CPU ms per article" in proc.stdout
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["articles"] == 6
    assert figures["rules"]["message_f1"] == pytest.approx(0.9635, abs=0.005)
    assert 0.0 < figures["learned_out_of_fold"]["message_f1"] <= 1.0


def test_bench_learned_times_both_sides_on_the_last_fold(tmp_path):
    from toolkit.attribution.learned.folds import make_folds

    ids = [d["doc_id"] for d in read_gold(GOLD)]
    folds = tmp_path / "folds.json"
    folds.write_text(json.dumps({"folds": make_folds(ids, k=2, seed=1)}), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "bench_learned.py"), "--data", str(GOLD),
                           "--folds", str(folds), "--rounds", "2"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("round ") == 2
    assert "3 articles of fold 2, 2 rounds, sentence cache emptied before each pass" in proc.stdout
    assert "ratio median" in proc.stdout


def test_folds_file_must_cover_every_document(tmp_path):
    from toolkit.attribution.learned.folds import read_folds

    path = tmp_path / "folds.json"
    path.write_text(json.dumps({"folds": [["a"], ["b"]]}), encoding="utf-8")
    assert read_folds(path, ["a", "b"]) == [["a"], ["b"]]
    with pytest.raises(InputError, match="1 documents are in no fold"):
        read_folds(path, ["a", "b", "c"])
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError, match="not a folds file"):
        read_folds(path, ["a"])

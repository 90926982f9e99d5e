"""The learned layer's cheaper paths give the answers of the plain ones (issue 14, fifth round).

Each shortcut of the fifth round (word classes from a dict, sentences touched by bisection,
paragraph of a sentence by bisection, first maximum in C, scores from memoised sums) is checked
against the straightforward computation it replaces, on the handmade gold; and
scripts/snapshot_learned.py, the before/after check of the layer's records, runs as a real process.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.attribution.learned import view as vw
from toolkit.attribution.learned.base import first_max
from toolkit.attribution.learned.data import capture, read_gold
from toolkit.attribution.learned.folds import make_folds
from toolkit.attribution.learned.layer import AttributionModel, _paragraph_of
from toolkit.attribution.learned.speech import _touched
from toolkit.attribution.segment import paragraphs
from toolkit.attribution.speakers import load_registry

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO / "tests" / "fixtures" / "attribution" / "handmade_gold.jsonl"


@pytest.fixture(scope="module")
def captured():
    return capture(read_gold(GOLD), load_registry())


def test_first_max_keeps_the_first_of_equal_scores():
    assert first_max([0.5, 2.0, 2.0, -1.0]) == 1
    assert first_max([-3.0]) == 0
    assert first_max([]) == -1
    assert first_max([-math.inf, -math.inf]) == -1  # as the loop it replaces: nothing beats -inf


def test_word_classes_from_the_dict_equal_word_class(captured, monkeypatch):
    monkeypatch.setattr(vw, "_SEEN", {})
    words = [w for doc in captured for w in vw.ArticleView(doc.text, doc.sentences).words]
    monkeypatch.setattr(vw, "_SEEN", {})  # every word unseen again: the fill path
    lower, classes = vw.lower_and_classes(words)
    assert lower == [w.lower() for w in words]
    assert classes == [vw.word_class(w) for w in words]
    assert vw.lower_and_classes(words) == (lower, classes)  # the cached path
    assert {"cue", "konj", "pron", "det", "quote", "punct", "cap", "low"} <= set(classes) <= set(vw.CLASSES)
    monkeypatch.setattr(vw, "_CACHE_SIZE", 3)
    monkeypatch.setattr(vw, "_SEEN", {w: ("x", "low") for w in ("a", "b", "c", "d")})
    assert vw.lower_and_classes(["Sagte", "er", "gestern", "Ja"]) == (["sagte", "er", "gestern", "ja"],
                                                                     ["cue", "pron", "low", "cap"])
    assert sorted(vw._SEEN) == ["Ja", "Sagte", "er", "gestern"]  # cleared past 3 words, then filled


def test_padded_lists_read_as_word_and_cls(captured):
    view = vw.ArticleView(captured[0].text, captured[0].sentences)
    for t in range(-vw.PAD, len(view) + vw.PAD):
        assert view.padded_lower[t + vw.PAD] == view.word(t)
        assert view.padded_classes[t + vw.PAD] == view.cls(t)


def test_touched_sentences_and_paragraphs_by_bisection_match_the_scans(captured):
    n = 0
    for doc in captured:
        view = vw.ArticleView(doc.text, doc.sentences)
        model = AttributionModel(sentence_candidates=False, context="none")
        spans = [(c.first, c.last) for c in model.candidates(view, doc.text, doc.spans, doc.skip)]
        spans += [(0, 0), (len(view) - 1, len(view) + 5)]
        scan = {si for si, (a, b) in enumerate(view.sentences) if any(s <= b and a <= e for s, e in spans)}
        assert _touched(view, spans) == scan
        paras = paragraphs(doc.text)
        linear = [next((i for i, (ps, pe) in enumerate(paras) if ps <= view.starts[a] < pe), 0)
                  for a, _ in view.sentences]
        assert _paragraph_of(view, paras) == linear
        n += len(scan)
    assert n > 10


def test_snapshot_learned_checks_the_layer_records_as_a_process(tmp_path):
    ids = [d["doc_id"] for d in read_gold(GOLD)]
    folds = tmp_path / "folds.json"
    folds.write_text(json.dumps({"folds": make_folds(ids, k=2, seed=1)}), encoding="utf-8")
    script = [sys.executable, str(REPO / "scripts" / "snapshot_learned.py")]
    common = ["--data", str(GOLD), "--folds", str(folds)]
    first = subprocess.run([*script, str(tmp_path / "a"), *common], capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "3 articles" not in first.stderr and "articles, " in first.stderr  # fold 2 plus the five seeds
    lines = (tmp_path / "a" / "learned.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) > 20 and all(json.loads(line)["text"] for line in lines)
    again = subprocess.run([*script, str(tmp_path / "b"), *common, "--check", str(tmp_path / "a")],
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "identical to" in again.stdout, again.stdout + again.stderr
    changed = json.loads(lines[2]) | {"speaker_id": "someone-else"}
    lines[2] = json.dumps(changed, ensure_ascii=False, sort_keys=True)
    (tmp_path / "a" / "learned.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    third = subprocess.run([*script, str(tmp_path / "c"), *common, "--check", str(tmp_path / "a")],
                           capture_output=True, text=True, timeout=600)
    assert third.returncode == 1 and "learned.jsonl:3 differs" in third.stdout, third.stdout + third.stderr

"""The learned layer's cheaper paths give the answers of the plain ones (issue 14, fifth round).

Each shortcut of the fifth round (word classes from a dict, sentences touched by bisection,
paragraph of a sentence by bisection, first maximum in C, scores from memoised sums) is checked
against the straightforward computation it replaces, on the handmade gold; and
scripts/snapshot_learned.py, the before/after check of the layer's records, runs as a real process.
"""

from __future__ import annotations

import json
import math
import re
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


def test_keyed_lexicon_matchers_answer_as_the_full_patterns(captured):
    """The per-first-character alternations (and the say nouns' end filter) accept exactly the
    words the lexicon's full patterns accept: the handmade gold's words, their case and compound
    variants, and first characters where IGNORECASE folds beyond lower case (ſ, K, İ)."""
    words = {w for doc in captured for w in vw.ArticleView(doc.text, doc.sentences).words}
    words |= {"Zeugenaussage", "Regierungsangaben", "Presse-Erklärung", "SAGTE", "ſagte", "\u212aritisiert", "İst",
              "Sprecherin", "sprecherin", "hätten", "Hätten", "erklärten", "Erklärungen", "Angabe", "x"}
    words |= {v for w in list(words) for v in (w.upper(), w.capitalize(), "Vor" + w.lower())}
    full, keyed = vw._classes(), vw._matchers()
    assert list(keyed) == list(full)
    for name, pattern in full.items():
        assert [w for w in sorted(words) if (pattern.fullmatch(w) is not None) != keyed[name](w)] == [], name
    assert sum(keyed["say"](w) for w in words) > 5 and sum(keyed["cue"](w) for w in words) > 20


def test_edge_characters_of_lexicon_entries():
    from re import _parser

    def edges(e: str) -> tuple:
        return vw._edge_chars(_parser.parse(e)), vw._edge_chars(_parser.parse(e), last=True)

    assert edges("[Ss]tellungnahmen?") == ({"S", "s"}, {"e", "n"})
    assert edges("sagt(?:e|en)?") == ({"s"}, {"t", "e", "n"})
    assert edges("erklärt\\w*") == ({"e"}, None)
    assert edges("(?:ab)?cd") == ({"a", "c"}, {"d"})
    assert edges("\\w+en") == (None, {"n"})
    assert edges("x*") == (None, None)


def test_prefix_tables_from_one_pass_equal_the_scans(captured):
    model = AttributionModel().fit(captured).models_["source"]
    prefixes = {f[:i + 1] for f in model.weights_ for i, ch in enumerate(f) if ch == "="} | {"nosuch="}
    for p in sorted(prefixes):
        assert model.table(p) == {f[len(p):]: v for f, v in model.weights_.items() if f.startswith(p)}, p
    assert model.table("w") == {f[1:]: v for f, v in model.weights_.items() if f.startswith("w")}


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


def _sentence_candidate(text: str, flags: frozenset[str]):
    from toolkit.attribution.learned.speech import Candidate

    view = vw.ArticleView(text, [(0, len(text))])
    return view, Candidate(0, len(view) - 2, 0, None, "sentence", boundary=flags)


def test_far_start_options_reach_the_comma_after_a_long_frame():
    from toolkit.attribution.learned import boundaries as bd

    text = ("Ein Sprecher der Polizei in der Hauptstadt des Landes kündigte am frühen Montagmorgen nach "
            "langen Beratungen an, die Straße werde gesperrt.")
    view, plain = _sentence_candidate(text, frozenset())
    after_comma = view.words.index(",") + 1
    assert after_comma > bd.WINDOW and view.words[after_comma] == "die"
    assert after_comma not in bd.start_options(view, plain)
    _, far = _sentence_candidate(text, frozenset({"far"}))
    assert bd.start_options(view, far) == [*bd.start_options(view, plain), after_comma]
    assert bd.first_cue(view, far) == view.words.index("kündigte")
    # No cue word, no far option: "Mitten in der Nacht ..., die Straße ..." is no frame.
    view2, far2 = _sentence_candidate("Mitten in der Nacht und bei starkem Regen in der Hauptstadt des Landes "
                                      "am frühen Montagmorgen nach langen Beratungen, die Straße war gesperrt.",
                                      frozenset({"far"}))
    assert bd.first_cue(view2, far2) is None
    assert bd.start_options(view2, far2) == bd.start_options(view2, _sentence_candidate(view2.text, frozenset())[1])


def test_boundary_flags_add_their_features_and_the_end_reads_the_decided_start():
    from toolkit.attribution.learned import boundaries as bd

    text = "Der Sprecher kündigte an, die Straße werde gesperrt."
    view, c = _sentence_candidate(text, frozenset({"cue", "end", "sep"}))
    start = view.words.index("die")
    assert "cuein=True&k=sentence" in bd.start_features(view, c, start)
    assert "cuein=False&k=sentence" in bd.start_features(view, c, 0)
    dot = len(view) - 1
    assert "eb=.&True&False" in bd.end_features(view, c, dot)  # message from the sentence start: no frame before
    c.msg_first = start
    assert "eb=.&False&True" in bd.end_features(view, c, dot)  # after "kündigte an,": framed
    assert bd.model_group(c) == "_sentence" and bd.groups("sep,cue") == ("sentence",)
    assert bd.groups("sepc") == ("sentence", "continuation") and bd.groups("none") == ()


def test_a_model_with_every_boundary_flag_trains_group_models_and_scores_by_table(captured, table_scores_agree):
    model = AttributionModel(boundaries="sepc,cue,far,end").fit(captured)
    assert {"start_sentence", "end_sentence", "start_continuation", "end_continuation"} <= set(model.models_)
    assert any(f.startswith("cuein") for f in model.models_["start"].weights_)
    assert any(f.startswith("eb=") for f in model.models_["end"].weights_)
    assert table_scores_agree(model, captured, boundaries=True) > 100
    assert set(AttributionModel().fit(captured).models_) == {"speech", "start", "end", "source", "type_reported",
                                                             "type_free_indirect"}


def test_bench_learned_times_the_layer_hook_alone(tmp_path):
    ids = [d["doc_id"] for d in read_gold(GOLD)]
    folds = tmp_path / "folds.json"
    folds.write_text(json.dumps({"folds": make_folds(ids, k=2, seed=1)}), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "bench_learned.py"), "--data", str(GOLD),
                           "--folds", str(folds), "--rounds", "2", "--refine", "--cold"], capture_output=True,
                          text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    warm, after_rules, cold = [x for x in proc.stdout.splitlines() if x.startswith("layer hook alone")]
    assert "minimum of 2 rounds" in warm and float(warm.rsplit(" ", 1)[1]) > 0
    assert after_rules.startswith("layer hook alone, each call after its article's rules")
    assert float(after_rules.rsplit(" ", 1)[1]) > 0
    assert cold.startswith("layer hook alone, words unseen") and float(cold.rsplit(" ", 1)[1]) > 0
    # Each learned pass splits into the hook's own time and the rest, which add up to the pass.
    rounds = [x for x in proc.stdout.splitlines() if x.startswith("round ")]
    assert len(rounds) == 2
    for line in rounds:
        m = re.search(r"rules \+ learned ([\d.]+) ms \(hook ([\d.]+), the rest ([\d.]+)\)", line)
        assert m, line
        total, hook, rest = map(float, m.groups())
        assert hook > 0 and rest > 0 and abs(total - (hook + rest)) <= 0.06
    assert "the hook inside the pass median" in proc.stdout

"""The SemEval-2016 Task 6 converter on small files of our own in the original format, and the
per-target SVM-ngrams protocol end to end on synthetic tweets (the real data may not be shipped)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from toolkit.stance.data import Columns, prepare
from toolkit.stance.features import features_of
from toolkit.stance.modelfile import load_model
from toolkit.stance.models import PerTargetClassifier
from toolkit.stance.train import TrainOptions, run_training
from toolkit.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "semeval"
_spec = importlib.util.spec_from_file_location("semeval2016", ROOT / "scripts" / "semeval2016.py")
S = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(S)


def write(path: Path, rows, encoding="cp1252", newline="\r\n"):
    data = newline.join(["ID\tTarget\tTweet\tStance"] + ["\t".join(r) for r in rows]) + newline
    path.write_bytes(data.encode(encoding))
    return path


def test_fixtures_are_cp1252_with_crlf():
    raw = (FIX / "train.txt").read_bytes()
    assert b"\r\n" in raw and b"\x92" in raw and b"\xe9" in raw  # ’ and é in Windows-1252
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_convert_train_and_test_with_all_annotations(tmp_path):
    summary = S.convert(str(FIX / "train.txt"), str(FIX / "test-all-annotations.txt"), None, str(tmp_path))
    tr = pd.read_parquet(tmp_path / "train.parquet")
    te = pd.read_parquet(tmp_path / "test.parquet")
    assert summary["train"]["rows"] == 6 and summary["test"]["rows"] == 3
    assert tr["text"].iloc[0] == "God’s love is the only truth we need #faith #SemST"
    assert "café" in tr["text"].iloc[1] and "Naïve" in tr["text"].iloc[5]
    assert not tr["text"].str.contains("\r").any() and not te["text"].str.contains("\r").any()
    assert tr["label"].tolist() == ["against", "favor", "neutral", "favor", "against", "neutral"]
    assert tr["stance_original"].tolist()[:3] == ["AGAINST", "FAVOR", "NONE"]
    assert tr["quote_id"].iloc[0] == "semeval2016-101"
    assert te["target"].tolist() == ["Atheism", "Atheism", "Climate Change is a Major Concern"]


def test_gold_labels_joined_by_id(tmp_path):
    S.convert(str(FIX / "train.txt"), str(FIX / "test-unlabelled.txt"), str(FIX / "test-gold.txt"), str(tmp_path))
    te = pd.read_parquet(tmp_path / "test.parquet").set_index("id")
    assert te.loc["201", "label"] == "against" and te.loc["202", "label"] == "favor"
    assert te.loc["203", "label"] == "neutral" and te.loc["201", "text"] == "Pray every day – it works #SemST"


def test_unlabelled_test_without_gold_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"test-unlabelled.txt:2: stance 'UNKNOWN'"):
        S.convert(str(FIX / "train.txt"), str(FIX / "test-unlabelled.txt"), None, str(tmp_path))


def test_gold_missing_an_id_is_refused(tmp_path):
    gold = write(tmp_path / "gold.txt", [("201", "Atheism", "x", "AGAINST"), ("202", "Climate Change is a Major "
                                                                              "Concern", "y", "FAVOR")])
    with pytest.raises(InputError, match="no gold label for 1 test ID.*203"):
        S.convert(str(FIX / "train.txt"), str(FIX / "test-unlabelled.txt"), str(gold), str(tmp_path / "o"))


def test_bad_lines_name_file_and_line(tmp_path):
    bad = write(tmp_path / "bad.txt", [("1", "Atheism", "fine", "FAVOR"), ("2", "Atheism", "oops", "MAYBE")])
    with pytest.raises(InputError, match=r"bad.txt:3: stance 'MAYBE'"):
        S.read_semeval(bad)
    short = write(tmp_path / "short.txt", [("1", "Atheism", "FAVOR")])
    with pytest.raises(InputError, match=r"short.txt:2: expected 4 tab-separated fields"):
        S.read_semeval(short)
    dup = write(tmp_path / "dup.txt", [("1", "Atheism", "a", "FAVOR"), ("1", "Atheism", "b", "NONE")])
    with pytest.raises(InputError, match=r"dup.txt:3: duplicate ID 1 \(first on line 2\)"):
        S.read_semeval(dup)
    (tmp_path / "nohead.txt").write_bytes(b"1\tAtheism\tx\tFAVOR\r\n")
    with pytest.raises(InputError, match=r"nohead.txt:1: expected header"):
        S.read_semeval(tmp_path / "nohead.txt")


def test_utf8_and_lf_input_also_read(tmp_path):
    f = write(tmp_path / "u.txt", [("7", "Atheism", "naïve “quotes” €", "NONE")], encoding="utf-8", newline="\n")
    assert S.read_semeval(f)["text"].tolist() == ["naïve “quotes” €"]


def test_cli_exit_code_and_message(tmp_path, capsys):
    assert S.main(["convert", "--train", str(tmp_path / "missing.txt"), "--out", str(tmp_path)]) == 2
    assert "missing.txt: no such file" in capsys.readouterr().err


def synth_tweets(path: Path, n_per_target: int, seed: int):
    rng = np.random.default_rng(seed)
    cue = {"FAVOR": ["love", "support", "yes", "great", "proud"],
           "AGAINST": ["hate", "wrong", "never", "shame", "stop"],
           "NONE": ["lunch", "weather", "game", "movie", "café"]}
    filler = "the a of to we they this that is are be it’s so #SemST really just".split()
    rows = []
    for t in ("Atheism", "Feminist Movement", "Legalization of Abortion"):
        for i in range(n_per_target):
            lab = str(rng.choice(list(cue), p=[0.3, 0.45, 0.25]))
            cl = lab if rng.random() > 0.2 else str(rng.choice(list(cue)))
            w = list(rng.choice(filler, 7)) + [str(rng.choice(cue[cl]))]
            rng.shuffle(w)
            rows.append((f"{seed}{len(rows):04d}", t, " ".join(w), lab))
    return write(path, rows)


def test_per_target_svm_ngrams_end_to_end(tmp_path):
    S.convert(str(synth_tweets(tmp_path / "train.txt", 50, 1)), str(synth_tweets(tmp_path / "test.txt", 20, 2)),
              None, str(tmp_path / "data"))
    r = run_training(tmp_path / "data" / "train.parquet", tmp_path / "run",
                       test_path=tmp_path / "data" / "test.parquet",
                       opts=TrainOptions(models=("svm-ngrams",), per_target=True, n_boot=200))
    assert r["split"]["kind"] == "given" and r["saved_model"] == "svm-ngrams"
    assert set(r["best_params"]) == {"Atheism", "Feminist Movement", "Legalization of Abortion"}
    assert r["models"]["svm-ngrams"]["f_avg"]["value"] > r["models"]["majority"]["f_avg"]["value"] + 0.2
    assert {row["target"] for row in r["per_target"]} == set(r["best_params"])
    # F_avg is computed on the pooled predictions of all targets, like the official scorer.
    model, _ = load_model(tmp_path / "run")
    assert isinstance(model, PerTargetClassifier) and len(model.estimators_) == 3
    step = model.estimators_["Atheism"].named_steps
    word = step["features"].transformers_[0][1].transformer_list[0][1]
    char = step["features"].transformers_[0][1].transformer_list[1][1]
    assert word.ngram_range == (1, 3) and word.binary and char.ngram_range == (2, 5) and char.binary
    test = pd.read_parquet(tmp_path / "data" / "test.parquet")
    pred = model.predict(features_of(prepare(test, Columns(), "t").frame))
    pooled = f1_score(test["label"], pred, labels=["favor", "against"], average="macro")
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["models"]["svm-ngrams"]["f_avg"][
        "value"] == pytest.approx(pooled, abs=1e-4)


def test_all_annotations_release_with_extra_columns(tmp_path):
    raw = ("ID\tTarget\tTweet\tStance\tOpinion Towards\tSentiment\r\n"
           "10\tAtheism\tGod’s plan\twith a tab\tAGAINST\t1.  The tweet explicitly expresses opinion about the "
           "target\tpos\r\n").encode("cp1252")
    (tmp_path / "all.txt").write_bytes(raw)
    df = S.to_toolkit(S.read_semeval(tmp_path / "all.txt"), "train")
    assert df["text"].tolist() == ["God’s plan\twith a tab"] and df["label"].tolist() == ["against"]
    assert df["sentiment"].tolist() == ["pos"] and df["opinion_towards"].str.startswith("1.").all()


def test_bytes_undefined_in_cp1252_are_kept_with_a_warning(tmp_path, capsys):
    raw = "ID\tTarget\tTweet\tStance\r\n1\tAtheism\tcafé x\tNONE\r\n".encode("cp1252").replace(b" x", b" \x81x")
    (tmp_path / "odd.txt").write_bytes(raw)
    assert S.read_semeval(tmp_path / "odd.txt")["text"].tolist() == ["café \x81x"]
    assert "odd.txt: 1 byte(s) undefined in Windows-1252" in capsys.readouterr().err

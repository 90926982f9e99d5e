"""The fast C search, hashed n-grams, small model files, the fidelity options and the stronger models."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import make_scorer
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from toolkit.errors import InputError
from toolkit.stance import train as train_mod
from toolkit.stance.data import Columns, prepare
from toolkit.stance.features import (TWEET_TOKEN_PATTERN, MetaFeatures, TweetPreprocessor, features_of,
                                     hashed_features)
from toolkit.stance.modelfile import load_model
from toolkit.stance.models import FoldCachedSearchCV, ModelParams, build_model, favg_score, fit_model
from toolkit.stance.train import TrainOptions, run_training

from test_baseline import synth

ROOT = Path(__file__).resolve().parent.parent


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    return prepare(df, Columns(), "t").frame


def test_fold_cached_search_scores_as_grid_search_does():
    """Same folds, same pipeline, same scorer: the same mean score per C and the same choice."""
    f = _frame(synth(n_articles=20, per=8, seed=3))
    X, y = features_of(f)[["text"]], f["label"].to_numpy(object)
    feats = ColumnTransformer([("text", FeatureUnion([
        ("w", CountVectorizer(binary=True)),
        ("c", CountVectorizer(analyzer="char", ngram_range=(2, 4), binary=True))]), "text")])
    pipe = Pipeline([("features", feats), ("clf", LinearSVC(random_state=0, max_iter=5000))])
    grid = [0.001, 0.01, 0.1, 1.0]
    ours = FoldCachedSearchCV(pipe, {"C": grid}, cv=5, scoring=favg_score, shared_steps=0, n_jobs=2).fit(X, y)
    ref = GridSearchCV(pipe, {"clf__C": grid}, scoring=make_scorer(favg_score),
                       cv=StratifiedKFold(5, shuffle=True, random_state=0)).fit(X, y)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"])
    assert ours.best_params_ == ref.best_params_
    assert (ours.predict(X) == ref.predict(X)).all()


def test_hashed_binary_ngrams_predict_as_a_vocabulary_does():
    """Presence features in a 2**22 hash space and only the seen columns kept = CountVectorizer's."""
    f = _frame(synth(n_articles=30, per=8, seed=4))
    X, y = features_of(f), f["label"].to_numpy(object)
    pre = TweetPreprocessor(drop="")
    vocab = Pipeline([("f", FeatureUnion([
        ("w", CountVectorizer(binary=True, ngram_range=(1, 3), token_pattern=TWEET_TOKEN_PATTERN, preprocessor=pre)),
        ("c", CountVectorizer(binary=True, analyzer="char", ngram_range=(2, 5), preprocessor=pre))])),
        ("clf", LinearSVC(C=0.1, random_state=0, max_iter=5000))])
    hashed = build_model("svm-ngrams", params=ModelParams(c_grid=(0.1,), drop_tag=""))
    a = vocab.fit(X["text"], y).predict(X["text"])
    b = fit_model(hashed, f).predict(X)
    assert np.mean(a == b) >= 0.99


def test_saved_svm_ngrams_holds_no_vocabulary_and_is_small(tmp_path):
    from test_semeval2016 import S, synth_tweets

    S.convert(str(synth_tweets(tmp_path / "train.txt", 60, 1)), str(synth_tweets(tmp_path / "test.txt", 20, 2)),
              None, str(tmp_path / "data"))
    r = run_training(tmp_path / "data" / "train.parquet", tmp_path / "run", test_path=tmp_path / "data" / "test.parquet",
                     opts=TrainOptions(models=("svm-ngrams",), per_target=True, n_boot=50))
    path = tmp_path / "run" / "model.skops"
    with zipfile.ZipFile(path) as z:
        schema = z.read("schema.json").decode()
    assert '"vocabulary_"' not in schema and '"stop_words_"' not in schema  # no training n-grams stored
    model, meta = load_model(tmp_path / "run")
    arrays = sum(e.named_steps["select"].columns_.nbytes + e.named_steps["clf"].coef_.nbytes
                 for e in model.estimators_.values())
    # the kept column numbers and coefficients, plus a fixed ~230 kB of (indented) schema per target pipeline
    assert path.stat().st_size < 1.2 * arrays + 250_000 * len(model.estimators_)
    assert "toolkit.stance.features.SeenColumns" in meta["trusted_types"] and meta["needs_trust"] == []
    assert set(r["best_params"]) == set(model.estimators_)
    step = model.estimators_["Atheism"].named_steps
    assert step["select"].columns_.dtype == np.int32


def test_a_given_test_file_searches_once(tmp_path, monkeypatch):
    """The evaluation fit on the whole training table is the saved model: no second C search."""
    from test_semeval2016 import S, synth_tweets

    S.convert(str(synth_tweets(tmp_path / "train.txt", 40, 1)), str(synth_tweets(tmp_path / "test.txt", 15, 2)),
              None, str(tmp_path / "data"))
    calls: list[str] = []
    real = train_mod.fit_model

    def counting(model, frame):  # the real fit, counted
        calls.append(type(model).__name__)
        return real(model, frame)

    monkeypatch.setattr(train_mod, "fit_model", counting)
    run_training(tmp_path / "data" / "train.parquet", tmp_path / "run", test_path=tmp_path / "data" / "test.parquet",
                 opts=TrainOptions(models=("svm-ngrams",), per_target=True, n_boot=50))
    assert len(calls) == 2  # majority and svm-ngrams, once each (no speaker column); the final fit is reused


def test_tweet_tokens_and_preprocessor():
    toks = re.findall(TWEET_TOKEN_PATTERN, "@HillaryClinton don't stop!!! :) #Faith #SemST http://t.co/x")
    assert toks == ["@HillaryClinton", "don't", "stop", "!!!", ":)", "#Faith", "#SemST", "http://t.co/x"]
    assert TweetPreprocessor(drop="#SemST")("Pray #faith #SemST").split() == ["pray", "#faith"]
    assert TweetPreprocessor(lowercase=False, hashtags="word", drop="")("#Faith Now") == "Faith Now"


def test_model_params_parse_and_refuse_with_one_line():
    p = ModelParams.parse(["tokens=word", "lowercase=false", "c_grid=0.01,0.1", "drop_tag="])
    assert (p.tokens, p.lowercase, p.c_grid, p.drop_tag) == ("word", False, (0.01, 0.1), "")
    assert ModelParams.parse([]) == ModelParams()
    for bad, msg in (("colour=red", "KEY one of"), ("tokens=chars", "tokens takes one of tweet, word"),
                     ("c_grid=0,1", "all > 0"), ("lowercase=maybe", "true or false"), ("tokens", "KEY=VALUE")):
        with pytest.raises(InputError, match=msg):
            ModelParams.parse([bad])


def test_cli_bad_model_param_is_one_line_error(tmp_path):
    synth(n_articles=6, per=5).to_csv(tmp_path / "q.csv", index=False)
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "train", str(tmp_path / "q.csv"), "--out",
                           str(tmp_path / "run"), "--model", "svm-ngrams", "--model-param", "weights=idf"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "weights takes one of binary, tf" in proc.stderr and not (tmp_path / "run").exists()


def test_meta_features_name_speaker_cue_type_negation_and_target():
    row = ["Das ist nicht gut, sagte sie. Windkraft?", "Windkraft", "Anna Roth", "sagte", "direct"]
    toks = MetaFeatures._tokens(*row)
    assert {"type=direct", "speaker=Anna Roth", "cue=sagte", "neg", "NEG_gut", "mentions_target", "?"} <= set(toks)
    assert "NEG_sagte" not in toks  # the comma ends the negated context
    X = pd.DataFrame([row], columns=["text", "target", "speaker", "cue", "quote_type"])
    m = MetaFeatures().fit(X)
    assert m.transform(X).nnz == len(set(toks))


def _cue_only(n_articles: int, seed: int) -> pd.DataFrame:
    """Stance carried by the cue verb alone (as in news: 'kritisierte' vs 'begrüßte'), words random."""
    df = synth(n_articles=n_articles, per=8, seed=seed, noise=0.9)
    cues = {"favor": "begrüßte", "against": "kritisierte", "neutral": "berichtete"}
    return df.assign(cue=df["label"].map(cues), quote_type="indirect")


@pytest.mark.parametrize("name", ["linear-calibrated", "ensemble"])
def test_stronger_models_use_the_metadata_a_tweet_set_lacks(tmp_path, name):
    _cue_only(30, 1).to_parquet(tmp_path / "train.parquet")
    _cue_only(10, 2).assign(article_id=lambda d: "t" + d["article_id"]).to_parquet(tmp_path / "test.parquet")
    r = run_training(tmp_path / "train.parquet", tmp_path / "run", test_path=tmp_path / "test.parquet",
                     opts=TrainOptions(models=(name, "svm-ngrams"), per_target=True, n_boot=100))
    m = r["models"]
    assert m[name]["macro_f1"]["value"] > 0.9 > m["svm-ngrams"]["macro_f1"]["value"] + 0.2
    model, meta = load_model(tmp_path / "run")
    assert meta["needs_trust"] == [] and hasattr(model, "predict_proba")
    test = _frame(pd.read_parquet(tmp_path / "test.parquet").assign(cue=lambda d: d["cue"]))
    proba = model.predict_proba(features_of(test))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_semeval_evaluate_prints_ours_beside_the_published_figures(tmp_path, capsys, monkeypatch):
    from test_semeval2016 import S, synth_tweets

    monkeypatch.setattr(S, "ABLATIONS", {"case kept": ("lowercase=false",)})  # one of the eight, for time
    train, test = synth_tweets(tmp_path / "train.txt", 40, 1), synth_tweets(tmp_path / "test.txt", 15, 2)
    assert S.main(["evaluate", "--train", str(train), "--test", str(test), "--out", str(tmp_path / "ev"),
                   "--models", "svm-ngrams,linear-calibrated", "--bootstrap", "50", "--ablation"]) == 0
    out = capsys.readouterr().out
    metrics = json.loads((tmp_path / "ev" / "run" / "metrics.json").read_text())
    ours = metrics["models"]["svm-ngrams"]["f_avg"]["value"] * 100
    row = next(line for line in out.splitlines() if line.startswith("| svm-ngrams |"))
    assert f"{ours:.2f} [" in row and "68.98" in row and f"{ours - 68.98:+.2f}" in row
    assert "| majority |" in out and "65.22" in out and "67.82" in out and "| linear-calibrated |" in out
    assert "| case kept |" in out and (tmp_path / "ev" / "ablation-0" / "metrics.json").exists()
    # the saved model's per-target table: F_avg with intervals, support, the pooled figure (SemEval's score)
    assert "## Per target (svm-ngrams)" in out and "| pooled (all targets) |" in out
    per_target = {r["target"]: r for r in metrics["per_target"]}
    assert set(per_target) == set(pd.read_parquet(tmp_path / "ev" / "data" / "test.parquet")["target"])
    for name, r in per_target.items():
        lo, hi = r["f_avg_ci95"]
        line = next(line for line in out.splitlines() if line.startswith(f"| {name} |"))
        assert f"| {r['n']} |" in line and f"{r['f_avg']:.3f} [{lo:.3f}, {hi:.3f}]" in line
        assert ("< 20 test items" in line) == (r["n"] < 20)

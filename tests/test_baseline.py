"""qst train / predict on synthetic quotes whose words correlate with the labels, grouped in articles."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.metrics import f1_score
from typer.testing import CliRunner

import toolkit
from toolkit.stance.data import Columns, prepare
from toolkit.stance.features import features_of
from toolkit.stance.modelfile import BUNDLE_FORMAT, ModelFileError, load_model
from toolkit.stance.models import SpeakerMajorityClassifier, build_model, fit_model
from toolkit.stance.predict import run_predict
from toolkit.stance.splits import LeakError, assert_no_leak, given_split, plan_splits
from toolkit.stance.train import TrainOptions, run_training
from toolkit.cli import app
from toolkit.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
LABELS = ["favor", "against", "neutral"]


def synth(n_articles: int = 40, per: int = 8, seed: int = 0, noise: float = 0.25) -> pd.DataFrame:
    """Quotes with one label-bearing cue word among fillers (noise: share of misleading cues).

    Every article has its own topic word, so a leaky split could learn articles; speakers are
    random, so speaker identity alone carries no signal.
    """
    rng = np.random.default_rng(seed)
    cue = {"favor": ["begrüßt", "unterstützt", "richtig", "gut", "Chance"],
           "against": ["lehnt", "falsch", "gefährlich", "Fehler", "kritisiert"],
           "neutral": ["berichtet", "erklärt", "Termin", "Zahlen", "Sitzung"]}
    filler = "die der das Regierung Plan Gesetz heute Bund Land Stadt Woche Thema Frage sagte".split()
    rows = []
    for a in range(n_articles):
        for j in range(per):
            lab = str(rng.choice(LABELS, p=[0.3, 0.45, 0.25]))
            cue_lab = lab if rng.random() > noise else str(rng.choice(LABELS))
            words = list(rng.choice(filler, 6)) + [str(rng.choice(cue[cue_lab])), f"art{a}wort"]
            rng.shuffle(words)
            rows.append({"quote_id": f"q_{a:03d}{j:02d}", "article_id": f"a{a:03d}", "text": " ".join(words),
                         "label": lab, "speaker": f"Sprecher {rng.integers(12)}",
                         "target": ["Tempolimit", "Mietendeckel", "Windkraft"][a % 3],
                         "context": f"Kontext von Artikel {a}", "article_date": f"2024-01-{1 + a % 28:02d}"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("train")
    data = d / "quotes.parquet"
    synth().to_parquet(data)
    out = d / "run"
    result = run_training(data, out, opts=TrainOptions(n_boot=300))
    return data, out, result


# ------------------------------------------------------------------------------- training

def test_text_model_beats_majority_and_speaker(run):
    _, _, r = run
    m = r["models"]
    assert r["saved_model"] == "tfidf-logreg"
    assert m["tfidf-logreg"]["macro_f1"]["value"] > m["majority"]["macro_f1"]["value"] + 0.3
    assert r["vs_majority"]["ci95"][0] > 0  # the whole interval of the paired difference is above zero
    assert r["text_vs_speaker"]["verdict"].startswith("Yes")
    assert m["tfidf-svm"]["macro_f1"]["value"] > m["majority"]["macro_f1"]["value"]
    lo, hi = m["tfidf-logreg"]["macro_f1"]["ci95"]
    assert lo <= m["tfidf-logreg"]["macro_f1"]["value"] <= hi
    assert r["uncertain"] == []


def test_split_is_grouped_cv_and_pooled_predictions_cover_every_row(run):
    data, out, r = run
    assert r["split"]["kind"] == "cv" and r["split"]["group_by"] == "article"
    assert "grouped by article" in r["split"]["description"]
    assert sum(f["test"] for f in r["split"]["fold_sizes"]) == len(pd.read_parquet(data))
    assert r["models"]["majority"]["n"] == 320


def test_report_files_hold_the_numbers(run):
    data, out, r = run
    for name in ("metrics.json", "report.md", "report.html", "errors.csv", "config.json", "model.skops",
                 "model_card.md", "model_meta.json"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    f1 = metrics["models"]["tfidf-logreg"]["macro_f1"]
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    assert f"{f1['value']:.3f} [{f1['ci95'][0]:.3f}, {f1['ci95'][1]:.3f}]" in md
    assert f"{f1['value']:.3f}" in html and html.count("data:image/png;base64,") == 4  # incl. learning curve
    assert metrics["data"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert metrics["data"]["sha256"] in md
    errors = pd.read_csv(out / "errors.csv")
    assert len(errors) == metrics["n_errors"] > 0
    assert {"quote_id", "article_id", "speaker", "context", "gold", "pred"} <= set(errors.columns)
    assert (errors["gold"] != errors["pred"]).all()
    cm = np.array(metrics["models"]["tfidf-logreg"]["confusion_matrix"]["rows_gold_cols_pred"])
    assert cm.sum() - np.trace(cm) == len(errors)
    assert "grouped by article" in (out / "model_card.md").read_text()
    assert json.loads((out / "config.json").read_text())["model_config"]["class"] == "Pipeline"
    assert {p["fraction"] for p in metrics["learning_curve"]} == {0.2, 0.4, 0.6, 0.8, 1.0}


def test_reported_metrics_match_sklearn(run):
    _, out, r = run
    m = r["models"]["tfidf-svm"]
    cm = np.array(m["confusion_matrix"]["rows_gold_cols_pred"])
    gold = np.repeat(np.repeat(LABELS, 3), cm.ravel())
    pred = np.repeat(np.tile(LABELS, 3), cm.ravel())
    assert m["macro_f1"]["value"] == pytest.approx(f1_score(gold, pred, average="macro"), abs=1e-4)
    assert m["f_avg"]["value"] == pytest.approx(f1_score(gold, pred, labels=["favor", "against"], average="macro"),
                                                abs=1e-4)


def test_tiny_seed_data_trains_and_says_numbers_are_uncertain(tmp_path):
    data = tmp_path / "seed.jsonl"
    synth(n_articles=5, per=7, seed=1).to_json(data, orient="records", lines=True, force_ascii=False)
    r = run_training(data, tmp_path / "run", opts=TrainOptions(n_boot=200))
    assert r["split"]["n_folds"] == 5 and r["split"]["n_groups"] == 5
    assert any("35 labelled training quotes" in u for u in r["uncertain"])
    assert any("5 article groups" in u for u in r["uncertain"])
    md = (tmp_path / "run" / "report.md").read_text()
    assert "NUMBERS ARE UNCERTAIN" in md
    html = (tmp_path / "run" / "report.html").read_text()
    assert html.count("Numbers are uncertain") == 1 and "NUMBERS ARE UNCERTAIN" not in html  # the banner, once
    assert "Uncertain" in (tmp_path / "run" / "model_card.md").read_text()
    assert r["learning_curve"] == [] and r["learning_curve_skipped"]


def test_small_test_class_is_flagged():
    w = __import__("toolkit.stance.report", fromlist=["size_warnings"]).size_warnings(
        ["favor"] * 40 + ["against"] * 40 + ["neutral"] * 3, LABELS, None)
    assert w == ["class 'neutral' has 3 evaluated example(s) (< 5)"]


def test_datasets_folder_with_classlabel_and_test_split(tmp_path):
    import datasets

    feats = datasets.Features({"quote_id": datasets.Value("string"), "article_id": datasets.Value("string"),
                               "text": datasets.Value("string"), "speaker": datasets.Value("string"),
                               "label": datasets.ClassLabel(names=LABELS)})
    df = synth(n_articles=20, per=6, seed=3)[list(feats)]
    test_articles = {f"a{i:03d}" for i in range(15, 20)}

    def ds(part):
        part = part.assign(label=[LABELS.index(v) for v in part["label"]])
        return datasets.Dataset.from_pandas(part, features=feats, preserve_index=False)

    dd = datasets.DatasetDict({"train": ds(df[~df.article_id.isin(test_articles)]),
                               "test": ds(df[df.article_id.isin(test_articles)])})
    dd.save_to_disk(tmp_path / "ds")
    r = run_training(tmp_path / "ds", tmp_path / "run", opts=TrainOptions(models=("tfidf-svm",), n_boot=100))
    assert r["split"]["kind"] == "given" and r["data"]["n_test"] == 30
    assert r["label_distribution"]["test"] == df[df.article_id.isin(test_articles)]["label"].value_counts().reindex(
        LABELS, fill_value=0).to_dict()


def test_custom_estimator_hook_via_cli(tmp_path, run):
    data, _, _ = run
    res = CliRunner().invoke(app, ["train", str(data), "--out", str(tmp_path / "ridge"), "--estimator",
                                   "sklearn.linear_model:RidgeClassifier", "--no-learning-curve", "--bootstrap", "100",
                                   "--group-by", "speaker"])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "ridge" / "metrics.json").read_text())
    assert m["saved_model"] == "custom:sklearn.linear_model:RidgeClassifier"
    assert m["split"]["group_by"] == "speaker"
    assert m["models"][m["saved_model"]]["macro_f1"]["value"] > m["models"]["majority"]["macro_f1"]["value"]
    assert "RidgeClassifier" in m["model_config"]["repr"]


# ------------------------------------------------------------------------------- splits

def _frame(df: pd.DataFrame) -> pd.DataFrame:
    return prepare(df, Columns(), "test").frame


@pytest.mark.parametrize("group_by", ["article", "speaker", "date"])
def test_splits_never_share_a_group(group_by):
    f = _frame(synth(n_articles=30, per=5, seed=2))
    plan = plan_splits(f, group_by, seed=7)
    col = {"article": "group", "speaker": "speaker", "date": "date"}[group_by]
    seen = np.zeros(len(f), dtype=int)
    for tr, te in plan.folds:
        assert not set(f[col].iloc[tr]) & set(f[col].iloc[te])
        seen[te] += 1
    assert (seen == 1).all()  # each row tested exactly once
    again = plan_splits(f, group_by, seed=7)
    assert all((a[1] == b[1]).all() for a, b in zip(plan.folds, again.folds))


def test_holdout_for_large_data_and_temporal_date_split():
    f = _frame(synth(n_articles=30, per=5, seed=2))
    plan = plan_splits(f, "article", seed=0, cv_below=100)
    assert plan.kind == "holdout" and len(plan.folds) == 1
    tr, te = plan.folds[0]
    assert 0.1 < len(te) / len(f) < 0.3 and not set(f["group"].iloc[tr]) & set(f["group"].iloc[te])
    tr, te = plan_splits(f, "date", seed=0, cv_below=100).folds[0]
    assert f["date"].iloc[tr].max() < f["date"].iloc[te].min()


def test_forced_leak_raises():
    groups = ["a1", "a1", "a2", "a3"]
    assert_no_leak(groups, [0, 1], [2, 3])
    with pytest.raises(LeakError, match="a1"):
        assert_no_leak(groups, [0, 2], [1, 3], "article")
    f = _frame(synth(n_articles=6, per=5))
    with pytest.raises(LeakError, match="article"):
        given_split(f, f.iloc[:3], "article", 0)


def test_test_file_sharing_an_article_is_refused(tmp_path):
    df = synth(n_articles=12, per=6)
    df.to_parquet(tmp_path / "train.parquet")
    df[df.article_id == "a003"].to_parquet(tmp_path / "test.parquet")
    with pytest.raises(LeakError, match="a003"):
        run_training(tmp_path / "train.parquet", tmp_path / "run", test_path=tmp_path / "test.parquet",
                       opts=TrainOptions(n_boot=50))


# ------------------------------------------------------------------------------- bad input

def _train(tmp_path, df, **kw):
    p = tmp_path / "bad.csv"
    df.to_csv(p, index=False)
    return run_training(p, tmp_path / "run", opts=TrainOptions(n_boot=50, **kw))


def test_one_class_is_refused(tmp_path):
    df = synth(n_articles=6, per=5).assign(label="favor")
    with pytest.raises(InputError, match="at least two classes.*'favor'"):
        _train(tmp_path, df)


def test_single_example_class_is_refused(tmp_path):
    df = synth(n_articles=6, per=5)
    df["label"] = np.where(np.arange(len(df)) % 2, "favor", "against")
    df.loc[4, "label"] = "neutral"
    with pytest.raises(InputError, match="'neutral' have a single example"):
        _train(tmp_path, df)


def test_empty_text_is_refused(tmp_path):
    df = synth(n_articles=6, per=5)
    df.loc[7, "text"] = "   "
    with pytest.raises(InputError, match=r"empty or missing text.*row 8 \(q_00102\)"):
        _train(tmp_path, df)


def test_label_outside_label_set_is_refused(tmp_path):
    df = synth(n_articles=6, per=5)
    df.loc[3, "label"] = "positive"
    with pytest.raises(InputError, match=r"'positive'.*not in the label set.*row 4"):
        _train(tmp_path, df)


def test_unclear_and_missing_labels_are_dropped_with_a_count(tmp_path):
    df = synth(n_articles=10, per=6)
    df.loc[[1, 2], "label"] = "unclear"
    df.loc[5, "label"] = None
    r = _train(tmp_path, df, models=("tfidf-svm",), learning_curve=False)
    assert r["data"]["n_train"] == len(df) - 3
    assert any("2 row(s) labelled 'unclear' dropped" in w for w in r["warnings"])
    assert any("1 row(s) without a label dropped" in w for w in r["warnings"])


def test_one_group_is_refused(tmp_path):
    df = synth(n_articles=6, per=5).assign(article_id="a1")
    with pytest.raises(InputError, match="article_id.*only one value.*'a1'.*--group-by none"):
        _train(tmp_path, df)


def test_speaker_grouping_needs_no_article_column(tmp_path):
    """The one-group check looks at the grouping in use, not at the (here absent) article column."""
    df = synth(n_articles=6, per=5).drop(columns=["article_id"])
    r = _train(tmp_path, df, group_by="speaker")
    assert "speaker" in r["split"]["description"]


def test_cli_prints_error_without_traceback(tmp_path):
    df = synth(n_articles=6, per=5)
    df.loc[3, "label"] = "positive"
    df.to_csv(tmp_path / "bad.csv", index=False)
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "train", str(tmp_path / "bad.csv"), "--out",
                           str(tmp_path / "run")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "positive" in proc.stderr and "Traceback" not in proc.stderr


# ------------------------------------------------------------------------------- predict / skops

LS_CONFIG = """<View>
  <Text name="quote" value="$text"/>
  <Choices name="stance" toName="quote" choice="single">
    <Choice value="favor"/><Choice value="against"/><Choice value="neutral"/><Choice value="unclear"/>
  </Choices>
</View>"""


def test_predict_writes_valid_labelstudio_predictions_and_table(tmp_path, run):
    from label_studio_sdk.label_interface import LabelInterface

    _, out, _ = run
    quotes = synth(n_articles=3, per=4, seed=9).drop(columns=["label"])
    quotes.to_csv(tmp_path / "new.csv", index=False)
    res = CliRunner().invoke(app, ["predict", str(out), str(tmp_path / "new.csv"), "--out",
                                   str(tmp_path / "pred.json"), "--table", str(tmp_path / "pred.csv")])
    assert res.exit_code == 0, res.output
    tasks = json.loads((tmp_path / "pred.json").read_text())
    assert [t["data"]["quote_id"] for t in tasks] == quotes["quote_id"].tolist()
    li = LabelInterface(LS_CONFIG)
    for t in tasks:
        (p,) = t["predictions"]
        assert li.validate_prediction(p, return_errors=True) == []
        assert set(p) == {"model_version", "score", "result"} and 0 < p["score"] <= 1
        assert p["result"][0]["value"]["choices"][0] in LABELS
    assert li.validate_prediction({"result": [{"from_name": "stance", "to_name": "quote", "type": "choices",
                                               "value": {"choices": ["maybe"]}}]}) is False  # the check can fail
    table = pd.read_csv(tmp_path / "pred.csv")
    assert table["quote_id"].tolist() == quotes["quote_id"].tolist()
    assert table["label"].tolist() == [t["predictions"][0]["result"][0]["value"]["choices"][0] for t in tasks]
    # Label Studio tasks JSON as input: the round trip keeps the ids.
    run_predict(out, tmp_path / "pred.json", tmp_path / "pred2.json")
    assert json.loads((tmp_path / "pred2.json").read_text()) == tasks


def test_skops_round_trip_predicts_the_same(run, tmp_path):
    data, out, _ = run
    model, meta = load_model(out / "model.skops")
    assert meta["model_name"] == "tfidf-logreg" and meta["toolkit_version"] == toolkit.__version__
    f = prepare(pd.read_parquet(data), Columns(), "x").frame
    refit = fit_model(build_model("tfidf-logreg", use_target=True), f)
    X = features_of(f)
    assert (model.predict(X) == refit.predict(X)).all()
    assert np.allclose(model.predict_proba(X), refit.predict_proba(X))


def test_tampered_model_file_is_refused(run, tmp_path):
    import shutil

    _, out, _ = run
    d = tmp_path / "copy"
    shutil.copytree(out, d)
    with open(d / "model.skops", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelFileError, match="sha256 does not match"):
        load_model(d)


class Sneaky:
    """A type the toolkit never writes: a model file holding it must be refused."""


def test_unexpected_type_is_refused_even_with_matching_checksum(tmp_path):
    bundle = {"format": BUNDLE_FORMAT, "format_version": 1, "toolkit_version": toolkit.__version__,
              "sklearn_version": "x", "model": Sneaky(), "meta": "{}"}
    sio.dump(bundle, tmp_path / "model.skops")
    (tmp_path / "model_meta.json").write_text(json.dumps(
        {"model_sha256": hashlib.sha256((tmp_path / "model.skops").read_bytes()).hexdigest()}))
    with pytest.raises(ModelFileError, match="test_baseline.Sneaky.*refusing"):
        load_model(tmp_path)


def test_model_from_another_toolkit_version_is_refused(run, tmp_path):
    est = SpeakerMajorityClassifier().fit(pd.DataFrame({"speaker": ["a", "b"]}), ["favor", "against"])
    sio.dump({"format": BUNDLE_FORMAT, "format_version": 1, "toolkit_version": "0.0.1",
              "sklearn_version": "x", "model": est, "meta": "{}"}, tmp_path / "model.skops")
    with pytest.raises(ModelFileError, match="saved by qst 0.0.1.*retrain"):
        load_model(tmp_path / "model.skops")
    (tmp_path / "junk.skops").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a readable skops"):
        load_model(tmp_path / "junk.skops")


def test_speaker_majority_estimator():
    X = pd.DataFrame({"speaker": ["a", "a", "a", "b", "b", "c"]})
    y = ["favor", "favor", "against", "against", "against", "neutral"]
    est = SpeakerMajorityClassifier().fit(X, y)
    assert est.predict(pd.DataFrame({"speaker": ["a", "b", "c", "zzz"]})).tolist() == [
        "favor", "against", "neutral", "against"]  # unseen speaker -> global majority
    assert est.get_params() == {"speaker_column": "speaker"}


def test_holdout_run_for_larger_data_and_label_case_warning(tmp_path):
    df = synth(n_articles=30, per=6, seed=4)
    df.loc[0, "label"] = "FAVOR"
    df.to_csv(tmp_path / "q.csv", index=False)
    r = run_training(tmp_path / "q.csv", tmp_path / "run",
                       opts=TrainOptions(models=("tfidf-svm",), cv_below=100, n_boot=100, learning_curve=False))
    assert r["split"]["kind"] == "holdout" and r["split"]["n_folds"] == 1
    n_test = r["split"]["fold_sizes"][0]["test"]
    assert r["models"]["tfidf-svm"]["n"] == n_test < len(df)
    assert "refitted on all 180" in r["final_fit"]
    assert any("'FAVOR' -> 'favor'" in w for w in r["warnings"])


def test_per_target_cross_validation(tmp_path):
    synth(n_articles=30, per=6, seed=5).to_parquet(tmp_path / "q.parquet")
    r = run_training(tmp_path / "q.parquet", tmp_path / "run",
                       opts=TrainOptions(models=("tfidf-logreg",), per_target=True, n_boot=100,
                                           learning_curve=False))
    model, meta = load_model(tmp_path / "run")
    assert meta["per_target"] is True and sorted(model.estimators_) == ["Mietendeckel", "Tempolimit", "Windkraft"]
    assert r["models"]["tfidf-logreg"]["macro_f1"]["value"] > r["models"]["majority"]["macro_f1"]["value"] + 0.2
    assert {row["target"] for row in r["per_target"]} == set(model.estimators_)


def test_predict_with_text_col_loads_the_model_once(run, tmp_path):
    """--text-col/--id-col read the saved columns from the one load_model call that predicts."""
    _, out, _ = run
    quotes = synth(n_articles=2, per=3, seed=8).drop(columns=["label"]).rename(columns={"text": "zitat"})
    quotes.to_csv(tmp_path / "new.csv", index=False)
    opened: list[str] = []
    model_file = str(out / "model.skops")

    def hook(event: str, args: tuple) -> None:
        if event == "open" and str(args[0]) == model_file:
            opened.append(event)

    sys.addaudithook(hook)  # audit hooks cannot be removed; this one only counts opens of model_file
    res = CliRunner().invoke(app, ["predict", str(out), str(tmp_path / "new.csv"), "--out", str(tmp_path / "a.json")])
    assert res.exit_code != 0 and "no text column 'text'" in str(res.exception)  # the option is needed
    opened.clear()
    res = CliRunner().invoke(app, ["predict", str(out), str(tmp_path / "new.csv"), "--out", str(tmp_path / "b.json"),
                                   "--text-col", "zitat"])
    assert res.exit_code == 0, res.output
    with_option = len(opened)
    quotes.rename(columns={"zitat": "text"}).to_csv(tmp_path / "plain.csv", index=False)
    opened.clear()
    res = CliRunner().invoke(app, ["predict", str(out), str(tmp_path / "plain.csv"), "--out", str(tmp_path / "c.json")])
    assert res.exit_code == 0, res.output
    assert with_option == len(opened) > 0
    assert json.loads((tmp_path / "b.json").read_text()) == json.loads((tmp_path / "c.json").read_text())

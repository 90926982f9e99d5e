"""Metrics from confusion matrices, seeded bootstrap intervals, plots and the Markdown renderer."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from toolkit.stance import report as R

LABELS = ["favor", "against", "neutral"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scores_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    gold = rng.choice(LABELS, 200, p=[0.2, 0.5, 0.3])
    pred = np.where(rng.random(200) < 0.6, gold, rng.choice(LABELS, 200))
    s = R.scores_from_cm(R.confusion(gold, pred, LABELS), LABELS)
    assert s["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"))
    assert s["accuracy"] == pytest.approx(accuracy_score(gold, pred))
    assert s["f_avg"] == pytest.approx(f1_score(gold, pred, labels=["favor", "against"], average="macro"))
    _, _, f, _ = precision_recall_fscore_support(gold, pred, labels=LABELS)
    assert [s[f"f1_{c}"] for c in LABELS] == pytest.approx(list(f))


def test_f_avg_ignores_neutral_and_handles_never_predicted_class():
    gold = ["favor", "against", "neutral", "neutral"]
    pred = ["against", "against", "neutral", "neutral"]
    s = R.scores_from_cm(R.confusion(gold, pred, LABELS), LABELS)
    assert s["f1_favor"] == 0.0 and s["f_avg"] == pytest.approx((0 + 2 / 3) / 2)


def test_bootstrap_is_seeded_and_cluster_aware():
    rng = np.random.default_rng(0)
    gold = rng.choice(LABELS, 300)
    pred = np.where(rng.random(300) < 0.7, gold, rng.choice(LABELS, 300))
    a = R.bootstrap(gold, pred, LABELS, None, n_boot=200, seed=5)
    b = R.bootstrap(gold, pred, LABELS, None, n_boot=200, seed=5)
    assert np.array_equal(a["macro_f1"], b["macro_f1"])
    # Clusters where each article is all right or all wrong: resampling articles widens the interval.
    clusters = np.repeat(np.arange(30), 10)
    correct = np.repeat(rng.random(30) < 0.7, 10)
    pred2 = np.where(correct, gold, np.roll(gold, 1))
    item = R.bootstrap(gold, pred2, LABELS, None, n_boot=500, seed=1)["accuracy"]
    clus = R.bootstrap(gold, pred2, LABELS, clusters, n_boot=500, seed=1)["accuracy"]
    assert np.std(clus) > 1.5 * np.std(item)
    assert abs(np.mean(clus) - np.mean(pred2 == gold)) < 0.03


def test_evaluate_and_paired_difference():
    import pandas as pd

    rng = np.random.default_rng(3)
    gold = rng.choice(LABELS, 150)
    good = pd.DataFrame({"gold": gold, "pred": np.where(rng.random(150) < 0.8, gold, "neutral"),
                         "group": np.repeat(np.arange(30), 5), "fold": np.arange(150) % 5})
    bad = good.assign(pred="against")
    eg = R.evaluate(good, LABELS, "group", n_boot=300, seed=0)
    eb = R.evaluate(bad, LABELS, "group", n_boot=300, seed=0)
    d = R.paired_difference(eg, eb)
    assert d["difference"] > 0.3 and d["ci95"][0] > 0
    assert len(eg["per_fold"]) == 5 and sum(f["n"] for f in eg["per_fold"]) == 150
    assert eg["per_class"]["favor"]["support"] == int((gold == "favor").sum())


def test_plots_are_png():
    cm = [[5, 1, 0], [2, 7, 1], [0, 1, 3]]
    for png in (R.plot_confusion(cm, LABELS, "t"),
                R.plot_label_distribution({"train": {"favor": 3, "against": 5, "neutral": 1}}, LABELS),
                R.plot_learning_curve([{"n_train": 10, "macro_f1": .4, "macro_f1_sd": .1},
                                       {"n_train": 20, "macro_f1": .5, "macro_f1_sd": .1}], "m")):
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000


def test_markdown_tables_render_to_html():
    md = "# T\n\n" + R._md_table([{"a": "x|y", "b": "<b>"}]) + "\n- item\n"
    out = R._markdown_to_html(md)
    assert "<h1>T</h1>" in out and "<td>x|y</td>" in out and "&lt;b&gt;" in out and "<li>item</li>" in out

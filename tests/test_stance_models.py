"""The stance estimators against scikit-learn's own estimator checks, their examples, the learning curve."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from toolkit.stance import models
from toolkit.stance.data import Columns, prepare
from toolkit.stance.features import SeenColumns, build_features
from toolkit.stance.models import FoldCachedSearchCV, PerTargetClassifier, SpeakerMajorityClassifier
from toolkit.stance.splits import plan_splits
from toolkit.stance.train import cross_predict, learning_curve_points

from test_baseline import synth


# The checks feed numeric arrays, so the columns are named by position there; in the toolkit they
# are DataFrame column names. Every check applies: none is listed as an expected failure.
@parametrize_with_checks([SpeakerMajorityClassifier(speaker_column=0),
                          PerTargetClassifier(LogisticRegression(), target_column=0),
                          SeenColumns(),
                          FoldCachedSearchCV(Pipeline([("clf", LogisticRegression())]), {"C": [0.1, 1.0]},
                                             cv=3, shared_steps=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_docstring_examples_run():
    result = doctest.testmod(models, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0


def test_per_target_names_unseen_targets_without_changing_state():
    frame = prepare(synth(n_articles=6, per=6), Columns(), "t").frame
    X = frame[["text", "target", "speaker"]].astype(object)
    clf = PerTargetClassifier(Pipeline([("clf", SpeakerMajorityClassifier())])).fit(X, frame["label"].to_numpy(object))
    before = dict(vars(clf))
    X2 = X.assign(target=["Neu"] + list(X["target"].iloc[1:]))
    assert clf.unseen_targets(X2) == ["Neu"]
    assert clf.predict(X2)[0] == clf.majority_
    assert vars(clf).keys() == before.keys()


class CountingLogisticRegression(LogisticRegression):
    """LogisticRegression that counts its fits (class-wide: clones are new instances)."""

    fits = 0

    def fit(self, X, y, sample_weight=None):
        type(self).fits += 1
        return super().fit(X, y, sample_weight=sample_weight)


def test_learning_curve_reads_the_full_size_point_from_cross_validation():
    frame = prepare(synth(n_articles=20, per=6, seed=2), Columns(), "t").frame
    plan = plan_splits(frame, "article", seed=0)
    model = Pipeline([("features", build_features(True)), ("clf", CountingLogisticRegression(max_iter=500))])
    refit = learning_curve_points(model, frame, plan, seed=0)
    CountingLogisticRegression.fits = 0
    folds = cross_predict(model, frame, plan)
    assert CountingLogisticRegression.fits == len(plan.folds)
    CountingLogisticRegression.fits = 0
    reused = learning_curve_points(model, frame, plan, seed=0, fitted_folds=folds)
    assert CountingLogisticRegression.fits == 4 * len(plan.folds)  # 0.2 .. 0.8 fitted; 1.0 read from the folds
    assert reused == refit  # the same numbers as refitting the full-size point
    assert [p["fraction"] for p in reused] == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert np.isclose(reused[-1]["n_train"], np.mean([len(tr) for tr, _ in plan.folds]))

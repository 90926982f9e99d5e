"""The stance stage's public entry points in one namespace, for the CLI and Python callers.

The code lives in the modules named below; this module only gathers what `qst train` and
`qst predict` (toolkit.cli.stance) and scripts call, so they need not know the module layout.
"""

from __future__ import annotations

from toolkit.stance.data import LABELS, Columns, load_labelled, prepare
from toolkit.stance.modelfile import MODEL_FILE, META_FILE, ModelFileError, load_model, save_model
from toolkit.stance.models import (MODEL_NAMES, PerTargetClassifier, SpeakerMajorityClassifier, build_model,
                                   fit_model)
from toolkit.stance.predict import run_predict, run_select
from toolkit.stance.splits import LeakError, plan_splits
from toolkit.stance.train import TrainOptions, run_training

__all__ = ["LABELS", "MODEL_FILE", "MODEL_NAMES", "META_FILE", "Columns", "LeakError", "ModelFileError",
           "PerTargetClassifier", "SpeakerMajorityClassifier", "TrainOptions", "build_model", "fit_model",
           "load_labelled", "load_model", "plan_splits", "prepare", "run_predict", "run_select", "run_training", "save_model"]

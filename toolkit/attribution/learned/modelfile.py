"""Attribution model files: the stance models' skops bundle (toolkit.stance.modelfile), own format name.

Why reuse: the trust rules (checksum recorded at training time, only known types constructed)
are the same for any model the toolkit loads; only the bundle's format name differs, so a stance
model is never taken for an attribution model or the other way round.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toolkit.stance.modelfile import ModelFileError, load_model, save_model

BUNDLE_FORMAT = "qst-attribution-model"

__all__ = ["BUNDLE_FORMAT", "ModelFileError", "load_attribution_model", "save_attribution_model"]


def save_attribution_model(model: Any, out_dir: str | Path, meta: dict[str, Any]) -> Path:
    """Write model.skops and model_meta.json into `out_dir` (which must exist)."""
    return save_model(model, out_dir, meta, bundle_format=BUNDLE_FORMAT)


def load_attribution_model(path: str | Path) -> Any:
    """The AttributionModel saved in `path` (a folder or its model.skops); ModelFileError otherwise."""
    from toolkit.attribution.learned.layer import AttributionModel

    model, _meta = load_model(path, bundle_format=BUNDLE_FORMAT)
    if not isinstance(model, AttributionModel) or not hasattr(model, "models_"):
        raise ModelFileError(f"{path}: not a trained attribution model")
    return model

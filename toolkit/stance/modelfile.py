"""Model files: a skops bundle (model.skops) plus model_meta.json, and the rules for trusting one.

Why the rules: loading a pickle-like file can construct any class, so a model file is loaded only
if it is the bundle this toolkit wrote (format and version), its sha256 matches the one recorded
at training time, and every type in it is one skops trusts by default, one of ours
(`ALLOWED_TYPES`), or one the user names with `--trust`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import sklearn

import toolkit
from toolkit.errors import ToolkitError
from toolkit.fileio import atomic_path, sha256_file, write_json

log = logging.getLogger(__name__)

MODEL_FILE = "model.skops"
META_FILE = "model_meta.json"
BUNDLE_FORMAT = "qst-stance-model"
BUNDLE_FORMAT_VERSION = 1


class ModelFileError(ToolkitError):
    """A model file that is unreadable, from another toolkit version, or not the file we wrote."""


#: Types our own models may contain beyond those skops trusts by default. Anything else in a
#: model file is refused: skops would otherwise construct arbitrary classes on load.
ALLOWED_TYPES = frozenset({
    "toolkit.stance.models.SpeakerMajorityClassifier",
    "toolkit.stance.models.PerTargetClassifier",
    "toolkit.attribution.learned.layer.AttributionModel",
    "toolkit.attribution.learned.base.FeatureLogit",
    "toolkit.stance.models.FoldCachedSearchCV",
    "toolkit.stance.features.SeenColumns",
    "toolkit.stance.features.MetaFeatures",
    "toolkit.stance.features.TweetPreprocessor",
    # scikit-learn's own, inside CalibratedClassifierCV (linear-calibrated, ensemble), which skops
    # does not list by default because they are private classes
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    # VotingClassifier.named_estimators_ (ensemble): scikit-learn's dict with attribute access;
    # skops rebuilds it from its items (the members themselves are checked like any other type)
    "sklearn.utils._bunch.Bunch",
})


def save_model(model: Any, out_dir: str | Path, meta: dict[str, Any], bundle_format: str = BUNDLE_FORMAT) -> Path:
    """Write model.skops (a dict bundle carrying the toolkit version) and model_meta.json.

    The meta file records the model file's sha256: a changed model file is refused on load.
    """
    import skops.io as sio

    out_dir = Path(out_dir)
    bundle = {
        "format": bundle_format,
        "format_version": BUNDLE_FORMAT_VERSION,
        "toolkit_version": toolkit.__version__,
        "sklearn_version": sklearn.__version__,
        "model": model,
        "meta": json.dumps(meta, ensure_ascii=False, default=str),
    }
    path = out_dir / MODEL_FILE
    with atomic_path(path) as tmp:
        sio.dump(bundle, tmp)
    untrusted = sio.get_untrusted_types(file=path)
    extra = sorted(set(untrusted) - ALLOWED_TYPES)
    write_json(out_dir / META_FILE, {
        **meta,
        "model_file": MODEL_FILE,
        "model_sha256": sha256_file(path),
        "toolkit_version": toolkit.__version__,
        "sklearn_version": sklearn.__version__,
        "trusted_types": sorted(untrusted),
        "needs_trust": extra,
    })
    return path


def load_model(path: str | Path, trust: tuple[str, ...] = (),
               bundle_format: str = BUNDLE_FORMAT) -> tuple[Any, dict[str, Any]]:
    """Load a model saved by `save_model`; return (estimator, meta).

    Refuses, with ModelFileError naming the file: a checksum mismatch against model_meta.json
    (the file was changed after training), types outside ALLOWED_TYPES + `trust` (checked with
    skops.io.get_untrusted_types *before* anything is constructed), a file that is not a qst
    model bundle, and a bundle written by another toolkit version.
    """
    import zipfile

    import skops.io as sio

    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file (train one with `qst train ... --out DIR`)")
    meta_path = path.parent / META_FILE
    meta: dict[str, Any] = {}
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"{meta_path}: not valid JSON ({exc.msg})") from exc
        want = meta.get("model_sha256")
        if want and sha256_file(path) != want:
            raise ModelFileError(f"{path}: sha256 does not match the one recorded at training time in {meta_path}: "
                                 f"the model file was modified or replaced; refusing to load it")
    else:
        log.warning("%s: no %s beside the model; cannot verify its checksum", path, META_FILE)
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError, json.JSONDecodeError, TypeError) as exc:
        raise ModelFileError(f"{path}: not a readable skops model file ({type(exc).__name__}: {exc})") from exc
    allowed = ALLOWED_TYPES | set(trust)
    unexpected = sorted(set(untrusted) - allowed)
    if unexpected:
        raise ModelFileError(f"{path}: contains types this toolkit does not expect: {', '.join(unexpected)}; "
                             f"refusing to load (pass --trust TYPE only if you wrote that class yourself)")
    try:
        bundle = sio.load(path, trusted=sorted(set(untrusted)))
    except Exception as exc:  # skops raises many types for corrupt content
        raise ModelFileError(f"{path}: could not be loaded ({type(exc).__name__}: {exc})") from exc
    if not isinstance(bundle, dict) or bundle.get("format") != bundle_format:
        raise ModelFileError(f"{path}: not a {bundle_format} file (no '{bundle_format}' bundle)")
    if bundle.get("format_version") != BUNDLE_FORMAT_VERSION or bundle.get("toolkit_version") != toolkit.__version__:
        raise ModelFileError(f"{path}: saved by qst {bundle.get('toolkit_version')} (format "
                             f"{bundle.get('format_version')}); this is qst {toolkit.__version__} (format "
                             f"{BUNDLE_FORMAT_VERSION}): retrain with `qst train`")
    if bundle.get("sklearn_version") != sklearn.__version__:
        log.warning("%s: trained with scikit-learn %s, running %s; predictions may differ",
                    path, bundle.get("sklearn_version"), sklearn.__version__)
    inner = json.loads(bundle.get("meta") or "{}")
    return bundle["model"], {**inner, **meta}

"""The honest protocol: fixed folds of gold articles, and every article scored by a model that
never saw it (trained on the other folds).

Why: the rules were written after reading errors on the SpkAtt training articles, so their
score there is a training figure. The learned layer's out-of-fold figure is what it does on
articles it was not fitted to; the gap between the two is printed side by side.
"""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.attribution.learned.data import TrainingDoc, article_of
from toolkit.attribution.learned.layer import AttributionModel
from toolkit.errors import InputError


def make_folds(doc_ids: Sequence[str], k: int = 5, seed: int = 2023) -> list[list[str]]:
    """`k` folds of document ids, by a seeded shuffle (each id in exactly one fold, sorted within)."""
    order = sorted(doc_ids)
    random.Random(seed).shuffle(order)
    return [sorted(order[i::k]) for i in range(k)]


def read_folds(path: str | Path, doc_ids: Sequence[str]) -> list[list[str]]:
    """The folds of a committed folds file; every id of `doc_ids` must be in exactly one fold."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        folds = [list(map(str, f)) for f in data["folds"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a folds file ({type(exc).__name__}: {exc})") from None
    where = {d: i for i, f in enumerate(folds) for d in f}
    missing = [d for d in doc_ids if d not in where]
    if missing:
        raise InputError(f"{path}: {len(missing)} documents are in no fold (first: {missing[0]!r})")
    wanted = set(doc_ids)
    return [[d for d in f if d in wanted] for f in folds]


def out_of_fold(docs: Sequence[dict[str, Any]], captured: Sequence[TrainingDoc], folds: Sequence[Sequence[str]],
                registry: Any = None, types: Any = None,
                **params: Any) -> tuple[dict[str, list[dict[str, Any]]], dict[str, float]]:
    """Records of every document from a model trained on the other folds, and CPU seconds
    (training, and extraction with the learned layer, rules included); `types` as
    toolkit.attribution.extract.extract_article takes it."""
    from toolkit.attribution.extract import extract_article

    by_id = {d["doc_id"]: d for d in docs}
    out: dict[str, list[dict[str, Any]]] = {}
    times = {"train_s": 0.0, "extract_s": 0.0}
    for fold in folds:
        held = set(fold)
        t = time.process_time()
        model = AttributionModel(**params).fit([copy.deepcopy(c) for c in captured if c.doc_id not in held])
        times["train_s"] += time.process_time() - t
        t = time.process_time()
        for doc_id in fold:
            out[doc_id] = extract_article(article_of(by_id[doc_id]), registry, model, types)
        times["extract_s"] += time.process_time() - t
    return out, times

"""`qst train-attribution`: gold in SpkAtt JSONL -> a trained AttributionModel and its summary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from toolkit.attribution.learned.data import capture, read_gold
from toolkit.attribution.learned.layer import AttributionModel


def train_attribution(gold: str | Path, registry: Any = None, **params: Any) -> tuple[AttributionModel, dict[str, Any]]:
    """Read and check the gold, run the rules on its articles, fit the three decisions.

    Returns the model and a summary (documents, gold events, training rows per decision,
    CPU seconds) for model_meta.json.
    """
    docs = read_gold(gold)
    t = time.process_time()
    captured = capture(docs, registry)
    model = AttributionModel(**params).fit(captured)
    summary = {
        "gold": str(gold), "documents": len(docs),
        "gold_events": sum(1 for d in docs for q in d["quotes"] if not q.get("is_nested")),
        "rule_quotes": sum(len(c.spans) for c in captured),
        "training_rows": model.n_rows_, "params": model.get_params(),
        "cpu_seconds": round(time.process_time() - t, 2),
    }
    return model, summary

"""`qst train-attribution`: gold in SpkAtt JSONL and/or Label Studio reviews -> a trained AttributionModel."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from toolkit.attribution.learned.data import capture, read_gold
from toolkit.attribution.learned.layer import AttributionModel
from toolkit.errors import InputError


def train_attribution(gold: str | Path | None, registry: Any = None, reviews: tuple[Any, Any, Any] | None = None,
                      **params: Any) -> tuple[AttributionModel, dict[str, Any]]:
    """Read and check the gold and/or the reviews, run the rules on their articles, fit the decisions.

    `reviews` is (annotation table, quotes table, articles), see toolkit.attribution.learned.reviews.
    Returns the model and a summary (documents, gold events, reviews used, training rows per
    decision, CPU seconds) for model_meta.json.
    """
    if gold is None and reviews is None:
        raise InputError("nothing to train on: give gold JSONL, or --reviews with --quotes and --articles")
    docs = read_gold(gold) if gold is not None else []
    review_docs, review_summary = [], None
    if reviews is not None:
        from toolkit.attribution.learned.reviews import review_documents

        review_docs, review_summary = review_documents(*reviews)
    t = time.process_time()
    captured = capture(docs + review_docs, registry)
    model = AttributionModel(**params).fit(captured)
    summary = {
        "gold": None if gold is None else str(gold), "documents": len(docs),
        "gold_events": sum(1 for d in docs for q in d["quotes"] if not q.get("is_nested")),
        "reviews": review_summary,
        "rule_quotes": sum(len(c.spans) for c in captured),
        "training_rows": model.n_rows_, "params": model.get_params(),
        "cpu_seconds": round(time.process_time() - t, 2),
    }
    return model, summary

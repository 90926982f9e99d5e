"""Session-wide test settings.

The annotator salt: without QST_ANNOTATOR_SALT, `qst` creates a salt file in the user's
~/.config on first use (toolkit.labelstudio.identity). A test run must not write into the home
folder of whoever runs it, so every test (and every `qst` it starts) gets a salt file in a
session temp folder instead, unless the caller set one explicitly.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest
from pathlib import Path

_SALT_DIR = tempfile.mkdtemp(prefix="qst-test-salt-")
atexit.register(shutil.rmtree, _SALT_DIR, True)
os.environ.setdefault("QST_ANNOTATOR_SALT_FILE", str(Path(_SALT_DIR) / "annotator-salt"))

# The lexicon cache (toolkit.lexicon.load.cache_dir): likewise in a session temp folder, not ~/.cache.
_CACHE_DIR = tempfile.mkdtemp(prefix="qst-test-cache-")
atexit.register(shutil.rmtree, _CACHE_DIR, True)
os.environ.setdefault("QST_CACHE_DIR", _CACHE_DIR)


@pytest.fixture
def table_scores_agree():
    """A check shared by the learned-layer tests: the layer scores options from value tables
    (FeatureLogit.table) but is trained on feature strings, so for every candidate of `captured`
    both must give each option the same score and the same winner. `boundaries` adds the start
    and end options to the source options. Returns the number of source options checked."""
    from toolkit.attribution.learned import boundaries as bd
    from toolkit.attribution.learned import source as src
    from toolkit.attribution.learned.base import argmax_option, first_max
    from toolkit.attribution.learned.view import ArticleView

    def agree(logit, rows, scores) -> None:
        assert scores == pytest.approx([logit.decision(r) for r in rows], rel=1e-12, abs=1e-12)
        assert first_max(scores) == argmax_option(logit, rows)

    def check(model, captured, boundaries: bool = False) -> int:
        kinds = (("start", bd.start_options, bd.start_features, bd.start_scores),
                 ("end", bd.end_options, bd.end_features, bd.end_scores)) if boundaries else ()
        source, n = model.models_["source"], 0
        shapes = getattr(model, "source_shapes", False)
        for doc in captured:
            view = ArticleView(doc.text, doc.sentences)
            for c in model.candidates(view, doc.text, doc.spans, doc.skip):
                options = src.source_options(view, c, shapes)
                agree(source, [src.source_features(view, c, o, shapes) for o in options],
                      src.source_scores(view, c, options, source, shapes))
                n += len(options)
                for name, options_of, feats, score in kinds:
                    opts = options_of(view, c)
                    agree(model.models_[name], [feats(view, c, o) for o in opts], score(view, c, opts, model.models_[name]))
        return n
    return check


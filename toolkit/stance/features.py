"""What a stance model reads: word and character n-grams of the quote, the target's words.

Why separate: the features are shared by every text model (tf-idf + logistic regression or SVM,
the SemEval SVM-ngrams baseline, any `--estimator`), so they are defined once and the models
differ only in the classifier after them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion

#: Tweet-friendly word tokens: keeps #hashtags and @mentions whole, and one-letter words.
TOKEN_PATTERN = r"(?u)[#@]?\w+"
#: The canonical columns a model is given (see `toolkit.stance.data.prepare`).
FEATURE_COLUMNS = ["text", "target", "speaker"]


def features_of(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns a model sees, as plain str (pandas' string dtype trips some vectorizers)."""
    return frame[FEATURE_COLUMNS].astype(object).astype(str)


def text_features(binary: bool = False, word_ngrams: tuple[int, int] = (1, 2),
                  char_ngrams: tuple[int, int] = (2, 5)) -> FeatureUnion:
    """Word and character n-grams side by side (FeatureUnion).

    binary=True gives presence/absence counts as in Mohammad et al.'s SVM-ngrams; otherwise
    sublinear TF-IDF, which copes better with quotes of very different lengths.
    """
    if binary:
        word = CountVectorizer(ngram_range=word_ngrams, binary=True, lowercase=True, token_pattern=TOKEN_PATTERN)
        char = CountVectorizer(analyzer="char", ngram_range=char_ngrams, binary=True, lowercase=True)
    else:
        word = TfidfVectorizer(ngram_range=word_ngrams, sublinear_tf=True, min_df=1, token_pattern=TOKEN_PATTERN)
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=char_ngrams, sublinear_tf=True, min_df=1)
    return FeatureUnion([("word", word), ("char", char)])


def build_features(use_target: bool, binary: bool = False, word_ngrams: tuple[int, int] = (1, 2),
                   char_ngrams: tuple[int, int] = (2, 5)) -> ColumnTransformer:
    """Text n-grams, plus the target's words when the target is an input (ColumnTransformer)."""
    parts: list[tuple[str, Any, Any]] = [("text", text_features(binary, word_ngrams, char_ngrams), "text")]
    if use_target:
        parts.append(("target", TfidfVectorizer(token_pattern=TOKEN_PATTERN, binary=True, use_idf=False,
                                                norm=None), "target"))
    return ColumnTransformer(parts, remainder="drop")

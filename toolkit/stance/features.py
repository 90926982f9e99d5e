"""What a stance model reads: word and character n-grams of the quote, the target's words, metadata.

Why separate: the features are shared by every text model (tf-idf + logistic regression or SVM,
the SemEval SVM-ngrams baseline, the ensemble, any `--estimator`), so they are defined once and
the models differ only in the classifier after them.

Why hashed n-grams (`hashed_ngrams`): a vocabulary dict of ~100k word and character n-grams per
target is what made model files large (179 MB at SemEval size) and slow to save, and refitting
it in every cross-validation fold dominated the C search. `HashingVectorizer` learns nothing, so
a search hashes the rows once; `SeenColumns` then keeps only the hash columns seen in training
(an int32 array, not a vocabulary), so coefficient arrays stay as small as the vocabulary would
make them. With 2**22 buckets collisions are rare (~1 % of 100k n-grams) and binary features
behave as CountVectorizer's; TF-IDF after `SeenColumns` equals TfidfVectorizer's up to them.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

#: Tweet-friendly word tokens: keeps #hashtags and @mentions whole, and one-letter words.
TOKEN_PATTERN = r"(?u)[#@]?\w+"
#: Tokens as a Twitter tokeniser keeps them (CMU ARK Twokenize, used by the SemEval-2016 baseline):
#: URLs, @mentions, #hashtags, words with inner apostrophes ("don't"), emoticons, runs of ! ? .
#: and single other symbols. TOKEN_PATTERN drops punctuation and splits "don't" into "don", "t".
TWEET_TOKEN_PATTERN = (r"(?u)https?://\S+|www\.\S+|[@#]\w+|\w+(?:['’]\w+)*|"
                       r"(?<!\w)[:;=8][\-o*'^]?[)\](\[dDpP/\\|3]+|<3|[!?.]+|[^\s\w]")
#: The canonical columns a model is given (see `toolkit.stance.data.prepare`); cue and quote_type
#: are empty for tables without them (a tweet set), filled from quote tables and the dataset.
FEATURE_COLUMNS = ["text", "target", "speaker", "cue", "quote_type"]
#: Hash space of the n-gram features: large, since only the seen columns are ever stored.
HASH_FEATURES = 2 ** 22
#: Negation cues (German and English): counted, and mark the words after them (`MetaFeatures`).
NEGATIONS = frozenset("nicht kein keine keinen keinem keiner keines nie niemals nichts niemand weder noch "
                      "nein ohne kaum not no never nothing nobody none neither nor cannot".split())


def features_of(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns a model sees, as plain str (pandas' string dtype trips some vectorizers).

    A frame without cue / quote_type (one prepared before they existed) gets them empty.
    """
    frame = frame.assign(**{c: "" for c in FEATURE_COLUMNS if c not in frame.columns})
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


class TweetPreprocessor:
    """Text normalisation before n-grams (the vectorizers' `preprocessor`), as options.

    Why options: each is a way our SVM-ngrams may differ from the published one, so each can be
    switched to measure it (docs/baseline.md). `drop` removes a tag the corpus appended to every
    text (SemEval's ``#SemST``: constant, so it carries no signal); ``hashtags="word"`` reads
    ``#faith`` as ``faith``; `lowercase` folds case. A plain class with ``__call__`` so skops can
    store it (listed in the model file's trusted types).
    """

    def __init__(self, lowercase: bool = True, hashtags: str = "keep", drop: str = ""):
        self.lowercase = lowercase
        self.hashtags = hashtags
        self.drop = drop

    def __call__(self, text: str) -> str:
        if self.drop:
            text = re.sub(rf"(?i){re.escape(self.drop)}\b", " ", text)
        if self.hashtags == "word":
            text = re.sub(r"#(\w)", r"\1", text)
        return text.lower() if self.lowercase else text

    def __repr__(self) -> str:
        return f"TweetPreprocessor(lowercase={self.lowercase}, hashtags={self.hashtags!r}, drop={self.drop!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TweetPreprocessor) and vars(self) == vars(other)

    __hash__ = None  # type: ignore[assignment]


class SeenColumns(TransformerMixin, BaseEstimator):
    """Keep the columns non-zero in at least `min_df` training rows (a hashed space's used buckets).

    Why not `VarianceThreshold`: it stores one variance per input column (2**22 floats for a
    hashed space, 32 MB); this stores the kept column numbers only (int32) and maps sparse input
    by binary search, without densifying.

    Parameters
    ----------
    min_df : int, default=1
        Rows a column must be non-zero in to be kept.

    Attributes
    ----------
    columns_ : ndarray of int32
        The kept input columns, ascending.
    n_features_in_ : int
        Number of input columns seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> SeenColumns().fit(np.array([[0, 2, 0], [0, 1, 3]])).columns_.tolist()
    [1, 2]
    """

    def __init__(self, min_df: int = 1):
        self.min_df = min_df

    def fit(self, X: Any, y: Any = None) -> "SeenColumns":
        """Find the columns non-zero in at least `min_df` rows; return self."""
        X = validate_data(self, X, accept_sparse="csr")
        if sp.issparse(X):  # the used columns and their row counts, without an array per input column
            X = X.tocsr()
            X.eliminate_zeros()
            cols, df = np.unique(X.indices, return_counts=True)
        else:
            df = np.count_nonzero(X, axis=0)
            cols = np.arange(X.shape[1])
        self.columns_ = cols[df >= max(1, self.min_df)].astype(np.int32)
        return self

    def transform(self, X: Any) -> Any:
        """The kept columns of `X` (sparse stays sparse CSR)."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        if not sp.issparse(X):
            return X[:, self.columns_]
        X = X.tocsr()
        pos = np.searchsorted(self.columns_, X.indices)
        hit = pos < len(self.columns_)
        hit[hit] = self.columns_[pos[hit]] == X.indices[hit]
        indptr = np.concatenate([[0], np.cumsum(hit)])[X.indptr]
        return sp.csr_matrix((X.data[hit], pos[hit].astype(np.int32), indptr),
                             shape=(X.shape[0], len(self.columns_)))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _hashing(analyzer: str, ngrams: tuple[int, int], binary: bool, pre: TweetPreprocessor,
             token_pattern: str) -> HashingVectorizer:
    """A HashingVectorizer giving raw counts (or presence): no norm, no sign flips, no stored state."""
    return HashingVectorizer(analyzer=analyzer, ngram_range=ngrams, binary=binary, norm=None,
                             alternate_sign=False, n_features=HASH_FEATURES, preprocessor=pre,
                             token_pattern=token_pattern if analyzer == "word" else None, dtype=np.float64)


def hashed_ngrams(binary: bool = True, word_ngrams: tuple[int, int] = (1, 3), char_ngrams: tuple[int, int] = (2, 5),
                  char_analyzer: str = "char", tokens: str = "tweet", pre: TweetPreprocessor | None = None,
                  ) -> FeatureUnion:
    """Hashed word and character n-grams side by side (presence/absence or raw counts)."""
    pre = pre or TweetPreprocessor()
    pattern = TWEET_TOKEN_PATTERN if tokens == "tweet" else TOKEN_PATTERN
    return FeatureUnion([("word", _hashing("word", word_ngrams, binary, pre, pattern)),
                         ("char", _hashing(char_analyzer, char_ngrams, binary, pre, pattern))])


def _negated_tokens(text: str) -> list[str]:
    """Words in a negated context (after a negation cue, up to the next punctuation), prefixed NEG_."""
    out, negated = [], False
    for tok in re.findall(r"\w+|[.,;:!?]", text.lower()):
        if tok in ".,;:!?":
            negated = False
        elif tok in NEGATIONS:
            negated = True
        elif negated:
            out.append("NEG_" + tok)
    return out


class MetaFeatures(TransformerMixin, BaseEstimator):
    """What the toolkit knows about a quote beyond its words, as hashed indicator features.

    Why: a news quote comes with a speaker, a cue verb ("kritisierte", "begrüßte") and a quote
    type (direct / indirect), which a tweet set lacks; and negation ("nicht", "kein") flips a
    stance that bag-of-n-grams reads the wrong way round. Features: ``speaker=…``, ``cue=…``
    (lower-cased cue words), ``type=…``, ``neg`` (count of negation cues), ``NEG_word`` for words
    in a negated context, ``mentions_target`` (a content word of the target, or its first five
    letters, occurs in the text), ``speaker+target=…``, ``?`` and ``!``. Empty values add nothing,
    so on a tweet set only the text-derived ones fire. Stateless (hashing): nothing is learned.

    Parameters
    ----------
    columns : tuple of str
        The input columns in order: text, target, speaker, cue, quote_type.
    n_features : int
        Hash space (only the seen columns are kept by a following `SeenColumns`).
    """

    def __init__(self, columns: tuple[str, ...] = ("text", "target", "speaker", "cue", "quote_type"),
                 n_features: int = 2 ** 20):
        self.columns = columns
        self.n_features = n_features

    def fit(self, X: Any, y: Any = None) -> "MetaFeatures":
        """Nothing to learn (hashing); records the input columns; return self."""
        validate_data(self, X, dtype=None, ensure_all_finite=False)
        return self

    @staticmethod
    def _tokens(text: str, target: str, speaker: str, cue: str, qtype: str) -> list[str]:
        words = re.findall(r"\w+", text.lower())
        toks = [f"type={qtype}"] if qtype and qtype != "none" else []
        if speaker and speaker != "(unknown)":
            toks += [f"speaker={speaker}", f"speaker+target={speaker}|{target}"]
        toks += [f"cue={w}" for w in re.findall(r"\w+", cue.lower())]
        toks += ["neg"] * sum(w in NEGATIONS for w in words) + _negated_tokens(text)
        stems = {w[:5] for w in re.findall(r"\w{4,}", target.lower())}
        if stems and any(w[:5] in stems for w in words):
            toks.append("mentions_target")
        return toks + ["?"] * ("?" in text) + ["!"] * ("!" in text)

    def transform(self, X: Any) -> Any:
        """One sparse row of hashed indicator counts per input row."""
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, dtype=None, reset=False, ensure_all_finite=False)
        rows = [self._tokens(*(str(v) for v in row[:5])) for row in np.asarray(X, dtype=object)]
        hasher = HashingVectorizer(analyzer=lambda toks: toks, n_features=self.n_features, norm=None,
                                   alternate_sign=False)
        return hasher.transform(rows)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.requires_fit = False
        return tags


def hashed_features(binary: bool, tokens: str = "tweet", pre: TweetPreprocessor | None = None,
                    word_ngrams: tuple[int, int] = (1, 3), char_ngrams: tuple[int, int] = (2, 5),
                    char_analyzer: str = "char", meta: bool = False, use_target: bool = False) -> ColumnTransformer:
    """The stateless first step of the hashed models: text n-grams (+ target words, metadata) by column."""
    ngrams: Any = hashed_ngrams(binary, word_ngrams, char_ngrams, char_analyzer, tokens, pre)
    if meta:  # text block l2-normalised (sublinear tf, no idf: stateless) so metadata indicators are not drowned
        ngrams = Pipeline([("ngrams", ngrams), ("tf", TfidfTransformer(use_idf=False, sublinear_tf=True))])
    parts: list[tuple[str, Any, Any]] = [("text", ngrams, "text")]
    if use_target:
        parts.append(("target", HashingVectorizer(token_pattern=TOKEN_PATTERN, binary=True, norm=None,
                                                  alternate_sign=False, n_features=2 ** 18), "target"))
    if meta:
        parts.append(("meta", MetaFeatures(), list(FEATURE_COLUMNS)))
    return ColumnTransformer(parts, remainder="drop")


def tfidf_steps(min_df: int = 1) -> list[tuple[str, Any]]:
    """Learned steps after hashing: keep the seen columns, then sublinear TF-IDF (l2)."""
    return [("select", SeenColumns(min_df=min_df)), ("tfidf", TfidfTransformer(sublinear_tf=True))]


__all__ = ["FEATURE_COLUMNS", "HASH_FEATURES", "MetaFeatures", "Pipeline", "SeenColumns", "TOKEN_PATTERN",
           "TWEET_TOKEN_PATTERN", "TweetPreprocessor", "build_features", "features_of", "hashed_features",
           "hashed_ngrams", "tfidf_steps", "text_features"]

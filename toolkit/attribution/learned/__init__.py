"""A learned layer on top of the quote rules (issue 14): the rules propose, three small models decide.

=============  ==============================================================  =====================
module         decides / holds                                                 names
=============  ==============================================================  =====================
view           the article in regex tokens (the SpkAtt metric's), word classes `ArticleView`
base           the estimator shape: feature strings -> logistic regression     `FeatureLogit`
speech         (c) is a candidate speech; extra sentence candidates            `Candidate`, …
context        what the rules' quotes around a candidate say (round 4)         `Context`, `annotate`
boundaries     (a) where a message starts and ends                             `start_options`, …
source         (b) which mention is the source, or none                        `source_options`, …
shapes         longer source options: tails of a noun phrase (round 5)         `tails`, `shape_values`
layer          the three together, trained on gold, the extract hook           `AttributionModel`
data           SpkAtt JSONL gold (checked), the rules' quotes captured         `read_gold`, `capture`
folds          fixed folds and out-of-fold extraction                          `make_folds`, …
modelfile      the skops bundle (toolkit.stance.modelfile's trust rules)       `load_attribution_model`
=============  ==============================================================  =====================

Without a model, `toolkit.attribution.extract.extract_article` gives the rules' records unchanged.
"""

"""Stance models: the labelled dataset in, trained baselines, predictions and reports out.

data (labelled tables, checks), features (n-grams), models (estimators, build_model), splits
(grouped, leak-checked folds), modelfile (skops files and their trust rules), train (`qst train`:
run_training), predict (`qst predict`: run_predict, Label Studio predictions), report
(metrics.json, report.md and report.html: bootstrap intervals, plots); api gathers the public names.
"""

"""Stance models: the labelled dataset in, trained baselines, predictions and reports out.

baseline holds the data checks, scikit-learn pipelines, grouped evaluation and the skops model
files (`qst train` / `qst predict`); report turns a training run into metrics.json, report.md
and report.html (bootstrap intervals, plots).
"""

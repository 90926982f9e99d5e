"""Evaluation metrics with bootstrap intervals, plots, and the report files of a training run.

Why: a single macro-F1 on 40 quotes means little. Every number here comes with a seeded 95%
bootstrap interval (resampling whole articles when the data has them, since quotes of one
article are not independent), and small evaluation sets are flagged in words, not hidden.
Metrics are computed from confusion matrices so thousands of bootstrap replicates stay cheap.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.fileio import write_json, write_text

#: Below these an evaluation is called out as too small to trust.
SMALL_N = 30
SMALL_PER_CLASS = 5


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def confusion(gold: Any, pred: Any, labels: list[str]) -> np.ndarray:
    """Rows = gold, columns = predicted, in `labels` order (other values ignored)."""
    pos = {c: i for i, c in enumerate(labels)}
    k = len(labels)
    cm = np.zeros((k, k), dtype=np.int64)
    for g, p in zip(gold, pred):
        if g in pos and p in pos:
            cm[pos[g], pos[p]] += 1
    return cm


def _prf(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall, F1 for one (k, k) or a stack (b, k, k) of confusion matrices."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(float)
    pred_n = cm.sum(axis=-2).astype(float)
    gold_n = cm.sum(axis=-1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(pred_n > 0, tp / pred_n, 0.0)
        r = np.where(gold_n > 0, tp / gold_n, 0.0)
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return p, r, f


def scores_from_cm(cm: np.ndarray, labels: list[str]) -> dict[str, np.ndarray]:
    """macro-F1, F_avg, accuracy and per-class F1 from confusion matrices (vectorised).

    macro-F1 averages over the classes that occur in gold or predictions (scikit-learn's default);
    F_avg is the SemEval-2016 Task 6 score, mean F1 of favor and against over the pooled counts.
    """
    p, r, f = _prf(cm)
    present = (cm.sum(axis=-1) + cm.sum(axis=-2)) > 0
    n_present = np.maximum(present.sum(axis=-1), 1)
    total = cm.sum(axis=(-2, -1)).astype(float)
    out = {
        "macro_f1": (f * present).sum(axis=-1) / n_present,
        "accuracy": np.where(total > 0, np.diagonal(cm, axis1=-2, axis2=-1).sum(axis=-1) / np.maximum(total, 1), 0),
    }
    if "favor" in labels and "against" in labels:
        out["f_avg"] = (f[..., labels.index("favor")] + f[..., labels.index("against")]) / 2
    for i, c in enumerate(labels):
        out[f"f1_{c}"] = f[..., i]
    return out


def bootstrap(gold: np.ndarray, pred: np.ndarray, labels: list[str], clusters: np.ndarray | None,
              n_boot: int = 1000, seed: int = 0) -> dict[str, np.ndarray]:
    """Bootstrap replicates of every score; resamples whole clusters (articles) when given."""
    if clusters is None:
        clusters = np.arange(len(gold))
    uniq, inv = np.unique(np.asarray(clusters, dtype=str), return_inverse=True)
    k = len(labels)
    pos = {c: i for i, c in enumerate(labels)}
    per = np.zeros((len(uniq), k * k))
    for ci, g, p in zip(inv, gold, pred):
        if g in pos and p in pos:
            per[ci, pos[g] * k + pos[p]] += 1
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(uniq), size=(n_boot, len(uniq)))
    counts = np.zeros((n_boot, len(uniq)))
    np.add.at(counts, (np.repeat(np.arange(n_boot), len(uniq)), draws.ravel()), 1)
    cms = (counts @ per).reshape(n_boot, k, k)
    return scores_from_cm(cms, labels)


def _ci(values: np.ndarray) -> list[float]:
    lo, hi = np.percentile(values, [2.5, 97.5])
    return [round(float(lo), 4), round(float(hi), 4)]


def size_warnings(gold: Any, labels: list[str], n_groups: int | None) -> list[str]:
    """Plain-language reasons an evaluation set is too small for its numbers to be trusted."""
    gold = list(gold)
    out = []
    if len(gold) < SMALL_N:
        out.append(f"only {len(gold)} evaluated quotes (< {SMALL_N})")
    for c in labels:
        n = gold.count(c)
        if n < SMALL_PER_CLASS:
            out.append(f"class {c!r} has {n} evaluated example(s) (< {SMALL_PER_CLASS})")
    if n_groups is not None and n_groups < 10:
        out.append(f"only {n_groups} article groups: the bootstrap interval rests on very few clusters")
    return out


def breakdown(preds: pd.DataFrame, by: str, labels: list[str], top: int = 20) -> list[dict[str, Any]]:
    """n, accuracy and macro-F1 per value of `by` (largest groups first)."""
    rows = []
    for value, part in sorted(preds.groupby(by), key=lambda kv: -len(kv[1]))[:top]:
        s = scores_from_cm(confusion(part["gold"], part["pred"], labels), labels)
        rows.append({by: str(value), "n": int(len(part)), "accuracy": round(float(s["accuracy"]), 4),
                     "macro_f1": round(float(s["macro_f1"]), 4),
                     **({"f_avg": round(float(s["f_avg"]), 4)} if "f_avg" in s else {})})
    return rows


#: A target with fewer test items than this is flagged in the per-target table.
SMALL_TARGET = 20


def per_target_breakdown(preds: pd.DataFrame, labels: list[str], clusters: str | None, n_boot: int = 1000,
                         seed: int = 0, small: int = SMALL_TARGET) -> list[dict[str, Any]]:
    """F_avg and macro-F1 per target with 95% bootstrap intervals, support per class, small targets flagged.

    Why intervals per target: SemEval-style reports quote one F_avg per target, yet a target with
    a dozen test tweets has an interval wider than any difference between systems. Each target's
    interval resamples its own articles (or quotes), with the run's seed; `small` flags targets
    with fewer test items than that (default 20).
    """
    rows = []
    for value, part in sorted(preds.groupby("target"), key=lambda kv: (-len(kv[1]), str(kv[0]))):
        gold = part["gold"].to_numpy(dtype=object)
        pred = part["pred"].to_numpy(dtype=object)
        point = scores_from_cm(confusion(gold, pred, labels), labels)
        cl = part[clusters].to_numpy(dtype=object) if clusters else None
        boot = bootstrap(gold, pred, labels, cl, n_boot=n_boot, seed=seed)
        row: dict[str, Any] = {"target": str(value), "n": int(len(part)),
                               "accuracy": round(float(point["accuracy"]), 4),
                               "macro_f1": round(float(point["macro_f1"]), 4), "macro_f1_ci95": _ci(boot["macro_f1"])}
        if "f_avg" in point:
            row.update(f_avg=round(float(point["f_avg"]), 4), f_avg_ci95=_ci(boot["f_avg"]))
        row["support"] = {c: int((gold == c).sum()) for c in labels}
        row["small"] = bool(len(part) < small)
        rows.append(row)
    return rows


def evaluate(preds: pd.DataFrame, labels: list[str], clusters: str | None, n_boot: int = 1000,
             seed: int = 0) -> dict[str, Any]:
    """All metrics of one model's predictions, with 95% bootstrap intervals."""
    gold = preds["gold"].to_numpy(dtype=object)
    pred = preds["pred"].to_numpy(dtype=object)
    cm = confusion(gold, pred, labels)
    point = scores_from_cm(cm, labels)
    cl = preds[clusters].to_numpy(dtype=object) if clusters else None
    boot = bootstrap(gold, pred, labels, cl, n_boot=n_boot, seed=seed)
    p, r, f = _prf(cm)
    per_class = {c: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                     "f1": round(float(f[i]), 4), "f1_ci95": _ci(boot[f"f1_{c}"]),
                     "support": int(cm[i].sum()), "predicted": int(cm[:, i].sum())}
                 for i, c in enumerate(labels)}
    headline = {k: {"value": round(float(point[k]), 4), "ci95": _ci(boot[k])}
                for k in ("macro_f1", "f_avg", "accuracy") if k in point}
    per_fold = []
    if "fold" in preds and preds["fold"].nunique() > 1:
        for fold, part in preds.groupby("fold"):
            s = scores_from_cm(confusion(part["gold"], part["pred"], labels), labels)
            per_fold.append({"fold": int(fold), "n": int(len(part)), "macro_f1": round(float(s["macro_f1"]), 4)})
    return {
        "n": int(len(preds)),
        **headline,
        "per_class": per_class,
        "confusion_matrix": {"labels": labels, "rows_gold_cols_pred": cm.tolist()},
        "per_fold": per_fold,
        "bootstrap": {"replicates": n_boot, "seed": seed,
                      "resampled": f"{clusters} clusters" if clusters else "quotes"},
        "_boot": boot,  # replicates, for paired comparisons; dropped before writing JSON
    }


def paired_difference(a: dict[str, Any], b: dict[str, Any], key: str = "macro_f1") -> dict[str, Any]:
    """a - b on the same bootstrap replicates (same seed, same items): a paired 95% interval."""
    diff = a["_boot"][key] - b["_boot"][key]
    return {"metric": key, "difference": round(float(a[key]["value"] - b[key]["value"]), 4), "ci95": _ci(diff),
            "share_of_replicates_above_zero": round(float((diff > 0).mean()), 4)}


# --------------------------------------------------------------------------------------------
# Plots (matplotlib Agg, embedded as base64 PNG)
# --------------------------------------------------------------------------------------------


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def plot_confusion(cm: list[list[int]], labels: list[str], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arr = np.asarray(cm)
    fig, ax = plt.subplots(figsize=(4.2, 3.8))
    ax.imshow(arr, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=10)
    top = arr.max() if arr.size else 0
    for i in range(arr.shape[0]):
        for j in range(arr.shape[1]):
            ax.text(j, i, str(arr[i, j]), ha="center", va="center",
                    color="white" if arr[i, j] > top / 2 else "black", fontsize=11)
    return _png(fig)


def plot_per_class_f1(models: dict[str, dict[str, Any]], labels: list[str]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(models)
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    x = np.arange(len(labels))
    for i, name in enumerate(names):
        pc = models[name]["per_class"]
        vals = np.array([pc[c]["f1"] for c in labels])
        lo = np.array([pc[c]["f1_ci95"][0] for c in labels])
        hi = np.array([pc[c]["f1_ci95"][1] for c in labels])
        ax.bar(x + (i - (len(names) - 1) / 2) * width, vals, width, label=name,
               yerr=[np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)], capsize=3)
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1 (95% bootstrap CI)")
    ax.set_title("Per-class F1 by model", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def plot_label_distribution(dist: dict[str, dict[str, int]], labels: list[str]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    parts = list(dist)
    width = 0.8 / max(len(parts), 1)
    x = np.arange(len(labels))
    for i, part in enumerate(parts):
        vals = [dist[part].get(c, 0) for c in labels]
        bars = ax.bar(x + (i - (len(parts) - 1) / 2) * width, vals, width, label=part)
        ax.bar_label(bars, fontsize=8)
    ax.set_xticks(x, labels)
    ax.set_ylabel("quotes")
    ax.set_title("Label distribution", fontsize=10)
    ax.legend(fontsize=8)
    return _png(fig)


def plot_learning_curve(points: list[dict[str, Any]], model: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 3.2))
    n = [p["n_train"] for p in points]
    f = np.array([p["macro_f1"] for p in points])
    sd = np.array([p["macro_f1_sd"] for p in points])
    ax.plot(n, f, marker="o", label=model)
    ax.fill_between(n, f - sd, f + sd, alpha=0.2, label="± 1 sd over folds")
    ax.set_xlabel("training quotes")
    ax.set_ylabel("macro-F1 on held-out folds")
    ax.set_ylim(0, 1)
    ax.set_title("Learning curve", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def plot_selection_curves(curves: list[dict[str, Any]], saving: dict[str, Any] | None = None) -> bytes:
    """Active-learning curves: mean macro-F1 vs labels spent per strategy, 95% band, target line.

    `curves` rows hold strategy, labels, mean, lo, hi (scripts/simulate_selection.py); `saving`
    adds the target macro-F1 as a dashed line and the labels each strategy needs to reach it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for strategy in dict.fromkeys(r["strategy"] for r in curves):
        rows = sorted((r for r in curves if r["strategy"] == strategy), key=lambda r: r["labels"])
        x = [r["labels"] for r in rows]
        line, = ax.plot(x, [r["mean"] for r in rows], marker=".", label=strategy)
        ax.fill_between(x, [r["lo"] for r in rows], [r["hi"] for r in rows], alpha=0.2, color=line.get_color())
    if saving and saving.get("target_macro_f1") is not None:
        ax.axhline(saving["target_macro_f1"], ls="--", color="grey", lw=1,
                   label=f"target {saving['target_macro_f1']:.3f}")
        for key, value in saving.items():
            if key.startswith("labels_") and value is not None:
                ax.axvline(value, ls=":", color="grey", lw=1)
    ax.set_xlabel("labels spent")
    ax.set_ylabel("macro-F1 on held-out articles")
    ax.set_title("Active learning vs random sampling (mean, 95% interval)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


# --------------------------------------------------------------------------------------------
# Report files
# --------------------------------------------------------------------------------------------


def _fmt(m: dict[str, Any] | None) -> str:
    if not m:
        return "–"
    return f"{m['value']:.3f} [{m['ci95'][0]:.3f}, {m['ci95'][1]:.3f}]"


def _md_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "_none_\n"
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(k, "")).replace("|", "\\|").replace("\n", " ") for k in keys) + " |")
    return "\n".join(lines) + "\n"


def model_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, m in result["models"].items():
        rows.append({"model": name + (" (saved)" if name == result["saved_model"] else ""), "n": m["n"],
                     "macro-F1 [95% CI]": _fmt(m.get("macro_f1")), "F_avg [95% CI]": _fmt(m.get("f_avg")),
                     "accuracy [95% CI]": _fmt(m.get("accuracy"))})
    return rows


def report_title(result: dict[str, Any]) -> str:
    """What the report is about: the saved model and the data it was trained on (not the folder name)."""
    data = Path(str(result["data"]["path"])).name or str(result["data"]["path"])
    return f"Stance baseline report: {result['saved_model']} on {data} ({result['data']['n_train']} quotes)"


def _warning_md(result: dict[str, Any]) -> str:
    return ("> **WARNING — NUMBERS ARE UNCERTAIN.** " + "; ".join(result["uncertain"]) +
            ". Treat every score below as a rough indication, read the confidence intervals, and do not "
            "compare models on differences inside them.\n")


def _summary_md(result: dict[str, Any], slot: Any) -> list[str]:
    """The summary: every model's scores with intervals, the paired comparisons, per-class F1."""
    out = ["## Summary\n", _md_table(model_rows(result)),
           f"95% intervals: {result['bootstrap']}. F_avg = mean F1 of favor and against over pooled "
           f"predictions (SemEval-2016 Task 6). Evaluation: {result['split']['description']}.\n"]
    if result.get("text_vs_speaker"):
        t = result["text_vs_speaker"]
        out.append("### Does the text add anything beyond speaker identity?\n")
        out.append(f"{t['text_model']} minus speaker-majority, macro-F1: {t['difference']:+.3f} "
                   f"(95% CI {t['ci95'][0]:+.3f} to {t['ci95'][1]:+.3f}). **{t['verdict']}**\n")
    if result.get("vs_majority"):
        t = result["vs_majority"]
        out.append(f"{t['text_model']} minus majority class, macro-F1: {t['difference']:+.3f} "
                   f"(95% CI {t['ci95'][0]:+.3f} to {t['ci95'][1]:+.3f}).\n")
    return out + slot("per-class")


def _per_target_md(result: dict[str, Any]) -> list[str]:
    """Per-target F_avg / macro-F1 with intervals and support, the pooled figure, small targets flagged."""
    rows = result.get("per_target") or []
    if not rows:
        return []
    saved, m = result["saved_model"], result["models"][result["saved_model"]]
    labels = result["labels"]

    def ci(row: dict[str, Any], key: str) -> str:
        if key not in row:
            return "–"
        lo, hi = row.get(f"{key}_ci95") or (row[key], row[key])
        return f"{row[key]:.3f} [{lo:.3f}, {hi:.3f}]"

    table = [{"target": r["target"], "test items": r["n"],
              "support " + "/".join(labels): "/".join(str((r.get("support") or {}).get(c, "?")) for c in labels),
              "F_avg [95% CI]": ci(r, "f_avg"), "macro-F1 [95% CI]": ci(r, "macro_f1"),
              "flag": f"< {SMALL_TARGET} test items" if r.get("small") else ""} for r in rows]
    table.append({"target": "pooled (all targets)", "test items": m["n"],
                  "support " + "/".join(labels): "/".join(str(m["per_class"][c]["support"]) for c in labels),
                  "F_avg [95% CI]": _fmt(m.get("f_avg")), "macro-F1 [95% CI]": _fmt(m.get("macro_f1")), "flag": ""})
    out = [f"## Per target ({saved})\n", _md_table(table)]
    small = [r["target"] for r in rows if r.get("small")]
    if small:
        out.append(f"Flagged: {', '.join(small)} — fewer than {SMALL_TARGET} test items; their scores are "
                   f"anecdotal, read the pooled figure.\n")
    return out


def render_markdown(result: dict[str, Any], warning: bool = True, slots: bool = False) -> str:
    """report.md: title, warning, summary table, then the details, top-down.

    `warning=False` leaves out the "numbers are uncertain" quote (report.html shows it as its
    banner under the title). `slots=True` marks where report.html puts each figure, beside the
    table it explains (``[[figure:NAME]]`` lines; report.md has no images).
    """
    labels = result["labels"]
    saved = result["saved_model"]

    def slot(name: str) -> list[str]:
        return [f"[[figure:{name}]]\n"] if slots else []

    out = [f"# {report_title(result)}\n"]
    if result["uncertain"] and warning:
        out.append(_warning_md(result))
    out += _summary_md(result, slot)
    for w in result["warnings"]:
        out.append(f"- warning: {w}")
    out += _per_target_md(result)
    out.append("\n## Data\n")
    out.append(f"- training table: `{result['data']['path']}` (sha256 `{result['data']['sha256']}`)")
    if result["data"].get("test_path"):
        out.append(f"- test table: `{result['data']['test_path']}` (sha256 `{result['data']['test_sha256']}`)")
    out.append(f"- labelled quotes used: {result['data']['n_train']} train" +
               (f", {result['data']['n_test']} test" if result['data'].get('n_test') else ""))
    out.append(f"- columns: {json.dumps(result['columns'])}")
    out.append(f"- label distribution: {json.dumps(result['label_distribution'])}\n")
    out += slot("label distribution")
    out.append("## Split design\n")
    out.append(result["split"]["description"] + ".")
    for n in result["split"]["notes"]:
        out.append(f"- note: {n}")
    m = result["models"][saved]
    out.append(f"\n## Saved model `{saved}`: per class\n")
    out.append(_md_table([{"class": c, **{k: v for k, v in m["per_class"][c].items()}} for c in labels]))
    out.append("Confusion matrix (rows gold, columns predicted):\n")
    cm = m["confusion_matrix"]["rows_gold_cols_pred"]
    out.append(_md_table([{"gold \\ pred": c, **{p: cm[i][j] for j, p in enumerate(labels)}}
                          for i, c in enumerate(labels)]))
    out += slot("confusion matrix")
    if m["per_fold"]:
        out.append("Per fold: " + ", ".join(f"fold {f['fold']} (n={f['n']}) {f['macro_f1']:.3f}"
                                          for f in m["per_fold"]) + "\n")
    out += _details_md(result, slot)
    return "\n".join(out)


def _details_md(result: dict[str, Any], slot: Any) -> list[str]:
    """Learning curve, per speaker, tuned parameters, errors and the model configuration."""
    saved, out = result["saved_model"], []
    if result.get("learning_curve"):
        out.append(f"## Learning curve ({saved})\n")
        out.append(_md_table([{"training quotes": round(p["n_train"]), "macro-F1": round(p["macro_f1"], 3),
                               "sd over folds": round(p["macro_f1_sd"], 3)} for p in result["learning_curve"]]))
        out += slot("learning curve")
    if result.get("per_speaker"):
        out.append(f"## Per speaker (20 largest) ({saved})\n")
        out.append(_md_table(result["per_speaker"]))
    if result.get("best_params"):
        out.append("## Tuned hyper-parameters\n")
        out.append("```json\n" + json.dumps(result["best_params"], indent=2) + "\n```\n")
    out.append(f"## Errors ({result['n_errors']} misclassified; first 20, all in errors.csv)\n")
    out.append(_md_table(result["errors_preview"][:20]))
    out.append("## Model configuration\n")
    out.append("```\n" + result["model_config"]["repr"] + "\n```\n")
    out.append(f"Run folder `{result['run']}`. Files: metrics.json, report.html, errors.csv, config.json, model.skops, "
               f"model_card.md. qst {result['toolkit_version']}, scikit-learn {result['sklearn_version']}, "
               f"seed {result['seed']}.\n")
    return out


#: The report's CSS: nothing may be wider than the page (wide tables scroll inside themselves, long
#: words and paths wrap), so the page never scrolls sideways.
REPORT_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;"
    "overflow-wrap:anywhere}"
    "table{border-collapse:collapse;margin:.5em 0;font-size:.9em;display:block;max-width:100%;overflow-x:auto}"
    "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top;overflow-wrap:anywhere}th{background:#f3f3f3}"
    ".warn{background:#fff3cd;border:1px solid #e0b000;padding:.8em;margin:1em 0}"
    "figure{margin:.5em 0 1.5em;max-width:100%}img{max-width:100%;height:auto}figcaption{font-size:.85em;color:#555}"
    "pre{background:#f6f6f6;padding:.6em;white-space:pre-wrap;overflow-wrap:anywhere;max-width:100%}"
    "blockquote{background:#fff3cd;margin:0;padding:.5em 1em}")

#: Which figure goes into which slot of the report (figure names start with the slot's name).
FIGURE_SLOTS = ("per-class", "label distribution", "confusion matrix", "learning curve")


def _figure_html(name: str, png: bytes) -> str:
    e = html.escape
    return (f'<figure><img alt="{e(name)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
            f"<figcaption>{e(name)}</figcaption></figure>")


def render_html(result: dict[str, Any], figures: dict[str, bytes]) -> str:
    """report.html: one self-contained file read top-down, figures inline as base64 PNG.

    Title first, then the "numbers are uncertain" banner, the summary table, and each figure
    directly after the table it explains; a figure without a slot goes at the end.
    """
    e = html.escape
    body = _markdown_to_html(render_markdown(result, warning=False, slots=True))
    left = dict(figures)
    for slot in FIGURE_SLOTS:
        names = [n for n in left if n.startswith(slot)]
        body = body.replace(f"<p>[[figure:{slot}]]</p>", "".join(_figure_html(n, left.pop(n)) for n in names))
    body += "".join(_figure_html(n, png) for n, png in left.items())
    if result["uncertain"]:
        banner = ('<div class="warn"><b>Numbers are uncertain:</b> ' + e("; ".join(result["uncertain"])) +
                  ". Read the confidence intervals.</div>")
        head, sep, rest = body.partition("</h1>")
        body = head + sep + banner + rest
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(report_title(result))}"
            f"</title><style>{REPORT_CSS}</style></head><body>{body}</body></html>\n")


def _markdown_to_html(md: str) -> str:
    """The small Markdown subset render_markdown emits: headings, tables, lists, code, quotes."""
    e = html.escape
    out: list[str] = []
    lines = md.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append("<pre>" + e("\n".join(lines[i + 1:j])) + "</pre>")
            i = j + 1
            continue
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            cells = [[c.strip().replace("\\|", "|") for c in r.strip("|").split(" | ")] for r in rows]
            head, body = cells[0], [c for c in cells[2:]]
            out.append("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in head) + "</tr>" +
                       "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in body) +
                       "</table>")
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{_inline(line.lstrip('#').strip())}</h{level}>")
        elif line.startswith("> "):
            out.append(f"<blockquote>{_inline(line[2:])}</blockquote>")
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
            continue
        elif line.strip():
            out.append(f"<p>{_inline(line)}</p>")
        i += 1
    return "\n".join(out)


def _inline(text: str) -> str:
    """Escape, then `code` and **bold**."""
    import re

    t = html.escape(text)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", t)


def write_report(out_dir: str | Path, result: dict[str, Any], errors: pd.DataFrame,
                 figures: dict[str, bytes]) -> dict[str, Path]:
    """metrics.json, report.md, report.html, errors.csv, config.json (atomic writes)."""
    from toolkit.fileio import atomic_path

    out_dir = Path(out_dir)
    clean = json.loads(json.dumps(_strip_private(result), default=str))
    paths = {name: out_dir / name for name in ("metrics.json", "report.md", "report.html", "errors.csv",
                                               "config.json")}
    write_json(paths["metrics.json"], clean)
    write_text(paths["report.md"], render_markdown(clean))
    write_text(paths["report.html"], render_html(clean, figures))
    with atomic_path(paths["errors.csv"]) as tmp:
        errors.to_csv(tmp, index=False)
    write_json(paths["config.json"], {k: clean[k] for k in ("run", "model_config", "models_evaluated", "options",
                                                            "columns", "split", "data", "seed")})
    return paths


def _strip_private(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_private(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, list):
        return [_strip_private(v) for v in obj]
    return obj


def model_card(result: dict[str, Any]) -> str:
    """model_card.md: data, split, metrics and intended use, in a page."""
    saved = result["saved_model"]
    m = result["models"][saved]
    warn = ("\n**Uncertain:** " + "; ".join(result["uncertain"]) + ".\n") if result["uncertain"] else ""
    return f"""# Model card: {saved} ({result['run']})

- **Task**: stance of a quote (optionally towards a target) — {', '.join(result['labels'])}.
- **Model**: scikit-learn pipeline `{saved}`; full configuration in config.json. Saved with skops
  (`model.skops`); `qst predict` loads it only if its sha256 matches model_meta.json and it holds no
  unexpected types. qst {result['toolkit_version']}, scikit-learn {result['sklearn_version']}.
- **Training data**: `{result['data']['path']}` (sha256 `{result['data']['sha256']}`),
  {result['data']['n_final']} labelled quotes; label distribution {json.dumps(result['label_distribution'])}.
- **Final fit**: {result['final_fit']}.
- **Evaluation**: {result['split']['description']}.
- **Scores** (95% bootstrap CI): macro-F1 {_fmt(m.get('macro_f1'))}, F_avg {_fmt(m.get('f_avg'))},
  accuracy {_fmt(m.get('accuracy'))}; majority class macro-F1 {_fmt(result['models'].get('majority', {}).get('macro_f1'))}.
{warn}
## Intended use
Pre-annotating quotes for the next Label Studio round (`qst predict`), and as a reference point for
stronger models. Not for publishing stance claims about individual speakers: errors cluster by
article and speaker, and the training set is small and from one source.

## Limitations
Bag of n-grams: no negation scope, irony or context beyond the quote. Scores on other outlets,
periods or targets will be lower. Softmax scores of SVMs are not calibrated probabilities.
"""

"""`qst status`: a lead's view of a project's progress, per annotator, from the annotation table.

Pure functions over the table `qst pull` makes (toolkit.labelstudio.annotations) plus the
project's task count and overlap; the network half (snapshot export) is in client.py. The
overall Krippendorff's alpha is added by the command from toolkit.agreement (a stage to the
right of this one, so not imported here).
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def _queue_left(df: pd.DataFrame, annotator: str, task_ids: list[int], per_task: int) -> int:
    """Tasks Label Studio's queue can still offer this annotator: ones they have neither
    submitted nor skipped, and that have fewer than `per_task` submitted annotations."""
    mine = set(df.loc[df["annotator"] == annotator, "task_id"].dropna().astype(int))
    submitted = df[~df["was_cancelled"]].groupby("task_id").size()
    return sum(1 for t in task_ids if t not in mine and int(submitted.get(t, 0)) < per_task)


def _pairwise(df: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per annotator: tasks they share with at least one other stance label, and the pairs
    (them, other) on those tasks that gave the same stance."""
    labelled = df[~df["was_cancelled"] & df["stance"].notna()]
    out: dict[str, dict[str, int]] = {}
    for _, group in labelled.groupby(["quote_id", "target"], dropna=False):
        votes = dict(zip(group["annotator"], group["stance"]))
        if len(votes) < 2:
            continue
        for ann, label in votes.items():
            rec = out.setdefault(ann, {"shared_tasks": 0, "pairs": 0, "agreeing_pairs": 0})
            others = [v for a, v in votes.items() if a != ann]
            rec["shared_tasks"] += 1
            rec["pairs"] += len(others)
            rec["agreeing_pairs"] += sum(v == label for v in others)
    return out


def project_status(df: pd.DataFrame, task_ids: list[int], per_task: int) -> dict[str, Any]:
    """Per annotator: done, skipped, left in their queue, median lead time (s), agreement so far.

    `agreement` is the share of (annotator, other) pairs with the same stance on the tasks the
    annotator shares with someone (None before any task is double-annotated), so a lead sees
    early who drifts; the overall alpha over the same tasks is the command's to add.
    """
    per_task = max(1, int(per_task or 1))
    pairs = _pairwise(df)
    rows = []
    for ann in sorted(a for a in df["annotator"].dropna().unique()):
        mine = df[df["annotator"] == ann]
        done = mine[~mine["was_cancelled"]]
        lead = done["lead_time"].dropna()
        p = pairs.get(ann, {"shared_tasks": 0, "pairs": 0, "agreeing_pairs": 0})
        rows.append({"annotator": ann, "done": int(len(done)), "skipped": int(mine["was_cancelled"].sum()),
                     "remaining": _queue_left(df, ann, task_ids, per_task),
                     "median_lead_time": None if lead.empty else round(float(lead.median()), 1),
                     "double_annotated": p["shared_tasks"],
                     "agreement": round(p["agreeing_pairs"] / p["pairs"], 3) if p["pairs"] else None})
    submitted = df[~df["was_cancelled"]].groupby("task_id").size()
    return {"tasks": len(task_ids), "annotators_per_task": per_task,
            "tasks_complete": int(sum(int(submitted.get(t, 0)) >= per_task for t in task_ids)),
            "tasks_double_annotated": int(sum(int(submitted.get(t, 0)) >= 2 for t in task_ids)),
            "annotators": rows}

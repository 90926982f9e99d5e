"""Merging annotation tables of several Label Studio exports without losing or merging people.

`qst run` reads every export in annotations/labelstudio/ (the bundled one plus a team's own).
Two rules keep that honest:

* annotators known only by a bare Label Studio user id (no e-mail, no server) are scoped to
  their file already (toolkit.labelstudio.identity); when the same number occurs in another
  export, they may be one person counted twice or two people, and nobody can tell: a warning
  names both files;
* an annotator replaces an earlier annotation of the same quote only inside one export
  (toolkit.agreement keeps the latest per quote and annotator). The same annotator on the same
  quote in two exports means two snapshots of one project, or one person on two servers: that
  is refused, naming the files, instead of one annotation silently winning.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from toolkit.errors import InputError

Source = tuple[str, pd.DataFrame, dict[str, Any]]


def _ids(rec: dict[str, Any], key: str) -> set[str]:
    return {str(i) for i in (rec.get("annotators") or {}).get(key, [])}


def collision_warnings(sources: list[Source]) -> list[str]:
    """One line per export whose bare user ids also occur in another export."""
    lines = []
    for name, _, rec in sources:
        bare = _ids(rec, "ls_user_ids_without_email_or_server")
        meets = {other: sorted(bare & _ids(orec, "ls_user_ids"), key=lambda x: (len(x), x))
                 for other, _, orec in sources if other != name}
        meets = {k: v for k, v in meets.items() if v}
        if not meets:
            continue
        where = "; ".join(f"{other} (user id {', '.join(ids)})" for other, ids in meets.items())
        lines.append(f"{name}: annotators known only by their Label Studio user id (no e-mail, no server id) "
                     f"have the same ids as annotators of {where}. They are kept as different people; if both "
                     "exports come from one Label Studio server, one person now counts as two. Re-export with "
                     "`qst pull` (it records e-mails) or import with --users / --server-id")
    return lines


def refuse_cross_source_duplicates(sources: list[Source]) -> None:
    """The same annotator on the same quote (and target) in two exports is an error naming both."""
    owner: dict[tuple[Any, ...], str] = {}
    clashes: dict[tuple[str, str, str], list[str]] = {}
    for name, df, _ in sources:
        targets = df["target"] if "target" in df.columns else pd.Series([None] * len(df))
        for key in set(zip(df["quote_id"], targets.where(targets.notna(), None), df["annotator"])):
            first = owner.setdefault(key, name)
            if first != name:
                clashes.setdefault((first, name, str(key[2])), []).append(str(key[0]))
    if not clashes:
        return
    (first, second, annotator), quotes = next(iter(clashes.items()))
    more = f" (and {len(clashes) - 1} more annotator/file pair(s))" if len(clashes) > 1 else ""
    raise InputError(f"{first} and {second} both hold annotations by annotator {annotator} of {len(quotes)} quote(s), "
                     f"e.g. {sorted(quotes)[0]}{more}: two snapshots of one project? Keep one of the files. "
                     "A later annotation replaces an earlier one only within one export, never across files")


def merge_sources(sources: list[Source]) -> tuple[pd.DataFrame, list[str]]:
    """Concatenate the exports' tables (every row kept) and return the collision warnings."""
    refuse_cross_source_duplicates(sources)
    frames = [df for _, df, _ in sources]
    merged = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return merged, collision_warnings(sources)

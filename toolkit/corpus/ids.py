"""Article ids seen by each part, and the ids that occur in more than one record of a corpus.

Why after the fact: `qst extract` refuses duplicate article ids while it reads (toolkit.ingest),
but a corpus run reads its parts in parallel, on several machines, and never holds all ids at
once. So each part records the ids it read (a small sidecar table under `_parts/`, covered by the
part's sha256 like its quote files), and the run's end finds the ids that occur twice: an
article id that is not unique makes `article_id` ambiguous downstream (joins with the article
table, splits by article, Label Studio tasks) even when the quote ids differ.

The check holds 8 bytes per article (a 64-bit hash: 80 MB for 10 million articles); only the
parts whose hashes collide are read back to name the ids and their locations.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: Error kind of the second and later records with an article id already seen.
DUPLICATE_ID = "duplicate_id"
IDS_SCHEMA = pa.schema([("id", pa.string()), ("where", pa.string())])


def ids_path(parts_dir: str, index: int) -> str:
    """The sidecar's path relative to the output folder."""
    return f"{parts_dir}/part-{index:05d}.ids.parquet"


def write_ids(path: Path, ids: list[str], where: list[str]) -> None:
    """The ids one part read, in input order, with each record's location."""
    pq.write_table(pa.table({"id": ids, "where": where}, schema=IDS_SCHEMA), path, compression="zstd")


def _hashes(out: Path, entry: dict[str, Any]) -> np.ndarray:
    ids = pq.read_table(out / entry["files"]["ids"]["path"], columns=["id"]).column("id").to_numpy(zero_copy_only=False)
    return pd.util.hash_array(ids.astype(object), categorize=False)


def duplicate_ids(out: Path, entries: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Error records for every record whose article id an earlier record (in part order) had.

    Parts written before ids were recorded (no "ids" file) are left out of the check.
    """
    parts = [(i, e) for i, e in sorted(entries.items()) if "ids" in e["files"]]
    hashes = [_hashes(out, e) for _, e in parts]
    if not hashes:
        return []
    values, counts = np.unique(np.concatenate(hashes), return_counts=True)
    repeated = values[counts > 1]
    if not len(repeated):
        return []
    seen: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for (index, entry), h in zip(parts, hashes):
        hit = np.isin(h, repeated)
        if hit.any():
            table = pq.read_table(out / entry["files"]["ids"]["path"]).to_pydict()
            for k in np.flatnonzero(hit):
                seen[table["id"][k]].append((index, table["where"][k]))
    return [{"part": index, "kind": DUPLICATE_ID, "where": where,
             "message": f"{where}: article id {aid!r} was already used at {places[0][1]}; "
                        "give every article a unique id (its quotes' article_id is ambiguous)"}
            for aid, places in seen.items() if len(places) > 1 for index, where in places[1:]]


__all__ = ["DUPLICATE_ID", "IDS_SCHEMA", "duplicate_ids", "ids_path", "write_ids"]

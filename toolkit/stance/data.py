"""Labelled tables in: reading them (files, `datasets` folders, Hub folders), checking them, naming columns.

Why a module of its own: every later step (splits, models, reports) relies on one canonical frame
(text, label, target, speaker, group, quote_id, context, date) whose rows were checked once, with
errors that name the file, column and row. Nothing here knows about models.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import InputError
from toolkit.fileio import read_table
from toolkit.inputs import read_json_file
from toolkit.stance.splits import group_values

#: The stance classes a model is trained on (contract: `unclear` is excluded from training).
LABELS: tuple[str, ...] = ("favor", "against", "neutral")
#: Values that mean "no usable stance label": dropped with a warning, never trained on.
EXCLUDED_LABELS = {"unclear"}


@dataclass
class Columns:
    """Names of the user's columns; the model sees `text`, `target`, `speaker`, `cue`, `quote_type`."""

    text: str = "text"
    label: str = "label"
    target: str = "target"
    speaker: str = "speaker"
    group: str = "article_id"
    id: str = "quote_id"
    context: str = "context"
    date: str = "article_date"
    cue: str = "cue"
    quote_type: str = "quote_type"

    @classmethod
    def from_saved(cls, saved: dict[str, Any] | None, **overrides: str | None) -> "Columns":
        """The columns a model was trained with (model_meta.json `columns`), unknown keys ignored.

        `overrides` with a value (e.g. ``text="quote"``) replace the saved name: new quotes may
        name their columns differently from the training table.
        """
        known = {k: v for k, v in (saved or {}).items() if k in cls.__dataclass_fields__}
        return cls(**{**known, **{k: v for k, v in overrides.items() if v}})


def _is_hf_dataset_dir(path: Path) -> bool:
    return path.is_dir() and ((path / "dataset_dict.json").exists() or (path / "state.json").exists())


def _is_hub_folder(path: Path) -> bool:
    """A Hub-format dataset folder (README card + data/*.parquet), as `qst build-dataset` writes."""
    return path.is_dir() and (path / "README.md").exists() and any((path / "data").glob("*.parquet"))


def _hf_to_frame(ds: Any) -> pd.DataFrame:
    """A `datasets.Dataset` as a DataFrame with ClassLabel integers turned back into names."""
    import datasets

    frame = ds.to_pandas()
    for name, feat in ds.features.items():
        if isinstance(feat, datasets.ClassLabel) and name in frame:
            names = feat.names
            frame[name] = [names[i] if i is not None and i >= 0 else None for i in frame[name]]
    return frame


def load_labelled(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Read a labelled table; return (data, test part or None).

    A `datasets` folder saved with `save_to_disk` is read with `load_from_disk`: a DatasetDict's
    `train` (plus `validation`) becomes the data and its `test` split the given test set, so the
    split the dataset was published with is the one evaluated. Anything else goes through
    `toolkit.fileio.read_table` (parquet, jsonl, json, csv, or a folder of parquet files).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if _is_hf_dataset_dir(path) or _is_hub_folder(path):
        import datasets

        try:
            ds = (datasets.load_dataset(str(path)) if _is_hub_folder(path)
                  else datasets.load_from_disk(str(path)))
        except Exception as exc:  # datasets raises several types for a broken folder
            raise InputError(f"{path}: not a readable `datasets` folder ({exc})") from exc
        if isinstance(ds, datasets.DatasetDict):
            train_parts = [s for s in ("train", "validation") if s in ds]
            if not train_parts:
                raise InputError(f"{path}: DatasetDict has no 'train' split (splits: {', '.join(ds)})")
            data = pd.concat([_hf_to_frame(ds[s]) for s in train_parts], ignore_index=True)
            test = _hf_to_frame(ds["test"]) if "test" in ds else None
            return data, test
        return _hf_to_frame(ds), None
    return read_table(path), None


def data_sha256(path: str | Path) -> str:
    """sha256 over the bytes of the training table (all files of a folder, by relative path).

    Hashing the file rather than the parsed frame means anyone can check it with `sha256sum`.
    """
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        if path.is_dir():
            digest.update(str(p.relative_to(path)).encode("utf-8") + b"\0")
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Prepared:
    """A labelled table in canonical column names, plus what was dropped and why."""

    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    has_target: bool = False
    has_speaker: bool = False
    has_group: bool = False
    has_date: bool = False


def _rows(mask: pd.Series, frame: pd.DataFrame, limit: int = 5) -> str:
    """Human row references (1-based table row, plus quote id when there is one)."""
    idx = list(np.flatnonzero(mask.to_numpy()))
    refs = []
    for i in idx[:limit]:
        qid = frame["quote_id"].iloc[i] if "quote_id" in frame else None
        refs.append(f"row {i + 1}" + (f" ({qid})" if isinstance(qid, str) else ""))
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return ", ".join(refs) + more


def check_unique_ids(ids: pd.Series, where: str, column: str) -> None:
    """Refuse a table whose id column repeats, naming the first repeated id and its rows.

    A repeated quote can sit in a training and a test fold at once and be scored on what the
    model memorised (docs/GUARANTEES.md, "Options and tables", has a measured example).
    """
    positions = pd.Series(np.arange(1, len(ids) + 1), index=ids.index)
    dup = ids.notna() & ids.duplicated(keep=False)
    if dup.any():
        first = ids[dup].iloc[0]
        rows = positions[ids == first].tolist()
        shown = ", ".join(map(str, rows[:5])) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
        n = int(ids[dup].nunique())
        raise InputError(f"{where}: id {first!r} in column {column!r} repeats at rows {shown}"
                         + (f" ({n} ids repeat)" if n > 1 else "")
                         + "; each row must be a distinct quote (a repeated one can be in train and test at once)")


def prepare(df: pd.DataFrame, cols: Columns, where: str, labels: tuple[str, ...] = LABELS,
            require_labels: bool = True) -> Prepared:
    """Check a labelled table and return it with canonical columns.

    Canonical columns: text, label, target, speaker, group, quote_id, context, date. Rows labelled
    `unclear` or with no label are dropped *with a warning that counts them* (the contract excludes
    them from training); anything else outside `labels`, empty text or a missing text/label column
    is an InputError naming the file, column and rows.
    """
    warn: list[str] = []
    if cols.text not in df.columns:
        raise InputError(f"{where}: no text column {cols.text!r} (columns: {', '.join(map(str, df.columns))}); "
                         f"name it with --text-col")
    if require_labels and cols.label not in df.columns:
        raise InputError(f"{where}: no label column {cols.label!r} (columns: {', '.join(map(str, df.columns))}); "
                         f"name it with --label-col")
    out = pd.DataFrame(index=df.index)
    out["quote_id"] = df[cols.id].astype("string") if cols.id in df.columns else pd.Series(
        [f"row{i + 1}" for i in range(len(df))], index=df.index, dtype="string")
    if cols.id in df.columns:
        check_unique_ids(out["quote_id"], where, cols.id)
    out["text"] = df[cols.text]
    bad_text = out["text"].isna() | ~out["text"].map(lambda t: isinstance(t, str) and bool(t.strip()))
    if bad_text.any():
        raise InputError(f"{where}: empty or missing text in column {cols.text!r} at {_rows(bad_text, out)}")
    prep = Prepared(frame=out, warnings=warn)
    for canon, name, flag in (("target", cols.target, "has_target"), ("speaker", cols.speaker, "has_speaker"),
                              ("group", cols.group, "has_group"), ("date", cols.date, "has_date")):
        if name and name in df.columns:
            out[canon] = df[name].astype("string").fillna("" if canon == "target" else "(unknown)")
            setattr(prep, flag, True)
        else:
            out[canon] = "" if canon == "target" else "(unknown)"
    out["context"] = df[cols.context].astype("string") if cols.context in df.columns else ""
    for canon, name in (("cue", cols.cue), ("quote_type", cols.quote_type)):  # metadata features, when known
        out[canon] = df[name].astype("string").fillna("") if name and name in df.columns else ""
    if require_labels:
        raw = df[cols.label]
        lab = raw.map(lambda v: v.strip().lower() if isinstance(v, str) else v)
        missing = lab.isna()
        excluded = lab.isin(EXCLUDED_LABELS)
        outside = ~missing & ~excluded & ~lab.isin(labels)
        if outside.any():
            values = sorted({str(v) for v in raw[outside]})
            raise InputError(f"{where}: label(s) {', '.join(map(repr, values))} in column {cols.label!r} are not in "
                             f"the label set {list(labels)} at {_rows(outside, out)}")
        if missing.any():
            warn.append(f"{where}: {int(missing.sum())} row(s) without a label dropped ({_rows(missing, out)})")
        if excluded.any():
            warn.append(f"{where}: {int(excluded.sum())} row(s) labelled 'unclear' dropped "
                        f"(not a trainable stance)")
        recased = ~missing & raw.map(lambda v: isinstance(v, str)) & (raw.astype(object) != lab.astype(object))
        if recased.any():
            warn.append(f"{where}: {int(recased.sum())} label(s) normalised to lower case without surrounding "
                        f"spaces (e.g. {raw[recased].iloc[0]!r} -> {lab[recased].iloc[0]!r})")
        out["label"] = lab
        out = out[~missing & ~excluded]
    prep.frame = out.reset_index(drop=True)
    return prep


def check_trainable(frame: pd.DataFrame, where: str, group_by: str | None, group_label: str | None) -> None:
    """Refuse data a classifier cannot be honestly trained and evaluated on.

    `group_by` is the split design (article, speaker, date, none); `group_label` names its column
    for the message.
    """
    counts = Counter(frame["label"])
    if len(counts) < 2:
        only = ", ".join(f"{k!r}" for k in counts) or "none"
        raise InputError(f"{where}: need at least two classes to train a classifier, found {len(counts)} ({only}) "
                         f"in {len(frame)} labelled row(s)")
    singles = [k for k, n in counts.items() if n == 1]
    if singles:
        raise InputError(f"{where}: class(es) {', '.join(map(repr, singles))} have a single example: it cannot be "
                         f"both learned and evaluated; label more examples or drop that class")
    values = group_values(frame, group_by)
    if values is not None and len(set(values)) < 2:
        raise InputError(f"{where}: group column ({group_label}) has only one value ({values[0]!r}): a grouped "
                         f"split needs at least two groups; pass --group-by none to split by row (quotes of one "
                         f"article then leak)")


def read_quotes(path: str | Path) -> pd.DataFrame:
    """Quotes to label: any table read_table reads, or a Label Studio tasks JSON (uses `data`)."""
    path = Path(path)
    if path.suffix.lower() == ".json" and path.is_file():
        obj = read_json_file(path, "quotes or tasks JSON file")
        if isinstance(obj, list) and obj and all(isinstance(t, dict) and "data" in t for t in obj):
            return pd.DataFrame([t["data"] for t in obj])
    return read_table(path)


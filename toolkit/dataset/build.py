"""Build the Hugging Face dataset folder from quotes and adjudicated stance labels.

The folder is what `qst publish` uploads: `data/<split>-00000-of-00001.parquet` plus a
`README.md` dataset card. The card's YAML is generated from the very `datasets.Features`
object that wrote the parquet files (toolkit.dataset.card), and `check_card` reads both back and
refuses a folder whose card and parquet schema disagree, so label ids can never be silently
reordered between the data and its documentation.

Splits are grouped by article (quotes from one article never straddle two splits), drawn with
a seeded scikit-learn GroupShuffleSplit so the same inputs and seed give the same split.
"""

from __future__ import annotations

import math
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.dataset.folder import DATA_FILE, SPLITS
from toolkit.errors import InputError, ToolkitError
from toolkit.fileio import check_replaceable, output_folder, read_table
from toolkit.inputs import loads_json, read_json_file, require_file

#: Dataset label names, in ClassLabel id order. Changing the order changes every label id.
LABEL_NAMES = ["favor", "against", "neutral"]
#: Stance values an annotator or adjudicator may give (contract: labelstudio / agreement).
STANCE_VALUES = {"favor", "against", "neutral", "unclear"}
TEXT_MODES = ("full", "quote", "ids")
#: Reason, in the card and the summary, for quote records whose text is null or blank.
NO_TEXT = "no quote text"
#: Columns that carry news text; `--text-mode ids` drops all of them.
TEXT_COLUMNS = {"full": ("quote", "context", "speaker_mention"), "quote": ("quote", "speaker_mention"), "ids": ()}


@dataclass
class BuildStats:
    """What went in, what came out and what was left out (all of it goes into the card)."""

    quotes_in: int = 0
    adjudicated_in: int = 0
    annotations_in: int = 0
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> number of quotes
    rows_out: int = 0
    n_annotators: int = 0
    resolution_counts: dict[str, int] = field(default_factory=dict)
    split_articles: dict[str, list[str]] = field(default_factory=dict)
    split_rows: dict[str, int] = field(default_factory=dict)
    split_note: str = ""
    seed: int = 0
    text_mode: str = "full"


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        return bool(pd.isna(value)) if np.ndim(value) == 0 else False
    except (TypeError, ValueError):
        return False


def _clean(value: Any) -> Any:
    """None for NaN/NA, plain Python scalars otherwise (numpy/pandas scalars confuse pyarrow casts)."""
    if _missing(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return value


def _str_or_none(value: Any) -> str | None:
    value = _clean(value)
    return None if value is None else str(value)


def _int_or_none(value: Any) -> int | None:
    value = _clean(value)
    return None if value is None else int(value)


def _truthy(value: Any) -> bool:
    value = _clean(value)
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value) if value is not None else False


def make_features(text_mode: str = "full"):
    """The dataset's `datasets.Features`; the single source of truth for parquet and card."""
    from datasets import ClassLabel, Features, List, Value

    if text_mode not in TEXT_MODES:
        raise InputError(f"--text-mode {text_mode!r}: choose one of {', '.join(TEXT_MODES)}")
    cols: dict[str, Any] = {
        "quote_id": Value("string"),
        "article_id": Value("string"),
        "source": Value("string"),
        "url": Value("string"),
        "date": Value("string"),
        "speaker": Value("string"),
    }
    if "speaker_mention" in TEXT_COLUMNS[text_mode]:
        cols["speaker_mention"] = Value("string")
    if "quote" in TEXT_COLUMNS[text_mode]:
        cols["quote"] = Value("string")
    cols["quote_type"] = Value("string")
    if "context" in TEXT_COLUMNS[text_mode]:
        cols["context"] = Value("string")
    cols.update({
        "quote_start": Value("int32"),
        "quote_end": Value("int32"),
        "context_start": Value("int32"),
        "context_end": Value("int32"),
        "speaker_mention_start": Value("int32"),
        "speaker_mention_end": Value("int32"),
        "target": Value("string"),
        "label": ClassLabel(names=list(LABEL_NAMES)),
        "annotations": List({"annotator": Value("string"), "label": Value("string")}),
        "agreement": Value("float32"),
        "resolution": Value("string"),
    })
    return Features(cols)


def _require_columns(df: pd.DataFrame, cols: tuple[str, ...], name: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{name}: missing column(s) {', '.join(missing)} (have: {', '.join(map(str, df.columns)) or 'none'})")


def _duplicates(df: pd.DataFrame, col: str, name: str) -> None:
    dup = df[col][df[col].duplicated(keep=False)]
    if len(dup):
        rows = [int(i) + 1 for i in dup.index[:5]]
        raise InputError(f"{name}: {col} {dup.iloc[0]!r} occurs more than once (rows {rows}); one row per quote expected")


def _annotator_labels(value: Any, where: str) -> dict[str, str | None]:
    """Parse the adjudicated `annotator_labels` cell: a dict, a JSON object string, or key/value pairs."""
    value = _clean(value) if not isinstance(value, (dict, list, np.ndarray)) else value
    if value is None:
        return {}
    if isinstance(value, str):
        value = loads_json(value, f"{where}: annotator_labels")
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list):  # parquet map columns come back as [(key, value), ...]
        try:
            value = {str(k): v for k, v in value}
        except (TypeError, ValueError):
            raise InputError(f"{where}: annotator_labels must map annotator -> label") from None
    if not isinstance(value, dict):
        raise InputError(f"{where}: annotator_labels must map annotator -> label, got {type(value).__name__}")
    out: dict[str, str | None] = {}
    for k, v in value.items():
        v = _str_or_none(v)
        if v is not None and v not in STANCE_VALUES:
            raise InputError(f"{where}: annotator {k!r} has stance {v!r}; expected one of {sorted(STANCE_VALUES)}")
        out[str(k)] = v
    return out


def _annotation_index(annotations: pd.DataFrame, known: set[str], q_name: str, n_name: str,
                      ) -> tuple[dict[str, dict[str, str | None]], dict[str, Counter]]:
    """Per quote: each annotator's latest non-cancelled stance, and how often each target was named.

    The fallback for adjudicated rows without `annotator_labels` and the source of the target;
    read in full first so an annotation on an unknown quote or with an unknown stance stops the
    build before any row is assembled."""
    ann_labels: dict[str, dict[str, str | None]] = {}
    ann_targets: dict[str, Counter] = {}
    _require_columns(annotations, ("quote_id", "annotator", "stance"), n_name)
    for i, rec in enumerate(annotations.to_dict("records"), start=1):
        qid = str(rec["quote_id"])
        where = f"{n_name}: row {i} (task {_clean(rec.get('task_id'))}, annotator {_clean(rec.get('annotator'))})"
        if qid not in known:
            raise InputError(f"{where}: quote_id {qid!r} is not in {q_name}")
        if _truthy(rec.get("was_cancelled")):
            continue
        stance = _str_or_none(rec.get("stance"))
        if stance is not None and stance not in STANCE_VALUES:
            raise InputError(f"{where}: stance {stance!r}; expected one of {sorted(STANCE_VALUES)}")
        ann_labels.setdefault(qid, {})[str(rec["annotator"])] = stance
        target = _str_or_none(rec.get("target"))
        if target:
            ann_targets.setdefault(qid, Counter())[target] += 1
    return ann_labels, ann_targets


def _dataset_row(q: dict[str, Any], a: dict[str, Any], label: str, labels: dict[str, str | None],
                 resolution: str | None, ann_targets: dict[str, Counter]) -> dict[str, Any]:
    """One dataset item from a kept quote and its adjudicated row.

    Agreement falls back to the share of annotators who chose the gold label, the speaker to the
    extracted one, and the target to the one the annotators named most often, then to the target
    the agreement stage or an older quote table carries. `_annotator_labels` still holds the raw
    annotator ids; `_pseudonymise` replaces it once every row is known."""
    qid = str(q["quote_id"])
    agreement = _clean(a.get("item_agreement"))
    if agreement is None and labels:
        agreement = sum(v == label for v in labels.values()) / len(labels)
    speaker = _str_or_none(a.get("speaker_final")) or _str_or_none(q.get("speaker"))
    if qid in ann_targets:
        target = ann_targets[qid].most_common(1)[0][0]
    else:  # the agreement stage carries the project's target; older quote tables may have one
        target = _str_or_none(a.get("target")) or _str_or_none(q.get("target"))
    return {
        "quote_id": qid,
        "article_id": str(q["article_id"]),
        "source": _str_or_none(q.get("article_source")),
        "url": _str_or_none(q.get("article_url")),
        "date": _str_or_none(q.get("article_date")),
        "speaker": speaker,
        "speaker_mention": _str_or_none(q.get("speaker_mention")),
        "quote": _str_or_none(q.get("text")),
        "quote_type": _str_or_none(q.get("type")),
        "context": _str_or_none(q.get("context")),
        "quote_start": _int_or_none(q.get("start")),
        "quote_end": _int_or_none(q.get("end")),
        "context_start": _int_or_none(q.get("context_start")),
        "context_end": _int_or_none(q.get("context_end")),
        "speaker_mention_start": _int_or_none(q.get("speaker_mention_start")),
        "speaker_mention_end": _int_or_none(q.get("speaker_mention_end")),
        "target": target,
        "label": label,
        "_annotator_labels": labels,
        "agreement": None if agreement is None else float(agreement),
        "resolution": resolution,
    }


def _pseudonymise(rows: list[dict[str, Any]], all_annotators: set[str]) -> None:
    """Replace each row's `_annotator_labels` by `annotations` under stable pseudonyms.

    Sorted original ids -> annotator_01, annotator_02, ...: the published dataset names no
    annotator, yet the same person has the same pseudonym on every row of one build."""
    pseudonym = {orig: f"annotator_{k:02d}" for k, orig in enumerate(sorted(all_annotators), start=1)}
    for row in rows:
        row["annotations"] = [{"annotator": pseudonym[k], "label": v}
                              for k, v in sorted(row.pop("_annotator_labels").items(), key=lambda kv: pseudonym[kv[0]])]


def assemble_rows(quotes: pd.DataFrame, adjudicated: pd.DataFrame, annotations: pd.DataFrame | None = None,
                  *, skip_unlabelled: bool = False, names: tuple[str, str, str] = ("quotes", "adjudicated", "annotations"),
                  ) -> tuple[pd.DataFrame, BuildStats]:
    """Join quotes with their adjudicated label; one row per dataset item (before splitting).

    Raises InputError for an adjudicated row or annotation that points at a quote the quotes
    table does not hold, for an unknown stance value, and (unless `skip_unlabelled`) for a
    quote that has no adjudicated row at all. Quotes with a null or blank text, those adjudicated
    `unclear`, unresolved ones and those marked not-a-quote are left out and counted in
    `BuildStats.excluded`.
    """
    q_name, a_name, n_name = names
    _require_columns(quotes, ("quote_id", "article_id", "text", "type"), q_name)
    _require_columns(adjudicated, ("quote_id", "label"), a_name)
    _duplicates(quotes, "quote_id", q_name)
    _duplicates(adjudicated, "quote_id", a_name)
    stats = BuildStats(quotes_in=len(quotes), adjudicated_in=len(adjudicated))
    known = set(quotes["quote_id"].astype(str))

    for i, qid in enumerate(adjudicated["quote_id"].astype(str), start=1):
        if qid not in known:
            raise InputError(f"{a_name}: row {i}: quote_id {qid!r} is not in {q_name}; "
                             "were the labels adjudicated for a different extraction run?")

    # Per-quote annotations from the annotation table (optional): labels and target.
    ann_labels: dict[str, dict[str, str | None]] = {}
    ann_targets: dict[str, Counter] = {}
    if annotations is not None:
        ann_labels, ann_targets = _annotation_index(annotations, known, q_name, n_name)
        stats.annotations_in = len(annotations)

    adj_by_id = {str(r["quote_id"]): (i, r) for i, r in enumerate(adjudicated.to_dict("records"), start=1)}
    unlabelled = [qid for qid in quotes["quote_id"].astype(str) if qid not in adj_by_id]
    if unlabelled and not skip_unlabelled:
        raise InputError(
            f"{q_name}: {len(unlabelled)} quote(s) have no adjudicated label in {a_name} "
            f"(first: {', '.join(unlabelled[:3])}). Adjudicate them, or pass --skip-unlabelled to leave "
            "them out (they are then counted in the dataset card)."
        )

    excluded: Counter = Counter()
    if unlabelled:
        excluded["no adjudicated label"] = len(unlabelled)
    resolutions: Counter = Counter()
    all_annotators: set[str] = set()
    rows: list[dict[str, Any]] = []
    for q in quotes.to_dict("records"):
        qid = str(q["quote_id"])
        if qid not in adj_by_id:
            continue
        i, a = adj_by_id[qid]
        where = f"{a_name}: row {i} ({qid})"
        if not (_str_or_none(q.get("text")) or "").strip():
            excluded[NO_TEXT] += 1  # a null/blank quote is no data point, whatever its label
            continue
        label = _str_or_none(a.get("label"))
        if label is not None and label not in STANCE_VALUES:
            raise InputError(f"{where}: label {label!r}; expected one of {sorted(STANCE_VALUES)} or empty")
        labels = _annotator_labels(a.get("annotator_labels"), where) or ann_labels.get(qid, {})
        all_annotators.update(labels)
        resolution = _str_or_none(a.get("resolution")) or ("unresolved" if label is None else None)
        if _truthy(a.get("not_a_quote")):
            excluded["not a quote (annotators)"] += 1
            continue
        if label is None or resolution == "unresolved":
            excluded["unresolved"] += 1
            continue
        if label == "unclear":
            excluded["unclear"] += 1
            continue
        resolutions[resolution or "unknown"] += 1
        rows.append(_dataset_row(q, a, label, labels, resolution, ann_targets))

    _pseudonymise(rows, all_annotators)
    stats.excluded = dict(excluded)
    stats.resolution_counts = dict(resolutions)
    stats.n_annotators = len(all_annotators)
    stats.rows_out = len(rows)
    return pd.DataFrame(rows), stats


def split_articles(article_ids: list[str], *, seed: int = 13, validation_size: float = 0.1,
                   test_size: float = 0.1) -> tuple[dict[str, list[str]], str]:
    """Assign whole articles to train/validation/test; return the assignment and a note for the card.

    Each held-out split gets round(size * n) articles but at least one, so 5 articles give
    3/1/1. Fewer than 3 articles cannot fill three splits: that is an error with the fix.
    """
    from sklearn.model_selection import GroupShuffleSplit

    for name, size in (("--validation-size", validation_size), ("--test-size", test_size)):
        if not 0 < size < 1:
            raise InputError(f"{name} {size}: must be a fraction between 0 and 1 (exclusive)")
    groups = np.array(sorted(set(article_ids)))
    n = len(groups)
    if n < 3:
        raise ToolkitError(
            f"only {n} article(s) with labelled quotes: train, validation and test are grouped by article, "
            "so at least 3 are needed or a split would be empty. Annotate quotes from more articles "
            "(or check that the adjudicated labels are not mostly 'unclear'/unresolved)."
        )
    n_test = max(1, round(test_size * n))
    n_val = max(1, round(validation_size * n))
    if n - n_test - n_val < 1:
        raise ToolkitError(f"{n} articles cannot give {n_val} validation + {n_test} test articles and a non-empty "
                           "train split; lower --validation-size/--test-size or add articles")
    idx = np.arange(n)
    rest, test = next(GroupShuffleSplit(n_splits=1, test_size=n_test, random_state=seed).split(idx, groups=groups))
    train, val = next(GroupShuffleSplit(n_splits=1, test_size=n_val, random_state=seed)
                      .split(rest, groups=groups[rest]))
    assignment = {
        "train": sorted(groups[rest][train].tolist()),
        "validation": sorted(groups[rest][val].tolist()),
        "test": sorted(groups[test].tolist()),
    }
    sizes = "/".join(str(len(assignment[s])) for s in SPLITS)
    note = (f"{n} articles were split {sizes} (train/validation/test) with scikit-learn GroupShuffleSplit, "
            f"seed {seed}, target fractions validation {validation_size:g} and test {test_size:g}, "
            "at least one article per split.")
    if n < 20:
        note += (f" With only {n} articles the held-out splits are tiny: scores on them are anecdotal and depend "
                 "heavily on which articles were drawn.")
    return assignment, note


def build_dataset_dict(rows: pd.DataFrame, assignment: dict[str, list[str]], text_mode: str = "full"):
    """Turn the assembled rows into a `datasets.DatasetDict` typed by `make_features(text_mode)`."""
    from datasets import Dataset, DatasetDict

    features = make_features(text_mode)
    label_feature = features["label"]
    out = {}
    for split in SPLITS:
        part = rows[rows["article_id"].isin(set(assignment[split]))].sort_values(["article_id", "quote_start", "quote_id"])
        if part.empty:
            raise ToolkitError(f"split {split!r} is empty: no labelled quote in its articles "
                               f"{assignment[split]}; annotate more articles or change the split sizes")
        records = []
        for rec in part.to_dict("records"):
            item = {name: _clean(rec.get(name)) if name != "annotations" else rec["annotations"] for name in features}
            item["label"] = label_feature.str2int(rec["label"])
            records.append(item)
        out[split] = Dataset.from_list(records, features=features, split=split)
    return DatasetDict(out)


def write_folder(dsd, out: str | Path, card_text: str, extra_files: dict[str, Path] | None = None,
                 inputs: tuple[str | Path | None, ...] = ()) -> Path:
    """Write `data/<split>-00000-of-00001.parquet`, README.md and extra files; replace `out` as a whole.

    Everything is written to a staging folder and swapped into place at the end
    (`fileio.output_folder`), so a failed build leaves `out` as it was; a folder the toolkit did
    not write (one that merely holds a README.md, a repository, a home folder) is never replaced.
    """
    from datasets.utils.tqdm import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    out = Path(out)
    bars = not are_progress_bars_disabled()
    disable_progress_bars()
    try:
        with output_folder(out, "dataset", inputs=[*inputs, *(extra_files or {}).values()]) as tmp:
            for split, ds in dsd.items():
                path = tmp / DATA_FILE.format(split=split)
                path.parent.mkdir(parents=True, exist_ok=True)
                ds.to_parquet(str(path))
            (tmp / "README.md").write_text(card_text, encoding="utf-8")
            for name, src in (extra_files or {}).items():
                shutil.copyfile(src, tmp / name)
            check_card(tmp)
    finally:
        if bars:
            enable_progress_bars()
    return out


def check_card(folder: str | Path) -> None:
    """Read the written card and parquet files back; raise if their features or sizes disagree.

    The parquet files carry the `datasets.Features` in their schema metadata; the card carries
    them in `dataset_info`. Label names must match in order, and the declared split sizes must
    equal the parquet row counts.
    """
    import pyarrow.parquet as pq
    from datasets import Features
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCard

    folder = Path(folder)
    readme = folder / "README.md"
    if not readme.exists():
        raise ToolkitError(f"{folder}: no README.md dataset card")
    infos = DatasetInfosDict.from_dataset_card_data(DatasetCard.load(readme).data)
    if "default" not in infos or infos["default"].features is None:
        raise ToolkitError(f"{readme}: card has no dataset_info.features")
    info = infos["default"]
    card_names = info.features["label"].names if "label" in info.features else None
    parquet_files = sorted((folder / "data").glob("*.parquet"))
    if not parquet_files:
        raise ToolkitError(f"{folder}/data: no parquet files")
    for path in parquet_files:
        schema = pq.read_schema(path)
        feats = Features.from_arrow_schema(schema)
        pq_names = feats["label"].names if "label" in feats and hasattr(feats["label"], "names") else None
        if pq_names != card_names:
            raise ToolkitError(f"{path}: label names {pq_names} differ from the card's {card_names} ({readme}); "
                               "rebuild the folder with `qst build-dataset`")
        if feats != info.features:
            raise ToolkitError(f"{path}: features differ from the card's dataset_info ({readme}); rebuild the folder")
        split = path.name.split("-")[0]
        declared = info.splits.get(split) if info.splits else None
        rows = pq.ParquetFile(path).metadata.num_rows
        if declared is None or declared.num_examples != rows:
            raise ToolkitError(f"{path}: {rows} rows but the card declares "
                               f"{declared.num_examples if declared else 'no'} for split {split!r}")


@dataclass
class BuildResult:
    folder: Path
    stats: BuildStats
    dataset: Any  # DatasetDict


def build(quotes_path: str | Path, adjudicated_path: str | Path, out: str | Path, *,
          annotations_path: str | Path | None = None, agreement_path: str | Path | None = None,
          guidelines_path: str | Path | None = None, text_mode: str = "full", seed: int = 13,
          validation_size: float = 0.1, test_size: float = 0.1, skip_unlabelled: bool = False,
          license: str = "cc-by-4.0", pretty_name: str = "German news quotes: stance towards a target",
          repo_id: str | None = None, outlet_notes_path: str | Path | None = None,
          annotators_path: str | Path | None = None) -> BuildResult:
    """Read the inputs, build the DatasetDict, render the card and write the dataset folder."""
    from toolkit.dataset import card as hub_card

    inputs = (quotes_path, adjudicated_path, annotations_path, agreement_path, outlet_notes_path, annotators_path)
    check_replaceable(Path(out), [p for p in inputs if p is not None])  # refuse before reading anything
    make_features(text_mode)  # validate the mode before reading anything
    quotes = read_table(quotes_path)
    adjudicated = read_table(adjudicated_path)
    annotations = read_table(annotations_path) if annotations_path else None
    agreement = None
    if agreement_path:
        agreement = read_json_file(agreement_path, "agreement JSON file")
    outlet_notes = hub_card.read_outlet_notes(outlet_notes_path) if outlet_notes_path else {}
    annotators = hub_card.read_annotators(annotators_path) if annotators_path else None
    guidelines = Path(guidelines_path) if guidelines_path else None
    if guidelines is not None:
        require_file(guidelines, "guidelines file")

    rows, stats = assemble_rows(quotes, adjudicated, annotations, skip_unlabelled=skip_unlabelled,
                                names=(str(quotes_path), str(adjudicated_path), str(annotations_path or "annotations")))
    if rows.empty:
        raise ToolkitError(f"no quote has a favor/against/neutral label (left out: {stats.excluded or 'none'}); "
                           "nothing to put in the dataset")
    assignment, note = split_articles(rows["article_id"].tolist(), seed=seed, validation_size=validation_size,
                                      test_size=test_size)
    dsd = build_dataset_dict(rows, assignment, text_mode)
    stats.split_articles = assignment
    stats.split_rows = {s: len(dsd[s]) for s in SPLITS}
    stats.split_note, stats.seed, stats.text_mode = note, seed, text_mode
    card = hub_card.render_card(
        dsd, stats, rows=rows, annotations=annotations, agreement=agreement,
        guidelines_name="guidelines.md" if guidelines else None, license=license, pretty_name=pretty_name,
        repo_id=repo_id, outlet_notes=outlet_notes, annotators=annotators,
    )
    extra = {"guidelines.md": guidelines} if guidelines else {}
    folder = write_folder(dsd, out, card, extra, inputs=inputs)
    return BuildResult(folder=folder, stats=stats, dataset=dsd)

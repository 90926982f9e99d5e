"""One part, end to end: articles -> quotes -> part files + manifest entry.

Both engines (local processes and Dask) run exactly these functions on exactly the same input
ranges, so their output is the same by construction, byte for byte: the Parquet parts are
written with one fixed Arrow schema and no per-run metadata, so even the sha256 sums agree.

The intermediate "quote frame" (what Dask's map_partitions returns) holds quote rows and, for
records that could not be read or extracted under --skip-bad, error rows (`_error` set). The
writer splits them: quotes go to the part file, errors to the part's manifest entry.
"""

from __future__ import annotations

import json
import os
import pkgutil
import resource
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from toolkit.corpus.ids import ids_path, write_ids
from toolkit.corpus.io import ARTICLE_SCHEMA, read_part_table, row_to_article
from toolkit.corpus.limits import ArticleTimeout, in_main_thread, run_in_helper, time_limit
from toolkit.corpus.plan import DEFAULT_EXTRACT_FN, ExtractFn, describe_range
from toolkit.errors import ToolkitError
from toolkit.fileio import atomic_path, sha256_file, write_json

PARTS_DIR = "_parts"
#: Error kind of an article that ran over --article-timeout.
TIMEOUT = "timeout"
#: `_kind` of the one row per readable article that carries its id to the writer (toolkit.corpus.ids).
ARTICLE_ROW = "_article"


def is_extract_failure(kind: str) -> bool:
    """An article that was read but not extracted (vs. a record that is not an article at all)."""
    return kind == TIMEOUT or kind.startswith("extract_error")

_S, _I, _F = pa.string(), pa.int64(), pa.float64()
#: Parquet schema of quote parts: the fields of schemas/quote.schema.json, in that order.
QUOTE_SCHEMA = pa.schema([
    ("quote_id", _S), ("article_id", _S), ("start", _I), ("end", _I), ("text", _S), ("type", _S),
    ("speaker", _S), ("speaker_id", _S), ("speaker_kind", _S),
    ("speaker_mention", _S), ("speaker_mention_start", _I), ("speaker_mention_end", _I),
    ("antecedent", _S), ("antecedent_start", _I), ("antecedent_end", _I), ("attribution_method", _S),
    ("cue", _S), ("cue_start", _I), ("cue_end", _I),
    ("context", _S), ("context_start", _I), ("context_end", _I),
    ("paragraph_index", _I), ("confidence", _F), ("flags", pa.list_(_S)),
    ("article_title", _S), ("article_date", _S), ("article_url", _S), ("article_source", _S),
    ("extra", _S),  # JSON of fields the schema does not list (additionalProperties), else null
])
_QUOTE_KEYS = [f.name for f in QUOTE_SCHEMA if f.name != "extra"]
_ERROR_FIELDS = [("_error", _S), ("_kind", _S), ("_where", _S)]
QUOTE_FRAME_SCHEMA = pa.schema(list(QUOTE_SCHEMA) + [pa.field(n, t) for n, t in _ERROR_FIELDS])

#: Empty frames with the exact dtypes: the explicit `meta` Dask needs for from_map/map_partitions.
ARTICLE_META = ARTICLE_SCHEMA.empty_table().to_pandas(types_mapper=pd.ArrowDtype)
QUOTE_FRAME_META = QUOTE_FRAME_SCHEMA.empty_table().to_pandas(types_mapper=pd.ArrowDtype)


def resolve_extract_fn(name: str | ExtractFn) -> ExtractFn:
    """`module:function` -> the function. Workers import it by name, so it must be module-level."""
    if callable(name):
        return name
    module, _, attr = name.partition(":")
    if not module or not attr:
        raise ToolkitError(f"--extract-fn must look like module:function, got {name!r}")
    try:
        fn = pkgutil.resolve_name(name)
    except (ValueError, ImportError, AttributeError) as exc:
        raise ToolkitError(f"cannot load extract function {name!r}: {exc}") from None
    return fn


def fn_name(fn: str | ExtractFn) -> str:
    return fn if isinstance(fn, str) else f"{fn.__module__}:{fn.__qualname__}"


# ----------------------------------------------------------------------------- read and extract

def load_part_frame(spec: dict[str, Any], skip_bad: bool = False) -> pd.DataFrame:
    """Dask `from_map` reader and local reader alike: one part's articles as a DataFrame."""
    return read_part_table(spec, skip_bad).to_pandas(types_mapper=pd.ArrowDtype)


def _quote_row(rec: dict[str, Any]) -> dict[str, Any]:
    row = {k: rec.get(k) for k in _QUOTE_KEYS}
    extra = {k: v for k, v in rec.items() if k not in row}
    row["extra"] = json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None
    return row


def extract_frame(articles: pd.DataFrame, extract_fn: str | ExtractFn = DEFAULT_EXTRACT_FN,
                  skip_bad: bool = False, article_timeout: float = 0, run_id: str | None = None) -> pd.DataFrame:
    """map_partitions body: every article's quotes in input order, plus error rows.

    An exception from the extractor on one article is that article's failure, reported with the
    article's location; without --skip-bad it stops the run. An article that runs longer than
    `article_timeout` seconds (0: no limit) is reported as kind "timeout" and the run goes on,
    with or without --skip-bad (toolkit.corpus.limits says how; outside a main thread, e.g. in
    a Dask worker thread, the part is extracted in a helper process for that; `run_id` lets the
    run's end refuse its cancelled parts there).
    """
    if article_timeout and not in_main_thread():
        return run_in_helper(extract_frame, articles, extract_fn, skip_bad, article_timeout, run_id=run_id)
    fn = resolve_extract_fn(extract_fn)
    rows: list[dict[str, Any]] = []
    table = pa.Table.from_pandas(articles, schema=ARTICLE_SCHEMA, preserve_index=False)
    for row in table.to_pylist():
        if row["_error"] is not None:
            rows.append({"_error": row["_error"], "_kind": row["_kind"], "_where": row["origin"]})
            continue
        rows.append({"article_id": row["id"], "_kind": ARTICLE_ROW, "_where": row["origin"]})
        try:
            with time_limit(article_timeout):
                quotes = fn(row_to_article(row))
        except ArticleTimeout:
            rows.append({"_error": f"{row['origin']}: article {row['id']!r} took longer than {article_timeout:g} s "
                                   "(--article-timeout); skipped", "_kind": TIMEOUT, "_where": row["origin"]})
            continue
        except Exception as exc:  # noqa: BLE001 - any extractor bug is one article's failure
            message = f"{row['origin']}: extraction failed for article {row['id']!r}: {type(exc).__name__}: {exc}"
            if not skip_bad:
                raise ToolkitError(message) from exc
            rows.append({"_error": message, "_kind": f"extract_error:{type(exc).__name__}",
                         "_where": row["origin"]})
            continue
        rows.extend(_quote_row(q) for q in quotes)
    return pa.Table.from_pylist(rows, schema=QUOTE_FRAME_SCHEMA).to_pandas(types_mapper=pd.ArrowDtype)


# ------------------------------------------------------------------------------------- writing

def part_name(index: int) -> str:
    return f"quotes-part-{index:05d}"


def quote_records(table: pa.Table) -> list[dict[str, Any]]:
    """Quote dicts back from a part table (extras folded back in): the JSONL form."""
    out = []
    for row in table.to_pylist():
        extra = row.pop("extra")
        if extra:
            row.update(json.loads(extra))
        out.append(row)
    return out


def _write_file(path: Path, write: Callable[[Path], None]) -> dict[str, Any]:
    with atomic_path(path) as tmp:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        digest, size = sha256_file(tmp), tmp.stat().st_size
    return {"path": path.name, "sha256": digest, "bytes": size}


def write_part(quotes: pd.DataFrame, spec: dict[str, Any], out_dir: str,
               jsonl: bool = False, started: float | None = None) -> dict[str, Any]:
    """Write the part file(s) atomically, then its manifest entry; return the entry.

    The entry (`_parts/part-NNNNN.json`) is written only after every file of the part is in
    place, so a part counts as complete only if the run got that far. The ids of the articles
    read go to a sidecar under `_parts/` (the run's end checks them for duplicates).
    """
    t0 = time.time()
    out = Path(out_dir)
    name = part_name(spec["part"])
    errors_mask = quotes["_error"].notna()
    id_mask = (quotes["_kind"] == ARTICLE_ROW).fillna(False).astype(bool)
    qtable = pa.Table.from_pandas(quotes[~errors_mask & ~id_mask].drop(columns=["_error", "_kind", "_where"]),
                                  schema=QUOTE_SCHEMA, preserve_index=False).replace_schema_metadata(None)
    files = {"parquet": _write_file(out / f"{name}.parquet",
                                    lambda p: pq.write_table(qtable, p, compression="zstd"))}
    if jsonl:
        def _jsonl(p: Path) -> None:
            with open(p, "w", encoding="utf-8") as fh:
                for rec in quote_records(qtable):
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        files["jsonl"] = _write_file(out / f"{name}.jsonl", _jsonl)
    ids = quotes.loc[id_mask, ["article_id", "_where"]]
    rel = ids_path(PARTS_DIR, spec["part"])
    files["ids"] = _write_file(out / rel, lambda p: write_ids(p, ids["article_id"].tolist(), ids["_where"].tolist()))
    files["ids"]["path"] = rel
    errors = [{"part": spec["part"], "kind": k, "where": w, "message": m}
              for m, k, w in quotes.loc[errors_mask, ["_error", "_kind", "_where"]].itertuples(index=False)]
    bad_records = sum(1 for e in errors if not is_extract_failure(e["kind"]))
    entry = {
        "part": spec["part"], "name": name, "files": files,
        "input": {k: v for k, v in spec.items() if k not in ("part", "header")},
        "input_range": describe_range(spec),
        "records": spec["records"], "articles": spec["records"] - bad_records,
        "bad_records": bad_records, "extract_failures": len(errors) - bad_records,
        "quotes": qtable.num_rows, "errors": errors,
        "worker": {"host": socket.gethostname(), "pid": os.getpid(),
                   "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)},
        "write_seconds": round(time.time() - t0, 3),
        "seconds": round(time.time() - (started or t0), 3),
    }
    write_json(out / PARTS_DIR / f"part-{spec['part']:05d}.json", entry)
    return entry


def process_part(spec: dict[str, Any], out_dir: str, extract_fn: str | ExtractFn = DEFAULT_EXTRACT_FN,
                 skip_bad: bool = False, jsonl: bool = False, article_timeout: float = 0) -> dict[str, Any]:
    """The local engine's unit of work (runs in a worker process): read, extract, write one part."""
    t0 = time.time()
    articles = load_part_frame(spec, skip_bad)
    quotes = extract_frame(articles, extract_fn, skip_bad, article_timeout)
    return write_part(quotes, spec, out_dir, jsonl, started=t0)

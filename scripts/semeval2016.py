#!/usr/bin/env python
"""Convert the SemEval-2016 Task 6 (Detecting Stance in Tweets, subtask A) files for `qst train`.

Why a converter: the original files are tab-separated `ID<TAB>Target<TAB>Tweet<TAB>Stance` with a
header line, encoded in Windows-1252 with CRLF line ends, and the test set's gold labels may come
in a separate file (same format) to be joined by ID. This writes UTF-8 parquet tables with the
toolkit's column names (quote_id, text, target, label favor/against/neutral).

The data's terms forbid redistribution: bring your own copy and never commit it (data/ is yours).

    python scripts/semeval2016.py convert --train trainingdata.txt \
        --test testdata-taskA-all-annotations.txt --out data/semeval/
    qst train data/semeval/train.parquet --test data/semeval/test.parquet \
        --per-target --model svm-ngrams --out reports/semeval2016

Or all of it in one command: convert, train every toolkit model per target on the official
split, and print F_avg with 95% bootstrap intervals beside the published figures (`--ablation`
adds one svm-ngrams run per fidelity option flipped, to see which difference costs what):

    python scripts/semeval2016.py evaluate --train trainingdata.txt \
        --test testdata-taskA-all-annotations.txt --out reports/semeval2016 --ablation
"""

from __future__ import annotations

import argparse
import codecs
import re
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from toolkit.errors import InputError, ToolkitError  # noqa: E402
from toolkit.fileio import write_parquet  # noqa: E402

codecs.register_error("_semeval_latin1", lambda exc: (exc.object[exc.start:exc.end].decode("latin-1"), exc.end))

LABEL_MAP = {"FAVOR": "favor", "AGAINST": "against", "NONE": "neutral"}
#: Stance values of an unlabelled test file, to be filled from the gold file.
UNLABELLED = {"UNKNOWN", ""}
HEADER = ["ID", "Target", "Tweet", "Stance"]


def decode(raw: bytes, path: Path, encoding: str = "auto") -> str:
    """UTF-8 if the bytes are valid UTF-8, else Windows-1252 (the originals); errors name the line."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    encodings = ["utf-8", "cp1252"] if encoding == "auto" else [encoding]
    for enc in encodings:
        try:
            return raw.decode(enc)
        except UnicodeDecodeError as exc:
            last = exc
            continue
    if encoding == "auto":
        # Five bytes (0x81 0x8D 0x8F 0x90 0x9D) are undefined in Windows-1252; keep them as the
        # Latin-1 control characters they would be, and say where, rather than refuse the file.
        bad = [i for i, b in enumerate(raw) if b in b"\x81\x8d\x8f\x90\x9d"]
        lines = sorted({raw[:i].count(b"\n") + 1 for i in bad})
        print(f"warning: {path}: {len(bad)} byte(s) undefined in Windows-1252 kept as Latin-1 control characters "
              f"(line(s) {', '.join(map(str, lines[:10]))})", file=sys.stderr)
        return raw.decode("cp1252", errors="_semeval_latin1")
    line = raw[: last.start].count(b"\n") + 1
    raise InputError(f"{path}:{line}: cannot decode byte {raw[last.start:last.start + 1]!r} as "
                     f"{' or '.join(encodings)}; pass --encoding latin-1 if the file uses another code page")


def read_semeval(path: str | Path, encoding: str = "auto", require_labels: bool = True) -> pd.DataFrame:
    """One SemEval-2016 Task 6 file as a DataFrame (id, target, text, stance), checked line by line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    text = decode(path.read_bytes(), path, encoding)
    lines = re.split(r"\r\n|\n|\r", text)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise InputError(f"{path}: empty file")
    header = [h.strip() for h in lines[0].split("\t")]
    if header[:4] != HEADER:
        raise InputError(f"{path}:1: expected header {'<TAB>'.join(HEADER)}, got {lines[0][:80]!r}")
    # Later releases (*-all-annotations.txt) add columns such as "Opinion Towards" and "Sentiment".
    extra_names = [re.sub(r"\W+", "_", h.lower()).strip("_") for h in header[4:]]
    ncols = len(header)
    tail = ncols - 3  # fields after the tweet: Stance and the extra columns
    rows = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < ncols:
            raise InputError(f"{path}:{lineno}: expected {ncols} tab-separated fields ({', '.join(header)}), "
                             f"got {len(parts)}")
        # A tab inside a tweet: the first two and the last fields are fixed, the rest is the tweet.
        rid, target = parts[0].strip(), parts[1].strip()
        tweet = "\t".join(parts[2:len(parts) - tail])
        stance = parts[len(parts) - tail].strip()
        extras = [x.strip() for x in parts[len(parts) - tail + 1:]]
        if not rid:
            raise InputError(f"{path}:{lineno}: empty ID")
        if rid in seen:
            raise InputError(f"{path}:{lineno}: duplicate ID {rid} (first on line {seen[rid]})")
        seen[rid] = lineno
        if stance.upper() not in LABEL_MAP and not (stance.upper() in UNLABELLED and not require_labels):
            raise InputError(f"{path}:{lineno}: stance {stance!r} is not one of FAVOR, AGAINST, NONE")
        if not tweet.strip():
            raise InputError(f"{path}:{lineno}: empty tweet")
        rows.append({"id": rid, "target": target, "text": tweet.strip(), "stance": stance.upper(), "line": lineno,
                     **dict(zip(extra_names, extras))})
    return pd.DataFrame(rows)


def join_gold(test: pd.DataFrame, gold: pd.DataFrame, test_path: str, gold_path: str) -> pd.DataFrame:
    """Fill the test set's stance from the gold file by ID; every ID must match one to one."""
    missing = sorted(set(test["id"]) - set(gold["id"]))
    extra = sorted(set(gold["id"]) - set(test["id"]))
    if missing:
        raise InputError(f"{gold_path}: no gold label for {len(missing)} test ID(s) of {test_path} "
                         f"(e.g. {', '.join(missing[:5])})")
    if extra:
        raise InputError(f"{gold_path}: {len(extra)} ID(s) not in {test_path} (e.g. {', '.join(extra[:5])})")
    g = gold.set_index("id")
    out = test.copy()
    differ = out[out["target"] != out["id"].map(g["target"])]
    if len(differ):
        r = differ.iloc[0]
        raise InputError(f"{gold_path}: ID {r['id']} has target {g.loc[r['id'], 'target']!r} but "
                         f"{test_path}:{r['line']} says {r['target']!r}")
    out["stance"] = out["id"].map(g["stance"])
    return out


def to_toolkit(df: pd.DataFrame, split: str) -> pd.DataFrame:
    """Toolkit columns: quote_id, text, target, label (+ the original id and stance, and the split)."""
    extra = [c for c in df.columns if c not in {"id", "target", "text", "stance", "line"}]
    return pd.DataFrame({
        "quote_id": "semeval2016-" + df["id"].astype(str),
        "id": df["id"].astype(str),
        "target": df["target"],
        "text": df["text"],
        "label": df["stance"].map(LABEL_MAP),
        "stance_original": df["stance"],
        "split": split,
        **{c: df[c] for c in extra},
    })


def convert(train: str, test: str | None, test_gold: str | None, out: str, encoding: str = "auto") -> dict:
    """Write OUT/train.parquet (and test.parquet); return row and label counts."""
    out_dir = Path(out)
    tr = to_toolkit(read_semeval(train, encoding), "train")
    summary = {"train": {"rows": len(tr), **tr["label"].value_counts().to_dict()}}
    write_parquet(out_dir / "train.parquet", tr)
    if test:
        te = read_semeval(test, encoding, require_labels=test_gold is None)
        if test_gold:
            te = join_gold(te, read_semeval(test_gold, encoding), test, test_gold)
        te = to_toolkit(te, "test")
        overlap = sorted(set(tr["id"]) & set(te["id"]))
        if overlap:
            raise InputError(f"{test}: {len(overlap)} ID(s) also in {train} (e.g. {', '.join(overlap[:5])}): "
                             f"train and test must be disjoint")
        write_parquet(out_dir / "test.parquet", te)
        summary["test"] = {"rows": len(te), **te["label"].value_counts().to_dict()}
    elif test_gold:
        raise InputError("--test-gold needs --test (the file whose labels it supplies)")
    return summary


#: Published F_avg (x100) on the official test set, SemEval-2016 Task 6 subtask A (Mohammad et al. 2016).
PUBLISHED = {"majority": 65.22, "svm-ngrams": 68.98, "best team (MITRE)": 67.82}
#: The toolkit models `evaluate` trains (all per target, on the official split).
EVAL_MODELS = ("svm-ngrams", "linear-calibrated", "ensemble")
#: svm-ngrams with one fidelity option flipped from its default (docs/baseline.md), for --ablation.
ABLATIONS = {
    "word tokens ([#@]?\\w+, no punctuation)": ("tokens=word",),
    "case kept": ("lowercase=false",),
    "#SemST kept": ("drop_tag=",),
    "hashtags as words": ("hashtags=word",),
    "tf counts instead of presence": ("weights=tf",),
    "decade C grid 0.001..10": ("c_grid=0.001,0.01,0.1,1,10",),
    "C tuned on macro-F1": ("tune=macro_f1",),
    "libsvm linear kernel (one-vs-one)": ("svm=libsvm",),
}


def _f_avg_row(name: str, m: dict, published: float | None) -> str:
    v, (lo, hi) = m["f_avg"]["value"] * 100, m["f_avg"]["ci95"]
    pub = f"{published:.2f}" if published is not None else "–"
    diff = f"{v - published:+.2f}" if published is not None else "–"
    return f"| {name} | {v:.2f} [{lo * 100:.2f}, {hi * 100:.2f}] | {pub} | {diff} |"


def evaluate(args: argparse.Namespace) -> str:
    """Convert, train the toolkit models per target on the official split, and tabulate F_avg.

    Printed: the pooled F_avg of every model beside the published figures, then the saved
    model's per-target F_avg / macro-F1 with intervals and support (targets under 20 test items
    flagged), then the ablation: the tables docs/baseline.md asks a user with the files to paste.
    """
    from toolkit.stance.report import _per_target_md
    from toolkit.stance.train import TrainOptions, run_training

    out = Path(args.out)
    data = out / "data"
    convert(args.train, args.test, args.test_gold, str(data), args.encoding)
    opts = TrainOptions(models=tuple(args.models.split(",")), per_target=True, n_boot=args.bootstrap,
                        model_params=tuple(args.model_param), learning_curve=False)
    result = run_training(data / "train.parquet", out / "run", opts=opts, test_path=data / "test.parquet")
    rows = ["| model | F_avg ×100 [95% CI] | published | ours − published |", "|---|---:|---:|---:|"]
    for name, m in result["models"].items():
        rows.append(_f_avg_row(name, m, PUBLISHED.get(name)))
    rows.append(f"| best team (MITRE) | – | {PUBLISHED['best team (MITRE)']:.2f} | – |")
    rows += ["", *(part.rstrip("\n") for part in _per_target_md(result))]
    if args.ablation:
        rows += ["", "| svm-ngrams variant | F_avg ×100 [95% CI] | default | variant − default |", "|---|---:|---:|---:|"]
        base = result["models"]["svm-ngrams"]["f_avg"]["value"] * 100 if "svm-ngrams" in result["models"] else None
        for i, (label, params) in enumerate(ABLATIONS.items()):
            o = TrainOptions(models=("svm-ngrams",), per_target=True, n_boot=args.bootstrap, learning_curve=False,
                             model_params=tuple(args.model_param) + params)
            r = run_training(data / "train.parquet", out / f"ablation-{i}", opts=o, test_path=data / "test.parquet")
            rows.append(_f_avg_row(label, r["models"]["svm-ngrams"], base))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("convert", help="convert the tab-separated SemEval files to parquet")
    c.add_argument("--train", required=True, help="trainingdata.txt (or trainingdata-all-annotations.txt)")
    c.add_argument("--test", help="test file: testdata-taskA-all-annotations.txt, or an unlabelled test file")
    c.add_argument("--test-gold", help="gold labels for --test, same format, joined by ID")
    c.add_argument("--out", required=True, help="output folder (keep it out of git)")
    c.add_argument("--encoding", default="auto", help="auto (UTF-8, else Windows-1252), or a codec name")
    e = sub.add_parser("evaluate", help="convert, train per target on the official split, print F_avg beside "
                                        "the published figures")
    e.add_argument("--train", required=True, help="trainingdata.txt (or trainingdata-all-annotations.txt)")
    e.add_argument("--test", required=True, help="testdata-taskA-all-annotations.txt (or unlabelled + --test-gold)")
    e.add_argument("--test-gold", help="gold labels for --test, same format, joined by ID")
    e.add_argument("--out", required=True, help="output folder: data/, run/ (and ablation-N/); keep it out of git")
    e.add_argument("--encoding", default="auto", help="auto (UTF-8, else Windows-1252), or a codec name")
    e.add_argument("--models", default=",".join(EVAL_MODELS), help="comma list of qst train models")
    e.add_argument("--model-param", action="append", default=[], help="KEY=VALUE passed to qst train (repeatable)")
    e.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates for the intervals")
    e.add_argument("--ablation", action="store_true", help="also svm-ngrams with each fidelity option flipped")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "evaluate":
            print(evaluate(args))
            return 0
        summary = convert(args.train, args.test, args.test_gold, args.out, args.encoding)
    except ToolkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for split, counts in summary.items():
        print(f"{split}: {counts}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

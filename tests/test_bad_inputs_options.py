"""Bad options and bad tables, tried through the real `qst` command on real files.

Every numeric option with a valid range refuses a value outside it with one line,
`error: --OPTION: must be ..., got VALUE`, and exit status 2 (Typer's multi-line box is not
shown); `qst train` refuses a table whose quote ids repeat; `qst evaluate-attribution` refuses
predictions with a reversed span or no speaker; `qst build-dataset` leaves quotes without text
out and counts them. Each refusal also leaves every file that existed before unchanged
(docs/GUARANTEES.md, "Options and tables").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from test_guarantees import assert_refused, qst, snapshot

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "annotations" / "articles"
GOLD = ROOT / "annotations" / "gold" / "seeds.jsonl"
HUB = ROOT / "tests" / "fixtures" / "hub"


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def labelled_rows(n: int = 12) -> list[dict]:
    """A small trainable table: two classes, several articles, distinct quote ids."""
    return [{"quote_id": f"q{i}", "article_id": f"a{i % 4}", "text": f"Wir {'begrüßen' if i % 2 else 'lehnen'} "
             f"den Plan {i} ab", "label": "favor" if i % 2 else "against", "speaker": f"S{i % 3}"}
            for i in range(n)]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Path:
    """Real `qst extract` output on the bundled seed articles (predictions for the gold)."""
    out = tmp_path_factory.mktemp("extract") / "quotes"
    proc = qst("extract", SEEDS, "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out / "quotes.jsonl"


@pytest.fixture
def inputs(tmp_path) -> dict[str, Path]:
    """Input files of every command, as copies inside tmp_path (so the snapshot covers them)."""
    data = write_jsonl(tmp_path / "labelled.jsonl", labelled_rows())
    for name in ("quotes.jsonl", "adjudicated.jsonl", "annotations.jsonl"):
        shutil.copyfile(HUB / name, tmp_path / name)
    return {"data": data, "quotes": tmp_path / "quotes.jsonl", "adjudicated": tmp_path / "adjudicated.jsonl",
            "annotations": tmp_path / "annotations.jsonl", "out": tmp_path / "out"}


# ------------------------------------------------------------------------ option ranges

#: (command line with {placeholders}, option, bad value, range text in the message)
OPTION_CASES = [
    ("train {data} --out {out}", "--folds", "0", "must be ≥ 2"),
    ("train {data} --out {out}", "--folds", "1", "must be ≥ 2"),
    ("train {data} --out {out}", "--bootstrap", "0", "must be ≥ 1"),
    ("train {data} --out {out}", "--test-size", "1.5", "must be > 0 and < 1"),
    ("train {data} --out {out}", "--test-size", "0", "must be > 0 and < 1"),
    ("train {data} --out {out}", "--seed", "-1", "must be ≥ 0 and ≤ 4294967295"),
    ("train {data} --out {out}", "--seed", "4294967296", "must be ≥ 0 and ≤ 4294967295"),
    ("train {data} --out {out}", "--cv-below", "-1", "must be ≥ 0"),
    ("run --out {out}", "--bootstrap", "0", "must be ≥ 1"),
    ("run --out {out}", "--seed", "-1", "must be ≥ 0 and ≤ 4294967295"),
    ("build-dataset --quotes {quotes} --adjudicated {adjudicated} --out {out}", "--test-size", "1.5",
     "must be > 0 and < 1"),
    ("build-dataset --quotes {quotes} --adjudicated {adjudicated} --out {out}", "--validation-size", "0",
     "must be > 0 and < 1"),
    ("build-dataset --quotes {quotes} --adjudicated {adjudicated} --out {out}", "--seed", "-5",
     "must be ≥ 0 and ≤ 4294967295"),
    ("agreement {annotations} --out {out}", "--min-annotators", "0", "must be ≥ 1"),
    ("extract-corpus {quotes} --out {out}", "--workers", "0", "must be ≥ 1"),
    ("extract-corpus {quotes} --out {out}", "--part-size", "0", "must be ≥ 1"),
    ("evaluate-attribution {quotes} --out {out}", "--threshold", "0", "must be ≥ 0.01 and ≤ 1"),
    ("evaluate-attribution {quotes} --out {out}", "--threshold", "1.5", "must be ≥ 0.01 and ≤ 1"),
    ("evaluate-attribution {quotes} --out {out}", "--show-errors", "-1", "must be ≥ 0"),
    ("push {quotes} --project p --url http://127.0.0.1:9", "--batch-size", "0", "must be ≥ 1"),
    ("push {quotes} --project p --url http://127.0.0.1:9", "--retries", "-1", "must be ≥ 0"),
    ("pull --project p --out {out} --url http://127.0.0.1:9", "--retries", "-1", "must be ≥ 0"),
]


@pytest.mark.parametrize("line, option, value, rule", OPTION_CASES,
                         ids=[f"{c[0].split()[0]}{c[1]}={c[2]}" for c in OPTION_CASES])
def test_out_of_range_option_is_one_line_naming_it(tmp_path, inputs, line, option, value, rule):
    before = snapshot(tmp_path)
    args = [a.format(**inputs) for a in line.split()] + [option, value]
    proc = qst(*args, cwd=tmp_path)
    assert_refused(proc, f"{option}: {rule}, got {value}")
    assert proc.stderr.strip() == f"error: {option}: {rule}, got {value}", proc.stderr  # no usage lines, no box
    assert snapshot(tmp_path) == before
    assert not inputs["out"].exists()


def test_a_refused_option_keeps_the_previous_output(tmp_path, inputs):
    out = inputs["out"]
    base = ["build-dataset", "--quotes", inputs["quotes"], "--adjudicated", inputs["adjudicated"], "--out", out]
    assert qst(*base).returncode == 0
    before = snapshot(tmp_path)
    proc = qst(*base, "--test-size", "1.5")
    assert_refused(proc, "--test-size", "got 1.5")
    assert snapshot(tmp_path) == before


def test_missing_and_unknown_options_are_one_line_too(tmp_path, inputs):
    proc = qst("train", inputs["data"])
    assert_refused(proc, "--out")
    assert proc.stderr.strip() == "error: --out: required, not given"
    proc = qst("train", inputs["data"], "--out", inputs["out"], "--fold", "3")
    assert_refused(proc, "--fold")
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = qst("train", inputs["data"], "--out", inputs["out"], "--folds", "many")
    assert_refused(proc, "--folds", "'many'")
    assert not inputs["out"].exists()


# ------------------------------------------------------------------------ duplicate quote ids


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_train_refuses_repeated_quote_ids(tmp_path, fmt):
    rows = labelled_rows()
    rows[4] = dict(rows[1])  # row 5 repeats row 2's quote
    data = tmp_path / f"labelled.{fmt}"
    frame = pd.DataFrame(rows)
    {"jsonl": lambda: write_jsonl(data, rows), "csv": lambda: frame.to_csv(data, index=False),
     "parquet": lambda: frame.to_parquet(data)}[fmt]()
    out = tmp_path / "run"
    before = snapshot(tmp_path)
    proc = qst("train", data, "--out", out, "--group-by", "none")
    assert_refused(proc, str(data), "'q1'", "'quote_id'", "rows 2, 5")
    assert snapshot(tmp_path) == before and not out.exists()


def test_train_refuses_repeated_ids_in_a_named_id_column(tmp_path):
    rows = [{**r, "uid": f"u{i % 11}"} for i, r in enumerate(labelled_rows())]  # u0 at rows 1 and 12
    data = write_jsonl(tmp_path / "labelled.jsonl", rows)
    proc = qst("train", data, "--out", tmp_path / "run", "--id-col", "uid")
    assert_refused(proc, str(data), "'u0'", "'uid'", "rows 1, 12")


# ------------------------------------------------------------------------ evaluate-attribution


def _evaluate(pred: Path, report: Path):
    return qst("evaluate-attribution", GOLD, "--articles", SEEDS, "--pred", pred, "--out", report)


@pytest.fixture
def report(tmp_path) -> Path:
    """A pre-existing report file that a refused evaluation must leave as it is."""
    path = tmp_path / "report.json"
    path.write_text('{"earlier": true}\n')
    return path


def test_evaluate_refuses_a_reversed_predicted_span_naming_file_and_line(tmp_path, extracted, report):
    recs = read_jsonl(extracted)
    recs[2]["start"], recs[2]["end"] = recs[2]["end"], recs[2]["start"]
    pred = write_jsonl(tmp_path / "pred.jsonl", recs)
    before = snapshot(tmp_path)
    assert_refused(_evaluate(pred, report), f"{pred}:3:", "reversed span", "end before start")
    assert snapshot(tmp_path) == before


def test_evaluate_refuses_a_reversed_span_in_a_table_naming_the_row(tmp_path, extracted, report):
    frame = pd.DataFrame(read_jsonl(extracted))[["article_id", "start", "end", "speaker", "type", "text"]]
    frame.loc[4, "end"] = frame.loc[4, "start"] - 1
    pred = tmp_path / "pred.parquet"
    frame.to_parquet(pred)
    before = snapshot(tmp_path)
    assert_refused(_evaluate(pred, report), f"{pred}: row 5:", "reversed span")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_evaluate_refuses_predictions_without_a_speaker(tmp_path, extracted, report, fmt):
    recs = [{k: v for k, v in r.items() if k != "speaker"} for r in read_jsonl(extracted)]
    pred = tmp_path / f"pred.{fmt}"
    if fmt == "jsonl":
        write_jsonl(pred, recs)
    else:
        pd.DataFrame(recs)[["article_id", "start", "end", "type", "text"]].to_csv(pred, index=False)
    before = snapshot(tmp_path)
    assert_refused(_evaluate(pred, report), str(pred), "speaker")
    assert snapshot(tmp_path) == before


def test_evaluate_still_scores_good_predictions(tmp_path, extracted):
    proc = _evaluate(extracted, tmp_path / "report.json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "report.json").read_text())["overall"]["n_pred"] > 0


# ------------------------------------------------------------------------ quotes without text


def test_build_dataset_leaves_out_quotes_without_text_and_counts_them(tmp_path, inputs):
    quotes = read_jsonl(inputs["quotes"])
    adjudicated = {r["quote_id"]: r for r in read_jsonl(inputs["adjudicated"])}
    labelled = [q for q in quotes if adjudicated[q["quote_id"]]["label"] in ("favor", "against", "neutral")]
    emptied = {labelled[0]["quote_id"]: None, labelled[1]["quote_id"]: "   "}
    for q in quotes:
        if q["quote_id"] in emptied:
            q["text"] = emptied[q["quote_id"]]
    write_jsonl(inputs["quotes"], quotes)
    before = snapshot(tmp_path)
    out = inputs["out"]
    proc = qst("build-dataset", "--quotes", inputs["quotes"], "--adjudicated", inputs["adjudicated"], "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "no quote text: 2" in " ".join(proc.stdout.split())  # the summary
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "no quote text: 2" in card
    data = pd.concat([pd.read_parquet(p) for p in sorted((out / "data").glob("*.parquet"))])
    assert not set(emptied) & set(data["quote_id"])
    assert data["quote"].map(lambda t: isinstance(t, str) and bool(t.strip())).all()
    assert len(data) == len(labelled) - 2
    assert {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("out/")} == before

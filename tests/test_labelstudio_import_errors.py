"""Label Studio exports that would lose or change data are refused, through the real `qst import`.

Every file is a modified copy of the bundled real export (annotations/labelstudio/seed_round1.json)
or of its CSV / JSON_MIN forms in tests/fixtures/labelstudio/ (made from it by Label Studio's own
converter, label_studio_sdk.converter, see docs/labelstudio.md). Each refusal must exit 2 with one
`error:` line naming the file and the task/field, and leave every file as it was.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_guarantees import assert_refused, qst, snapshot  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXPORT = ROOT / "annotations" / "labelstudio" / "seed_round1.json"
FIX = ROOT / "tests" / "fixtures" / "labelstudio"
CSV_EXPORT = FIX / "seed_round1.csv"
MIN_EXPORT = FIX / "seed_round1_min.json"


def tasks() -> list[dict]:
    return json.loads(EXPORT.read_text(encoding="utf-8"))


def write_json(path: Path, data: list) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def csv_rows() -> tuple[list[str], list[dict]]:
    reader = csv.DictReader(io.StringIO(CSV_EXPORT.read_text(encoding="utf-8"), newline=""))
    return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, fields: list[str], rows: list[dict]) -> Path:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=fields, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    return path


def refused(path: Path, *needles: str, args: tuple = ()) -> None:
    """`qst import` refuses PATH with one line naming it and the needles; nothing is written."""
    before = snapshot(path.parent)
    proc = qst("import", path, *args)
    assert_refused(proc, str(path), *needles)
    assert snapshot(path.parent) == before


def imported(path: Path, *args: str) -> tuple[pd.DataFrame, dict]:
    proc = qst("import", path, *args)
    assert proc.returncode == 0, proc.stderr
    prefix = path.with_suffix("")
    recon = json.loads(prefix.with_name(prefix.name + ".reconciliation.json").read_text())
    return pd.read_parquet(prefix.with_name(prefix.name + ".parquet")), recon


# ------------------------------------------------------------------------------ booleans


@pytest.mark.parametrize("given, want", [("False", False), ("false", False), ("0", False), ("no", False),
                                         ("", False), (None, False), (0, False), ("True", True),
                                         ("YES", True), ("1", True), ("t", True), (1, True)])
def test_boolean_strings_mean_what_they_say(tmp_path, given, want):
    data = tasks()
    data[4]["annotations"][0]["was_cancelled"] = given
    data[4]["annotations"][0]["ground_truth"] = given
    df, recon = imported(write_json(tmp_path / "export.json", data))
    row = df[df["task_id"] == 5].iloc[0]
    assert bool(row["was_cancelled"]) is want and bool(row["is_ground_truth"]) is want
    assert recon["cancelled_rows"] == int(want) and recon["rows_out"] == 97


def test_csv_false_strings_are_false(tmp_path):
    fields, rows = csv_rows()
    for r in rows:
        r["was_cancelled"], r["ground_truth"] = "False", "false"
    df, recon = imported(write_csv(tmp_path / "export.csv", fields + ["was_cancelled", "ground_truth"], rows))
    assert recon["rows_out"] == 97 and recon["cancelled_rows"] == 0
    assert not df["was_cancelled"].any() and not df["is_ground_truth"].any()


def test_unreadable_boolean_is_refused_json(tmp_path):
    data = tasks()
    data[4]["annotations"][0]["was_cancelled"] = "maybe"
    refused(write_json(tmp_path / "export.json", data), "task 5", "was_cancelled", "'maybe'")


def test_unreadable_boolean_is_refused_csv(tmp_path):
    fields, rows = csv_rows()
    for r in rows:
        r["ground_truth"] = "False"
    rows[3]["ground_truth"] = "nope"
    refused(write_csv(tmp_path / "export.csv", fields + ["ground_truth"], rows),
            f"task {rows[3]['id']}", "ground_truth", "'nope'")


# ---------------------------------------------------------------------------- duplicates


def test_task_exported_twice_is_refused(tmp_path):
    data = tasks()
    refused(write_json(tmp_path / "export.json", data + data[2:4]), "task id(s) 3, 4", "re-export")


def test_annotation_twice_in_json_is_refused(tmp_path):
    data = tasks()
    data[7]["annotations"].append(dict(data[7]["annotations"][0]))
    aid = data[7]["annotations"][0]["id"]
    refused(write_json(tmp_path / "export.json", data), f"annotation id(s) {aid}", "tasks 8", "re-export")


def test_csv_rows_concatenated_twice_are_refused(tmp_path):
    fields, rows = csv_rows()
    refused(write_csv(tmp_path / "export.csv", fields, rows + rows[:2]), "annotation id(s)",
            f"tasks {min(int(rows[0]['id']), int(rows[1]['id']))}", "re-export")


def test_json_min_task_twice_is_refused(tmp_path):
    records = json.loads(MIN_EXPORT.read_text(encoding="utf-8"))
    refused(write_json(tmp_path / "export.json", records + records[-1:]),
            f"annotation id(s) {records[-1]['annotation_id']}", "re-export")


# ------------------------------------------------------------------------------- numbers


def test_non_numeric_lead_time_json(tmp_path):
    data = tasks()
    data[9]["annotations"][1]["lead_time"] = "fast"
    refused(write_json(tmp_path / "export.json", data), "task 10", "lead_time", "'fast'")


def test_non_numeric_lead_time_csv(tmp_path):
    fields, rows = csv_rows()
    rows[5]["lead_time"] = "12s"
    refused(write_csv(tmp_path / "export.csv", fields, rows), f"task {rows[5]['id']}", "lead_time", "'12s'")


def test_non_numeric_task_id_json(tmp_path):
    data = tasks()
    data[6]["id"] = "seven"
    refused(write_json(tmp_path / "export.json", data), "task seven", "task id", "'seven'")


def test_non_numeric_task_id_csv(tmp_path):
    fields, rows = csv_rows()
    rows[2]["id"] = "x3"
    refused(write_csv(tmp_path / "export.csv", fields, rows), "record #3", "task id", "'x3'")


# ------------------------------------------------------------------------- lost data


def test_csv_cut_mid_row_is_refused(tmp_path):
    raw = CSV_EXPORT.read_bytes()
    cut = tmp_path / "export.csv"
    cut.write_bytes(raw[: len(raw) // 2])
    refused(cut, "line", "cut short")


def test_csv_row_with_missing_fields_is_refused(tmp_path):
    lines = CSV_EXPORT.read_bytes().decode("utf-8").split("\r\n")
    lines[4] = lines[4].rsplit(",", 3)[0]  # a row that lost its last three fields
    damaged = tmp_path / "export.csv"
    damaged.write_text("\r\n".join(lines), encoding="utf-8", newline="")
    refused(damaged, "line 5", "fields")


def test_csv_without_quote_id_column_is_refused(tmp_path):
    fields, rows = csv_rows()
    for r in rows:
        del r["quote_id"]
    refused(write_csv(tmp_path / "export.csv", [f for f in fields if f != "quote_id"], rows), "quote_id column")


def test_full_json_read_as_json_min_is_refused(tmp_path):
    path = write_json(tmp_path / "export.json", tasks())
    refused(path, "record #1", "full JSON", "--format JSON", args=("--format", "JSON_MIN"))


def test_json_min_read_as_full_json_is_refused(tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes(MIN_EXPORT.read_bytes())
    refused(path, "task #1", "JSON_MIN", args=("--format", "JSON"))


def test_zero_usable_rows_is_refused(tmp_path):
    data = tasks()
    for t in data:
        del t["data"]["quote_id"]
    refused(write_json(tmp_path / "export.json", data), "0 usable rows", "97 annotation", "no_quote_id 97")


def test_empty_export_is_refused(tmp_path):
    refused(write_json(tmp_path / "export.json", []), "no task")


def test_unannotated_project_imports_empty_and_says_so(tmp_path):
    data = tasks()
    for t in data:
        t["annotations"] = []
    data[0]["drafts"] = [{"id": 900, "result": [], "lead_time": 3.0}]  # a draft is not an annotation yet
    path = write_json(tmp_path / "export.json", data)
    proc = qst("import", path)
    assert proc.returncode == 0, proc.stderr
    assert "no annotation yet: none of the 48 task(s)" in proc.stderr
    assert len(pd.read_parquet(tmp_path / "export.parquet")) == 0
    recon = json.loads((tmp_path / "export.reconciliation.json").read_text())
    assert recon["set_aside"] == {"draft": 1} and recon["balanced"]

    # and `qst agreement` on that (real, empty) table is an error, not an empty result
    before = snapshot(tmp_path)
    proc = qst("agreement", tmp_path / "export.parquet", "--out", tmp_path / "agreement")
    assert_refused(proc, str(tmp_path / "export.parquet"), "no rows")
    assert snapshot(tmp_path) == before and not (tmp_path / "agreement").exists()


def test_csv_and_json_min_fixtures_match_the_bundled_export(tmp_path):
    """The converter-made fixtures carry the same labels as the JSON export (so the cases above are fair)."""
    cols = ["quote_id", "task_id", "stance", "speaker_review", "lead_time"]
    key = lambda df: sorted(map(tuple, df[cols].astype(str).values.tolist()))  # noqa: E731
    path = tmp_path / "full.json"
    path.write_bytes(EXPORT.read_bytes())
    full, _ = imported(path)
    for fixture in (CSV_EXPORT, MIN_EXPORT):
        copy = tmp_path / fixture.name
        copy.write_bytes(fixture.read_bytes())
        df, recon = imported(copy)
        assert recon["rows_out"] == 97 and recon["balanced"] and key(df) == key(full), fixture.name

"""qst build-dataset: the folder loads with datasets.load_dataset and holds exactly the adjudicated labels."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from toolkit.dataset import build as hub
from toolkit.errors import InputError, ToolkitError

FIX = Path(__file__).parent / "fixtures" / "hub"
ROOT = Path(__file__).resolve().parents[1]


def _build(tmp_path: Path, name: str = "ds", **kw) -> hub.BuildResult:
    args = dict(annotations_path=FIX / "annotations.jsonl", agreement_path=FIX / "agreement.json",
                guidelines_path=FIX / "guidelines.md", outlet_notes_path=FIX / "outlets.yaml")
    args.update(kw)
    return hub.build(FIX / "quotes.jsonl", FIX / "adjudicated.jsonl", tmp_path / name, **args)


def _load(folder: Path, tmp_path: Path):
    """load_dataset(folder) offline: the folder is local, nothing may be fetched from a hub.

    The variables are read when datasets/huggingface_hub are imported, so the already-imported
    modules' flags are set too; all of it is undone afterwards (other tests share the process).
    """
    import datasets
    import huggingface_hub.constants

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_DATASETS_OFFLINE", "1")
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(datasets.config, "HF_HUB_OFFLINE", True)
        mp.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
        mp.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        return datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hub")
    result = _build(tmp)
    return tmp, result, _load(result.folder, tmp)


def test_folder_layout_and_card_yaml(built):
    tmp, result, _ = built
    folder = result.folder
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        ".qst-output.json", "README.md", "data/test-00000-of-00001.parquet", "data/train-00000-of-00001.parquet",
        "data/validation-00000-of-00001.parquet", "guidelines.md"]
    text = (folder / "README.md").read_text(encoding="utf-8")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["language"] == ["de"] and meta["task_categories"] == ["text-classification"]
    assert meta["task_ids"] == ["multi-class-classification"]
    assert {"stance-detection", "quotations"} <= set(meta["tags"])
    assert meta["size_categories"] == ["n<1K"] and meta["license"] == "cc-by-4.0" and meta["pretty_name"]
    label = next(f for f in meta["dataset_info"]["features"] if f["name"] == "label")
    assert label["dtype"]["class_label"]["names"] == {"0": "favor", "1": "against", "2": "neutral"}
    sizes = {s["name"]: s["num_examples"] for s in meta["dataset_info"]["splits"]}
    assert sizes == result.stats.split_rows and sum(sizes.values()) == 11
    assert meta["configs"][0]["data_files"] == [
        {"split": s, "path": f"data/{s}-00000-of-00001.parquet"} for s in ("train", "validation", "test")]
    # body: split design for few articles, exclusions, agreement figures, outlet note, licensing
    assert "3/1/1" in text and "With only 5 articles" in text
    assert "unclear: 2; unresolved: 2" in text
    assert "| Krippendorff's alpha (nominal) | 0.514 (n=15) |" in text
    assert "Adjudication rule: unanimous > majority > adjudicator" in text
    assert "| mean pairwise Cohen's kappa | 0.524 (3 pairs) |" in text
    assert "accuracy (confirmed / real quotes) 1.000 (n=15)" in text
    assert "@example.org" not in text  # raw annotator ids never reach the card
    assert "pro-Kremlin" in text and "cannot override" in text and "@misc{" in text
    assert "Wladimir Putin | 3" in text and "nan" not in text.split("## People named")[1].split("##")[0]


def test_loaded_dataset_matches_adjudicated_labels(built):
    tmp, result, dsd = built
    assert list(dsd) == ["train", "validation", "test"]
    names = dsd["train"].features["label"].names
    assert names == ["favor", "against", "neutral"]
    adj = {r["quote_id"]: r for r in map(json.loads, (FIX / "adjudicated.jsonl").read_text().splitlines())}
    quotes = {r["quote_id"]: r for r in map(json.loads, (FIX / "quotes.jsonl").read_text().splitlines())}
    seen, article_split = set(), {}
    for split, ds in dsd.items():
        assert ds.features == dsd["train"].features
        for row in ds:
            a, q = adj[row["quote_id"]], quotes[row["quote_id"]]
            assert names[row["label"]] == a["label"]
            assert a["label"] in names and a["resolution"] != "unresolved"
            assert row["quote"] == q["text"] and row["context"] == q["context"] and row["quote_start"] == q["start"]
            assert row["speaker"] == a["speaker_final"]
            assert row["agreement"] == pytest.approx(a["item_agreement"])
            # every annotator's own label is kept, under a pseudonym
            assert sorted(x["label"] or "" for x in row["annotations"]) == sorted(v or "" for v in a["annotator_labels"].values())
            assert all(x["annotator"].startswith("annotator_") and "@" not in x["annotator"] for x in row["annotations"])
            assert article_split.setdefault(row["article_id"], split) == split, "article in two splits"
            seen.add(row["quote_id"])
    expected = {k for k, a in adj.items() if a["label"] in names}
    assert seen == expected and len(seen) == 11
    assert {len(result.stats.split_articles[s]) for s in ("validation", "test")} == {1}
    assert len(result.stats.split_articles["train"]) == 3


def test_split_is_reproducible_and_seeded(tmp_path):
    ids = [f"a{i}" for i in range(40)]
    one, _ = hub.split_articles(ids, seed=7)
    two, _ = hub.split_articles(list(reversed(ids)), seed=7)
    assert one == two
    assert [len(one[s]) for s in hub.SPLITS] == [32, 4, 4]
    assert set(one["train"]).isdisjoint(one["test"]) and set(one["validation"]).isdisjoint(one["test"])
    others = [hub.split_articles(ids, seed=s)[0]["test"] for s in range(5)]
    assert len({tuple(t) for t in others}) > 1


@pytest.mark.parametrize("mode,absent", [("quote", {"context"}), ("ids", {"quote", "context", "speaker_mention"})])
def test_text_modes(tmp_path, mode, absent):
    result = _build(tmp_path, text_mode=mode)
    dsd = _load(result.folder, tmp_path)
    cols = set(dsd["train"].column_names)
    assert not (absent & cols)
    assert {"quote_id", "url", "quote_start", "quote_end", "label"} <= cols
    if mode == "ids":
        quotes = [json.loads(line) for line in (FIX / "quotes.jsonl").read_text().splitlines()]
        blob = b"".join(p.read_bytes() for p in (result.folder / "data").glob("*.parquet"))
        assert not any(q["text"].encode() in blob or q["context"].encode() in blob for q in quotes)
        assert "**ids**" in (result.folder / "README.md").read_text()
    else:
        assert "quote" in cols


def test_card_label_mismatch_is_caught(built, tmp_path):
    _, result, _ = built
    copy = tmp_path / "tampered"
    shutil.copytree(result.folder, copy)
    readme = copy / "README.md"
    text = readme.read_text(encoding="utf-8")
    readme.write_text(text.replace("'0': favor", "'0': TMP").replace("'1': against", "'1': favor")
                      .replace("'0': TMP", "'0': against"), encoding="utf-8")
    with pytest.raises(ToolkitError, match="label names"):
        hub.check_card(copy)
    hub.check_card(result.folder)  # the untouched folder passes


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIX / name).read_text().splitlines()]


def test_annotation_pointing_at_unknown_quote(tmp_path):
    ann = _rows("annotations.jsonl")
    ann[4]["quote_id"] = "q_0000000000000000"
    bad = _write_jsonl(tmp_path / "ann.jsonl", ann)
    with pytest.raises(InputError, match=r"ann.jsonl: row 5 \(task 1001, annotator mo@example.org\): quote_id 'q_0000000000000000' is not in"):
        _build(tmp_path, annotations_path=bad)


def test_adjudicated_row_pointing_at_unknown_quote(tmp_path):
    adj = _rows("adjudicated.jsonl")
    adj[2]["quote_id"] = "q_ffffffffffffffff"
    bad = _write_jsonl(tmp_path / "adj.jsonl", adj)
    with pytest.raises(InputError, match="adj.jsonl: row 3: quote_id 'q_ffffffffffffffff' is not in"):
        hub.build(FIX / "quotes.jsonl", bad, tmp_path / "ds")


def test_quote_without_adjudicated_label(tmp_path):
    adj = _rows("adjudicated.jsonl")
    missing = adj.pop(0)
    bad = _write_jsonl(tmp_path / "adj.jsonl", adj)
    with pytest.raises(InputError, match=f"1 quote\\(s\\) have no adjudicated label.*{missing['quote_id']}.*--skip-unlabelled"):
        hub.build(FIX / "quotes.jsonl", bad, tmp_path / "ds")
    assert not (tmp_path / "ds").exists()
    result = hub.build(FIX / "quotes.jsonl", bad, tmp_path / "ds", skip_unlabelled=True)
    assert result.stats.excluded["no adjudicated label"] == 1 and result.stats.rows_out == 10
    assert "no adjudicated label: 1" in (result.folder / "README.md").read_text()


def test_unknown_stance_value(tmp_path):
    adj = _rows("adjudicated.jsonl")
    adj[1]["label"] = "pro"
    bad = _write_jsonl(tmp_path / "adj.jsonl", adj)
    with pytest.raises(InputError, match=r"row 2 \(q_[0-9a-f]{16}\): label 'pro'"):
        hub.build(FIX / "quotes.jsonl", bad, tmp_path / "ds")


def test_empty_split_is_refused_with_fix(tmp_path):
    quotes = [q for q in _rows("quotes.jsonl") if q["article_id"].startswith(("000", "001"))]
    keep = {q["quote_id"] for q in quotes}
    adj = [a for a in _rows("adjudicated.jsonl") if a["quote_id"] in keep]
    with pytest.raises(ToolkitError, match="only 2 article\\(s\\) with labelled quotes.*at least 3.*Annotate quotes from more articles"):
        hub.build(_write_jsonl(tmp_path / "q.jsonl", quotes), _write_jsonl(tmp_path / "a.jsonl", adj), tmp_path / "ds")


def test_parquet_inputs_and_rebuild_replaces_folder(tmp_path):
    q = pd.DataFrame(_rows("quotes.jsonl"))
    a = pd.DataFrame(_rows("adjudicated.jsonl"))
    a["annotator_labels"] = a["annotator_labels"].map(json.dumps)  # stored as JSON text in parquet
    q.to_parquet(tmp_path / "q.parquet")
    a.to_parquet(tmp_path / "a.parquet")
    out = tmp_path / "ds"
    first = hub.build(tmp_path / "q.parquet", tmp_path / "a.parquet", out, seed=1)
    (out / "data" / "stale-00000-of-00001.parquet").write_bytes(b"x")
    second = hub.build(tmp_path / "q.parquet", tmp_path / "a.parquet", out, seed=1)
    assert not (out / "data" / "stale-00000-of-00001.parquet").exists()
    assert first.stats.split_articles == second.stats.split_articles
    assert not (out / "guidelines.md").exists()
    assert "guidelines were not supplied" in (out / "README.md").read_text()


def test_cli_reports_bad_input_without_traceback(tmp_path):
    adj = _rows("adjudicated.jsonl")[1:]
    bad = _write_jsonl(tmp_path / "adj.jsonl", adj)
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "build-dataset", "--quotes", str(FIX / "quotes.jsonl"),
                           "--adjudicated", str(bad), "--out", str(tmp_path / "ds")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    err = " ".join(proc.stderr.split())  # rich wraps long lines
    assert "error:" in err and "1 quote(s) have no adjudicated label" in err and "--skip-unlabelled" in err
    assert "Traceback" not in err


def test_consumes_the_agreement_stage_output(tmp_path):
    """Contract check with toolkit.agreement: its adjudicated.parquet (JSON-encoded annotator_labels) builds."""
    from toolkit import agreement as ag

    annotations = pd.DataFrame(_rows("annotations.jsonl"))
    adjudicated = ag.adjudicate(ag.validate_annotations(annotations, "annotations"))
    ag.adjudicated_for_parquet(adjudicated).to_parquet(tmp_path / "adjudicated.parquet")
    result = hub.build(FIX / "quotes.jsonl", tmp_path / "adjudicated.parquet", tmp_path / "ds")
    dsd = _load(result.folder, tmp_path)
    gold = dict(zip(adjudicated["quote_id"], adjudicated["label"]))
    names = dsd["train"].features["label"].names
    rows = [r for split in dsd.values() for r in split]
    assert len(rows) == sum(v in names for v in gold.values()) == 11
    assert all(names[r["label"]] == gold[r["quote_id"]] for r in rows)
    assert {r["target"] for r in rows} == {"Waffenlieferungen an Nordkorea"}
    assert all(len(r["annotations"]) == 3 for r in rows)


def test_cli_build_dataset(tmp_path):
    from typer.testing import CliRunner

    from toolkit.cli import app

    result = CliRunner().invoke(app, [
        "build-dataset", "--quotes", str(FIX / "quotes.jsonl"), "--adjudicated", str(FIX / "adjudicated.jsonl"),
        "--annotations", str(FIX / "annotations.jsonl"), "--text-mode", "quote", "--seed", "3",
        "--out", str(tmp_path / "ds")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "11 of 15 quotes in the dataset; left out: unclear: 2, unresolved: 2; text mode quote" in text
    assert "5 articles were split 3/1/1" in text
    hub.check_card(tmp_path / "ds")


def test_refuses_to_overwrite_a_foreign_folder(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not written by qst"):
        _build(tmp_path)
    assert (tmp_path / "ds" / "notes.txt").read_text() == "mine"


def test_a_folder_that_merely_holds_a_readme_is_never_replaced(tmp_path):
    """The data-loss case: a repository or $HOME has a README.md too; it must survive untouched."""
    repo = tmp_path / "ds"
    (repo / ".git").mkdir(parents=True)
    (repo / "README.md").write_text("# my project")
    (repo / "src.py").write_text("print(1)")
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    with pytest.raises(InputError, match="not written by qst"):
        _build(tmp_path)
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before


def test_rebuilding_replaces_our_own_folder(tmp_path):
    first = _build(tmp_path).folder
    (first / "stale.txt").write_text("left from an older build")
    second = _build(tmp_path).folder
    assert second == first and not (second / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

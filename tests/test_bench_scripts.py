"""The benchmark scripts run end to end on a tiny generated corpus and report consistent figures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import bench_extract  # noqa: E402
import bench_scaling  # noqa: E402
import bench_speed  # noqa: E402
import bench_startup  # noqa: E402
import make_corpus  # noqa: E402
import snapshot_records  # noqa: E402


def test_bench_speed_phases_agree_with_direct_extraction(tmp_path, capsys):
    assert bench_speed.main(["--n", "20", "--corpora", "generated", "--phases", "read,somajo,extract",
                             "--out", str(tmp_path)]) == 0
    res = {r["phase"]: r for r in json.loads((tmp_path / "bench_speed.json").read_text())["results"]}
    assert set(res) == {"read", "somajo", "extract"}
    assert all(r["articles"] == 20 and r["seconds"] > 0 and r["peak_rss_mb"] > 0 for r in res.values())
    from toolkit.attribution.extract import extract_article
    from toolkit.ingest import read_articles

    corpus = tmp_path / "corpus-20.jsonl"
    assert res["extract"]["units"] == sum(len(extract_article(a)) for a in read_articles(corpus))
    assert res["somajo"]["units"] > res["read"]["articles"]  # several sentences per article
    out = capsys.readouterr().out
    assert "| extract | 20 |" in out and "SoMaJo splitting is" in out


def test_bench_speed_compares_trees_and_scores_boundaries(tmp_path, capsys):
    """Side by side with itself on a tiny SpkAtt-format file: two rounds per tree, the same output,
    one ratio line, and boundary figures that follow from the gold (SoMaJo ends a sentence at 59 where
    the gold does not: ends P 2/3, R 1; one of three predicted spans exact)."""
    text = "Dr. Müller kam. Er sagte, er komme am 11. September wieder. Ende"
    doc = {"doc_id": "d1", "text": text, "sentences": [[0, 15], [16, 64]], "title": "t", "date": "2023-01-01"}
    spkatt = tmp_path / "train.jsonl"
    spkatt.write_text(json.dumps(doc, ensure_ascii=False) + "\n", encoding="utf-8")
    assert bench_speed.main(["--corpora", "spkatt", "--spkatt", str(spkatt), "--phases", "somajo", "--compare",
                             str(REPO), "--repeat", "2", "--boundaries", "--out", str(tmp_path / "o")]) == 0
    rep = json.loads((tmp_path / "o" / "bench_speed.json").read_text())
    assert [(r["corpus"], r["phase"], r["round"]) for r in rep["results"]] == [("spkatt", "somajo", 0)] * 2 + [
        ("spkatt", "somajo", 1)] * 2
    assert len({r["digest"] for r in rep["results"]}) == 1 and all(r["units"] == 3 for r in rep["results"])
    b = rep["boundaries"][0]
    assert (b["gold"], b["predicted"], b["tp"], b["fp"], b["fn"], b["exact"]) == (2, 3, 2, 1, 0, 1)
    out = capsys.readouterr().out
    assert out.count("| yes |") == 2 and "best of 2" in out and "| 0.6667 | 1.0000 | 0.8000 | 0.4000 |" in out


def test_bench_extract_one_and_two_processes_identical(tmp_path, capsys):
    corpus = tmp_path / "c.parquet"
    make_corpus.write_parquet(corpus, make_corpus.articles(16, seed=5), row_group=8)
    bench_extract.main(["--corpus", str(corpus), "--configs", "single,local2", "--part-size", "4",
                        "--out", str(tmp_path / "b"), "--no-freeze"])
    rep = json.loads((tmp_path / "b" / "bench.json").read_text())
    assert rep["identical_output"] is True
    assert [r["articles"] for r in rep["results"]] == [16, 16]
    assert len(rep["results"][1]["worker_peak_mb"]) == 2
    assert "scaling efficiency" in capsys.readouterr().out


def test_bench_scaling_prints_the_table_with_doubling_ratios(capsys):
    """Tiny sizes: one row per input, the per-doubling column filled from the second row of each
    series on (the values are timings and not checked), every dense pair extracted as one quote."""
    assert bench_scaling.main(["--sizes", "1,2", "--pairs", "12,24", "--pairs-per-paragraph", "5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "| input | size | chars | quotes | CPU s | peak RSS MB | CPU × per doubling |"
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    assert [(r[0], r[1]) for r in rows] == [("article", "1x"), ("article", "2x"), ("dense", "12 pairs"),
                                            ("dense", "24 pairs")]
    assert [r[3] for r in rows[2:]] == ["12", "24"]
    assert 0 < int(rows[0][3]) < int(rows[1][3])
    assert int(rows[1][2].replace(",", "")) > int(rows[0][2].replace(",", ""))
    assert rows[0][6] == rows[2][6] == "–"
    assert all(float(r[4]) >= 0 and float(r[5]) > 0 and float(r[6]) > 0 for r in (rows[1], rows[3]))


def test_bench_startup_times_both_commands_in_both_trees(tmp_path, capsys):
    assert bench_startup.main(["--runs", "1", "--compare", str(REPO)]) == 0
    rows = {line.split("|")[0].strip(): line.split("|") for line in capsys.readouterr().out.splitlines()
            if line.startswith("qst ")}
    assert set(rows) == {"qst --help", "qst extract (1 article)"}
    for cells in rows.values():
        a_cpu, b_cpu, ratio = float(cells[1].split()[0]), float(cells[3].split()[0]), float(cells[5])
        # the ratio (2 decimals) is of the unrounded times; recomputed from the printed 3-decimal ones
        # it can differ by its own rounding plus what rounding each time by 0.0005 does to a quotient
        # (a large share when a cached help takes 0.04 s)
        slack = 0.005 + 0.0005 * (1 / (b_cpu - 0.0005) + (a_cpu + 0.0005) / (b_cpu - 0.0005) ** 2) + 1e-9
        assert a_cpu > 0 and b_cpu > 0 and abs(ratio - a_cpu / b_cpu) <= slack
    # a tree where the command fails is an error naming it, not a figure
    try:
        bench_startup.main(["--runs", "1", "--tree", str(tmp_path)])
    except SystemExit as exc:
        assert str(tmp_path) in str(exc) and "exit 2" in str(exc) and "no such file" in str(exc)
    else:
        raise AssertionError("a failing tree was timed")


def test_snapshot_records_matches_extraction_and_check_finds_a_changed_record(tmp_path, capsys):
    from toolkit.attribution.extract import extract_article
    from toolkit.ingest import read_articles

    assert snapshot_records.main([str(tmp_path / "a"), "--corpora", "seeds,generated", "--n", "15"]) == 0
    seeds = (tmp_path / "a" / "seeds.jsonl").read_text(encoding="utf-8").splitlines()
    expected = [r for a in read_articles(REPO / "annotations" / "articles") for r in extract_article(a)]
    assert [json.loads(line) for line in seeds] == expected and len(seeds) > 40
    assert snapshot_records.main([str(tmp_path / "b"), "--corpora", "seeds,generated", "--n", "15",
                                  "--check", str(tmp_path / "a")]) == 0
    assert "seeds: identical to" in capsys.readouterr().out
    lines = seeds[:]
    lines[7] = lines[7].replace('"', "'", 1)
    (tmp_path / "a" / "seeds.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert snapshot_records.main([str(tmp_path / "c"), "--corpora", "seeds", "--check", str(tmp_path / "a")]) == 1
    assert "seeds.jsonl:8 differs" in capsys.readouterr().out

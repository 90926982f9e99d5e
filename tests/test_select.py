"""`qst select` (active learning): the strategies, the CLI, a real Label Studio push, the simulation script."""

from __future__ import annotations

import doctest
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ls_server import LSServer, ls_server  # noqa: E402,F401
from test_baseline import synth  # noqa: E402

from toolkit.cli import stance as cli_stance  # noqa: E402
from toolkit.labelstudio import tasks as lst  # noqa: E402
from toolkit.stance import select as S  # noqa: E402
from toolkit.stance.train import TrainOptions, run_training  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ENV_1THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


# ------------------------------------------------------------------------------- strategies

def test_module_examples_hold():
    assert doctest.testmod(S, raise_on_error=False).failed == 0
    assert cli_stance.STRATEGIES == S.STRATEGIES


def test_uncertainty_and_margin_rank_differently():
    scores = np.array([[0.34, 0.33, 0.33],   # unsure among all three
                       [0.50, 0.49, 0.01],   # torn between two
                       [0.98, 0.01, 0.01]])
    assert S.select(scores, 1, "uncertainty").indices.tolist() == [0]
    assert S.select(scores, 1, "margin").indices.tolist() == [1]
    assert S.select(scores, 3, "uncertainty").indices.tolist()[-1] == 2


def test_selection_is_seeded_and_ties_depend_on_the_seed():
    scores = np.full((50, 3), 1 / 3)  # all tied
    a, b = S.select(scores, 10, "uncertainty", seed=3), S.select(scores, 10, "uncertainty", seed=3)
    assert a.indices.tolist() == b.indices.tolist()
    assert S.select(scores, 10, "uncertainty", seed=4).indices.tolist() != a.indices.tolist()
    r1, r2 = S.select(scores, 10, "random", seed=1), S.select(scores, 10, "random", seed=1)
    assert r1.indices.tolist() == r2.indices.tolist() and len(set(r1.indices)) == 10


def test_one_article_does_not_fill_the_batch():
    rng = np.random.default_rng(0)
    scores = rng.dirichlet([5, 1, 1], size=100)
    scores[:30] = [0.34, 0.33, 0.33]  # the 30 most uncertain quotes all come from article "a0"
    groups = np.array(["a0"] * 30 + [f"a{1 + i % 20}" for i in range(70)])
    unguarded = S.select(scores, 20, "uncertainty")
    assert set(unguarded.indices) <= set(range(30))  # without articles, one article takes the batch
    sel = S.select(scores, 20, "uncertainty", groups=groups)
    assert sel.max_per_group == 4 and sel.groups["a0"] == 4 and sel.over_cap == 0
    assert max(sel.groups.values()) <= 4 and len(sel.indices) == 20
    assert S.select(scores, 20, "margin", groups=groups, max_per_group=2).groups["a0"] == 2
    # too few articles to fill the batch under the cap: filled up, and said so
    few = S.select(scores[:30], 10, "uncertainty", groups=groups[:30], max_per_group=2)
    assert len(few.indices) == 10 and few.over_cap == 8


def test_diverse_skips_near_duplicates():
    texts = ["Das ist ein schwerer Fehler der Regierung"] * 8 + [f"Aussage Nummer {i} über Thema {i * 7}"
                                                                 for i in range(40)]
    from toolkit.stance.features import text_features

    vectors = text_features().fit_transform(texts)
    scores = np.vstack([np.full((8, 3), 1 / 3), np.tile([0.5, 0.3, 0.2], (40, 1))])
    unc = S.select(scores, 6, "uncertainty")
    div = S.select(scores, 6, "diverse", vectors=vectors)
    assert set(unc.indices) <= set(range(8))  # least confidence takes the duplicates
    assert sum(i < 8 for i in div.indices) == 1 and div.indices[0] < 8  # diverse takes one of them, first


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown strategy"):
        S.select(np.ones((3, 2)) / 2, 1, "entropy")
    with pytest.raises(ValueError, match="needs a vector"):
        S.select(np.ones((3, 2)) / 2, 1, "diverse")
    with pytest.raises(ValueError, match="class scores"):
        S.select(None, 1, "margin")


# ------------------------------------------------------------------------------- qst select end to end

def _hexify(df: pd.DataFrame, offset: int = 0) -> pd.DataFrame:
    """Quote ids of the form Label Studio tasks need (q_ + 16 hex digits)."""
    return df.assign(quote_id=[f"q_{offset + i:016x}" for i in range(len(df))])


@pytest.fixture(scope="module")
def model_and_pool(tmp_path_factory):
    d = tmp_path_factory.mktemp("select")
    train = _hexify(synth(n_articles=20, per=6, seed=11))
    train.to_parquet(d / "labelled.parquet")
    run_training(d / "labelled.parquet", d / "run", opts=TrainOptions(models=("tfidf-logreg",), n_boot=50,
                                                                         learning_curve=False))
    pool = _hexify(synth(n_articles=15, per=8, seed=12), offset=10_000).drop(columns=["label"])
    pool.to_json(d / "pool.jsonl", orient="records", lines=True, force_ascii=False)
    return d, pool


def _qst(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "toolkit.cli", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**(env or os.environ), **ENV_1THREAD})


def test_select_cli_writes_pre_annotated_tasks_with_their_strategy(model_and_pool):
    d, pool = model_and_pool
    out = {}
    for strategy in S.STRATEGIES:
        out[strategy] = d / f"next_{strategy}.json"
        proc = _qst("select", "--model", d / "run", "--quotes", d / "pool.jsonl", "--n", 24, "--strategy", strategy,
                    "--out", out[strategy], "--seed", 5)
        assert proc.returncode == 0, proc.stderr
        assert f"24 of 120 quotes selected by {strategy}" in proc.stderr.replace("\n", " ")
    tasks = json.loads(out["uncertainty"].read_text())
    assert len(tasks) == 24 and len({t["data"]["quote_id"] for t in tasks}) == 24
    assert {t["data"]["quote_id"] for t in tasks} <= set(pool["quote_id"])
    meta = [t["meta"]["qst_select"] for t in tasks]
    assert [m["rank"] for m in meta] == list(range(1, 25)) and {m["strategy"] for m in meta} == {"uncertainty"}
    prio = [m["priority"] for m in meta]
    assert prio == sorted(prio, reverse=True)  # best first
    per_article = pd.Series([t["data"]["article_id"] for t in tasks]).value_counts()
    assert per_article.max() <= 5  # the guard: a fifth of the batch
    full = [lst.complete_task(t, "x") for t in tasks]
    lst.validate_tasks(full)  # what `qst push` will check
    for t in tasks:
        (p,) = t["predictions"]
        assert p["result"][0]["value"]["choices"][0] in {"favor", "against", "neutral"} and 0 < p["score"] <= 1
        assert p["model_version"].startswith("qst-tfidf-logreg-")
    # uncertainty picks less confident predictions than random does
    rnd = json.loads(out["random"].read_text())
    mean = lambda ts: np.mean([t["predictions"][0]["score"] for t in ts])  # noqa: E731
    assert mean(tasks) < mean(rnd)
    assert {t["meta"]["qst_select"]["strategy"] for t in rnd} == {"random"}


def test_select_is_deterministic_and_excludes_labelled_quotes(model_and_pool):
    d, pool = model_and_pool
    again = d / "again.json"
    proc = _qst("select", "--model", d / "run", "--quotes", d / "pool.jsonl", "--n", 24, "--strategy", "uncertainty",
                "--out", again, "--seed", 5)
    assert proc.returncode == 0, proc.stderr
    assert again.read_bytes() == (d / "next_uncertainty.json").read_bytes()
    first = json.loads(again.read_text())
    proc = _qst("select", "--model", d / "run", "--quotes", d / "pool.jsonl", "--n", 24, "--out", d / "round2.json",
                "--exclude", again)
    assert proc.returncode == 0, proc.stderr
    second = json.loads((d / "round2.json").read_text())
    assert not {t["data"]["quote_id"] for t in first} & {t["data"]["quote_id"] for t in second}
    assert second[0]["meta"]["qst_select"]["pool"] == 96


def test_select_bad_input_is_one_line(model_and_pool):
    d, _ = model_and_pool
    before = sorted(p.name for p in d.iterdir())
    proc = _qst("select", "--model", d / "run", "--quotes", d / "pool.jsonl", "--strategy", "entropy",
                "--out", d / "x.json")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert re.search(r"error: --strategy 'entropy': choose uncertainty, margin, diverse, random", proc.stderr)
    proc = _qst("select", "--model", d / "run", "--quotes", d / "pool.jsonl", "--out", d / "x.json",
                "--exclude", d / "pool.jsonl")
    assert proc.returncode == 2 and "no quotes left to select from after excluding 120" in proc.stderr
    assert sorted(p.name for p in d.iterdir()) == before  # nothing written


@pytest.mark.labelstudio
def test_selected_batch_pushes_with_predictions_and_strategy(model_and_pool, ls_server: LSServer):  # noqa: F811
    from toolkit.stance.predict import run_select

    d, _ = model_and_pool
    run_select(d / "run", d / "pool.jsonl", d / "ls_batch.json", 24, strategy="diverse", seed=5)
    tasks = json.loads((d / "ls_batch.json").read_text())
    project = "Select check"
    proc = _qst("push", d / "ls_batch.json", "--project", project, env=ls_server.env())
    assert proc.returncode == 0, proc.stderr
    assert "24 added" in proc.stderr.replace("\n", " ")
    ls = ls_server.client()
    proj = next(p for p in ls.projects.list(title=project) if p.title == project)
    # The one prediction Label Studio holds is the quote's read-only highlight (the project's
    # model_version); the model's stance rides in the task data as the suggestion, not pre-selected,
    # so that the annotator's hotkey selects it instead of toggling it off (docs/labelstudio.md).
    assert ls.projects.get(proj.id).model_version == lst.CONTEXT_MODEL_VERSION
    on_server = {t.data["quote_id"]: t for t in ls.tasks.list(project=proj.id, fields="all")}
    assert set(on_server) == {t["data"]["quote_id"] for t in tasks}
    for t in tasks:
        remote = on_server[t["data"]["quote_id"]]
        pred = t["predictions"][0]
        assert remote.data["suggestion_stance"] == pred["result"][0]["value"]["choices"][0]
        assert remote.data["suggestion_model_version"] == pred["model_version"]
        assert remote.data["suggestion_score"] == pytest.approx(pred["score"])
        preds = list(ls.predictions.list(task=remote.id))
        assert [p.model_version for p in preds] == [lst.CONTEXT_MODEL_VERSION]
        assert remote.meta["qst_select"] == t["meta"]["qst_select"]  # which strategy chose it, on the server


def _stream_next(server: LSServer, project_id: int) -> dict:
    """The task the label stream (Label All Tasks) gives this user next: GET /api/projects/{id}/next."""
    import httpx

    r = httpx.get(f"{server.url}/api/projects/{project_id}/next", headers={"Authorization": f"Token {server.token}"},
                  timeout=60)
    assert r.status_code == 200, r.text[:300]
    return r.json()


@pytest.mark.labelstudio
@pytest.mark.browser
def test_label_stream_starts_with_the_top_pick_and_shows_its_suggestion(model_and_pool,
                                                                         ls_server: LSServer):  # noqa: F811
    """An annotator pressing Label All Tasks gets the model's rank-1 pick first, sees the model's
    suggestion (label, model version, score) on it, and finds no stance pre-selected."""
    d, _ = model_and_pool
    tasks = json.loads((d / "ls_batch.json").read_text())
    ls = ls_server.client()
    proj = next(p for p in ls.projects.list(title="Select check") if p.title == "Select check")
    first = next(t for t in tasks if t["meta"]["qst_select"]["rank"] == 1)
    nxt = _stream_next(ls_server, proj.id)  # the queue, as the label stream asks it
    assert nxt["data"]["quote_id"] == first["data"]["quote_id"] and nxt["meta"]["qst_select"]["rank"] == 1
    pred = first["predictions"][0]
    assert nxt["data"]["suggestion_stance"] == pred["result"][0]["value"]["choices"][0]
    shown = nxt["data"]["suggestion"]
    assert pred["model_version"] in shown and f"score {pred['score']:.2f}" in shown
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium missing: run `bash scripts/install-browser.sh`", pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 1200})
        page.set_default_timeout(60_000)
        # the Label Studio frontend reports to an outside Sentry host: nothing leaves 127.0.0.1
        page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
        page.goto(f"{ls_server.url}/user/login/")
        page.fill("input[name=email]", ls_server.username)
        page.fill("input[name=password]", ls_server.password)
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_url(lambda u: "/user/login" not in u)
        # the stream asks the queue through the data manager's next_task action
        with page.expect_response(lambda r: "/api/dm/actions?id=next_task" in r.url, timeout=120_000) as streamed:
            page.goto(f"{ls_server.url}/projects/{proj.id}/data?labeling=1")  # Label All Tasks
        assert streamed.value.json()["data"]["quote_id"] == first["data"]["quote_id"]
        region = page.locator(".htx-highlight")  # the quote, highlighted in its context
        expect(region.first).to_be_visible(timeout=120_000)
        marked = " ".join(region.evaluate_all("els => els.map(e => e.textContent)"))
        assert marked.split() == first["data"]["text"].split()
        expect(page.get_by_text(shown).first).to_be_visible(timeout=60_000)
        for stance in ("favor", "against", "neutral"):
            expect(page.get_by_role("radio", name=re.compile(f"^{stance}")).first).not_to_be_checked()
        browser.close()


# ------------------------------------------------------------------------------- the simulation script

def test_simulation_prints_and_plots_its_curves(tmp_path):
    import os

    out = tmp_path / "sim"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "simulate_selection.py"), "--synthetic", "320",
                           "--out", str(out), "--start", "20", "--batch", "20", "--budget", "100", "--repeats", "3"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, **ENV_1THREAD})
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"random\s+100\s+0\.\d+", proc.stdout) and re.search(r"uncertainty\s+100\s+0\.\d+", proc.stdout)
    assert "saving: {" in proc.stdout
    summary = json.loads((out / "simulation.json").read_text())
    budgets = {(c["strategy"], c["labels"]) for c in summary["curves"]}
    assert budgets == {(s, n) for s in ("random", "uncertainty") for n in (20, 40, 60, 80, 100)}
    assert all(c["lo"] <= c["mean"] <= c["hi"] and c["count"] == 3 for c in summary["curves"])
    assert {"target_macro_f1", "labels_random", "labels_uncertainty", "saved_labels_ci95"} <= set(summary["saving"])
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "report.html").read_text()
    assert page.index("<h1>") < page.index("<table>") < page.index("<img")
    assert (out / "curves.csv").read_text().startswith("strategy,labels,mean")


def test_simulation_is_deterministic():
    import importlib.util

    spec = importlib.util.spec_from_file_location("simulate_selection", ROOT / "scripts" / "simulate_selection.py")
    sim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sim)
    from toolkit.stance.data import Columns, prepare

    frame = prepare(sim.synthetic_table(160, seed=2), Columns(), "synthetic").frame
    a, _ = sim.simulate(frame, ["random", "uncertainty"], 20, 20, 60, 1, 0.25, 7, "tfidf-logreg")
    b, _ = sim.simulate(frame, ["random", "uncertainty"], 20, 20, 60, 1, 0.25, 7, "tfidf-logreg")
    pd.testing.assert_frame_equal(a, b)
    assert sim.labels_to_reach(np.array([10, 20, 30.]), np.array([.5, .6, .8]), .7) == pytest.approx(25)
    assert np.isnan(sim.labels_to_reach(np.array([10, 20.]), np.array([.5, .6]), .9))


def test_simulation_on_spkatt_sentences_keeps_their_articles(tmp_path):
    """--spkatt: bench_train's table (real sentences, cue-word labels) with each sentence's article,
    so the held-out test set is whole articles; the benchmark's own table stays without them."""
    import importlib.util
    import os

    spec = importlib.util.spec_from_file_location("bench_train", ROOT / "scripts" / "bench_train.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    plain, _ = bench.make_table(120, seed=3)
    grouped, _ = bench.make_table(120, seed=3, with_article=True)
    assert "article_id" not in plain and grouped.drop(columns="article_id").equals(plain)
    out = tmp_path / "sim"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "simulate_selection.py"), "--spkatt", "240",
                           "--out", str(out), "--start", "20", "--batch", "20", "--budget", "60", "--repeats", "2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, **ENV_1THREAD})
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "simulation.json").read_text())
    assert summary["n_quotes"] == 240 and summary["n_articles"] == _articles_in(bench, 240)
    assert "cue-word labels" in summary["data"] and re.search(r"uncertainty\s+60\s+0\.\d+", proc.stdout)


def _articles_in(bench: object, n: int) -> int:
    """Distinct articles in bench_train's table of `n` rows (seed 0, as the script draws it)."""
    return int(bench.make_table(n, seed=0, with_article=True)[0]["article_id"].nunique())

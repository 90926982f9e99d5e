"""The training report reads top-down: title, banner, summary table, figures beside what they explain.

Checked twice: in the HTML text (order of elements, per-target table) and in Debian's headless
chromium at 1280 px (the title is above the first figure; the page does not scroll sideways).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_baseline import synth  # noqa: E402

from toolkit.stance.train import TrainOptions, run_training  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
SHOT = Path("/tmp/qst_report_layout.png")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A per-target run folder named `reports` (the generic name the old title showed) with one small target
    and very long quote text (what used to push the page sideways)."""
    d = tmp_path_factory.mktemp("layout")
    df = synth(n_articles=24, per=6, seed=5)
    df.loc[df.article_id.isin(["a000", "a003"]), "target"] = "Kleinziel"
    df.loc[df.label != df.label.shift(), "text"] += " " + "Donaudampfschifffahrtsgesellschaftskapitän" * 6
    df.to_parquet(d / "labelled.parquet")
    result = run_training(d / "labelled.parquet", d / "reports",
                          opts=TrainOptions(models=("tfidf-logreg",), per_target=True, n_boot=200))
    return d / "reports", result


def test_html_order_title_banner_summary_then_figures(report):
    folder, result = report
    page = (folder / "report.html").read_text()
    title = "Stance baseline report: tfidf-logreg on labelled.parquet (144 quotes)"
    assert f"<title>{title}</title>" in page and f"<h1>{title}</h1>" in page
    assert "Stance baseline report: reports" not in page
    h1, summary, table, img = (page.index(s) for s in ("<h1>", "<h2>Summary</h2>", "<table>", "<img"))
    assert h1 < summary < table < img
    # each figure follows the section it explains
    for heading, figure in (("<h2>Summary</h2>", 'alt="per-class F1'),
                            ("<h2>Data</h2>", 'alt="label distribution"'),
                            ("<h2>Saved model", 'alt="confusion matrix'),
                            ("<h2>Learning curve", 'alt="learning curve"')):
        assert page.index(heading) < page.index(figure), heading
    assert page.index('alt="label distribution"') < page.index("<h2>Split design</h2>")
    assert page.count("data:image/png;base64,") == 4
    # the "numbers are uncertain" banner comes right under the title, before the summary
    import json

    from toolkit.stance.report import render_html

    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["uncertain"] = ["only 12 evaluated quotes (< 30)"]
    warned = render_html(metrics, {})
    assert warned.index("</h1>") < warned.index('<div class="warn">') < warned.index("<h2>Summary</h2>")
    assert warned.count("Numbers are uncertain") == 1


def test_per_target_scores_have_intervals_support_and_flags(report):
    folder, result = report
    rows = {r["target"]: r for r in result["per_target"]}
    assert set(rows) == {"Mietendeckel", "Windkraft", "Tempolimit", "Kleinziel"}
    small = rows["Kleinziel"]
    assert small["n"] == 12 and small["small"] is True and sum(small["support"].values()) == 12
    assert all(not r["small"] for t, r in rows.items() if t != "Kleinziel")
    for r in rows.values():
        lo, hi = r["f_avg_ci95"]
        assert lo <= r["f_avg"] <= hi and r["macro_f1_ci95"][0] <= r["macro_f1"] <= r["macro_f1_ci95"][1]
    assert sum(r["n"] for r in rows.values()) == result["models"]["tfidf-logreg"]["n"]
    md = (folder / "report.md").read_text()
    pooled = result["models"]["tfidf-logreg"]["f_avg"]
    assert f"| pooled (all targets) | 144 |" in md and f"{pooled['value']:.3f} [{pooled['ci95'][0]:.3f}" in md
    assert "| Kleinziel | 12 |" in md and "< 20 test items" in md and "Flagged: Kleinziel" in md


@pytest.mark.browser
def test_report_in_headless_chromium_at_1280px(report):
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium missing: run `bash scripts/install-browser.sh`", pytrace=False)
    from playwright.sync_api import sync_playwright

    folder, _ = report
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto((folder / "report.html").as_uri())
        page.wait_for_load_state("load")
        h1 = page.locator("h1").bounding_box()
        first_img = page.locator("img").first.bounding_box()
        sizes = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth,"
                              " document.body.scrollWidth]")
        widest = page.evaluate("Math.max(...[...document.querySelectorAll('body *')].map(e => "
                               "e.getBoundingClientRect().right))")
        page.screenshot(path=str(SHOT), full_page=True)
        browser.close()
    assert h1["y"] + h1["height"] <= first_img["y"], (h1, first_img)
    assert sizes[0] <= sizes[1] == 1280 and sizes[2] <= 1280, sizes
    assert widest <= 1280, widest
    assert SHOT.stat().st_size > 20_000

"""A person's view: Debian's chromium (headless, via playwright) on the real Label Studio server.

Logs in, opens a task, checks that speaker, context (with the quote highlighted in it by the
read-only pre-annotated region, and the sentence before and after), suggestion, target and the
stance choices render (and that HTML in article text is shown as text, not markup), labels a
pre-annotated task with hotkeys alone (the suggested stance's own key, then Ctrl+Enter), and
reads the annotation back through the API. The screenshot goes to the test's tmp dir.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ls_server import LSServer, ls_server  # noqa: E402,F401

from toolkit.labelstudio import tasks as lst  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "labelstudio"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.mark.labelstudio
@pytest.mark.browser
def test_label_a_task_in_the_browser(ls_server: LSServer, tmp_path: Path) -> None:  # noqa: F811
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium missing: run `bash scripts/install-browser.sh`", pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    project = "Browser check"
    env = ls_server.env()
    shot = tmp_path / "labelstudio_task.png"
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "push", FIX / "quotes.jsonl", "--project", project,
                           "--rule", "lexicon", "--articles", ROOT / "annotations" / "articles"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    ls = ls_server.client()
    proj = next(p for p in ls.projects.list(title=project) if p.title == project)
    # a task whose article text carries markup: it must show as literal text
    quote = json.loads((FIX / "quotes.jsonl").read_text(encoding="utf-8").splitlines()[1])
    quote.update(quote_id="q_00000000000000ff", text='Er sagte <b id="inj">fett</b> und <i>kursiv</i>.',
                 context='Kontext mit <script>window.__pwned=1</script> Markup. Er sagte <b id="inj">fett</b> und <i>kursiv</i>.')
    ls.projects.import_tasks(proj.id, request=lst.quotes_to_tasks(__import__("pandas").DataFrame([quote])))
    tasks = {t.data["quote_id"]: t for t in ls.tasks.list(project=proj.id, fields="all")}
    first = json.loads((FIX / "quotes.jsonl").read_text(encoding="utf-8").splitlines()[1])
    task = tasks[first["quote_id"]]
    inj = tasks["q_00000000000000ff"]

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1400}, locale="de-DE")
        page.set_default_timeout(60_000)
        page.goto(f"{ls_server.url}/user/login/")
        page.fill("input[name=email]", ls_server.username)
        page.fill("input[name=password]", ls_server.password)
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_url(lambda u: "/user/login" not in u)

        # the markup task first: text visible literally, no element or script from the data
        page.goto(f"{ls_server.url}/projects/{proj.id}/data?task={inj.id}")
        expect(page.get_by_text('<b id="inj">fett</b>', exact=False).first).to_be_visible()
        assert page.locator("#inj").count() == 0
        assert page.evaluate("window.__pwned") is None

        page.goto(f"{ls_server.url}/projects/{proj.id}/data?task={task.id}")
        expect(page.get_by_text(first["speaker"], exact=False).first).to_be_visible()
        expect(page.get_by_text("militärische Zusammenarbeit zwischen Russland und Nordkorea").first).to_be_visible()
        # the quote is highlighted inside its context: one region, exactly the quote, marked, read-only
        region = page.locator(".htx-highlight")
        expect(region.first).to_be_visible()
        assert region.count() >= 1
        shown = " ".join(region.evaluate_all("els => els.map(e => e.textContent)")).split()
        assert " ".join(shown) == " ".join(first["text"].split())
        color = region.first.evaluate("e => getComputedStyle(e).backgroundColor")
        assert color not in ("", "rgba(0, 0, 0, 0)", "transparent"), color
        # ... in a context that holds the sentence before and after the quote's own
        context = task.data["context"]
        assert len(context) > len(first["context"]) and first["context"] in context
        before = context[:context.index(first["context"])].strip()
        expect(page.get_by_text(before[-40:], exact=False).first).to_be_visible()
        # the rule's suggestion is shown, not pre-selected
        suggested = task.data["suggestion_stance"]
        expect(page.get_by_text(task.data["suggestion"]).first).to_be_visible()
        # each choice shows with its hotkey, e.g. "favor[1]"
        keys = {"favor": "1", "against": "2", "neutral": "3", "unclear": "4"}
        for label, key in (*keys.items(), ("confirmed", "c"), ("corrected", "k"), ("not_a_quote", "n")):
            expect(page.get_by_text(re.compile(rf"^{label}\s*\[?{key}\]?$")).first).to_be_visible()
        radio = page.get_by_role("radio", name=re.compile(f"^{suggested}"))
        expect(radio.first).not_to_be_checked()
        page.wait_for_timeout(500)
        page.get_by_text("Sprecher (speaker)").first.click()  # focus the labeling area, not an input
        page.keyboard.press(keys[suggested])  # the suggested label's own hotkey selects it (it used to un-select)
        page.keyboard.press("c")  # hotkey: speaker confirmed
        expect(radio.first).to_be_checked()
        expect(page.get_by_role("radio", name=re.compile("^confirmed")).first).to_be_checked()
        page.screenshot(path=str(shot), full_page=True)
        page.keyboard.press("Control+Enter")  # submit by hotkey too: no mouse
        page.wait_for_timeout(2000)
        browser.close()

    anns = list(ls.annotations.list(id=task.id))
    assert len(anns) == 1 and not anns[0].was_cancelled
    fields = {r["from_name"]: r["value"].get("choices") for r in anns[0].result}
    assert fields == {"stance": [suggested], "speaker_review": ["confirmed"], "quote_span": None}
    (span,) = [r for r in anns[0].result if r["from_name"] == "quote_span"]
    assert span["value"]["labels"] == ["Zitat"]
    assert context[span["value"]["start"]:span["value"]["end"]] == first["text"]
    assert shot.stat().st_size > 10_000

"""A person's view: Debian's chromium (headless, via playwright) on the real Label Studio server.

Logs in, opens a task, checks that quote, speaker, context, target and the stance choices
render (and that HTML in article text is shown as text, not markup), labels with a hotkey,
submits, and reads the label back through the API. A screenshot goes to /tmp for a look.
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
SHOT = Path("/tmp/qst_labelstudio_task.png")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.mark.labelstudio
@pytest.mark.browser
def test_label_a_task_in_the_browser(ls_server: LSServer) -> None:  # noqa: F811
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium missing: run `bash scripts/install-browser.sh`", pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    project = "Browser check"
    env = ls_server.env()
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "push", FIX / "quotes.jsonl", "--project", project,
                           "--rule", "lexicon"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    ls = ls_server.client()
    proj = next(p for p in ls.projects.list(title=project) if p.title == project)
    # a task whose article text carries markup: it must show as literal text
    quote = json.loads((FIX / "quotes.jsonl").read_text(encoding="utf-8").splitlines()[1])
    quote.update(quote_id="q_00000000000000ff", text='Er sagte <b id="inj">fett</b> und <i>kursiv</i>.',
                 context='Kontext mit <script>window.__pwned=1</script> Markup.')
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
        expect(page.get_by_text(first["text"][:40], exact=False).first).to_be_visible()
        expect(page.get_by_text(first["speaker"], exact=False).first).to_be_visible()
        expect(page.get_by_text("militärische Zusammenarbeit zwischen Russland und Nordkorea").first).to_be_visible()
        # each choice shows with its hotkey, e.g. "favor[1]"; the rule's pre-annotation is pre-selected
        for label, key in (("favor", "1"), ("against", "2"), ("neutral", "3"), ("unclear", "4"),
                           ("confirmed", "c"), ("corrected", "k"), ("not_a_quote", "n")):
            expect(page.get_by_text(re.compile(rf"^{label}\s*\[?{key}\]?$")).first).to_be_visible()
        page.wait_for_timeout(500)
        page.get_by_text("Kontext (context)").first.click()  # focus the labeling area, not an input
        page.keyboard.press("2")  # hotkey: against
        page.keyboard.press("c")  # hotkey: speaker confirmed
        expect(page.get_by_role("radio", name=re.compile("^against")).first).to_be_checked()
        expect(page.get_by_role("radio", name=re.compile("^confirmed")).first).to_be_checked()
        page.screenshot(path=str(SHOT), full_page=True)
        page.get_by_role("button", name="Submit").click()
        page.wait_for_timeout(1500)
        browser.close()

    anns = list(ls.annotations.list(id=task.id))
    assert len(anns) == 1
    fields = {r["from_name"]: r["value"]["choices"] for r in anns[0].result}
    assert fields == {"stance": ["against"], "speaker_review": ["confirmed"]}
    assert SHOT.stat().st_size > 10_000

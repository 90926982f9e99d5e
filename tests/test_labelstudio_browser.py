"""A person's view: Debian's chromium (headless, via playwright) on the real Label Studio server.

Logs in, opens the data manager, opens tasks from its list as a person would, checks that
speaker, context (with the quote highlighted in it by the read-only pre-annotated region, and
the sentence before and after), suggestion, target and the stance choices render (and that
HTML in article text is shown as text, not markup), labels a pre-annotated task with hotkeys
alone (the suggested stance's own key, then Ctrl+Enter), and reads the annotation back through
the API. The screenshot goes to the test's tmp dir (and one of the page at a failure).

Every wait is on a state (an API answer, a rendered element), never a fixed sleep: the page is
opened only once the server lists every task with its highlight, and tasks are opened from the
loaded list. Why not the `?task=` deep link: it loads the task and the list concurrently, and
when the list replaces the task Label Studio 1.23 destroys a highlight region it has not drawn
yet (HighlightMixin.removeHighlight on null spans: a TypeError in the console), which can leave
the data manager showing "Import data to get your project started" on a full project.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ls_server import LSServer, ls_server  # noqa: E402,F401

from toolkit.labelstudio import tasks as lst  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "labelstudio"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
INJ_ID = "q_00000000000000ff"


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 90.0) -> Any:
    """Poll `probe` until it returns something truthy (the server's state, not a sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}", pytrace=False)
        time.sleep(0.5)


def project_with_tasks(ls_server: LSServer) -> tuple[Any, Any, dict, Any, Any]:  # noqa: F811
    """The pushed project plus a markup task, once the API lists all 9 tasks with their highlight."""
    project = "Browser check"
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "push", FIX / "quotes.jsonl", "--project", project,
                           "--rule", "lexicon", "--articles", ROOT / "annotations" / "articles"],
                          cwd=ROOT, env=ls_server.env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    ls = ls_server.client()
    proj = next(p for p in ls.projects.list(title=project) if p.title == project)
    # a task whose article text carries markup: it must show as literal text
    quote = json.loads((FIX / "quotes.jsonl").read_text(encoding="utf-8").splitlines()[1])
    quote.update(quote_id=INJ_ID, text='Er sagte <b id="inj">fett</b> und <i>kursiv</i>.',
                 context='Kontext mit <script>window.__pwned=1</script> Markup. Er sagte <b id="inj">fett</b> und <i>kursiv</i>.')
    ls.projects.import_tasks(proj.id, request=lst.quotes_to_tasks(__import__("pandas").DataFrame([quote])))

    def listed() -> dict | None:
        got = {t.data["quote_id"]: t for t in ls.tasks.list(project=proj.id, fields="all")}
        ready = len(got) == 9 and all(len(t.predictions or []) == 1 for t in got.values())
        return got if ready and ls.projects.get(proj.id).task_number == 9 else None

    tasks = wait_for("the project to list 9 tasks, each with its highlight prediction", listed)
    first = json.loads((FIX / "quotes.jsonl").read_text(encoding="utf-8").splitlines()[1])
    return ls, proj, first, tasks[first["quote_id"]], tasks[INJ_ID]


def open_from_list(page: Any, url: str, task: Any, words: str) -> None:
    """Click the task's row in the data manager's list and wait for the server to hand it over."""
    row = page.get_by_test_id("table-row").filter(has_text=words).first
    with page.expect_response(lambda r: re.search(rf"/api/tasks/{task.id}\?", r.url) is not None and r.ok):
        row.click()


def login_and_open_list(page: Any, ls_server: LSServer, proj: Any) -> None:  # noqa: F811
    page.goto(f"{ls_server.url}/user/login/")
    page.fill("input[name=email]", ls_server.username)
    page.fill("input[name=password]", ls_server.password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(lambda u: "/user/login" not in u)
    with page.expect_response(lambda r: "/api/tasks?" in r.url and f"project={proj.id}" in r.url) as listing:
        page.goto(f"{ls_server.url}/projects/{proj.id}/data")
    assert listing.value.ok and listing.value.json()["total"] == 9, listing.value.text()[:300]


def check_markup_task(page: Any, url: str, inj: Any) -> None:
    """The markup task: text visible literally, no element or script from the data."""
    open_from_list(page, url, inj, "Er sagte <b")
    from playwright.sync_api import expect
    expect(page.get_by_text('<b id="inj">fett</b>', exact=False).first).to_be_visible()
    assert page.locator("#inj").count() == 0
    assert page.evaluate("window.__pwned") is None


def check_highlight(page: Any, task: Any, first: dict) -> None:
    """The quote is highlighted inside its context: exactly the quote, marked, with the sentence around it."""
    from playwright.sync_api import expect
    region = page.locator(".htx-highlight")
    expect(region.first).to_be_visible()
    shown = " ".join(region.evaluate_all("els => els.map(e => e.textContent)")).split()
    assert " ".join(shown) == " ".join(first["text"].split())
    color = region.first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert color not in ("", "rgba(0, 0, 0, 0)", "transparent"), color
    context = task.data["context"]
    assert len(context) > len(first["context"]) and first["context"] in context
    before = context[:context.index(first["context"])].strip()
    expect(page.get_by_text(before[-40:], exact=False).first).to_be_visible()


def label_by_hotkeys(page: Any, task: Any, first: dict, shot: Path) -> str:
    """Select the suggested stance and 'confirmed' by their hotkeys, submit by Ctrl+Enter."""
    from playwright.sync_api import expect
    expect(page.get_by_text(first["speaker"], exact=False).first).to_be_visible()
    expect(page.get_by_text("militärische Zusammenarbeit zwischen Russland und Nordkorea").first).to_be_visible()
    check_highlight(page, task, first)
    suggested = task.data["suggestion_stance"]
    expect(page.get_by_text(task.data["suggestion"]).first).to_be_visible()  # shown, not pre-selected
    keys = {"favor": "1", "against": "2", "neutral": "3", "unclear": "4"}
    for label, key in (*keys.items(), ("confirmed", "c"), ("corrected", "k"), ("not_a_quote", "n")):
        expect(page.get_by_text(re.compile(rf"^{label}\s*\[?{key}\]?$")).first).to_be_visible()  # e.g. "favor[1]"
    radio = page.get_by_role("radio", name=re.compile(f"^{suggested}"))
    expect(radio.first).not_to_be_checked()
    page.get_by_text("Sprecher (speaker)").first.click()  # focus the labeling area, not an input
    page.keyboard.press(keys[suggested])  # the suggested label's own hotkey selects it (it used to un-select)
    page.keyboard.press("c")  # hotkey: speaker confirmed
    expect(radio.first).to_be_checked()
    expect(page.get_by_role("radio", name=re.compile("^confirmed")).first).to_be_checked()
    page.screenshot(path=str(shot), full_page=True)
    page.keyboard.press("Control+Enter")  # submit by hotkey too: no mouse
    return suggested


@pytest.mark.labelstudio
@pytest.mark.browser
def test_label_a_task_in_the_browser(ls_server: LSServer, tmp_path: Path) -> None:  # noqa: F811
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium missing: run `bash scripts/install-browser.sh`", pytrace=False)
    from playwright.sync_api import sync_playwright

    ls, proj, first, task, inj = project_with_tasks(ls_server)
    shot, errors = tmp_path / "labelstudio_task.png", []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1400}, locale="de-DE")
        page.set_default_timeout(60_000)
        page.on("pageerror", lambda e: errors.append(str(e)))
        outside: list[str] = []  # test traffic stays on 127.0.0.1: anything else is stopped and counted
        page.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]|data:|blob:)"),
                   lambda route: (outside.append(route.request.url), route.abort()))
        try:
            login_and_open_list(page, ls_server, proj)
            check_markup_task(page, ls_server.url, inj)
            open_from_list(page, ls_server.url, task, " ".join(first["text"].split()[:4]))
            suggested = label_by_hotkeys(page, task, first, shot)
            anns = wait_for("the submitted annotation", lambda: list(ls.annotations.list(id=task.id)))
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            print(f"failure screenshot: {tmp_path / 'failure.png'}; page errors: {errors}")
            raise
        finally:
            browser.close()

    assert len(anns) == 1 and not anns[0].was_cancelled
    fields = {r["from_name"]: r["value"].get("choices") for r in anns[0].result}
    assert fields == {"stance": [suggested], "speaker_review": ["confirmed"], "quote_span": None}
    (span,) = [r for r in anns[0].result if r["from_name"] == "quote_span"]
    assert span["value"]["labels"] == ["Zitat"]
    assert task.data["context"][span["value"]["start"]:span["value"]["end"]] == first["text"]
    assert shot.stat().st_size > 10_000
    assert errors == [], errors  # no uncaught script error on the way
    assert outside == [], outside  # e.g. Label Studio's default Sentry DSN, off in scripts/labelstudio.sh

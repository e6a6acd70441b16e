"""The chat app as its users meet it (slow): `python app.py` started in a subprocess on loopback over
the default corpus, driven through its API with gradio_client and in Debian's Chromium with
Playwright. Every request the page makes to an address off this machine is refused and fails the test."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import urlopen

import pytest

from tests.conftest import MODELS, ROOT, SHARED, copy_index, free_port

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DEV_SET = SHARED / "un-dev-set"
ROBUSTNESS = SHARED / "pdf-robustness"
ARTIFACTS = Path(os.environ.get("PARACITE_ARTIFACTS", "")) if os.environ.get("PARACITE_ARTIFACTS") else None
QUESTION = "How many Member States contributed to the report?"


@contextlib.contextmanager
def _app(home: Path, **env: str) -> Iterator[str]:
    """`python app.py` on a free loopback port over `home`'s index, until the block ends; its URL once
    the page is served (at once: the index is built in the background)."""
    port = free_port()
    full = {
        **os.environ,
        "HOME": str(home),
        **MODELS,
        "RAG_INDEX": str(home / "index"),
        "RAG_APP_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        **env,
    }
    log = home / f"app-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=full, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urlopen(url, timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log.read_text()[-3000:]) from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def server(tmp_path_factory, corpus_index):
    """The app over a copy of the default corpus's index (its uploads and removals change the copy)."""
    home = tmp_path_factory.mktemp("app")
    copy_index(corpus_index, home / "index")
    with _app(home, RAG_LLM="extractive") as url:
        yield url, home


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def _ready(url: str) -> None:
    """Wait until the library has been indexed (the API says so in its one-line error until then)."""
    client = _client(url)
    deadline = time.monotonic() + 1100
    while True:
        try:
            client.predict("warm up", api_name="/ask")
            return
        except Exception as exc:  # noqa: BLE001 - the app's NotReady reaches the client as an error
            if time.monotonic() > deadline:
                raise AssertionError(f"the library never became ready: {exc}") from None
            time.sleep(2)


@pytest.fixture(scope="module")
def ready(server):
    _ready(server[0])
    return server


def test_first_start_shows_indexing_progress_in_the_page(browser, tmp_path):
    """A new user's first start: no index yet, so the app indexes the default corpus in the background
    and the page says how far it has come. The app is stopped before it ends."""
    with _app(tmp_path, RAG_LLM="extractive") as url:
        page = browser.new_page()
        try:
            page.goto(url)
            page.wait_for_selector("#question textarea")
            page.wait_for_function("document.querySelector('#status').innerText.includes('%')", timeout=30_000)
            status = page.locator("#status").inner_text()
            assert re.search(r"Preparing the library — indexing the default corpus: \w+.* \(\d+%\)", status)
        finally:
            page.close()


def test_api_chat_and_ask_match_the_cli(ready):
    url, home = ready
    client = _client(url)
    markdown = client.predict(QUESTION, api_name="/chat")
    assert "50 Member States" in markdown and "[^1]: S/2020/754, para. 3." in markdown
    assert "S/2020/754, Report of the Secretary-General" in markdown or "- S/2020/754" in markdown
    asked = client.predict(QUESTION, "extractive", 5, [], api_name="/ask")
    env = {**os.environ, "RAG_INDEX": str(home / "index"), "HOME": str(home), **MODELS}
    cli = subprocess.run(
        [sys.executable, "-m", "rag", "ask", QUESTION, "--jsonl"], capture_output=True, text=True, env=env, timeout=300
    )
    assert cli.returncode == 0, cli.stderr
    expected = json.loads(cli.stdout)
    assert set(asked) == set(expected)
    for key in ("answer", "citations", "refused", "see_also", "sentences", "retrieved"):
        assert asked[key] == expected[key], key


def test_api_ask_within_chosen_documents_and_bad_input(ready):
    client = _client(ready[0])
    scoped = client.predict("What does the resolution demand?", "extractive", 3, ["S/RES/2768 (2025)"], api_name="/ask")
    assert {c["doc"] for c in scoped["retrieved"]} == {"S/RES/2768 (2025)"}
    with pytest.raises(Exception, match="(?i)no document 'S/1999/1' in the index"):
        client.predict("anything", "extractive", 3, ["S/1999/1"], api_name="/ask")


def test_login_is_required_when_configured(ready):
    from gradio_client import Client

    with _app(ready[1], RAG_APP_AUTH="ana:s3cret") as url:  # a second server over the same index
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises its own error types
            Client(url, verbose=False).predict(QUESTION, api_name="/chat")
        with pytest.raises(Exception):  # noqa: B017
            Client(url, auth=("ana", "wrong"), verbose=False)
        client = Client(url, auth=("ana", "s3cret"), verbose=False)
        deadline = time.monotonic() + 120
        while True:
            try:
                answer = client.predict(QUESTION, api_name="/chat")
                break
            except Exception:  # noqa: BLE001 - the library is still opening
                assert time.monotonic() < deadline
                time.sleep(1)
        assert "[^1]: S/2020/754, para. 3." in answer


@pytest.fixture(scope="module")
def browser(server):
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, ready):
    """A fresh page whose requests off this machine are refused and recorded (and fail the test)."""
    url = ready[0]
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    outside: list[str] = []
    dialogs: list[str] = []

    def route(r):
        host = urlparse(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.wait_for_selector("#question textarea")
    page.wait_for_function("document.querySelector('#status').innerText.trim() === ''")  # library listed
    yield page
    context.close()
    assert not outside, f"requests off this machine: {outside[:5]}"
    assert not dialogs, f"a document ran script: {dialogs}"


def _ask(page, question: str) -> None:
    """Ask in the page and wait until the answer to this question has arrived (streaming ended)."""
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(
        """(q) => { const all = [...document.querySelectorAll('#chat [data-testid="user"], #chat [data-testid="bot"]')];
                    if (all.length < 2) return false;
                    const bot = all[all.length - 1], user = all[all.length - 2];
                    return bot.dataset.testid === 'bot' && user.innerText.trim() === q
                        && !bot.querySelector('.waiting') && bot.innerText.trim().length > 0; }""",
        arg=question,
        timeout=60_000,
    )


def _last_answer(page):
    return page.locator("#chat [data-testid='bot']").last


def _shot(page, name: str) -> None:
    if ARTIFACTS is not None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / name), animations="disabled", full_page=True)


def test_ask_click_a_chip_and_see_the_whole_paragraph(page, ready):
    client = _client(ready[0])
    expected = client.predict(QUESTION, "extractive", 5, [], api_name="/ask")
    _ask(page, QUESTION)
    answer = _last_answer(page)
    assert "50 Member States" in answer.inner_text()
    chip = answer.locator("a.cite").first
    assert chip.inner_text() == "S/2020/754, para. 3"
    chip.click()
    panel = page.locator("#evidence")
    panel.locator("blockquote").wait_for()
    shown = panel.locator("blockquote").inner_text()
    assert " ".join(shown.split()) == " ".join(expected["citations"][0]["text"].split())  # the whole exact text
    assert "50 Member States" in panel.locator("mark").first.inner_text()
    assert "Page " in panel.inner_text() and "S/2020/754, para. 3" in panel.inner_text()
    page.get_by_role("button", name="Copy quote with citation").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("“") and copied.endswith("(S/2020/754, para. 3).")
    page.get_by_role("button", name="Neighbouring paragraphs").click()
    page.locator("#neighbours blockquote").first.wait_for()
    assert "S/2020/754, para. 2" in page.locator("#neighbours").inner_text()
    _shot(page, "app-answer-with-evidence.png")


def test_refusal_says_so_and_lists_the_closest(page):
    _ask(page, "What do the reports say about Liechtenstein's banking secrecy laws?")
    text = _last_answer(page).inner_text()
    assert "The documents do not mention Liechtenstein" in text
    assert _last_answer(page).locator("a.cite").count() >= 1


def test_reload_brings_back_the_conversation_with_working_chips(page):
    _ask(page, "What does resolution 2768 demand of the Houthis?")
    page.reload()
    page.wait_for_selector("#question textarea")
    page.wait_for_function("document.querySelectorAll('#chat a.cite').length > 0", timeout=30_000)
    chip = page.locator("#chat a.cite").last
    label = chip.inner_text()
    chip.click()
    page.locator("#evidence blockquote").wait_for()
    assert label in page.locator("#evidence").inner_text()


def test_export_has_footnotes_and_references(page):
    _ask(page, QUESTION)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download conversation (.md)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert f"**Q:** {QUESTION}" in text and "[^1]: S/2020/754, para. 3." in text and "**References**" in text


def _upload(page, files: list[Path], password: str = "", *, shows_progress: bool = False) -> str:
    page.get_by_role("tab", name="Library").click()
    page.locator("#upload input[type=file]").set_input_files([str(f) for f in files])
    if password:
        page.get_by_label("Password (encrypted PDFs only)").fill(password)
    page.locator("#add").click()
    seen = set()  # the stages shown while the files are read, parsed and embedded
    for _ in range(600):
        shown = page.locator("#outcome").inner_text()
        if "✅" in shown or "❌" in shown:
            break
        seen.add(shown)
        page.wait_for_timeout(200)
    # the stage is shown as it goes, e.g. "x.pdf (1 of 2): embed - 40%"
    assert not shows_progress or any(re.search(r"\(\d+ of \d+\): \w+", s) for s in seen), seen
    return page.locator("#outcome").inner_text()


@pytest.mark.skipif(not DEV_SET.is_dir(), reason=f"the UN development set {DEV_SET} is not on this machine")
def test_upload_a_new_document_and_ask_about_it(page):
    outcome = _upload(page, [DEV_SET / "S_RES_2778 (2025).en.pdf"], shows_progress=True)
    assert "numbered paragraph" in outcome, outcome
    symbol = outcome.split(":")[0].strip("✅ -\n")
    page.get_by_role("tab", name="Chat").click()
    assert symbol in page.locator("#scope").inner_text()
    _ask(page, "Until when does the Council decide to extend the mandate?")
    chips = [c.inner_text() for c in _last_answer(page).locator("a.cite").all()]
    assert chips and any(symbol in c for c in chips), chips


@pytest.mark.skipif(not ROBUSTNESS.is_dir(), reason=f"the awkward-PDF folder {ROBUSTNESS} is not on this machine")
def test_bad_pdfs_give_their_reason_in_the_page(page):
    encrypted = sorted((ROBUSTNESS / "encrypted").glob("*.pdf"))[0]
    scanned = next((ROBUSTNESS / "scanned").glob("1991*"))
    outcome = _upload(page, [encrypted, scanned])
    assert "encrypted" in outcome and "password" in outcome, outcome
    assert "no text layer" in outcome or "scanned" in outcome, outcome
    assert str(ROBUSTNESS) not in outcome


def test_document_html_is_shown_as_text_and_runs_nothing(page, tmp_path):
    hostile = tmp_path / "hostile.txt"
    hostile.write_text(
        "United Nations S/2099/66\nSecurity Council\nDistr.: General\n1 May 2099\n\nI. Introduction\n\n"
        "1. The zebra sanctions committee met <script>alert('x')</script> and "
        '<img src="http://example.com/pixel.png" onerror="alert(\'img\')"> and ![tracker](http://example.com/t.png) '
        "and [a link](http://example.com) to review zebra sanctions.\n\n"
        # (¶2 once also spoke of zebra sanctions: a near tie with ¶1 that bfloat16 embeddings tipped to ¶2)
        "2. The report was adopted without a vote.\n"
    )
    assert "S/2099/66" in _upload(page, [hostile])
    page.get_by_role("tab", name="Chat").click()
    _ask(page, "What did the zebra sanctions committee do when it met?")
    chip = _last_answer(page).locator("a.cite").first
    chip.click()
    panel = page.locator("#evidence blockquote")
    panel.wait_for()
    assert "<script>alert('x')</script>" in panel.inner_text()
    assert page.locator("#evidence img, #chat img[src*='example.com'], #evidence script").count() == 0
    _shot(page, "app-hostile-document.png")

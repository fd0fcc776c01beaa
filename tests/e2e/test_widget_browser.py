"""The demo partner site and its chat widget in a real browser: Debian's chromium, driven by
Playwright (never a downloaded browser). Screenshots go to results/screenshots/."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from bot.config import REPO_ROOT
from tests.e2e.conftest import SITE_ORIGIN
from tests.e2e.widget_client import resolve_open_escalations

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("BOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = REPO_ROOT / "results" / "screenshots"
CHAT = "deep-chat"  # Playwright's CSS locators pierce deep-chat's open shadow root


@pytest.fixture(scope="module")
def browser(stack):
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"no chromium at {CHROMIUM}: scripts/setup.sh installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser, request):
    context = browser.new_context(viewport={"width": 900, "height": 860}, accept_downloads=True)
    opened = context.new_page()
    opened.dialogs = []
    opened.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
    opened.errors = []
    opened.on("pageerror", lambda error: opened.errors.append(str(error)))
    opened.console = []
    opened.on("console", lambda message: opened.console.append(f"{message.type}: {message.text[:300]}"))
    yield opened
    shot(opened, f"end-{request.node.name}")  # what the page showed last, also when the test failed
    print("browser console:", *opened.console, "page errors:", *opened.errors, sep="\n  ")  # shown on failure
    context.close()


def sign_in(page, username: str) -> None:
    page.goto(f"{SITE_ORIGIN}/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"{username}-demo")
    page.click("#sign-in")
    page.wait_for_url(f"{SITE_ORIGIN}/chat")


def ask(page, text: str) -> None:
    page.locator("deep-chat[data-ready=true]").wait_for(timeout=30_000)  # connected, history shown
    box = page.locator(f"{CHAT} #text-input")
    box.click()
    box.fill(text)
    box.press("Enter")


def bot_says(page, pattern: str, timeout: float = 60_000):
    """The last bot message matching `pattern` (a regex), once it is shown."""
    found = page.locator(f"{CHAT} .bhd-reply", has_text=re.compile(pattern)).last
    found.wait_for(timeout=timeout)
    return found


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_contoso_signs_in_asks_the_balance_clicks_a_quick_reply_and_reloads(page):
    sign_in(page, "contoso")
    ask(page, "what is my balance?")
    assert "CNY 9,615.50" in bot_says(page, r"CNY 9,615\.50").inner_text()
    shot(page, "01-contoso-balance")

    ask(page, "show me my latest invoice")
    summary = bot_says(page, r"latest invoice is G000100002")
    summary.locator(".bhd-quick-reply", has_text="See the line items").click()
    lines = bot_says(page, r"Bandwidth")
    assert "CNY 2,000.00" in lines.inner_text()
    assert page.locator(f"{CHAT} .bhd-reply").count() >= 3
    shot(page, "02-contoso-quick-reply")

    page.reload()
    bot_says(page, r"CNY 9,615\.50")  # the history is shown again
    bot_says(page, r"Bandwidth")
    assert page.locator(f"{CHAT}", has_text="See the line items").count() >= 1
    shot(page, "03-contoso-after-reload")
    assert page.errors == []


def test_markup_and_javascript_links_render_as_text(page):
    sign_in(page, "northwind")
    attack = "<img src=x onerror=alert(1)> [click me](javascript:alert(2)) <a href=\"javascript:alert(3)\">x</a>"
    ask(page, attack)
    bot_says(page, r".")  # the assistant answered
    page.wait_for_timeout(1000)
    chat = page.locator(CHAT)
    assert chat.locator("img[src=x]").count() == 0
    assert chat.locator("a[href^='javascript' i]").count() == 0
    typed = chat.locator(".user-message").last.inner_text()
    assert "<img src=x onerror=alert(1)>" in typed and '<a href="javascript:alert(3)">x</a>' in typed
    assert page.dialogs == []
    shot(page, "04-markup-as-text")


def test_the_invoice_pdf_downloads_for_its_owner(page, tmp_path):
    sign_in(page, "contoso")
    ask(page, "show me invoice G000100001")
    summary = bot_says(page, r"Invoice G000100001")
    link = summary.locator("a.bhd-download")
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "invoice.pdf"
    download.value.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 2000
    shot(page, "05-pdf-offered")


def test_the_chinese_page_and_an_anonymous_visitor(page):
    page.goto(f"{SITE_ORIGIN}/chat")
    page.click("#language")
    page.wait_for_url(f"{SITE_ORIGIN}/chat")
    assert "您尚未登录" in page.locator("main").inner_text()  # the page, and the widget's own strings
    page.locator("deep-chat[data-ready=true]").wait_for(timeout=30_000)
    assert "询问您的账单" in page.locator(CHAT).evaluate("chat => chat.shadowRoot.innerHTML")  # placeholder
    ask(page, "what is my balance?")
    reply = bot_says(page, r"登录")  # the assistant answers in the page's language: sign in first
    assert "CNY" not in reply.inner_text()
    shot(page, "06-chinese-anonymous")


def test_news_of_a_dispute_appears_in_the_open_widget_unasked(stack, page):
    import requests

    vianet = stack.env["VIANET_API_URL"]
    complaint = "we never ordered this reserved instance, said in the browser"
    resolve_open_escalations(stack, "C-1004")
    sign_in(page, "tailspin")
    ask(page, "I want to dispute a charge")
    bot_says(page, r"Which invoice")
    ask(page, "G000400001")
    bot_says(page, r"Which charge on G000400001").locator(
        ".bhd-quick-reply", has_text="Reserved instance purchase").click()
    bot_says(page, r"What's wrong with it\?")
    ask(page, complaint)
    bot_says(page, r"Shall I file it\?").locator(".bhd-quick-reply").first.click()
    reference = re.search(r"ESC-\w+", bot_says(page, r"Your reference is ESC-").inner_text()).group(0)

    deadline = 90
    while deadline:
        requests_seen = requests.get(f"{vianet}/_admin/stats", timeout=5).json()["requests"]
        mine = [r for r in requests_seen if complaint in r["Description"]]
        if mine:
            break
        page.wait_for_timeout(1000)
        deadline -= 1
    assert mine, "the escalation never reached the local 21Vianet API"
    requests.post(f"{vianet}/_admin/servicerequests/{mine[0]['Id']}/status",
                  json={"status": "closed", "note": "Reversed in the browser test."}, timeout=5).raise_for_status()
    news = bot_says(page, r"Reversed in the browser test")  # nothing typed: pushed into the open page
    assert reference in news.inner_text()
    shot(page, "07-live-news")

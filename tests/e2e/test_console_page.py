"""The agent console's page in a real browser (Debian's chromium, driven by Playwright) against
the real stack: sign in, the live queue, the transcript and summary, claim, reply, the customer's
answer shown live, invoices, 中文, hand back. Screenshots go to results/screenshots/."""
from __future__ import annotations

import re

import pytest
import requests

from bot.identity import issue_token
from tests.e2e.test_console_api import agent_says, ask_for_a_person, eventually, text_of, tracker
from tests.e2e.test_widget_browser import SCREENSHOTS, browser  # noqa: F401  (a fixture: Debian's chromium)

pytestmark = pytest.mark.e2e


@pytest.fixture()
def agent_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    page.screenshot(path=str(SCREENSHOTS / "console-end.png"), full_page=True)
    context.close()


def test_an_agent_works_a_conversation_in_the_console_page(stack, chat, agent_page):
    page = agent_page
    token = issue_token("C-1001")
    assert "G000100001" in text_of(chat("show me invoice G000100001", token=token))

    page.goto(stack.console_url)
    page.get_by_test_id("login").fill("ana")
    page.get_by_test_id("password").fill("wrong")
    page.get_by_test_id("sign-in").click()
    page.get_by_test_id("sign-in-error").get_by_text("don't match").wait_for()
    page.get_by_test_id("password").fill("ana-demo")
    page.get_by_test_id("sign-in").click()
    page.get_by_test_id("agent-name").get_by_text("Ana Agent").wait_for()
    page.get_by_test_id("live-status").get_by_text("Live").wait_for()

    handoff_id = ask_for_a_person(stack, chat.sender)  # the queue is live: no reload
    item = page.locator(f'[data-testid=queue-item][data-handoff-id="{handoff_id}"]')
    item.wait_for(timeout=15_000)
    assert "Contoso Ltd" in item.inner_text() and "Asked for a person" in item.inner_text()
    assert re.search(r"\d+:\d\d of 2:00", item.get_by_test_id("timer").inner_text())
    item.click()
    transcript = page.get_by_test_id("transcript")
    transcript.get_by_text("show me invoice G000100001").wait_for()
    assert "An invoice" in page.get_by_test_id("summary").inner_text()
    assert "G000100001" in page.get_by_test_id("summary").inner_text()
    assert page.get_by_test_id("reply-text").is_disabled()

    page.get_by_test_id("claim").click()
    page.get_by_test_id("conversation-status").get_by_text("With you").wait_for()
    page.get_by_test_id("reply-text").fill("Hi, Ana here. I'm looking at G000100001 now.")
    page.get_by_test_id("send").click()
    eventually(lambda: agent_says(stack, chat.sender, "Hi, Ana here. I'm looking at G000100001 now."),
               "the reply is in the customer's conversation")
    page.locator("[data-testid=turn-agent]", has_text="Ana Agent").wait_for(timeout=15_000)
    assert tracker(stack, chat.sender)["paused"] is True

    chat("thanks. what have I paid so far?", token=token)  # the console shows it without a reload
    transcript.get_by_text("thanks. what have I paid so far?").wait_for(timeout=15_000)

    page.get_by_test_id("look-up-invoices").click()
    page.locator("[data-testid=invoice-row][data-number=G000100002]").get_by_text("Unpaid").wait_for()
    page.get_by_test_id("lang-zh").click()
    page.get_by_test_id("conversation-status").get_by_text("由您处理").wait_for()
    page.locator("[data-testid=invoice-row][data-number=G000100002]").get_by_text("未付").wait_for()
    page.get_by_test_id("lang-en").click()  # everything shown follows, the summary and invoices too
    page.get_by_test_id("conversation-status").get_by_text("With you").wait_for()
    page.locator("[data-testid=invoice-row][data-number=G000100002]").get_by_text("Unpaid").wait_for()
    page.get_by_test_id("summary").get_by_text("Payments made").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "console-claimed.png"), full_page=True)

    page.get_by_test_id("hand-back").click()
    page.get_by_test_id("conversation-status").get_by_text("Handed back to the assistant").wait_for()
    eventually(lambda: not tracker(stack, chat.sender)["paused"], "the conversation is resumed")
    assert "October 31, 2026" in text_of(chat("when was that due?", token=token))
    page.locator(f'[data-testid=queue-item][data-handoff-id="{handoff_id}"]').wait_for(state="detached")
    assert page.errors == []
    assert requests.get(f"{stack.console_url}health", timeout=5).ok

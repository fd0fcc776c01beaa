"""Issue 15's browser test, two browser contexts against the real stack: a customer in the widget asks
for a person; an agent signed in to the console sees the conversation in the queue with its
transcript and claims it; the agent's reply shows in the widget; the customer's answer shows in the
console; the agent hands back and the bot answers the next question with the context kept.
Screenshots go to results/screenshots/handoff-live-*.png."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from bot.db import session_scope
from bot.handoff.models import OPEN_STATUSES, Handoff
from tests.e2e.test_console_api import eventually, tracker
from tests.e2e.test_widget_browser import CHAT, ask, bot_says, browser, shot, sign_in  # noqa: F401  (browser: a fixture)

pytestmark = pytest.mark.e2e


def replies(page):
    return page.locator(f"{CHAT} .bhd-reply")


def asks_and_hears(page, question: str, pattern: str):
    """Ask, then wait for a NEW reply matching `pattern` (the widget re-shows the conversation's
    history, which other tests may have added to, and a pushed notice may still be arriving)."""
    before = replies(page).count()
    ask(page, question)
    deadline = time.monotonic() + 60
    while True:
        for index in range(before, replies(page).count()):
            if re.search(pattern, replies(page).nth(index).inner_text()):
                return replies(page).nth(index)
        assert time.monotonic() < deadline, f"no reply matching {pattern!r} to {question!r}"
        time.sleep(0.5)


def open_handoff_of(stack, customer_id: str) -> Handoff | None:
    with session_scope(stack.env["BOT_DATABASE_URL"]) as session:
        found = session.scalar(select(Handoff).where(Handoff.customer_id == customer_id,
                                                     Handoff.status.in_(OPEN_STATUSES)))
        if found is not None:
            session.expunge(found)
        return found


@pytest.fixture()
def two_people(browser):
    """A customer's browser and an agent's browser: separate contexts, nothing shared."""
    customer = browser.new_context(viewport={"width": 900, "height": 860})
    agent = browser.new_context(viewport={"width": 1280, "height": 900})
    pages = customer.new_page(), agent.new_page()
    for page in pages:
        page.errors = []
        page.on("pageerror", lambda error, page=page: page.errors.append(str(error)))
    yield pages
    shot(pages[0], "handoff-live-end-customer")
    shot(pages[1], "handoff-live-end-agent")
    customer.close()
    agent.close()


def test_a_customer_in_the_widget_gets_a_person_in_the_console_and_back(stack, two_people):
    customer, agent = two_people
    sign_in(customer, "northwind")
    customer.locator(f"{CHAT}[data-ready=true]").wait_for(timeout=30_000)
    asks_and_hears(customer, "show me invoice G000300001", "G000300001")
    asks_and_hears(customer, "I'd like to talk to a real person please", "support team of Lakeshore Cloud Partners")
    handoff = eventually(lambda: open_handoff_of(stack, "C-1003"), "the conversation is in the queue")
    assert handoff.reason == "asked" and handoff.channel == "widget"
    shot(customer, "handoff-live-1-asked")

    agent.goto(stack.console_url)
    agent.get_by_test_id("login").fill("ana")
    agent.get_by_test_id("password").fill("ana-demo")
    agent.get_by_test_id("sign-in").click()
    item = agent.locator(f'[data-testid=queue-item][data-handoff-id="{handoff.id}"]')
    item.wait_for(timeout=15_000)
    assert "Northwind Traders" in item.inner_text()
    item.click()
    transcript = agent.get_by_test_id("transcript")
    transcript.get_by_text("show me invoice G000300001").last.wait_for(timeout=15_000)
    transcript.get_by_text("I'd like to talk to a real person please").last.wait_for()
    assert agent.locator("[data-testid=turn-assistant]").count() >= 2  # the bot's turns are in the transcript
    agent.get_by_test_id("claim").click()
    agent.get_by_test_id("conversation-status").get_by_text("With you").wait_for()
    bot_says(customer, "Ana Agent from support has joined the chat.")
    shot(agent, "handoff-live-2-claimed")

    agent.get_by_test_id("reply-text").fill("Hi, I'm Ana. I can see invoice G000300001: how can I help?")
    agent.get_by_test_id("send").click()
    words = bot_says(customer, "I'm Ana. I can see invoice G000300001")
    assert words.locator(".bhd-agent-name").inner_text() == "Ana Agent · Support"

    ask(customer, "Can I get a copy with our new address on it?")
    transcript.get_by_text("Can I get a copy with our new address on it?").last.wait_for(timeout=15_000)
    assert tracker(stack, handoff.conversation_id)["paused"] is True  # the bot stayed quiet
    shot(customer, "handoff-live-3-talking")
    shot(agent, "handoff-live-3-talking")

    agent.get_by_test_id("hand-back").click()
    bot_says(customer, "handed you back to the assistant")
    asks_and_hears(customer, "when is that one due?", "G000300001.*November 30, 2026")  # still in focus
    shot(customer, "handoff-live-4-back")
    assert customer.errors == [] and agent.errors == []
    assert open_handoff_of(stack, "C-1003") is None

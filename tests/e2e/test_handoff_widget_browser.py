"""The widget's side of a handoff in a real browser (Debian's chromium, Playwright): Ana's words
under her name in a bubble of their own, "Ana Agent is typing…" while she types (in the page's
language), the customer's typing reaching the desk, and the rating buttons after she closes,
clicked as a customer would. Screenshots go to results/screenshots/."""
from __future__ import annotations

import time

import pytest

from bot.channels.widget import conversation_of_session
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import SITE_ORIGIN
from tests.e2e.test_handoff_channels import JOINED, RATE, UNAVAILABLE, SupportDesk
from tests.e2e.test_partner_desk_rest import wait_for
from tests.e2e.test_widget_browser import CHAT, ask, bot_says, browser, page, shot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.e2e
SESSION_KEY = "billing-help-desk.anonymous-session"


@pytest.fixture()
def support(stack):
    helper = SupportDesk(stack)
    yield helper
    helper.give_back_everything()


def open_chat(page, language: str = "en") -> str:
    """An anonymous visitor's chat (a conversation of its own); returns its conversation id."""
    page.goto(f"{SITE_ORIGIN}/language/{language}?back=/chat")
    ask(page, "hello" if language == "en" else "你好")
    bot_says(page, ".")
    return conversation_of_session(page.evaluate(f"localStorage.getItem('{SESSION_KEY}')"), TEST_SECRET)


def bubble_background(locator) -> str:
    return locator.evaluate("node => getComputedStyle(node.closest('.message-bubble')).backgroundColor")


def test_the_customer_sees_ana_by_name_and_typing_and_rates_her_with_a_click(page, support):
    conversation = open_chat(page)
    handoff_id = support.take_over(conversation, "widget", "a visitor")
    bot_says(page, JOINED)

    support.push.typing(conversation, "widget", "Ana Agent")
    typing = page.locator("#widget-typing")
    typing.filter(has_text="Ana Agent is typing…").wait_for(timeout=15_000)
    support.reply(handoff_id, "Hello, I'm Ana. Which charge is it about?")
    words = bot_says(page, "Which charge is it about")
    assert words.locator(".bhd-agent-name").inner_text() == "Ana Agent · Support"
    assert typing.inner_text() == ""  # her words are here: no longer typing
    joined = bot_says(page, JOINED)
    assert joined.locator(".bhd-agent-name").count() == 0
    assert bubble_background(words) != bubble_background(joined)  # her bubble is not the assistant's
    shot(page, "handoff-agent-joined")

    box = page.locator(f"{CHAT} #text-input")
    box.click()
    # Typing: the widget tells the desk, at most every 2.5 s (typed over 3.6 s: at least one signal
    # after any sent for the "hello" above, before the handoff).
    box.type("The 1,200 yuan one", delay=200)
    assert wait_for(lambda: support.handoff(handoff_id).customer_typing_at is not None, timeout=15)
    box.press("Enter")
    time.sleep(4)
    assert page.locator(f"{CHAT} .bhd-reply", has_text=UNAVAILABLE).count() == 0
    assert support.said_by_customer(conversation)[-1] == "The 1,200 yuan one"

    support.close(handoff_id)
    rating = bot_says(page, "How would you rate")
    assert rating.locator(".bhd-quick-reply").all_inner_texts() == ["1", "2", "3", "4", "5"]
    assert RATE.text.startswith("Ana Agent has closed the chat.")
    before = page.locator(f"{CHAT} .bhd-reply").count()
    rating.locator(".bhd-quick-reply", has_text="4").click()
    page.wait_for_function(f"() => document.querySelector('deep-chat').shadowRoot"
                           f".querySelectorAll('.bhd-reply').length > {before}", timeout=60_000)
    assert 'rate_support{"satisfaction": "4"}' in support.said_by_customer(conversation)[-1]
    shot(page, "handoff-rated")
    assert page.errors == []


def test_the_typing_line_speaks_the_pages_language(page, support):
    conversation = open_chat(page, "zh")
    support.take_over(conversation, "widget", "访客")
    support.push.typing(conversation, "widget", "Ana Agent")
    page.locator("#widget-typing", has_text="Ana Agent 正在输入…").wait_for(timeout=15_000)

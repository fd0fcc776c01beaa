"""A support agent takes over a widget conversation, end to end over the widget's socket (python-
socketio's client, polling transport) against the real Rasa server: Ana's arrival and words with
her name, the customer's next message reaching the transcript without a bot reply or an apology,
typing both ways, and the rating buttons after she closes. The handoff is made through the domain
on the stack's database and delivered through the conversation-push component, as the console will."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.channels.widget import conversation_of_session
from tests.conftest import TEST_SECRET
from tests.e2e.test_handoff_channels import JOINED, RATE, UNAVAILABLE, SupportDesk
from tests.e2e.widget_client import Widget, text_of

pytestmark = pytest.mark.e2e


@pytest.fixture()
async def support(stack):
    helper = SupportDesk(stack)
    yield helper
    await asyncio.to_thread(helper.give_back_everything)


@pytest.fixture()
async def visitor(stack, monkeypatch):
    """An anonymous visitor's widget (a conversation of its own, so a paused bot can't leak into other tests),
    with the agent's typing signals collected too."""
    monkeypatch.setenv("BOT_TOKEN_SECRET", TEST_SECRET)
    widget = Widget()
    widget.typing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    widget.sio.on("agent_typing", widget.typing.put_nowait)
    session = await widget.start()
    widget.conversation_id = conversation_of_session(session["session"], TEST_SECRET)
    widget.session_token = session["session"]
    yield widget
    await widget.close()


async def nothing_arrives(widget: Widget, seconds: float = 4.0) -> None:
    with pytest.raises(asyncio.TimeoutError):
        got = await asyncio.wait_for(widget.messages.get(), seconds)
        pytest.fail(f"the widget got {got}")


async def until(condition, timeout: float = 15.0) -> bool:
    for _ in range(int(timeout / 0.25)):
        if await asyncio.to_thread(condition):
            return True
        await asyncio.sleep(0.25)
    return False


async def test_ana_takes_over_a_widget_conversation_types_answers_and_closes_with_the_rating(stack, support,
                                                                                            visitor):
    assert await visitor.ask("hello")
    conversation = visitor.conversation_id
    handoff_id = await asyncio.to_thread(support.take_over, conversation, "widget", "a visitor")
    joined = await asyncio.wait_for(visitor.messages.get(), 30)
    assert joined["text"] == JOINED and "agent" not in joined.get("custom", {})  # the desk's notice, not Ana's words

    # Ana types: the widget hears it, with her name; then her words, with her name.
    assert await asyncio.to_thread(support.push.typing, conversation, "widget", "Ana Agent") is True
    assert await asyncio.wait_for(visitor.typing.get(), 15) == {"name": "Ana Agent", "typing": True}
    await asyncio.to_thread(support.reply, handoff_id, "Hello, I'm Ana. Which charge is it about?")
    words = await asyncio.wait_for(visitor.messages.get(), 30)
    assert words["text"] == "Hello, I'm Ana. Which charge is it about?"
    assert words["custom"]["agent"] == {"name": "Ana Agent"}
    assert (await asyncio.to_thread(support.tracker, conversation))["paused"] is True

    # The visitor types and answers: the desk sees the typing; the message reaches the transcript;
    # the bot says nothing and nothing apologises.
    await visitor.sio.emit("user_typing")
    assert await until(lambda: support.handoff(handoff_id).customer_typing_at is not None)
    await visitor.send("The 1,200 yuan one on my October invoice")
    await nothing_arrives(visitor)
    said = await asyncio.to_thread(support.said_by_customer, conversation)
    assert said[-1] == "The 1,200 yuan one on my October invoice"
    assert support.handoff(handoff_id).awaiting_agent_since is not None  # Ana's next-response clock runs

    # Another tab of the same visitor gets the conversation back with Ana's name on her words.
    again = Widget()
    try:
        history = (await again.start(session=visitor.session_token))["history"]
    finally:
        await again.close()
    assert [m.get("custom", {}).get("agent") for m in history if m["text"].startswith("Hello, I'm Ana")] == [
        {"name": "Ana Agent"}]

    # Ana closes: the bot is back and asks for the rating, with buttons the visitor can click.
    await asyncio.to_thread(support.close, handoff_id)
    rating = await asyncio.wait_for(visitor.messages.get(), 30)
    assert rating["text"] == RATE.text and [b["title"] for b in rating["buttons"]] == ["1", "2", "3", "4", "5"]
    assert (await asyncio.to_thread(support.tracker, conversation))["paused"] is False
    await visitor.send(rating["buttons"][4]["payload"])
    answer = text_of(await visitor.replies())
    assert answer and UNAVAILABLE not in answer
    said = await asyncio.to_thread(support.said_by_customer, conversation)
    assert 'rate_support{"satisfaction": "5"}' in said[-1]


async def test_the_typing_route_refuses_a_caller_without_the_api_token(stack, visitor):
    import requests

    url = f"http://127.0.0.1:{stack.rasa_port}/webhooks/widget/typing"
    body = {"conversation_id": visitor.conversation_id, "name": "Mallory", "typing": True}
    for headers in ({}, {"Authorization": "Bearer not-the-token"}):
        answer = await asyncio.to_thread(requests.post, url, json=body, headers=headers, timeout=10)
        assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"
    bad = await asyncio.to_thread(requests.post, url, data=b"{", timeout=10,
                                  headers={"Authorization": f"Bearer {stack.rasa_api_token}"})
    assert bad.status_code == 400
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(visitor.typing.get(), 2)  # nothing reached the widget

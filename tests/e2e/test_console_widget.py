"""The console and a customer in the chat widget (the socket channel, real Rasa server): the
agent's words reach the widget at once, with the agent's name; the customer's answer reaches the
console's transcript; handed back, the bot carries on with the context kept."""
from __future__ import annotations

import asyncio

import pytest

from bot.channels.widget import customer_conversation_id
from bot.db import session_scope
from bot.handoff import queue as desk
from bot.identity import CUSTOMER_AUDIENCE, issue_token
from tests.conftest import TEST_SECRET
from tests.e2e.test_console_api import Console, events_after_user_turn
from tests.e2e.widget_client import Widget

pytestmark = pytest.mark.e2e


async def until(check, what: str, seconds: float = 30.0):
    deadline = asyncio.get_running_loop().time() + seconds
    while not (found := await asyncio.to_thread(check)):
        assert asyncio.get_running_loop().time() < deadline, f"never: {what}"
        await asyncio.sleep(0.5)
    return found


async def test_an_agent_and_a_widget_customer_talk_live_and_the_bot_resumes_with_the_context(stack, monkeypatch):
    monkeypatch.setenv("BOT_TOKEN_SECRET", TEST_SECRET)
    customer = Widget(issue_token("C-1003"))
    try:
        await customer.start()
        assert "G000300001" in await customer.ask("show me invoice G000300001")
        conversation_id = customer_conversation_id(f"{CUSTOMER_AUDIENCE}:C-1003", TEST_SECRET)
        with session_scope(stack.env["BOT_DATABASE_URL"]) as session:
            handoff_id = desk.request_handoff(
                session, conversation_id=conversation_id, partner_id="P-01", channel="widget",
                customer_id="C-1003", requester="Northwind Traders", reason="asked").handoff.id
        ana = await asyncio.to_thread(Console(stack.console_url).sign_in, "ana")

        claimed = await asyncio.to_thread(ana.call, "POST", f"/api/handoffs/{handoff_id}/claim")
        assert claimed.status_code == 200
        joined = await customer.replies(quiet=1)
        assert "Ana Agent from support has joined the chat." in [m.get("text") for m in joined]

        sent = await asyncio.to_thread(ana.call, "POST", f"/api/handoffs/{handoff_id}/messages",
                                       json={"text": "Hello, Ana here. I see G000300001 was paid twice."})
        assert sent.status_code == 200
        (words,) = await customer.replies(quiet=1)
        assert words["text"] == "Hello, Ana here. I see G000300001 was paid twice."
        assert words["custom"]["agent"]["name"] == "Ana Agent"

        await customer.send("yes, please refund the second payment")
        transcript = await until(lambda: [t for t in ana.call("GET", f"/api/handoffs/{handoff_id}").json()
                                          ["transcript"] if t.get("text") == "yes, please refund the second payment"],
                                 "the console shows the customer's answer")
        assert transcript[0]["kind"] == "customer"
        await asyncio.sleep(2)  # give the bot every chance to (wrongly) answer: the tracker says it did not
        after = await asyncio.to_thread(events_after_user_turn, stack, conversation_id,
                                        "yes, please refund the second payment")
        assert [e for e in after if e["event"] in ("bot", "action") and e.get("name") != "action_listen"] == []
        while not customer.messages.empty():  # what the channel itself may say (not the bot's turn)
            customer.messages.get_nowait()

        released = await asyncio.to_thread(ana.call, "POST", f"/api/handoffs/{handoff_id}/release")
        assert released.status_code == 200
        back = await customer.replies(quiet=1)
        assert any("handed you back to the assistant" in m.get("text", "") for m in back)
        assert "November 30, 2026" in await customer.ask("when is that due?")
    finally:
        await customer.close()

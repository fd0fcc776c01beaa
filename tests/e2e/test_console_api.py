"""The agent console's API against the real stack (trained model, Rasa server, action server,
escalation worker, console): an agent takes a REST conversation over, the bot stays quiet while
they have it, and resumes with the context kept; a Rasa restart does not give it back to the bot."""
from __future__ import annotations

import time
from typing import Any, Callable

import pytest
import requests

from bot.db import session_scope
from bot.handoff import queue as desk
from bot.identity import issue_token

pytestmark = pytest.mark.e2e


def text_of(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def eventually(check: Callable[[], Any], what: str, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.5)


def tracker(stack, conversation_id: str) -> dict:
    response = requests.get(f"http://127.0.0.1:{stack.rasa_port}/conversations/{conversation_id}/tracker",
                            params={"token": stack.rasa_api_token}, timeout=15)
    response.raise_for_status()
    return response.json()


def agent_says(stack, conversation_id: str, text: str) -> list[dict]:
    return [e for e in tracker(stack, conversation_id)["events"] if e["event"] == "bot" and e.get("text") == text
            and ((e.get("data") or {}).get("custom") or {}).get("agent", {}).get("name") == "Ana Agent"]


def events_after_user_turn(stack, conversation_id: str, text: str) -> list[dict]:
    events = tracker(stack, conversation_id)["events"]
    last = max(i for i, e in enumerate(events) if e["event"] == "user" and e.get("text") == text)
    return events[last + 1:]


class Console:
    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.headers: dict[str, str] = {}

    def sign_in(self, login: str) -> "Console":
        response = requests.post(f"{self.url}/api/sign-in", json={"login": login, "password": f"{login}-demo"},
                                 timeout=15)
        assert response.status_code == 200, response.text
        self.headers = {"Authorization": f"Bearer {response.json()['token']}"}
        return self

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", headers=self.headers, timeout=30, **kwargs)


@pytest.fixture()
def ana(stack) -> Console:
    return Console(stack.console_url).sign_in("ana")


def ask_for_a_person(stack, conversation_id: str) -> int:
    with session_scope(stack.env["BOT_DATABASE_URL"]) as session:
        return desk.request_handoff(session, conversation_id=conversation_id, partner_id="P-01", channel="rest",
                                    customer_id="C-1001", requester="Contoso Ltd", reason="asked",
                                    detail="I want to talk to a person").handoff.id


def test_an_agent_takes_over_a_rest_conversation_and_hands_it_back_with_the_context_kept(stack, chat, ana):
    token = issue_token("C-1001")
    assert "G000100001" in text_of(chat("show me invoice G000100001", token=token))
    handoff_id = ask_for_a_person(stack, chat.sender)

    queue = ana.call("GET", "/api/handoffs").json()["handoffs"]
    (entry,) = [h for h in queue if h["id"] == handoff_id]
    assert entry["status"] == "waiting" and entry["customer"] == "Contoso Ltd" and entry["channel"] == "rest"
    before = ana.call("GET", f"/api/handoffs/{handoff_id}").json()
    assert [t["text"] for t in before["transcript"] if t["kind"] == "customer"] == ["show me invoice G000100001"]
    assert any("G000100001" in t["text"] for t in before["transcript"] if t["kind"] == "assistant")
    assert "An invoice" in [t["label"] for t in before["summary"]["topics"]]
    assert [i["number"] for i in before["summary"]["invoices"]] == ["G000100001"]

    assert ana.call("POST", f"/api/handoffs/{handoff_id}/claim").status_code == 200
    assert Console(stack.console_url).sign_in("bo").call("POST", f"/api/handoffs/{handoff_id}/claim").status_code == 409
    eventually(lambda: tracker(stack, chat.sender)["paused"], "the conversation is paused")
    hello = "Hello, this is Ana from support. I can see invoice G000100001."
    assert ana.call("POST", f"/api/handoffs/{handoff_id}/messages", json={"text": hello}).status_code == 200
    eventually(lambda: agent_says(stack, chat.sender, hello), "the agent's words are in the tracker with her name")

    chat("are you still there?", token=token)
    time.sleep(2)  # give the bot every chance to (wrongly) answer
    assert [e for e in events_after_user_turn(stack, chat.sender, "are you still there?")
            if e["event"] in ("bot", "action") and e.get("name") != "action_listen"] == []
    during = eventually(lambda: [t for t in ana.call("GET", f"/api/handoffs/{handoff_id}").json()["transcript"]
                                 if t["kind"] in ("agent", "paused") or t.get("text") == "are you still there?"],
                        "the console shows the pause, the agent and the customer")
    assert [t["kind"] for t in during] == ["paused", "agent", "customer"] and during[1]["name"] == "Ana Agent"

    released = ana.call("POST", f"/api/handoffs/{handoff_id}/release")
    assert released.status_code == 200 and released.json()["handoff"]["status"] == "released"
    eventually(lambda: not tracker(stack, chat.sender)["paused"], "the conversation is resumed")
    assert "October 31, 2026" in text_of(chat("when was that due?", token=token))
    assert handoff_id not in [h["id"] for h in ana.call("GET", "/api/handoffs").json()["handoffs"]]


def test_a_claimed_conversation_stays_with_the_agent_when_the_rasa_server_restarts(stack, chat, ana):
    token = issue_token("C-1001")
    assert "CNY 9,615.50" in text_of(chat("what is my balance?", token=token))
    handoff_id = ask_for_a_person(stack, chat.sender)
    assert ana.call("POST", f"/api/handoffs/{handoff_id}/claim").status_code == 200
    eventually(lambda: tracker(stack, chat.sender)["paused"], "the conversation is paused")

    rasa = next(s for s in stack.services if s.name == "rasa server")
    rasa.stop()
    try:
        # The console works on without the Rasa server; what the agent says waits in the outbox.
        words = "Sorry for the wait, I'm checking your balance now."
        assert ana.call("POST", f"/api/handoffs/{handoff_id}/messages", json={"text": words}).status_code == 200
        detail = ana.call("GET", f"/api/handoffs/{handoff_id}").json()
        assert detail["handoff"]["status"] == "claimed" and detail["transcript"] is None
    finally:
        rasa.start(stack.child_env)
        eventually(rasa.healthy, "the Rasa server is back", seconds=240)

    assert tracker(stack, chat.sender)["paused"] is True
    (entry,) = [h for h in ana.call("GET", "/api/handoffs").json()["handoffs"] if h["id"] == handoff_id]
    assert entry["status"] == "claimed" and entry["agent"] == "Ana Agent"
    # The escalation worker delivers what the console could not.
    eventually(lambda: agent_says(stack, chat.sender, words), "the worker delivers the agent's words", seconds=120)
    chat("hello?", token=token)
    time.sleep(2)
    assert [e for e in events_after_user_turn(stack, chat.sender, "hello?")
            if e["event"] in ("bot", "action") and e.get("name") != "action_listen"] == []
    assert ana.call("POST", f"/api/handoffs/{handoff_id}/release").status_code == 200

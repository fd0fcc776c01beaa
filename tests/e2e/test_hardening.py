"""Issue 11 against the real servers: no request crashes, stalls or reads the assistant, and no
fault costs a silent turn."""
from __future__ import annotations

import json
import re
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from bot.identity import issue_staff_token, issue_token
from tests.conftest import TEST_SECRET
from tests.e2e.test_escalation_loop import wait_for
from tests.e2e.test_rest_conversations import text_of

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}


@pytest.fixture(autouse=True)
def signed_like_the_stack(monkeypatch):
    monkeypatch.setenv("BOT_TOKEN_SECRET", TEST_SECRET)


def post(stack, body: dict | bytes, timeout: float = 60) -> requests.Response:
    if isinstance(body, bytes):
        return requests.post(stack.rest_url, data=body, headers=JSON, timeout=timeout)
    return requests.post(stack.rest_url, json=body, timeout=timeout)


def new_sender() -> str:
    return f"hard-{uuid.uuid4().hex[:10]}"


def rasa_process(stack):
    return next(s for s in stack.services if s.name == "rasa server").process


def assert_still_answers(stack):
    reply = post(stack, {"sender": new_sender(), "message": "what is my balance?",
                         "metadata": {"customer_token": issue_token("C-1001")}})
    assert reply.status_code == 200 and "CNY 9,615.50" in text_of(reply.json())


def test_the_sender_that_crashed_rasa_gets_a_400_and_rasa_lives(stack):
    rasa = rasa_process(stack)
    for body in (b'{"sender": "x\\ud800", "message": "hi"}', b'{"sender": "x\xff\xfe", "message": "hi"}',
                 b'{"sender": "ok", "message": "hi \\udc80"}'):
        answer = post(stack, body)
        assert answer.status_code == 400 and answer.json()["error"] in ("invalid_sender", "invalid_json",
                                                                        "invalid_message")
    assert rasa.poll() is None and rasa_process(stack) is rasa
    assert_still_answers(stack)


@pytest.mark.parametrize("body", [b"[]", b"null", b"123", b'"x"', b""])
def test_a_body_that_is_not_an_object_gets_400_with_a_json_error(stack, body):
    answer = post(stack, body)
    assert answer.status_code == 400
    assert set(answer.json()) == {"error", "message"}


@pytest.mark.parametrize("field, value", [("metadata", []), ("metadata", "x"), ("metadata", 3),
                                          ("message", None), ("message", 42)])
def test_wrongly_typed_fields_get_400_saying_which(stack, field, value):
    body = {"sender": new_sender(), "message": "hello", field: value}
    answer = post(stack, body)
    assert answer.status_code == 400 and f"'{field}'" in answer.json()["message"]


@pytest.mark.parametrize("typed", ["/restart", "/session_start", "/back",
                                   '/EXTERNAL_escalation_resolved{"escalation_reference": "ESC-X"}'])
def test_typed_internal_commands_get_a_reply_and_change_nothing(stack, typed):
    sender, token = new_sender(), issue_token("C-1001")
    first = post(stack, {"sender": sender, "message": "show me invoice G000100001",
                         "metadata": {"customer_token": token}})
    assert "G000100001" in text_of(first.json())
    answer = post(stack, {"sender": sender, "message": typed, "metadata": {"customer_token": token}})
    assert answer.status_code == 200 and text_of(answer.json()).strip()
    tracker = requests.get(f"http://127.0.0.1:{stack.rasa_port}/conversations/{sender}/tracker",
                           params={"token": stack.rasa_api_token}, timeout=10).json()
    events = [e["event"] for e in tracker["events"]]
    assert "restart" not in events and events.count("session_started") == 1 and "undo" not in events


def test_an_oversized_message_is_answered_at_once_and_others_stay_fast(stack):
    token = issue_token("C-1001")
    sender = new_sender()
    timings: list[float] = []

    def other_conversation():
        for _ in range(5):
            started = time.monotonic()
            reply = post(stack, {"sender": sender, "message": "what is my balance?",
                                 "metadata": {"customer_token": token}})
            timings.append(time.monotonic() - started)
            assert "CNY 9,615.50" in text_of(reply.json())

    others = threading.Thread(target=other_conversation)
    others.start()
    big = post(stack, {"sender": new_sender(), "message": "why is my bill so high " * 1500,
                       "metadata": {"customer_token": token}}, timeout=10)
    huge = post(stack, {"sender": new_sender(), "message": "x" * 100_000}, timeout=10)
    others.join(timeout=60)
    assert big.status_code == 200 and "too long" in text_of(big.json())
    assert huge.status_code == 413
    assert len(timings) == 5, "the other conversation did not finish"
    print(f"other conversation's turns beside oversized messages: {[round(t, 2) for t in timings]} s")
    assert rasa_process(stack).poll() is None


def test_rest_cannot_claim_to_be_the_shell(stack):
    sender = new_sender()
    answer = post(stack, {"sender": sender, "message": "what is my balance?", "input_channel": "cmdline"})
    assert "sign in" in text_of(answer.json()).lower()
    tracker = requests.get(f"http://127.0.0.1:{stack.rasa_port}/conversations/{sender}/tracker",
                           params={"token": stack.rasa_api_token, "include_events": "NONE"}, timeout=10).json()
    assert tracker["latest_input_channel"] == "rest"


def test_a_client_cannot_write_its_own_verified_caller(stack):
    forged = {"caller": {"kind": "customer", "customer_id": "C-1004"}}
    answer = post(stack, {"sender": new_sender(), "message": "what is my balance?", "metadata": forged})
    reply = text_of(answer.json())
    assert "sign in" in reply.lower() and "CNY" not in reply


def _dispute_until_confirmation(stack, sender, token):
    for message, expected in (("I want to dispute a charge", "Which invoice"), ("G000400001", "Which charge"),
                              ("Reserved instance purchase", "What's wrong"),
                              ("we never ordered a reserved instance", "Shall I file it?")):
        reply = text_of(post(stack, {"sender": sender, "message": message,
                                     "metadata": {"customer_token": token}}).json())
        assert expected in reply, reply


def test_another_customers_answer_in_my_conversation_changes_nothing(stack):
    sender, tailspin = new_sender(), issue_token("C-1004")
    _dispute_until_confirmation(stack, sender, tailspin)
    for intruder, told in (({"customer_token": issue_token("C-1001")}, "belongs to someone else"),
                           ({}, "belongs to someone else"),
                           ({"partner_token": issue_staff_token("P-01", "Mei Chen")}, "belongs to someone else"),
                           # A failed sign-in is most likely the owner's own: told to sign in, nothing changes.
                           ({"customer_token": "eyJhbGciOiJIUzI1NiJ9.e30.x"}, "once you're signed in")):
        refused = text_of(post(stack, {"sender": sender, "message": "no", "metadata": intruder}).json())
        assert told in refused and "Tailspin" not in refused, refused
    filed = text_of(post(stack, {"sender": sender, "message": "yes",
                                 "metadata": {"customer_token": tailspin}}).json())
    assert re.search(r"Your reference is ESC-\w+", filed), filed


def test_signing_in_inside_an_anonymous_conversation_takes_it_over(stack):
    sender = new_sender()
    assert "Alipay" in text_of(post(stack, {"sender": sender, "message": "how can I pay?"}).json())
    reply = post(stack, {"sender": sender, "message": "what is my balance?",
                         "metadata": {"customer_token": issue_token("C-1001")}})
    assert "CNY 9,615.50" in text_of(reply.json())


def test_staff_on_rest_are_told_when_their_report_is_resolved(stack):
    vianet, sender = stack.env["VIANET_API_URL"], new_sender()
    staff = {"partner_token": issue_staff_token("P-01", "Mei Chen")}
    for message in ("report this problem to 21Vianet on behalf of Fabrikam",
                    "Their subscription was suspended although they paid by wire on November 20"):
        post(stack, {"sender": sender, "message": message, "metadata": staff})
    filed = text_of(post(stack, {"sender": sender, "message": "yes", "metadata": staff}).json())
    reference = re.search(r"Filed as (ESC-\w+)", filed).group(1)

    def ticket_at_vianet():
        stats = requests.get(f"{vianet}/_admin/stats", timeout=5).json()
        return next((r for r in stats["requests"] if reference in r["Description"]), None)

    ticket = wait_for(ticket_at_vianet)
    assert "Fabrikam" in ticket["Description"] and "paid by wire" in ticket["Description"]
    requests.post(f"{vianet}/_admin/servicerequests/{ticket['Id']}/status",
                  json={"status": "closed", "note": "Suspension lifted."}, timeout=5).raise_for_status()

    def next_turn_with_news():
        reply = text_of(post(stack, {"sender": sender, "message": "hello", "metadata": staff}).json())
        return reply if reference in reply else None

    news = wait_for(next_turn_with_news, every=2)
    assert "Please let the customer know" in news and "Suspension lifted." in news
    again = text_of(post(stack, {"sender": sender, "message": "hello", "metadata": staff}).json())
    assert reference not in again  # told once


def test_no_token_or_secret_in_logs_or_the_process_list(stack):
    token = issue_token("C-1001")
    for body in ({"sender": new_sender(), "message": None, "metadata": {"customer_token": token}},
                 {"sender": "x\ud800", "message": "hi", "metadata": {"customer_token": token}},
                 {"sender": new_sender(), "message": "balance?", "metadata": {"customer_token": token, "deep": [[[[[1]]]]]}},
                 {"sender": new_sender(), "message": "/restart", "metadata": {"customer_token": token}},
                 {"sender": new_sender(), "message": "what is my balance?", "metadata": {"customer_token": token}}):
        post(stack, body)
    time.sleep(1)  # let the log writers catch up
    for log in Path(stack.log_dir).glob("*.log*"):
        content = log.read_text(errors="replace")
        assert "eyJ" not in content, f"a token in {log.name}"
        assert stack.rasa_api_token not in content, f"Rasa's API token in {log.name}"
    for service in stack.services:
        cmdline = Path(f"/proc/{service.process.pid}/cmdline").read_bytes().decode(errors="replace")
        assert stack.rasa_api_token not in cmdline and "eyJ" not in cmdline, service.name


def test_no_token_in_the_tracker_store(stack):
    sender, token = new_sender(), issue_token("C-1001")
    post(stack, {"sender": sender, "message": "what is my balance?", "metadata": {"customer_token": token}})
    tracker = requests.get(f"http://127.0.0.1:{stack.rasa_port}/conversations/{sender}/tracker",
                           params={"token": stack.rasa_api_token}, timeout=10).text
    assert token not in tracker and "eyJ" not in tracker
    caller = json.loads(tracker)["latest_message"]["metadata"]["caller"]
    assert caller == {"kind": "customer", "customer_id": "C-1001"}


def test_while_the_action_server_is_down_the_customer_is_told_to_try_again(stack):
    actions = next(s for s in stack.services if s.name == "action server")
    actions.stop()
    try:
        reply = post(stack, {"sender": new_sender(), "message": "what is my balance?",
                             "metadata": {"customer_token": issue_token("C-1001")}})
        assert reply.status_code == 200
        assert "can't look that up right now" in text_of(reply.json())
    finally:
        actions.start(stack.child_env)
        wait_for(actions.healthy, timeout=120)
    assert_still_answers(stack)


def test_the_action_server_never_echoes_what_it_was_sent(stack):
    answer = requests.post(f"http://127.0.0.1:{stack.action_port}/webhook",
                           json=[{"tracker": {"latest_message": {"text": "private words"}}}], timeout=10)
    assert answer.status_code == 500 and "private words" not in answer.text


def test_the_terminal_chat_speaks_through_the_real_channel_as_a_signed_in_customer(stack):
    # What replaced the BOT_SHELL_CUSTOMER shortcut: a token is minted for each turn and sent over REST.
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "bot", "chat", "C-1001", "--url", stack.rest_url],
                            input="what is my balance?\n", capture_output=True, text=True, timeout=60,
                            env={**os.environ, "BOT_TOKEN_SECRET": TEST_SECRET})
    assert result.returncode == 0, result.stderr
    assert "bot> " in result.stdout and "CNY 9,615.50" in result.stdout
    assert "eyJ" not in result.stdout

"""The widget's socket channel (bot/channels/widget.py) against the real Rasa server: one test per
security rule, with what arrives asserted. python-socketio's client, polling transport."""
from __future__ import annotations

import asyncio
import json
import re
from datetime import date, datetime, timedelta, timezone

import jwt
import pytest
import requests

from bot.identity import ISSUER, issue_token
from tests.conftest import TEST_SECRET
from tests.e2e.widget_client import Widget, resolve_open_escalations, text_of

pytestmark = pytest.mark.e2e


@pytest.fixture()
async def widgets(stack, monkeypatch):
    """Open widgets, closed after the test."""
    monkeypatch.setenv("BOT_TOKEN_SECRET", TEST_SECRET)
    opened: list[Widget] = []

    def open_widget(*args, **kwargs) -> Widget:
        widget = Widget(*args, **kwargs)
        opened.append(widget)
        return widget

    yield open_widget
    for widget in opened:
        await widget.close()


def tracker_texts(stack, conversation_id: str) -> str:
    tracker = requests.get(f"http://127.0.0.1:{stack.rasa_port}/conversations/{conversation_id}/tracker",
                           params={"token": stack.rasa_api_token}, timeout=10).json()
    return json.dumps(tracker)


async def test_a_signed_in_customer_asks_for_the_balance(widgets):
    contoso = widgets(issue_token("C-1001"))
    session = await contoso.start()
    assert session["signed_in"] is True and session["session"] is None  # nothing to keep: derived from the token
    reply = await contoso.ask("what is my balance?")
    assert "CNY 9,615.50" in reply and "G000100002" in reply


async def test_the_pages_language_comes_with_the_token_and_the_answer_follows_it(widgets):
    contoso = widgets(issue_token("C-1001", locale="zh"), locale="en")  # the token's claim wins
    assert (await contoso.start())["locale"] == "zh"
    reply = await contoso.ask("我的余额是多少？")
    assert "CNY 9,615.50" in reply and re.search(r"[\u4e00-\u9fff]", reply)


async def test_a_socket_cannot_join_read_or_write_another_customers_conversation(stack, widgets):
    contoso = widgets(issue_token("C-1001"))
    await contoso.start()
    assert "CNY 9,615.50" in await contoso.ask("what is my balance?")
    # Everything a client could name: Rasa's session_id, a sender, a room, a forged session token.
    forged_session = jwt.encode({"sub": "widget-c-0000", "aud": "widget-session", "iss": ISSUER,
                                 "exp": 9999999999}, "not-our-secret-not-our-secret-000000", algorithm="HS256")
    fabrikam = widgets(issue_token("C-1002"))
    session = await fabrikam.start(session_id="anything", sender="C-1001", room="C-1001", session=forged_session)
    seen = json.dumps(session["history"])
    assert "9,615.50" not in seen and "balance" not in seen
    reply = await fabrikam.ask("what is my balance?", session_id="anything", sender="C-1001")
    assert "CNY 24,380.00" in reply and "9,615.50" not in reply  # Fabrikam's own account
    # Contoso's socket heard nothing of it, and Contoso's conversation holds none of it.
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(contoso.messages.get(), 2)
    again = widgets(issue_token("C-1001"))
    history = json.dumps((await again.start())["history"])
    assert "24,380" not in history and "9,615.50" in history


async def test_an_anonymous_session_token_of_someone_else_gives_a_customer_their_own_conversation(widgets):
    visitor = widgets()
    anonymous = await visitor.start()
    assert anonymous["signed_in"] is False and anonymous["session"]
    await visitor.ask("how can I pay?")
    northwind = widgets(issue_token("C-1003"))
    history = json.dumps((await northwind.start(session=anonymous["session"]))["history"])
    assert "how can I pay" not in history


async def test_a_forged_token_is_refused_at_connect(widgets):
    forged = jwt.encode({"sub": "C-1001", "aud": "customer", "iss": ISSUER, "exp": 9999999999},
                        "not-our-secret-not-our-secret-000000", algorithm="HS256")
    widget = widgets(forged)
    assert await widget.connect_refused()
    assert widget.refused["error"] == "token_invalid" and "couldn't verify your sign-in" in widget.refused["message"]


async def test_an_expired_token_is_refused_at_connect_and_told_apart(widgets):
    old = issue_token("C-1001", ttl=timedelta(minutes=1), now=datetime.now(timezone.utc) - timedelta(hours=1))
    widget = widgets(old, locale="zh")
    assert await widget.connect_refused()
    assert widget.refused["error"] == "token_expired" and "过期" in widget.refused["message"]


async def test_a_token_that_expires_during_the_conversation_is_checked_again_on_each_message(widgets):
    widget = widgets(issue_token("C-1001", ttl=timedelta(seconds=4)))
    await widget.start()
    assert "CNY 9,615.50" in await widget.ask("what is my balance?")
    await asyncio.sleep(4.5)
    reply = await widget.ask("what is my balance?")
    assert "sign-in has expired" in reply and "9,615.50" not in reply


async def test_without_a_token_a_visitor_gets_general_answers_only(widgets):
    visitor = widgets()
    await visitor.start()
    reply = await visitor.ask("what is my balance?")
    assert "sign" in reply.lower() and "CNY" not in reply
    assert "Alipay" in await visitor.ask("how can I pay?")
    invoice = await visitor.ask("show me invoice G000100001")
    assert "8,240" not in invoice and "Contoso" not in invoice


async def test_an_anonymous_visitor_resumes_their_conversation_and_a_forged_session_starts_afresh(widgets):
    visitor = widgets()
    first = await visitor.start()
    await visitor.ask("how can I pay?")
    await visitor.close()
    back = widgets()
    history = (await back.start(session=first["session"]))["history"]
    assert [m["sender"] for m in history[:2]] == ["user", "bot"] and history[0]["text"] == "how can I pay?"
    stranger = widgets()
    tampered = first["session"][:-4] + ("AAAA" if not first["session"].endswith("AAAA") else "BBBB")
    assert (await stranger.start(session=tampered))["history"] == []


@pytest.mark.parametrize("origin", ["http://evil.example", "http://localhost:9999", None])
async def test_a_page_not_on_the_origin_list_cannot_connect(widgets, origin):
    widget = widgets(issue_token("C-1001"), origin=origin)
    assert await widget.connect_refused()
    assert not widget.sio.connected


async def test_an_oversized_message_is_answered_and_never_reaches_the_assistant(stack, widgets):
    widget = widgets(issue_token("C-1001"))
    await widget.start()
    reply = await widget.ask("what is my balance? " * 500)  # 10,000 characters
    assert "too long" in reply and "8000" in reply
    assert "CNY 9,615.50" in await widget.ask("what is my balance?")  # and the conversation goes on


async def test_too_frequent_messages_are_refused_with_a_clear_reply(widgets):
    widget = widgets(issue_token("C-1003"))
    await widget.start()
    for _ in range(13):
        await widget.send("hello")
    replies = text_of(await widget.replies(quiet=3))
    assert replies.count("faster than I can answer") == 3  # 10 per 30 seconds by default


async def test_reconnecting_continues_the_conversation_and_shows_the_history(widgets):
    widget = widgets(issue_token("C-1004"))
    await widget.start()
    await widget.ask("show me my latest invoice")
    await widget.close()
    back = widgets(issue_token("C-1004"))
    history = (await back.start())["history"]
    assert any(m["sender"] == "user" and m["text"] == "show me my latest invoice" for m in history)
    assert any(m["sender"] == "bot" and "G0004" in m["text"] for m in history)
    follow_up = await back.ask("when is it due?")  # the invoice in focus is still known
    assert re.search(r"G0004\d+", follow_up)


async def test_typed_commands_are_read_as_words(stack, widgets):
    widget = widgets(issue_token("C-1001"))
    await widget.start()
    await widget.ask("what is my balance?")
    await widget.ask("/restart")
    history = json.dumps((await widgets(issue_token("C-1001")).start())["history"])
    assert "9,615.50" in history  # nothing was wiped


async def test_news_of_an_escalation_arrives_live_in_the_open_widget(stack, widgets):
    """Tailspin files a dispute in the widget; the local 21Vianet API closes the ticket; the
    worker's push (Rasa's trigger_intent, the real server) reaches the open socket unasked."""
    vianet = stack.env["VIANET_API_URL"]
    complaint = "we never ordered this reserved instance, widget test"
    await asyncio.to_thread(resolve_open_escalations, stack, "C-1004")
    tailspin = widgets(issue_token("C-1004"))
    await tailspin.start()
    assert "Which invoice" in await tailspin.ask("I want to dispute a charge")
    assert "Which charge on G000400001" in await tailspin.ask("G000400001")
    assert "What's wrong with it?" in await tailspin.ask("Reserved instance purchase")
    assert "Shall I file it?" in await tailspin.ask(complaint)
    filed = await tailspin.ask("yes")
    assert "Your reference is ESC-" in filed, filed
    reference = re.search(r"Your reference is (ESC-\w+)", filed).group(1)

    async def filed() -> dict:
        for _ in range(90):
            stats = await asyncio.to_thread(lambda: requests.get(f"{vianet}/_admin/stats", timeout=5).json())
            mine = [r for r in stats["requests"] if complaint in r["Description"]]
            if mine:
                return mine[0]
            await asyncio.sleep(0.5)
        raise AssertionError("the escalation never reached the local 21Vianet API")

    service_request = await filed()
    closed = await asyncio.to_thread(lambda: requests.post(
        f"{vianet}/_admin/servicerequests/{service_request['Id']}/status",
        json={"status": "closed", "note": "Reserved instance purchase reversed."}, timeout=5))
    assert closed.ok
    news = text_of(await tailspin.replies(quiet=2, timeout=60))  # nothing was sent: it is pushed
    assert reference in news and "Reserved instance purchase reversed." in news


async def test_the_conversation_continues_after_the_rasa_server_restarts(stack, widgets):
    customer = widgets(issue_token("C-1001"))
    await customer.start()
    assert "Invoice G000100001" in await customer.ask("show me invoice G000100001")
    visitor = widgets()
    anonymous = await visitor.start()
    await visitor.ask("how can I pay?")

    rasa = next(s for s in stack.services if s.name == "rasa server")
    await asyncio.to_thread(rasa.stop)
    rasa.start(stack.child_env)
    deadline = asyncio.get_running_loop().time() + 240
    while not await asyncio.to_thread(rasa.healthy):
        assert asyncio.get_running_loop().time() < deadline, "the Rasa server did not come back"
        await asyncio.sleep(1)

    back = widgets(issue_token("C-1001"))
    history = (await back.start())["history"]
    assert any(m["sender"] == "user" and m["text"] == "show me invoice G000100001" for m in history)
    due = await back.ask("when was that due?")  # the invoice in focus survived the restart
    assert "G000100001" in due and "October 31, 2026" in due
    again = widgets()
    resumed = (await again.start(session=anonymous["session"]))["history"]
    assert resumed and resumed[0]["text"] == "how can I pay?"


async def test_the_invoice_pdf_link_serves_its_owner_and_refuses_foreign_forged_and_expired_links(stack, widgets):
    from bot.documents.links import sign_pdf_link

    contoso = widgets(issue_token("C-1001"))
    await contoso.start()
    await contoso.send("show me invoice G000100001")
    (summary,) = [m for m in await contoso.replies() if "G000100001" in m.get("text", "")]
    (download,) = summary["custom"]["downloads"]
    got = await asyncio.to_thread(requests.get, download["url"], timeout=30)
    assert got.status_code == 200 and got.headers["Content-Type"] == "application/pdf"
    assert got.content.startswith(b"%PDF-") and b"G000100001" in got.content or len(got.content) > 2000

    base = download["url"].split("?")[0] + "?lang=en&link="
    link = download["url"].split("link=")[1]
    refusals = [
        base + sign_pdf_link("C-1001", "G000200001"),  # Fabrikam's invoice, even in a genuine link for Contoso
        base + sign_pdf_link("C-1001", "G000999999"),  # no such invoice
        base + sign_pdf_link("C-1001", "G000100001", seconds=-1),  # expired
        base + link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"),  # tampered
        base + jwt.encode({"sub": "C-1001", "inv": "G000100001", "aud": "invoice-pdf", "iss": ISSUER,
                           "exp": 9999999999}, "not-our-secret-not-our-secret-000000", algorithm="HS256"),  # forged
        base,  # none
    ]
    answers = [await asyncio.to_thread(requests.get, url, timeout=30) for url in refusals]
    assert {(a.status_code, a.text) for a in answers} == {(404, answers[0].text)}
    assert "not valid" in answers[0].text
    # The visitor's widget never offers one.
    visitor = widgets()
    await visitor.start()
    await visitor.send("show me invoice G000100001")
    assert all("downloads" not in m.get("custom", {}) for m in await visitor.replies())


async def test_a_fapiao_issued_by_staff_arrives_live_in_the_open_widget(stack, widgets):
    """Northwind's fapiao request comes from its widget conversation; staff issue it; the worker's
    push reaches the open socket unasked, once."""
    from bot.channels.widget import customer_conversation_id
    from bot.db import session_scope
    from bot.fapiao import requests as fapiao_requests, staff as fapiao_staff

    northwind = widgets(issue_token("C-1003"))
    await northwind.start()
    assert "CNY" in await northwind.ask("what is my balance?")
    conversation = customer_conversation_id("customer:C-1003", TEST_SECRET)

    def file_and_issue() -> str:
        with session_scope(stack.env["BOT_DATABASE_URL"]) as session:
            filed = fapiao_requests.file_request(session, "C-1003", invoice_number="G000300001",
                                                 fapiao_type="ordinary", today=date(2026, 11, 25),
                                                 conversation_id=conversation)
            reference = filed.request.reference
        with session_scope(stack.env["BOT_DATABASE_URL"]) as session:
            fapiao_staff.issue_request(session, reference, "P-01", number="26311000000099887766",
                                       staff_name="Mei Chen", today=date(2026, 11, 25))
        return reference

    reference = await asyncio.to_thread(file_and_issue)
    news = text_of(await northwind.replies(quiet=2, timeout=60))  # nothing was sent: it is pushed
    assert reference in news and "26311000000099887766" in news
    assert reference not in await northwind.ask("what is my balance?")  # told once

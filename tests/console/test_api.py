"""The console's JSON API against a real database: sign-in, who may call, who sees what, the
claim race, replies, hand back and close, invoices, errors."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import jwt
from sqlalchemy import select

from bot.db import session_scope
from bot.handoff.agents import issue_agent_token
from bot.handoff.models import AGENT_MESSAGE, NOTICE, PAUSE, RESUME, HandoffDelivery, SupportAgent
from bot.identity import issue_token
from bot.replies.catalogue import catalogue
from tests.console.conftest import agent_row
from tests.conftest import TEST_SECRET


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- signing in ------------------------------------------------------------------------------------

async def test_an_agent_signs_in_and_a_wrong_password_or_unknown_login_get_the_same_answer(console):
    good = await console.post("/api/sign-in", json={"login": "Ana", "password": "ana-demo"})
    assert good.status == 200
    body = await good.json()
    assert body["agent"] == {"name": "Ana Agent", "partner_id": "P-01", "partner": "Lakeshore Cloud Partners"}
    assert (await console.get("/api/me", headers=bearer(body["token"]))).status == 200

    wrong = await console.post("/api/sign-in", json={"login": "ana", "password": "bo-demo"})
    unknown = await console.post("/api/sign-in", json={"login": "nobody", "password": "ana-demo"})
    assert wrong.status == unknown.status == 401
    assert await wrong.json() == await unknown.json() == {
        "error": "bad_credentials", "message": "That login and password don't match an agent. Please try again."}


async def test_a_sign_in_that_is_not_json_or_misses_a_field_is_a_bad_request(console):
    for body in (b"login=ana", b"[1]", json.dumps({"login": "ana"}).encode(),
                 json.dumps({"login": "ana", "password": 5}).encode(), b"\xff\xfe"):
        response = await console.post("/api/sign-in", data=body, headers={"Content-Type": "application/json"})
        assert response.status == 400, body
        assert (await response.json())["error"] == "bad_request"


# --- who may call ----------------------------------------------------------------------------------

async def test_calls_without_a_valid_agent_token_are_refused_with_401_json(console, db_url, monkeypatch):
    ana = agent_row(db_url, "ana")
    forged = jwt.encode({"sub": f"agent:{ana.id}", "partner": "P-01", "aud": "support-agent",
                         "iss": "billing-help-desk", "exp": datetime.now(timezone.utc) + timedelta(hours=1)},
                        "another-secret-another-secret-another-secret", algorithm="HS256")
    expired = issue_agent_token(ana, ttl=timedelta(seconds=-5))
    customer = issue_token("C-1001")  # a genuine token, for another audience
    refused = [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic YW5hOmFuYS1kZW1v"}, bearer("not-a-jwt"),
               bearer(forged), bearer(expired), bearer(customer)]
    for headers in refused:
        for method, path in (("GET", "/api/handoffs"), ("POST", "/api/handoffs/1/claim"), ("GET", "/api/events")):
            response = await console.request(method, path, headers=headers)
            assert response.status == 401, (headers, path)
            assert (await response.json())["error"] == "unauthorized"
            assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_a_deactivated_agents_token_stops_working(console, db_url, sign_in):
    headers = await sign_in("bo")
    assert (await console.get("/api/handoffs", headers=headers)).status == 200
    with session_scope(db_url) as session:
        session.scalar(select(SupportAgent).where(SupportAgent.login == "bo")).active = False
    assert (await console.get("/api/handoffs", headers=headers)).status == 401


# --- who sees what ---------------------------------------------------------------------------------

async def test_an_agent_of_another_partner_sees_nothing_and_gets_404_like_a_missing_one(console, sign_in, handoff):
    handoff_id = handoff()
    hana = await sign_in("hana")  # P-03 Bayside Cloud Services
    listed = await (await console.get("/api/handoffs", headers=hana)).json()
    assert listed == {"handoffs": [], "breaches": 0}
    missing = await (await console.get("/api/handoffs/999999", headers=hana)).json()
    for method, path, body in (("GET", "", None), ("POST", "/claim", None), ("POST", "/messages", {"text": "hi"}),
                               ("POST", "/typing", None), ("POST", "/release", None), ("POST", "/close", None),
                               ("GET", "/invoices", None)):
        response = await console.request(method, f"/api/handoffs/{handoff_id}{path}", headers=hana, json=body)
        assert response.status == 404, path
        assert await response.json() == missing
    assert (await console.get(f"/api/events?handoff={handoff_id}", headers=hana)).status == 404

    ana = await sign_in("ana")
    seen = await (await console.get("/api/handoffs", headers=ana)).json()
    assert [h["id"] for h in seen["handoffs"]] == [handoff_id]
    assert (await console.post(f"/api/handoffs/{handoff_id}/claim", headers=ana)).status == 200


# --- the queue, claiming, replying, ending ---------------------------------------------------------

async def test_the_queue_shows_each_conversation_against_its_target_and_counts_breaches(console, sign_in, handoff):
    now = datetime.now(timezone.utc)
    fresh = handoff("conv-fresh", requested_at=now - timedelta(seconds=30))
    late = handoff("conv-late", customer="C-1002", requested_at=now - timedelta(minutes=10), reason="dispute")
    staff = handoff("conv-staff", customer=None, requested_at=now - timedelta(seconds=60))
    ana = await sign_in("ana")
    body = await (await console.get("/api/handoffs", headers=ana)).json()
    assert [h["id"] for h in body["handoffs"]] == [late, staff, fresh]  # the closest to breaching first
    assert body["breaches"] == 1
    first = body["handoffs"][0]
    assert first["customer_id"] == "C-1002" and first["customer"] == "Fabrikam Inc" and first["reason"] == "dispute"
    assert first["status"] == "waiting" and first["breached"] is True and first["target_seconds"] == 120
    assert 595 <= first["waiting_seconds"] <= 610 and first["seconds_to_breach"] <= -475
    assert first["agent"] is None and first["customer_typing"] is False and first["ahead"] == 0
    assert body["handoffs"][1]["customer"] is None and body["handoffs"][1]["requester"] == "Mei Chen"
    assert body["handoffs"][2]["ahead"] == 2 and body["handoffs"][2]["breached"] is False


async def test_two_agents_claiming_at_once_exactly_one_wins(console, sign_in, handoff):
    ana, bo = await sign_in("ana"), await sign_in("bo")
    for round_ in range(5):
        handoff_id = handoff(f"conv-race-{round_}")
        answers = await asyncio.gather(*(console.post(f"/api/handoffs/{handoff_id}/claim", headers=h)
                                         for h in (ana, bo)))
        assert sorted(r.status for r in answers) == [200, 409]
        lost = next(r for r in answers if r.status == 409)
        assert (await lost.json())["error"] == "already_claimed"
        won = await next(r for r in answers if r.status == 200).json()
        assert won["handoff"]["status"] == "claimed" and won["handoff"]["mine"] is True


async def test_claim_reply_and_hand_back_fill_the_outbox_in_order(console, db_url, sign_in, handoff):
    handoff_id = handoff()
    ana, bo = await sign_in("ana"), await sign_in("bo")
    assert (await console.post(f"/api/handoffs/{handoff_id}/messages", headers=ana, json={"text": "hi"})).status == 409
    claimed = await console.post(f"/api/handoffs/{handoff_id}/claim", headers=ana)
    assert (await claimed.json())["handoff"]["agent"] == "Ana Agent"

    not_yours = await console.post(f"/api/handoffs/{handoff_id}/messages", headers=bo, json={"text": "me too"})
    assert not_yours.status == 409 and (await not_yours.json())["error"] == "not_yours"
    sent = await console.post(f"/api/handoffs/{handoff_id}/messages", headers=ana,
                              json={"text": "  Hello, I'm looking at your invoice now.  "})
    assert sent.status == 200
    assert (await sent.json())["message"]["text"] == "Hello, I'm looking at your invoice now."
    typing = await console.post(f"/api/handoffs/{handoff_id}/typing", headers=ana, json={"typing": True})
    assert typing.status == 200 and await typing.json() == {"shown": False}  # no Rasa API in this test
    assert (await console.post(f"/api/handoffs/{handoff_id}/release", headers=bo)).status == 409
    released = await console.post(f"/api/handoffs/{handoff_id}/release", headers=ana)
    assert (await released.json())["handoff"]["status"] == "released"
    assert (await console.post(f"/api/handoffs/{handoff_id}/close", headers=ana)).status == 409  # already over
    assert (await (await console.get("/api/handoffs", headers=ana)).json())["handoffs"] == []

    with session_scope(db_url) as session:
        rows = session.scalars(select(HandoffDelivery).where(HandoffDelivery.handoff_id == handoff_id)
                               .order_by(HandoffDelivery.id)).all()
        outbox = [(row.kind, json.loads(row.message) if row.message else None) for row in rows]
    assert [kind for kind, _ in outbox] == [PAUSE, NOTICE, AGENT_MESSAGE, RESUME, NOTICE]
    assert outbox[1][1]["text"] == "Ana Agent from support has joined the chat."
    assert outbox[2][1] == {"text": "Hello, I'm looking at your invoice now.", "custom": {"agent": {"name": "Ana Agent"}}}
    assert outbox[4][1]["text"].startswith("Ana Agent has handed you back to the assistant.")


async def test_closing_asks_the_customer_for_a_rating(console, db_url, sign_in, handoff):
    handoff_id = handoff()
    ana = await sign_in("ana")
    await console.post(f"/api/handoffs/{handoff_id}/claim", headers=ana)
    closed = await console.post(f"/api/handoffs/{handoff_id}/close", headers=ana)
    assert (await closed.json())["handoff"]["status"] == "closed"
    with session_scope(db_url) as session:
        last = session.scalars(select(HandoffDelivery).where(HandoffDelivery.handoff_id == handoff_id)
                               .order_by(HandoffDelivery.id.desc())).first()
        rating = json.loads(last.message)
    assert [b["title"] for b in rating["buttons"]] == ["1", "2", "3", "4", "5"]


async def test_messages_that_are_not_json_empty_or_too_long_are_refused_with_400(console, sign_in, handoff):
    handoff_id = handoff()
    ana = await sign_in("ana")
    await console.post(f"/api/handoffs/{handoff_id}/claim", headers=ana)
    path = f"/api/handoffs/{handoff_id}/messages"
    cases = [(b"hello", "bad_request"), (b'"hello"', "bad_request"), (b"{}", "bad_request"),
             (json.dumps({"text": 42}).encode(), "bad_request"), (json.dumps({"text": " \n "}).encode(), "empty"),
             (json.dumps({"text": "x" * 4001}).encode(), "too_long")]
    for body, code in cases:
        response = await console.post(path, data=body, headers={**ana, "Content-Type": "application/json"})
        assert response.status == 400, body[:20]
        assert (await response.json())["error"] == code
    too_long = await console.post(path + "?lang=zh", json={"text": "x" * 4001}, headers=ana)
    assert (await too_long.json())["message"] == "消息太长：最多 4000 个字符。"
    huge = await console.post(path, data=b"{" + b" " * 100_000 + b"}", headers={**ana, "Content-Type": "application/json"})
    assert huge.status in (400, 413) and "error" in await huge.json()
    for weird in ("/api/handoffs/abc", "/api/handoffs/99999999999999999999", "/api/handoffs/1/nothing"):
        response = await console.get(weird, headers=ana)
        assert response.status == 404 and (await response.json())["error"] == "not_found"
    assert (await console.get(f"/api/events?handoff=x1", headers=ana)).status == 400


# --- the conversation, invoices, the page's sentences --------------------------------------------

async def test_a_conversation_without_the_rasa_api_still_shows_its_entry_and_summary(console, sign_in, handoff):
    handoff_id = handoff()
    body = await (await console.get(f"/api/handoffs/{handoff_id}", headers=await sign_in("ana"))).json()
    assert body["handoff"]["id"] == handoff_id and body["handoff"]["detail"] == "I want a person"
    assert body["transcript"] is None  # shown as "can't be loaded right now" by the page
    assert body["summary"] == {"topics": [], "invoices": [], "escalations": []}


async def test_the_agent_looks_up_the_customers_invoices_in_their_language(console, sign_in, handoff):
    handoff_id = handoff()
    ana = await sign_in("ana")
    english = await (await console.get(f"/api/handoffs/{handoff_id}/invoices", headers=ana)).json()
    assert english["customer"] == "Contoso Ltd"
    assert english["invoices"][0] == {
        "number": "G000100002", "period": "October 2026", "total": "CNY 9,615.50", "due_date": "November 30, 2026",
        "status": "unpaid", "status_text": "Unpaid", "balance": "CNY 9,615.50"}
    assert english["invoices"][1]["status"] == "paid" and english["invoices"][1]["balance"] == "CNY 0.00"
    chinese = await (await console.get(f"/api/handoffs/{handoff_id}/invoices?lang=zh", headers=ana)).json()
    assert chinese["invoices"][0]["due_date"] == "2026年11月30日" and chinese["invoices"][0]["status_text"] == "未付"
    staff = handoff("conv-staff-invoices", customer=None)
    assert await (await console.get(f"/api/handoffs/{staff}/invoices", headers=ana)).json() == {
        "customer_id": None, "customer": None, "invoices": []}


async def test_the_pages_sentences_come_from_the_catalogue_in_both_languages_without_signing_in(console):
    english = await (await console.get("/api/strings?lang=en")).json()
    chinese = await (await console.get("/api/strings?lang=zh")).json()
    assert english["strings"]["claim"] == "Claim" and chinese["strings"]["claim"] == "接手"
    assert set(english["strings"]) == set(chinese["strings"])
    assert english["strings"]["breaches"] == catalogue("en")["console.breaches"]
    assert (await (await console.get("/api/strings?lang=xx")).json())["lang"] == "en"


async def test_the_page_is_served_with_its_script_and_a_strict_policy(console):
    page = await console.get("/")
    html = await page.text()
    assert page.status == 200 and 'src="/static/console.js"' in html and 'id="claim"' in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"] and "<script>" not in html
    assert "ana-demo" not in html  # demo credentials are printed by the run command, not shown
    script = await console.get("/static/console.js")
    assert script.status == 200 and "/api/events" in await script.text()


# --- the live channel ------------------------------------------------------------------------------

async def read_events(response, wanted: str, seconds: float = 8.0) -> list[str]:
    names: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while wanted not in names and loop.time() < deadline:
        line = await asyncio.wait_for(response.content.readline(), timeout=deadline - loop.time())
        if line.startswith(b"event: "):
            names.append(line[7:].decode().strip())
    return names


async def test_the_live_channel_tells_of_changes_made_by_another_agent(console, sign_in, handoff, db_url):
    handoff_id = handoff()
    ana, bo = await sign_in("ana"), await sign_in("bo")
    stream = await console.get(f"/api/events?handoff={handoff_id}", headers=ana)
    assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
    assert await read_events(stream, "ready") == ["ready"]
    await asyncio.sleep(1.2)  # the first look is taken
    assert (await console.post(f"/api/handoffs/{handoff_id}/claim", headers=bo)).status == 200
    seen = await read_events(stream, "conversation")
    assert "queue" in seen and "conversation" in seen
    stream.close()


async def test_the_live_channel_ends_when_the_sign_in_does(console, db_url, sign_in):
    ana = agent_row(db_url, "ana")
    short = issue_agent_token(ana, ttl=timedelta(seconds=2))
    stream = await console.get("/api/events", headers=bearer(short))
    assert stream.status == 200
    assert "signed_out" in await read_events(stream, "signed_out", seconds=10)

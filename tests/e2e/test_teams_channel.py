"""Partner staff in Microsoft Teams, end to end: activities signed by the local Bot Framework
stand-in (devservers/teams) go to the real Rasa server's /webhooks/botframework/webhook; replies
are asserted as the stand-in's connector received them."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from bot.config import REPO_ROOT
from bot.replies import render
from devservers.teams.signing import DEFAULT_TENANT_ID, Person, generate_key, key_id
from tests.e2e.teams_stand_in import CJK, LI, MEI, STANDIN, STRANGER, WEBHOOK, message, recorded, replies_to, send
from tests.e2e.test_escalation_loop import wait_for

pytestmark = pytest.mark.e2e

def test_a_staff_member_is_answered_in_the_conversation_they_wrote_in(stack, teams):
    greeting = message(MEI, "hello")
    assert send(teams, greeting).status_code == 200
    reply = replies_to(greeting)[0]
    assert reply["text"] == render("greet", "en").text
    assert reply["recipient"]["id"] == MEI.user_id and reply["from"]["id"] == greeting["recipient"]["id"]

    report = message(MEI, "report a problem to 21Vianet for Fabrikam")
    assert send(teams, report).status_code == 200
    assert replies_to(report)[0]["text"] == render("ask_partner_problem", "en").text
    never_mind = message(MEI, "cancel")  # leaves her conversation as it found it
    assert send(teams, never_mind).status_code == 200
    assert replies_to(never_mind)[0]["text"] == render("cancelled", "en").text


def test_someone_not_in_the_staff_directory_is_told_to_ask_their_partner_admin(stack, teams):
    hello = message(STRANGER, "which customers are overdue?")
    assert send(teams, hello).status_code == 200
    assert [r["text"] for r in replies_to(hello)] == [render("staff.not_in_directory", "en").text]


def test_activities_with_bad_tokens_or_from_another_tenant_are_refused_and_never_answered(stack, teams):
    before = len(recorded())
    now = datetime.now(timezone.utc)
    bad = {
        "forged": dict(key=generate_key(), kid=key_id(teams["key"])),
        "wrong audience": dict(app_id="00000000-0000-4000-8000-000000000bad"),
        "wrong issuer": dict(issuer="https://api.botframework.com"),
        "expired": dict(now=now - timedelta(hours=2), lifetime=timedelta(minutes=30)),
        "another serviceUrl": dict(service_url="https://smba.example.invalid/amer/"),
    }
    for case, claims in bad.items():
        response = send(teams, message(MEI, f"hello ({case})"), **claims)
        assert response.status_code == 403, case
    other_tenant = Person(MEI.aad_object_id, tenant_id="0f0f0f0f-0000-4000-8000-00000000beef")
    assert send(teams, message(other_tenant, "hello")).status_code == 403
    no_token = requests.post(WEBHOOK, json=message(MEI, "hello"), timeout=10)
    assert no_token.status_code == 403
    time.sleep(2)
    assert len(recorded()) == before


def test_a_chinese_teams_user_is_answered_in_chinese(stack, teams):
    hello = message(LI, "你好", locale="zh-CN")
    assert send(teams, hello).status_code == 200
    reply = replies_to(hello)[0]
    assert reply["text"] == render("greet", "zh").text and CJK.search(reply["text"])


def test_a_redelivered_activity_is_answered_once(stack, teams):
    hello = message(LI, "hello again", locale="zh-CN")
    assert send(teams, hello).status_code == 200
    assert send(teams, hello).status_code == 200
    first = replies_to(hello)
    time.sleep(2)
    assert len([a for a in recorded() if a["activity"].get("replyToId") == hello["id"]]) == len(first)


def test_in_a_channel_the_mention_is_dropped_and_news_reaches_a_new_personal_chat(stack, teams):
    """A billing admin who has only ever written from a team channel (mentioning the bot) files an
    escalation there; its resolution is pushed by the worker (trigger_intent, output_channel=latest)
    into a 1:1 chat the bot opens with them, not into the channel thread."""
    from bot.db import session_scope
    from bot.partner.directory import add_member

    admin = Person("a1a1a1a1-0000-4000-8000-0000000000a3", name="Zhang Min")
    with session_scope(stack.env["BOT_DATABASE_URL"]) as session:
        add_member(session, "teams", DEFAULT_TENANT_ID, admin.aad_object_id, "P-01", "Zhang Min", "billing_admin")
    vianet = stack.env["VIANET_API_URL"]
    turns = ["report this problem to 21Vianet on behalf of Fabrikam",
             "Their subscription was suspended although they paid by wire on November 20", "yes"]
    threads = set()
    for text in turns:
        last = message(admin, text, conversation_type="channel")
        assert last["text"].startswith("<at>")
        threads.add(last["conversation"]["id"])
        assert send(teams, last).status_code == 200
        answer = replies_to(last)
    filed = " ".join(r["text"] for r in answer)
    reference = re.search(r"(ESC-\w+)", filed).group(1)

    def ticket_at_vianet():
        stats = requests.get(f"{vianet}/_admin/stats", timeout=5).json()
        return next((r for r in stats["requests"] if reference in r["Description"]), None)

    ticket = wait_for(ticket_at_vianet)
    requests.post(f"{vianet}/_admin/servicerequests/{ticket['Id']}/status",
                  json={"status": "closed", "note": "Suspension lifted."}, timeout=5).raise_for_status()
    news = wait_for(lambda: [a for a in recorded() if reference in a["activity"].get("text", "")
                             and not a["activity"].get("replyToId")], timeout=60)
    assert "Suspension lifted." in news[0]["activity"]["text"]
    assert news[0]["conversation_id"] not in threads  # the personal chat, not a channel thread
    created = requests.get(f"{STANDIN}/_admin/activities", timeout=5).json()["conversations"]
    assert created[news[0]["conversation_id"]]["user_id"] == admin.user_id


def test_the_stand_ins_say_and_replies_commands_talk_to_the_bot(stack, teams):
    command = [sys.executable, "-m", "devservers.teams"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    said = subprocess.run([*command, "say", STRANGER.aad_object_id, "hello", "--url", WEBHOOK, "--standin", STANDIN],
                          capture_output=True, text=True, timeout=90, env=env)
    assert said.returncode == 0, said.stderr
    told = render("staff.not_in_directory", "en").text
    assert ": 200" in said.stdout and told in said.stdout
    replies = subprocess.run([*command, "replies", "--standin", STANDIN], capture_output=True, text=True,
                             timeout=30, env=env)
    assert replies.returncode == 0 and told in replies.stdout

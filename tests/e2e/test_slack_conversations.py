"""Partner staff in Slack, end to end: signed requests to the real Rasa server's
/webhooks/slack/webhook, replies read back as the local Slack stand-in received them."""
from __future__ import annotations

import re
import time

import pytest
import requests

from bot.config import load_settings
from bot.replies import render
from tests.e2e.slack_stand_in import (
    all_text,
    click,
    posted,
    say,
    wait_for_posts,
)
from tests.e2e.test_escalation_loop import wait_for

pytestmark = pytest.mark.e2e
QUIET_SECONDS = 4.0  # long enough for a turn to have answered, had it been processed


@pytest.fixture()
def slack(stack, slack_stand_in):
    return stack


def _buttons(message: dict) -> list[str]:
    return [e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def _said_nothing(channel: str, before: int) -> None:
    time.sleep(QUIET_SECONDS)
    assert posted(channel)[before:] == []


def test_staff_greeting_in_a_dm_is_answered_there_in_their_slack_language(slack):
    before = len(posted("D0LIWEI"))
    answer = say(slack, "U0LIWEI", "hello")  # Li Wei's Slack is set to Chinese (users.info: zh-CN)
    assert answer.status_code == 200
    (reply,) = wait_for_posts("D0LIWEI", before)
    assert reply["text"] == render("greet", "zh").text and "thread_ts" not in reply
    assert reply["blocks"][0]["type"] == "section"


def test_a_mention_in_a_channel_is_answered_in_the_thread_it_started(slack):
    before = len(posted("C0BILLING"))
    answer = say(slack, "U0MEICHEN", "hello", channel="C0BILLING")
    assert answer.status_code == 200
    (reply,) = wait_for_posts("C0BILLING", before)
    assert reply["thread_ts"] == answer.envelope["event"]["ts"]
    assert reply["text"] == render("greet", "en").text


def test_staff_report_a_problem_for_a_customer_with_buttons_and_hear_back_in_their_dm(slack):
    channel, thread = "C0DESK", None
    before = len(posted(channel))
    first = say(slack, "U0MEICHEN", "report this problem to 21Vianet on behalf of Fabrikam", channel=channel)
    thread = first.envelope["event"]["ts"]
    asked = wait_for_posts(channel, before)
    assert all(m["thread_ts"] == thread for m in asked)
    before = len(posted(channel))
    say(slack, "U0MEICHEN", "Their subscription was suspended although they paid by wire on November 20",
        channel=channel, thread_ts=thread)
    confirm = wait_for_posts(channel, before, until=lambda new: any(_buttons(m) for m in new))
    assert "Shall I file it?" in all_text(confirm) and "/affirm" in _buttons(confirm[-1])
    assert confirm[-1]["thread_ts"] == thread

    before = len(posted(channel))
    assert click(slack, "U0MEICHEN", "/affirm", channel=channel, thread_ts=thread,
                 message_ts=confirm[-1]["ts"]).status_code == 200
    filed = all_text(wait_for_posts(channel, before, until=lambda new: "Filed as" in all_text(new)))
    reference = re.search(r"Filed as (ESC-\w+)", filed).group(1)

    # 21Vianet closes the ticket; the escalation worker pushes the news through Rasa's API, and it
    # reaches Mei Chen's DM (the address stored for her conversation), not the channel.
    vianet = slack.env["VIANET_API_URL"]

    def ticket():
        stats = requests.get(f"{vianet}/_admin/stats", timeout=5).json()
        return next((r for r in stats["requests"] if reference in r["Description"]), None)

    dm_before = len(posted("D0MEICHEN"))
    requests.post(f"{vianet}/_admin/servicerequests/{wait_for(ticket)['Id']}/status",
                  json={"status": "closed", "note": "Suspension lifted."}, timeout=5).raise_for_status()
    news = all_text(wait_for_posts("D0MEICHEN", dm_before, timeout=90,
                                   until=lambda new: reference in all_text(new)))
    assert "Suspension lifted." in news and "Please let the customer know" in news


def test_someone_not_in_the_staff_directory_is_told_to_ask_their_partner_admin(slack):
    before = len(posted("D0STRANGER"))
    assert say(slack, "U0STRANGER", "which customers are overdue?").status_code == 200
    (reply,) = wait_for_posts("D0STRANGER", before)
    assert reply["text"] == render("staff.not_in_directory", "en", load_settings()).text


@pytest.mark.parametrize("case", ["forged", "unsigned", "replayed"])
def test_requests_not_from_slack_are_refused_and_never_processed(slack, case):
    channel = f"C0{case.upper()}"
    before = len(posted(channel))
    if case == "forged":
        answer = say(slack, "U0MEICHEN", "hello", channel=channel, secret="not-the-signing-secret")
    elif case == "unsigned":
        answer = say(slack, "U0MEICHEN", "hello", channel=channel, secret=None)
    else:  # correctly signed, six minutes ago
        answer = say(slack, "U0MEICHEN", "hello", channel=channel, signed_at=time.time() - 360)
    assert answer.status_code == 401
    _said_nothing(channel, before)


def test_a_forged_button_click_is_refused(slack):
    before = len(posted("C0CLICKS"))
    answer = click(slack, "U0MEICHEN", "/greet", channel="C0CLICKS", thread_ts="1700000000.000001",
                   secret="not-the-signing-secret")
    assert answer.status_code == 401
    _said_nothing("C0CLICKS", before)


@pytest.mark.parametrize("reason", ["http_timeout", "http_error"])
def test_a_retry_of_a_processed_event_is_never_answered_again(slack, reason):
    channel = f"C0RETRY{reason.upper().replace('_', '')}"
    before = len(posted(channel))
    first = say(slack, "U0MEICHEN", "hello", channel=channel)
    assert first.status_code == 200
    wait_for_posts(channel, before)
    event = first.envelope["event"]
    retry = say(slack, "U0MEICHEN", "hello", channel=channel, ts=event["ts"], event_id=first.envelope["event_id"],
                retry_num=1, retry_reason=reason)
    assert retry.status_code == 200 and retry.headers.get("X-Slack-No-Retry") == "1"
    time.sleep(QUIET_SECONDS)
    assert len(posted(channel)[before:]) == 1


def test_the_url_verification_challenge_is_answered_only_when_signed(slack):
    from devservers.slack.events import signed_headers
    from tests.e2e.slack_stand_in import SIGNING_SECRET, webhook_url

    body = b'{"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}'
    signed = requests.post(webhook_url(slack), data=body, headers=signed_headers(SIGNING_SECRET, body), timeout=10)
    assert signed.status_code == 200 and signed.json()["challenge"].startswith("3eZbrw1a")
    unsigned = requests.post(webhook_url(slack), data=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert unsigned.status_code == 401 and "challenge" not in unsigned.text

"""The Slack channel's own rules, as plain functions: signatures and the replay window, which
events are turns and where their replies go, Slack's markup; and its output channel (replies and
pushes) against the local Slack stand-in over HTTP."""
from __future__ import annotations

import json
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from aiohttp import web
from rasa.core.channels.channel import UserMessage

from bot.channels.slack import (
    SlackDeliveryError,
    SlackInput,
    SlackOutput,
    SlackTurn,
    plain_text,
    read_body,
    signature_problem,
    turn_from_event,
    turn_from_interaction,
)
from bot.config import SlackSettings
from bot.conversations.addresses import address_of, remember
from bot.db import session_scope
from bot.integrations.slack import SlackApiError, SlackClient
from bot.replies import render
from devservers.slack.events import button_click, message_event, signature
from devservers.slack.server import BOT_USER_ID, WORKSPACE, build_app

SECRET = "test-slack-signing-secret-0123456789"
NOW = 1_790_000_000.0
BODY = b'{"type":"event_callback"}'


def _signed(body: bytes = BODY, at: float = NOW, secret: str = SECRET) -> tuple[str, str]:
    return str(int(at)), signature(secret, str(int(at)), body)


def test_a_correctly_signed_request_passes():
    assert signature_problem(SECRET, *_signed(), BODY, NOW + 10, 300) is None


@pytest.mark.parametrize("case, expected", [
    ("forged with another secret", "bad_signature"),
    ("body changed after signing", "bad_signature"),
    ("no signature", "unsigned"),
    ("no timestamp", "unsigned"),
    ("timestamp not a number", "bad_timestamp"),
    ("timestamp with underscores", "bad_timestamp"),
    ("signed six minutes ago", "stale"),
    ("signed six minutes ahead", "stale"),
    ("no signing secret configured", "not_configured"),
])
def test_anything_else_is_refused(case, expected):
    stamp, good = _signed()
    secret, timestamp, sig, body, now = SECRET, stamp, good, BODY, NOW
    if case == "forged with another secret":
        sig = _signed(secret="someone-else")[1]
    elif case == "body changed after signing":
        body = BODY.replace(b"event_callback", b"url_verification")
    elif case == "no signature":
        sig = None
    elif case == "no timestamp":
        timestamp = None
    elif case == "timestamp not a number":
        timestamp = "yesterday"
    elif case == "timestamp with underscores":
        timestamp = "1_790_000_000"
    elif case == "signed six minutes ago":
        timestamp, sig = _signed(at=NOW - 360)
    elif case == "signed six minutes ahead":
        timestamp, sig = _signed(at=NOW + 360)
    elif case == "no signing secret configured":
        secret = None
    assert signature_problem(secret, timestamp, sig, body, now, 300) == expected


def test_the_replay_window_is_the_setting():
    stamp, sig = _signed(at=NOW - 299)
    assert signature_problem(SECRET, stamp, sig, BODY, NOW, 300) is None
    assert signature_problem(SECRET, stamp, sig, BODY, NOW, 60) == "stale"


def test_bodies_are_json_events_or_form_payloads():
    assert read_body("application/json", b'{"type": "url_verification", "challenge": "c"}')["challenge"] == "c"
    form = urlencode({"payload": json.dumps({"type": "block_actions"})}).encode()
    assert read_body("application/x-www-form-urlencoded; charset=utf-8", form) == {"type": "block_actions"}
    for content_type, body in (("application/json", b"[]"), ("application/json", b"{"),
                               ("application/x-www-form-urlencoded", b"other=1")):
        with pytest.raises(ValueError):
            read_body(content_type, body)


def test_a_dm_is_answered_in_the_dm():
    turn = turn_from_event(message_event("U0MEICHEN", "hello", event_id="Ev1"))
    assert (turn.kind, turn.channel, turn.thread_ts, turn.delivery_id) == ("message", "D0MEICHEN", None, "Ev1")
    assert turn.conversation_id == "slack:T0LAKESHORE:U0MEICHEN" and turn.bot_users == {BOT_USER_ID}


def test_a_mention_in_a_channel_is_answered_in_its_thread():
    started = turn_from_event(message_event("U0MEICHEN", "hello", channel="C0BILLING", ts="1700000001.000200"))
    assert (started.kind, started.channel, started.thread_ts) == ("mention", "C0BILLING", "1700000001.000200")
    within = turn_from_event(message_event("U0MEICHEN", "and?", channel="C0BILLING", ts="1700000009.000100",
                                           thread_ts="1700000001.000200"))
    assert within.thread_ts == "1700000001.000200"
    in_a_dm_thread = turn_from_event(message_event("U0MEICHEN", "x", thread_ts="1700000001.000200"))
    assert in_a_dm_thread.thread_ts == "1700000001.000200"


def test_events_that_are_not_turns():
    def event(**changes):
        envelope = message_event("U0MEICHEN", "hello")
        envelope["event"].update(changes)
        return envelope

    assert turn_from_event(event(subtype="message_changed")) is None  # an edit
    assert turn_from_event(event(subtype="message_deleted")) is None
    assert turn_from_event(event(bot_id="B0OTHER")) is None  # another bot, or ours
    assert turn_from_event(event(user=BOT_USER_ID)) is None  # our own bot user
    assert turn_from_event(event(channel_type="channel", channel="C0BILLING")) is None  # not mentioned
    assert turn_from_event(event(type="reaction_added")) is None
    assert turn_from_event(event(user="U0MEI CHEN")) is None  # malformed ids
    assert turn_from_event(event(ts="now")) is None
    assert turn_from_event({"type": "url_verification", "challenge": "x"}) is None


def test_a_button_click_speaks_its_value_where_the_button_is():
    dm = turn_from_interaction(button_click("U0MEICHEN", "/affirm"))
    assert (dm.kind, dm.text, dm.channel, dm.thread_ts) == ("button", "/affirm", "D0MEICHEN", None)
    assert dm.delivery_id.startswith("interaction:")
    threaded = turn_from_interaction(button_click("U0MEICHEN", "/deny", channel="C0BILLING",
                                                  thread_ts="1700000001.000200", message_ts="1700000002.000300"))
    assert (threaded.channel, threaded.thread_ts) == ("C0BILLING", "1700000001.000200")
    link = button_click("U0MEICHEN", "x")
    del link["actions"][0]["value"]  # a link button: nothing to say
    assert turn_from_interaction(link) is None
    assert turn_from_interaction({"type": "view_submission"}) is None


def test_slack_markup_reads_as_the_words():
    bots = frozenset({BOT_USER_ID})
    assert plain_text(f"<@{BOT_USER_ID}> which customers are overdue?", bots) == "which customers are overdue?"
    assert plain_text(f"hi <@{BOT_USER_ID}>, ask <@U0LIWEI|liwei> in <#C0BILLING|billing>", bots) == \
        "hi , ask @liwei in #billing"
    assert plain_text("see <https://example.com/x|the page> or <mailto:a@b.cn|a@b.cn> <!here>", bots) == \
        "see the page or a@b.cn @here"


def test_the_channel_is_slack_at_its_url():
    assert SlackInput.name() == "slack"


# --- replies and pushes, against the stand-in ---------------------------------------------------


@pytest.fixture()
async def slack_api():
    app = build_app("xoxb-test")
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    settings = SlackSettings(signing_secret=SECRET, bot_token="xoxb-test",
                             api_url=f"http://127.0.0.1:{runner.addresses[0][1]}/api", replay_window_seconds=300,
                             timeout_seconds=2.0)
    async with SlackClient(settings, backoff=0.01) as client:
        yield client, app[WORKSPACE]
    await runner.cleanup()


async def test_a_turns_replies_go_to_its_channel_and_thread(slack_api):
    client, workspace = slack_api
    output = SlackOutput(client, "C0BILLING", "1700000001.000200")
    await output.send_response("slack:T0LAKESHORE:U0MEICHEN", {"text": "Hello!", "buttons": [
        {"title": "Yes", "payload": "/affirm"}]})
    posted = workspace.messages[-1]
    assert (posted["channel"], posted["thread_ts"], posted["text"]) == ("C0BILLING", "1700000001.000200", "Hello!")
    assert posted["blocks"][-1]["elements"][0]["value"] == "/affirm"


async def test_a_failed_reply_is_logged_and_the_turn_goes_on(slack_api, caplog):
    client, workspace = slack_api
    workspace.faults.mode, workspace.faults.error = "not_ok", "channel_not_found"
    output = SlackOutput(client, "C0GONE", None)
    await output.send_response("slack:T0LAKESHORE:U0MEICHEN", {"text": "Hello!"})
    assert output.produced == 1 and "channel_not_found" in caplog.text


async def test_refused_blocks_still_deliver_the_text(slack_api):
    client, workspace = slack_api
    workspace.faults.mode, workspace.faults.error, workspace.faults.remaining = "not_ok", "invalid_blocks", 1
    await SlackOutput(client, "C0BILLING", None).send_response("x", {"text": "Hello!"})
    assert workspace.messages[-1]["text"] == "Hello!" and workspace.messages[-1]["blocks"] == []


async def test_a_push_reaches_the_staff_members_dm_by_the_stored_address(slack_api, db_url):
    client, workspace = slack_api
    with session_scope(db_url) as session:
        remember(session, "slack:T0LAKESHORE:U0MEICHEN", "slack",
                 {"team_id": "T0LAKESHORE", "user": "U0MEICHEN", "channel": "C0BILLING", "thread_ts": "1.2"})
    push = SlackOutput(client, database_url=db_url)
    await push.send_response("slack:T0LAKESHORE:U0MEICHEN", {"text": "ESC-1 is resolved."})
    posted = workspace.messages[-1]
    assert (posted["channel"], posted.get("thread_ts"), posted["text"]) == ("D0MEICHEN", None, "ESC-1 is resolved.")
    with pytest.raises(SlackDeliveryError):
        await push.send_response("slack:T0LAKESHORE:U0NOBODY", {"text": "x"})
    workspace.faults.mode = "error_500"  # a push that fails raises: the worker tries again later
    with pytest.raises(SlackApiError):
        await push.send_response("slack:T0LAKESHORE:U0MEICHEN", {"text": "x"})


# --- a turn, in process: the channel's side of it, with a stand-in for Rasa's handler ------------


@pytest.fixture()
async def channel(slack_api, db_url, monkeypatch):
    client, workspace = slack_api
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", client.settings.api_url)
    slack = SlackInput()
    slack.client = client
    return slack, workspace


AGENT = SimpleNamespace(domain=SimpleNamespace(intents=["greet", "affirm", "restart"]))


def _turn(user: str, text: str, **where) -> SlackTurn:
    return turn_from_event(message_event(user, text, **where))


async def test_a_staff_turn_carries_the_verified_caller_and_their_slack_language(channel, db_url):
    slack, workspace = channel
    received: list[UserMessage] = []

    async def handle(message: UserMessage) -> None:
        received.append(message)
        await message.output_channel.send_response(message.sender_id, {"text": "hi"})

    await slack._turn(AGENT, handle, _turn("U0LIWEI", f"<@{BOT_USER_ID}> /restart 账单", channel="C0BILLING",
                                           ts="1700000001.000200"))
    (message,) = received
    assert message.sender_id == "slack:T0LAKESHORE:U0LIWEI" and message.input_channel == "slack"
    assert message.text != "/restart 账单" and "账单" in message.text  # a typed command is only words
    assert message.metadata["caller"] == {"kind": "staff", "partner_id": "P-01", "staff_name": "Li Wei",
                                          "role": "read_only", "staff_id": message.metadata["caller"]["staff_id"]}
    assert message.metadata["locale"] == "zh"  # users.info: zh-CN
    assert (workspace.messages[-1]["channel"], workspace.messages[-1]["thread_ts"]) == ("C0BILLING",
                                                                                       "1700000001.000200")
    with session_scope(db_url) as session:
        assert address_of(session, "slack:T0LAKESHORE:U0LIWEI").values["channel"] == "C0BILLING"


async def test_a_turn_that_produced_no_reply_says_it_is_unavailable(channel):
    slack, workspace = channel

    async def silent(_message: UserMessage) -> None:
        return None

    async def broken(_message: UserMessage) -> None:
        raise RuntimeError("the action server is down")

    for handle in (silent, broken):
        await slack._turn(AGENT, handle, _turn("U0MEICHEN", "hello"))
        assert workspace.messages[-1]["text"] == render("temporarily_unavailable", "en").text


async def test_someone_not_in_the_directory_never_reaches_the_assistant(channel):
    slack, workspace = channel
    received = []

    async def handle(message: UserMessage) -> None:
        received.append(message)

    await slack._turn(AGENT, handle, _turn("U0STRANGER", "which customers are overdue?"))
    assert received == [] and workspace.messages[-1]["text"] == render("staff.not_in_directory", "en").text
    assert workspace.messages[-1]["channel"] == "D0STRANGER"

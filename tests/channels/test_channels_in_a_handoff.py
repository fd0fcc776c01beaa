"""The channels' side of a live handoff, in process: one admission for every turn (ownership, then
the desk hears the customer wrote), no "temporarily unavailable" while an agent has the chat, the
agent's name on Slack, Teams and the widget, the rating buttons, and typing both ways. A real
seeded SQLite database, the desk's own functions, the Slack and Bot Framework stand-ins over HTTP,
and a stand-in for Rasa's message handler (a paused tracker answers nothing). The same through
the real Rasa server: tests/e2e/test_handoff_channels.py and test_handoff_widget.py."""
from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select

from bot.caller import CUSTOMER_TOKEN_KEY, resolve_caller
from bot.channels.botframework import BotFrameworkInput
from bot.channels.guard import neutralise_commands
from bot.channels.rest import BillingRestInput
from bot.channels.slack import SlackOutput, turn_from_event, turn_from_interaction
from bot.channels.typing import typing_route, typing_signal
from bot.channels.widget import _history, bot_message
from bot.config import load_botframework_settings, load_channel_settings, load_settings
from bot.channels.guard import inbound_from_rest
from bot.conversations.addresses import remember
from bot.conversations.turns import CustomerTyping, admit_turn
from bot.db import session_scope
from bot.handoff import queue as desk
from bot.handoff.models import Handoff, SupportAgent
from bot.identity import issue_token
from bot.integrations.botframework import BotFrameworkClient, PAYLOAD_KEY, activity_from_message
from bot.integrations.slack_blocks import SECTION_CHARS, slack_message
from bot.replies import render
from devservers.slack.events import button_click, message_event
from devservers.teams.signing import DEFAULT_TENANT_ID, Person, build_activity, sign_channel_token
from tests.channels.test_slack import slack_api  # noqa: F401  (a fixture: the Slack stand-in, in process)
from tests.channels.test_botframework_channel import standin  # noqa: F401  (a fixture: the Bot Framework stand-in)

MEI_SLACK = "slack:T0LAKESHORE:U0MEICHEN"
MEI = Person("a1a1a1a1-0000-4000-8000-000000000001", name="Mei Chen")
MEI_TEAMS = f"teams:{DEFAULT_TENANT_ID}:{MEI.aad_object_id}"
RATE = "handoff.closed_rate"


def _agent(session, login: str) -> SupportAgent:
    return session.scalar(select(SupportAgent).where(SupportAgent.login == login))


def hand_over(db_url: str, conversation_id: str, channel: str, *, claim: bool = True, reply: str | None = None) -> int:
    """The conversation in P-01's queue (as the bot's handoff action puts it there); Ana claims it."""
    with session_scope(db_url) as session:
        handoff = desk.request_handoff(session, conversation_id=conversation_id, partner_id="P-01", channel=channel,
                                       customer_id=None, requester="Mei Chen", reason="asked").handoff
        session.flush()
        if claim:
            desk.claim(session, _agent(session, "ana"), handoff.id)
        if reply:
            desk.reply(session, _agent(session, "ana"), handoff.id, reply)
        return handoff.id


def handoff_row(db_url: str, handoff_id: int) -> Handoff:
    with session_scope(db_url) as session:
        row = session.get(Handoff, handoff_id)
        session.expunge(row)
        return row


def customer(customer_id: str):
    return resolve_caller({CUSTOMER_TOKEN_KEY: issue_token(customer_id)}, load_settings())


# --- one admission for every channel ----------------------------------------------------------------

def test_a_turn_is_admitted_for_the_owner_only_and_tells_whether_an_agent_has_the_chat(db_url):
    contoso = customer("C-1001")
    assert admit_turn(db_url, "widget-c-1", contoso).allowed
    assert admit_turn(db_url, "widget-c-1", contoso).handoff_status is None
    handoff_id = hand_over(db_url, "widget-c-1", "widget", claim=False)
    waiting = admit_turn(db_url, "widget-c-1", contoso)
    assert waiting.allowed and waiting.handoff_status == "waiting" and not waiting.with_agent  # the bot still answers
    with session_scope(db_url) as session:
        desk.claim(session, _agent(session, "ana"), handoff_id)
        desk.reply(session, _agent(session, "ana"), handoff_id, "Hello, I'm Ana.")
    assert handoff_row(db_url, handoff_id).awaiting_agent_since is None  # Ana answered last
    stranger = admit_turn(db_url, "widget-c-1", customer("C-1002"))
    assert not stranger.allowed and not stranger.with_agent
    assert handoff_row(db_url, handoff_id).awaiting_agent_since is None  # someone else's words start no clock
    claimed = admit_turn(db_url, "widget-c-1", contoso)
    assert claimed.allowed and claimed.with_agent
    assert handoff_row(db_url, handoff_id).awaiting_agent_since is not None  # the next-response clock runs


def test_customer_typing_reaches_the_desk_at_most_once_per_conversation_every_two_seconds(db_url):
    handoff_id = hand_over(db_url, "widget-c-2", "widget")
    typing = CustomerTyping(seconds=2)
    assert typing.signal(db_url, "widget-c-2", now=100.0)
    assert handoff_row(db_url, handoff_id).customer_typing_at is not None
    assert not typing.signal(db_url, "widget-c-2", now=101.0)  # throttled: nothing written
    assert typing.signal(db_url, "widget-c-2", now=102.5)
    assert not typing.signal(db_url, "widget-c-3", now=102.5)  # due, but no agent has that conversation
    assert typing.due("widget-c-4", now=102.5) and not typing.due("widget-c-4", now=103.0)


# --- the typing route, behind the Rasa API token ------------------------------------------------------

def _request(body: object, authorization: str | None = None) -> SimpleNamespace:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return SimpleNamespace(body=raw, headers={"Authorization": authorization} if authorization else {})


async def test_the_typing_route_wants_the_api_token_and_a_well_formed_signal(monkeypatch):
    shown = []

    async def show(signal):
        shown.append(signal)

    good = {"conversation_id": "widget-c-1", "name": "Ana Agent", "typing": True}
    monkeypatch.delenv("RASA_API_TOKEN", raising=False)
    assert (await typing_route(_request(good, "Bearer anything"), show)).status == 401  # no token set: refused
    monkeypatch.setenv("RASA_API_TOKEN", "the-api-token")
    for authorization in (None, "Bearer wrong", "the-api-token", "Basic the-api-token"):
        assert (await typing_route(_request(good, authorization), show)).status == 401
    for bad in (b"not json", [good], {**good, "typing": "yes"}, {**good, "name": ""}, {**good, "name": "x" * 121},
                {"name": "Ana"}, {**good, "conversation_id": "c" * 129}):
        answer = await typing_route(_request(bad, "Bearer the-api-token"), show)
        assert answer.status == 400 and json.loads(answer.body)["error"] == "invalid_body"
    assert shown == []
    answer = await typing_route(_request(good, "Bearer the-api-token"), show)
    assert answer.status == 200 and [(s.conversation_id, s.name, s.typing) for s in shown] == [
        ("widget-c-1", "Ana Agent", True)]
    assert typing_signal(json.dumps({"conversation_id": "c", "name": " Bo "}).encode()).typing is True


# --- the widget: what it is sent -------------------------------------------------------------------

def test_the_widget_gets_the_agents_name_live_and_in_the_history():
    words = {"text": "I've refunded the duplicate charge.", "custom": {"agent": {"name": "Ana Agent"}}}
    assert bot_message(words)["custom"]["agent"] == {"name": "Ana Agent"}
    rate = render(RATE, "en", name="Ana Agent").message()
    tracker = DialogueStateTracker.from_events("c", [
        UserUttered("I want a person"), BotUttered(words["text"], {"custom": words["custom"]}),
        BotUttered(rate["text"], {"buttons": rate["buttons"]}), UserUttered('/rate_support{"satisfaction": "5"}')])
    shown = _history(tracker, 10, None)
    assert shown[1]["custom"]["agent"]["name"] == "Ana Agent" and "agent" not in shown[2].get("custom", {})
    assert [b["title"] for b in shown[2]["buttons"]] == ["1", "2", "3", "4", "5"]
    assert shown[3] == {"sender": "user", "text": "5"}  # the rating, shown as the button clicked


# --- Slack -----------------------------------------------------------------------------------------------

def test_an_agents_message_in_slack_has_their_name_in_bold_and_quotes_nothing_into_markup():
    message = slack_message({"text": "<!channel> refund *sent* & done", "custom": {"agent": {"name": "Ana <Agent>"}}})
    label, words = message.blocks
    assert label == {"type": "context", "elements": [{"type": "mrkdwn", "text": "*Ana &lt;Agent&gt;*"}]}
    assert words["text"] == {"type": "mrkdwn", "text": "&lt;!channel&gt; refund *sent* &amp; done"}
    assert message.text == "Ana &lt;Agent&gt;: &lt;!channel&gt; refund *sent* &amp; done"
    long = slack_message({"text": "&" * 4000, "custom": {"agent": {"name": "Ana"}}})
    assert all(len(b["text"]["text"]) <= SECTION_CHARS for b in long.blocks[1:])
    assert "".join(b["text"]["text"] for b in long.blocks[1:]) == "&amp;" * 4000  # all of it, cut between characters
    assert slack_message({"text": "hi", "custom": {"agent": {"name": "  "}}}).blocks[0]["type"] == "section"


async def test_slack_shows_the_agent_and_the_rating_buttons_and_a_click_sends_the_rating(slack_api, db_url):
    client, workspace = slack_api
    with session_scope(db_url) as session:
        remember(session, MEI_SLACK, "slack", {"team_id": "T0LAKESHORE", "user": "U0MEICHEN", "channel": "D0MEICHEN",
                                               "thread_ts": None})
    push = SlackOutput(client, database_url=db_url)  # what Rasa's API uses with output_channel=latest
    await push.send_response(MEI_SLACK, {"text": "Ana here: <@U0LIWEI> & I are on it.",
                                         "custom": {"agent": {"name": "Ana Agent"}}})
    posted = workspace.messages[-1]
    assert posted["channel"] == "D0MEICHEN" and posted["blocks"][0]["elements"][0]["text"] == "*Ana Agent*"
    assert posted["text"] == "Ana Agent: Ana here: &lt;@U0LIWEI&gt; &amp; I are on it."
    await push.send_response(MEI_SLACK, render(RATE, "en", name="Ana Agent").message())
    (actions,) = [b for b in workspace.messages[-1]["blocks"] if b["type"] == "actions"]
    assert [e["text"]["text"] for e in actions["elements"]] == ["1", "2", "3", "4", "5"]
    turn = turn_from_interaction(button_click("U0MEICHEN", actions["elements"][3]["value"], channel="D0MEICHEN"))
    assert turn.conversation_id == MEI_SLACK and turn.text == '/rate_support{"satisfaction": "4"}'
    assert neutralise_commands(turn.text, {"rate_support"}) == turn.text  # a domain intent's payload passes


@pytest.fixture()
async def slack_channel(slack_api, db_url, monkeypatch):
    from bot.channels.slack import SlackInput

    client, workspace = slack_api
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "test-slack-signing-secret-0123456789")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", client.settings.api_url)
    slack = SlackInput()
    slack.client = client
    return slack, workspace


PAUSED_RASA = SimpleNamespace(domain=SimpleNamespace(intents=["greet", "rate_support"]))


async def test_while_an_agent_has_a_slack_conversation_the_message_reaches_rasa_and_nothing_apologises(
        slack_channel, db_url):
    slack, workspace = slack_channel
    received: list[UserMessage] = []

    async def paused(message: UserMessage) -> None:  # a paused tracker: logged, no prediction, no reply
        received.append(message)

    handoff_id = hand_over(db_url, MEI_SLACK, "slack", reply="Hi Mei, Ana here.")
    await slack._turn(PAUSED_RASA, paused, turn_from_event(message_event("U0MEICHEN", "the invoice is G000100002")))
    assert [m.text for m in received] == ["the invoice is G000100002"]
    assert workspace.messages == []  # no "temporarily unavailable"
    assert handoff_row(db_url, handoff_id).awaiting_agent_since is not None  # Ana's clock runs
    with session_scope(db_url) as session:
        desk.close(session, _agent(session, "ana"), handoff_id)
    await slack._turn(PAUSED_RASA, paused, turn_from_event(message_event("U0MEICHEN", "hello?")))
    assert workspace.messages[-1]["text"] == render("temporarily_unavailable", "en").text  # the bot's again


# --- Teams -----------------------------------------------------------------------------------------------

def test_an_agents_message_in_teams_is_a_card_with_their_name_over_the_words():
    activity = activity_from_message({"text": "Refund sent.", "custom": {"agent": {"name": "Ana Agent"}}})
    (card,) = [a["content"] for a in activity["attachments"]]
    assert card["body"][0] == {"type": "TextBlock", "text": "Ana Agent", "weight": "Bolder", "color": "Accent",
                               "wrap": True}
    assert card["body"][1]["text"] == "Refund sent." and activity["summary"] == "Ana Agent: Refund sent."
    rate = activity_from_message(render(RATE, "en", name="Ana Agent").message())
    actions = rate["attachments"][0]["content"]["actions"]
    assert [a["title"] for a in actions] == ["1", "2", "3", "4", "5"]
    assert actions[4]["data"][PAYLOAD_KEY] == '/rate_support{"satisfaction": "5"}'


@pytest.fixture()
def teams_channel(standin):
    return BotFrameworkInput(BotFrameworkClient(load_botframework_settings()))


async def deliver(channel, handle, standin, activity):
    token = sign_channel_token(standin.key, issuer=standin.issuer, app_id=standin.app_id,
                               service_url=activity["serviceUrl"])
    request = SimpleNamespace(body=json.dumps(activity).encode(), headers={"Authorization": f"Bearer {token}"},
                              app=SimpleNamespace(ctx=SimpleNamespace(agent=PAUSED_RASA)))
    response = await channel._receive(request, handle)
    if channel._tasks:
        await asyncio.gather(*channel._tasks)
    return response


def teams_message(standin, text: str, **kwargs) -> dict:
    return build_activity(MEI, text, service_url=f"{standin.base}/", app_id=standin.app_id, **kwargs)


async def test_in_teams_an_agent_takes_over_typing_shows_both_ways_and_the_bot_stays_quiet(
        teams_channel, standin, db_url, monkeypatch):
    received: list[UserMessage] = []

    async def paused(message: UserMessage) -> None:
        received.append(message)

    hello = teams_message(standin, "I need a person")
    await deliver(teams_channel, paused, standin, hello)  # no handoff yet: the silent bot is a failure
    assert [a["activity"]["text"] for a in standin.activities] == [render("temporarily_unavailable", "en").text]
    handoff_id = hand_over(db_url, MEI_TEAMS, "botframework", reply="Hi Mei, Ana here.")
    standin.activities.clear()
    await deliver(teams_channel, paused, standin, teams_message(standin, "thanks, it's about G000100002"))
    assert [m.text for m in received][-1] == "thanks, it's about G000100002" and standin.activities == []
    assert handoff_row(db_url, handoff_id).awaiting_agent_since is not None

    # The staff member types: Teams sends a typing activity; the desk records it for the console.
    typing = {**teams_message(standin, ""), "type": "typing"}
    typing.pop("text")
    assert (await deliver(teams_channel, paused, standin, typing)).status == 200
    assert handoff_row(db_url, handoff_id).customer_typing_at is not None

    # The agent types: the console's push calls the channel's typing route; Teams gets a typing activity.
    monkeypatch.setenv("RASA_API_TOKEN", "the-api-token")
    body = {"conversation_id": MEI_TEAMS, "name": "Ana Agent", "typing": True}
    answer = await typing_route(_request(body, "Bearer the-api-token"), teams_channel._show_agent_typing)
    assert answer.status == 200
    ((sent,),) = [[a for a in standin.activities if a["activity"]["type"] == "typing"]]
    assert sent["conversation_id"] == hello["conversation"]["id"] and sent["activity"]["recipient"]["id"] == MEI.user_id
    nobody = await typing_route(_request({**body, "conversation_id": "teams:x:y"}, "Bearer the-api-token"),
                                teams_channel._show_agent_typing)
    assert nobody.status == 404 and json.loads(nobody.body)["error"] == "no_teams_chat"


# --- REST --------------------------------------------------------------------------------------------------

async def test_a_rest_turn_while_an_agent_has_the_chat_is_not_answered_unavailable(db_url):
    token = issue_token("C-1001")
    received: list[UserMessage] = []

    async def paused(message: UserMessage) -> None:
        received.append(message)

    limits, settings = load_channel_settings(), load_settings()

    async def say(text: str) -> list[dict]:
        body = json.dumps({"sender": "rest-c-1", "message": text, "metadata": {"customer_token": token}}).encode()
        return await BillingRestInput()._answer(PAUSED_RASA, paused, inbound_from_rest(body, limits), settings, limits)

    assert [m["text"] for m in await say("hello")] == [render("temporarily_unavailable", "en").text]
    hand_over(db_url, "rest-c-1", "rest")
    assert await say("it's about the duplicate charge") == []  # Ana's words come with a later answer
    assert received[-1].text == "it's about the duplicate charge"


def test_the_pages_widget_strings_say_the_same_in_both_languages():
    import re

    from devservers.partner_site.server import TEXT

    assert TEXT["en"].keys() == TEXT["zh"].keys()
    for key, english in TEXT["en"].items():
        assert set(re.findall(r"\{(\w+)\}", english)) == set(re.findall(r"\{(\w+)\}", TEXT["zh"][key])), key
    assert TEXT["zh"]["typing"].format(name="Ana Agent") == "Ana Agent 正在输入…"

"""Our Teams channel (bot/channels/botframework.py) without a Rasa server: a real seeded database,
the local Bot Framework stand-in over HTTP on the test's event loop, and a stand-in for Rasa's
message handler. The same paths through the real Rasa server: tests/e2e/test_teams_channel.py."""
from __future__ import annotations

import asyncio
import json
import os
from types import SimpleNamespace

import pytest

from bot.caller import CALLER_KEY
from bot.channels.botframework import BotFrameworkInput, TeamsPushOutput, address_values, tenant_of, text_of
from bot.config import load_botframework_settings
from bot.conversations.addresses import address_of
from bot.db import session_scope
from bot.integrations.botframework import BotFrameworkClient, BotFrameworkError
from bot.replies import render
from devservers.teams import TeamsStandIn, bot_env, start
from devservers.teams.server import Fault
from devservers.teams.signing import DEFAULT_TENANT_ID, Person, build_activity, sign_channel_token

MEI = Person("a1a1a1a1-0000-4000-8000-000000000001", name="Mei Chen")
STRANGER = Person("a1a1a1a1-0000-4000-8000-0000000000ff")
ELSEWHERE = Person(MEI.aad_object_id, tenant_id="0f0f0f0f-0000-4000-8000-00000000beef")


@pytest.fixture()
async def standin(tmp_path, db_url, monkeypatch):
    server = TeamsStandIn(key_file=tmp_path / "standin" / "key.pem")
    runner, base = await start(server)
    server.base = base
    for name in [n for n in os.environ if n.startswith("BOTFRAMEWORK_")]:
        monkeypatch.delenv(name)
    for name, value in bot_env(int(base.rsplit(":", 1)[1]), server).items():
        monkeypatch.setenv(name, value)
    yield server
    await runner.cleanup()


class FakeRasa:
    """What Rasa does with a UserMessage, reduced to: remember it, and answer with a greeting."""

    def __init__(self, answer: bool = True):
        self.messages = []
        self.answer = answer
        self.agent = SimpleNamespace(domain=SimpleNamespace(intents=["greet", "affirm"]))

    async def __call__(self, message):
        self.messages.append(message)
        if self.answer:
            await message.output_channel.send_response(message.sender_id, render("greet", "en").message())


@pytest.fixture()
def channel(standin):
    return BotFrameworkInput(BotFrameworkClient(load_botframework_settings()))


async def deliver(channel, rasa, standin, activity, token=None):
    token = token or sign_channel_token(standin.key, issuer=standin.issuer, app_id=standin.app_id,
                                        service_url=activity["serviceUrl"])
    request = SimpleNamespace(body=json.dumps(activity).encode(), headers={"Authorization": f"Bearer {token}"},
                              app=SimpleNamespace(ctx=SimpleNamespace(agent=rasa.agent)))
    response = await channel._receive(request, rasa)
    if channel._tasks:
        await asyncio.gather(*channel._tasks)
    return response


def activity(person, text, **kwargs):
    return build_activity(person, text, service_url="http://127.0.0.1:1/", app_id="x", **kwargs)


def sent(standin, base_activity=None):
    return [a["activity"] for a in standin.activities
            if base_activity is None or a["activity"].get("replyToId") == base_activity["id"]]


def teams_activity(standin, person, text, **kwargs):
    return build_activity(person, text, service_url=f"{standin.base}/", app_id=standin.app_id, **kwargs)


async def test_a_staff_members_message_reaches_rasa_as_them_and_the_reply_reaches_their_chat(channel, standin, db_url):
    rasa = FakeRasa()
    hello = teams_activity(standin, MEI, "你好", locale="zh-CN")
    response = await deliver(channel, rasa, standin, hello)
    assert response.status == 200
    [message] = rasa.messages
    assert message.sender_id == f"teams:{DEFAULT_TENANT_ID}:{MEI.aad_object_id}"
    assert message.input_channel == "botframework" and message.text == "你好"
    caller = message.metadata[CALLER_KEY]
    assert caller["kind"] == "staff" and caller["staff_name"] == "Mei Chen" and caller["role"] == "billing_admin"
    assert message.metadata["locale"] == "zh"
    [reply] = sent(standin, hello)
    assert reply["text"] == render("greet", "en").text and reply["conversation"]["id"] == hello["conversation"]["id"]
    with session_scope(db_url) as session:
        address = address_of(session, message.sender_id)
    assert address.platform == "teams" and address.values["personal_conversation_id"] == hello["conversation"]["id"]


async def test_another_tenants_activity_is_refused_with_403_before_anything_runs(channel, standin):
    rasa = FakeRasa()
    response = await deliver(channel, rasa, standin, teams_activity(standin, ELSEWHERE, "hello"))
    assert response.status == 403 and rasa.messages == [] and standin.activities == []
    no_tenant = teams_activity(standin, MEI, "hello")
    del no_tenant["channelData"], no_tenant["conversation"]["tenantId"]
    assert (await deliver(channel, rasa, standin, no_tenant)).status == 403


async def test_a_bad_token_is_403_and_a_body_that_is_not_an_activity_is_400(channel, standin):
    rasa = FakeRasa()
    hello = teams_activity(standin, MEI, "hello")
    assert (await deliver(channel, rasa, standin, hello, token="a.b.c")).status == 403
    request = SimpleNamespace(body=b"[1]", headers={}, app=None)
    assert (await channel._receive(request, rasa)).status == 400
    assert rasa.messages == [] and standin.activities == []


async def test_someone_not_in_the_directory_is_answered_by_the_channel_and_never_reaches_rasa(channel, standin):
    rasa = FakeRasa()
    hello = teams_activity(standin, STRANGER, "which customers are overdue?")
    assert (await deliver(channel, rasa, standin, hello)).status == 200
    assert rasa.messages == []
    assert [a["text"] for a in sent(standin, hello)] == [render("staff.not_in_directory", "en").text]


async def test_a_turn_without_a_reply_says_it_is_unavailable(channel, standin):
    hello = teams_activity(standin, MEI, "hello")
    await deliver(channel, FakeRasa(answer=False), standin, hello)
    assert [a["text"] for a in sent(standin, hello)] == [render("temporarily_unavailable", "en").text]


async def test_a_redelivered_activity_is_handled_once_and_other_activity_types_are_only_acknowledged(channel, standin):
    rasa = FakeRasa()
    hello = teams_activity(standin, MEI, "hello")
    assert (await deliver(channel, rasa, standin, hello)).status == 200
    assert (await deliver(channel, rasa, standin, hello)).status == 200
    assert len(rasa.messages) == 1 and len(sent(standin, hello)) == 1
    update = {**teams_activity(standin, MEI, ""), "type": "conversationUpdate", "membersAdded": [{"id": "28:x"}]}
    assert (await deliver(channel, rasa, standin, update)).status == 200
    assert len(rasa.messages) == 1


async def test_typed_commands_are_words_and_card_buttons_send_their_payload(channel, standin):
    rasa = FakeRasa()
    await deliver(channel, rasa, standin, teams_activity(standin, MEI, "/restart"))
    pressed = teams_activity(standin, MEI, "", value={"payload": "/affirm"})
    pressed["text"] = ""
    await deliver(channel, rasa, standin, pressed)
    assert [m.text for m in rasa.messages] == ["restart", "/affirm"]


async def test_a_push_reaches_the_personal_chat_opened_after_a_channel_conversation(channel, standin, db_url):
    rasa = FakeRasa()
    in_channel = teams_activity(standin, MEI, "hello", conversation_type="channel")
    await deliver(channel, rasa, standin, in_channel)
    assert rasa.messages[0].text == "hello"  # the @mention is not part of what was said
    output = channel.get_output_channel()
    assert isinstance(output, TeamsPushOutput)
    sender = rasa.messages[0].sender_id
    await output.send_response(sender, {"text": "News on ESC-1"})
    await output.send_response(sender, {"text": "More news"})
    pushed = [a for a in standin.activities if a["activity"]["text"] in ("News on ESC-1", "More news")]
    personal = pushed[0]["conversation_id"]
    assert [a["conversation_id"] for a in pushed] == [personal, personal]
    assert personal != in_channel["conversation"]["id"]
    assert list(standin.conversations) == [personal]  # opened once, then remembered
    assert standin.conversations[personal]["user_id"] == MEI.user_id
    with session_scope(db_url) as session:
        assert address_of(session, sender).values["personal_conversation_id"] == pushed[0]["conversation_id"]


async def test_a_push_without_an_address_or_with_the_connector_down_raises_so_the_worker_retries(channel, standin):
    output = channel.get_output_channel()
    with pytest.raises(BotFrameworkError):
        await output.send_response("teams:nobody:nobody", {"text": "News"})
    rasa = FakeRasa()
    await deliver(channel, rasa, standin, teams_activity(standin, MEI, "hello"))
    standin.faults["connector"] = Fault(500, 10)
    channel.client.sleep = _no_wait
    with pytest.raises(BotFrameworkError):
        await output.send_response(rasa.messages[0].sender_id, {"text": "News"})


async def _no_wait(_seconds: float) -> None:
    return None


def test_tenant_text_and_address_of_an_activity():
    personal = activity(MEI, "hello")
    assert tenant_of(personal) == DEFAULT_TENANT_ID
    assert tenant_of({"conversation": {"tenantId": "t-2"}}) == "t-2" and tenant_of({}) is None
    in_channel = activity(MEI, "which customers are overdue?", conversation_type="channel")
    assert in_channel["text"].startswith("<at>") and text_of(in_channel) == "which customers are overdue?"
    colleague = {**in_channel, "text": "<at>Billing desk</at> ask <at>Li Wei</at> about it"}
    assert text_of(colleague) == "ask <at>Li Wei</at> about it"  # markup goes later, the name stays
    values = address_values(in_channel, DEFAULT_TENANT_ID, {"personal_conversation_id": "a:before"})
    assert values["conversation_type"] == "channel" and values["personal_conversation_id"] == "a:before"
    assert values["reply_to_id"] == in_channel["id"] and values["user_id"] == MEI.user_id
    assert address_values(personal, DEFAULT_TENANT_ID, None)["personal_conversation_id"] == \
        personal["conversation"]["id"]

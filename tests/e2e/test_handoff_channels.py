"""A support agent takes over conversations that came in on Slack, Teams and REST, end to end: the
handoff made through the domain on the stack's database (as the bot's handoff action and the
console will), delivered through the one conversation-push component to the real Rasa server,
and what reached the person asserted where they read it: as the local Slack and Bot Framework
stand-ins received it, or in the REST answer to their next request. The widget's socket:
test_handoff_widget.py."""
from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from sqlalchemy import select

from bot.conversations.push import ConversationPush
from bot.db import session_scope
from bot.handoff import queue as desk
from bot.handoff.delivery import deliver_pending
from bot.handoff.models import OPEN_STATUSES, WAITING, Handoff, SupportAgent
from bot.integrations.botframework import PAYLOAD_KEY
from bot.integrations.rasa_api import RasaApiClient
from bot.replies import render
from devservers.teams.signing import DEFAULT_TENANT_ID
from tests.e2e.conftest import RASA_PORT
from tests.e2e.slack_stand_in import all_text, click, posted, say, wait_for_posts
from tests.e2e.teams_stand_in import MEI, message, recorded, replies_to, send

pytestmark = pytest.mark.e2e

JOINED = render("handoff.agent_joined", "en", name="Ana Agent").text
UNAVAILABLE = render("temporarily_unavailable", "en").text
RATE = render("handoff.closed_rate", "en", name="Ana Agent")
MEI_DM = "D0MEICHEN"
MEI_SLACK = "slack:T0LAKESHORE:U0MEICHEN"
MEI_TEAMS = f"teams:{DEFAULT_TENANT_ID}:{MEI.aad_object_id}"


class SupportDesk:
    """The desk as the agent console drives it: the handoff domain on the stack's database, and the
    outbox delivered through ConversationPush to the stack's Rasa server."""

    def __init__(self, stack):
        self.database_url = stack.env["BOT_DATABASE_URL"]
        self.rasa = f"http://127.0.0.1:{RASA_PORT}"
        self.token = stack.rasa_api_token
        self.push = ConversationPush(RasaApiClient(self.rasa, self.token))
        self.handoffs: list[int] = []

    def _agent(self, session, login: str = "ana") -> SupportAgent:
        return session.scalar(select(SupportAgent).where(SupportAgent.login == login))

    def take_over(self, conversation_id: str, channel: str, requester: str, customer_id: str | None = None) -> int:
        """The conversation asks for a person and Ana claims it; what that says is delivered."""
        with session_scope(self.database_url) as session:
            handoff = desk.request_handoff(session, conversation_id=conversation_id, partner_id="P-01",
                                           channel=channel, customer_id=customer_id, requester=requester,
                                           reason="asked").handoff
            session.flush()
            self.handoffs.append(handoff.id)
            desk.claim(session, self._agent(session), handoff.id)
            handoff_id = handoff.id
        self.deliver(handoff_id)
        return handoff_id

    def reply(self, handoff_id: int, text: str) -> None:
        with session_scope(self.database_url) as session:
            desk.reply(session, self._agent(session), handoff_id, text)
        self.deliver(handoff_id)

    def close(self, handoff_id: int) -> None:
        with session_scope(self.database_url) as session:
            desk.close(session, self._agent(session), handoff_id)
        self.deliver(handoff_id)

    def deliver(self, handoff_id: int) -> None:
        outcome = deliver_pending(self.database_url, self.push, handoff_id)
        assert outcome.failed == 0 and outcome.given_up == 0, outcome

    def handoff(self, handoff_id: int) -> Handoff:
        with session_scope(self.database_url) as session:
            row = session.get(Handoff, handoff_id)
            session.expunge(row)
            return row

    def tracker(self, conversation_id: str) -> dict:
        answer = requests.get(f"{self.rasa}/conversations/{conversation_id}/tracker",
                              params={"token": self.token}, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def said_by_customer(self, conversation_id: str) -> list[str]:
        return [e.get("text") or "" for e in self.tracker(conversation_id)["events"] if e["event"] == "user"]

    def give_back_everything(self) -> None:
        """After a test: no conversation stays with Ana (its bot paused) for the next test."""
        for handoff_id in self.handoffs:
            with session_scope(self.database_url) as session:
                row = session.get(Handoff, handoff_id)
                if row is None or row.status not in OPEN_STATUSES:
                    continue
                if row.status == WAITING:
                    desk.cancel_handoff(session, row.conversation_id)
                else:
                    desk.close(session, self._agent(session), handoff_id)
            deliver_pending(self.database_url, self.push, handoff_id)


@pytest.fixture()
def support(stack):
    helper = SupportDesk(stack)
    yield helper
    helper.give_back_everything()


def quiet_for(read, seconds: float = 4.0):
    """What `read()` returns once it stayed the same for `seconds` (nothing more arrived)."""
    before = read()
    time.sleep(seconds)
    after = read()
    assert after == before, f"something arrived: {after[len(before):] if isinstance(after, list) else after}"
    return after


# --- Slack ------------------------------------------------------------------------------------------------

def test_an_agent_takes_over_a_slack_conversation_and_the_stand_in_receives_her_words(stack, slack_stand_in,
                                                                                      support):
    before = len(posted(MEI_DM))
    assert say(stack, "U0MEICHEN", "hello").status_code == 200
    wait_for_posts(MEI_DM, before)

    before = len(posted(MEI_DM))
    handoff_id = support.take_over(MEI_SLACK, "slack", "Mei Chen")
    support.reply(handoff_id, "Hi Mei, Ana here. Which customer is it about? <!channel>")
    new = wait_for_posts(MEI_DM, before, count=2)
    assert new[0]["text"] == JOINED
    words = new[1]
    assert words["text"] == "Ana Agent: Hi Mei, Ana here. Which customer is it about? &lt;!channel&gt;"
    assert words["blocks"][0] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "*Ana Agent*"}]}
    assert support.tracker(MEI_SLACK)["paused"] is True

    # Mei answers: it reaches Rasa (the transcript), the bot says nothing, nothing apologises.
    assert say(stack, "U0MEICHEN", "It's about Fabrikam's November invoice").status_code == 200
    quiet_for(lambda: posted(MEI_DM))
    assert support.said_by_customer(MEI_SLACK)[-1] == "It's about Fabrikam's November invoice"
    assert support.handoff(handoff_id).awaiting_agent_since is not None

    before = len(posted(MEI_DM))
    support.close(handoff_id)
    (rating,) = wait_for_posts(MEI_DM, before)
    assert rating["text"] == RATE.text and support.tracker(MEI_SLACK)["paused"] is False
    (actions,) = [b for b in rating["blocks"] if b["type"] == "actions"]
    assert [e["text"]["text"] for e in actions["elements"]] == ["1", "2", "3", "4", "5"]
    before = len(posted(MEI_DM))
    assert click(stack, "U0MEICHEN", actions["elements"][4]["value"], channel=MEI_DM,
                 message_ts=rating["ts"]).status_code == 200
    answer = all_text(wait_for_posts(MEI_DM, before))  # the bot is back and answers the click
    assert answer and UNAVAILABLE not in answer
    assert 'rate_support{"satisfaction": "5"}' in support.said_by_customer(MEI_SLACK)[-1]


# --- Teams ------------------------------------------------------------------------------------------------

def said(activity: dict) -> str:
    parts = [activity.get("text") or ""]
    for attachment in activity.get("attachments") or []:
        parts += [block.get("text", "") for block in attachment["content"].get("body", [])]
    return "\n".join(filter(None, parts))


def pushed_to(conversation: str, after: int, count: int, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [a for a in recorded()[after:] if a["conversation_id"] == conversation]
        if len(found) >= count:
            return [a["activity"] for a in found]
        time.sleep(0.3)
    raise AssertionError(f"fewer than {count} activities reached {conversation}: {recorded()[after:]}")


def test_an_agent_takes_over_a_teams_conversation_with_typing_and_the_connector_receives_her_words(
        stack, teams, support):
    hello = message(MEI, "hello")
    assert send(teams, hello).status_code == 200
    replies_to(hello)
    chat = hello["conversation"]["id"]  # the personal chat: where pushes go

    before = len(recorded())
    handoff_id = support.take_over(MEI_TEAMS, "botframework", "Mei Chen")
    assert support.push.typing(MEI_TEAMS, "botframework", "Ana Agent") is True
    support.reply(handoff_id, "Hi Mei, Ana here. Which customer is it about?")
    joined, typing, words = pushed_to(chat, before, 3)
    assert said(joined) == JOINED
    assert typing["type"] == "typing" and typing["recipient"]["id"] == MEI.user_id
    card = words["attachments"][0]["content"]
    assert card["body"][0]["text"] == "Ana Agent" and card["body"][0]["weight"] == "Bolder"
    assert card["body"][1]["text"] == "Hi Mei, Ana here. Which customer is it about?"

    answer = message(MEI, "Fabrikam, the November invoice")
    assert send(teams, answer).status_code == 200
    quiet_for(lambda: [a for a in recorded() if a["conversation_id"] == chat])
    assert support.said_by_customer(MEI_TEAMS)[-1] == "Fabrikam, the November invoice"

    before = len(recorded())
    support.close(handoff_id)
    (rating,) = pushed_to(chat, before, 1)
    actions = rating["attachments"][0]["content"]["actions"]
    assert said(rating) == RATE.text and [a["title"] for a in actions] == ["1", "2", "3", "4", "5"]
    pressed = message(MEI, "", value={PAYLOAD_KEY: actions[2]["data"][PAYLOAD_KEY]})
    assert send(teams, pressed).status_code == 200
    assert UNAVAILABLE not in "\n".join(said(a) for a in replies_to(pressed))  # the bot is back
    assert 'rate_support{"satisfaction": "3"}' in support.said_by_customer(MEI_TEAMS)[-1]


# --- REST -------------------------------------------------------------------------------------------------

def test_a_rest_customer_gets_the_agents_words_with_their_next_request(stack, support):
    sender = f"e2e-rest-{uuid.uuid4().hex[:8]}"

    def ask(text: str) -> list[dict]:
        answer = requests.post(stack.rest_url, json={"sender": sender, "message": text}, timeout=60)
        answer.raise_for_status()
        return answer.json()

    assert ask("hello")
    handoff_id = support.take_over(sender, "rest", "a visitor")
    support.reply(handoff_id, "Hello, this is Ana from support. How can I help?")
    first = ask("is anyone there?")
    assert [m["text"] for m in first] == [JOINED, "Hello, this is Ana from support. How can I help?"]
    assert first[1]["custom"]["agent"] == {"name": "Ana Agent"} and all(m["recipient_id"] == sender for m in first)
    assert ask("I was charged twice") == []  # with Ana: the bot is quiet, and nothing apologises
    assert support.said_by_customer(sender)[-2:] == ["is anyone there?", "I was charged twice"]

    support.close(handoff_id)
    after = ask("ok, thanks")
    assert after[0]["text"] == RATE.text and [b["title"] for b in after[0]["buttons"]] == ["1", "2", "3", "4", "5"]
    assert len(after) > 1 and UNAVAILABLE not in json.dumps(after)  # and the bot answers again

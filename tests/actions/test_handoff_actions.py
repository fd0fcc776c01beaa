"""Bringing in a person, run as the action server runs the actions, against the seeded database:
who is queued where, what the customer is told, the dispute form, the fallback, the bot's own
rule, cancelling, rating, and a new session that keeps a claimed conversation with its agent."""
from __future__ import annotations

import pytest

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.fallback import ActionDefaultFallback, ActionOfferTopics
from actions.handoff import (ActionApplyHandoffRules, ActionCancelHandoff, ActionHandOffClaim, ActionRateSupport,
                             ActionRequestHandoff, ActionSessionStart, score_of)
from bot.caller import CALLER_KEY, resolve_platform_caller
from bot.config import load_settings
from bot.db import session_scope
from bot.db.models import Invoice, Payment
from bot.handoff import queue as desk
from bot.handoff import rules
from bot.handoff.models import CLAIMED, Handoff, SupportAgent, SupportPolicy
from tests.conftest import TODAY, entity, make_tracker, run_action, texts, verified_metadata

MEI_SLACK = ("slack", "T0LAKESHORE", "U0MEICHEN")
STRANGER_SLACK = ("slack", "T0LAKESHORE", "U0NOBODY")


def conversation(*turns: tuple[str, str], token: str | None = None, sender: str = "conv-handoff",
                 slots: dict | None = None, active_loop: str | None = None, locale: str | None = None,
                 channel: str = "rest") -> Tracker:
    """A conversation of (text, intent) turns, each a user message the channel verified."""
    metadata = verified_metadata(customer_token=token) if token else {}
    if locale:
        metadata = {**metadata, "locale": locale}
    events, latest = [], {}
    for text, intent in turns:
        latest = {"text": text, "intent": {"name": intent, "confidence": 0.99},
                  "intent_ranking": [{"name": intent, "confidence": 0.99}], "entities": [], "metadata": metadata}
        events += [{"event": "user", "text": text, "parse_data": latest, "input_channel": channel,
                    "metadata": metadata},
                   {"event": "action", "name": "action_listen"}]
    events = events[:-1]
    return Tracker.from_dict({"sender_id": sender, "slots": slots or {}, "latest_message": latest, "events": events,
                              "paused": False, "followup_action": None,
                              "active_loop": {"name": active_loop} if active_loop else {},
                              "latest_action_name": "action_listen"})


def staff_tracker(text: str, who=MEI_SLACK, sender: str = "slack:T0LAKESHORE:U0MEICHEN") -> Tracker:
    state = make_tracker(text, intent="request_human", channel=who[0]).current_state()
    metadata = {CALLER_KEY: resolve_platform_caller(*who, load_settings().database_url).to_metadata()}
    state["latest_message"]["metadata"] = metadata
    state["events"][0]["metadata"] = metadata
    state["sender_id"] = sender
    return Tracker.from_dict(state)


def handoffs(db_url: str, conversation_id: str = "conv-handoff") -> list[Handoff]:
    with session_scope(db_url) as session:
        found = session.scalars(select(Handoff).where(Handoff.conversation_id == conversation_id)
                                .order_by(Handoff.id)).all()
        session.expunge_all()
        return list(found)


def slots_of(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def ask_for_a_person(token, sender="conv-handoff", text="I want to talk to a person", **kw):
    return await run_action(ActionRequestHandoff(), conversation((text, "request_human"), token=token,
                                                                 sender=sender, **kw))


# ----- asking for a person -------------------------------------------------------------------------

async def test_a_customer_joins_their_partners_queue_and_is_told_they_are_next(db_url, token_for):
    messages, _ = await run_action(ActionRequestHandoff(), conversation(
        ("why did my bill go up?", "explain_charge"), ("I want to talk to a person", "request_human"),
        token=token_for("C-1001")))
    said = texts(messages)
    assert said.startswith("I've asked the support team of Lakeshore Cloud Partners to join this chat. "
                           "You're next in line"), said
    assert messages[0]["buttons"] == [{"title": "Cancel, back to the assistant", "payload": "/cancel_handoff"}]
    [row] = handoffs(db_url)
    assert (row.partner_id, row.customer_id, row.requester, row.channel, row.reason, row.locale, row.status) == (
        "P-01", "C-1001", "Contoso Ltd", "rest", "asked", "en", "waiting")
    assert row.detail == "why did my bill go up? / I want to talk to a person"


async def test_asking_again_says_they_already_wait_and_a_second_customer_waits_behind(db_url, token_for):
    await ask_for_a_person(token_for("C-1001"))
    again, _ = await ask_for_a_person(token_for("C-1001"), text="hello? a human please")
    assert texts(again).startswith("You're already in the queue for a person, and you're next.")
    behind, _ = await ask_for_a_person(token_for("C-1003"), sender="conv-northwind")
    assert "There is 1 conversation ahead of you" in texts(behind)
    assert len(handoffs(db_url)) == 1
    third, _ = await ask_for_a_person(token_for("C-1003"), sender="conv-northwind")
    assert texts(third).startswith("You're already in the queue for a person: 1 conversation is ahead of you.")


async def test_in_chinese_the_reply_and_the_request_are_in_chinese(db_url, token_for):
    messages, _ = await ask_for_a_person(token_for("C-1002"), text="我要找人工客服", locale="zh-CN")
    assert texts(messages).startswith("我已请Lakeshore Cloud Partners的客服团队加入此对话。您是下一位")
    assert messages[0]["buttons"][0]["payload"] == "/cancel_handoff"
    [row] = handoffs(db_url)
    assert (row.locale, row.requester, row.detail) == ("zh", "Fabrikam Inc", "我要找人工客服")


async def test_partner_staff_on_slack_join_their_partners_queue_without_a_customer(db_url):
    messages, _ = await run_action(ActionRequestHandoff(), staff_tracker("can a person help me with this?"))
    assert "support team of Lakeshore Cloud Partners" in texts(messages)
    [row] = handoffs(db_url, "slack:T0LAKESHORE:U0MEICHEN")
    assert (row.partner_id, row.customer_id, row.requester, row.channel) == ("P-01", None, "Mei Chen", "slack")


async def test_someone_not_signed_in_is_told_to_sign_in_and_nothing_is_queued(db_url):
    messages, _ = await ask_for_a_person(None)
    assert texts(messages).startswith("A person from support can help once they know whose account it is")
    assert handoffs(db_url) == []
    stranger, _ = await run_action(ActionRequestHandoff(), staff_tracker("agent please", who=STRANGER_SLACK,
                                                                         sender="slack:T0LAKESHORE:U0NOBODY"))
    assert "Please ask your partner admin to add you." in texts(stranger)
    assert handoffs(db_url, "slack:T0LAKESHORE:U0NOBODY") == []


async def test_outside_staffed_hours_the_customer_learns_when_someone_answers(db_url, token_for):
    shanghai = ZoneInfo("Asia/Shanghai")
    opening_day = datetime.now(shanghai).date() + timedelta(days=3)  # never today, whatever the hour
    with session_scope(db_url) as session:
        policy = session.get(SupportPolicy, "P-01")
        policy.staffed_hours, policy.timezone = f"{opening_day.strftime('%a')} 03:00-03:01", "Asia/Shanghai"
    messages, _ = await ask_for_a_person(token_for("C-1001"))
    said = texts(messages)
    assert said.startswith("The support team of Lakeshore Cloud Partners isn't in right now."), said
    when = f"{opening_day.strftime('%a, %b')} {opening_day.day} at 3:00 AM"  # "Sun, Nov 29 at 3:00 AM"
    assert f"someone will answer from {when};" in said.replace("\u202f", " "), said
    assert handoffs(db_url)[0].status == "waiting"  # the request is kept


async def test_when_the_queue_cannot_be_reached_the_customer_is_told_and_may_ask_again(db_url, token_for, tmp_path,
                                                                                        monkeypatch):
    token = token_for("C-1001")
    monkeypatch.setenv("BOT_DATABASE_URL", f"sqlite:///{tmp_path / 'no-tables.sqlite3'}")
    messages, _ = await ask_for_a_person(token)
    assert texts(messages).startswith("I couldn't reach the support queue just now")


# ----- a dispute that a person takes over ---------------------------------------------------------

async def test_inside_a_dispute_the_form_ends_and_the_person_gets_the_invoice_and_the_words(db_url, token_for):
    tracker = conversation(("I want to contest a charge on my bill", "dispute_charge"), ("G000100002", "inform"),
                           ("I want to talk to a person about this", "request_human"), token=token_for("C-1001"),
                           slots={"dispute_invoice": "G000100002", "requested_slot": "dispute_charge"},
                           active_loop="dispute_form")
    tracker.events.insert(1, {"event": "active_loop", "name": "dispute_form"})  # begun by the first message
    messages, events = await run_action(ActionHandOffClaim(), tracker)
    assert texts(messages).startswith("Of course. A person from support will take this dispute over. "
                                      "I've asked the support team of Lakeshore Cloud Partners")
    assert {"event": "active_loop", "name": None} in [{k: e.get(k) for k in ("event", "name")} for e in events]
    assert slots_of(events)["dispute_invoice"] is None and slots_of(events)["requested_slot"] is None
    [row] = handoffs(db_url)
    assert row.reason == "dispute"
    assert row.detail == ("Dispute, invoice G000100002. In their words: I want to contest a charge on my bill / "
                          "G000100002 / I want to talk to a person about this")


async def test_a_dispute_not_handed_off_keeps_its_form(db_url, tmp_path, monkeypatch, token_for):
    token = token_for("C-1001")
    monkeypatch.setenv("BOT_DATABASE_URL", f"sqlite:///{tmp_path / 'no-tables.sqlite3'}")
    tracker = conversation(("I want a refund", "request_refund"), ("a person please", "request_human"), token=token,
                           slots={"refund_invoice": "G000100001"}, active_loop="refund_form")
    messages, events = await run_action(ActionHandOffClaim(), tracker)
    assert texts(messages).startswith("I couldn't reach the support queue")
    assert events == [{"event": "followup", "name": "refund_form", "timestamp": None}]


# ----- the model fails twice in a row -------------------------------------------------------------

async def test_the_first_miss_offers_topics_and_the_second_brings_in_a_person(db_url, token_for):
    token = token_for("C-1001")
    once, _ = await run_action(ActionOfferTopics(), conversation(("show invoice", "ask_invoice"),
                                                                 ("blorp zzz", "nlu_fallback"), token=token))
    assert texts(once).startswith("Sorry, I didn't understand that.") and handoffs(db_url) == []
    twice, _ = await run_action(ActionOfferTopics(), conversation(("blorp zzz", "nlu_fallback"),
                                                                  ("qwfp arst", "nlu_fallback"), token=token))
    assert texts(twice).startswith("I'm sorry, I'm still not getting it. Let me bring in a person. "
                                   "I've asked the support team of Lakeshore Cloud Partners"), texts(twice)
    [row] = handoffs(db_url)
    assert (row.reason, row.detail) == ("not_understood", "blorp zzz / qwfp arst")


async def test_misunderstood_twice_without_signing_in_is_told_to_sign_in(db_url):
    messages, _ = await run_action(ActionOfferTopics(), conversation(("blorp", "nlu_fallback"), ("zzz", "nlu_fallback")))
    assert "please sign in" in texts(messages) and handoffs(db_url) == []


# ----- the bot's own rule -------------------------------------------------------------------------

def test_the_rule_a_suspended_customer_who_says_they_paid_with_nothing_on_record(session):
    found = rules.person_needed(session, "C-1002", "payment_not_recorded", TODAY)
    assert found == rules.PersonNeeded(rules.UNRECORDED_PAYMENT, ("G000200001", "G000200002"))
    assert rules.person_needed(session, "C-1002", "ask_balance", TODAY) is None  # only after saying they paid
    assert rules.person_needed(session, "C-1001", "payment_not_recorded", TODAY) is None  # not suspended
    # A payment recorded since the suspension is on its way to restoring the service.
    invoice = session.scalar(select(Invoice).where(Invoice.number == "G000200001"))
    session.add(Payment(invoice_id=invoice.id, paid_on=date(2026, 11, 24), amount=Decimal("12400.00"),
                        method="bank_transfer", reference="BT-20261124-0001"))
    session.flush()
    assert rules.person_needed(session, "C-1002", "payment_not_recorded", TODAY) is None


async def test_the_rule_hands_a_suspended_customer_with_an_unrecorded_payment_to_a_person(db_url, token_for):
    said = "I transferred the money this morning, why is my service still off?"
    messages, _ = await run_action(ActionApplyHandoffRules(), conversation((said, "payment_not_recorded"),
                                                                          token=token_for("C-1002")))
    assert texts(messages).startswith("This is one for a person, so I'm bringing someone in. "
                                      "I've asked the support team of Lakeshore Cloud Partners"), texts(messages)
    [row] = handoffs(db_url)
    assert row.reason == "rule" and row.detail == (
        "Subscription suspended; they say they paid, but no payment is on record for G000200001 and G000200002. "
        f"In their words: {said}")
    quiet, _ = await run_action(ActionApplyHandoffRules(), conversation((said, "payment_not_recorded"),
                                                                       token=token_for("C-1001"), sender="conv-2"))
    assert quiet == [] and handoffs(db_url, "conv-2") == []


# ----- cancelling ---------------------------------------------------------------------------------

async def test_cancelling_leaves_the_queue_and_a_second_cancel_has_nothing_to_cancel(db_url, token_for):
    token = token_for("C-1001")
    await ask_for_a_person(token)
    cancel = conversation(("never mind, I don't need a person anymore", "cancel_handoff"), token=token)
    first, _ = await run_action(ActionCancelHandoff(), cancel)
    assert texts(first) == "OK, I've taken you out of the queue. I'm here if you need anything else."
    assert handoffs(db_url)[0].status == "cancelled"
    second, _ = await run_action(ActionCancelHandoff(), cancel)
    assert texts(second).startswith("You're not waiting for a person at the moment.")
    chinese, _ = await run_action(ActionCancelHandoff(), conversation(("不用转人工了", "cancel_handoff"),
                                                                      token=token, locale="zh-CN"))
    assert texts(chinese).startswith("您目前没有在等待人工客服")


async def test_a_plain_never_mind_leaves_the_queue_while_waiting_and_otherwise_drops_what_was_going_on(
        db_url, token_for):
    token = token_for("C-1001")
    never_mind = conversation(("never mind", "cancel"), token=token)
    nothing, _ = await run_action(ActionCancelHandoff(), never_mind)
    assert texts(nothing) == "OK, I've dropped that. What else can I help you with?"
    await ask_for_a_person(token)
    waiting, _ = await run_action(ActionCancelHandoff(), never_mind)
    assert texts(waiting).startswith("OK, I've taken you out of the queue.")
    assert handoffs(db_url)[0].status == "cancelled"


# ----- rating the help after the agent closed -----------------------------------------------------

async def a_closed_chat(db_url: str, token_for, customer: str) -> str:
    """The customer asked for a person in `test-conversation` (make_tracker's), Ana took it and
    closed it; their token."""
    token = token_for(customer)
    await ask_for_a_person(token, sender="test-conversation")
    with session_scope(db_url) as session:
        ana = session.scalar(select(SupportAgent).where(SupportAgent.login == "ana"))
        handoff = desk.open_handoff(session, "test-conversation")
        desk.claim(session, ana, handoff.id)
        desk.close(session, ana, handoff.id)
    return token


def rating(text: str, token: str, score: str | None = None, **kw) -> Tracker:
    return make_tracker(text, intent="rate_support", token=token,
                        entities=[entity("satisfaction", score)] if score else None, **kw)


async def test_the_rating_button_records_the_score_once(db_url, token_for):
    token = await a_closed_chat(db_url, token_for, "C-1001")
    messages, events = await run_action(ActionRateSupport(), rating('/rate_support{"satisfaction": "4"}', token, "4"))
    assert texts(messages) == "Thank you for rating the help 4 out of 5. Anything else I can do for you?"
    assert handoffs(db_url, "test-conversation")[0].satisfaction == 4
    assert slots_of(events)["satisfaction"] is None
    again, _ = await run_action(ActionRateSupport(), rating('/rate_support{"satisfaction": "5"}', token, "5"))
    assert texts(again).startswith("Thanks! There's no chat with a person waiting for your rating.")
    assert handoffs(db_url, "test-conversation")[0].satisfaction == 4


@pytest.mark.parametrize("typed, score", [("I'd give the agent five", 5), ("four stars, thanks", 4),
                                          ("that one was great: 3 out of 5", 3)])
def test_a_typed_score_is_read_as_digits_or_words(typed, score):
    assert score_of(rating(typed, "")) == score


def test_a_message_with_two_scores_or_none_is_asked_again():
    assert score_of(rating("between 3 and 4", "")) is None
    assert score_of(rating("the one I got was fine", "")) is None


async def test_a_low_typed_rating_is_passed_to_the_partner(db_url, token_for):
    token = await a_closed_chat(db_url, token_for, "C-1003")
    messages, _ = await run_action(ActionRateSupport(), rating("only 2, nobody solved it", token))
    assert texts(messages).startswith("Thank you for telling us (2 out of 5). I'm sorry it didn't go better; "
                                      "your rating goes to the support team of Lakeshore Cloud Partners.")
    assert handoffs(db_url, "test-conversation")[0].satisfaction == 2


async def test_a_rating_in_chinese_and_one_without_a_score(db_url, token_for):
    token = await a_closed_chat(db_url, token_for, "C-1002")
    unclear, _ = await run_action(ActionRateSupport(), rating("I'd rate it, sure", token))
    assert texts(unclear) == "Please rate the help from 1 (poor) to 5 (excellent)."
    assert [b["payload"] for b in unclear[0]["buttons"]][-1] == '/rate_support{"satisfaction": "5"}'
    state = rating("服务很好，打五分", token).current_state()  # the score in characters
    state["latest_message"]["metadata"]["locale"] = "zh-CN"
    messages, _ = await run_action(ActionRateSupport(), Tracker.from_dict(state))
    assert texts(messages).startswith("感谢您给出 5 分")
    assert handoffs(db_url, "test-conversation")[0].satisfaction == 5


# ----- a new session ------------------------------------------------------------------------------

async def session_start(db_url, conversation_id: str = "conv-handoff"):
    tracker = Tracker.from_dict({"sender_id": conversation_id, "slots": {"language": "zh"}, "latest_message": {},
                                 "events": [{"event": "slot", "name": "language", "value": "zh"}],
                                 "paused": True, "followup_action": None, "active_loop": {},
                                 "latest_action_name": "action_listen"})
    _, events = await run_action(ActionSessionStart(), tracker)
    return events


def kinds(events) -> list[str]:
    return [e["event"] for e in events]


async def test_a_new_session_keeps_a_claimed_conversation_paused_and_no_other(db_url, token_for):
    assert kinds(await session_start(db_url)) == ["session_started", "action"]  # no handoff
    await ask_for_a_person(token_for("C-1001"))
    assert kinds(await session_start(db_url)) == ["session_started", "action"]  # waiting: the bot still answers
    with session_scope(db_url) as session:
        ana = session.scalar(select(SupportAgent).where(SupportAgent.login == "ana"))
        assert desk.claim(session, ana, desk.open_handoff(session, "conv-handoff").id).status == CLAIMED
    events = await session_start(db_url)
    assert kinds(events) == ["session_started", "pause", "action"]
    assert events[-1]["name"] == "action_listen"


async def test_slots_are_carried_over_when_the_domain_says_so(db_url):
    tracker = Tracker.from_dict({"sender_id": "conv-new", "slots": {"language": "zh"}, "latest_message": {},
                                 "events": [{"event": "slot", "name": "language", "value": "zh"}],
                                 "paused": False, "followup_action": None, "active_loop": {},
                                 "latest_action_name": "action_listen"})
    events = await ActionSessionStart().run(CollectingDispatcher(), tracker,
                                            {"session_config": {"carry_over_slots_to_new_session": True}})
    assert [(e["event"], e.get("name"), e.get("value")) for e in events] == [
        ("session_started", None, None), ("slot", "language", "zh"), ("action", "action_listen", None)]


async def test_the_core_fallback_is_rasas_own_run_by_the_action_server(db_url):
    messages, events = await run_action(ActionDefaultFallback(), make_tracker("hmm", intent="greet"))
    assert messages[0]["response"] == "utter_default" and kinds(events) == ["rewind"]

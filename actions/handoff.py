"""Bringing in a person: the conversation joins its partner's support queue (bot.handoff.queue)
when the customer asks, when the bot failed to understand twice (actions.fallback), when a
customer in the middle of a dispute wants a person, or when the bot's own rules say so
(bot.handoff.rules). Also leaving the queue, rating the help after an agent closed the chat,
and keeping a conversation an agent holds with that agent when a new session starts.

Who asks decides whose queue: a customer's partner, or the partner of the staff member asking
from Slack, Teams or REST. Nobody anonymous is queued: an agent must know whose account it is.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (ActionExecuted, ActiveLoop, ConversationPaused, FollowupAction, SessionStarted,
                             SlotSet)
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.base import language_of_tracker, remember_language, say, tell_once
from actions.claims import reset_claim
from actions.customer import caller_of
from bot.caller import NOT_IN_DIRECTORY, Caller
from bot.config import Settings, load_settings
from bot.db import session_scope
from bot.db.models import Customer, Partner
from bot.handoff import queue as desk
from bot.handoff import rules
from bot.handoff.models import CLAIMED
from bot.nlp.words import scores_in
from bot.replies import Reply
from bot.replies.catalogue import Phrases

logger = logging.getLogger(__name__)

ASKED, NOT_UNDERSTOOD, DISPUTE, RULE = "asked", "not_understood", "dispute", "rule"
# Said before "I've asked the support team...", when the customer did not simply ask.
REASON_PHRASES = {NOT_UNDERSTOOD: "handoff.not_understood", DISPUTE: "handoff.for_dispute", RULE: "handoff.by_rule"}
CLAIM_FORMS = {"dispute_form": "handoff.detail_dispute", "refund_form": "handoff.detail_refund"}
CLAIM_INVOICE_SLOTS = {"dispute_form": "dispute_invoice", "refund_form": "refund_invoice"}
RECENT_TURNS = 3
MAX_WORDS_CHARS = 600  # of the customer's words in the detail; the agent has the whole transcript
SATISFACTION = "satisfaction"
PLAIN_CANCEL = "cancel"
LOW_RATING = 2


# ----- what the agent reads first ---------------------------------------------------------------

def customer_words(tracker: Tracker, since: int = 0, turns: int = RECENT_TURNS) -> str:
    """The customer's latest typed messages (buttons' /payloads left out), oldest first, short."""
    typed = [text.strip() for e in tracker.events[since:] if e.get("event") == "user"
             and (text := e.get("text") or "").strip() and not text.lstrip().startswith("/")]
    words = " / ".join(typed[-turns:])
    return words if len(words) <= MAX_WORDS_CHARS else words[:MAX_WORDS_CHARS - 1] + "…"


def form_start(tracker: Tracker) -> int:
    """Where the active form began: the message that started it, so its words are kept."""
    events = tracker.events
    started = max((i for i, e in enumerate(events) if e.get("event") == "active_loop"
                   and e.get("name") == tracker.active_loop_name), default=0)
    return max((i for i, e in enumerate(events[:started]) if e.get("event") == "user"), default=started)


def claim_detail(p: Phrases, tracker: Tracker) -> str:
    form = tracker.active_loop_name
    invoice = tracker.get_slot(CLAIM_INVOICE_SLOTS[form]) or p.say("handoff.detail_no_invoice")
    return p.say(CLAIM_FORMS[form], invoice=invoice, words=customer_words(tracker, form_start(tracker), turns=6))


# ----- the request -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Asker:
    partner_id: str
    partner: str  # its name, as the customer knows it
    customer_id: str | None  # None: partner staff
    name: str


def asker_of(session, caller: Caller) -> Asker | None:
    """The verified customer (from the billing records) or staff member; None: not someone a
    partner's agent can help."""
    if caller.is_customer:
        customer = session.get(Customer, caller.customer_id)
        if customer is None:
            return None
        return Asker(customer.partner_id, customer.partner.name, customer.id, customer.name)
    if caller.is_staff:
        partner = session.get(Partner, caller.partner_id)
        return Asker(partner.id, partner.name, None, caller.staff_name) if partner else None
    return None


def queued_reply(p: Phrases, requested: desk.Requested, partner: str, reason: str) -> Reply:
    """Someone will join: how many are ahead, or when the team is back; or that they already wait."""
    opens_at, ahead = requested.opens_at, requested.ahead
    if not requested.created:
        key = "handoff.already_next" if ahead == 0 else "handoff.already_waiting"
        text = p.say(key, count=ahead or None)
    elif opens_at is not None:
        key = "handoff.requested_closed"
        text = p.say(key, partner=partner, day=p.weekday(opens_at), time=p.clock(opens_at))
    else:
        key = "handoff.requested_next" if ahead == 0 else "handoff.requested_queue"
        text = p.say(key, partner=partner, count=ahead or None)
    why = p.say(REASON_PHRASES[reason]) if requested.created and reason in REASON_PHRASES else ""
    return Reply(key, p.language, p.sentences([why, text]), buttons=tuple(p.buttons(key)))


def _request(tracker: Tracker, settings: Settings, p: Phrases, caller: Caller, reason: str,
             detail: str | None) -> Reply | None:
    with session_scope(settings.database_url) as session:
        asker = asker_of(session, caller)
        if asker is None:
            return None
        requested = desk.request_handoff(
            session, conversation_id=tracker.sender_id, partner_id=asker.partner_id,
            channel=tracker.get_latest_input_channel() or "rest", customer_id=asker.customer_id,
            requester=asker.name, reason=reason, detail=detail or customer_words(tracker), locale=p.language)
        return queued_reply(p, requested, asker.partner, reason)


async def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str,
                   detail: str | None = None) -> bool:
    """Queue the conversation for a person and tell the customer; True when it is in the queue."""
    settings = load_settings()
    p = Phrases(language_of_tracker(tracker, settings), settings)
    caller = caller_of(tracker)
    if caller.token_problem == NOT_IN_DIRECTORY:  # on Slack or Teams, but not the partner's staff
        tell_once(dispatcher, tracker, "utter_staff.not_in_directory")
        return False
    if not (caller.is_customer or caller.is_staff):
        why = p.say(REASON_PHRASES[reason]) if reason in REASON_PHRASES else ""
        say(dispatcher, Reply("handoff.needs_sign_in", p.language, p.sentences([why, p.say("handoff.needs_sign_in")])))
        return False
    try:
        reply = await asyncio.to_thread(_request, tracker, settings, p, caller, reason, detail)
    except SQLAlchemyError:
        logger.exception("could not queue %s for a person", tracker.sender_id)
        say(dispatcher, Reply("handoff.unavailable", p.language, p.say("handoff.unavailable")))
        return False
    if reply is None:  # a token for a customer the records do not know
        logger.warning("handoff asked for by an unknown customer in %s", tracker.sender_id)
        dispatcher.utter_message(response="utter_sign_in_required")
        return False
    say(dispatcher, reply)
    return True


class ActionRequestHandoff(Action):
    """"I want to talk to a person"."""

    def name(self) -> str:
        return "action_request_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        await hand_off(dispatcher, tracker, ASKED)
        return remember_language(tracker, load_settings())


class ActionHandOffClaim(Action):
    """A person asked for in the middle of a dispute or refund request: the form ends and a person
    takes the claim over, with the invoice and what was said so far; the form's answers are not
    kept. When nothing could be queued, the form goes on (it asks its question again)."""

    def name(self) -> str:
        return "action_hand_off_claim"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        form = tracker.active_loop_name
        if form not in CLAIM_FORMS:  # the form ended meanwhile: an ordinary request
            await hand_off(dispatcher, tracker, ASKED)
            return [ActiveLoop(None)]
        settings = load_settings()
        p = Phrases(language_of_tracker(tracker, settings), settings)
        if not await hand_off(dispatcher, tracker, DISPUTE, claim_detail(p, tracker)):
            return [FollowupAction(form)]
        return [ActiveLoop(None), SlotSet(REQUESTED_SLOT, None), *reset_claim(), *remember_language(tracker, settings)]


class ActionApplyHandoffRules(Action):
    """After the bot answered, the bot's own rules (bot.handoff.rules) may say a person must take
    it further: then the conversation is handed off, reason `rule`. Otherwise it says nothing."""

    def name(self) -> str:
        return "action_apply_handoff_rules"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        caller = caller_of(tracker)
        if not caller.is_customer:
            return []
        settings = load_settings()
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        try:
            with session_scope(settings.database_url) as session:
                found = rules.person_needed(session, caller.customer_id, intent, settings.today())
        except SQLAlchemyError:
            logger.exception("could not check the handoff rules in %s", tracker.sender_id)
            return []  # the answer was given; a person is still one question away
        if found is None:
            return []
        p = Phrases(language_of_tracker(tracker, settings), settings)
        detail = p.say("handoff.detail_unrecorded_payment", invoices=p.listing(list(found.invoices)),
                       words=customer_words(tracker))
        await hand_off(dispatcher, tracker, RULE, detail)
        return []


class ActionCancelHandoff(Action):
    """"Never mind, I don't need a person anymore": out of the queue, back to the bot. A plain
    "cancel" / "never mind" comes here too: while the conversation waits for a person that is what
    it cancels, otherwise it drops whatever was going on, as it always did. A conversation an
    agent already holds is the agent's to hand back (the bot is quiet then)."""

    def name(self) -> str:
        return "action_cancel_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        settings = load_settings()
        p = Phrases(language_of_tracker(tracker, settings), settings)
        try:
            with session_scope(settings.database_url) as session:
                cancelled = desk.cancel_handoff(session, tracker.sender_id) is not None
        except SQLAlchemyError:
            logger.exception("could not cancel the handoff of %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_temporarily_unavailable")
            return []
        if not cancelled and (tracker.latest_message.get("intent") or {}).get("name") == PLAIN_CANCEL:
            dispatcher.utter_message(response="utter_cancelled")
            return remember_language(tracker, settings)
        key = "handoff.cancelled" if cancelled else "handoff.nothing_to_cancel"
        say(dispatcher, Reply(key, p.language, p.say(key)))
        return remember_language(tracker, settings)


def score_of(tracker: Tracker) -> int | None:
    """The 1-5 score: the rating button's entity, else the one score a typed answer holds, as a
    digit or a word ("I'd give it a 4", "five stars", "打5分", "打五分"). None: no single score in it."""
    values = [str(v).strip() for v in tracker.get_latest_entity_values(SATISFACTION)]
    if values:
        scores = {int(v) for v in values if v in {"1", "2", "3", "4", "5"}}
    else:
        scores = scores_in((tracker.latest_message or {}).get("text") or "")
    return scores.pop() if len(scores) == 1 else None


class ActionRateSupport(Action):
    """The answer to "how would you rate the help, 1 to 5?" asked after an agent closed the chat."""

    def name(self) -> str:
        return "action_rate_support"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        settings = load_settings()
        p = Phrases(language_of_tracker(tracker, settings), settings)
        done = [SlotSet(SATISFACTION, None), *remember_language(tracker, settings)]
        score = score_of(tracker)
        if score is None:
            say(dispatcher, Reply("handoff.rate_how", p.language, p.say("handoff.rate_how"),
                                  buttons=tuple(p.buttons("handoff.rate_how"))))
            return done
        try:
            with session_scope(settings.database_url) as session:
                rated = desk.record_satisfaction(session, tracker.sender_id, score)
                partner = session.get(Partner, rated.partner_id).name if rated else None
        except SQLAlchemyError:
            logger.exception("could not record the rating in %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_temporarily_unavailable")
            return done
        key = "handoff.nothing_to_rate" if rated is None else (
            "handoff.rated_low" if score <= LOW_RATING else "handoff.rated")
        say(dispatcher, Reply(key, p.language, p.say(key, score=score, partner=partner)))
        return done


# ----- a new session -----------------------------------------------------------------------------

def held_by_agent(database_url: str, conversation_id: str) -> bool:
    with session_scope(database_url) as session:
        handoff = desk.open_handoff(session, conversation_id)
        return handoff is not None and handoff.status == CLAIMED


class ActionSessionStart(Action):
    """Rasa's own session start (SessionStarted, the slots carried over when the domain says so,
    then listening), plus one thing: SessionStarted un-pauses a conversation, so one an agent holds
    is paused again, and stays with the agent after an hour's quiet or a restart."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = [SessionStarted()]
        if (domain.get("session_config") or {}).get("carry_over_slots_to_new_session"):
            events += [SlotSet(e["name"], e.get("value")) for e in tracker.applied_events() if e.get("event") == "slot"]
        try:
            paused = await asyncio.to_thread(held_by_agent, load_settings().database_url, tracker.sender_id)
        except SQLAlchemyError:
            # Without the database the bot cannot tell: the session starts as any other (logged).
            logger.exception("could not check whether an agent holds %s", tracker.sender_id)
            paused = False
        if paused:
            events.append(ConversationPaused())
        events.append(ActionExecuted("action_listen"))
        return events

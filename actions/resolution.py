"""Closing the loop: a resolved escalation is announced in the conversation it came from, and the
customer's answer to "is it solved?" is recorded ("no" reopens it with a note)."""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.base import Context, CustomerAction, replies_for, replies_in, say
from bot.config import load_settings
from bot.db import session_scope
from bot.escalation import records
from bot.caller import Caller
from bot.identity import verify_push_token
from bot.integrations.rasa_api import REQUEST_RESPONSE_CHANNELS
from bot.nlp.words import says_not_solved

logger = logging.getLogger(__name__)


def last_customer(tracker: Tracker) -> str | None:
    """The customer who last signed a message in this conversation (their sign-in may have expired
    since; it still says who is reading)."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        caller = Caller.from_metadata(event.get("metadata"))
        if caller.is_customer:
            return caller.customer_id
        if caller.expired_customer_id:
            return caller.expired_customer_id
        if caller.token_problem == "invalid":
            return None
    return None


class ActionAnnounceResolution(Action):
    """Run by the worker's push (EXTERNAL_escalation_resolved) into a channel that can receive it.
    There is no customer token then; a signed push token proves the notice is ours and is for
    this very conversation, so typing the external intent into a chat announces nothing."""

    def name(self) -> str:
        return "action_announce_resolution"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        reference = tracker.get_slot("resolution_reference") or ""
        # A pre-answered question ends the form at once, without asking anything.
        nothing = [SlotSet("resolution_reference", None), SlotSet("resolution_solved", True)]
        settings = load_settings()
        if not verify_push_token(next(tracker.get_latest_entity_values("push_token"), None), tracker.sender_id,
                                 reference, settings):
            logger.warning("ignored a resolution notice without a valid push token in %s", tracker.sender_id)
            return nothing
        try:
            with session_scope(settings.database_url) as session:
                notice = records.notification_in_conversation(session, tracker.sender_id, reference)
                note = records.latest_upstream_note(session, notice.escalation_id) if notice else None
        except SQLAlchemyError:
            logger.exception("could not announce the resolution of %s", reference)
            return nothing
        if notice is None or notice.shown_at is not None or notice.delivered_at is not None \
                or notice.acknowledged is not None:
            return nothing  # unknown, or already told (a retried push)
        if notice.params.get("kind") != "partner_report" and last_customer(tracker) != notice.customer_id:
            return nothing  # someone else is signed in here now: it waits for the customer's own turn
        words = replies_for(tracker, settings)
        if notice.params.get("kind") == "partner_report":
            # Staff reported it for a customer: they close the loop with the customer themselves.
            say(dispatcher, words.news(notice, note, for_staff=True))
            if tracker.get_latest_input_channel() not in REQUEST_RESPONSE_CHANNELS:
                # A push (Slack, Teams): the worker records it delivered once the post succeeded;
                # marked here, a failed post would be lost, since its retry would find it shown.
                return nothing
            try:  # staff on REST see it on their next turn: once shown here, it is not shown again
                with session_scope(settings.database_url) as session:
                    records.mark_shown(session, notice.customer_id, notice.id)
            except SQLAlchemyError:
                logger.exception("could not record that the resolution of %s was shown", reference)
            return nothing
        say(dispatcher, words.news(notice, note))
        return []


class ValidateResolutionForm(FormValidationAction):
    """"Is the problem solved?" answered in words: "the charge is still on my bill" is a no, and
    those words are the note 21Vianet receives when the ticket is reopened."""

    def name(self) -> str:
        return "validate_resolution_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        events = await super().run(dispatcher, tracker, domain)
        # Not a slot of the form (rasa_sdk keeps only those), so set here.
        answer = _not_solved(tracker)
        return events + ([SlotSet("resolution_note", answer[1])] if answer and answer[1] else [])

    async def extract_resolution_solved(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                        domain: DomainDict) -> dict[str, Any]:
        return {"resolution_solved": False} if _not_solved(tracker) else {}


def _not_solved(tracker: Tracker) -> tuple[bool, str | None] | None:
    """(False, their words or None for a bare "no") when the answer to "is it solved?" is a no."""
    if tracker.get_slot(REQUESTED_SLOT) != "resolution_solved":
        return None
    text = (tracker.latest_message.get("text") or "").strip()
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent != "deny" and (intent == "affirm" or not says_not_solved(text)):
        return None
    # More than a bare "no": their words go to 21Vianet with the reopened ticket.
    return False, text[:1000] if len(text.split()) > 3 else None


class ActionRecordResolutionAnswer(CustomerAction):
    def name(self) -> str:
        return "action_record_resolution_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        reset = [SlotSet("resolution_reference", None), SlotSet("resolution_solved", None),
                 SlotSet("resolution_note", None)]
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "EXTERNAL_escalation_resolved":  # nothing was asked (staff, or an ignored notice)
            return reset
        # Whatever happens (no sign-in, database down), the answer is not kept for a later notice.
        return await super().run(dispatcher, tracker, domain) + reset

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        reference = ctx.tracker.get_slot("resolution_reference")
        solved = ctx.tracker.get_slot("resolution_solved")
        notice = records.notification_in_conversation(ctx.session, ctx.tracker.sender_id, reference or "",
                                                      customer_id=ctx.customer_id)
        if notice is None or solved is None or notice.acknowledged is not None:
            return []  # nothing to record, or already recorded (a resent answer)
        words = ctx.tracker.get_slot("resolution_note")
        said = replies_in(ctx.settings.upstream_language, ctx.settings).p  # the note goes to 21Vianet
        note = None if solved else (said.say("upstream.not_solved_words", words=words) if words
                                    else said.say("upstream.not_solved"))
        records.record_customer_answer(ctx.session, ctx.customer_id, notice.id, bool(solved), note=note)
        say(dispatcher, ctx.replies.answer_recorded(reference, bool(solved), ctx.can_push))
        return []

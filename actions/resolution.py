"""Closing the loop: a resolved escalation is announced in the conversation it came from, and the
customer's answer to "is it solved?" is recorded ("no" reopens it with a note)."""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.base import Context, CustomerAction
from actions.partner import identify_staff
from bot.config import load_settings
from bot.db import session_scope
from bot.escalation import records
from bot.escalation.wording import KIND_NAMES

logger = logging.getLogger(__name__)


class ActionAnnounceResolution(Action):
    """Run by the worker's push (EXTERNAL_escalation_resolved), so there is no customer token:
    only a notice bound to this very conversation is announced."""

    def name(self) -> str:
        return "action_announce_resolution"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        reference = tracker.get_slot("resolution_reference")
        try:
            with session_scope(load_settings().database_url) as session:
                notice = records.notification_in_conversation(session, tracker.sender_id, reference or "")
                if notice is None:
                    return [SlotSet("resolution_reference", None)]
                if notice.delivered_at is None:
                    records.mark_delivered(session, notice.id)
                note = records.latest_upstream_note(session, notice.escalation_id)
        except SQLAlchemyError:
            logger.exception("could not announce the resolution of %s", reference)
            return [SlotSet("resolution_reference", None)]
        params = notice.params
        kind = KIND_NAMES.get(params.get("kind"), "request")
        who = "21Vianet" if params.get("resolved_by") == "vianet" else "your provider's billing team"
        about = f" about invoice {params['invoice_number']}" if params.get("invoice_number") else ""
        text = f"News on your {kind} {notice.reference}{about}: {who} has resolved it."
        if note:
            text += f" Their note: \"{note}\""
        if params.get("kind") == "partner_report":
            # Staff reported it for a customer: they close the loop with the customer themselves.
            dispatcher.utter_message(text=text + " Please let the customer know.")
            return [SlotSet("resolution_solved", True)]
        dispatcher.utter_message(text=text)
        return []


class ActionRecordResolutionAnswer(CustomerAction):
    def name(self) -> str:
        return "action_record_resolution_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        if identify_staff(tracker) is not None:  # staff were told to let the customer know; nothing to record
            return [SlotSet("resolution_reference", None), SlotSet("resolution_solved", None)]
        return await super().run(dispatcher, tracker, domain)

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        reference = ctx.tracker.get_slot("resolution_reference")
        solved = ctx.tracker.get_slot("resolution_solved")
        notice = records.notification_in_conversation(ctx.session, ctx.tracker.sender_id, reference or "",
                                                      customer_id=ctx.customer_id)
        reset = [SlotSet("resolution_reference", None), SlotSet("resolution_solved", None)]
        if notice is None or solved is None:
            return reset
        records.record_customer_answer(ctx.session, ctx.customer_id, notice.id, bool(solved),
                                       note=None if solved else "The customer says the problem is not solved.")
        if solved:
            dispatcher.utter_message(text=f"Glad to hear it. I've noted that {reference} is solved for you.")
        else:
            dispatcher.utter_message(text=f"I'm sorry it isn't. I've reopened {reference} with your answer, so it "
                                          "will be looked at again, and I'll tell you here when there's news.")
        return reset

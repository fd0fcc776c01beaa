"""Partner staff (from Teams or Slack, or REST with a staff token) report a customer's problem to 21Vianet.

"Report this problem to 21Vianet on behalf of Fabrikam": which customer (only the partner's own),
what the problem is, a summary and a confirmation, then the same durable escalation as a
customer's dispute, filed by the staff member.
"""
from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot.billing.invoices import customer_name, partner_customers
from bot.partner import audit
from bot.partner.customers import customers_named_in
from bot.config import load_settings
from bot.db import session_scope
from bot.escalation import records
from actions.base import replies_for, replies_in, say
from actions.customer import caller_of
from actions.staff import StaffContext, refuse_non_staff
from bot.identity import Staff

logger = logging.getLogger(__name__)
PARTNER_SLOTS = ("partner_customer", "partner_problem", "partner_confirmed")
READ_ONLY_MARK = "-"  # fills the form of a read-only member, who was told why nothing is filed


def identify_staff(tracker: Tracker) -> Staff | None:
    """The partner staff member the channel verified, or None."""
    caller = caller_of(tracker)
    return Staff(caller.partner_id, caller.staff_name) if caller.is_staff else None


def _latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


class ValidatePartnerEscalationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_partner_escalation_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        staff = identify_staff(tracker)
        if staff is None:
            refuse_non_staff(dispatcher, tracker, caller_of(tracker), "utter_staff_only")
            return [SlotSet(REQUESTED_SLOT, None)]
        if not caller_of(tracker).may_change:
            # Read-only staff may look, not report: the form ends here, with nothing to file.
            with session_scope(load_settings().database_url) as session:
                ctx = StaffContext(session, caller_of(tracker), tracker, load_settings())
                ctx.refuse_read_only(dispatcher, "escalate")
            return [SlotSet(REQUESTED_SLOT, None), SlotSet("partner_customer", READ_ONLY_MARK),
                    SlotSet("partner_problem", READ_ONLY_MARK), SlotSet("partner_confirmed", False)]
        events: list[dict[str, Any]] = []
        text = (tracker.latest_message.get("text") or "").strip()
        requested = tracker.get_slot(REQUESTED_SLOT)
        try:
            with session_scope(load_settings().database_url) as session:
                if not tracker.get_slot("partner_customer"):
                    named = customers_named_in(session, staff.partner_id, text)
                    if len(named) == 1:
                        events.append(SlotSet("partner_customer", named[0].customer_id))
                    elif requested == "partner_customer" and _latest_intent(tracker) != "cancel":
                        words = replies_for(tracker, load_settings()).p
                        names = words.listing([words.say("staff.customer", name=name, customer_id=cid)
                                               for cid, name in partner_customers(session, staff.partner_id)])
                        dispatcher.utter_message(response="utter_staff.unknown_customer", customers=names)
        except SQLAlchemyError:
            logger.exception("billing database error in %s", self.name())
            dispatcher.utter_message(response="utter_billing_unavailable")
            return [SlotSet(REQUESTED_SLOT, None)]
        # The problem is the staff member's own words, whatever they sound like; only "cancel" is not one.
        if requested == "partner_problem" and text and _latest_intent(tracker) != "cancel":
            events.append(SlotSet("partner_problem", text[:1000]))
        return events


class ActionAskPartnerConfirmed(Action):
    def name(self) -> str:
        return "action_ask_partner_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        staff = identify_staff(tracker)
        if staff is None:
            refuse_non_staff(dispatcher, tracker, caller_of(tracker), "utter_staff_only")
            return [SlotSet(REQUESTED_SLOT, None), *(SlotSet(slot, None) for slot in PARTNER_SLOTS)]
        customer_id = tracker.get_slot("partner_customer")
        try:
            with session_scope(load_settings().database_url) as session:
                mine = dict(partner_customers(session, staff.partner_id))
        except SQLAlchemyError:
            mine = {}
        name = mine.get(customer_id)
        words = replies_for(tracker, load_settings())
        customer = words.p.say("staff.customer", name=name, customer_id=customer_id) if name else customer_id
        say(dispatcher, words.reply("staff.confirm", words.p.say("staff.confirm", customer=customer,
                                                                  problem=tracker.get_slot("partner_problem")),
                                    buttons=words.p.buttons("staff.confirm")))
        return []


class ActionSubmitPartnerEscalation(Action):
    def name(self) -> str:
        return "action_submit_partner_escalation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        reset = [SlotSet(slot, None) for slot in PARTNER_SLOTS]
        staff = identify_staff(tracker)
        customer_id, problem = tracker.get_slot("partner_customer"), tracker.get_slot("partner_problem")
        if staff is None or not customer_id or not problem:
            return reset
        if customer_id == READ_ONLY_MARK:
            return reset  # already told why
        if tracker.get_slot("partner_confirmed") is not True:
            dispatcher.utter_message(response="utter_staff.not_filed")
            return reset
        try:
            with session_scope(load_settings().database_url) as session:
                if customer_id not in {cid for cid, _ in partner_customers(session, staff.partner_id)}:
                    return reset  # never file for another partner's customer
                settings = load_settings()
                name = customer_name(session, customer_id)
                words = replies_for(tracker, settings)
                who = words.p.say("staff.customer", name=name, customer_id=customer_id) if name else customer_id
                upstream = replies_in(settings.upstream_language, settings).p
                summary = upstream.say("upstream.partner_report_summary", staff=staff.name, problem=problem)[:200]
                escalation = records.file_escalation(
                    session, customer_id=customer_id, kind="partner_report", route="vianet", summary=summary,
                    description=upstream.say("upstream.partner_report", staff=staff.name, partner_id=staff.partner_id,
                                             customer_id=customer_id, problem=problem),
                    filed_by=f"partner:{staff.name}", conversation_id=tracker.sender_id,
                    dedup_key=records.dedup_key_for(customer_id, "partner_report", None, problem))
                if escalation.created:
                    audit.record(session, staff.partner_id, actor=staff.name, actor_id=caller_of(tracker).staff_id,
                                 action=audit.ESCALATION_FILED, customer_id=customer_id, subject="21Vianet",
                                 reason=problem[:1000], reference=escalation.reference)
        except SQLAlchemyError:
            logger.exception("could not file the partner escalation")
            dispatcher.utter_message(response="utter_billing_unavailable")
            return reset
        say(dispatcher, words.staff_filed(escalation, who))
        return reset

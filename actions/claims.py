"""Disputes and refunds: which invoice, which charge, what is wrong; settle what the records can,
confirm, then record the escalation for the partner or 21Vianet. Also the customer's tickets.

The forms ask; `bot.billing.disputes` decides what the data settles; `bot.escalation.records`
stores what must be filed (the relay worker sends it upstream later, never this action).
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import Context, CustomerAction, CustomerFormValidation, replies_in, say
from actions.invoices import FOCUS_SLOT
from bot.billing import disputes, invoices
from bot.billing.disputes import Assessment
from bot.billing.parsing import INVOICE_NUMBER_FORMAT, invoice_mention, normalize_invoice_number, parse_amount, parse_period
from bot.escalation import records
from bot.nlp.words import mentioned_charge, refers_back, says_what_is_wrong, special_complaint
from bot.escalation.models import State

CLAIM_SLOTS = ("dispute_invoice", "dispute_charge", "dispute_details", "dispute_confirmed",
               "refund_invoice", "refund_confirmed", "invalid_invoice_answers")
# Intents that change the subject while a form waits for an answer: they are answered, then the
# form asks again (rules in data/rules_claims.yml).
DIGRESSIONS = {"ask_balance", "ask_invoice", "ask_invoice_lines", "ask_due_date", "ask_payment_status",
               "ask_payment_methods", "ask_collections_policy", "subscription_suspended", "bot_challenge",
               "ask_capabilities", "request_human", "out_of_scope", "ticket_status", "greet", "thank",
               "explain_charge", "cancel", "goodbye", "ask_overdue", "ask_payments_made", "ask_credit",
               "payment_not_recorded", "partner_customer_invoices", "staff_question"}
# Asking for the other kind of claim in the middle of one switches forms, keeping the invoice.
SWITCHES = {"request_refund": ("dispute_invoice", "refund_invoice"), "dispute_charge": ("refund_invoice", "dispute_invoice")}
INVALID_ANSWERS_BEFORE_EXPLAINING = 2
# The special complaints the English (and later other) matchers name, as the domain codes them.
SPECIAL_CHARGES = {"already_paid": disputes.ALREADY_PAID, "charged_twice": disputes.CHARGED_TWICE,
                   "whole_invoice": disputes.WHOLE_INVOICE}


def reset_claim() -> list[dict[str, Any]]:
    return [SlotSet(slot, 0.0 if slot == "invalid_invoice_answers" else None) for slot in CLAIM_SLOTS]


# ----- reading answers -----------------------------------------------------------------------

def invoice_from_message(ctx: Context) -> str | None:
    """What the latest message names as an invoice: a number (any spelling) or a month."""
    mention = invoice_mention(ctx.text) or invoice_mention(ctx.entity("invoice_number"))
    if mention:
        return mention.number or mention.typed
    named = ctx.periods()
    if named:
        matches = invoices.invoices_for_period(ctx.session, ctx.customer_id, named[0])
        return matches[0].number if matches else (ctx.entity("billing_period") or named[0])
    return None


def charge_from_message(ctx: Context, invoice_number: str | None) -> str | None:
    """The charge the message names: a line by its description or by its amount, or one of the
    special complaints (already paid, charged twice, the total)."""
    invoice = invoices.find_invoice(ctx.session, ctx.customer_id, invoice_number) if invoice_number else None
    if invoice:
        named = mentioned_charge(ctx.text, [l.description for l in invoice.lines])
        if named:
            return named
    # "Charged twice for the CNY 4,500.00" is about being charged twice, not about that line.
    special = special_complaint(ctx.text)
    if special:
        return SPECIAL_CHARGES[special]
    if invoice:
        amount = parse_amount(ctx.entity("amount"))
        by_amount = [l.description for l in invoice.lines if l.amount == amount]
        if len(by_amount) == 1:
            return by_amount[0]
    return None


def opening_message(tracker) -> str:
    """The message that started the active form ("I'd like to contest the storage line"): a charge
    it names can only be matched once the invoice is known, a turn or two later."""
    events = tracker.events or []
    started = max((i for i, e in enumerate(events) if e.get("event") == "active_loop"
                   and e.get("name") and e.get("name") == tracker.active_loop_name), default=None)
    if started is None:
        return ""
    return next((e.get("text") or "" for e in reversed(events[:started]) if e.get("event") == "user"), "")


def latest_intent(ctx: Context) -> str | None:
    return (ctx.tracker.latest_message.get("intent") or {}).get("name")


def is_digression(ctx: Context) -> bool:
    """Another question, or the other kind of claim (for the form that is not already that one)."""
    intent = latest_intent(ctx)
    if intent in SWITCHES:  # only inside the other form: in its own, it is how the form began
        return ctx.tracker.active_loop_name == ("dispute_form" if intent == "request_refund" else "refund_form")
    return intent in DIGRESSIONS


def asks_something_else(ctx: Context) -> bool:
    """Answering "what is wrong with it?", a customer describes the problem in words that may sound
    like another topic ("we paid via WeChat Pay on the 18th"): only a question, or leaving, is one."""
    if latest_intent(ctx) in ("cancel", "goodbye", "request_human"):
        return True
    if latest_intent(ctx) in SWITCHES:
        return is_digression(ctx)  # the other kind of claim; this one's own words are details
    return is_digression(ctx) and ctx.text.rstrip().endswith(("?", "？"))


class InvoiceQuestion:
    """Shared by both forms: extract and validate "which invoice?" against the verified customer."""

    @staticmethod
    def extract(ctx: Context, slot: str) -> dict[str, Any]:
        asked = ctx.tracker.get_slot("requested_slot") == slot
        if ctx.tracker.get_slot(slot) and not asked:
            return {}
        if latest_intent(ctx) in SWITCHES and is_digression(ctx):
            return {}  # "I want to dispute G000400001" inside a refund request: the switch carries it
        answer = invoice_from_message(ctx)
        if answer is None and asked and not is_digression(ctx) and ctx.text.strip():
            answer = ctx.text.strip()  # an attempt to answer, to be checked (and explained) below
        starting = ctx.tracker.get_slot("requested_slot") is None
        if answer is None and starting and refers_back(ctx.text):
            # "I want to dispute this one" right after looking at an invoice: that invoice.
            answer = ctx.tracker.get_slot(FOCUS_SLOT)
        return {slot: answer} if answer else {}

    @staticmethod
    def validate(value: Any, ctx: Context, dispatcher: CollectingDispatcher, slot: str) -> dict[str, Any]:
        number = normalize_invoice_number(str(value))
        if number and invoices.find_invoice(ctx.session, ctx.customer_id, number):
            return {slot: number, "invalid_invoice_answers": 0.0}
        if number is None and latest_intent(ctx) in ("affirm", "deny"):
            # "yes" to "which invoice?": the question comes again, with their invoices as buttons.
            dispatcher.utter_message(response="utter_invoice_which_needed")
            return {slot: None}
        failures = int(ctx.tracker.get_slot("invalid_invoice_answers") or 0) + 1
        if number:
            dispatcher.utter_message(response="utter_invoice_not_found", invoice_number=number)
        elif failures >= INVALID_ANSWERS_BEFORE_EXPLAINING:
            dispatcher.utter_message(response="utter_invoice_number_explained", example=INVOICE_NUMBER_FORMAT)
        else:
            dispatcher.utter_message(response="utter_invoice_number_malformed", typed=str(value)[:40])
        return {slot: None, "invalid_invoice_answers": float(failures)}


def invoice_buttons(ctx: Context, overpaid_first: bool = False) -> list[dict[str, str]]:
    p = ctx.replies.p
    recent = invoices.recent_invoices(ctx.session, ctx.customer_id, limit=4)
    if overpaid_first:
        recent.sort(key=lambda inv: not inv.overpaid)
    return [{"title": p.say("claim.invoice_button_twice" if inv.overpaid else "claim.invoice_button", number=inv.number,
                            period=p.month(inv.period), total=p.money(inv.total, inv.currency)),
             "payload": inv.number} for inv in recent]


# ----- the dispute form ----------------------------------------------------------------------

def dispute_assessment(ctx: Context, slots: dict[str, Any]) -> Assessment | None:
    number, charge = slots.get("dispute_invoice"), slots.get("dispute_charge")
    if not number or not charge:
        return None
    return disputes.assess_dispute(ctx.session, ctx.customer_id, number, charge)


class ValidateDisputeForm(CustomerFormValidation):
    def name(self) -> str:
        return "validate_dispute_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker,
                             domain: DomainDict) -> list[str]:
        needed = ["dispute_invoice", "dispute_charge"]
        assessment = dispute_assessment(self.ctx, tracker.slots)
        if assessment is None:
            return needed + ["dispute_details", "dispute_confirmed"]
        charge = tracker.get_slot("dispute_charge")
        if assessment.outcome == disputes.ESCALATE or (charge == disputes.ALREADY_PAID and assessment.needs_filing):
            needed.append("dispute_details")
        if assessment.needs_filing:
            needed.append("dispute_confirmed")
        return needed

    async def extract_dispute_invoice(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return InvoiceQuestion.extract(self.ctx, "dispute_invoice")

    def validate_dispute_invoice(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return InvoiceQuestion.validate(value, self.ctx, dispatcher, "dispute_invoice")

    async def extract_dispute_charge(self, dispatcher, tracker, domain) -> dict[str, Any]:
        if tracker.get_slot("dispute_charge"):
            return {}
        number = tracker.get_slot("dispute_invoice")
        charge = charge_from_message(self.ctx, number)
        invoice = invoices.find_invoice(self.ctx.session, self.ctx.customer_id, number) if number and not charge else None
        if invoice:  # the line named when the dispute began, before anyone knew which invoice
            charge = mentioned_charge(opening_message(tracker), [line.description for line in invoice.lines])
        return {"dispute_charge": charge} if charge else {}

    async def extract_dispute_details(self, dispatcher, tracker, domain) -> dict[str, Any]:
        text = self.ctx.text.strip()
        requested = tracker.get_slot("requested_slot")
        if requested is None and not tracker.get_slot("dispute_details") and says_what_is_wrong(text):
            return {"dispute_details": text[:1000]}  # the first message already says what is wrong
        if requested != "dispute_details" or asks_something_else(self.ctx):
            return {}
        return {"dispute_details": text[:1000]} if text else {}

    def validate_dispute_details(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        # A customer's own words are what 21Vianet receives: a bare "yes" or "no" says nothing.
        if latest_intent(self.ctx) in ("affirm", "deny") and len(str(value).split()) <= 3:
            dispatcher.utter_message(response="utter_dispute_details_needed")
            return {"dispute_details": None}
        return {"dispute_details": value}


class ActionAskDisputeInvoice(CustomerAction):
    def name(self) -> str:
        return "action_ask_dispute_invoice"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        say(dispatcher, ctx.replies.reply("claim.ask_dispute_invoice", ctx.replies.p.say("claim.ask_dispute_invoice"),
                                          buttons=invoice_buttons(ctx)))
        return []


class ActionAskDisputeCharge(CustomerAction):
    def name(self) -> str:
        return "action_ask_dispute_charge"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        inv = invoices.find_invoice(ctx.session, ctx.customer_id, ctx.tracker.get_slot("dispute_invoice") or "")
        if inv is None:
            return [SlotSet("dispute_invoice", None)]
        words = ctx.replies
        p = words.p
        buttons = [{"title": p.say("claim.charge_button", line=words.line(l.description), amount=p.money(l.amount, inv.currency)),
                    "payload": l.description} for l in inv.lines]
        # Payloads are fixed words that charge_from_message reads the same in every language.
        buttons += [{"title": p.say("claim.already_paid_button"), "payload": "I already paid this invoice"},
                    {"title": p.say("claim.charged_twice_button"), "payload": "I was charged twice"},
                    {"title": p.say("claim.total_button", total=p.money(inv.total, inv.currency)), "payload": "The total"}]
        say(dispatcher, ctx.replies.reply("claim.ask_charge", p.say("claim.ask_charge", number=inv.number,
                                                                      period=p.month(inv.period)), buttons=buttons))
        return []


class ActionAskDisputeConfirmed(CustomerAction):
    def name(self) -> str:
        return "action_ask_dispute_confirmed"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        a = dispute_assessment(ctx, ctx.tracker.slots)
        if a is None:
            return [SlotSet("dispute_invoice", None)]
        partner = invoices.partner_name(ctx.session, ctx.customer_id)
        say(dispatcher, ctx.replies.confirm_dispute(a, partner, ctx.tracker.get_slot("dispute_charge"),
                                                    ctx.tracker.get_slot("dispute_details")))
        return []


def upstream(ctx: Context):
    """The reply layer in the language 21Vianet works in, for what the ticket says."""
    return replies_in(ctx.settings.upstream_language, ctx.settings)


def file_claim(ctx: Context, a: Assessment, kind: str, summary: str, description: str) -> records.EscalationView:
    return records.file_escalation(
        ctx.session, customer_id=ctx.customer_id, kind=kind, route=a.route, summary=summary[:200],
        description=description, invoice_number=a.invoice.number, amount=a.amount, currency=a.invoice.currency,
        filed_by="customer", conversation_id=ctx.tracker.sender_id,
        dedup_key=records.dedup_key_for(ctx.customer_id, kind, a.invoice.number, a.problem or summary))


class ActionSubmitDispute(CustomerAction):
    def name(self) -> str:
        return "action_submit_dispute"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        a = dispute_assessment(ctx, ctx.tracker.slots)
        if a is None:
            dispatcher.utter_message(response="utter_nothing_filed")
        elif not a.needs_filing:
            say(dispatcher, ctx.replies.settled(a))
        elif ctx.tracker.get_slot("dispute_confirmed") is not True:
            dispatcher.utter_message(response="utter_nothing_filed")
        else:
            charge, details = ctx.tracker.get_slot("dispute_charge"), ctx.tracker.get_slot("dispute_details")
            words = upstream(ctx)
            summary = words.claim_what(a, charge)
            description = words.p.say("upstream.dispute", customer_id=ctx.customer_id, what=summary,
                                      customer=invoices.customer_name(ctx.session, ctx.customer_id),
                                      words=details or summary)
            kind = "refund" if a.outcome == disputes.PARTNER_REFUND else "dispute"
            escalation = file_claim(ctx, a, kind, summary, description)
            say(dispatcher, ctx.replies.filed(escalation, invoices.partner_name(ctx.session, ctx.customer_id),
                                              ctx.can_push))
        return reset_claim()


# ----- the refund form -----------------------------------------------------------------------

class ValidateRefundForm(CustomerFormValidation):
    def name(self) -> str:
        return "validate_refund_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        number = tracker.get_slot("refund_invoice")
        a = disputes.assess_refund(self.ctx.session, self.ctx.customer_id, number) if number else None
        return ["refund_invoice"] + (["refund_confirmed"] if a is None or a.needs_filing else [])

    async def extract_refund_invoice(self, dispatcher, tracker, domain) -> dict[str, Any]:
        return InvoiceQuestion.extract(self.ctx, "refund_invoice")

    def validate_refund_invoice(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return InvoiceQuestion.validate(value, self.ctx, dispatcher, "refund_invoice")


class ActionAskRefundInvoice(CustomerAction):
    def name(self) -> str:
        return "action_ask_refund_invoice"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        say(dispatcher, ctx.replies.reply("claim.ask_refund_invoice", ctx.replies.p.say("claim.ask_refund_invoice"),
                                          buttons=invoice_buttons(ctx, overpaid_first=True)))
        return []


class ActionAskRefundConfirmed(CustomerAction):
    def name(self) -> str:
        return "action_ask_refund_confirmed"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        a = disputes.assess_refund(ctx.session, ctx.customer_id, ctx.tracker.get_slot("refund_invoice") or "")
        if a is None:
            return [SlotSet("refund_invoice", None)]
        say(dispatcher, ctx.replies.confirm_refund(a, invoices.partner_name(ctx.session, ctx.customer_id)))
        return []


class ActionSubmitRefund(CustomerAction):
    def name(self) -> str:
        return "action_submit_refund"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        number = ctx.tracker.get_slot("refund_invoice")
        a = disputes.assess_refund(ctx.session, ctx.customer_id, number) if number else None
        if a is None:
            dispatcher.utter_message(response="utter_nothing_filed")
        elif not a.needs_filing:
            say(dispatcher, ctx.replies.nothing_to_refund(a))
        elif ctx.tracker.get_slot("refund_confirmed") is not True:
            dispatcher.utter_message(response="utter_nothing_filed")
        else:
            words = upstream(ctx)
            extra = words.money(a.amount, a.invoice.currency)
            summary = words.p.say("upstream.refund_summary", extra=extra, number=a.invoice.number)
            description = words.p.say("upstream.refund", customer_id=ctx.customer_id, number=a.invoice.number,
                                      customer=invoices.customer_name(ctx.session, ctx.customer_id),
                                      payments=words.payments(a.invoice), extra=extra)
            escalation = file_claim(ctx, a, "refund", summary, description)
            say(dispatcher, ctx.replies.filed(escalation, invoices.partner_name(ctx.session, ctx.customer_id),
                                              ctx.can_push))
        return reset_claim()


class ActionSwitchClaim(Action):
    """"Actually I'd like a refund" in the middle of a dispute (or the other way round): the other
    form starts, with the invoice already given; nothing else is carried over."""

    def name(self) -> str:
        return "action_switch_claim"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        source, target = SWITCHES.get(intent, (None, None))
        mention = invoice_mention(tracker.latest_message.get("text") or "")
        # The invoice the switching message names, else the one the first form already had.
        invoice = (mention.number if mention and mention.number else None) or (tracker.get_slot(source) if source else None)
        dispatcher.utter_message(response="utter_switch_to_refund" if intent == "request_refund"
                                 else "utter_switch_to_dispute")
        return reset_claim() + ([SlotSet(target, invoice)] if invoice else [])


class ActionResetClaim(Action):
    """After "cancel" or "bye" inside a form: nothing is filed and nothing is kept."""

    def name(self) -> str:
        return "action_reset_claim"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        return reset_claim()


# ----- status ---------------------------------------------------------------------------------

class ActionShowTickets(CustomerAction):
    def name(self) -> str:
        return "action_show_tickets"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        mine = records.escalations_for_customer(ctx.session, ctx.customer_id, limit=5)
        if not mine:
            dispatcher.utter_message(response="utter_no_tickets")
            return []
        # What 21Vianet decided, in their words, for those closed with an answer.
        answers = [records.latest_upstream_note(ctx.session, e.id) if e.state == State.CLOSED else None for e in mine]
        say(dispatcher, ctx.replies.tickets(list(zip(mine, answers))))
        return []

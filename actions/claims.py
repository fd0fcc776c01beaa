"""Disputes and refunds: which invoice, which charge, what is wrong; settle what the records can,
confirm, then record the escalation for the partner or 21Vianet. Also the customer's tickets.

The forms ask; `bot.billing.disputes` decides what the data settles; `bot.escalation.records`
stores what must be filed (the relay worker sends it upstream later, never this action).
"""
from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import Context, CustomerAction, CustomerFormValidation
from actions.invoices import FOCUS_SLOT
from actions.render import Renderer
from bot.billing import disputes, invoices
from bot.billing.charges import mentioned_charge
from bot.billing.disputes import Assessment
from bot.billing.parsing import INVOICE_NUMBER_FORMAT, invoice_mention, normalize_invoice_number, parse_amount, parse_period
from bot.escalation import records
from bot.nlp.english import refers_back
from bot.escalation.models import State

CLAIM_SLOTS = ("dispute_invoice", "dispute_charge", "dispute_details", "dispute_confirmed",
               "refund_invoice", "refund_confirmed", "invalid_invoice_answers")
# Intents that change the subject while a form waits for an answer: they are answered, then the
# form asks again (rules in data/rules_claims.yml).
DIGRESSIONS = {"ask_balance", "ask_invoice", "ask_invoice_lines", "ask_due_date", "ask_payment_status",
               "ask_payment_methods", "ask_collections_policy", "subscription_suspended", "bot_challenge",
               "ask_capabilities", "request_human", "out_of_scope", "ticket_status", "greet", "thank",
               "explain_charge", "cancel", "goodbye", "ask_overdue", "ask_payments_made", "ask_credit",
               "payment_not_recorded", "ask_other_account", "staff_question"}
# Asking for the other kind of claim in the middle of one switches forms, keeping the invoice.
SWITCHES = {"request_refund": ("dispute_invoice", "refund_invoice"), "dispute_charge": ("refund_invoice", "dispute_invoice")}
INVALID_ANSWERS_BEFORE_EXPLAINING = 2
# Words that say what is wrong with a charge, so a first message can carry the whole complaint.
_COMPLAINT = re.compile(r"\b(never|didn'?t|did not|not ordered|wrong|cancell?ed|overcharged|too (high|much)|"
                        r"more than (we )?agreed|don'?t recogni[sz]e|not ours)\b", re.I)
# Answering "which invoice?", a bare run of digits counts as an attempt too.
_SPECIAL_CHARGE_WORDS = [
    (disputes.ALREADY_PAID, re.compile(r"already paid|paid (it|this|that)|i paid|have paid|payment was made", re.I)),
    (disputes.CHARGED_TWICE, re.compile(r"twice|double|two times|duplicate", re.I)),
    (disputes.WHOLE_INVOICE, re.compile(r"\b(total|whole|entire|full amount)\b", re.I)),
]


def reset_claim() -> list[dict[str, Any]]:
    return [SlotSet(slot, 0.0 if slot == "invalid_invoice_answers" else None) for slot in CLAIM_SLOTS]


# ----- reading answers -----------------------------------------------------------------------

def invoice_from_message(ctx: Context) -> str | None:
    """What the latest message names as an invoice: a number (any spelling) or a month."""
    mention = invoice_mention(ctx.text) or invoice_mention(ctx.entity("invoice_number"))
    if mention:
        return mention.number or mention.typed
    period_text = ctx.entity("billing_period")
    period = parse_period(period_text, ctx.today) if period_text else None
    if period:
        matches = invoices.invoices_for_period(ctx.session, ctx.customer_id, period)
        return matches[0].number if matches else period_text
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
    for charge, pattern in _SPECIAL_CHARGE_WORDS:
        if pattern.search(ctx.text):
            return charge
    if invoice:
        amount = parse_amount(ctx.entity("amount"))
        by_amount = [l.description for l in invoice.lines if l.amount == amount]
        if len(by_amount) == 1:
            return by_amount[0]
    return None


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
            dispatcher.utter_message(text="I need to know which invoice it is.")
            return {slot: None}
        failures = int(ctx.tracker.get_slot("invalid_invoice_answers") or 0) + 1
        if number:
            dispatcher.utter_message(response="utter_invoice_not_found", invoice_number=number)
        elif failures >= INVALID_ANSWERS_BEFORE_EXPLAINING:
            dispatcher.utter_message(text=f"That doesn't look like an invoice number; they look like this: "
                                          f"{INVOICE_NUMBER_FORMAT}. It is printed at the top of the invoice, "
                                          "or pick one of yours below.")
        else:
            dispatcher.utter_message(response="utter_invoice_number_malformed", typed=str(value)[:40])
        return {slot: None, "invalid_invoice_answers": float(failures)}


def invoice_buttons(ctx: Context, overpaid_first: bool = False) -> list[dict[str, str]]:
    render = Renderer(ctx.settings)
    recent = invoices.recent_invoices(ctx.session, ctx.customer_id, limit=4)
    if overpaid_first:
        recent.sort(key=lambda inv: not inv.overpaid)
    return [{"title": f"{inv.number} ({render.month(inv.period)}, {render.money(inv.total, inv.currency)})"
                      + (" - paid twice" if inv.overpaid else ""),
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
        charge = charge_from_message(self.ctx, tracker.get_slot("dispute_invoice"))
        return {"dispute_charge": charge} if charge else {}

    async def extract_dispute_details(self, dispatcher, tracker, domain) -> dict[str, Any]:
        text = self.ctx.text.strip()
        requested = tracker.get_slot("requested_slot")
        if requested is None and not tracker.get_slot("dispute_details") and _COMPLAINT.search(text):
            return {"dispute_details": text[:1000]}  # the first message already says what is wrong
        if requested != "dispute_details" or asks_something_else(self.ctx):
            return {}
        return {"dispute_details": text[:1000]} if text else {}

    def validate_dispute_details(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        # A customer's own words are what 21Vianet receives: a bare "yes" or "no" says nothing.
        if latest_intent(self.ctx) in ("affirm", "deny") and len(str(value).split()) <= 3:
            dispatcher.utter_message(text="Please tell me in a few words what is wrong with the charge, for example "
                                          "\"we never ordered it\" or \"it's more than we agreed\". I'll pass "
                                          "your words on as they are.")
            return {"dispute_details": None}
        return {"dispute_details": value}


class ActionAskDisputeInvoice(CustomerAction):
    def name(self) -> str:
        return "action_ask_dispute_invoice"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        dispatcher.utter_message(text="Which invoice is the charge on? Give me its number, or pick one:",
                                 buttons=invoice_buttons(ctx))
        return []


class ActionAskDisputeCharge(CustomerAction):
    def name(self) -> str:
        return "action_ask_dispute_charge"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        inv = invoices.find_invoice(ctx.session, ctx.customer_id, ctx.tracker.get_slot("dispute_invoice") or "")
        if inv is None:
            return [SlotSet("dispute_invoice", None)]
        render = Renderer(ctx.settings)
        buttons = [{"title": f"{l.description} ({render.money(l.amount, inv.currency)})", "payload": l.description}
                   for l in inv.lines]
        buttons += [{"title": "I already paid this invoice", "payload": "I already paid this invoice"},
                    {"title": "I was charged twice", "payload": "I was charged twice"},
                    {"title": f"The total ({render.money(inv.total, inv.currency)})", "payload": "The total"}]
        dispatcher.utter_message(text=f"Which charge on {inv.number} ({render.month(inv.period)}) looks wrong?",
                                 buttons=buttons)
        return []


def filing_summary(render: Renderer, a: Assessment, charge: str, details: str | None) -> str:
    inv = a.invoice
    what = f"{a.line.description} ({render.money(a.line.amount, inv.currency)})" if a.line else charge
    text = f"Invoice {inv.number} ({render.month(inv.period)}), {what}"
    return f"{text}: \"{details}\"" if details else text


def filing_plan(render: Renderer, a: Assessment, partner_name: str) -> str:
    if a.outcome == disputes.PARTNER_REFUND:
        return (f"We received {render.money(a.invoice.received, a.invoice.currency)} for {a.invoice.number}, "
                f"{render.money(a.amount, a.invoice.currency)} more than the invoice: that was paid twice. "
                f"I can ask {partner_name} to refund the {render.money(a.amount, a.invoice.currency)} to you.")
    if a.outcome == disputes.PARTNER_CORRECTION:
        return f"I can pass this to the billing team of {partner_name} to correct."
    return (f"Our records can't settle this, so I can report it to 21Vianet on your behalf, through "
            f"{partner_name}.")


class ActionAskDisputeConfirmed(CustomerAction):
    def name(self) -> str:
        return "action_ask_dispute_confirmed"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        a = dispute_assessment(ctx, ctx.tracker.slots)
        if a is None:
            return [SlotSet("dispute_invoice", None)]
        render = Renderer(ctx.settings)
        partner = invoices.partner_name(ctx.session, ctx.customer_id)
        summary = filing_summary(render, a, ctx.tracker.get_slot("dispute_charge"), ctx.tracker.get_slot("dispute_details"))
        dispatcher.utter_message(text=f"{filing_plan(render, a, partner)}\nHere is what I'll file:\n{summary}\n"
                                      "Shall I file it?",
                                 buttons=[{"title": "Yes, file it", "payload": "/affirm"},
                                          {"title": "No, don't", "payload": "/deny"}])
        return []


def file_claim(ctx: Context, a: Assessment, kind: str, summary: str, description: str) -> records.EscalationView:
    return records.file_escalation(
        ctx.session, customer_id=ctx.customer_id, kind=kind, route=a.route, summary=summary[:200],
        description=description, invoice_number=a.invoice.number, amount=a.amount, currency=a.invoice.currency,
        filed_by="customer", conversation_id=ctx.tracker.sender_id,
        dedup_key=records.dedup_key_for(ctx.customer_id, kind, a.invoice.number, a.problem or summary))


def filed_reply(escalation: records.EscalationView, partner: str) -> str:
    if not escalation.created:
        return (f"You already reported this: your reference is {escalation.reference}, and it is "
                f"{escalation.state_in_plain_words}. I'll tell you here when it is resolved.")
    who = "21Vianet, through " + partner if escalation.route == "vianet" else "the billing team of " + partner
    return (f"Done. Your reference is {escalation.reference}. It goes to {who}, and I'll tell you here when it is "
            "resolved. You can ask me for its status any time.")


def settled_reply(render: Renderer, a: Assessment) -> str:
    inv = a.invoice
    if a.outcome == disputes.SETTLED_PAID:
        return (f"Our records agree that {inv.number} is paid: {render.payments(inv)}. There's nothing more to pay "
                "on it, and no dispute is needed.")
    return (f"Here is how {inv.number} adds up; each charge appears once:\n{render.invoice_lines(inv)}\n"
            "If one of these lines is wrong, tell me which and I'll look into it.")


class ActionSubmitDispute(CustomerAction):
    def name(self) -> str:
        return "action_submit_dispute"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        a = dispute_assessment(ctx, ctx.tracker.slots)
        render = Renderer(ctx.settings)
        if a is None:
            dispatcher.utter_message(response="utter_nothing_filed")
        elif not a.needs_filing:
            dispatcher.utter_message(text=settled_reply(render, a))
        elif ctx.tracker.get_slot("dispute_confirmed") is not True:
            dispatcher.utter_message(response="utter_nothing_filed")
        else:
            charge, details = ctx.tracker.get_slot("dispute_charge"), ctx.tracker.get_slot("dispute_details")
            summary = filing_summary(render, a, charge, None)
            kind = "refund" if a.outcome == disputes.PARTNER_REFUND else "dispute"
            description = (f"Customer {ctx.customer_id} ({invoices.customer_name(ctx.session, ctx.customer_id)}) "
                           f"disputes {summary}. In their words: {details or charge}")
            escalation = file_claim(ctx, a, kind, summary, description)
            dispatcher.utter_message(text=filed_reply(escalation, invoices.partner_name(ctx.session, ctx.customer_id)))
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
        dispatcher.utter_message(text="Which invoice is the refund for? Give me its number, or pick one:",
                                 buttons=invoice_buttons(ctx, overpaid_first=True))
        return []


class ActionAskRefundConfirmed(CustomerAction):
    def name(self) -> str:
        return "action_ask_refund_confirmed"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        a = disputes.assess_refund(ctx.session, ctx.customer_id, ctx.tracker.get_slot("refund_invoice") or "")
        if a is None:
            return [SlotSet("refund_invoice", None)]
        render = Renderer(ctx.settings)
        partner = invoices.partner_name(ctx.session, ctx.customer_id)
        dispatcher.utter_message(text=f"{filing_plan(render, a, partner)}\nShall I file the refund request?",
                                 buttons=[{"title": "Yes, file it", "payload": "/affirm"},
                                          {"title": "No, don't", "payload": "/deny"}])
        return []


class ActionSubmitRefund(CustomerAction):
    def name(self) -> str:
        return "action_submit_refund"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        number = ctx.tracker.get_slot("refund_invoice")
        a = disputes.assess_refund(ctx.session, ctx.customer_id, number) if number else None
        render = Renderer(ctx.settings)
        if a is None:
            dispatcher.utter_message(response="utter_nothing_filed")
        elif not a.needs_filing:
            inv = a.invoice
            paid = f"was paid once: {render.payments(inv)}" if inv.payments else "hasn't been paid yet"
            dispatcher.utter_message(text=f"{inv.number} {paid}, so there is nothing to refund on it. If a charge on "
                                          "it is wrong, tell me you want to dispute it.")
        elif ctx.tracker.get_slot("refund_confirmed") is not True:
            dispatcher.utter_message(response="utter_nothing_filed")
        else:
            summary = (f"Refund of {render.money(a.amount, a.invoice.currency)} paid twice for invoice "
                       f"{a.invoice.number}")
            description = (f"Customer {ctx.customer_id} ({invoices.customer_name(ctx.session, ctx.customer_id)}) paid "
                           f"{a.invoice.number} more than once ({render.payments(a.invoice)}); refund "
                           f"{render.money(a.amount, a.invoice.currency)}.")
            escalation = file_claim(ctx, a, "refund", summary, description)
            dispatcher.utter_message(text=filed_reply(escalation, invoices.partner_name(ctx.session, ctx.customer_id)))
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
        dispatcher.utter_message(text="OK, let's make it a refund request instead." if intent == "request_refund"
                                 else "OK, let's make it a dispute instead.")
        return reset_claim() + ([SlotSet(target, invoice)] if invoice else [])


class ActionResetClaim(Action):
    """After "cancel" or "bye" inside a form: nothing is filed and nothing is kept."""

    def name(self) -> str:
        return "action_reset_claim"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        return reset_claim()


# ----- status ---------------------------------------------------------------------------------

def describe_for_customer(escalation: records.EscalationView) -> str:
    """What the customer filed, in their words; a report by partner staff without the staff's."""
    if escalation.kind == "partner_report":
        return "a problem your provider reported to 21Vianet for you"
    return escalation.summary

class ActionShowTickets(CustomerAction):
    def name(self) -> str:
        return "action_show_tickets"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        mine = records.escalations_for_customer(ctx.session, ctx.customer_id, limit=5)
        if not mine:
            dispatcher.utter_message(response="utter_no_tickets")
            return []
        lines = []
        for e in mine:
            line = f"- {e.reference}: {describe_for_customer(e)}. Status: {e.state_in_plain_words}."
            answer = records.latest_upstream_note(ctx.session, e.id) if e.state == State.CLOSED else None
            if answer:  # what 21Vianet decided, in their words
                line += f" 21Vianet's answer: \"{answer}\""
            lines.append(line)
        dispatcher.utter_message(text="Your disputes and requests:\n" + "\n".join(lines))
        return []

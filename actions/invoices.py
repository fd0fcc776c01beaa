"""Invoices, line items, balance, due dates, payments and bill changes."""
from __future__ import annotations

import re
from typing import Any

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import Context, CustomerAction, say
from bot.billing import invoices
from bot.billing.parsing import invoice_mention, parse_period, shift_period
from bot.nlp.words import asks_for_all_invoices, compares, mentioned_charge, months_from_focus, refers_back
from bot.billing.views import InvoiceView
from bot.escalation import records
from bot.escalation.models import State

FOCUS_SLOT = "focus_invoice"
QUESTION_SLOT = "last_invoice_question"  # which question a bare follow-up ("and October?") repeats


def resolve_invoice(dispatcher: CollectingDispatcher, ctx: Context, use_focus: bool,
                    use_period: bool = True) -> InvoiceView | None:
    """The invoice the message is about: by number, by month, the one in focus, or the latest.

    Tells the customer when it can't be found; a foreign number gets the same answer as a
    missing one.
    """
    # The text first: the entity of a number typed with dashes or spaces is only a part of it.
    mention = invoice_mention(ctx.text) or invoice_mention(ctx.entity("invoice_number"))
    if mention:
        number = mention.number
        if number is None:
            dispatcher.utter_message(response="utter_invoice_number_malformed", typed=mention.typed)
            return None
        found = invoices.find_invoice(ctx.session, ctx.customer_id, number)
        if found is None:
            dispatcher.utter_message(response="utter_invoice_not_found", invoice_number=number)
        return found

    named_periods = ctx.periods() if use_period else []
    period = named_periods[0] if named_periods else None
    if period:
        matches = _invoices_of_month(ctx, period)
        if not matches:
            dispatcher.utter_message(response="utter_no_invoice_for_period", period=ctx.replies.p.month(period))
            return None
        if len(matches) > 1:
            say(dispatcher, ctx.replies.several_in_month(matches, period))
        return matches[0]

    # "the previous one", "two months back": counted from the invoice in focus (or the latest).
    step = months_from_focus(ctx.text)
    if step is not None:
        anchor = _focused(ctx) or invoices.latest_invoice(ctx.session, ctx.customer_id)
        if anchor is not None:
            period = shift_period(anchor.period, step)
            matches = invoices.invoices_for_period(ctx.session, ctx.customer_id, period)
            if not matches:
                dispatcher.utter_message(response="utter_no_invoice_for_period", period=ctx.replies.p.month(period))
                return None
            return matches[0]

    focus = _focused(ctx) if use_focus else None
    if focus:
        return focus
    latest = invoices.latest_invoice(ctx.session, ctx.customer_id)
    if latest is None:
        dispatcher.utter_message(response="utter_no_invoices")
    return latest


def _invoices_of_month(ctx: Context, period: str) -> list[InvoiceView]:
    """The month's invoices; "this month" before it is invoiced means the bill they have, the latest."""
    found = invoices.invoices_for_period(ctx.session, ctx.customer_id, period)
    if not found and period == ctx.today.strftime("%Y-%m"):
        latest = invoices.latest_invoice(ctx.session, ctx.customer_id)
        return [latest] if latest else []
    return found


def _focused(ctx: Context) -> InvoiceView | None:
    """The invoice the conversation is about, re-checked against the verified customer."""
    number = ctx.tracker.get_slot(FOCUS_SLOT)
    return invoices.find_invoice(ctx.session, ctx.customer_id, number) if number else None


def _about_one_invoice(ctx: Context) -> bool:
    """Does the question name one invoice, or point at the one in focus ("when was that due?")?"""
    return bool(ctx.entity("invoice_number") or ctx.periods() or invoice_mention(ctx.text)
                or months_from_focus(ctx.text) is not None
                or (refers_back(ctx.text) and ctx.tracker.get_slot(FOCUS_SLOT)))


def _focus(inv: InvoiceView, question: str) -> list[dict[str, Any]]:
    """Remember the invoice and the question, for follow-ups ("and October?", "the previous one")."""
    return [SlotSet(FOCUS_SLOT, inv.number), SlotSet(QUESTION_SLOT, question)]


class ActionShowInvoice(CustomerAction):
    def name(self) -> str:
        return "action_show_invoice"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        if asks_for_all_invoices(ctx.text) and not invoice_mention(ctx.text):
            every = invoices.all_invoices(ctx.session, ctx.customer_id)
            if not every:
                dispatcher.utter_message(response="utter_no_invoices")
                return []
            say(dispatcher, ctx.replies.invoice_list(every))
            return []
        asked_for_specific = _about_one_invoice(ctx)
        inv = resolve_invoice(dispatcher, ctx, use_focus=False)
        if inv is None:
            return []
        say(dispatcher, ctx.replies.invoice_summary(inv, latest=not asked_for_specific))
        return _focus(inv, "invoice")


class ActionShowInvoiceLines(CustomerAction):
    def name(self) -> str:
        return "action_show_invoice_lines"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        inv = resolve_invoice(dispatcher, ctx, use_focus=True)
        if inv is None:
            return []
        say(dispatcher, ctx.replies.invoice_lines(inv))
        return _focus(inv, "lines")


class ActionShowBalance(CustomerAction):
    def name(self) -> str:
        return "action_show_balance"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        bal = invoices.balance(ctx.session, ctx.customer_id, ctx.today)
        refunds = [e for e in records.escalations_for_customer(ctx.session, ctx.customer_id)
                   if e.kind == "refund" and e.state in State.OPEN] if bal.credit else []
        say(dispatcher, ctx.replies.balance(bal, refunds, ctx.replies.state(refunds[0]) if refunds else ""))
        return []


class ActionShowDueDates(CustomerAction):
    def name(self) -> str:
        return "action_show_due_dates"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        if _about_one_invoice(ctx):
            inv = resolve_invoice(dispatcher, ctx, use_focus=True)
            if inv is None:
                return []
            say(dispatcher, ctx.replies.due_of(inv))
            return _focus(inv, "due")
        bal = invoices.balance(ctx.session, ctx.customer_id, ctx.today)
        say(dispatcher, ctx.replies.due_dates(bal))
        return []


class ActionShowPaymentStatus(CustomerAction):
    def name(self) -> str:
        return "action_show_payment_status"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        if _about_one_invoice(ctx):
            inv = resolve_invoice(dispatcher, ctx, use_focus=True)
            if inv is None:
                return []
            say(dispatcher, ctx.replies.payment_of(inv))
            return _focus(inv, "payment")
        recent = invoices.recent_invoices(ctx.session, ctx.customer_id, limit=3)
        if not recent:
            dispatcher.utter_message(response="utter_no_invoices")
            return []
        say(dispatcher, ctx.replies.recent_payments(recent))
        return []


class ActionExplainBillChange(CustomerAction):
    """Why a bill changed (line by line against an earlier one), or what a named charge is."""

    def name(self) -> str:
        return "action_explain_bill_change"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        named = sorted(set(ctx.periods()), reverse=True)
        baseline = None
        if len(named) >= 2 and not invoice_mention(ctx.text):
            # "Why is this month's bill bigger than last month's?": the later month against the earlier.
            inv = self._invoice_for(dispatcher, ctx, named[0])
            baseline = named[1]
        else:
            # "Why is it more than September?": the month is what to compare with, not the subject.
            if named and compares(ctx.text) and not invoice_mention(ctx.text):
                baseline = named[0]
            inv = resolve_invoice(dispatcher, ctx, use_focus=True, use_period=baseline is None)
        if inv is None:
            return []
        if baseline is not None and baseline >= inv.period:
            baseline = None  # "this month" fell back to the latest bill: compare it with the one before
        if baseline is not None and not invoices.invoices_for_period(ctx.session, ctx.customer_id, baseline):
            dispatcher.utter_message(response="utter_no_invoice_for_period", period=ctx.replies.p.month(baseline))
            baseline = None  # named as such; the answer uses the invoice before instead
        charge, inv = self._named_charge(ctx, inv)
        change = invoices.compare_with_previous(ctx.session, ctx.customer_id, inv, baseline_period=baseline)
        say(dispatcher, ctx.replies.charge(change, charge) if charge else ctx.replies.bill_change(change))
        return _focus(inv, "change")

    @staticmethod
    def _invoice_for(dispatcher: CollectingDispatcher, ctx: Context, period: str) -> InvoiceView | None:
        """The invoice of a month named beside another; "this month" before it is invoiced is the
        latest bill, and another month without one is said so, then its nearest earlier invoice."""
        found = _invoices_of_month(ctx, period)
        if found:
            return found[0]
        latest = invoices.latest_invoice(ctx.session, ctx.customer_id)
        if latest is None:
            return None
        dispatcher.utter_message(response="utter_no_invoice_for_period", period=ctx.replies.p.month(period))
        earlier = [inv for inv in invoices.all_invoices(ctx.session, ctx.customer_id) if inv.period < period]
        return earlier[0] if earlier else latest

    @staticmethod
    def _named_charge(ctx: Context, inv: InvoiceView) -> tuple[str | None, InvoiceView]:
        """The charge the message names, on this invoice or else on the latest one (never another
        invoice than one the customer named)."""
        candidates = [inv]
        latest = invoices.latest_invoice(ctx.session, ctx.customer_id)
        named = invoice_mention(ctx.text) or ctx.periods()
        if latest and latest.number != inv.number and not named:
            candidates.append(latest)
        for candidate in candidates:
            charge = mentioned_charge(ctx.text, [l.description for l in candidate.lines])
            if charge:
                return charge, candidate
        return None, inv


class ActionHandleInform(CustomerAction):
    """A bare value with no question ("G000100002", "October"): show the invoice it points to."""

    def name(self) -> str:
        return "action_handle_inform"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        if not _about_one_invoice(ctx):
            dispatcher.utter_message(response="utter_capabilities")
            return []
        # "and October?" after "when was that due?" asks the same question about October.
        follow_up = FOLLOW_UPS.get(ctx.tracker.get_slot(QUESTION_SLOT), ActionShowInvoice)
        return follow_up().answer(dispatcher, ctx)


class ActionShowOverdue(CustomerAction):
    def name(self) -> str:
        return "action_show_overdue"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        overdue = invoices.overdue_invoices(ctx.session, ctx.customer_id, ctx.today)
        bal = invoices.balance(ctx.session, ctx.customer_id, ctx.today)
        say(dispatcher, ctx.replies.overdue(overdue, bal))
        return []


FOLLOW_UPS = {"invoice": ActionShowInvoice, "lines": ActionShowInvoiceLines, "due": ActionShowDueDates,
              "payment": ActionShowPaymentStatus, "change": ActionExplainBillChange}

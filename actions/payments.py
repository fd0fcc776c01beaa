"""What the customer has paid, the credit it left, and a payment that isn't on record yet."""
from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.base import Context, CustomerAction, say
from bot.billing import invoices, policy


class ActionShowPaymentsMade(CustomerAction):
    def name(self) -> str:
        return "action_show_payments_made"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        made = invoices.payments_made(ctx.session, ctx.customer_id)
        say(dispatcher, ctx.replies.payments_made(made))
        return []


class ActionShowCredit(CustomerAction):
    def name(self) -> str:
        return "action_show_credit"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        made = invoices.payments_made(ctx.session, ctx.customer_id)
        say(dispatcher, ctx.replies.credit(made))
        return []


class ActionExplainPaymentNotRecorded(CustomerAction):
    """"I paid this morning, why is my service still off?": what is (not yet) on record, how long a
    payment takes to show, and when service comes back once it has."""

    def name(self) -> str:
        return "action_explain_payment_not_recorded"

    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        bal = invoices.balance(ctx.session, ctx.customer_id, ctx.today)
        made = invoices.payments_made(ctx.session, ctx.customer_id)
        suspended = policy.suspensions(ctx.session, ctx.customer_id, ctx.today)
        say(dispatcher, ctx.replies.payment_not_recorded(bal, made, suspended))
        return []

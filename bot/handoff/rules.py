"""The bot's own reasons to bring in a person, as plain functions of the billing data.

Each rule answers one question for one thing a customer said (an intent): does this need a
person, even though the customer did not ask for one? The bot answers first with what the
records say; when a rule finds that only staff can take it further, the conversation is handed
off with reason `rule`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

from sqlalchemy.orm import Session

from bot.billing import invoices, policy


@dataclass(frozen=True)
class PersonNeeded:
    rule: str  # which rule found it (the names below)
    invoices: tuple[str, ...] = ()  # the invoices it is about, for the agent


UNRECORDED_PAYMENT = "unrecorded_payment"


def unrecorded_payment(session: Session, customer_id: str, today: date) -> PersonNeeded | None:
    """A suspended customer says they have paid, and no payment towards the overdue invoices is
    on record since the suspension (towards any invoice). Only staff can match a bank transfer the records do not show
    yet (from the customer's remittance slip) and reactivate before it is booked, so a person
    takes it. A payment recorded since the suspension is on its way to restoring the service:
    the bot's answer (restored within N business days) is the whole story then."""
    suspended = policy.suspensions(session, customer_id, today)
    if not suspended:
        return None
    since = min((s.since for s in suspended if s.since is not None), default=date.min)
    overdue = sorted({inv.number for s in suspended for inv in s.overdue})
    last = invoices.payments_made(session, customer_id).last
    if not overdue or (last is not None and last.paid_on >= since):
        return None
    return PersonNeeded(UNRECORDED_PAYMENT, tuple(overdue))


# The rules that apply after each intent the bot has answered.
RULES: dict[str, Callable[[Session, str, date], PersonNeeded | None]] = {
    "payment_not_recorded": unrecorded_payment,
}


def person_needed(session: Session, customer_id: str, intent: str | None, today: date) -> PersonNeeded | None:
    """The first rule that says this customer's question, just answered, needs a person."""
    rule = RULES.get(intent or "")
    return rule(session, customer_id, today) if rule else None

"""Collections across the partner's customers: who is overdue, by how much, and what comes next."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.billing.invoices import all_invoices, balance, overdue_invoices, payments_made
from bot.billing.policy import policy_terms, schedule_for
from bot.billing.views import ZERO, InvoiceView, PaymentView
from bot.db.models import Subscription
from bot.partner.customers import CustomerRef, partner_customers


@dataclass(frozen=True)
class SubscriptionState:
    id: int
    name: str
    status: str  # active | suspended
    suspended_on: date | None
    reason: str | None


@dataclass(frozen=True)
class OverdueCustomer:
    customer: CustomerRef
    currency: str
    overdue_total: Decimal
    invoices: tuple[InvoiceView, ...]  # the longest overdue first
    days_overdue: int  # of the oldest
    next_reminder: date | None  # None: every reminder the policy sends has gone
    suspends_on: date | None  # when the policy would suspend; None when already suspended
    suspended_since: date | None


def subscriptions(session: Session, customer_id: str) -> list[SubscriptionState]:
    return [SubscriptionState(s.id, s.name, s.status, s.suspended_on, s.suspension_reason)
            for s in session.scalars(select(Subscription).where(Subscription.customer_id == customer_id)
                                     .order_by(Subscription.name))]


def overdue_customer(session: Session, customer: CustomerRef, today: date) -> OverdueCustomer | None:
    overdue = overdue_invoices(session, customer.customer_id, today)
    if not overdue:
        return None
    terms = policy_terms(session, customer.customer_id)
    schedules = [schedule_for(terms, invoice) for invoice in overdue] if terms else []
    reminders = [d for s in schedules for d in (s.reminder_before, s.reminder_after) if d >= today]
    suspended = [s for s in subscriptions(session, customer.customer_id) if s.status == "suspended"]
    return OverdueCustomer(
        customer=customer, currency=overdue[0].currency,
        overdue_total=sum((i.outstanding for i in overdue), ZERO), invoices=tuple(overdue),
        days_overdue=overdue[0].days_overdue(today),
        next_reminder=min(reminders, default=None),
        suspends_on=None if suspended else min((s.access_impacted_on for s in schedules), default=None),
        suspended_since=min((s.suspended_on for s in suspended if s.suspended_on), default=None),
    )


def overdue_customers(session: Session, partner_id: str, today: date) -> list[OverdueCustomer]:
    """Every customer of the partner with an invoice past due, the longest overdue first."""
    found = [o for c in partner_customers(session, partner_id) if (o := overdue_customer(session, c, today))]
    return sorted(found, key=lambda o: (-o.days_overdue, -o.overdue_total, o.customer.name))


@dataclass(frozen=True)
class CustomerAccount:
    """One customer's account as partner staff see it."""

    customer: CustomerRef
    currency: str
    invoices: tuple[InvoiceView, ...]  # newest first
    outstanding: Decimal
    overdue: Decimal
    credit: Decimal
    paid_total: Decimal
    last_payment: PaymentView | None
    subscriptions: tuple[SubscriptionState, ...]


def customer_account(session: Session, customer: CustomerRef, today: date) -> CustomerAccount:
    owed = balance(session, customer.customer_id, today)
    paid = payments_made(session, customer.customer_id)
    return CustomerAccount(customer, owed.currency, tuple(all_invoices(session, customer.customer_id)),
                           owed.outstanding, owed.overdue, owed.credit, paid.total, paid.last,
                           tuple(subscriptions(session, customer.customer_id)))

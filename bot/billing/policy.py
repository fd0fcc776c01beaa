"""The partner's collections policy as it applies to one customer, and subscription suspensions."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.billing.invoices import balance
from bot.billing.views import InvoiceView
from bot.db.models import CollectionsPolicy, Customer, Subscription

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PolicyTerms:
    partner_name: str
    reminder_days_before_due: int
    reminder_days_after_due: int
    suspend_after_days_overdue: int
    late_fee: Decimal | None
    reactivation_business_days: int


@dataclass(frozen=True)
class InvoiceSchedule:
    """What happens to one unpaid invoice, by date, if it stays unpaid."""

    invoice: InvoiceView
    reminder_before: date
    reminder_after: date
    access_impacted_on: date


@dataclass(frozen=True)
class CustomerPolicy:
    terms: PolicyTerms
    schedules: tuple[InvoiceSchedule, ...]


def policy_terms(session: Session, customer_id: str) -> PolicyTerms | None:
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    policy = session.get(CollectionsPolicy, customer.partner_id)
    if policy is None:
        return None
    return PolicyTerms(customer.partner.name, policy.reminder_days_before_due, policy.reminder_days_after_due,
                       policy.suspend_after_days_overdue, policy.late_fee, policy.reactivation_business_days)


def schedule_for(terms: PolicyTerms, invoice: InvoiceView) -> InvoiceSchedule:
    return InvoiceSchedule(
        invoice=invoice,
        reminder_before=invoice.due_date - timedelta(days=terms.reminder_days_before_due),
        reminder_after=invoice.due_date + timedelta(days=terms.reminder_days_after_due),
        access_impacted_on=invoice.due_date + timedelta(days=terms.suspend_after_days_overdue),
    )


def customer_policy(session: Session, customer_id: str, today: date) -> CustomerPolicy | None:
    terms = policy_terms(session, customer_id)
    if terms is None:
        return None
    unpaid = balance(session, customer_id, today).unpaid
    return CustomerPolicy(terms, tuple(schedule_for(terms, inv) for inv in unpaid))


def is_business_day(day: date) -> bool:
    """A working day in mainland China: public holidays are off, and the make-up working days
    (调休) that move them are on, as the State Council publishes them each year (chinese-calendar).
    A year not yet published falls back to Monday to Friday, and says so in the log."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        _warn_unpublished_year(day.year)
        return day.weekday() < 5


@lru_cache(maxsize=None)
def _warn_unpublished_year(year: int) -> None:
    logger.warning("China's holidays for %s are not published in chinese-calendar yet: Monday-Friday used", year)


def add_business_days(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if is_business_day(current):
            days -= 1
    return current


@dataclass(frozen=True)
class Suspension:
    subscription: str
    since: date | None
    reason: str | None
    amount_to_restore: Decimal  # every overdue amount must be paid
    currency: str
    overdue: tuple[InvoiceView, ...]
    reactivation_business_days: int


def suspensions(session: Session, customer_id: str, today: date) -> list[Suspension]:
    """The customer's suspended subscriptions with what it takes to restore them."""
    subs = session.scalars(select(Subscription).where(Subscription.customer_id == customer_id,
                                                      Subscription.status == "suspended")).all()
    if not subs:
        return []
    terms = policy_terms(session, customer_id)
    owed = balance(session, customer_id, today)
    overdue = tuple(v for v in owed.unpaid if v.due_date < today)
    return [Suspension(s.name, s.suspended_on, s.suspension_reason, owed.overdue, owed.currency, overdue,
                       terms.reactivation_business_days if terms else 1) for s in subs]


def subscription_names(session: Session, customer_id: str) -> list[tuple[str, str]]:
    return [(s.name, s.status) for s in session.scalars(
        select(Subscription).where(Subscription.customer_id == customer_id).order_by(Subscription.name))]

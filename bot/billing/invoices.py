"""Invoices, balances, payments and bill changes for one verified customer."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.billing.views import ZERO, InvoiceView, PaymentView
from bot.db.models import Customer, Invoice, LineDisplayName


def _invoices(customer_id: str):
    return (select(Invoice).where(Invoice.customer_id == customer_id)
            .options(selectinload(Invoice.lines), selectinload(Invoice.payments)))


def customer_name(session: Session, customer_id: str) -> str | None:
    customer = session.get(Customer, customer_id)
    return customer.name if customer else None


def find_invoice(session: Session, customer_id: str, number: str) -> InvoiceView | None:
    """The customer's invoice with that number; None for a missing *or a foreign* one."""
    invoice = session.scalars(_invoices(customer_id).where(Invoice.number == number)).first()
    return InvoiceView.of(invoice) if invoice else None


def latest_invoice(session: Session, customer_id: str) -> InvoiceView | None:
    stmt = _invoices(customer_id).order_by(Invoice.period.desc(), Invoice.issue_date.desc()).limit(1)
    invoice = session.scalars(stmt).first()
    return InvoiceView.of(invoice) if invoice else None


def invoices_for_period(session: Session, customer_id: str, period: str) -> list[InvoiceView]:
    stmt = _invoices(customer_id).where(Invoice.period == period).order_by(Invoice.number)
    return [InvoiceView.of(i) for i in session.scalars(stmt)]


def recent_invoices(session: Session, customer_id: str, limit: int = 3) -> list[InvoiceView]:
    stmt = _invoices(customer_id).order_by(Invoice.period.desc(), Invoice.issue_date.desc()).limit(limit)
    return [InvoiceView.of(i) for i in session.scalars(stmt)]


@dataclass(frozen=True)
class Balance:
    currency: str
    outstanding: Decimal  # what is still owed on unpaid invoices
    overdue: Decimal  # the part of it past its due date
    credit: Decimal  # money received beyond what invoices asked for (e.g. a duplicate payment)
    unpaid: tuple[InvoiceView, ...]

    @property
    def net(self) -> Decimal:
        return self.outstanding - self.credit


def balance(session: Session, customer_id: str, today: date, default_currency: str = "CNY") -> Balance:
    views = [InvoiceView.of(i) for i in session.scalars(_invoices(customer_id).order_by(Invoice.due_date))]
    unpaid = tuple(v for v in views if not v.is_paid)
    return Balance(
        currency=views[0].currency if views else default_currency,
        outstanding=sum((v.outstanding for v in unpaid), ZERO),
        overdue=sum((v.outstanding for v in unpaid if v.due_date < today), ZERO),
        credit=sum((v.overpaid for v in views), ZERO),
        unpaid=unpaid,
    )


def overdue_invoices(session: Session, customer_id: str, today: date) -> list[InvoiceView]:
    """Every invoice still (partly) unpaid after its due date, the longest overdue first."""
    stmt = _invoices(customer_id).where(Invoice.due_date < today).order_by(Invoice.due_date, Invoice.number)
    return [v for v in (InvoiceView.of(i) for i in session.scalars(stmt)) if not v.is_paid]


def all_invoices(session: Session, customer_id: str) -> list[InvoiceView]:
    stmt = _invoices(customer_id).order_by(Invoice.period.desc(), Invoice.issue_date.desc(), Invoice.number)
    return [InvoiceView.of(i) for i in session.scalars(stmt)]


@dataclass(frozen=True)
class PaymentsMade:
    currency: str
    total: Decimal
    count: int
    by_invoice: tuple[tuple[InvoiceView, Decimal], ...]  # what was paid towards each invoice, newest first
    last: PaymentView | None  # the most recent payment received

    @property
    def credit(self) -> Decimal:
        """Money received beyond what the invoices asked for (a duplicate payment)."""
        return sum((inv.overpaid for inv, _ in self.by_invoice), ZERO)


def payments_made(session: Session, customer_id: str, default_currency: str = "CNY") -> PaymentsMade:
    """Everything the customer has paid, per invoice (a payment is always made towards one)."""
    views = all_invoices(session, customer_id)
    paid = tuple((v, v.received) for v in views if v.payments)
    payments = [p for v in views for p in v.payments]
    return PaymentsMade(
        currency=views[0].currency if views else default_currency,
        total=sum((amount for _, amount in paid), ZERO),
        count=len(payments),
        by_invoice=paid,
        last=max(payments, key=lambda p: (p.paid_on, p.reference), default=None),
    )


@dataclass(frozen=True)
class LineChange:
    description: str
    previous: Decimal | None  # None: the charge is new this period
    current: Decimal | None  # None: the charge is gone this period

    @property
    def delta(self) -> Decimal:
        return (self.current or ZERO) - (self.previous or ZERO)


@dataclass(frozen=True)
class BillChange:
    invoice: InvoiceView
    previous: InvoiceView | None
    changes: tuple[LineChange, ...]  # only lines whose amount changed, biggest change first

    @property
    def total_delta(self) -> Decimal:
        return self.invoice.total - (self.previous.total if self.previous else ZERO)


def _sum_by_description(view: InvoiceView) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    for line in view.lines:
        sums[line.description] = sums.get(line.description, ZERO) + line.amount
    return sums


def compare_with_previous(session: Session, customer_id: str, invoice: InvoiceView,
                          baseline_period: str | None = None) -> BillChange:
    """Line-by-line difference between an invoice and the customer's invoice for the period
    before it (or for `baseline_period`, when the customer named the month to compare with)."""
    stmt = _invoices(customer_id).where(Invoice.number != invoice.number)
    stmt = stmt.where(Invoice.period == baseline_period) if baseline_period else stmt.where(Invoice.period < invoice.period)
    stmt = stmt.order_by(Invoice.period.desc(), Invoice.issue_date.desc()).limit(1)
    row = session.scalars(stmt).first()
    previous = InvoiceView.of(row) if row else None
    if previous is None:
        return BillChange(invoice, None, ())
    before, now = _sum_by_description(previous), _sum_by_description(invoice)
    changes = [LineChange(d, before.get(d), now.get(d)) for d in [*now, *(d for d in before if d not in now)]]
    changed = [c for c in changes if c.delta != ZERO]
    changed.sort(key=lambda c: abs(c.delta), reverse=True)
    return BillChange(invoice, previous, tuple(changed))


def partner_name(session: Session, customer_id: str) -> str:
    customer = session.get(Customer, customer_id)
    return customer.partner.name if customer else "your provider"


def partner_customers(session: Session, partner_id: str) -> list[tuple[str, str]]:
    """(id, name) of the partner's customers."""
    return [(c.id, c.name) for c in session.scalars(
        select(Customer).where(Customer.partner_id == partner_id).order_by(Customer.name))]


def line_names(session: Session, language: str) -> dict[str, str]:
    """The display names of invoice lines in a language, by the description the billing data uses."""
    rows = session.execute(select(LineDisplayName.description, LineDisplayName.name)
                           .where(LineDisplayName.language == language))
    return {description: name for description, name in rows}

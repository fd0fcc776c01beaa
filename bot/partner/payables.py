"""What the partner owes 21Vianet: its partner invoices (PV-2026-10...)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.billing.views import ZERO
from bot.db.models import PartnerInvoice


@dataclass(frozen=True)
class PartnerInvoiceView:
    number: str
    period: str
    issue_date: date
    due_date: date
    currency: str
    total: Decimal
    paid_on: date | None

    @property
    def is_paid(self) -> bool:
        return self.paid_on is not None

    def days_overdue(self, today: date) -> int:
        return 0 if self.is_paid else max((today - self.due_date).days, 0)


@dataclass(frozen=True)
class Payables:
    currency: str
    unpaid: tuple[PartnerInvoiceView, ...]  # oldest due first
    last_paid: PartnerInvoiceView | None

    @property
    def owed(self) -> Decimal:
        return sum((i.total for i in self.unpaid), ZERO)


def payables(session: Session, partner_id: str, default_currency: str = "CNY") -> Payables:
    rows = [PartnerInvoiceView(r.number, r.period, r.issue_date, r.due_date, r.currency, r.total,
                               r.paid_on if r.status == "paid" else None)
            for r in session.scalars(select(PartnerInvoice).where(PartnerInvoice.partner_id == partner_id)
                                     .order_by(PartnerInvoice.due_date))]
    unpaid = tuple(r for r in rows if not r.is_paid)
    paid = [r for r in rows if r.is_paid]
    return Payables(rows[0].currency if rows else default_currency, unpaid,
                    max(paid, key=lambda r: r.paid_on, default=None))

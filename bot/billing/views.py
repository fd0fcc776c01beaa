"""Read-only views of billing rows, detached from the session that loaded them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.db.models import Invoice

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LineView:
    description: str
    amount: Decimal


@dataclass(frozen=True)
class PaymentView:
    paid_on: date
    amount: Decimal
    method: str
    reference: str


@dataclass(frozen=True)
class InvoiceView:
    number: str
    period: str
    issue_date: date
    due_date: date
    currency: str
    total: Decimal
    lines: tuple[LineView, ...]
    payments: tuple[PaymentView, ...]

    @property
    def received(self) -> Decimal:
        return sum((p.amount for p in self.payments), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return max(self.total - self.received, ZERO)

    @property
    def overpaid(self) -> Decimal:
        return max(self.received - self.total, ZERO)

    @property
    def paid_twice(self) -> bool:
        """Two payments, each of the whole amount: the classic duplicate transfer."""
        return len(self.payments) == 2 and all(p.amount == self.total for p in self.payments)

    @property
    def is_paid(self) -> bool:
        return self.outstanding == ZERO

    def days_overdue(self, today: date) -> int:
        return max((today - self.due_date).days, 0) if not self.is_paid else 0

    @classmethod
    def of(cls, invoice: Invoice) -> "InvoiceView":
        return cls(
            number=invoice.number, period=invoice.period, issue_date=invoice.issue_date,
            due_date=invoice.due_date, currency=invoice.currency, total=invoice.total,
            lines=tuple(LineView(l.description, l.amount) for l in invoice.lines),
            payments=tuple(PaymentView(p.paid_on, p.amount, p.method, p.reference) for p in invoice.payments),
        )

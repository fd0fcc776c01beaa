"""What the billing data can settle about a dispute or refund before anyone else is involved.

The conversation asks which invoice and which charge; `assess_dispute` and `assess_refund`
decide whether the records answer it (then the customer gets the answer at once), whether the
partner must act (a duplicate payment to refund, a charge billed twice to correct), or whether
only 21Vianet can settle it (a charge the records cannot explain).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from bot.billing.invoices import find_invoice
from bot.billing.views import InvoiceView, LineView

# What the customer says is wrong, besides naming one of the invoice's lines.
ALREADY_PAID = "already paid"
CHARGED_TWICE = "charged twice"
WHOLE_INVOICE = "the total"
SPECIAL_CHARGES = (ALREADY_PAID, CHARGED_TWICE, WHOLE_INVOICE)

# Outcomes
SETTLED_PAID = "settled_paid"  # the invoice is paid: say when and how
SETTLED_LINES = "settled_lines"  # the line items explain the amount: show them
PARTNER_REFUND = "partner_refund"  # money received twice: the partner refunds, no 21Vianet
PARTNER_CORRECTION = "partner_correction"  # the same charge billed twice, or an unrecorded payment
ESCALATE = "escalate"  # only 21Vianet can settle it


@dataclass(frozen=True)
class Assessment:
    outcome: str
    invoice: InvoiceView
    line: LineView | None = None
    amount: Decimal | None = None  # the amount at stake, when it matters

    @property
    def needs_filing(self) -> bool:
        return self.outcome in (PARTNER_REFUND, PARTNER_CORRECTION, ESCALATE)

    @property
    def problem(self) -> str | None:
        """What makes two filings the same problem, whatever path the customer took: money received
        twice is one refund, asked for through the refund form or disputed as "charged twice"."""
        if self.outcome == PARTNER_REFUND:
            return "overpayment"
        if self.outcome == PARTNER_CORRECTION and self.line is not None:
            return f"billed twice: {self.line.description}"
        return None

    @property
    def route(self) -> str | None:
        """Where a filing goes: the partner's own queue, or 21Vianet."""
        if self.outcome == ESCALATE:
            return "vianet"
        return "partner" if self.needs_filing else None


def duplicate_lines(invoice: InvoiceView) -> list[LineView]:
    counts = Counter((l.description, l.amount) for l in invoice.lines)
    return [LineView(d, a) for (d, a), n in counts.items() if n > 1]


def find_line(invoice: InvoiceView, charge: str) -> LineView | None:
    wanted = charge.strip().lower()
    return next((l for l in invoice.lines if l.description.lower() == wanted), None)


def assess_dispute(session: Session, customer_id: str, invoice_number: str, charge: str) -> Assessment | None:
    """None when the invoice is not the customer's (the caller says "not found")."""
    invoice = find_invoice(session, customer_id, invoice_number)
    if invoice is None:
        return None
    if invoice.overpaid:
        # Whatever they dispute on an invoice paid twice, the money to return is the overpayment.
        return Assessment(PARTNER_REFUND, invoice, amount=invoice.overpaid)
    if charge == ALREADY_PAID:
        if invoice.is_paid:
            return Assessment(SETTLED_PAID, invoice)
        # No payment, or only part of it, on record: the partner matches the customer's payment.
        return Assessment(PARTNER_CORRECTION, invoice, amount=invoice.outstanding)
    if charge == CHARGED_TWICE:
        twice = duplicate_lines(invoice)
        if twice:
            return Assessment(PARTNER_CORRECTION, invoice, line=twice[0], amount=twice[0].amount)
        return Assessment(SETTLED_LINES, invoice)
    if charge == WHOLE_INVOICE:
        return Assessment(SETTLED_LINES, invoice)
    line = find_line(invoice, charge)
    return Assessment(ESCALATE, invoice, line=line, amount=line.amount if line else None)


def assess_refund(session: Session, customer_id: str, invoice_number: str) -> Assessment | None:
    invoice = find_invoice(session, customer_id, invoice_number)
    if invoice is None:
        return None
    if invoice.overpaid:
        return Assessment(PARTNER_REFUND, invoice, amount=invoice.overpaid)
    return Assessment(SETTLED_PAID if invoice.is_paid else SETTLED_LINES, invoice)

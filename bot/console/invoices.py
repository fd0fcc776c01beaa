"""The customer's invoices for the agent, through the billing domain (bot/billing/), with amounts,
periods and dates as the reply layer writes them in the agent's language."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from bot.billing.invoices import all_invoices
from bot.billing.views import InvoiceView
from bot.replies.catalogue import Phrases


def invoice_status(invoice: InvoiceView, today: date) -> str:
    if invoice.overpaid:
        return "overpaid"
    if invoice.is_paid:
        return "paid"
    if invoice.due_date < today:
        return "overdue"
    return "partly_paid" if invoice.payments else "unpaid"


def customer_invoices(session: Session, customer_id: str, phrases: Phrases, today: date) -> list[dict[str, Any]]:
    """Newest first. Scoped by the handoff's customer: the only key is the conversation's own."""
    rows = []
    for invoice in all_invoices(session, customer_id):
        status = invoice_status(invoice, today)
        rows.append({
            "number": invoice.number,
            "period": phrases.month(invoice.period),
            "total": phrases.money(invoice.total, invoice.currency),
            "due_date": phrases.day(invoice.due_date),
            "status": status,
            "status_text": phrases.say(f"console.invoice_status.{status}"),
            "balance": phrases.money(invoice.outstanding, invoice.currency),
        })
    return rows

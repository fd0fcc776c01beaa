"""Escalations in the customer's words: where their ticket is, and the news that it is resolved.

Never mentions retries, upstream errors or internal states: the customer learns who has their
problem and what happens next. The conversation side may use its own responses instead; the
notification rows carry a text key and parameters for that.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.escalation.models import State
from bot.formatting import day

if TYPE_CHECKING:
    from bot.escalation.views import EscalationView

RESOLVED_KEY = "escalation_resolved"

KIND_NAMES = {"dispute": "dispute", "refund": "refund request", "partner_report": "report"}


def state_in_plain_words(escalation: EscalationView, settings: Settings | None = None) -> str:
    state = escalation.state
    if state in (State.PENDING, State.SENDING):
        return "received; we are passing it to 21Vianet"
    if state == State.SENT:
        if escalation.upstream_status == "attention_needed":
            return "21Vianet asked your provider for more details; your provider's billing team is on it"
        return "sent to 21Vianet, waiting for their answer"
    if state == State.PARTNER_QUEUE:
        return "with your provider's billing team"
    if state == State.REOPENED:
        if escalation.upstream_id:
            return "reopened; 21Vianet is looking at it again"
        return "reopened; with your provider's billing team"
    if state == State.CLOSED:  # closed, not "resolved": the answer may be that the charge is correct
        if escalation.closed_at is None:
            return "closed"
        return f"closed on {day(escalation.closed_at.date(), settings)}"
    return "being handled"


def resolved_notification(
    *, reference: str, kind: str, summary: str, invoice_number: str | None, resolved_by: str, closed_on: str
) -> tuple[str, dict[str, Any], str]:
    """(text_key, params, default English text) for "your escalation was resolved"."""
    who = "21Vianet" if resolved_by == "vianet" else "your provider's billing team"
    about = f" about invoice {invoice_number}" if invoice_number else ""
    text = (
        f"An update on your {KIND_NAMES.get(kind, 'request')} {reference}{about} (\u201c{summary}\u201d): "
        f"{who} has closed it. Is the problem solved for you?"
    )
    params = {
        "reference": reference,
        "kind": kind,
        "summary": summary,
        "invoice_number": invoice_number,
        "resolved_by": resolved_by,
        "closed_on": closed_on,
    }
    return RESOLVED_KEY, params, text

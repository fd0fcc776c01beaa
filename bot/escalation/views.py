"""Read-only views of escalation rows, detached from the session that loaded them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.escalation.models import CustomerNotification, Escalation, EscalationEvent, State


@dataclass(frozen=True)
class EscalationView:
    """One escalation as the conversation and partner staff see it (no internal error text)."""

    id: int
    reference: str
    customer_id: str
    partner_id: str
    kind: str
    route: str
    invoice_number: str | None
    amount: Decimal | None
    currency: str | None
    summary: str
    description: str
    filed_by: str
    conversation_id: str | None
    state: str
    queue_reason: str | None
    upstream_id: str | None
    upstream_status: str
    attempts: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    created: bool = False  # True only from the file_escalation call that inserted it

    @property
    def is_open(self) -> bool:
        return self.state in State.OPEN

    @property
    def progress(self) -> str:
        """Where the escalation is, as the customer would ask it: a code the reply layer words
        (bot/replies, `ticket.state.<code>`)."""
        state = self.state
        if state in (State.PENDING, State.SENDING):
            return "passing_on"
        if state == State.SENT:
            return "vianet_needs_details" if self.upstream_status == "attention_needed" else "with_vianet"
        if state == State.PARTNER_QUEUE:
            return "with_partner"
        if state == State.REOPENED:
            return "reopened_vianet" if self.upstream_id else "reopened_partner"
        if state == State.CLOSED:  # closed, not "resolved": the answer may be that the charge is correct
            return "closed"
        return "in_progress"

    @classmethod
    def of(cls, row: Escalation, *, created: bool = False) -> EscalationView:
        return cls(
            id=row.id, reference=row.reference, customer_id=row.customer_id, partner_id=row.partner_id,
            kind=row.kind, route=row.route, invoice_number=row.invoice_number, amount=row.amount,
            currency=row.currency, summary=row.summary, description=row.description, filed_by=row.filed_by,
            conversation_id=row.conversation_id, state=row.state, queue_reason=row.queue_reason,
            upstream_id=row.upstream_id, upstream_status=row.upstream_status, attempts=row.attempts,
            created_at=row.created_at, updated_at=row.updated_at, closed_at=row.closed_at, created=created,
        )


@dataclass(frozen=True)
class EventView:
    at: datetime
    kind: str
    detail: str | None

    @classmethod
    def of(cls, row: EscalationEvent) -> EventView:
        return cls(at=row.at, kind=row.kind, detail=row.detail)


@dataclass(frozen=True)
class PartnerQueueItem:
    """An escalation partner staff must act on, with why and (log-safe) the last upstream error."""

    escalation: EscalationView
    customer_name: str
    reason: str
    last_error: str | None


@dataclass(frozen=True)
class NotificationView:
    id: int
    escalation_id: int
    reference: str
    customer_id: str
    conversation_id: str | None
    text_key: str
    params: dict[str, Any] = field(hash=False)
    created_at: datetime | None = None
    delivered_at: datetime | None = None
    shown_at: datetime | None = None
    acknowledged: bool | None = None
    answered_at: datetime | None = None
    customer_name: str | None = None  # filled for partner staff

    @classmethod
    def of(cls, row: CustomerNotification, reference: str, customer_name: str | None = None) -> NotificationView:
        return cls(
            id=row.id, escalation_id=row.escalation_id, reference=reference, customer_id=row.customer_id,
            conversation_id=row.conversation_id, text_key=row.text_key, params=dict(row.params or {}),
            created_at=row.created_at, delivered_at=row.delivered_at, shown_at=row.shown_at,
            acknowledged=row.acknowledged, answered_at=row.answered_at, customer_name=customer_name,
        )

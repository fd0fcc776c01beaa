"""The escalation tables: what was escalated, what happened to it, what still has to go out.

Every row the relay and the poller act on lives here, so a worker killed at any moment resumes
from the database. Timestamps are naive UTC (SQLite keeps no time zone; PostgreSQL gets the same
values), written by `utcnow()`.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from bot.db.models import Base, MoneyType

KINDS = ("dispute", "refund", "partner_report")
ROUTES = ("vianet", "partner")  # vianet: sent to 21Vianet; partner: handled by partner staff only
UPSTREAM_STATUSES = ("none", "open", "attention_needed", "closed")


class State:
    """Where an escalation is. pending -> sending -> sent | partner_queue -> closed (-> reopened)."""

    PENDING = "pending"  # recorded, waiting for the relay
    SENDING = "sending"  # claimed by a relay; next_attempt_at is the end of its lease
    SENT = "sent"  # 21Vianet has it (upstream_id known); the poller follows it
    PARTNER_QUEUE = "partner_queue"  # partner staff handle it; queue_reason says why
    CLOSED = "closed"
    REOPENED = "reopened"  # the customer said the problem is not solved

    OPEN = (PENDING, SENDING, SENT, PARTNER_QUEUE, REOPENED)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Escalation(Base):
    __tablename__ = "escalations"

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)  # customer-facing, e.g. ESC-7K3M9Q
    request_id = Column(String(36), nullable=False, unique=True)  # MS-RequestId, the same on every retry
    # Cleared when the escalation closes, so the same problem can be filed again later.
    dedup_key = Column(String(64), nullable=True, unique=True)
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=False, index=True)
    partner_id = Column(String(16), ForeignKey("partners.id"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    route = Column(String(16), nullable=False)
    invoice_number = Column(String(16), nullable=True)
    amount = Column(MoneyType, nullable=True)
    currency = Column(String(3), nullable=True)
    summary = Column(String(200), nullable=False)
    description = Column(Text, nullable=False)
    filed_by = Column(String(80), nullable=False)  # "customer" or "partner:<name>"
    conversation_id = Column(String(128), nullable=True)  # the Rasa sender id it came from

    state = Column(String(16), nullable=False)
    queue_reason = Column(String(300), nullable=True)  # why it is in the partner-staff queue
    upstream_id = Column(String(64), nullable=True, unique=True)
    upstream_status = Column(String(20), nullable=False, default="none")
    upstream_notes_seen = Column(Integer, nullable=False, default=0)

    attempts = Column(Integer, nullable=False, default=0)  # send attempts (claims) so far
    next_attempt_at = Column(DateTime, nullable=True)  # pending: next try; sending: lease end
    claim_token = Column(String(36), nullable=True)  # which claim may record the outcome
    last_error = Column(Text, nullable=True)  # log-safe, for staff and logs; never shown to customers
    poll_failures = Column(Integer, nullable=False, default=0)
    next_poll_at = Column(DateTime, nullable=True)

    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    closed_at = Column(DateTime, nullable=True)

    events = relationship("EscalationEvent", order_by="EscalationEvent.id", back_populates="escalation")

    __table_args__ = (Index("ix_escalations_state_next_attempt_at", "state", "next_attempt_at"),)


class EscalationEvent(Base):
    """The history of one escalation, as partner staff read it."""

    __tablename__ = "escalation_events"

    id = Column(Integer, primary_key=True)
    escalation_id = Column(Integer, ForeignKey("escalations.id"), nullable=False, index=True)
    at = Column(DateTime, nullable=False, default=utcnow)
    kind = Column(String(32), nullable=False)
    detail = Column(Text, nullable=True)

    escalation = relationship("Escalation", back_populates="events")


class EscalationNote(Base):
    """A note (and optionally a status change) waiting to be PATCHed onto the 21Vianet ticket."""

    __tablename__ = "escalation_notes"

    id = Column(Integer, primary_key=True)
    escalation_id = Column(Integer, ForeignKey("escalations.id"), nullable=False, index=True)
    author = Column(String(80), nullable=False)  # "customer" or "partner:<id>"
    text = Column(Text, nullable=False)
    set_status = Column(String(20), nullable=True)  # e.g. "open" when the customer reopens
    request_id = Column(String(36), nullable=False, unique=True)  # MS-RequestId of the PATCH
    sent = Column(Boolean, nullable=False, default=False)
    sent_at = Column(DateTime, nullable=True)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=True)  # also the lease end while being sent
    last_error = Column(Text, nullable=True)
    gave_up_at = Column(DateTime, nullable=True)  # rejected or out of attempts: staff take over
    created_at = Column(DateTime, nullable=False, default=utcnow)


class CustomerNotification(Base):
    """What the customer was told about an escalation, and when it reached them."""

    __tablename__ = "customer_notifications"

    id = Column(Integer, primary_key=True)
    escalation_id = Column(Integer, ForeignKey("escalations.id"), nullable=False, index=True)
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=False, index=True)
    conversation_id = Column(String(128), nullable=True, index=True)
    text_key = Column(String(64), nullable=False)  # e.g. escalation_resolved: what happened, worded by bot/replies
    params = Column(JSON, nullable=False, default=dict)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    push_attempts = Column(Integer, nullable=False, default=0)
    next_push_at = Column(DateTime, nullable=True)
    delivered_at = Column(DateTime, nullable=True)  # pushed into an open chat
    shown_at = Column(DateTime, nullable=True)  # shown when the customer next opened the chat
    acknowledged = Column(Boolean, nullable=True)  # their answer to "is it solved?"; None: no answer
    answered_at = Column(DateTime, nullable=True)

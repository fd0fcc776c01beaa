"""Tables of the partner desk: the staff directory, the audit log and subscription changes."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint

from bot.db.models import Base

PLATFORMS = ("slack", "teams")
ROLES = ("billing_admin", "read_only")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class StaffMember(Base):
    """A partner's staff member as one platform knows them: (platform, workspace or tenant, user)."""

    __tablename__ = "staff_directory"
    id = Column(Integer, primary_key=True)
    platform = Column(String(16), nullable=False)  # slack | teams
    workspace = Column(String(64), nullable=False)  # Slack team id, or the Teams (AAD) tenant id
    user_id = Column(String(64), nullable=False)  # Slack user id, or the AAD object id
    partner_id = Column(String(16), ForeignKey("partners.id"), nullable=False, index=True)
    name = Column(String(120), nullable=False)
    role = Column(String(16), nullable=False)  # billing_admin | read_only

    __table_args__ = (UniqueConstraint("platform", "workspace", "user_id"),)


class AuditEntry(Base):
    """One change made by partner staff (or applied for them), in the partner's own log."""

    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True)
    partner_id = Column(String(16), ForeignKey("partners.id"), nullable=False)
    at = Column(DateTime, nullable=False, default=utcnow)
    actor = Column(String(160), nullable=False)  # staff name, or "system" for the worker
    actor_id = Column(String(160), nullable=True)  # e.g. slack:T0LAKESHORE:U0MEICHEN
    action = Column(String(48), nullable=False)  # e.g. subscription_suspend_requested
    customer_id = Column(String(16), nullable=True)
    subject = Column(String(120), nullable=True)  # what was changed: a subscription, an escalation...
    reason = Column(Text, nullable=True)  # the staff member's own words
    details = Column(Text, nullable=True)  # JSON facts (codes and values, never sentences)

    __table_args__ = (Index("ix_audit_log_partner_at", "partner_id", "at"),
                      Index("ix_audit_log_customer", "customer_id"))


class SubscriptionChange(Base):
    """Suspend or reactivate one subscription: recorded first, then applied to Partner Center by
    the worker (an outbox, like escalations), so a fault upstream loses nothing."""

    __tablename__ = "subscription_changes"
    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)  # SC-XXXXXX, told to staff
    partner_id = Column(String(16), ForeignKey("partners.id"), nullable=False)
    customer_id = Column(String(16), ForeignKey("customers.id"), nullable=False, index=True)
    subscription_id = Column(Integer, ForeignKey("subscriptions.id"), nullable=False)
    target_status = Column(String(16), nullable=False)  # suspended | active
    reason = Column(Text, nullable=False)
    requested_by = Column(String(160), nullable=False)
    requested_by_id = Column(String(160), nullable=True)
    requested_at = Column(DateTime, nullable=False, default=utcnow)
    # pending: to apply upstream; applied: Partner Center has it; recorded: no upstream, the partner
    # applies it by hand; failed: upstream refused it for good (the detail says why)
    state = Column(String(16), nullable=False, default="pending")
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=True)
    lease_until = Column(DateTime, nullable=True)
    applied_at = Column(DateTime, nullable=True)
    last_error = Column(String(300), nullable=True)

    __table_args__ = (Index("ix_subscription_changes_due", "state", "next_attempt_at"),)

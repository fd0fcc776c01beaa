"""The partner's audit log: every change staff make, and what the worker applied for them.

Entries hold facts (an action code, who, which customer, the staff member's own reason, and JSON
details), never sentences: the reply layer words them in the reader's language.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.partner.models import AuditEntry, utcnow

# Action codes (the reply layer has a phrase for each).
SUSPEND_REQUESTED = "subscription_suspend_requested"
REACTIVATE_REQUESTED = "subscription_reactivate_requested"
# What the worker records when it applied a change, could only record it (no Partner Center: the
# partner applies it by hand), or failed: bot/partner/apply.py.
SUSPENDED = "subscription_suspended"
REACTIVATED = "subscription_reactivated"
ESCALATION_FILED = "escalation_filed"
FAPIAO_ISSUED = "fapiao_issued"
SYSTEM = "system"  # the worker, applying what staff asked for


@dataclass(frozen=True)
class AuditView:
    at: datetime  # UTC, naive
    actor: str
    action: str
    customer_id: str | None
    subject: str | None
    reason: str | None
    details: dict[str, Any]


def record(session: Session, partner_id: str, *, actor: str, action: str, actor_id: str | None = None,
           customer_id: str | None = None, subject: str | None = None, reason: str | None = None,
           **details: Any) -> None:
    session.add(AuditEntry(partner_id=partner_id, at=utcnow(), actor=actor[:160], actor_id=actor_id, action=action,
                           customer_id=customer_id, subject=subject, reason=reason,
                           details=json.dumps(details, sort_keys=True, default=str) if details else None))


def entries(session: Session, partner_id: str, *, customer_id: str | None = None, since: datetime | None = None,
            actions: tuple[str, ...] | None = None, limit: int = 10) -> list[AuditView]:
    """The partner's latest entries, newest first, optionally about one customer, since a moment,
    or of some actions only. Another partner's entries are never returned."""
    stmt = select(AuditEntry).where(AuditEntry.partner_id == partner_id)
    if customer_id:
        stmt = stmt.where(AuditEntry.customer_id == customer_id)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if actions:
        stmt = stmt.where(AuditEntry.action.in_(actions))
    rows = session.scalars(stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit))
    return [AuditView(r.at, r.actor, r.action, r.customer_id, r.subject, r.reason, _details(r.details)) for r in rows]


def _details(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

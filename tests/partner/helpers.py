"""Helpers for the subscription-change tests: the stand-in's admin side, recording a change as the
request side does, reading rows back."""
from __future__ import annotations

import json
import secrets
from typing import Any

import requests
from sqlalchemy import select

from bot.config import PartnerCenterSettings
from bot.db import session_scope
from bot.db.models import Customer, Subscription
from bot.partner.models import AuditEntry, SubscriptionChange
from bot.seed import DEMO_CUSTOMERS
from tests.escalation.helpers import VianetAdmin

TOKEN = "partner-center-test-token-0123456789"
ADMIN_TIMEOUT = 5
CONTOSO, FABRIKAM = "C-1001", "C-1002"  # active, suspended in the seed and in the stand-in
UPSTREAM = {c.id: (c.tenant_id, c.subscription_upstream_id) for c in DEMO_CUSTOMERS}

FAST_ENV = {
    "PARTNER_CENTER_TIMEOUT_CONNECT": "0.5",
    "PARTNER_CENTER_TIMEOUT_READ": "0.5",
    "PARTNER_CENTER_ATTEMPTS": "6",
    "PARTNER_CENTER_LEASE_SECONDS": "1",
    "PARTNER_CENTER_BACKOFF_BASE": "0.01",
    "PARTNER_CENTER_BACKOFF_CAP": "0.05",
}


def fast_settings(url: str | None, **overrides: Any) -> PartnerCenterSettings:
    values = dict(base_url=url, token=TOKEN if url else None, timeout_connect=0.5, timeout_read=0.5, attempts=6,
                  lease_seconds=1.0, backoff_base=0.01, backoff_cap=0.05, batch_size=20)
    values.update(overrides)
    return PartnerCenterSettings(**values)


class PartnerCenterAdmin(VianetAdmin):
    """The local stand-in seen from Partner Center's side (its /_admin/ endpoints); faults meet
    only the subscription API."""

    def fault(self, mode: str, **options: Any) -> None:
        super().fault(mode, api="subscriptions", **options)

    def subscription(self, customer_id: str) -> dict[str, Any]:
        """status, etag, get_calls, patch_calls, status_changes of a demo customer's subscription."""
        tenant, subscription_id = UPSTREAM[customer_id]
        response = requests.get(f"{self.url}/_admin/subscriptions", timeout=ADMIN_TIMEOUT)
        response.raise_for_status()
        return response.json()[f"{tenant}/{subscription_id}"]

    def change_as_portal(self, customer_id: str, **fields: Any) -> dict[str, Any]:
        tenant, subscription_id = UPSTREAM[customer_id]
        return self._post(f"subscriptions/{tenant}/{subscription_id}", fields)


def request_change(customer_id: str, target: str, reason: str = "non-payment", *,
                   requested_by: str = "Mei Chen") -> str:
    """Record a pending change (and its audit entry) as the request side does; returns its reference."""
    reference = f"SC-{secrets.token_hex(3).upper()}"
    with session_scope() as session:
        customer = session.get(Customer, customer_id)
        subscription = session.scalars(select(Subscription).where(Subscription.customer_id == customer_id)).first()
        session.add(SubscriptionChange(
            reference=reference, partner_id=customer.partner_id, customer_id=customer_id,
            subscription_id=subscription.id, target_status=target, reason=reason, requested_by=requested_by,
            requested_by_id="slack:T0LAKESHORE:U0MEICHEN", state="pending", attempts=0))
        session.add(AuditEntry(partner_id=customer.partner_id, actor=requested_by,
                               actor_id="slack:T0LAKESHORE:U0MEICHEN",
                               action="subscription_suspend_requested" if target == "suspended"
                               else "subscription_reactivate_requested",
                               customer_id=customer_id, subject=reference, reason=reason,
                               details=json.dumps({"reference": reference})))
    return reference


def change(reference: str) -> SubscriptionChange:
    with session_scope() as session:
        found = session.scalars(select(SubscriptionChange).where(SubscriptionChange.reference == reference)).one()
        session.expunge(found)
        return found


def local_subscription(customer_id: str) -> Subscription:
    with session_scope() as session:
        found = session.scalars(select(Subscription).where(Subscription.customer_id == customer_id)).one()
        session.expunge(found)
        return found


def audit(reference: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(action, actor, details) of every audit entry about a change, oldest first."""
    with session_scope() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.subject == reference).order_by(AuditEntry.id))
        return [(row.action, row.actor, json.loads(row.details or "{}")) for row in rows]


def actions(reference: str) -> list[str]:
    return [action for action, _, _ in audit(reference)]

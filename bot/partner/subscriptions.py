"""Suspending a subscription for non-payment, and reactivating it: the request side.

Staff see what is overdue, confirm, and the change is recorded durably (a `SubscriptionChange`,
with who asked, when and why, and an audit entry) before anything is sent anywhere. The worker
applies it to Partner Center (bot/partner/apply.py); the local subscription changes when Partner
Center has it, so the customer's next conversation tells the truth.

The policy: suspend only when something is overdue, reactivate only when nothing is, unless a
billing admin insists and gives a reason.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.billing.invoices import overdue_invoices
from bot.billing.views import ZERO, InvoiceView
from bot.db.unique import insert_or_winner
from bot.partner import audit
from bot.partner.collections import SubscriptionState, subscriptions
from bot.partner.customers import CustomerRef
from bot.db.models import Customer, Subscription
from bot.partner.models import SubscriptionChange

SUSPENDED, ACTIVE = "suspended", "active"
PENDING, APPLIED, RECORDED, FAILED = "pending", "applied", "recorded", "failed"
REFERENCE_PREFIX = "SC-"
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# Why a change cannot go ahead as asked (codes; the reply layer words them).
NO_SUBSCRIPTION = "no_subscription"
ALREADY = "already"  # the subscription already has that status
IN_PROGRESS = "in_progress"  # a change for it is still being applied
NEEDS_REASON = "needs_reason"  # against the policy: only an admin's stated reason lets it through


@dataclass(frozen=True)
class ChangePlan:
    """What staff are shown before they confirm a suspension or a reactivation."""

    customer: CustomerRef
    target: str  # suspended | active
    subscription: SubscriptionState | None
    overdue: tuple[InvoiceView, ...]
    pending_reference: str | None  # a change for this subscription not yet applied
    obstacle: str | None  # None, or one of the codes above
    in_partner_center: bool = False  # the customer and subscription have Partner Center ids to apply it to

    @property
    def overdue_total(self) -> Decimal:
        return sum((i.outstanding for i in self.overdue), ZERO)

    @property
    def currency(self) -> str:
        return self.overdue[0].currency if self.overdue else "CNY"


@dataclass(frozen=True)
class ChangeView:
    reference: str
    customer_id: str
    target: str
    state: str
    requested_by: str
    reason: str


def plan_change(session: Session, customer: CustomerRef, target: str, today: date) -> ChangePlan:
    if target not in (SUSPENDED, ACTIVE):
        raise ValueError(f"unknown target status {target!r}")
    subs = subscriptions(session, customer.customer_id)
    # A customer has one Azure plan in the demo; with several, the first one not yet in the target status.
    subscription = next((s for s in subs if s.status != target), subs[0] if subs else None)
    overdue = tuple(overdue_invoices(session, customer.customer_id, today))
    pending = None
    if subscription is not None:
        pending = session.scalar(select(SubscriptionChange.reference).where(
            SubscriptionChange.subscription_id == subscription.id, SubscriptionChange.state == PENDING))
    if subscription is None:
        obstacle = NO_SUBSCRIPTION
    elif pending:
        obstacle = IN_PROGRESS
    elif subscription.status == target:
        obstacle = ALREADY
    elif (target == SUSPENDED) != bool(overdue):  # suspend with nothing overdue, reactivate with debts
        obstacle = NEEDS_REASON
    else:
        obstacle = None
    tenant = session.scalar(select(Customer.tenant_id).where(Customer.id == customer.customer_id))
    upstream_id = session.scalar(select(Subscription.upstream_id).where(Subscription.id == subscription.id)) \
        if subscription else None
    return ChangePlan(customer, target, subscription, overdue, pending, obstacle, bool(tenant and upstream_id))


def _new_reference() -> str:
    return REFERENCE_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(6))


def request_change(session: Session, plan: ChangePlan, *, partner_id: str, staff_name: str, staff_id: str | None,
                   reason: str) -> ChangeView:
    """Record the change, pending for the worker (which applies it to Partner Center, or marks it
    `recorded` for the partner to apply by hand when there is none), and its audit entry, in the
    caller's transaction. The plan must have no obstacle other than NEEDS_REASON, and then
    `reason` is the admin's own."""
    if plan.subscription is None or plan.obstacle not in (None, NEEDS_REASON):
        raise ValueError(f"cannot request this change: {plan.obstacle}")
    row, winner = insert_or_winner(
        session,
        lambda: SubscriptionChange(reference=_new_reference(), partner_id=partner_id,
                                   customer_id=plan.customer.customer_id, subscription_id=plan.subscription.id,
                                   target_status=plan.target, reason=reason[:1000], requested_by=staff_name,
                                   requested_by_id=staff_id, state=PENDING, attempts=0),
        lambda: None)
    action = audit.SUSPEND_REQUESTED if plan.target == SUSPENDED else audit.REACTIVATE_REQUESTED
    audit.record(session, partner_id, actor=staff_name, actor_id=staff_id, action=action,
                 customer_id=plan.customer.customer_id, subject=row.reference, reason=reason,
                 reference=row.reference, overdue=str(plan.overdue_total), against_policy=plan.obstacle == NEEDS_REASON)
    return ChangeView(row.reference, row.customer_id, row.target_status, row.state, row.requested_by, row.reason)

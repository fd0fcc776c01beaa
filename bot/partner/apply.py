"""Applies recorded subscription changes (suspend, reactivate) to Partner Center: the outbox's worker side.

Why this shape: staff decide in a conversation, the desk records the decision (a `pending`
SubscriptionChange) and answers at once; this module does the slow, failure-prone part, with its
state in the database, so a worker killed at any point loses nothing and changes nothing twice:

1. claim: the oldest due pending change (none older pending for the same subscription, so a
   suspension and the reactivation after it are applied in order) gets a lease (`lease_until`),
   committed before any call; an expired lease means its worker died, and the change is due again.
   The lease value is also the claim's fencing token: a worker whose lease ran out and was taken
   over records nothing.
2. apply: GET the subscription; when Partner Center already has the target status, no PATCH (this
   is what keeps "exactly once" when an earlier PATCH succeeded but its answer was lost, or its
   worker died); else PATCH the full resource with If-Match: <etag>. A 412 (someone changed it
   meanwhile, e.g. a second worker) means: GET again and, if still needed, PATCH once more.
3. record, in one transaction: `applied`, the local Subscription (status, suspended_on = the
   business date, suspension_reason) and an AuditEntry; or a retry time (backoff with full jitter,
   never before Retry-After) for a transient failure or a refused token; or `failed` with the
   error and an AuditEntry for a rejection (other 4xx) or when the attempts are used up. Attempts
   are counted when a change is claimed, so a worker that keeps dying mid-change also runs out.

No Partner Center configured, or a customer without tenant id / a subscription without Partner
Center id: the change is `recorded` (the partner applies it by hand); the local subscription shows
the decision. `has_upstream(settings)` lets the request side say so to staff up front.
"""
from __future__ import annotations

import json
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable

from sqlalchemy import false, select, update
from sqlalchemy.orm import Session, aliased

from bot.config import PartnerCenterSettings, load_settings
from bot.db import session_scope
from bot.db.models import Customer, Subscription
from bot.escalation.backoff import retry_delay
from bot.integrations.partner_center import (
    PartnerCenterAuthError,
    PartnerCenterClient,
    PartnerCenterConflict,
    PartnerCenterError,
    PartnerCenterSubscription,
    PartnerCenterThrottled,
    PartnerCenterUnavailable,
)
from bot.partner.models import AuditEntry, SubscriptionChange, utcnow

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"
SUSPENDED, ACTIVE = "suspended", "active"
APPLIED_ACTIONS = {SUSPENDED: "subscription_suspended", ACTIVE: "subscription_reactivated"}
RECORDED_ACTIONS = {SUSPENDED: "subscription_suspend_recorded", ACTIVE: "subscription_reactivate_recorded"}
FAILED_ACTIONS = {SUSPENDED: "subscription_suspend_failed", ACTIVE: "subscription_reactivate_failed"}
# Why a change was only recorded (audit details, codes).
NO_PARTNER_CENTER = "no_partner_center"
NO_CUSTOMER_TENANT = "no_customer_tenant_id"
NO_UPSTREAM_SUBSCRIPTION = "no_upstream_subscription_id"
ATTEMPTS_EXHAUSTED = "attempts_exhausted"
# MS-RequestId of a PATCH: the same change against the same etag is the same request.
_REQUEST_ID_NAMESPACE = uuid.UUID("0f6e3c52-6c1e-4d0e-9a51-5c2b7f0a1d93")
_LAST_ERROR_CHARS = 300
_SUSPENSION_REASON_CHARS = 200


def has_upstream(settings: PartnerCenterSettings) -> bool:
    """True when changes go to Partner Center; False: they are recorded for the partner to apply by hand."""
    return settings.base_url is not None


CALLS_PER_CHANGE = 4  # at most: GET, PATCH, and after a 412 GET and PATCH again


def log_configuration(settings: PartnerCenterSettings) -> None:
    """Say where changes go, and warn when a lease could run out while its calls are still running."""
    if not has_upstream(settings):
        logger.warning("no Partner Center configured (PARTNER_CENTER_API_URL): subscription changes are "
                       "recorded for the partner to apply by hand")
    elif settings.lease_seconds <= CALLS_PER_CHANGE * (settings.timeout_connect + settings.timeout_read):
        logger.warning("PARTNER_CENTER_LEASE_SECONDS (%g s) should exceed %d calls' timeouts (%g s + %g s each)",
                       settings.lease_seconds, CALLS_PER_CHANGE, settings.timeout_connect, settings.timeout_read)


@dataclass
class ApplyPass:
    """What one pass did (for logs and tests)."""

    applied: int = 0  # Partner Center has it now (PATCHed, or it already had that status)
    unchanged_upstream: int = 0  # of those, how many needed no PATCH
    recorded: int = 0  # no upstream: for the partner to apply by hand
    retrying: int = 0
    failed: int = 0
    held: bool = False  # stopped early: Partner Center unavailable or throttling us


@dataclass(frozen=True)
class _Claim:
    change_id: int
    reference: str
    tenant_id: str
    upstream_id: str
    target: str
    lease_until: datetime  # also the fencing token
    attempt: int


@dataclass(frozen=True)
class _Outcome:
    subscription: PartnerCenterSubscription
    status_before: str
    patched: bool


def apply_due_changes(
    database_url: str | None,
    client: PartnerCenterClient | None,
    settings: PartnerCenterSettings,
    now: datetime | None = None,
    *,
    today: date | None = None,
    rng: random.Random | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> ApplyPass:
    """Apply up to settings.batch_size due changes. `client` None: no Partner Center, changes are
    recorded. `now` (naive UTC) pins the clock for tests; `today` is the business date written as
    suspended_on (default: BOT_TODAY or the date)."""
    clock = (lambda: now) if now is not None else utcnow
    business_date = today or load_settings().today()
    report = ApplyPass()
    tried: set[int] = set()  # a change that failed is retried in a later pass, never in this one
    for _ in range(settings.batch_size):
        if should_stop():
            break
        claim = _claim_next(database_url, client, settings, clock(), business_date, tried, report)
        if claim is None:
            break
        tried.add(claim.change_id)
        try:
            outcome = _apply(client, claim)
        except PartnerCenterError as error:
            _record_failure(database_url, settings, claim, error, clock(), rng, report)
            if _affects_every_change(error):
                report.held = True  # the next changes would meet the same outage: leave them for later
                break
            continue
        except Exception as exc:  # a bug must cost one attempt, never the worker loop
            logger.exception("unexpected error applying subscription change %s", claim.reference)
            _record_failure(database_url, settings, claim, PartnerCenterUnavailable(
                f"unexpected error ({type(exc).__name__})"), clock(), rng, report)
            continue
        _record_applied(database_url, claim, outcome, clock(), business_date, report)
    return report


# -- claim ------------------------------------------------------------------------------------------


def _begin_write(session: Session) -> None:
    """Take the write lock before reading what will be changed. SQLite's driver sends BEGIN only at
    the first write, so two workers could both read the same due row; a write that touches nothing
    starts the transaction now and the other worker waits. Elsewhere SELECT ... FOR UPDATE locks."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(SubscriptionChange).where(false()).values(state=SubscriptionChange.state))


def _due(now: datetime, tried: set[int]):
    earlier = aliased(SubscriptionChange)
    older_pending = (select(earlier.id).where(earlier.subscription_id == SubscriptionChange.subscription_id,
                                              earlier.state == "pending", earlier.id < SubscriptionChange.id)
                     .exists())
    return (
        select(SubscriptionChange)
        .where(
            SubscriptionChange.state == "pending",
            (SubscriptionChange.next_attempt_at.is_(None)) | (SubscriptionChange.next_attempt_at <= now),
            (SubscriptionChange.lease_until.is_(None)) | (SubscriptionChange.lease_until <= now),
            ~older_pending,
            SubscriptionChange.id.not_in(tried),
        )
        .order_by(SubscriptionChange.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def _claim_next(database_url: str | None, client: PartnerCenterClient | None, settings: PartnerCenterSettings,
                now: datetime, today: date, tried: set[int], report: ApplyPass) -> _Claim | None:
    with session_scope(database_url) as session:
        _begin_write(session)
        while True:
            change = session.scalars(_due(now, tried)).first()
            if change is None:
                return None
            subscription = session.get(Subscription, change.subscription_id)
            customer = session.get(Customer, change.customer_id)
            missing = (NO_PARTNER_CENTER if client is None
                       else NO_CUSTOMER_TENANT if not (customer and customer.tenant_id)
                       else NO_UPSTREAM_SUBSCRIPTION if not (subscription and subscription.upstream_id)
                       else None)
            if missing is not None:
                _finish_recorded(session, change, subscription, missing, now, today)
                report.recorded += 1
                continue
            if change.lease_until is not None:
                logger.warning("subscription change %s: its worker's lease ran out (stopped?); trying again",
                               change.reference)
            if change.attempts >= settings.attempts:  # e.g. a worker that keeps dying mid-change
                _finish_failed(session, change, ATTEMPTS_EXHAUSTED, {"error": ATTEMPTS_EXHAUSTED}, now)
                report.failed += 1
                continue
            change.attempts += 1
            change.lease_until = now + timedelta(seconds=settings.lease_seconds)
            change.next_attempt_at = None
            return _Claim(change_id=change.id, reference=change.reference, tenant_id=customer.tenant_id,
                          upstream_id=subscription.upstream_id, target=change.target_status,
                          lease_until=change.lease_until, attempt=change.attempts)


# -- apply ------------------------------------------------------------------------------------------


def _apply(client: PartnerCenterClient, claim: _Claim) -> _Outcome:
    current = client.get_subscription(claim.tenant_id, claim.upstream_id)
    status_before = current.status
    if current.status == claim.target:
        return _Outcome(current, status_before, patched=False)
    try:
        updated = _patch(client, claim, current)
    except PartnerCenterConflict:
        logger.info("subscription change %s: stale etag (changed meanwhile); reading it again", claim.reference)
        current = client.get_subscription(claim.tenant_id, claim.upstream_id)
        if current.status == claim.target:
            return _Outcome(current, status_before, patched=False)
        updated = _patch(client, claim, current)  # a second 412 is retried on a later attempt
    return _Outcome(updated, status_before, patched=True)


def _patch(client: PartnerCenterClient, claim: _Claim, current: PartnerCenterSubscription) -> PartnerCenterSubscription:
    request_id = str(uuid.uuid5(_REQUEST_ID_NAMESPACE, f"{claim.reference}:{current.etag}"))
    updated = client.set_status(claim.tenant_id, current, claim.target, request_id=request_id)
    if updated.status != claim.target:  # not what we asked for: the next attempt's GET will tell
        raise PartnerCenterUnavailable(f"answered with status {updated.status!r}", operation="set_status")
    return updated


# -- record -----------------------------------------------------------------------------------------


def _lock_claimed(session: Session, claim: _Claim) -> SubscriptionChange | None:
    """The change, if this claim still holds it (pending, same lease); None if another worker took over."""
    _begin_write(session)
    change = session.scalars(
        select(SubscriptionChange).where(SubscriptionChange.id == claim.change_id)
        .with_for_update().execution_options(populate_existing=True)
    ).first()
    if change is None or change.state != "pending" or change.lease_until != claim.lease_until:
        logger.info("subscription change %s was taken over by another worker; this result is not recorded",
                    claim.reference)
        return None
    return change


def _audit(session: Session, change: SubscriptionChange, action: str, details: dict[str, Any],
           now: datetime) -> None:
    session.add(AuditEntry(
        partner_id=change.partner_id, at=now, actor=SYSTEM_ACTOR, actor_id=None, action=action,
        customer_id=change.customer_id, subject=change.reference, reason=None,  # the request's entry has it
        details=json.dumps({"reference": change.reference, "target_status": change.target_status,
                            "requested_by_id": change.requested_by_id, **details}, sort_keys=True),
    ))


def _set_local(subscription: Subscription | None, change: SubscriptionChange, today: date) -> None:
    if subscription is None:
        return
    if change.target_status == SUSPENDED:
        if subscription.status != SUSPENDED:  # an earlier suspension keeps its date and reason
            subscription.suspended_on = today
            subscription.suspension_reason = change.reason[:_SUSPENSION_REASON_CHARS]
        subscription.status = SUSPENDED
    else:
        subscription.status = ACTIVE
        subscription.suspended_on = None
        subscription.suspension_reason = None


def _record_applied(database_url: str | None, claim: _Claim, outcome: _Outcome, now: datetime, today: date,
                    report: ApplyPass) -> None:
    with session_scope(database_url) as session:
        change = _lock_claimed(session, claim)
        if change is None:
            return
        change.state = "applied"
        change.applied_at = now
        change.lease_until = None
        change.last_error = None
        _set_local(session.get(Subscription, change.subscription_id), change, today)
        _audit(session, change, APPLIED_ACTIONS[change.target_status], {
            "upstream_subscription_id": claim.upstream_id, "upstream_status_before": outcome.status_before,
            "upstream_status": outcome.subscription.status, "etag": outcome.subscription.etag,
            "patched": outcome.patched, "attempts": change.attempts,
        }, now)
    report.applied += 1
    report.unchanged_upstream += not outcome.patched
    logger.info("subscription change %s applied in Partner Center (%s, %s)", claim.reference, claim.target,
                "patched" if outcome.patched else "it already had that status")


def _affects_every_change(error: PartnerCenterError) -> bool:
    """Partner Center down, throttling us, or refusing our token: not this change's fault."""
    return isinstance(error, (PartnerCenterUnavailable, PartnerCenterThrottled, PartnerCenterAuthError))


def _worth_retrying(error: PartnerCenterError) -> bool:
    """Retryable errors, and a refused token (401/403): an operator fixes PARTNER_CENTER_TOKEN and
    the staff's decisions still go through, instead of every pending change failing at once."""
    return error.retryable or isinstance(error, PartnerCenterAuthError)


def _error_details(error: PartnerCenterError) -> dict[str, Any]:
    return {"error": type(error).__name__, "http_status": error.status,
            "code": str(error.code) if error.code is not None else None}


def _record_failure(database_url: str | None, settings: PartnerCenterSettings, claim: _Claim,
                    error: PartnerCenterError, now: datetime, rng: random.Random | None, report: ApplyPass) -> None:
    with session_scope(database_url) as session:
        change = _lock_claimed(session, claim)
        if change is None:
            return
        change.last_error = str(error)[:_LAST_ERROR_CHARS]
        if not _worth_retrying(error):
            _finish_failed(session, change, change.last_error, _error_details(error), now)
            report.failed += 1
            logger.warning("subscription change %s rejected by Partner Center: %s", claim.reference, error)
        elif change.attempts >= settings.attempts:
            _finish_failed(session, change, change.last_error, {**_error_details(error), "gave_up": ATTEMPTS_EXHAUSTED},
                           now)
            report.failed += 1
            logger.warning("subscription change %s: gave up after %d attempts: %s", claim.reference,
                           change.attempts, error)
        else:
            delay = retry_delay(change.attempts, base=settings.backoff_base, cap=settings.backoff_cap,
                                retry_after=error.retry_after, rng=rng)
            change.lease_until = None
            change.next_attempt_at = now + timedelta(seconds=delay)
            report.retrying += 1
            log = logger.error if isinstance(error, PartnerCenterAuthError) else logger.info
            log("subscription change %s: attempt %d failed, retrying in %.1f s: %s%s", claim.reference, claim.attempt,
                delay, error, "; check PARTNER_CENTER_TOKEN" if isinstance(error, PartnerCenterAuthError) else "")


def _finish_failed(session: Session, change: SubscriptionChange, last_error: str, details: dict[str, Any],
                   now: datetime) -> None:
    change.state = "failed"
    change.lease_until = None
    change.next_attempt_at = None
    change.last_error = last_error[:_LAST_ERROR_CHARS]
    _audit(session, change, FAILED_ACTIONS[change.target_status], {**details, "attempts": change.attempts}, now)


def _finish_recorded(session: Session, change: SubscriptionChange, subscription: Subscription | None, why: str,
                     now: datetime, today: date) -> None:
    change.state = "recorded"
    change.lease_until = None
    change.next_attempt_at = None
    _set_local(subscription, change, today)
    _audit(session, change, RECORDED_ACTIONS[change.target_status], {"why": why}, now)

"""Escalations as the conversation and partner staff see them: plain functions over a Session.

Customer-facing functions take the verified customer id and filter every query by it; a foreign
reference gets the same answer (None) as a missing one. Partner-staff functions are filtered by
the partner id the same way. Functions never commit: the caller's `session_scope` does, so an
escalation and whatever the caller records with it land in one transaction.

The relay and the poller (bot/escalation/relay.py, poller.py) send and follow what is recorded
here; nothing in this module calls 21Vianet.
"""
from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import secrets
import unicodedata
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Iterable

from sqlalchemy import false, func, or_, select, update
from sqlalchemy.orm import Session

from bot.db.models import Customer
from bot.db.unique import insert_or_winner
from bot.escalation.backoff import retry_delay
from bot.escalation.models import (
    KINDS,
    ROUTES,
    CustomerNotification,
    Escalation,
    EscalationEvent,
    EscalationNote,
    State,
    utcnow,
)
from bot.escalation.views import EscalationView, EventView, NotificationView, PartnerQueueItem

logger = logging.getLogger(__name__)

RESOLVED_KEY = "escalation_resolved"  # the notification's kind; bot/replies words it

__all__ = [
    "EscalationView",
    "EventView",
    "NotificationView",
    "PartnerQueueItem",
    "add_partner_note",
    "dedup_key_for",
    "escalation_history",
    "escalations_for_customer",
    "export_partner_queue_csv",
    "file_escalation",
    "get_escalation",
    "mark_delivered",
    "mark_shown",
    "notifications_for_partner",
    "partner_queue",
    "pending_notifications",
    "record_customer_answer",
    "reopen",
    "requeue_for_vianet",
    "resolve_by_partner",
]

PARTNER_ROUTE_REASON = "handled by partner staff (no 21Vianet involvement)"
ATTENTION_NEEDED_REASON = "21Vianet asked for more information"
RECENTLY_CLOSED_DAYS = 30
MAX_SUMMARY_CHARS = 200
MAX_NOTE_CHARS = 4000

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone
_REFERENCE_LENGTH = 6
_FILED_BY = re.compile(r"customer|partner:[^\s:][^:]{0,70}")
_NOT_WORDS = re.compile(r"[^\w]+")


# --------------------------------------------------------------------------------------------
# Plumbing shared with the relay and the poller


def begin_write_transaction(session: Session) -> None:
    """Make sure the session holds a real write transaction before reading what it will change.

    On SQLite the driver (pysqlite) only sends BEGIN before the first write, so a SAVEPOINT opened
    first would become the outer transaction and its RELEASE would commit the caller's work, and two
    writers could read the same rows before either writes. A write that touches nothing starts the
    transaction and takes SQLite's write lock now; the other writer waits (busy timeout). Elsewhere
    (PostgreSQL) rows are locked with SELECT ... FOR UPDATE where it matters.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Escalation).where(false()).values(state=Escalation.state))


def lock_escalation(session: Session, escalation_id: int) -> Escalation | None:
    begin_write_transaction(session)
    stmt = (
        select(Escalation)
        .where(Escalation.id == escalation_id)
        .with_for_update()
        .execution_options(populate_existing=True)  # re-read what another writer may have changed
    )
    return session.scalars(stmt).first()


def add_event(session: Session, escalation_id: int, kind: str, detail: str | None = None) -> None:
    session.add(EscalationEvent(escalation_id=escalation_id, at=utcnow(), kind=kind, detail=detail))


def _partner_author(partner_id: str) -> str:
    return f"partner:{partner_id}"


def queue_upstream_note(
    session: Session, escalation: Escalation, author: str, text: str, set_status: str | None = None
) -> EscalationNote:
    """A note (and maybe a status) for the relay to PATCH onto the 21Vianet ticket, with its own request id."""
    note = EscalationNote(
        escalation_id=escalation.id,
        author=author,
        text=text,
        set_status=set_status,
        request_id=str(uuid.uuid4()),
        next_attempt_at=utcnow(),
    )
    session.add(note)
    return note


def close_and_notify(
    session: Session, escalation: Escalation, *, resolved_by: str, closed_at: datetime, detail: str
) -> CustomerNotification:
    """Close a (locked) escalation and queue the news for the customer, in the caller's transaction.

    Callers only call this when the row moves from open to closed, which happens once per closure.
    """
    escalation.state = State.CLOSED
    escalation.closed_at = closed_at
    escalation.next_poll_at = None
    escalation.dedup_key = None  # the same problem may be filed again from now on
    add_event(session, escalation.id, "closed", detail)
    # Facts, not sentences: each conversation words the news in its own language (bot/replies).
    params = {
        "reference": escalation.reference,
        "kind": escalation.kind,
        "invoice_number": escalation.invoice_number,
        "resolved_by": resolved_by,
        "closed_on": closed_at.date().isoformat(),
    }
    notification = CustomerNotification(
        escalation_id=escalation.id,
        customer_id=escalation.customer_id,
        conversation_id=escalation.conversation_id,
        text_key=RESOLVED_KEY,
        params=params,
        created_at=utcnow(),
        next_push_at=utcnow(),
    )
    session.add(notification)
    session.flush()
    add_event(
        session,
        escalation.id,
        "notification_created",
        f"notification {notification.id} for conversation {escalation.conversation_id or '(none)'}",
    )
    return notification


def move_to_partner_queue(session: Session, escalation: Escalation, reason: str, last_error: str | None) -> None:
    escalation.state = State.PARTNER_QUEUE
    escalation.queue_reason = reason[:300]
    escalation.claim_token = None
    escalation.next_attempt_at = None
    if last_error is not None:
        escalation.last_error = last_error
    add_event(session, escalation.id, "queued_for_partner", reason)
    logger.info("escalation %s moved to the partner-staff queue: %s", escalation.reference, reason)


def _normalise_reference(reference: str | int) -> str | int:
    if isinstance(reference, int):
        return reference
    text = str(reference).strip().upper()
    return int(text) if text.isdigit() else text


def _customer_escalation(session: Session, customer_id: str, reference: str) -> Escalation | None:
    key = _normalise_reference(reference)
    if not isinstance(key, str):
        return None  # customers know references, not internal ids
    stmt = select(Escalation).where(Escalation.reference == key, Escalation.customer_id == customer_id)
    return session.scalars(stmt).first()


def _partner_escalation(session: Session, reference: str | int, partner_id: str) -> Escalation | None:
    key = _normalise_reference(reference)
    column = Escalation.id if isinstance(key, int) else Escalation.reference
    stmt = select(Escalation).where(column == key, Escalation.partner_id == partner_id)
    return session.scalars(stmt).first()


# --------------------------------------------------------------------------------------------
# Filing


def _normalise_summary(summary: str) -> str:
    text = unicodedata.normalize("NFKC", summary).casefold()
    return " ".join(_NOT_WORDS.sub(" ", text).split())


def dedup_key_for(customer_id: str, kind: str, invoice_number: str | None, summary: str) -> str:
    """The same customer, kind, invoice and (normalised) summary give the same key: a repeated
    confirmation or a resent message finds the escalation already filed. Closing an escalation
    releases its key, so the same problem can be filed again afterwards."""
    material = "\x1f".join(
        [customer_id.strip().upper(), kind, (invoice_number or "").strip().upper(), _normalise_summary(summary)]
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _new_reference() -> str:
    return "ESC-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(_REFERENCE_LENGTH))


def _by_dedup_key(session: Session, dedup_key: str) -> Escalation | None:
    return session.scalars(select(Escalation).where(Escalation.dedup_key == dedup_key)).first()


def file_escalation(
    session: Session,
    *,
    customer_id: str,
    kind: str,
    route: str,
    summary: str,
    description: str,
    invoice_number: str | None = None,
    amount: Decimal | None = None,
    currency: str | None = None,
    filed_by: str = "customer",
    conversation_id: str | None = None,
    dedup_key: str | None = None,
) -> EscalationView:
    """Record an escalation for the relay (route vianet) or partner staff (route partner).

    Idempotent on `dedup_key` (default: `dedup_key_for(...)`): when an open escalation already has
    it, that one is returned with `created=False`. Runs in the caller's transaction; a concurrent
    insert of the same key is absorbed by rolling back to a SAVEPOINT and returning the winner.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if route not in ROUTES:
        raise ValueError(f"route must be one of {', '.join(ROUTES)}")
    if not _FILED_BY.fullmatch(filed_by or ""):
        raise ValueError("filed_by must be 'customer' or 'partner:<name>'")
    summary = " ".join((summary or "").split())
    if not summary:
        raise ValueError("summary must not be empty")
    if len(summary) > MAX_SUMMARY_CHARS:
        summary = summary[: MAX_SUMMARY_CHARS - 1] + "\u2026"
    description = (description or "").strip() or summary
    if amount is not None:
        if not isinstance(amount, Decimal):
            raise TypeError(f"amount must be a Decimal, got {type(amount).__name__}")
        if not currency:
            raise ValueError("an amount needs its currency")
    invoice_number = invoice_number.strip().upper() if invoice_number else None
    dedup_key = dedup_key or dedup_key_for(customer_id, kind, invoice_number, summary)

    begin_write_transaction(session)
    existing = _by_dedup_key(session, dedup_key)
    if existing is not None:
        if existing.customer_id != customer_id:  # a caller-made key must never cross customers
            raise ValueError("dedup_key belongs to another customer")
        return EscalationView.of(existing, created=False)

    customer = session.get(Customer, customer_id)
    if customer is None:
        raise ValueError(f"no customer {customer_id}")

    now = utcnow()
    def build() -> Escalation:
        return Escalation(
            reference=_new_reference(),
            request_id=str(uuid.uuid4()),
            dedup_key=dedup_key,
            customer_id=customer_id,
            partner_id=customer.partner_id,
            kind=kind,
            route=route,
            invoice_number=invoice_number,
            amount=amount,
            currency=currency.upper() if currency else None,
            summary=summary,
            description=description,
            filed_by=filed_by,
            conversation_id=conversation_id,
            state=State.PENDING if route == "vianet" else State.PARTNER_QUEUE,
            queue_reason=None if route == "vianet" else PARTNER_ROUTE_REASON,
            upstream_status="none",
            next_attempt_at=now if route == "vianet" else None,
            created_at=now,
            updated_at=now,
        )

    row, winner = insert_or_winner(session, build, lambda: _by_dedup_key(session, dedup_key))
    if winner is not None:
        logger.info("escalation %s was filed concurrently; returning it", winner.reference)
        return EscalationView.of(winner, created=False)
    add_event(session, row.id, "created", f"filed by {filed_by}; route {route}")
    if route == "partner":
        add_event(session, row.id, "queued_for_partner", PARTNER_ROUTE_REASON)
    session.flush()
    logger.info("escalation %s filed for %s (%s, route %s)", row.reference, customer_id, kind, route)
    return EscalationView.of(row, created=True)


# --------------------------------------------------------------------------------------------
# The customer's view


def get_escalation(session: Session, customer_id: str, reference: str) -> EscalationView | None:
    row = _customer_escalation(session, customer_id, reference)
    return EscalationView.of(row) if row else None


def escalations_for_customer(session: Session, customer_id: str, limit: int = 5) -> list[EscalationView]:
    """The customer's open escalations (newest first), then those closed in the last 30 days."""
    open_rows = session.scalars(
        select(Escalation)
        .where(Escalation.customer_id == customer_id, Escalation.state.in_(State.OPEN))
        .order_by(Escalation.created_at.desc(), Escalation.id.desc())
        .limit(limit)
    ).all()
    since = utcnow() - timedelta(days=RECENTLY_CLOSED_DAYS)
    closed_rows = session.scalars(
        select(Escalation)
        .where(
            Escalation.customer_id == customer_id,
            Escalation.state == State.CLOSED,
            Escalation.closed_at >= since,
        )
        .order_by(Escalation.closed_at.desc(), Escalation.id.desc())
        .limit(limit)
    ).all()
    return [EscalationView.of(row) for row in [*open_rows, *closed_rows][:limit]]


def reopen(session: Session, customer_id: str, reference: str, note: str) -> EscalationView | None:
    """The customer says a closed escalation is not solved: reopen it with their note.

    With a 21Vianet ticket, the note and a status change back to open are queued for the relay;
    without one it returns to the partner-staff queue. Only a closed escalation is reopened;
    any other (including one already reopened, e.g. a resent "no") is returned unchanged.
    """
    row = _customer_escalation(session, customer_id, reference)
    if row is None:
        return None
    row = lock_escalation(session, row.id)
    if row.state != State.CLOSED:
        return EscalationView.of(row)
    # The note is already worded for 21Vianet by the reply layer ("The customer says ...").
    note = " ".join((note or "").split())[:MAX_NOTE_CHARS] or "-"
    row.state = State.REOPENED
    row.closed_at = None
    row.queue_reason = None
    add_event(session, row.id, "reopened", note)
    if row.upstream_id:
        queue_upstream_note(session, row, "customer", note, "open")
        row.next_poll_at = utcnow()
    session.flush()
    logger.info("escalation %s reopened by the customer", row.reference)
    return EscalationView.of(row)


# --------------------------------------------------------------------------------------------
# Notifications


def pending_notifications(
    session: Session, customer_id: str, conversation_id: str | None = None
) -> list[NotificationView]:
    """News the customer has not seen yet (neither pushed into a chat nor shown), oldest first.

    Filtered by the verified customer, and by the conversation when given: a sender id alone is
    chosen by the client and proves nothing.
    """
    stmt = (
        select(CustomerNotification, Escalation.reference)
        .join(Escalation, Escalation.id == CustomerNotification.escalation_id)
        .where(
            CustomerNotification.customer_id == customer_id,
            CustomerNotification.delivered_at.is_(None),
            CustomerNotification.shown_at.is_(None),
        )
        .order_by(CustomerNotification.created_at, CustomerNotification.id)
    )
    if conversation_id is not None:
        stmt = stmt.where(CustomerNotification.conversation_id == conversation_id)
    return [NotificationView.of(row, reference) for row, reference in session.execute(stmt)]


def pending_partner_reports(session: Session, conversation_id: str, partner_id: str) -> list[NotificationView]:
    """Resolutions of what partner staff reported from this conversation that it has not seen yet.

    Staff on a channel that cannot push (REST) see them on their next turn there."""
    stmt = (
        select(CustomerNotification, Escalation.reference)
        .join(Escalation, Escalation.id == CustomerNotification.escalation_id)
        .where(
            CustomerNotification.conversation_id == conversation_id,
            Escalation.partner_id == partner_id,
            Escalation.kind == "partner_report",
            CustomerNotification.delivered_at.is_(None),
            CustomerNotification.shown_at.is_(None),
        )
        .order_by(CustomerNotification.created_at, CustomerNotification.id)
    )
    return [NotificationView.of(row, reference) for row, reference in session.execute(stmt)]


def _customer_notification(
    session: Session, customer_id: str, notification_id: int
) -> tuple[CustomerNotification, Escalation] | None:
    found = session.execute(
        select(CustomerNotification, Escalation)
        .join(Escalation, Escalation.id == CustomerNotification.escalation_id)
        .where(CustomerNotification.id == notification_id, CustomerNotification.customer_id == customer_id)
    ).first()
    return (found[0], found[1]) if found else None


def mark_shown(session: Session, customer_id: str, notification_id: int) -> NotificationView | None:
    """The conversation showed the notification when the customer opened the chat."""
    begin_write_transaction(session)
    found = _customer_notification(session, customer_id, notification_id)
    if found is None:
        return None
    notification, escalation = found
    if notification.shown_at is None and notification.delivered_at is None:
        notification.shown_at = utcnow()
        add_event(session, escalation.id, "customer_notified", f"shown in conversation {notification.conversation_id}")
    return NotificationView.of(notification, escalation.reference)


def mark_delivered(session: Session, notification_id: int) -> bool:
    """The worker pushed the notification into an open chat (the integrator's notify hook said so)."""
    begin_write_transaction(session)
    notification = session.get(CustomerNotification, notification_id)
    if notification is None or notification.delivered_at is not None or notification.shown_at is not None:
        return False
    notification.delivered_at = utcnow()
    add_event(
        session,
        notification.escalation_id,
        "customer_notified",
        f"pushed into conversation {notification.conversation_id}",
    )
    return True


def record_push_failure(session: Session, notification_id: int, *, backoff_base: float, backoff_cap: float) -> None:
    """A push did not reach the chat; it stays pending (shown when the customer next opens the
    chat) and the worker tries again later, a few times at most."""
    begin_write_transaction(session)
    notification = session.get(CustomerNotification, notification_id)
    if notification is not None:
        notification.push_attempts += 1
        delay = retry_delay(notification.push_attempts, base=backoff_base, cap=backoff_cap)
        notification.next_push_at = utcnow() + timedelta(seconds=delay)


def notifications_to_push(session: Session, max_attempts: int, limit: int) -> list[NotificationView]:
    """Undelivered notifications whose next push is due (worker use)."""
    now = utcnow()
    stmt = (
        select(CustomerNotification, Escalation.reference)
        .join(Escalation, Escalation.id == CustomerNotification.escalation_id)
        .where(
            CustomerNotification.delivered_at.is_(None),
            CustomerNotification.shown_at.is_(None),
            CustomerNotification.conversation_id.is_not(None),
            CustomerNotification.push_attempts < max_attempts,
            or_(CustomerNotification.next_push_at.is_(None), CustomerNotification.next_push_at <= now),
        )
        .order_by(CustomerNotification.id)
        .limit(limit)
    )
    return [NotificationView.of(row, reference) for row, reference in session.execute(stmt)]


def record_customer_answer(
    session: Session, customer_id: str, notification_id: int, solved: bool, note: str | None = None
) -> NotificationView | None:
    """The customer's answer to "is the problem solved?". No reopens the escalation (with the note).

    A repeated answer (a resent message) changes nothing.
    """
    begin_write_transaction(session)
    found = _customer_notification(session, customer_id, notification_id)
    if found is None:
        return None
    notification, escalation = found
    if notification.acknowledged is not None:
        return NotificationView.of(notification, escalation.reference)
    now = utcnow()
    notification.acknowledged = bool(solved)
    notification.answered_at = now
    if notification.shown_at is None and notification.delivered_at is None:
        notification.shown_at = now  # they answered it, so they saw it
    if solved:
        add_event(session, escalation.id, "customer_confirmed", "the customer confirmed the problem is solved")
    else:
        reopen(session, customer_id, escalation.reference, note or "")
    session.flush()
    return NotificationView.of(notification, escalation.reference)


# --------------------------------------------------------------------------------------------
# Partner staff


def _customer_names(session: Session, customer_ids: Iterable[str]) -> dict[str, str]:
    ids = set(customer_ids)
    if not ids:
        return {}
    return dict(session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all())


def partner_queue(session: Session, partner_id: str | None) -> list[PartnerQueueItem]:
    """What partner staff must act on, oldest first: escalations queued for them (partner route,
    no API, rejected or out of attempts), reopened ones without a 21Vianet ticket, and tickets
    where 21Vianet asked for more information. partner_id None lists every partner (operators)."""
    stmt = select(Escalation).where(
        or_(
            Escalation.state == State.PARTNER_QUEUE,
            (Escalation.state == State.REOPENED) & Escalation.upstream_id.is_(None),
            Escalation.state.in_((State.SENT, State.REOPENED)) & (Escalation.upstream_status == "attention_needed"),
        )
    )
    if partner_id is not None:
        stmt = stmt.where(Escalation.partner_id == partner_id)
    rows = session.scalars(stmt.order_by(Escalation.created_at, Escalation.id)).all()
    names = _customer_names(session, (row.customer_id for row in rows))
    items = []
    for row in rows:
        if row.state == State.PARTNER_QUEUE:
            reason = row.queue_reason or "queued for partner staff"
        elif row.upstream_status == "attention_needed":
            reason = ATTENTION_NEEDED_REASON
        else:
            reason = "reopened by the customer"
        items.append(PartnerQueueItem(EscalationView.of(row), names.get(row.customer_id, ""), reason, row.last_error))
    return items


_CSV_COLUMNS = (
    "reference", "created_at", "partner_id", "customer_id", "customer_name", "kind", "route", "invoice_number",
    "amount", "currency", "summary", "description", "filed_by", "state", "reason", "upstream_id",
    "upstream_status", "attempts", "last_error",
)


def _csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Customers typed the summary and description; a leading =, +, - or @ would run as a formula
    # when staff open the file in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_partner_queue_csv(session: Session, partner_id: str | None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for item in partner_queue(session, partner_id):
        e = item.escalation
        writer.writerow(
            _csv_cell(value)
            for value in (
                e.reference, e.created_at.isoformat(timespec="seconds"), e.partner_id, e.customer_id,
                item.customer_name, e.kind, e.route, e.invoice_number, e.amount, e.currency, e.summary,
                e.description, e.filed_by, e.state, item.reason, e.upstream_id, e.upstream_status, e.attempts,
                item.last_error,
            )
        )
    return buffer.getvalue()


def escalation_history(session: Session, reference: str | int, partner_id: str) -> list[EventView] | None:
    row = _partner_escalation(session, reference, partner_id)
    if row is None:
        return None
    events = session.scalars(
        select(EscalationEvent).where(EscalationEvent.escalation_id == row.id).order_by(EscalationEvent.id)
    )
    return [EventView.of(event) for event in events]


def add_partner_note(session: Session, reference: str | int, partner_id: str, text: str) -> EscalationView | None:
    """A note from partner staff: kept in the history, and added to the 21Vianet ticket when the
    escalation goes (or went) there."""
    text = (text or "").strip()[:MAX_NOTE_CHARS]
    if not text:
        raise ValueError("the note is empty")
    found = _partner_escalation(session, reference, partner_id)
    if found is None:
        return None
    row = lock_escalation(session, found.id)
    add_event(session, row.id, "note_added", f"{_partner_author(partner_id)}: {text}")
    if row.route == "vianet":
        queue_upstream_note(session, row, _partner_author(partner_id), text)
    session.flush()
    return EscalationView.of(row)


def resolve_by_partner(
    session: Session, reference: str | int, partner_id: str, note: str | None = None
) -> EscalationView | None:
    """Partner staff resolved it (e.g. processed the refund): close it and tell the customer.

    A 21Vianet ticket is closed there too. Refused (ValueError) while the relay is still sending it.
    """
    found = _partner_escalation(session, reference, partner_id)
    if found is None:
        return None
    row = lock_escalation(session, found.id)
    if row.state == State.CLOSED:
        return EscalationView.of(row)
    if row.state in (State.PENDING, State.SENDING):
        raise ValueError(f"{row.reference} is still being sent to 21Vianet; try again once it is sent")
    note = (note or "").strip()[:MAX_NOTE_CHARS]
    if note:
        add_event(session, row.id, "note_added", f"{_partner_author(partner_id)}: {note}")
    if row.upstream_id and row.upstream_status != "closed":
        queue_upstream_note(session, row, _partner_author(partner_id), note, "closed")
    close_and_notify(
        session, row, resolved_by="partner", closed_at=utcnow(), detail=f"resolved by {_partner_author(partner_id)}"
    )
    session.flush()
    return EscalationView.of(row)


def requeue_for_vianet(session: Session, reference: str | int, partner_id: str) -> EscalationView | None:
    """Send a queued escalation to 21Vianet again (e.g. once the API is configured or fixed).

    It keeps its request id, so if an earlier attempt did reach 21Vianet no second ticket is opened.
    """
    found = _partner_escalation(session, reference, partner_id)
    if found is None:
        return None
    row = lock_escalation(session, found.id)
    if row.state != State.PARTNER_QUEUE or row.upstream_id:
        raise ValueError(f"{row.reference} is not waiting in the partner queue for a first send")
    row.state = State.PENDING
    row.route = "vianet"
    row.queue_reason = None
    row.attempts = 0
    row.next_attempt_at = utcnow()
    add_event(session, row.id, "requeued", f"sent to 21Vianet again by {_partner_author(partner_id)}")
    session.flush()
    return EscalationView.of(row)


def notifications_for_partner(session: Session, partner_id: str, limit: int = 200) -> list[NotificationView]:
    """Who was told what and when, newest first."""
    rows = session.execute(
        select(CustomerNotification, Escalation.reference, Customer.name)
        .join(Escalation, Escalation.id == CustomerNotification.escalation_id)
        .join(Customer, Customer.id == CustomerNotification.customer_id)
        .where(Escalation.partner_id == partner_id)
        .order_by(CustomerNotification.created_at.desc(), CustomerNotification.id.desc())
        .limit(limit)
    ).all()
    return [NotificationView.of(row, reference, name) for row, reference, name in rows]


def notification_in_conversation(
    session: Session, conversation_id: str, reference: str, customer_id: str | None = None
) -> NotificationView | None:
    """The newest resolution notice for `reference` that belongs to this very conversation.

    Used when the worker pushes the notice in (no customer token then: the binding of the
    escalation to the conversation it was filed from is what identifies the reader), and with
    the verified customer when they answer.
    """
    stmt = (
        select(CustomerNotification, Escalation.reference)
        .join(Escalation, Escalation.id == CustomerNotification.escalation_id)
        .where(CustomerNotification.conversation_id == conversation_id, Escalation.reference == reference)
        .order_by(CustomerNotification.created_at.desc(), CustomerNotification.id.desc())
        .limit(1)
    )
    if customer_id is not None:
        stmt = stmt.where(CustomerNotification.customer_id == customer_id)
    found = session.execute(stmt).first()
    return NotificationView.of(found[0], found[1]) if found else None


def latest_upstream_note(session: Session, escalation_id: int) -> str | None:
    """The newest note 21Vianet itself added to the ticket (their resolution, usually).

    The ticket also carries the notes we sent (partner staff, the customer's reopen note): those
    come back through the poller too and are never presented as 21Vianet's words.
    """
    ours = [" ".join(t.split()) for t in session.scalars(
        select(EscalationNote.text).where(EscalationNote.escalation_id == escalation_id))]
    # Only notes since the ticket was last reopened belong to this resolution.
    reopened_at = session.scalar(
        select(func.max(EscalationEvent.id))
        .where(EscalationEvent.escalation_id == escalation_id, EscalationEvent.kind == "reopened")
    ) or 0
    details = session.scalars(
        select(EscalationEvent.detail)
        .where(EscalationEvent.escalation_id == escalation_id, EscalationEvent.kind == "upstream_note",
               EscalationEvent.id > reopened_at)
        .order_by(EscalationEvent.id.desc())
    )
    for detail in details:
        _, _, text = (detail or "").partition(": ")
        text = " ".join(text.split())
        if text and not any(text == mine or mine.startswith(text) for mine in ours):
            return text
    return None

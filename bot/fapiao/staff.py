"""The partner's side of fapiao requests: the queue, mark issued, reject, history.

Every function takes the partner id of the staff member (verified by the channel, or given to
the CLI) and filters by it: another partner's request is answered exactly like a missing one
(None), and can be neither seen nor changed. Every change is an event with who and when, and
tells the customer (bot/fapiao/news.py) in the same transaction.

Refused changes raise FapiaoError with a code (STAFF_PROBLEMS); the CLI and the partner desk
word it.
"""
from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Customer
from bot.fapiao.checks import check_fapiao_number
from bot.fapiao.models import REJECT_REASONS, FapiaoEvent, FapiaoRequest, State, utcnow
from bot.fapiao.news import record_notice
from bot.fapiao.store import add_event, lock_request, normalise_reference, staff_actor
from bot.fapiao.views import FapiaoEventView, FapiaoQueueItem, FapiaoRequestView

logger = logging.getLogger(__name__)

ALREADY_ISSUED = "already_issued"
ALREADY_REJECTED = "already_rejected"
DATE_IN_FUTURE = "date_in_future"
NUMBER_IN_USE = "number_in_use"  # another of the partner's requests was issued with that number
UNKNOWN_REASON = "unknown_reason"
NOTE_REQUIRED = "note_required"  # reason "other" needs the staff member's note
STAFF_PROBLEMS = (
    ALREADY_ISSUED, ALREADY_REJECTED, DATE_IN_FUTURE, NUMBER_IN_USE, UNKNOWN_REASON, NOTE_REQUIRED,
    "number_empty", "number_not_digits", "number_wrong_length", "number_year_mismatch",
)
MAX_NOTE_CHARS = 1000

__all__ = [
    "FapiaoError",
    "STAFF_PROBLEMS",
    "fapiao_queue",
    "issue_request",
    "reject_request",
    "request_for_partner",
    "request_history",
]


class FapiaoError(ValueError):
    """A change partner staff asked for that cannot be made; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _partner_request(session: Session, reference: str, partner_id: str) -> FapiaoRequest | None:
    return session.scalars(select(FapiaoRequest).where(
        FapiaoRequest.reference == normalise_reference(reference), FapiaoRequest.partner_id == partner_id)).first()


def fapiao_queue(session: Session, partner_id: str, today: date) -> list[FapiaoQueueItem]:
    """The partner's open requests, oldest first, with the customer's name and how long each waits."""
    rows = session.execute(
        select(FapiaoRequest, Customer.name)
        .join(Customer, Customer.id == FapiaoRequest.customer_id)
        .where(FapiaoRequest.partner_id == partner_id, FapiaoRequest.state == State.REQUESTED)
        .order_by(FapiaoRequest.created_at, FapiaoRequest.id)
    ).all()
    return [FapiaoQueueItem(FapiaoRequestView.of(row), name, max((today - row.requested_on).days, 0),
                            today > row.due_by) for row, name in rows]


def request_for_partner(session: Session, reference: str, partner_id: str) -> FapiaoRequestView | None:
    row = _partner_request(session, reference, partner_id)
    return FapiaoRequestView.of(row) if row else None


def request_history(session: Session, reference: str, partner_id: str) -> list[FapiaoEventView] | None:
    row = _partner_request(session, reference, partner_id)
    if row is None:
        return None
    events = session.scalars(select(FapiaoEvent).where(FapiaoEvent.request_id == row.id).order_by(FapiaoEvent.id))
    return [FapiaoEventView.of(event) for event in events]


def _number_in_use(session: Session, row: FapiaoRequest, number: str) -> bool:
    other = session.scalar(select(FapiaoRequest.id).where(
        FapiaoRequest.partner_id == row.partner_id, FapiaoRequest.fapiao_number == number,
        FapiaoRequest.form == row.form, FapiaoRequest.id != row.id).limit(1))
    return other is not None


def _decide(session: Session, row: FapiaoRequest, state: str, actor: str, **facts: str | None) -> None:
    """Record the (final) decision on a locked request: its state, the event, the customer's notice."""
    now = utcnow()
    row.state = state
    row.decided_at = now
    row.updated_at = now
    add_event(session, row.id, state, actor, **facts)
    notice = record_notice(session, row)
    add_event(session, row.id, "notice_recorded", actor, notice_id=notice.id)
    session.flush()
    logger.info("fapiao request %s %s by %s", row.reference, state, actor)


def issue_request(session: Session, reference: str, partner_id: str, *, number: str, staff_name: str,
                  today: date, issued_on: date | None = None) -> FapiaoRequestView | None:
    """Partner staff issued the fapiao: record its number and date (default today) and tell the customer.

    The number must fit the form (bot/fapiao/checks.py: 20 digits starting with the issue year
    for a 数电票, 8 for a paper one). Marking it issued again with the same number and date
    (a resent command) changes nothing.
    """
    actor = staff_actor(partner_id, staff_name)
    row = lock_request(session, reference, partner_id=partner_id)
    if row is None:
        return None
    if row.state == State.REJECTED:
        raise FapiaoError(ALREADY_REJECTED)
    issued_on = issued_on or today
    if issued_on > today:
        raise FapiaoError(DATE_IN_FUTURE)
    checked, problem = check_fapiao_number(number, row.form, issued_on)
    if problem:
        raise FapiaoError(f"number_{problem}")
    if row.state == State.ISSUED:
        if (row.fapiao_number, row.issued_on) == (checked, issued_on):
            return FapiaoRequestView.of(row)
        raise FapiaoError(ALREADY_ISSUED)
    # A 数电票 number is unique in China; a paper number only together with its code, not kept yet.
    if row.form == "digital" and _number_in_use(session, row, checked):
        raise FapiaoError(NUMBER_IN_USE)

    row.fapiao_number = checked
    row.issued_on = issued_on
    _decide(session, row, State.ISSUED, actor, fapiao_number=checked, issued_on=issued_on.isoformat())
    return FapiaoRequestView.of(row)


def reject_request(session: Session, reference: str, partner_id: str, *, reason: str, staff_name: str,
                   note: str | None = None) -> FapiaoRequestView | None:
    """Partner staff will not issue it: record why (a REJECT_REASONS code, and their own note,
    required for "other"), free the invoice for a new request and tell the customer.

    An issued fapiao cannot be rejected (it would need a red-letter fapiao, 红字发票). Rejecting
    again for the same reason (a resent command) changes nothing.
    """
    if reason not in REJECT_REASONS:
        raise FapiaoError(UNKNOWN_REASON)
    note = " ".join((note or "").split())[:MAX_NOTE_CHARS] or None
    if reason == "other" and not note:
        raise FapiaoError(NOTE_REQUIRED)
    actor = staff_actor(partner_id, staff_name)
    row = lock_request(session, reference, partner_id=partner_id)
    if row is None:
        return None
    if row.state == State.ISSUED:
        raise FapiaoError(ALREADY_ISSUED)
    if row.state == State.REJECTED:
        if row.reject_reason == reason:
            return FapiaoRequestView.of(row)
        raise FapiaoError(ALREADY_REJECTED)

    row.reject_reason = reason
    row.staff_note = note
    row.active_invoice_id = None  # the invoice may be requested again
    _decide(session, row, State.REJECTED, actor, reason=reason, note=note)
    return FapiaoRequestView.of(row)

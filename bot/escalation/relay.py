"""Sends recorded escalations to 21Vianet, and queued notes onto their tickets.

Why this shape: the conversation only records an escalation (records.file_escalation) and
answers the customer; this relay does the slow, failure-prone part, with the state in the
database so a worker killed at any point resumes without losing or duplicating anything:

1. claim: one due row (pending, or sending whose lease expired) becomes `sending`, with a claim
   token and a lease (next_attempt_at = now + lease); committed before any call;
2. send: `create_service_request` with the escalation's stored request id (MS-RequestId), the same
   on every attempt, so when an earlier attempt reached 21Vianet it replays instead of opening a
   second ticket (a crash between sending and recording is harmless);
3. record: upstream id and state `sent` with the history, in one transaction; or a retry time
   (exponential backoff, full jitter, never before Retry-After); or, after the last attempt or on a
   rejection (4xx), the partner-staff queue with the reason.

Route `partner` escalations never come here (they are filed straight into the partner queue). With
no upstream configured, due escalations go to the partner queue ("no 21Vianet API configured").
"""
from __future__ import annotations

import logging
import os
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

from sqlalchemy import select

from bot.config import EscalationSettings
from bot.db import session_scope
from bot.db.models import Customer, Partner
from bot.escalation.backoff import CircuitBreaker, retry_delay
from bot.escalation.models import Escalation, EscalationNote, State, utcnow
from bot.escalation.records import add_event, begin_write_transaction, lock_escalation, move_to_partner_queue
from bot.integrations.vianet import (
    ServiceRequest,
    VianetAuthError,
    VianetClient,
    VianetError,
    VianetRejected,
    VianetUnavailable,
)

logger = logging.getLogger(__name__)

NO_UPSTREAM_REASON = "no 21Vianet API configured"
CRASH_EXIT_CODE = 86  # the test hook's exit status, distinct from signals and errors
MAX_TITLE_CHARS = 256
MAX_DESCRIPTION_CHARS = 10_000
KIND_TITLES = {"dispute": "Invoice dispute", "refund": "Refund request", "partner_report": "Partner report"}


@dataclass
class RelayPass:
    """What one pass did (for logs and tests)."""

    sent: int = 0
    retrying: int = 0
    queued_for_partner: int = 0
    notes_sent: int = 0
    held_by_breaker: bool = False


@dataclass(frozen=True)
class _EscalationClaim:
    escalation_id: int
    reference: str
    request_id: str
    claim_token: str
    attempt: int
    title: str
    description: str
    contact: dict[str, Any]


@dataclass(frozen=True)
class _NoteClaim:
    note_id: int
    escalation_id: int
    reference: str
    upstream_id: str
    text: str
    set_status: str | None
    request_id: str


def rejection_reason(error: VianetError) -> str:
    """Why 21Vianet refused, in words for partner staff (no request content, no token)."""
    status = f"HTTP {error.status}" if error.status is not None else "no status"
    if isinstance(error, VianetAuthError):
        return f"21Vianet refused our credentials ({status}); check VIANET_API_TOKEN"
    if isinstance(error, VianetRejected):
        code = f", {error.code}" if error.code is not None else ""
        return f"21Vianet rejected the request ({status}{code})"
    return f"unexpected answer from 21Vianet ({status})"


def _crash_point(settings: EscalationSettings, name: str) -> None:
    """Test hook (ESCALATION_TEST_CRASH_AT): die here as abruptly as a kill -9 would."""
    if settings.crash_at == name:
        logger.warning("test hook: exiting abruptly at %s", name)
        logging.shutdown()
        os._exit(CRASH_EXIT_CODE)


class UpstreamWorker:
    """What the relay and the poller share: the 21Vianet client (None: no upstream), the pacing
    settings, one circuit breaker, the database, and the jitter's random source."""

    def __init__(
        self,
        client: VianetClient | None,
        settings: EscalationSettings,
        breaker: CircuitBreaker,
        *,
        database_url: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._breaker = breaker
        self._url = database_url
        self._rng = rng or random.Random()


class Relay(UpstreamWorker):

    def run_once(self, should_stop: Callable[[], bool] = lambda: False) -> RelayPass:
        report = RelayPass()
        if self._client is None:
            report.queued_for_partner = self._queue_all_for_partner()
            return report
        drained = self._drain(lambda: self._claim_next_escalation(report), self._send_escalation, report, should_stop)
        if drained:
            self._drain(self._claim_next_note, self._send_note, report, should_stop)
        return report

    def _drain(self, claim_next: Callable[[], Any], send: Callable[[Any, RelayPass], None], report: RelayPass,
               should_stop: Callable[[], bool]) -> bool:
        """Claim and send up to a batch; False when stopped or held by the breaker (stop the pass)."""
        for _ in range(self._settings.batch_size):
            if should_stop():
                return False
            if not self._breaker.allows_call():
                report.held_by_breaker = True
                return False
            claim = claim_next()
            if claim is None:
                break
            send(claim, report)
        return True

    # -- no upstream -----------------------------------------------------------------------------

    def _queue_all_for_partner(self) -> int:
        with session_scope(self._url) as session:
            begin_write_transaction(session)
            rows = session.scalars(
                select(Escalation).where(
                    Escalation.state.in_((State.PENDING, State.SENDING)),
                    Escalation.route == "vianet",
                    Escalation.next_attempt_at <= utcnow(),
                )
            ).all()
            for row in rows:
                move_to_partner_queue(session, row, NO_UPSTREAM_REASON, None)
            return len(rows)

    # -- escalations -----------------------------------------------------------------------------

    def _claim_next_escalation(self, report: RelayPass) -> _EscalationClaim | None:
        with session_scope(self._url) as session:
            begin_write_transaction(session)
            while True:
                now = utcnow()
                row = session.scalars(
                    select(Escalation)
                    .where(
                        Escalation.state.in_((State.PENDING, State.SENDING)),
                        Escalation.route == "vianet",
                        Escalation.next_attempt_at <= now,
                    )
                    .order_by(Escalation.next_attempt_at, Escalation.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if row is None:
                    return None
                if row.state == State.SENDING:
                    add_event(session, row.id, "lease_expired",
                              "the previous attempt never finished (worker stopped?); retrying with the same request id")
                if row.attempts >= self._settings.max_attempts:  # e.g. a worker that keeps dying mid-send
                    move_to_partner_queue(
                        session, row,
                        f"not confirmed by 21Vianet after {row.attempts} attempts; it may have reached them, "
                        "check there before filing it by hand",
                        None,
                    )
                    report.queued_for_partner += 1
                    continue
                row.state = State.SENDING
                row.claim_token = str(uuid.uuid4())
                row.attempts += 1
                row.next_attempt_at = now + timedelta(seconds=self._settings.lease_seconds)
                add_event(session, row.id, "send_attempt", f"attempt {row.attempts}, request id {row.request_id}")
                return _EscalationClaim(
                    escalation_id=row.id,
                    reference=row.reference,
                    request_id=row.request_id,
                    claim_token=row.claim_token,
                    attempt=row.attempts,
                    title=self._title(row),
                    description=self._description(session, row),
                    contact=self._contact(session, row),
                )

    @staticmethod
    def _title(row: Escalation) -> str:
        return f"{KIND_TITLES.get(row.kind, 'Escalation')} {row.reference}: {row.summary}"[:MAX_TITLE_CHARS]

    @staticmethod
    def _description(session, row: Escalation) -> str:
        customer = session.get(Customer, row.customer_id)
        partner = session.get(Partner, row.partner_id)
        lines = [
            f"Escalated by {partner.name if partner else row.partner_id} ({row.partner_id}) on behalf of its "
            f"customer {customer.name if customer else row.customer_id} ({row.customer_id}).",
            f"Our reference: {row.reference}",
        ]
        if row.invoice_number:
            lines.append(f"Invoice: {row.invoice_number}")
        if row.amount is not None:
            lines.append(f"Amount concerned: {row.amount} {row.currency or ''}".rstrip())
        lines += [f"Filed by: {row.filed_by}", f"Filed at: {row.created_at.isoformat(timespec='seconds')}Z", "",
                  row.description]
        return "\n".join(lines)[:MAX_DESCRIPTION_CHARS]

    def _contact(self, session, row: Escalation) -> dict[str, Any]:
        partner = session.get(Partner, row.partner_id)
        return {"first_name": partner.name if partner else row.partner_id, "email": self._settings.contact_email}

    def _send_escalation(self, claim: _EscalationClaim, report: RelayPass) -> None:
        _crash_point(self._settings, "after_claim")
        try:
            service_request = self._client.create_service_request(
                request_id=claim.request_id,
                title=claim.title,
                description=claim.description,
                severity=self._settings.severity,
                support_topic_id=self._settings.support_topic_id,
                contact=claim.contact,
            )
        except VianetError as error:
            self._record_send_failure(claim, error, report)
            return
        except Exception as exc:  # a bug must cost one attempt, never the worker loop
            logger.exception("unexpected error sending escalation %s", claim.reference)
            self._record_send_failure(claim, VianetUnavailable(f"unexpected error ({type(exc).__name__})"),
                                      report, upstream_failed=False)
            return
        self._breaker.record_success()
        _crash_point(self._settings, "after_send")
        self._record_sent(claim, service_request, report)

    def _record_sent(self, claim: _EscalationClaim, service_request: ServiceRequest, report: RelayPass) -> None:
        with session_scope(self._url) as session:
            row = lock_escalation(session, claim.escalation_id)
            # The answer to this request id is the ticket, whoever holds the claim now; only an
            # escalation that has moved on (closed, or already sent) is left alone.
            accepts = row is not None and (
                row.state in (State.PENDING, State.SENDING)
                or (row.state == State.PARTNER_QUEUE and row.upstream_id is None and row.route == "vianet")
            )
            if not accepts:
                logger.warning("escalation %s changed while it was being sent; 21Vianet's answer (%s) not recorded",
                               claim.reference, service_request.id)
                return
            row.state = State.SENT
            row.upstream_id = service_request.id
            row.upstream_status = service_request.status
            row.queue_reason = None
            row.claim_token = None
            row.next_attempt_at = None
            row.last_error = None
            row.next_poll_at = utcnow() + timedelta(seconds=self._settings.poll_interval)
            add_event(session, row.id, "sent",
                      f"21Vianet service request {service_request.id} (status {service_request.status})")
        report.sent += 1
        logger.info("escalation %s sent to 21Vianet as service request %s", claim.reference, service_request.id)

    def _record_send_failure(
        self, claim: _EscalationClaim, error: VianetError, report: RelayPass, *, upstream_failed: bool = True
    ) -> None:
        if upstream_failed:
            if error.retryable:
                self._breaker.record_failure(error.retry_after)
            else:
                self._breaker.record_success()  # it answered; the request was the problem
        with session_scope(self._url) as session:
            row = lock_escalation(session, claim.escalation_id)
            if row is None or row.state != State.SENDING or row.claim_token != claim.claim_token:
                logger.info("escalation %s was reclaimed meanwhile; this failure is not recorded", claim.reference)
                return
            row.claim_token = None
            row.last_error = str(error)
            if not error.retryable:
                add_event(session, row.id, "failed", f"attempt {claim.attempt}: {error}")
                move_to_partner_queue(session, row, rejection_reason(error), str(error))
                report.queued_for_partner += 1
                logger.warning("escalation %s rejected by 21Vianet: %s", claim.reference, error)
            elif row.attempts >= self._settings.max_attempts:
                add_event(session, row.id, "failed", f"attempt {claim.attempt}: {error}")
                move_to_partner_queue(
                    session, row,
                    f"21Vianet could not be reached after {row.attempts} attempts; it may have received it, "
                    "check there before filing it by hand",
                    str(error),
                )
                report.queued_for_partner += 1
            else:
                delay = retry_delay(row.attempts, base=self._settings.backoff_base, cap=self._settings.backoff_cap,
                                    retry_after=error.retry_after, rng=self._rng)
                row.state = State.PENDING
                row.next_attempt_at = utcnow() + timedelta(seconds=delay)
                add_event(session, row.id, "failed", f"attempt {claim.attempt}: {error}; next try in {delay:.1f} s")
                report.retrying += 1
                logger.info("escalation %s: attempt %d failed, retrying in %.1f s: %s",
                            claim.reference, claim.attempt, delay, error)

    # -- notes and status changes on existing tickets -------------------------------------------

    def _claim_next_note(self) -> _NoteClaim | None:
        with session_scope(self._url) as session:
            begin_write_transaction(session)
            now = utcnow()
            found = session.execute(
                select(EscalationNote, Escalation)
                .join(Escalation, Escalation.id == EscalationNote.escalation_id)
                .where(
                    EscalationNote.sent.is_(False),
                    EscalationNote.gave_up_at.is_(None),
                    EscalationNote.next_attempt_at <= now,
                    Escalation.upstream_id.is_not(None),
                )
                .order_by(EscalationNote.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if found is None:
                return None
            note, escalation = found
            note.attempts += 1
            note.next_attempt_at = now + timedelta(seconds=self._settings.lease_seconds)
            return _NoteClaim(
                note_id=note.id,
                escalation_id=escalation.id,
                reference=escalation.reference,
                upstream_id=escalation.upstream_id,
                text=note.text,
                set_status=note.set_status,
                request_id=note.request_id,
            )

    def _send_note(self, claim: _NoteClaim, report: RelayPass) -> None:
        try:
            service_request = self._client.update_service_request(
                claim.upstream_id, note=claim.text or None, status=claim.set_status, request_id=claim.request_id
            )
        except VianetError as error:
            if error.retryable:
                self._breaker.record_failure(error.retry_after)
            else:
                self._breaker.record_success()
            self._record_note_failure(claim, error)
            return
        except Exception as exc:
            logger.exception("unexpected error sending a note for escalation %s", claim.reference)
            self._record_note_failure(claim, VianetUnavailable(f"unexpected error ({type(exc).__name__})"))
            return
        self._breaker.record_success()
        with session_scope(self._url) as session:
            row = lock_escalation(session, claim.escalation_id)
            note = session.get(EscalationNote, claim.note_id)
            note.sent = True
            note.sent_at = utcnow()
            note.last_error = None
            what = "note" if claim.text else "status change"
            add_event(session, row.id, "note_sent", f"{what} added to 21Vianet service request {claim.upstream_id}")
            if claim.set_status and row.upstream_status != service_request.status:
                add_event(session, row.id, "status_changed",
                          f"{row.upstream_status} -> {service_request.status} (set by us)")
                row.upstream_status = service_request.status
        report.notes_sent += 1

    def _record_note_failure(self, claim: _NoteClaim, error: VianetError) -> None:
        with session_scope(self._url) as session:
            row = lock_escalation(session, claim.escalation_id)
            note = session.get(EscalationNote, claim.note_id)
            if note is None or note.sent:
                return
            note.last_error = str(error)
            if error.retryable and note.attempts < self._settings.max_attempts:
                delay = retry_delay(note.attempts, base=self._settings.backoff_base, cap=self._settings.backoff_cap,
                                    retry_after=error.retry_after, rng=self._rng)
                note.next_attempt_at = utcnow() + timedelta(seconds=delay)
                logger.info("note for escalation %s: attempt %d failed, retrying in %.1f s: %s",
                            claim.reference, note.attempts, delay, error)
                return
            note.gave_up_at = utcnow()
            add_event(session, row.id, "note_failed", f"gave up after {note.attempts} attempts: {error}")
            logger.warning("gave up adding a note to escalation %s: %s", claim.reference, error)
            if claim.set_status == "open" and row.state == State.REOPENED:
                # The customer's "not solved" must not vanish: staff take it from here.
                why = "unreachable" if error.retryable else rejection_reason(error)
                move_to_partner_queue(session, row, f"could not reopen the 21Vianet ticket: {why}", str(error))

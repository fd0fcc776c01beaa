"""Follows escalations that 21Vianet has: status changes and their notes go into the history,
and a closed ticket closes the escalation and queues the news for the customer (once).

Each ticket is fetched every `poll_interval` seconds; a failed fetch backs that ticket off
(exponential, full jitter) and feeds the circuit breaker shared with the relay. Nothing here
raises into the worker loop.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from sqlalchemy import exists, or_, select

from bot.db import session_scope
from bot.escalation.backoff import retry_delay
from bot.escalation.models import Escalation, EscalationNote, State, utcnow
from bot.escalation.records import add_event, close_and_notify, lock_escalation, move_to_partner_queue
from bot.escalation.relay import UpstreamWorker
from bot.integrations.vianet import ServiceRequest, VianetError, VianetNotFound, VianetUnavailable

logger = logging.getLogger(__name__)

MAX_NOTE_IN_HISTORY = 2000


@dataclass
class PollPass:
    polled: int = 0
    status_changes: int = 0
    closed: int = 0
    failed: int = 0
    held_by_breaker: bool = False


def _status_change_pending():
    """A reopen (or close) we queued but have not sent yet: polling now would see the old status
    and undo it (e.g. close the escalation the customer just reopened)."""
    return exists().where(
        EscalationNote.escalation_id == Escalation.id,
        EscalationNote.sent.is_(False),
        EscalationNote.gave_up_at.is_(None),
        EscalationNote.set_status.is_not(None),
    )


class Poller(UpstreamWorker):

    def run_once(self, should_stop: Callable[[], bool] = lambda: False) -> PollPass:
        report = PollPass()
        if self._client is None:
            return report
        for escalation_id, upstream_id, reference in self._due():
            if should_stop():
                break
            if not self._breaker.allows_call():
                report.held_by_breaker = True
                break
            report.polled += 1
            try:
                service_request = self._client.get_service_request(upstream_id)
            except VianetNotFound as error:
                self._breaker.record_success()
                self._record_missing(escalation_id, upstream_id, error)
                report.failed += 1
            except VianetError as error:
                if error.retryable:
                    self._breaker.record_failure(error.retry_after)
                else:  # e.g. credentials: not this ticket's fault, so back off and keep following it
                    self._breaker.record_success()
                    logger.error("polling escalation %s failed: %s", reference, error)
                self._record_failure(escalation_id, error)
                report.failed += 1
            except Exception as exc:  # a bug must not stop the loop or the other tickets
                logger.exception("unexpected error polling escalation %s", reference)
                self._record_failure(escalation_id, VianetUnavailable(f"unexpected error ({type(exc).__name__})"))
                report.failed += 1
            else:
                self._breaker.record_success()
                self._apply(escalation_id, upstream_id, service_request, report)
        return report

    def _due(self) -> list[tuple[int, str, str]]:
        now = utcnow()
        with session_scope(self._url) as session:
            rows = session.execute(
                select(Escalation.id, Escalation.upstream_id, Escalation.reference)
                .where(
                    Escalation.state.in_((State.SENT, State.REOPENED)),
                    Escalation.upstream_id.is_not(None),
                    or_(Escalation.next_poll_at.is_(None), Escalation.next_poll_at <= now),
                    ~_status_change_pending(),
                )
                .order_by(Escalation.next_poll_at, Escalation.id)
                .limit(self._settings.batch_size)
            ).all()
        return [tuple(row) for row in rows]

    def _apply(self, escalation_id: int, upstream_id: str, service_request: ServiceRequest, report: PollPass) -> None:
        with session_scope(self._url) as session:
            row = lock_escalation(session, escalation_id)
            if row is None or row.state not in (State.SENT, State.REOPENED) or row.upstream_id != upstream_id:
                return  # changed while we were asking (closed by staff, reopened and queued...)
            if session.scalar(select(Escalation.id).where(Escalation.id == row.id, _status_change_pending())):
                return  # a reopen was queued meanwhile
            for note in service_request.notes[row.upstream_notes_seen:]:
                add_event(session, row.id, "upstream_note",
                          f"{note.created_by or '21Vianet'}: {note.text[:MAX_NOTE_IN_HISTORY]}")
            row.upstream_notes_seen = len(service_request.notes)
            row.poll_failures = 0
            if service_request.status != row.upstream_status:
                add_event(session, row.id, "status_changed", f"{row.upstream_status} -> {service_request.status}")
                row.upstream_status = service_request.status
                report.status_changes += 1
            if service_request.is_closed:
                closed_at = service_request.closed_at
                close_and_notify(
                    session, row, resolved_by="vianet",
                    closed_at=closed_at.replace(tzinfo=None) if closed_at else utcnow(),
                    detail=f"closed at 21Vianet (service request {upstream_id})",
                )
                report.closed += 1
                logger.info("escalation %s closed at 21Vianet; customer notification queued", row.reference)
            else:
                row.next_poll_at = utcnow() + timedelta(seconds=self._settings.poll_interval)

    def _record_failure(self, escalation_id: int, error: VianetError) -> None:
        with session_scope(self._url) as session:
            row = lock_escalation(session, escalation_id)
            if row is None:
                return
            row.poll_failures += 1
            row.last_error = str(error)
            delay = retry_delay(
                row.poll_failures,
                base=self._settings.backoff_base,
                cap=max(self._settings.backoff_cap, self._settings.poll_interval),
                retry_after=error.retry_after,
                rng=self._rng,
            )
            row.next_poll_at = utcnow() + timedelta(seconds=delay)
            logger.info("polling escalation %s failed (%d in a row), next try in %.1f s: %s",
                        row.reference, row.poll_failures, delay, error)

    def _record_missing(self, escalation_id: int, upstream_id: str, error: VianetError) -> None:
        with session_scope(self._url) as session:
            row = lock_escalation(session, escalation_id)
            if row is None or row.state not in (State.SENT, State.REOPENED):
                return
            move_to_partner_queue(session, row, f"21Vianet no longer knows service request {upstream_id}", str(error))

"""Delivering a handoff's outbox into the conversation, in order, through the conversation-push
component (bot/conversations/push.py).

The console delivers right after an agent acts, and the escalation worker delivers whatever is
left (the Rasa server was restarting, say) on every pass, with backoff. A lease on the row keeps
two deliverers from sending the same message twice; a conversation's rows go strictly in order,
so "Ana joined" never arrives after Ana's first words, and the bot is paused before either.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from bot.config import load_handoff_settings
from bot.conversations.push import ConversationPush, RasaApiError
from bot.db import session_scope
from bot.handoff.models import PAUSE, RESUME, Handoff, HandoffDelivery
from bot.partner.models import utcnow

logger = logging.getLogger(__name__)
BACKOFF_CAP_SECONDS = 60.0


@dataclass(frozen=True)
class DeliveryPass:
    delivered: int = 0
    failed: int = 0  # tried and will be tried again
    given_up: int = 0


def _next_in_line(database_url: str, handoff_id: int | None, now: datetime) -> list[int]:
    """The first undelivered row of each conversation that is due (one per handoff, in order)."""
    with session_scope(database_url) as session:
        query = select(HandoffDelivery.handoff_id, HandoffDelivery.id).where(
            HandoffDelivery.in_tracker_at.is_(None), HandoffDelivery.failed_at.is_(None))
        if handoff_id is not None:
            query = query.where(HandoffDelivery.handoff_id == handoff_id)
        first: dict[int, int] = {}
        for owner, row_id in session.execute(query.order_by(HandoffDelivery.id)):
            first.setdefault(owner, row_id)
        due = session.scalars(select(HandoffDelivery.id).where(
            HandoffDelivery.id.in_(list(first.values())),
            or_(HandoffDelivery.next_attempt_at.is_(None), HandoffDelivery.next_attempt_at <= now),
            or_(HandoffDelivery.lease_until.is_(None), HandoffDelivery.lease_until <= now))).all()
        return sorted(due)


def _lease(database_url: str, row_id: int, now: datetime, seconds: float) -> bool:
    with session_scope(database_url) as session:
        return bool(session.execute(update(HandoffDelivery).where(
            HandoffDelivery.id == row_id, HandoffDelivery.in_tracker_at.is_(None),
            or_(HandoffDelivery.lease_until.is_(None), HandoffDelivery.lease_until <= now))
            .values(lease_until=now + timedelta(seconds=seconds))).rowcount)


def _send(push: ConversationPush, row: HandoffDelivery, channel: str) -> bool:
    """True when the customer has it now; False when it waits for their next request (REST)."""
    if row.kind == PAUSE:
        push.pause(row.conversation_id)
        return True
    if row.kind == RESUME:
        push.resume(row.conversation_id)
        return True
    return push.say(row.conversation_id, json.loads(row.message or "{}"), channel)


def deliver_one(database_url: str, push: ConversationPush, row_id: int) -> str:
    """'delivered', 'waiting' (on the customer's next request), 'busy' (another deliverer has it),
    'failed' (tried again later) or 'given_up'."""
    settings = load_handoff_settings()
    now = utcnow()
    if not _lease(database_url, row_id, now, settings.lease_seconds):
        return "busy"
    with session_scope(database_url) as session:
        row = session.get(HandoffDelivery, row_id)
        channel = session.get(Handoff, row.handoff_id).channel
        session.expunge(row)
    try:
        reached = _send(push, row, channel)
    except RasaApiError as exc:
        with session_scope(database_url) as session:
            row = session.get(HandoffDelivery, row_id)
            row.attempts += 1
            row.lease_until = None
            if row.attempts >= settings.delivery_attempts:
                row.failed_at = utcnow()
                logger.error("gave up delivering handoff message %d after %d tries: %s", row_id, row.attempts, exc)
                return "given_up"
            row.next_attempt_at = utcnow() + timedelta(seconds=min(BACKOFF_CAP_SECONDS, 2.0 ** row.attempts))
            logger.warning("could not deliver handoff message %d (try %d): %s", row_id, row.attempts, exc)
        return "failed"
    with session_scope(database_url) as session:
        row = session.get(HandoffDelivery, row_id)
        row.in_tracker_at = utcnow()
        row.lease_until = None
        if reached:
            row.delivered_at = row.in_tracker_at
    return "delivered" if reached else "waiting"


def deliver_pending(database_url: str, push: ConversationPush | None, handoff_id: int | None = None) -> DeliveryPass:
    """Deliver what is due, each conversation in order; stop a conversation at its first failure."""
    if push is None:
        return DeliveryPass()
    delivered = failed = given_up = 0
    blocked: set[int] = set()
    while True:
        due = _next_in_line(database_url, handoff_id, utcnow())
        progressed = False
        for row_id in due:
            if row_id in blocked:
                continue
            outcome = deliver_one(database_url, push, row_id)
            if outcome in ("delivered", "waiting"):
                delivered += 1
                progressed = True
            else:  # busy: the other deliverer sends it, and what follows it, in order
                blocked.add(row_id)
                failed += outcome == "failed"
                given_up += outcome == "given_up"
        if not progressed:
            return DeliveryPass(delivered, failed, given_up)


def waiting_for_next_request(database_url: str, conversation_id: str) -> list[dict]:
    """For a customer on REST: what the agent and the desk said since their last request, oldest
    first, marked delivered now that it goes out with this response."""
    with session_scope(database_url) as session:
        rows = session.scalars(select(HandoffDelivery).where(
            HandoffDelivery.conversation_id == conversation_id, HandoffDelivery.in_tracker_at.is_not(None),
            HandoffDelivery.delivered_at.is_(None), HandoffDelivery.message.is_not(None))
            .order_by(HandoffDelivery.id)).all()
        now = utcnow()
        messages = []
        for row in rows:
            row.delivered_at = now
            messages.append(json.loads(row.message))
        return messages


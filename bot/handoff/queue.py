"""The handoff domain: from the bot's request for a person to the end, and the queue agents see.

Every change is one transaction on the billing database. Claiming is a conditional UPDATE, so two
agents (in any number of console processes) never both win; one open handoff per conversation is
a unique index. What the customer must see (an agent joined, the agent's words, handed back,
closed) goes into the outbox (`HandoffDelivery`) in the same transaction, and is delivered by
bot.handoff.delivery through the conversation-push component.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.config import load_handoff_settings, load_settings
from bot.db.unique import insert_or_winner
from bot.handoff.hours import StaffedHours
from bot.handoff.models import (AGENT_MESSAGE, CANCELLED, CLAIMED, CLOSED, NOTICE, OPEN_STATUSES, PAUSE, REASONS,
                                RELEASED, RESUME, WAITING, Handoff, HandoffDelivery, SupportAgent, SupportPolicy)
from bot.partner.models import utcnow
from bot.replies import render

MAX_AGENT_MESSAGE_CHARS = 4000
RATING_SCALE = range(1, 6)
TYPING_SECONDS = 6  # "is typing" shows this long after the last keystroke signal


class HandoffError(Exception):
    """`code`: not_found (or another partner's: the same answer), already_claimed, not_yours, not_open,
    empty, too_long."""

    def __init__(self, code: str, handoff: Handoff | None = None):
        super().__init__(code)
        self.code = code
        self.handoff = handoff


def aware(value: datetime) -> datetime:
    """Stored times are naive UTC; the domain reasons in aware UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def naive(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None)


# --- the partner's terms: staffed hours and targets ----------------------------------------------

@dataclass(frozen=True)
class SupportTerms:
    hours: StaffedHours
    first_response: timedelta
    next_response: timedelta


def support_terms(session: Session, partner_id: str) -> SupportTerms:
    defaults, settings = load_handoff_settings(), load_settings()
    policy = session.get(SupportPolicy, partner_id)
    return SupportTerms(
        hours=StaffedHours.parse(policy.staffed_hours if policy and policy.staffed_hours else defaults.staffed_hours,
                                 policy.timezone if policy and policy.timezone else settings.timezone),
        first_response=timedelta(seconds=(policy and policy.first_response_seconds) or defaults.first_response_seconds),
        next_response=timedelta(seconds=(policy and policy.next_response_seconds) or defaults.next_response_seconds))


# --- the customer's side ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Requested:
    handoff: Handoff
    created: bool  # False: this conversation was already waiting or with an agent
    ahead: int  # conversations of the same partner waiting ahead of this one
    opens_at: datetime | None  # outside staffed hours: when someone will answer (partner's zone)


def open_handoff(session: Session, conversation_id: str) -> Handoff | None:
    return session.scalar(select(Handoff).where(Handoff.conversation_id == conversation_id,
                                                Handoff.status.in_(OPEN_STATUSES)))


def waiting_ahead(session: Session, handoff: Handoff) -> int:
    return session.scalar(select(func.count()).select_from(Handoff).where(
        Handoff.partner_id == handoff.partner_id, Handoff.status == WAITING,
        Handoff.requested_at < handoff.requested_at, Handoff.id != handoff.id)) or 0


def request_handoff(session: Session, *, conversation_id: str, partner_id: str, channel: str,
                    customer_id: str | None, requester: str, reason: str, detail: str | None = None,
                    locale: str = "en", now: datetime | None = None) -> Requested:
    """Put the conversation in the partner's queue (or say where it already is)."""
    if reason not in REASONS:
        raise ValueError(f"unknown handoff reason {reason!r}")
    now = aware(now or datetime.now(timezone.utc))
    terms = support_terms(session, partner_id)
    opening = terms.hours.next_opening(now)
    existing = open_handoff(session, conversation_id)
    created = existing is None
    if existing is None:
        row, existing = insert_or_winner(session, lambda: Handoff(
            partner_id=partner_id, conversation_id=conversation_id, channel=channel, customer_id=customer_id,
            requester=requester[:160], reason=reason, detail=(detail or "")[:2000] or None, locale=locale,
            status=WAITING, requested_at=naive(now), clock_starts_at=naive(opening),
            awaiting_agent_since=naive(opening), first_response_breached=False, next_response_breaches=0,
            updated_at=naive(now)), lambda: open_handoff(session, conversation_id))
        created = row is not None
        existing = row or existing
    return Requested(existing, created, waiting_ahead(session, existing) if existing.status == WAITING else 0,
                     None if opening == now else opening)


def cancel_handoff(session: Session, conversation_id: str, now: datetime | None = None) -> Handoff | None:
    """The customer goes back to the bot before an agent took the conversation. None: nothing was
    waiting (a claimed conversation is the agent's to hand back)."""
    now = naive(aware(now or datetime.now(timezone.utc)))
    handoff = open_handoff(session, conversation_id)
    if handoff is None or handoff.status != WAITING:
        return None
    changed = session.execute(update(Handoff).where(Handoff.id == handoff.id, Handoff.status == WAITING)
                              .values(status=CANCELLED, ended_at=now, updated_at=now)).rowcount
    session.refresh(handoff)
    return handoff if changed else None


def customer_wrote(session: Session, conversation_id: str, now: datetime | None = None) -> str | None:
    """A customer's message in a conversation: starts the agent's next-response clock. Returns the
    open handoff's status (None: no handoff), so a channel knows the bot is meant to be quiet."""
    now = naive(aware(now or datetime.now(timezone.utc)))
    handoff = open_handoff(session, conversation_id)
    if handoff is None:
        return None
    if handoff.status == CLAIMED and handoff.awaiting_agent_since is None:
        handoff.awaiting_agent_since = now
    handoff.customer_typing_at = None
    handoff.updated_at = now
    return handoff.status


def customer_typing(session: Session, conversation_id: str, now: datetime | None = None) -> bool:
    now = naive(aware(now or datetime.now(timezone.utc)))
    return bool(session.execute(update(Handoff).where(
        Handoff.conversation_id == conversation_id, Handoff.status == CLAIMED)
        .values(customer_typing_at=now, updated_at=now)).rowcount)


def record_satisfaction(session: Session, conversation_id: str, score: int,
                        now: datetime | None = None) -> Handoff | None:
    """The answer to the question asked after closing: the latest closed handoff of the conversation
    not rated yet. None: nothing to rate (or the score is not 1-5)."""
    if score not in RATING_SCALE:
        return None
    handoff = session.scalar(select(Handoff).where(
        Handoff.conversation_id == conversation_id, Handoff.status == CLOSED, Handoff.satisfaction.is_(None))
        .order_by(Handoff.ended_at.desc()).limit(1))
    if handoff is not None:
        handoff.satisfaction, handoff.satisfaction_at = score, naive(aware(now or datetime.now(timezone.utc)))
        handoff.updated_at = handoff.satisfaction_at
    return handoff


# --- the agent's side ------------------------------------------------------------------------------

def agents_handoff(session: Session, agent: SupportAgent, handoff_id: int) -> Handoff:
    """The handoff, if it is this agent's partner's; otherwise not_found (another partner's
    conversations are not even confirmed to exist)."""
    handoff = session.get(Handoff, handoff_id)
    if handoff is None or handoff.partner_id != agent.partner_id:
        raise HandoffError("not_found")
    return handoff


def _notice(session: Session, handoff: Handoff, kind: str, key: str | None = None,
            agent: SupportAgent | None = None, message: dict[str, Any] | None = None, **values: Any) -> None:
    if key is not None:
        message = render(key, handoff.locale, **values).message()
    session.add(HandoffDelivery(handoff_id=handoff.id, conversation_id=handoff.conversation_id, kind=kind,
                                agent_id=agent.id if agent else None,
                                message=json.dumps(message, ensure_ascii=False) if message else None,
                                created_at=utcnow(), attempts=0))


def claim(session: Session, agent: SupportAgent, handoff_id: int, now: datetime | None = None) -> Handoff:
    """One agent takes the conversation: the bot is paused in it and the customer told who joined."""
    now = naive(aware(now or datetime.now(timezone.utc)))
    handoff = agents_handoff(session, agent, handoff_id)
    won = session.execute(update(Handoff).where(Handoff.id == handoff_id, Handoff.status == WAITING)
                          .values(status=CLAIMED, agent_id=agent.id, claimed_at=now, updated_at=now)).rowcount
    session.refresh(handoff)
    if not won:
        raise HandoffError("already_claimed" if handoff.status == CLAIMED else "not_open", handoff)
    _notice(session, handoff, PAUSE)
    _notice(session, handoff, NOTICE, "handoff.agent_joined", agent=agent, name=agent.name)
    return handoff


def _owned(session: Session, agent: SupportAgent, handoff_id: int) -> Handoff:
    handoff = agents_handoff(session, agent, handoff_id)
    if handoff.status != CLAIMED:
        raise HandoffError("not_open", handoff)
    if handoff.agent_id != agent.id:
        raise HandoffError("not_yours", handoff)
    return handoff


def reply(session: Session, agent: SupportAgent, handoff_id: int, text: str,
          now: datetime | None = None) -> HandoffDelivery:
    """The agent's words, to be delivered to the customer; stops the response clocks."""
    text = (text or "").strip()
    if not text:
        raise HandoffError("empty")
    if len(text) > MAX_AGENT_MESSAGE_CHARS:
        raise HandoffError("too_long")
    moment = aware(now or datetime.now(timezone.utc))
    handoff = _owned(session, agent, handoff_id)
    terms = support_terms(session, handoff.partner_id)
    if handoff.awaiting_agent_since is not None:
        late = moment - aware(handoff.awaiting_agent_since)
        if handoff.first_response_at is None:
            handoff.first_response_breached = late > terms.first_response
        elif late > terms.next_response:
            handoff.next_response_breaches += 1
    if handoff.first_response_at is None:
        handoff.first_response_at = naive(moment)
    handoff.awaiting_agent_since = None
    handoff.agent_typing_at = None
    handoff.updated_at = naive(moment)
    delivery = HandoffDelivery(
        handoff_id=handoff.id, conversation_id=handoff.conversation_id, kind=AGENT_MESSAGE, agent_id=agent.id,
        message=json.dumps({"text": text, "custom": {"agent": {"name": agent.name}}}, ensure_ascii=False),
        created_at=naive(moment), attempts=0)
    session.add(delivery)
    session.flush()
    return delivery


def agent_typing(session: Session, agent: SupportAgent, handoff_id: int, now: datetime | None = None) -> Handoff:
    handoff = _owned(session, agent, handoff_id)
    handoff.agent_typing_at = naive(aware(now or datetime.now(timezone.utc)))
    return handoff


def release(session: Session, agent: SupportAgent, handoff_id: int, now: datetime | None = None) -> Handoff:
    """Back to the bot, which carries on with everything said so far."""
    return _end(session, agent, handoff_id, RELEASED, "handoff.handed_back", now)


def close(session: Session, agent: SupportAgent, handoff_id: int, now: datetime | None = None) -> Handoff:
    """The agent is done: the bot is back, and asks the customer to rate the help (1-5)."""
    return _end(session, agent, handoff_id, CLOSED, "handoff.closed_rate", now)


def _end(session: Session, agent: SupportAgent, handoff_id: int, status: str, key: str,
         now: datetime | None) -> Handoff:
    moment = naive(aware(now or datetime.now(timezone.utc)))
    handoff = _owned(session, agent, handoff_id)
    handoff.status, handoff.ended_at, handoff.updated_at = status, moment, moment
    handoff.awaiting_agent_since = None
    _notice(session, handoff, RESUME)
    _notice(session, handoff, NOTICE, key, agent=agent, name=agent.name)
    return handoff


# --- the queue ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueEntry:
    handoff: Handoff
    agent_name: str | None
    waiting_seconds: int  # since the request
    clock_seconds: int | None  # on the running response clock (None: nothing awaits the agent)
    target_seconds: int  # the target that clock runs against
    seconds_to_breach: int | None  # negative: breached by that much
    ahead: int  # for a waiting one: how many wait ahead of it

    @property
    def breached(self) -> bool:
        return self.seconds_to_breach is not None and self.seconds_to_breach < 0


def entry_for(session: Session, handoff: Handoff, now: datetime | None = None) -> QueueEntry:
    now = aware(now or datetime.now(timezone.utc))
    terms = support_terms(session, handoff.partner_id)
    target = terms.first_response if handoff.first_response_at is None else terms.next_response
    clock = None
    if handoff.status in OPEN_STATUSES and handoff.awaiting_agent_since is not None:
        clock = max(0, int((now - aware(handoff.awaiting_agent_since)).total_seconds()))
    agent = session.get(SupportAgent, handoff.agent_id) if handoff.agent_id else None
    return QueueEntry(handoff, agent.name if agent else None,
                      max(0, int((now - aware(handoff.requested_at)).total_seconds())), clock,
                      int(target.total_seconds()), None if clock is None else int(target.total_seconds()) - clock,
                      waiting_ahead(session, handoff) if handoff.status == WAITING else 0)


def queue(session: Session, partner_id: str, now: datetime | None = None) -> list[QueueEntry]:
    """The partner's waiting and claimed conversations, the closest to breaching first (those
    with nothing awaiting an answer last, oldest first)."""
    handoffs = session.scalars(select(Handoff).where(Handoff.partner_id == partner_id,
                                                     Handoff.status.in_(OPEN_STATUSES))).all()
    entries = [entry_for(session, h, now) for h in handoffs]
    return sorted(entries, key=lambda e: (e.seconds_to_breach is None,
                                          e.seconds_to_breach if e.seconds_to_breach is not None else 0,
                                          e.handoff.requested_at))

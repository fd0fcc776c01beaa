"""What the customer is told when partner staff issue or reject a request, like an escalation's resolution.

A notice is recorded in the same transaction as the change and holds facts only (FapiaoNews);
the conversation shows pending notices on the customer's next turn and marks each shown, once.
The escalation worker also pushes them into the customer's open chat where the channel can receive
it (`notices_to_push`), like an escalation's resolution.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.escalation.backoff import retry_delay

from bot.fapiao.models import FapiaoNotice, FapiaoRequest, utcnow
from bot.fapiao.store import add_event, begin_write_transaction, customer_actor
from bot.fapiao.views import FapiaoNews


def record_notice(session: Session, request: FapiaoRequest) -> FapiaoNotice:
    """News of the request's new (final) state for its customer, in the caller's transaction."""
    notice = FapiaoNotice(request_id=request.id, customer_id=request.customer_id,
                          conversation_id=request.conversation_id, kind=request.state, created_at=utcnow())
    session.add(notice)
    session.flush()
    return notice


def _news(customer_id: str):
    return (select(FapiaoNotice, FapiaoRequest)
            .join(FapiaoRequest, FapiaoRequest.id == FapiaoNotice.request_id)
            .where(FapiaoNotice.customer_id == customer_id, FapiaoRequest.customer_id == customer_id))


def pending_news(session: Session, customer_id: str) -> list[FapiaoNews]:
    """The verified customer's fapiao news not shown yet, oldest first."""
    stmt = _news(customer_id).where(FapiaoNotice.shown_at.is_(None)).order_by(FapiaoNotice.created_at,
                                                                              FapiaoNotice.id)
    return [FapiaoNews.of(notice, request) for notice, request in session.execute(stmt)]


def mark_news_shown(session: Session, customer_id: str, notice_id: int) -> FapiaoNews | None:
    """The conversation showed the notice; it is not pending any more. None for a missing or
    another customer's notice; a second call changes nothing."""
    begin_write_transaction(session)
    found = session.execute(_news(customer_id).where(FapiaoNotice.id == notice_id)).first()
    if found is None:
        return None
    notice, request = found
    if notice.shown_at is None:
        notice.shown_at = utcnow()
        add_event(session, request.id, "customer_notified", customer_actor(customer_id), notice_id=notice.id,
                  state=notice.kind)
        session.flush()
    return FapiaoNews.of(notice, request)


# ----- pushing news into an open chat (the escalation worker) ------------------------------------

@dataclass(frozen=True)
class NoticeToPush:
    id: int
    customer_id: str
    conversation_id: str


def push_reference(notice_id: int) -> str:
    """What a push token for this notice is signed for (bot.identity.issue_push_token)."""
    return f"fapiao-notice:{notice_id}"


def notices_to_push(session: Session, max_attempts: int, limit: int) -> list[NoticeToPush]:
    """Unshown news from a known conversation whose next push is due, oldest first."""
    now = utcnow()
    stmt = (select(FapiaoNotice).where(FapiaoNotice.shown_at.is_(None), FapiaoNotice.conversation_id.is_not(None),
                                       FapiaoNotice.push_attempts < max_attempts,
                                       or_(FapiaoNotice.next_push_at.is_(None), FapiaoNotice.next_push_at <= now))
            .order_by(FapiaoNotice.id).limit(limit))
    return [NoticeToPush(n.id, n.customer_id, n.conversation_id) for n in session.scalars(stmt)]


def record_push_failure(session: Session, notice_id: int, *, backoff_base: float, backoff_cap: float) -> None:
    """The chat could not take it now (closed, REST, in the middle of a form): tried again later, a
    few times at most; it is shown on the customer's next turn in any case."""
    notice = session.get(FapiaoNotice, notice_id)
    if notice is not None:
        notice.push_attempts += 1
        notice.next_push_at = utcnow() + timedelta(seconds=retry_delay(notice.push_attempts, base=backoff_base,
                                                                        cap=backoff_cap))


def notice_in_conversation(session: Session, notice_id: int, conversation_id: str) -> tuple[str, FapiaoNews] | None:
    """(its customer, the unshown notice) a push announces, if it belongs to this conversation."""
    found = session.execute(select(FapiaoNotice, FapiaoRequest)
                            .join(FapiaoRequest, FapiaoRequest.id == FapiaoNotice.request_id)
                            .where(FapiaoNotice.id == notice_id, FapiaoNotice.conversation_id == conversation_id,
                                   FapiaoNotice.shown_at.is_(None))).first()
    return (found[0].customer_id, FapiaoNews.of(*found)) if found else None

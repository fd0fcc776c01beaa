"""What the customer is told when partner staff issue or reject a request, like an escalation's resolution.

A notice is recorded in the same transaction as the change and holds facts only (FapiaoNews);
the conversation shows pending notices on the customer's next turn and marks each shown, once.
(Pushing them into an open chat comes later, as for escalations.)
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

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

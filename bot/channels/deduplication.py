"""A platform event is processed once, however often the platform delivers it.

Slack retries an event it thinks we missed (`X-Slack-Retry-Num`, for any reason: timeout, a 5xx,
a dropped connection), and Bot Framework may redeliver an activity. The first delivery of an
event id wins, in the database, so two Rasa processes receiving the same retry agree.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Column, DateTime, String, delete
from sqlalchemy.orm import Session

from bot.db.models import Base
from bot.db.unique import insert_or_winner
from bot.partner.models import utcnow

KEEP_FOR = timedelta(days=2)  # Slack retries for about an hour; two days is plenty


class SeenEvent(Base):
    __tablename__ = "seen_platform_events"

    platform = Column(String(16), primary_key=True)
    event_id = Column(String(128), primary_key=True)
    seen_at = Column(DateTime, nullable=False)


def first_delivery(session: Session, platform: str, event_id: str) -> bool:
    """True the first time this (platform, event id) is seen; False for every redelivery."""
    if session.get(SeenEvent, (platform, event_id)) is not None:
        return False
    row, _ = insert_or_winner(session, lambda: SeenEvent(platform=platform, event_id=event_id, seen_at=utcnow()),
                              lambda: session.get(SeenEvent, (platform, event_id)))
    return row is not None


def forget_old(session: Session) -> int:
    """Drop event ids older than KEEP_FOR; the worker calls it now and then."""
    return session.execute(delete(SeenEvent).where(SeenEvent.seen_at < utcnow() - KEEP_FOR)).rowcount or 0

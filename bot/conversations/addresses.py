"""Where a conversation on a platform lives, so a reply or a push can reach it later.

A Slack reply goes to the channel and thread a message came from; a Teams reply to the
activity's `serviceUrl` and conversation. The channel records that address with every incoming
message, in the database rather than in one process's memory: news pushed by the worker, or an
agent's reply, may be sent by another Rasa process than the one that received the message.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, DateTime, String, Text, select
from sqlalchemy.orm import Session

from bot.db.models import Base
from bot.db.unique import insert_or_winner
from bot.partner.models import utcnow


class ConversationAddress(Base):
    __tablename__ = "conversation_addresses"

    conversation_id = Column(String(128), primary_key=True)
    platform = Column(String(16), nullable=False)  # slack | teams
    address = Column(Text, nullable=False)  # JSON: what the platform's client needs to post a reply
    updated_at = Column(DateTime, nullable=False)


@dataclass(frozen=True)
class Address:
    platform: str
    values: dict[str, Any]


def remember(session: Session, conversation_id: str, platform: str, values: dict[str, Any]) -> None:
    """Record (or update) where replies in this conversation go."""
    encoded = json.dumps(values, sort_keys=True, ensure_ascii=False)
    row = session.get(ConversationAddress, conversation_id)
    if row is None:
        row, winner = insert_or_winner(
            session,
            lambda: ConversationAddress(conversation_id=conversation_id, platform=platform, address=encoded,
                                        updated_at=utcnow()),
            lambda: session.get(ConversationAddress, conversation_id))
        if row is not None:
            return
        row = winner
    row.platform, row.address, row.updated_at = platform, encoded, utcnow()


def address_of(session: Session, conversation_id: str) -> Address | None:
    row = session.scalar(select(ConversationAddress).where(ConversationAddress.conversation_id == conversation_id))
    if row is None:
        return None
    try:
        values = json.loads(row.address)
    except ValueError:
        return None
    return Address(row.platform, values) if isinstance(values, dict) else None

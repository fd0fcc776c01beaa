"""A conversation belongs to the person who first spoke in it signed in.

The sender id is chosen by the client, so it proves nothing: someone who learns another
customer's conversation id must not be able to answer that customer's pending "Shall I file
it?". Each conversation is bound to the verified caller of its first verified turn; a turn from
anyone else changes nothing. A signed-in customer may take over a conversation that so far was
anonymous (they signed in half-way), which is fine: it held no account data.

Kept in the billing database, not in one Rasa process's memory, so several Rasa servers behind
a load balancer agree on it.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from sqlalchemy import Column, DateTime, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import Base

if TYPE_CHECKING:
    from bot.caller import Caller


class ConversationOwner(Base):
    __tablename__ = "conversation_owners"

    conversation_id = Column(String(128), primary_key=True)
    principal = Column(String(160), nullable=False)  # "customer:C-1001" or "partner-staff:P-01:Mei Chen"
    bound_at = Column(DateTime, nullable=False)


def claim(session: Session, conversation_id: str, principal: str | None, bind: bool = True) -> bool:
    """May `principal` (None: anonymous) speak in this conversation? With `bind`, the first
    verified turn binds it. True for the owner and for anyone in a conversation nobody owns yet."""
    owner = session.scalar(select(ConversationOwner.principal)
                           .where(ConversationOwner.conversation_id == conversation_id))
    if owner is not None:
        return owner == principal
    if principal is None or not bind:
        return True
    try:
        with session.begin_nested():
            session.add(ConversationOwner(conversation_id=conversation_id, principal=principal,
                                          bound_at=datetime.now(timezone.utc).replace(tzinfo=None)))
    except IntegrityError:
        # Another server bound it between our read and our write: theirs counts.
        return session.scalar(select(ConversationOwner.principal)
                              .where(ConversationOwner.conversation_id == conversation_id)) == principal
    return True


def owner_of(session: Session, conversation_id: str) -> str | None:
    return session.scalar(select(ConversationOwner.principal)
                          .where(ConversationOwner.conversation_id == conversation_id))


def may_speak(session: Session, conversation_id: str, caller: "Caller") -> bool:
    """`claim` for a verified caller, on every channel: a customer whose sign-in expired still owns
    their conversation (they are told to sign in again) but binds nothing."""
    principal, binds = caller.claimant
    return claim(session, conversation_id, principal, bind=binds)

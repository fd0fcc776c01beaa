"""Tables of the human handoff. Everything lives in the billing database, never in one process's
memory: any Rasa server, console or worker process can read and change a handoff."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text, text

from bot.db.models import Base
from bot.partner.models import utcnow

WAITING, CLAIMED, RELEASED, CLOSED, CANCELLED = "waiting", "claimed", "released", "closed", "cancelled"
OPEN_STATUSES = (WAITING, CLAIMED)
# Why the bot handed off: the customer asked; the bot failed to understand twice in a row; a
# dispute the customer wants a person for; one of the bot's own rules.
REASONS = ("asked", "not_understood", "dispute", "rule")

# What the outbox carries into the conversation, in order.
PAUSE, RESUME = "pause", "resume"  # Rasa's ConversationPaused / ConversationResumed
AGENT_MESSAGE, NOTICE = "agent", "notice"  # an agent's words; a sentence of the desk (joined, closed...)


class SupportAgent(Base):
    """A partner's support agent, who signs in to the console."""

    __tablename__ = "support_agents"
    id = Column(Integer, primary_key=True)
    partner_id = Column(String(16), ForeignKey("partners.id"), nullable=False, index=True)
    name = Column(String(120), nullable=False)
    login = Column(String(120), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    active = Column(Boolean, nullable=False, default=True)


class SupportPolicy(Base):
    """A partner's support hours and response-time targets; NULL: the default setting."""

    __tablename__ = "support_policies"
    partner_id = Column(String(16), ForeignKey("partners.id"), primary_key=True)
    staffed_hours = Column(String(200), nullable=True)  # "Mon-Fri 09:00-18:00", "always"
    timezone = Column(String(64), nullable=True)  # IANA; NULL: BOT_TIMEZONE
    first_response_seconds = Column(Integer, nullable=True)
    next_response_seconds = Column(Integer, nullable=True)


class Handoff(Base):
    """One request for a person, from the bot's hand-off to its end (released, closed or cancelled)."""

    __tablename__ = "handoffs"
    id = Column(Integer, primary_key=True)
    partner_id = Column(String(16), ForeignKey("partners.id"), nullable=False)
    conversation_id = Column(String(128), nullable=False)
    channel = Column(String(16), nullable=False)  # widget | rest | slack | teams
    customer_id = Column(String(16), nullable=True)  # NULL: partner staff asking from Slack or Teams
    requester = Column(String(160), nullable=False)  # the customer's or staff member's name
    reason = Column(String(24), nullable=False)
    detail = Column(Text, nullable=True)  # the customer's own words when it was handed off
    locale = Column(String(8), nullable=False, default="en")
    status = Column(String(12), nullable=False, default=WAITING)
    requested_at = Column(DateTime, nullable=False, default=utcnow)
    clock_starts_at = Column(DateTime, nullable=False)  # the request, or the next staffed moment
    agent_id = Column(Integer, ForeignKey("support_agents.id"), nullable=True)
    claimed_at = Column(DateTime, nullable=True)
    first_response_at = Column(DateTime, nullable=True)
    awaiting_agent_since = Column(DateTime, nullable=True)  # the customer wrote; no agent reply since
    first_response_breached = Column(Boolean, nullable=False, default=False)
    next_response_breaches = Column(Integer, nullable=False, default=0)
    ended_at = Column(DateTime, nullable=True)
    satisfaction = Column(Integer, nullable=True)  # 1-5, asked after closing
    satisfaction_at = Column(DateTime, nullable=True)
    customer_typing_at = Column(DateTime, nullable=True)
    agent_typing_at = Column(DateTime, nullable=True)
    updated_at = Column(DateTime, nullable=False, default=utcnow)  # the console's live view follows this

    __table_args__ = (
        # One open handoff per conversation, whichever process tries to open a second.
        Index("ux_handoffs_open_conversation", "conversation_id", unique=True,
              sqlite_where=text("status IN ('waiting', 'claimed')"),
              postgresql_where=text("status IN ('waiting', 'claimed')")),
        Index("ix_handoffs_partner_status", "partner_id", "status"),
    )


class HandoffDelivery(Base):
    """The outbox of a handoff: what goes into the customer's conversation, in `id` order."""

    __tablename__ = "handoff_deliveries"
    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id"), nullable=False, index=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    kind = Column(String(12), nullable=False)  # pause | resume | agent | notice
    agent_id = Column(Integer, ForeignKey("support_agents.id"), nullable=True)
    message = Column(Text, nullable=True)  # JSON: Rasa's message shape (text, buttons, custom)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    in_tracker_at = Column(DateTime, nullable=True)  # appended to the conversation (the transcript)
    delivered_at = Column(DateTime, nullable=True)  # reached the customer (REST: their next request)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=True)
    lease_until = Column(DateTime, nullable=True)
    failed_at = Column(DateTime, nullable=True)  # given up after HANDOFF_DELIVERY_ATTEMPTS

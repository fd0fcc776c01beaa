"""A person's turn in a conversation, as every channel starts it: may they speak, and is a support
agent or the bot answering them?

One check for the widget, REST, Slack and Teams, in one transaction: the ownership check
(bot/conversations/ownership.py), and once it passes, the handoff desk hears that the customer
wrote (bot/handoff/queue.py `customer_wrote`: the agent's response clock starts). While an agent
has the conversation (status `claimed`), Rasa's tracker is paused (ConversationPaused): the
message still goes to Rasa, so it is in the transcript the agent reads, and the bot answers
nothing. A turn without a reply is then expected, not a failure a channel apologises for.

Typing: a customer's "is typing" signal is passed to the desk (which the console reads) at most
once per conversation every TYPING_SIGNAL_SECONDS, in this process.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bot.conversations.ownership import may_speak
from bot.db import session_scope
from bot.handoff import queue as desk
from bot.handoff.models import CLAIMED

if TYPE_CHECKING:
    from bot.caller import Caller

TYPING_SIGNAL_SECONDS = 2.0  # the widget signals every 2.5 s while typing; the desk shows it 6 s


@dataclass(frozen=True)
class Admission:
    allowed: bool
    handoff_status: str | None = None  # of the conversation's open handoff; None: the bot's alone

    @property
    def with_agent(self) -> bool:
        """An agent owns the conversation: the bot is paused and says nothing."""
        return self.allowed and self.handoff_status == CLAIMED


REFUSED = Admission(False)


def admit(session: Session, conversation_id: str, caller: "Caller") -> Admission:
    """The turn's admission, in the caller's transaction (a channel that records more with it,
    such as a platform address, does so only when this allows it)."""
    if not may_speak(session, conversation_id, caller):
        return REFUSED
    return Admission(True, desk.customer_wrote(session, conversation_id))


def admit_turn(database_url: str, conversation_id: str, caller: "Caller") -> Admission:
    """`admit` in a transaction of its own (channels run it in a thread)."""
    with session_scope(database_url) as session:
        return admit(session, conversation_id, caller)


class CustomerTyping:
    """Passes a customer's typing signals to the desk, at most one per conversation every `seconds`."""

    def __init__(self, seconds: float = TYPING_SIGNAL_SECONDS):
        self.seconds = seconds
        self._last: dict[str, float] = {}

    def due(self, conversation_id: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        last = self._last.get(conversation_id)
        if last is not None and now - last < self.seconds:
            return False
        if len(self._last) > 10_000:  # forget conversations nobody typed in for a while
            self._last = {k: v for k, v in self._last.items() if now - v < self.seconds}
        self._last[conversation_id] = now
        return True

    def signal(self, database_url: str, conversation_id: str, now: float | None = None) -> bool:
        """True when the desk recorded it (an agent has the conversation); synchronous: run it in a thread."""
        if not self.due(conversation_id, now):
            return False
        with session_scope(database_url) as session:
            return desk.customer_typing(session, conversation_id)

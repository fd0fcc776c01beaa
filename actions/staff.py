"""The base of every partner-staff action: who is asking, their role, one session, errors.

Staff come from Slack or Teams (a verified platform identity found in the staff directory) or
from REST with a staff token; either way the channel wrote the verified caller into the
message metadata (bot/caller.py). Customers never run staff operations: they are told that it
is a question for their provider's staff. People the directory doesn't know are told to ask
their partner admin for access, and see nothing.
"""
from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions.base import language_of_tracker, remember_language, say, tell_once
from actions.customer import caller_of
from bot.billing import invoices
from bot.caller import BILLING_ADMIN, NOT_IN_DIRECTORY, Caller
from bot.config import Settings, load_settings
from bot.db import session_scope
from bot.partner.models import StaffMember
from bot.replies.catalogue import Phrases
from bot.replies.partner import PartnerReplies

logger = logging.getLogger(__name__)


def refuse_non_staff(dispatcher: CollectingDispatcher, tracker: Tracker, caller: Caller,
                     response: str = "utter_staff_question") -> None:
    """What someone who is not partner staff hears when they ask for a staff operation."""
    if caller.token_problem == NOT_IN_DIRECTORY:
        tell_once(dispatcher, tracker, "utter_staff.not_in_directory")
    else:
        dispatcher.utter_message(response=response)


@dataclass(frozen=True)
class StaffContext:
    session: Session
    caller: Caller
    tracker: Tracker
    settings: Settings

    @property
    def partner_id(self) -> str:
        return self.caller.partner_id

    @property
    def text(self) -> str:
        return (self.tracker.latest_message or {}).get("text") or ""

    @cached_property
    def replies(self) -> PartnerReplies:
        language = language_of_tracker(self.tracker, self.settings)
        return PartnerReplies(Phrases(language, self.settings), self.settings.today(),
                              invoices.line_names(self.session, language))

    def admins(self) -> list[str]:
        """The partner's billing admins, to name when a read-only member asks for a change."""
        return sorted(set(self.session.scalars(select(StaffMember.name).where(
            StaffMember.partner_id == self.partner_id, StaffMember.role == BILLING_ADMIN))))

    def refuse_read_only(self, dispatcher: CollectingDispatcher, change: str) -> bool:
        """True (and says why) when the caller may only look."""
        if self.caller.may_change:
            return False
        say(dispatcher, self.replies.read_only(change, self.admins()))
        return True


class StaffAction(Action, ABC):
    """Runs only for verified partner staff, inside one database session."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        settings = load_settings()
        caller = caller_of(tracker)
        if not caller.is_staff:
            refuse_non_staff(dispatcher, tracker, caller)
            return self.refused(tracker)
        events = await asyncio.to_thread(self._answer_in_session, dispatcher, tracker, settings, caller)
        return remember_language(tracker, settings) + events

    def _answer_in_session(self, dispatcher: CollectingDispatcher, tracker: Tracker, settings: Settings,
                           caller: Caller) -> list[dict[str, Any]]:
        try:
            with session_scope(settings.database_url) as session:
                return self.answer(dispatcher, StaffContext(session, caller, tracker, settings))
        except SQLAlchemyError:
            logger.exception("billing database error in %s", self.name())
            dispatcher.utter_message(response="utter_billing_unavailable")
            return self.refused(tracker)

    def refused(self, tracker: Tracker) -> list[dict[str, Any]]:
        """Events when the action could not run (forms reset their slots here)."""
        return []

    @abstractmethod
    def answer(self, dispatcher: CollectingDispatcher, ctx: StaffContext) -> list[dict[str, Any]]:
        """Send the answer; return the events it implies."""

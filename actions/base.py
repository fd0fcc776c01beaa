"""Base class for actions that answer from a verified customer's billing data."""
from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions.customer import caller_of, identify
from bot.billing import invoices
from bot.billing.invoices import customer_name, partner_name
from bot.config import Settings, load_settings
from bot.db import session_scope
from bot.billing.parsing import parse_period
from bot.escalation import records
from bot.fapiao import news as fapiao_news
from bot.nlp.words import chinese_periods
from bot.replies import Reply, can_push, conversation_language
from bot.replies.catalogue import Phrases
from bot.replies.escalations import EscalationReplies
from bot.replies.language import DETECTED_KEY, LANGUAGE_SLOT, METADATA_KEY as LOCALE_KEY, language_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    """What an answer needs: who asks, about what, on which day, in which settings."""

    session: Session
    customer_id: str
    tracker: Tracker
    settings: Settings

    @property
    def today(self) -> date:
        return self.settings.today()

    def entity(self, name: str) -> str | None:
        return next(self.tracker.get_latest_entity_values(name), None)

    @property
    def text(self) -> str:
        return (self.tracker.latest_message or {}).get("text") or ""

    def periods(self) -> list[str]:
        """The billing periods (`YYYY-MM`) the message names: English ones as entities, Chinese ones
        read from the text."""
        named = [p for v in self.tracker.get_latest_entity_values("billing_period") if (p := parse_period(v, self.today))]
        return list(dict.fromkeys(named + chinese_periods(self.text, self.today)))

    @cached_property
    def replies(self) -> EscalationReplies:
        language = language_of_tracker(self.tracker, self.settings)
        return replies_in(language, self.settings, invoices.line_names(self.session, language))

    @property
    def can_push(self) -> bool:
        return can_push(self.tracker.get_latest_input_channel())


def tell_once(dispatcher: CollectingDispatcher, tracker: Tracker, response: str) -> None:
    """Say `response` unless it was already said since the user's message: a sign-in that expires
    in the middle of a form is told by the form's check, not again by the action that follows."""
    since_user = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        since_user.append(event)
    if any(e.get("event") == "bot" and (e.get("metadata") or {}).get("utter_action") == response for e in since_user):
        return
    dispatcher.utter_message(response=response)


def language_of_tracker(tracker: Tracker, settings: Settings) -> str:
    users = [e for e in tracker.events if e.get("event") == "user"]
    previous = (users[-2].get("metadata") or {}) if len(users) > 1 else None
    return conversation_language((tracker.latest_message or {}).get("metadata"), tracker.get_slot(LANGUAGE_SLOT),
                                 settings, previous)


def replies_for(tracker: Tracker, settings: Settings) -> EscalationReplies:
    """The reply layer in this conversation's language."""
    return replies_in(language_of_tracker(tracker, settings), settings)


def replies_in(language: str, settings: Settings, line_names: dict[str, str] | None = None) -> EscalationReplies:
    return EscalationReplies(Phrases(language, settings), settings.today(), line_names)


def say(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    """Send a reply: its plain text for every channel, its structure for those that render it."""
    dispatcher.utter_message(text=reply.plain(), buttons=[dict(b) for b in reply.buttons],
                             json_message={"reply": reply.structure()})


def remember_language(tracker: Tracker, settings: Settings) -> list[dict[str, Any]]:
    """Keep the conversation's language once a message says one (its first, or a switch), for the
    turns that say none ("G000100002", news pushed by the worker)."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    if not (language_of(metadata.get(LOCALE_KEY)) or language_of(metadata.get(DETECTED_KEY))):
        return []
    language = language_of_tracker(tracker, settings)
    return [] if language == tracker.get_slot(LANGUAGE_SLOT) else [SlotSet(LANGUAGE_SLOT, language)]


class CustomerAction(Action, ABC):
    """Verifies the caller on every run, then answers inside one database session."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        from actions.partner_desk import staff_equivalent  # it builds on this module

        settings = load_settings()
        for_staff = staff_equivalent(self.name()) if caller_of(tracker).is_staff else None
        if for_staff is not None:  # "overdue?" from staff: their customers', not an account of their own
            return await for_staff.run(dispatcher, tracker, domain)
        caller = identify(tracker)
        if not caller.verified:
            tell_once(dispatcher, tracker, caller.problem)
            return []
        # Database work runs in a thread so one slow query does not stall other conversations.
        events = await asyncio.to_thread(self._answer_in_session, dispatcher, tracker, settings, caller.customer_id)
        return remember_language(tracker, settings) + events

    def _answer_in_session(self, dispatcher: CollectingDispatcher, tracker: Tracker, settings: Settings,
                           customer_id: str) -> list[dict[str, Any]]:
        try:
            with session_scope(settings.database_url) as session:
                if customer_name(session, customer_id) is None:
                    logger.warning("token for unknown customer %s", customer_id)
                    dispatcher.utter_message(response="utter_sign_in_required")
                    return []
                events = self.answer(dispatcher, Context(session, customer_id, tracker, settings))
        except SQLAlchemyError:
            logger.exception("billing database error in %s", self.name())
            dispatcher.utter_message(response="utter_billing_unavailable")
            return []
        # After the answer's own transaction: news that fails to show must not undo the answer.
        try:
            with session_scope(settings.database_url) as session:
                return events + self._news(dispatcher, session, customer_id, tracker, settings)
        except SQLAlchemyError:
            logger.exception("could not show pending news in %s", self.name())
            return events

    @abstractmethod
    def answer(self, dispatcher: CollectingDispatcher, ctx: Context) -> list[dict[str, Any]]:
        """Send the answer; return the events (slot sets) it implies."""

    @staticmethod
    def _news(dispatcher: CollectingDispatcher, session: Session, customer_id: str, tracker: Tracker,
              settings: Settings) -> list[dict[str, Any]]:
        """A resolution not yet seen in this conversation (the channel could not push it): shown
        after the answer, then "is it solved?". Never in the middle of a form."""
        if tracker.active_loop_name or tracker.get_slot("resolution_reference"):
            return []  # never inside a form, nor while another notice awaits its answer
        CustomerAction._fapiao_news(dispatcher, session, customer_id, tracker, settings)
        pending = records.pending_notifications(session, customer_id, conversation_id=tracker.sender_id)
        notice = next((n for n in pending if n.params.get("kind") != "partner_report"), None)
        if notice is None:
            return []
        note = records.latest_upstream_note(session, notice.escalation_id)
        say(dispatcher, replies_for(tracker, settings).news(notice, note))
        records.mark_shown(session, customer_id, notice.id)
        return [SlotSet("resolution_reference", notice.reference), SlotSet("resolution_solved", None),
                FollowupAction("resolution_form")]


    @staticmethod
    def _fapiao_news(dispatcher: CollectingDispatcher, session: Session, customer_id: str, tracker: Tracker,
                     settings: Settings) -> None:
        """A fapiao issued or declined since the customer last wrote, and not pushed: told once, now."""
        tell_fapiao_news(dispatcher, session, customer_id, tracker, settings,
                         fapiao_news.pending_news(session, customer_id))


def tell_fapiao_news(dispatcher: CollectingDispatcher, session: Session, customer_id: str, tracker: Tracker,
                     settings: Settings, items: list) -> None:
    """Say each fapiao notice (issued: its number, day and where the copy went; declined: why) and
    mark it shown, so it is told once whichever way it reached the chat."""
    words = replies_for(tracker, settings)
    p = words.p
    partner = partner_name(session, customer_id)
    for news in items:
        values = dict(type=p.say(f"fapiao.type.{news.fapiao_type}"), number=news.invoice_number,
                      reference=news.reference, partner=partner)
        if news.state == "issued":
            text = p.say("fapiao.news_issued", fapiao_number=news.fapiao_number, day=p.day(news.issued_on),
                         email=news.email, **values)
        else:
            text = p.say("fapiao.news_rejected", reason=p.say(f"fapiao.reason.{news.reject_reason}"), **values)
        footer = p.say("fapiao.staff_note", note=news.staff_note) if news.staff_note else ""
        say(dispatcher, words.reply(f"fapiao.news_{news.state}", text, footer=footer))
        fapiao_news.mark_news_shown(session, customer_id, news.id)


_form_context: ContextVar[Context] = ContextVar("billing_form_context")


class CustomerFormValidation(FormValidationAction, ABC):
    """A form validation action that runs only for a verified customer, inside one session.

    The extract_/validate_ methods (whose signatures Rasa SDK fixes) reach the session and the
    customer through `self.ctx`, a per-call context variable.
    """

    @abstractmethod
    def name(self) -> str:
        """Abstract, so that Rasa SDK does not register this base class as an action."""

    @property
    def ctx(self) -> Context:
        return _form_context.get()

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        settings = load_settings()
        caller = identify(tracker)
        # Ending the form, nothing is kept: a later form must not inherit these answers.
        end_form = [SlotSet(REQUESTED_SLOT, None), *(SlotSet(slot, None) for slot in self.domain_slots(domain))]
        if not caller.verified:
            tell_once(dispatcher, tracker, caller.problem)
            return end_form
        try:
            with session_scope(settings.database_url) as session:
                token = _form_context.set(Context(session, caller.customer_id, tracker, settings))
                try:
                    return await super().run(dispatcher, tracker, domain)
                finally:
                    _form_context.reset(token)
        except SQLAlchemyError:
            logger.exception("billing database error in %s", self.name())
            dispatcher.utter_message(response="utter_billing_unavailable")
            return end_form

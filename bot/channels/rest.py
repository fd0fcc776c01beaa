"""The REST channel: POST /webhooks/rest/webhook {"sender", "message", "metadata"}.

Replaces Rasa's stock `rest` channel (credentials.yml names this class) because that one
- passes any body on, so a sender id with a lone surrogate exits the server, 100 KB of text eats
  the machine, and a body that is not an object answers 500;
- takes `input_channel` from the body, so a client could claim to be another channel;
- stores the client's token in the tracker with every message;
- answers `[]` when the action server is down, so the customer hears nothing.
Here every request is checked (bot/channels/guard.py), the token is verified once and only the
verified caller goes on (bot/caller.py), a conversation answers only its owner
(bot/conversations/ownership.py), and every turn gets a reply. REST cannot push: what a support
agent and the desk said since the customer's last request comes first in the answer to the next
one (bot/handoff/delivery.py `waiting_for_next_request`); while an agent has the conversation the
bot is paused, so a turn may rightly have no reply of the bot's own.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.caller import CALLER_KEY, CUSTOMER_TOKEN_KEY, STAFF_TOKEN_KEY, Caller, resolve_caller
from bot.channels.guard import Inbound, Rejected, inbound_from_rest, neutralise_commands
from bot.config import ConfigError, load_channel_settings, load_settings
from bot.conversations.turns import admit_turn
from bot.db import session_scope
from bot.escalation import records
from bot.handoff.delivery import waiting_for_next_request
from bot.identity import issue_push_token
from bot.integrations.rasa_api import RESOLVED_INTENT
from bot.nlp.language import detect_language
from bot.replies import render
from bot.replies.language import DETECTED_KEY, METADATA_KEY as LOCALE_KEY, conversation_language, language_of

logger = logging.getLogger(__name__)

# What the channel itself says: keys of the reply layer (bot/replies), like every other reply.
TOO_LONG = "message_too_long"
CUT = "message_cut"
QUESTIONS_READ = "message_questions_read"
NOT_YOURS = "conversation_not_yours"
UNAVAILABLE = "temporarily_unavailable"


class ReplyCollector(CollectingOutputChannel):
    """One message per reply, whole: its text, buttons and structure (`custom.reply`) together,
    where Rasa's collector splits text at blank lines and sends the structure apart."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        kept = {key: message[key] for key in ("text", "buttons", "image", "custom") if message.get(key)}
        self.messages.append({"recipient_id": recipient_id, **kept})


def _client_metadata(metadata: dict[str, Any], caller: Caller, detected: str | None) -> dict[str, Any]:
    """What is kept with the message: the verified caller, never the token, and never a caller
    the client wrote itself; the language chosen (validated) and the language it is written in."""
    kept = {k: v for k, v in metadata.items()
            if k not in (CUSTOMER_TOKEN_KEY, STAFF_TOKEN_KEY, CALLER_KEY, LOCALE_KEY, DETECTED_KEY)}
    languages = {LOCALE_KEY: language_of(metadata.get(LOCALE_KEY)), DETECTED_KEY: detected}
    return {**kept, CALLER_KEY: caller.to_metadata(), **{k: v for k, v in languages.items() if v}}


def _staff_news(database_url: str, conversation_id: str, partner_id: str) -> list[str]:
    with session_scope(database_url) as session:
        return [n.reference for n in records.pending_partner_reports(session, conversation_id, partner_id)]


class BillingRestInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "rest"  # keeps the URL /webhooks/rest/webhook

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                limits = load_channel_settings()
                settings = load_settings()
            except ConfigError:
                logger.exception("channel settings")
                return response.json({"error": "unavailable", "message": "the assistant is misconfigured"}, 503)
            try:
                inbound = inbound_from_rest(request.body or b"", limits)
            except Rejected as exc:
                logger.info("rejected a REST request: %s", exc.code)
                return response.json(exc.body(), status=exc.status)
            agent = request.app.ctx.agent
            return response.json(await self._answer(agent, on_new_message, inbound, settings, limits))

        return webhook

    async def _answer(self, agent: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      inbound: Inbound, settings: Any, limits: Any) -> list[dict[str, Any]]:
        sender = inbound.sender_id
        # The channel's own replies: in the language chosen, else the one the message is written in.
        detected = detect_language(inbound.text)  # once per message: it goes with the message too
        language = conversation_language({DETECTED_KEY: detected,
                                          LOCALE_KEY: inbound.metadata.get(LOCALE_KEY)}, None, settings)

        def _reply(key: str, **values: Any) -> dict[str, Any]:
            return {"recipient_id": sender, **render(key, language, settings, **values).message()}

        if inbound.too_long:
            return [_reply(TOO_LONG, max_chars=limits.max_message_chars)]
        caller = resolve_caller(inbound.metadata, settings)
        try:
            admission = await asyncio.to_thread(admit_turn, settings.database_url, sender, caller)
            if not admission.allowed:
                logger.warning("refused a turn in %s from someone who does not own it", sender)
                # A sign-in that failed here is most likely the owner's own: say that, change nothing.
                refusal = {"expired": "sign_in_expired", "invalid": "sign_in_required"}.get(
                    caller.token_problem or "", NOT_YOURS)
                return [_reply(refusal)]
        except SQLAlchemyError:
            # Without knowing who owns it, nobody may change a conversation: fail closed.
            logger.exception("could not check who owns conversation %s", sender)
            return [_reply(UNAVAILABLE)]
        text = neutralise_commands(inbound.text, set(agent.domain.intents))
        collector = ReplyCollector()
        try:  # only now: what was said in a conversation goes to its owner only
            for message in await asyncio.to_thread(waiting_for_next_request, settings.database_url, sender):
                await collector.send_response(sender, message)
        except SQLAlchemyError:  # they stay waiting for the next request
            logger.exception("could not read what was said in %s since the last request", sender)
        if inbound.questions_only:  # said first: what follows answers only part of the message
            collector.messages.append(_reply(QUESTIONS_READ, questions=_clip(inbound.text, 300)))
        elif inbound.cut:
            collector.messages.append(_reply(CUT, analysed_chars=limits.analysed_chars))
        said_before = len(collector.messages)
        try:
            await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(),
                                             metadata=_client_metadata(inbound.metadata, caller, detected)))
            if caller.is_staff:
                await self._show_staff_news(agent, collector, sender, caller, settings)
        except Exception:  # noqa: BLE001  the customer gets an answer whatever broke
            logger.exception("a turn failed in conversation %s", sender)
        if len(collector.messages) == said_before and not admission.with_agent:
            # The action server is down or an action failed: Rasa itself goes on silently.
            logger.warning("a turn in %s produced no reply; answering that it is unavailable", sender)
            collector.messages.append(_reply(UNAVAILABLE))
        return collector.messages

    @staticmethod
    async def _show_staff_news(agent: Any, collector: ReplyCollector, sender: str, caller: Caller,
                               settings: Any) -> None:
        """REST cannot push: the resolution of what staff reported from here is shown on their next
        turn, through the same intent the worker pushes on channels that can."""
        references = await asyncio.to_thread(_staff_news, settings.database_url, sender, caller.partner_id)
        for reference in references:
            async with agent.lock_store.lock(sender):
                tracker = await agent.processor.fetch_tracker_and_update_session(sender)
                if tracker.active_loop_name:
                    return  # never in the middle of a form; it waits for a later turn
                await agent.trigger_intent(
                    intent_name=RESOLVED_INTENT, output_channel=collector, tracker=tracker,
                    entities={"escalation_reference": reference,
                              "push_token": issue_push_token(sender, reference, settings)})


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(None, 1)[0] + "..."


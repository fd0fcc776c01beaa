"""Partner staff in Microsoft Teams: our Bot Framework channel at /webhooks/botframework/webhook.

Replaces Rasa's `botframework` channel (same name and URL) because that one
- knows only the global cloud: its login, OpenID and token URLs are constants, so a bot
  registered in Azure operated by 21Vianet (login.partner.microsoftonline.cn,
  api.botframework.azure.cn) can neither verify an activity nor answer one;
- checks a token's signature and audience but not its issuer, accepts whatever algorithm the
  token's header names, and never checks that the token was issued for the activity's
  `serviceUrl`: a token for one conversation service then sends our replies, with our bot token,
  wherever the body says;
- reads keys with blocking calls without a timeout, at start-up (no Bot Framework, no server),
  and refuses a rotated key until its daily refresh;
- passes the sender's Teams id and raw text straight on: no staff directory, no tenant check,
  no redelivery check, no markup or command guard, one outgoing request per paragraph.

Here every activity's token is verified first (bot/integrations/botframework.py: RS256 only, the
published key it names, issuer, audience, lifetime, serviceurl claim); any failure is 403 and
nothing reaches the assistant. With BOTFRAMEWORK_TENANT_ID set (single-tenant, the default), an
activity from another tenant is refused with 403 too: Bot Framework vouches for it, but it is not
from our partner's organisation. Then the activity is acknowledged at once (200) and handled in
the background: Bot Framework wants an answer within seconds, and replies go through the
connector anyway (a turn that calls the action server and 21Vianet may take longer). A
redelivered activity id is handled once (bot/channels/deduplication.py).

The person is (tenant, Entra object id), looked up in the partner's staff directory
(bot/caller.py): one conversation per person, `teams:<tenant>:<aad object id>`, whatever chat
they write from; the address of their latest message is kept in the database
(bot/conversations/addresses.py) so any Rasa process can push news to them later, in their
personal chat.

When a support agent takes the conversation over (bot/handoff/), the agent's words reach that
personal chat as pushes, shown under the agent's name (bot/integrations/botframework.py); the bot
is paused meanwhile, so a turn without a reply is expected. Typing goes both ways: Teams' typing
activities from the staff member go to the desk (rate-limited), and POST
/webhooks/botframework/typing (bot/channels/typing.py) shows Teams' typing indicator for the agent.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.caller import CALLER_KEY, Caller, resolve_platform_caller
from bot.channels.deduplication import first_delivery
from bot.channels.guard import Rejected, check_sender_id, clean_text, neutralise_commands
from bot.channels.typing import NotShown, TypingSignal, typing_route
from bot.channels.rest import CUT, NOT_YOURS, QUESTIONS_READ, TOO_LONG, UNAVAILABLE, ReplyCollector, _clip
from bot.config import ConfigError, load_botframework_settings, load_channel_settings, load_settings
from bot.conversations.addresses import address_of, remember
from bot.conversations.turns import REFUSED, Admission, CustomerTyping, admit
from bot.db import session_scope
from bot.integrations.botframework import (
    TeamsAddress,
    AuthError,
    BotFrameworkClient,
    BotFrameworkError,
    activity_from_message,
    submitted_text,
    typing_activity,
)
from bot.nlp.language import detect_language
from bot.replies import render
from bot.replies.language import DETECTED_KEY, METADATA_KEY as LOCALE_KEY, conversation_language, language_of

logger = logging.getLogger(__name__)

CHANNEL_NAME = "botframework"
PLATFORM = "teams"
NOT_IN_DIRECTORY = "staff.not_in_directory"
_LEADING_MENTION = re.compile(r"^\s*<at>[^<]{0,200}</at>")  # other people's mentions stay, as their names


def tenant_of(activity: dict[str, Any]) -> str | None:
    """The Entra tenant an activity comes from (channelData.tenant.id, else conversation.tenantId)."""
    channel_data = activity.get("channelData")
    tenant = (channel_data.get("tenant") or {}).get("id") if isinstance(channel_data, dict) \
        and isinstance(channel_data.get("tenant"), dict) else None
    if not tenant and isinstance(activity.get("conversation"), dict):
        tenant = activity["conversation"].get("tenantId")
    return tenant if isinstance(tenant, str) and tenant else None


def text_of(activity: dict[str, Any]) -> str:
    """What the user said: a pressed card button's payload, else the text without the bot's
    @mention (in a channel, Teams puts "<at>Bot name</at>" in front)."""
    submitted = submitted_text(activity)
    if submitted is not None:
        return submitted
    text = activity.get("text")
    if not isinstance(text, str):
        return ""
    bot_id = (activity.get("recipient") or {}).get("id") if isinstance(activity.get("recipient"), dict) else None
    mentions = [e["text"] for e in activity.get("entities") or []
                if isinstance(e, dict) and e.get("type") == "mention" and isinstance(e.get("text"), str)
                and isinstance(e.get("mentioned"), dict) and e["mentioned"].get("id") == bot_id]
    for mention in mentions:
        text = text.replace(mention, " ")
    if not mentions:
        text = _LEADING_MENTION.sub(" ", text)
    return text.strip()


def address_values(activity: dict[str, Any], tenant: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    conversation, sender, bot = activity["conversation"], activity["from"], activity["recipient"]
    kind = conversation.get("conversationType") or "personal"
    personal = conversation["id"] if kind == "personal" else (previous or {}).get("personal_conversation_id")
    return {"service_url": activity["serviceUrl"], "conversation_id": conversation["id"], "conversation_type": kind,
            "reply_to_id": activity.get("id"), "user_id": sender.get("id"), "aad_object_id": sender.get("aadObjectId"),
            "tenant_id": tenant, "bot_id": bot.get("id"), "personal_conversation_id": personal}


def _event_id(activity: dict[str, Any]) -> str | None:
    activity_id = activity.get("id")
    if not isinstance(activity_id, str) or not activity_id:
        return None
    conversation = str((activity.get("conversation") or {}).get("id", ""))
    return hashlib.sha256(f"{conversation}\n{activity_id}".encode()).hexdigest()


def _first_delivery(database_url: str, event_id: str) -> bool:
    with session_scope(database_url) as session:
        return first_delivery(session, PLATFORM, event_id)


def _claim_and_remember(database_url: str, sender: str, caller: Caller, activity: dict[str, Any],
                        tenant: str) -> Admission:
    """One transaction: the owner speaks (and the support desk hears of it), then the address is kept."""
    with session_scope(database_url) as session:
        admission = admit(session, sender, caller)
        if not admission.allowed:
            return REFUSED
        previous = address_of(session, sender)
        remember(session, sender, PLATFORM, address_values(activity, tenant, previous.values if previous else None))
        return admission


def _well_formed(activity: dict[str, Any]) -> bool:
    return (isinstance(activity.get("conversation"), dict) and isinstance(activity["conversation"].get("id"), str)
            and isinstance(activity.get("from"), dict) and isinstance(activity.get("recipient"), dict)
            and isinstance(activity.get("serviceUrl"), str))


class BotFrameworkInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME  # keeps Rasa's URL, /webhooks/botframework/webhook

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> "BotFrameworkInput":
        if credentials:  # Rasa's channel took app_id / app_password from credentials.yml
            logger.warning("credentials.yml values for the Teams channel are ignored: set BOTFRAMEWORK_* instead")
        return cls()  # settings come from the environment (load_botframework_settings), never the file

    def __init__(self, client: BotFrameworkClient | None = None) -> None:
        if client is None:
            try:
                client = BotFrameworkClient(load_botframework_settings())
            except ConfigError:
                logger.exception("Bot Framework settings: the Teams channel refuses every activity")
        self.client = client
        self._tasks: set[asyncio.Task] = set()
        self.customer_typing = CustomerTyping()

    def get_output_channel(self) -> OutputChannel | None:
        """Used by Rasa's API (`trigger_intent ?output_channel=latest`): news for a staff member
        reaches their personal chat."""
        if self.client is None:
            return None
        try:
            database_url = load_settings().database_url
        except ConfigError:
            logger.exception("settings")
            return None
        return TeamsPushOutput(self.client, database_url)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        @webhook.route("/typing", methods=["POST"])
        async def agent_typing(request: Request) -> HTTPResponse:
            return await typing_route(request, self._show_agent_typing)

        return webhook

    async def _receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        forbidden = response.json({"error": "forbidden"}, status=403)
        if self.client is None:
            return forbidden
        try:
            limits, settings = load_channel_settings(), load_settings()
        except ConfigError:
            logger.exception("channel settings")
            return response.json({"error": "unavailable"}, status=503)
        body = request.body or b""
        if len(body) > limits.max_request_bytes:
            return response.json({"error": "too_large"}, status=413)
        try:
            activity = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            activity = None
        if not isinstance(activity, dict):
            return response.json({"error": "invalid_activity"}, status=400)
        try:
            await self.client.authenticate(request.headers.get("Authorization"), activity)
        except AuthError as exc:
            logger.warning("refused a Bot Framework activity (403): %s", exc)
            return forbidden
        tenant = tenant_of(activity)
        wanted = self.client.settings.tenant_id
        if wanted and tenant != wanted:
            # Authentic, but from another organisation's Teams: our bot serves one tenant.
            logger.warning("refused an activity from tenant %s (403): the bot serves tenant %s", tenant, wanted)
            return forbidden
        if activity.get("type") == "typing" and _well_formed(activity):
            await self._customer_typing(activity, tenant, settings.database_url)
            return response.json({})
        if activity.get("type") != "message" or not _well_formed(activity):
            # conversationUpdate (the bot added to a chat), reactions...: acknowledged only.
            return response.json({})
        event_id = _event_id(activity)
        if event_id:
            try:
                if not await asyncio.to_thread(_first_delivery, settings.database_url, event_id):
                    logger.info("activity delivered again; handled once already")
                    return response.json({})
            except SQLAlchemyError:
                logger.exception("could not record the activity; Bot Framework may deliver it again")
                return response.json({"error": "unavailable"}, status=503)
        agent = request.app.ctx.agent
        task = asyncio.create_task(self._handle(agent, on_new_message, activity, tenant, settings, limits))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return response.json({})

    async def _handle(self, agent: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      activity: dict[str, Any], tenant: str | None, settings: Any, limits: Any) -> None:
        try:
            await self._turn(agent, on_new_message, activity, tenant, settings, limits)
        except Exception:  # noqa: BLE001  a background task: nothing above it would log this
            logger.exception("a Teams turn failed")

    async def _turn(self, agent: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                    activity: dict[str, Any], tenant: str | None, settings: Any, limits: Any) -> None:
        locale = language_of(activity.get("locale"))
        try:
            cleaned = clean_text(text_of(activity), limits)
        except Rejected:
            logger.info("a Teams message without text (an attachment only?); nothing to answer")
            return
        detected = None if cleaned.too_long else detect_language(cleaned.text)
        language = conversation_language({LOCALE_KEY: locale, DETECTED_KEY: detected}, None, settings)

        def reply(key: str, **values: Any) -> dict[str, Any]:
            return render(key, language, settings, **values).message()

        async def answer(messages: list[dict[str, Any]]) -> None:
            await self._send_replies(activity, messages)

        aad_object_id = (activity.get("from") or {}).get("aadObjectId")
        sender = f"{PLATFORM}:{tenant}:{aad_object_id}"
        try:
            check_sender_id(sender)
            if not tenant or not isinstance(aad_object_id, str):
                raise Rejected(400, "no_identity", "no tenant or Entra object id")
        except Rejected:
            logger.warning("a Teams activity without a usable tenant / Entra object id")
            return await answer([reply(NOT_IN_DIRECTORY)])
        try:
            caller = await asyncio.to_thread(resolve_platform_caller, PLATFORM, tenant, aad_object_id,
                                             settings.database_url)
            if not caller.is_staff:
                logger.info("a Teams user of tenant %s not in the staff directory", tenant)
                return await answer([reply(NOT_IN_DIRECTORY)])
            admission = await asyncio.to_thread(_claim_and_remember, settings.database_url, sender, caller,
                                                activity, tenant)
            if not admission.allowed:
                logger.warning("refused a turn in %s from someone who does not own it", sender)
                return await answer([reply(NOT_YOURS)])
        except SQLAlchemyError:
            logger.exception("staff directory / conversation records unavailable for %s", sender)
            return await answer([reply(UNAVAILABLE)])
        if cleaned.too_long:
            return await answer([reply(TOO_LONG, max_chars=limits.max_message_chars)])
        collector = ReplyCollector()
        if cleaned.questions_only:
            collector.messages.append(reply(QUESTIONS_READ, questions=_clip(cleaned.text, 300)))
        elif cleaned.cut:
            collector.messages.append(reply(CUT, analysed_chars=limits.analysed_chars))
        said_before = len(collector.messages)
        metadata = {CALLER_KEY: caller.to_metadata(),
                    **{k: v for k, v in ((LOCALE_KEY, locale), (DETECTED_KEY, detected)) if v}}
        text = neutralise_commands(cleaned.text, set(agent.domain.intents) if agent.domain else set())
        try:
            await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata))
        except Exception:  # noqa: BLE001  the staff member gets an answer whatever broke
            logger.exception("a turn failed in conversation %s", sender)
        if len(collector.messages) == said_before and not admission.with_agent:  # with an agent, the bot is paused
            logger.warning("a turn in %s produced no reply; answering that it is unavailable", sender)
            collector.messages.append(reply(UNAVAILABLE))
        await answer(collector.messages)

    # --- typing, both ways ----------------------------------------------------------------------------

    async def _customer_typing(self, activity: dict[str, Any], tenant: str | None, database_url: str) -> None:
        """Teams tells the bot when the user types in a 1:1 chat: the desk shows it to the agent.
        The conversation is the verified sender's own; the desk records it only while an agent has it."""
        aad_object_id = (activity.get("from") or {}).get("aadObjectId")
        if not tenant or not isinstance(aad_object_id, str):
            return
        sender = f"{PLATFORM}:{tenant}:{aad_object_id}"
        try:
            check_sender_id(sender)
            await asyncio.to_thread(self.customer_typing.signal, database_url, sender)
        except Rejected:
            return
        except SQLAlchemyError:
            logger.exception("could not record that %s is typing", sender)

    async def _show_agent_typing(self, signal: TypingSignal) -> None:
        """An agent is typing: Teams' typing indicator in the chat the agent's words go to. Teams
        clears it by itself after a few seconds, so "stopped typing" sends nothing."""
        if self.client is None:
            raise NotShown(404, "teams_not_configured")
        if not signal.typing:
            return
        address = await asyncio.to_thread(_address, load_settings().database_url, signal.conversation_id)
        target = None if address is None else address.conversation_id if address.conversation_type == "personal" \
            else address.personal_conversation_id
        if address is None or not target:
            raise NotShown(404, "no_teams_chat")  # no chat with the bot yet: the agent's first words open one
        try:
            await self.client.send_activity(address.service_url, target,
                                            typing_activity(address.bot_id, address.user_id, target))
        except BotFrameworkError as exc:
            logger.warning("could not show typing in Teams for %s: %s", signal.conversation_id, exc)
            raise NotShown(502, "connector_refused") from exc

    async def _send_replies(self, activity: dict[str, Any], messages: list[dict[str, Any]]) -> None:
        """Each reply into the conversation the activity came from, as a reply to it."""
        assert self.client is not None
        conversation_id = activity["conversation"]["id"]
        for message in messages:
            outgoing = {**activity_from_message(message), "replyToId": activity.get("id"),
                        "from": activity.get("recipient"), "recipient": _person(activity.get("from")),
                        "conversation": {"id": conversation_id}}
            try:
                await self.client.send_activity(activity["serviceUrl"], conversation_id, outgoing)
            except BotFrameworkError as exc:
                logger.error("could not send a reply in Teams conversation %s: %s", conversation_id[:40], exc)


def _person(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {k: value[k] for k in ("id", "name", "aadObjectId") if k in value}


def _address(database_url: str, conversation_id: str) -> TeamsAddress | None:
    with session_scope(database_url) as session:
        stored = address_of(session, conversation_id)
    if stored is None or stored.platform != PLATFORM:
        return None
    address = TeamsAddress.from_values(stored.values)
    return address if address is not None and address.complete else None


def _remember_personal(database_url: str, conversation_id: str, personal_id: str) -> None:
    with session_scope(database_url) as session:
        stored = address_of(session, conversation_id)
        if stored is not None:
            remember(session, conversation_id, PLATFORM, {**stored.values, "personal_conversation_id": personal_id})


class TeamsPushOutput(OutputChannel):
    """Sends news into a staff member's personal chat with the bot, at the address their latest
    message left (created with the connector when they have only written from a channel so far).
    A failed send raises: Rasa's trigger_intent then fails, and the worker tries the push again."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self, client: BotFrameworkClient, database_url: str):
        self.client = client
        self.database_url = database_url

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        if not message.get("text") and not message.get("buttons"):
            return
        address = await asyncio.to_thread(_address, self.database_url, recipient_id)
        if address is None:
            logger.error("no Teams address for conversation %s: the push is not delivered", recipient_id)
            raise BotFrameworkError("no Teams address for this conversation")
        target = address.conversation_id if address.conversation_type == "personal" \
            else address.personal_conversation_id
        if not target:
            try:
                target = await self.client.create_conversation(address.service_url, address.bot_id, address.user_id,
                                                               address.tenant_id)
            except BotFrameworkError as exc:
                logger.error("could not open a personal chat for %s: %s", recipient_id, exc)
                raise
            await asyncio.to_thread(_remember_personal, self.database_url, recipient_id, target)
        outgoing = {**activity_from_message(message), "from": {"id": address.bot_id},
                    "recipient": {"id": address.user_id}, "conversation": {"id": target}}
        try:
            await self.client.send_activity(address.service_url, target, outgoing)
        except BotFrameworkError as exc:
            logger.error("could not push to %s in Teams: %s", recipient_id, exc)
            raise

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})

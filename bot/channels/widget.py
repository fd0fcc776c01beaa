"""The chat widget's channel: socket.io at /socket.io on the Rasa server.

Speaks Rasa's socket.io event names (`session_request`, `session_confirm`, `user_uttered`,
`bot_uttered`) but replaces Rasa's stock `socketio` channel, which
- makes the `session_id` a browser sends the conversation id, so anyone can join and write into
  another customer's conversation;
- checks a token only at connect and never ties it to the conversation or the metadata;
- has no Origin check;
- never awaits `enter_room` (python-socketio 5), so with session persistence no reply arrives.

Here:
- the customer token comes in the connect `auth` (`{"token": ..., "locale": "en"|"zh"}`) and is
  verified at connect and again on every message (bot/caller.py); an expired one is told apart;
- the conversation id is derived on the server: from the verified customer, or, for an anonymous
  visitor, a random id the server signs into a session token the widget keeps to resume it. A
  client-chosen id is ignored, so a socket can never join, read or write another conversation;
- the Origin header must be one of BOT_WIDGET_ORIGINS;
- message size (bot/channels/guard.py) and message rate per conversation are limited;
- every socket of a conversation is in that conversation's room, and the output channel sends to
  the room, so replies reach every open tab and pushes from the escalation worker (Rasa's
  `trigger_intent`) reach the open widget;
- a (re)connecting widget gets the conversation's history again, from the tracker store;
- while a support agent has the conversation (bot/conversations/turns.py), the customer's
  messages still go to Rasa (the transcript the agent reads) and the bot's silence is expected;
  the agent's words reach the room as pushes, with `custom.agent.name`; typing goes both ways
  (`user_typing` from the widget to the desk, `agent_typing` to the room, from POST
  /webhooks/widget/typing).

What survives a restart or lives on another Rasa server: conversations (tracker store), who owns
them (bot/conversations/ownership.py) and anonymous sessions (signed, stateless). Per process:
the rate-limit counters and the room membership of this process's sockets. Several Rasa servers
need sticky sessions and a socket.io message queue (python-socketio's client managers) so a push
handled by one server reaches a socket held by another; see the README.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

import jwt
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.exceptions import ConnectionRefusedError
from sqlalchemy.exc import SQLAlchemyError

from bot.caller import CALLER_KEY, CUSTOMER_TOKEN_KEY, Caller, resolve_caller
from bot.channels.guard import Rejected, clean_text, neutralise_commands
from bot.config import WIDGET_LOCALES, ConfigError, load_channel_settings, load_settings, load_widget_settings
from bot.channels.typing import TypingSignal, typing_route
from bot.conversations.ownership import may_speak
from bot.conversations.turns import CustomerTyping, admit_turn
from bot.db import session_scope
from bot.documents.invoice_pdf import invoice_pdf
from bot.documents.links import PDF_PATH, pdf_link_target, sign_pdf_link
from bot.identity import ISSUER, TokenError, verify_customer_token
from bot.nlp.language import detect_language
from bot.replies import render
from bot.replies.language import DETECTED_KEY, METADATA_KEY as LOCALE_KEY

logger = logging.getLogger(__name__)

CHANNEL_NAME = "widget"
SESSION_REQUEST, SESSION_CONFIRM = "session_request", "session_confirm"
USER_EVENT, BOT_EVENT = "user_uttered", "bot_uttered"
# Typing, both ways: the customer's widget signals while they type (throttled); an agent's typing
# comes from the console through POST /webhooks/widget/typing and goes to the conversation's room.
CUSTOMER_TYPING_EVENT, AGENT_TYPING_EVENT = "user_typing", "agent_typing"
SESSION_AUDIENCE = "widget-session"  # an anonymous visitor's conversation, signed by us
ANONYMOUS_PREFIX, CUSTOMER_PREFIX = "widget-anon-", "widget-c-"


def say(key: str, locale: str, **values: Any) -> str:
    """A sentence of the channel itself, from the reply layer (bot/replies/catalogue/)."""
    return render(key, locale, **values).text


def customer_conversation_id(principal: str, secret: str) -> str:
    """A signed-in customer's widget conversation: derived from who they are, opaque in logs."""
    digest = hmac.new(secret.encode(), f"widget:{principal}".encode(), hashlib.sha256).hexdigest()
    return CUSTOMER_PREFIX + digest[:32]


def issue_session_token(conversation_id: str, secret: str, days: float) -> str:
    now = datetime.now(timezone.utc)
    return jwt.encode({"sub": conversation_id, "aud": SESSION_AUDIENCE, "iss": ISSUER, "iat": now,
                       "exp": now + timedelta(days=days)}, secret, algorithm="HS256")


def conversation_of_session(token: object, secret: str) -> str | None:
    """The anonymous conversation a session token we issued names; None for anything else."""
    if not isinstance(token, str) or len(token) > 1024:
        return None
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=SESSION_AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "sub", "aud", "iss"]})
    except Exception:  # noqa: BLE001  forged, expired, malformed: a new conversation
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) and subject.startswith(ANONYMOUS_PREFIX) else None


class RateLimiter:
    """At most `limit` messages per key in a sliding window of `seconds`. In this process's memory:
    with several Rasa servers each counts its own sockets (sticky sessions keep a conversation's
    sockets on one server in practice)."""

    def __init__(self, limit: int, seconds: float):
        self.limit, self.seconds = limit, seconds
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        seen = self._seen[key]
        while seen and seen[0] <= now - self.seconds:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        if len(self._seen) > 10_000:  # forget idle conversations
            for idle in [k for k, v in self._seen.items() if not v]:
                del self._seen[idle]
        return True


@dataclass(frozen=True)
class Viewer:
    """Who the messages of a turn are for: a signed-in customer gets invoice-PDF links minted for them."""

    customer_id: str
    locale: str
    base_url: str  # how their browser reaches this Rasa server


_PAYLOAD_ENTITIES = re.compile(r"^/\w+(\{.*\})$")


def invoices_offered(message: dict[str, Any]) -> list[str]:
    """The invoices a bot message is about, from its structured parts (never from its wording):
    `custom.reply.invoice`, or the `invoice_number` its buttons carry."""
    found: list[str] = []
    reply = (message.get("custom") or {}).get("reply") if isinstance(message.get("custom"), dict) else None
    if isinstance(reply, dict) and isinstance(reply.get("invoice"), str):
        found.append(reply["invoice"])
    for button in message.get("buttons") or []:
        match = _PAYLOAD_ENTITIES.match(str(button.get("payload", ""))) if isinstance(button, dict) else None
        try:
            number = json.loads(match.group(1)).get("invoice_number") if match else None
        except ValueError:
            number = None
        if isinstance(number, str) and number not in found:
            found.append(number)
    return found


def bot_message(message: dict[str, Any], viewer: Viewer | None = None) -> dict[str, Any]:
    """What the widget receives: Rasa's message shape, only the parts the widget renders, plus
    `custom.downloads` (fresh signed PDF links) for a signed-in customer."""
    sent: dict[str, Any] = {"text": message.get("text") or ""}
    buttons = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
               for b in message.get("buttons") or [] if isinstance(b, dict)]
    if buttons:
        sent["buttons"] = buttons
    custom = dict(message["custom"]) if isinstance(message.get("custom"), dict) else {}
    custom.pop("downloads", None)  # only the channel makes links
    if viewer is not None:
        downloads = [{"title": say("widget.download_pdf", viewer.locale), "filename": f"{number}.pdf",
                      "url": f"{viewer.base_url}{PDF_PATH}?lang={viewer.locale}&link="
                             f"{sign_pdf_link(viewer.customer_id, number)}"}
                     for number in invoices_offered(message)]
        if downloads:
            custom["downloads"] = downloads
    if custom:
        sent["custom"] = custom
    return sent


class WidgetOutput(OutputChannel):
    """Sends every bot message of a conversation to that conversation's room."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self, sio: AsyncServer, viewer: Viewer | None = None):
        self.sio = sio
        self.viewer = viewer
        self.sent = 0

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.sent += 1
        await self.sio.emit(BOT_EVENT, bot_message(message, self.viewer), room=recipient_id)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


@dataclass
class _Socket:
    """What this process knows about one open socket (python-socketio's per-socket session)."""

    token: str | None
    locale: str
    base_url: str
    conversation_id: str | None = None

    def viewer(self, caller: Caller) -> Viewer | None:
        return Viewer(caller.customer_id, self.locale, self.base_url) if caller.is_customer else None


def _history(tracker: Any, limit: int, viewer: Viewer | None) -> list[dict[str, Any]]:
    """The conversation as the widget shows it: user and bot messages, oldest first."""
    shown: list[dict[str, Any]] = []
    last_buttons: list[dict[str, str]] = []
    for event in tracker.events if tracker else []:
        if isinstance(event, UserUttered) and event.text:
            text = event.text
            if text.startswith("/"):  # a quick reply: show the button's title, as when it was clicked
                text = next((b["title"] for b in last_buttons if b["payload"] == text), None)
                if text is None:
                    continue
            shown.append({"sender": "user", "text": text})
        elif isinstance(event, BotUttered):
            message = bot_message({"text": event.text, **{k: v for k, v in (event.data or {}).items() if v}}, viewer)
            last_buttons = message.get("buttons", [])
            shown.append({"sender": "bot", **message})
    return shown[-limit:]


def _refusal(code: str, message: str) -> ConnectionRefusedError:
    """A refused connection: the client's `connect_error` gets `message` and `data` {error, message}."""
    return ConnectionRefusedError(message, {"error": code, "message": message})


def _may_speak(database_url: str, conversation_id: str, caller: Caller) -> bool:
    with session_scope(database_url) as session:
        return may_speak(session, conversation_id, caller)


class WidgetInput(InputChannel):
    """credentials.yml: `bot.channels.widget.WidgetInput:` (no options: settings come from the
    environment, bot/config.py)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self) -> None:
        self.sio: AsyncServer | None = None
        self.app: Any = None
        self.limiter: RateLimiter | None = None
        self.customer_typing = CustomerTyping()

    def get_output_channel(self) -> OutputChannel | None:
        """Used by Rasa's API (`trigger_intent ?output_channel=latest`): pushes reach the room."""
        return WidgetOutput(self.sio) if self.sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        widget = load_widget_settings()
        limits = load_channel_settings()
        self.limiter = RateLimiter(widget.rate_messages, widget.rate_seconds)
        # The Origin list is checked twice: by engine.io on every request (CORS), and at connect,
        # where a missing Origin (not a browser) is refused too.
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=list(widget.origins),
                          max_http_buffer_size=limits.max_request_bytes)
        self.sio = sio
        channel = self

        class _Blueprint(SocketBlueprint):
            def register(self, app: Any, options: Any) -> None:
                channel.app = app
                super().register(app, options)

        webhook = _Blueprint(sio, "/socket.io", f"widget_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/invoice.pdf", methods=["GET"])
        async def invoice_document(request: Request) -> HTTPResponse:
            return await self._invoice_pdf(request)

        @webhook.route("/typing", methods=["POST"])
        async def agent_typing(request: Request) -> HTTPResponse:
            return await typing_route(request, self._show_agent_typing)

        @sio.on("connect")
        async def connect(sid: str, environ: dict, auth: Any = None) -> None:
            await self._connect(sid, environ, auth)

        @sio.on(SESSION_REQUEST)
        async def session_request(sid: str, data: Any = None) -> None:
            await self._start_session(sid, data if isinstance(data, dict) else {})

        @sio.on(CUSTOMER_TYPING_EVENT)
        async def user_typing(sid: str, _data: Any = None) -> None:
            await self._customer_typing(sid)

        @sio.on(USER_EVENT)
        async def user_uttered(sid: str, data: Any = None) -> None:
            try:
                await self._receive(sid, data, on_new_message)
            except Exception:  # noqa: BLE001  the customer gets an answer whatever broke
                logger.exception("a widget turn failed")
                await self._tell(sid, "temporarily_unavailable")

        return webhook

    # --- connect: Origin and token ---------------------------------------------------------------

    async def _connect(self, sid: str, environ: dict, auth: Any) -> None:
        widget = load_widget_settings()
        origin = environ.get("HTTP_ORIGIN")
        auth = auth if isinstance(auth, dict) else {}
        hint = auth.get(LOCALE_KEY) if auth.get(LOCALE_KEY) in WIDGET_LOCALES else "en"
        if origin not in widget.origins:
            logger.warning("refused a widget connection from origin %r", origin)
            raise _refusal("origin_not_allowed", say("widget.origin_not_allowed", hint))
        token = auth.get("token") or None
        locale = hint
        if token is not None:
            try:
                claims = verify_customer_token(token, load_settings())
            except TokenError as exc:
                logger.info("refused a widget connection: token %s", exc.reason)
                key = "sign_in_expired" if exc.reason == "expired" else "widget.sign_in_invalid"
                raise _refusal(f"token_{exc.reason}", say(key, hint)) from None
            if claims.locale in WIDGET_LOCALES:
                locale = claims.locale
        scheme = "https" if environ.get("wsgi.url_scheme") == "https" else "http"
        base_url = f"{scheme}://{environ.get('HTTP_HOST', '127.0.0.1')}"
        await self.sio.save_session(sid, _Socket(token=token, locale=locale, base_url=base_url))

    # --- the conversation: derived on the server, history re-sent --------------------------------

    async def _caller(self, socket: _Socket) -> Caller:
        return resolve_caller({CUSTOMER_TOKEN_KEY: socket.token} if socket.token else {}, load_settings())

    async def _start_session(self, sid: str, data: dict[str, Any]) -> str | None:
        socket: _Socket = await self.sio.get_session(sid)
        settings, widget = load_settings(), load_widget_settings()
        caller = await self._caller(socket)
        session_token = None
        if socket.token and not caller.is_customer:  # it expired since connect
            await self._tell(sid, "sign_in_expired" if caller.token_problem == "expired" else "widget.sign_in_invalid",
                             socket.locale)
            return None
        if caller.is_customer:
            conversation_id = customer_conversation_id(caller.principal, settings.token_secret)
        else:  # anonymous: resume the session we signed for this browser, or start a new one
            conversation_id = conversation_of_session(data.get("session"), settings.token_secret) \
                or ANONYMOUS_PREFIX + secrets.token_hex(16)
            session_token = issue_session_token(conversation_id, settings.token_secret,
                                                widget.anonymous_session_days)
        try:
            allowed = await asyncio.to_thread(_may_speak, settings.database_url, conversation_id, caller)
        except SQLAlchemyError:
            logger.exception("could not check who owns a widget conversation")
            await self._tell(sid, "temporarily_unavailable", socket.locale)
            return None
        if not allowed:  # e.g. an anonymous session a customer then signed in to and took over
            conversation_id = ANONYMOUS_PREFIX + secrets.token_hex(16)
            session_token = issue_session_token(conversation_id, settings.token_secret, widget.anonymous_session_days)
        if socket.conversation_id and socket.conversation_id != conversation_id:
            await self.sio.leave_room(sid, socket.conversation_id)
        socket.conversation_id = conversation_id
        await self.sio.save_session(sid, socket)
        await self.sio.enter_room(sid, conversation_id)
        tracker = await self.app.ctx.agent.tracker_store.retrieve_full_tracker(conversation_id)
        await self.sio.emit(SESSION_CONFIRM, {
            "session": session_token, "signed_in": caller.is_customer, "locale": socket.locale,
            "history": _history(tracker, widget.history_messages, socket.viewer(caller))}, to=sid)
        return conversation_id

    # --- a message ---------------------------------------------------------------------------------

    async def _tell(self, sid: str, key: str, locale: str | None = None, **values: Any) -> None:
        """A sentence of the channel itself, to this socket only (not kept in the conversation)."""
        if locale is None:
            socket = await self.sio.get_session(sid)
            locale = socket.locale if isinstance(socket, _Socket) else "en"
        await self.sio.emit(BOT_EVENT, bot_message(render(key, locale, **values).message()), to=sid)

    async def _receive(self, sid: str, data: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        try:
            limits, settings = load_channel_settings(), load_settings()
        except ConfigError:
            logger.exception("channel settings")
            await self._tell(sid, "temporarily_unavailable")
            return
        socket: _Socket = await self.sio.get_session(sid)
        conversation_id = socket.conversation_id or await self._start_session(sid, {})
        if conversation_id is None:
            return
        caller = await self._caller(socket)  # verified again: a token expires during a conversation
        if socket.token and not caller.is_customer:
            await self._tell(sid, "sign_in_expired" if caller.token_problem == "expired" else "widget.sign_in_invalid")
            return
        if not self.limiter.allow(conversation_id):
            logger.info("too many messages in %s", conversation_id)
            await self._tell(sid, "widget.too_many", seconds=int(self.limiter.seconds), limit=self.limiter.limit)
            return
        raw = data.get("message") if isinstance(data, dict) else data
        try:
            cleaned = clean_text(raw, limits)
        except Rejected as exc:
            logger.info("rejected a widget message: %s", exc.code)
            await self._tell(sid, "widget.unreadable")
            return
        if cleaned.too_long:
            await self._tell(sid, "message_too_long", max_chars=limits.max_message_chars)
            return
        try:
            admission = await asyncio.to_thread(admit_turn, settings.database_url, conversation_id, caller)
            if not admission.allowed:
                await self._tell(sid, "conversation_not_yours")
                return
        except SQLAlchemyError:
            logger.exception("could not check who owns conversation %s", conversation_id)
            await self._tell(sid, "temporarily_unavailable")
            return
        agent = self.app.ctx.agent
        if cleaned.questions_only:
            await self._tell(sid, "message_questions_read", questions=_clip(cleaned.text, 300))
        elif cleaned.cut:
            await self._tell(sid, "message_cut", analysed_chars=limits.analysed_chars)
        output = WidgetOutput(self.sio, socket.viewer(caller))
        metadata = {CALLER_KEY: caller.to_metadata(), LOCALE_KEY: socket.locale}
        detected = detect_language(cleaned.text)
        if detected:
            metadata[DETECTED_KEY] = detected
        await on_new_message(UserMessage(neutralise_commands(cleaned.text, set(agent.domain.intents)), output,
                                         conversation_id, input_channel=CHANNEL_NAME, metadata=metadata))
        if output.sent == 0 and not admission.with_agent:
            # The action server is down or an action failed: Rasa goes on silently. (With an agent,
            # the bot is paused: silence is right, and the agent answers.)
            logger.warning("a widget turn in %s produced no reply", conversation_id)
            await self._tell(sid, "temporarily_unavailable")

    # --- typing, both ways ----------------------------------------------------------------------------

    async def _customer_typing(self, sid: str) -> None:
        """Tell the desk the customer is typing (shown in the console while an agent has the chat)."""
        socket = await self.sio.get_session(sid)
        if not isinstance(socket, _Socket) or socket.conversation_id is None:
            return  # no conversation opened on this socket: nothing to type in
        try:
            await asyncio.to_thread(self.customer_typing.signal, load_settings().database_url,
                                    socket.conversation_id)
        except (ConfigError, SQLAlchemyError):
            logger.exception("could not record that the customer is typing in %s", socket.conversation_id)

    async def _show_agent_typing(self, signal: TypingSignal) -> None:
        await self.sio.emit(AGENT_TYPING_EVENT, {"name": signal.name, "typing": signal.typing},
                            room=signal.conversation_id)

    # --- invoice PDFs, behind short-lived signed links ---------------------------------------------

    async def _invoice_pdf(self, request: Request) -> HTTPResponse:
        """A foreign, forged, expired or missing link: the same refusal, with nothing to tell them apart."""
        locale = request.args.get("lang") if request.args.get("lang") in WIDGET_LOCALES else "en"
        target = pdf_link_target(request.args.get("link"))
        document = None
        if target is not None:
            settings = load_settings()
            try:
                document = await asyncio.to_thread(_invoice_document, settings.database_url, *target, locale)
            except SQLAlchemyError:
                logger.exception("could not make an invoice PDF")
                return response.text(say("temporarily_unavailable", locale), status=503)
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        if document is None:
            return response.text(say("widget.pdf_link_refused", locale), status=404, headers=headers)
        return response.raw(document, content_type="application/pdf", headers={
            **headers, "Content-Disposition": f'attachment; filename="{target[1]}.pdf"'})


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(None, 1)[0] + "..."


def _invoice_document(database_url: str, customer_id: str, number: str, locale: str) -> bytes | None:
    with session_scope(database_url) as session:
        return invoice_pdf(session, customer_id, number, locale)

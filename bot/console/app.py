"""The console's web application: the JSON API over the handoff domain (bot/handoff/queue.py),
the live channel (live.py) and the page (page.py).

Every /api call but signing in and the page's sentences takes `Authorization: Bearer <agent
token>`; an agent reaches only their own partner's conversations, and another partner's is
answered like a missing one (404). Errors answer JSON `{"error": code, "message": ...}` worded in
the `lang` of the request, never a 500 for anything a caller can send. What the customer must see
after an agent acts is delivered at once, in the background (deliver_pending); the escalation
worker delivers whatever that could not (the Rasa server was restarting, say).
"""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timezone
from typing import Any, Callable, TypeVar

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.billing.invoices import customer_name
from bot.config import load_settings
from bot.console import live, page
from bot.console.auth import agent_of, bearer_token, sign_in
from bot.console.conversation import summary, transcript
from bot.console.invoices import customer_invoices
from bot.console.shared import CLOSING, DATABASE_URL, DELIVERIES, PUSH
from bot.conversations.push import ConversationPush, RasaApiError
from bot.db import session_scope
from bot.handoff import queue as desk
from bot.handoff.delivery import deliver_pending
from bot.handoff.models import Handoff, SupportAgent
from bot.identity import TokenError
from bot.replies.catalogue import Phrases
from bot.replies.language import LANGUAGES

logger = logging.getLogger(__name__)
T = TypeVar("T")

OPEN_PATHS = {"/api/sign-in", "/api/strings"}  # everything else under /api/ needs an agent token
ERROR_STATUS = {"not_found": 404, "already_claimed": 409, "not_yours": 409, "not_open": 409,
                "empty": 400, "too_long": 400}
MAX_BODY_BYTES = 64 * 1024
MAX_CREDENTIAL_CHARS = 200
HANDOFF = r"/api/handoffs/{id:\d{1,12}}"


def language(request: web.Request) -> str:
    """The agent's chosen language (`?lang=`): the console's sentences, amounts and dates."""
    chosen = request.query.get("lang")
    return chosen if chosen in LANGUAGES else "en"


def error(request: web.Request, status: int, code: str) -> web.Response:
    message = Phrases(language(request)).say(f"console.error.{code}", max_chars=desk.MAX_AGENT_MESSAGE_CHARS)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return web.json_response({"error": code, "message": message}, status=status, headers=headers)


@web.middleware
async def api_guard(request: web.Request, handler: Callable) -> web.StreamResponse:
    """The signed-in agent on every API call, and errors as JSON."""
    api = request.path.startswith("/api/")
    try:
        if api and request.path not in OPEN_PATHS:
            try:
                request["agent"] = await asyncio.to_thread(agent_of, request.app[DATABASE_URL],
                                                           bearer_token(request))
            except TokenError:
                return error(request, 401, "unauthorized")
        return await handler(request)
    except web.HTTPException as exc:
        if not api or exc.status < 400:
            raise
        return error(request, exc.status, "not_found" if exc.status in (404, 405) else "bad_request")
    except desk.HandoffError as exc:
        return error(request, ERROR_STATUS.get(exc.code, 409), exc.code)
    except SQLAlchemyError:
        logger.exception("the console could not use the database for %s %s", request.method, request.path)
        return error(request, 503, "unavailable")
    except Exception:  # noqa: BLE001  logged; the caller gets JSON, not a stack trace
        logger.exception("the console failed on %s %s", request.method, request.path)
        return error(request, 500, "internal")


# --- helpers -----------------------------------------------------------------------------------------

async def as_agent(request: web.Request, work: Callable[[Session, SupportAgent], T]) -> T:
    """`work` in one transaction, as the signed-in agent, in a thread (the database blocks)."""
    url, agent_id = request.app[DATABASE_URL], request["agent"].id

    def run() -> T:
        with session_scope(url) as session:
            return work(session, session.get(SupportAgent, agent_id))

    return await asyncio.to_thread(run)


def handoff_id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; 400 for anything else."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise web.HTTPBadRequest()
    try:
        body = json.loads(await request.read() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest() from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest()
    return body


def entry_json(session: Session, entry: desk.QueueEntry, agent_id: int, now: datetime | None = None) -> dict[str, Any]:
    handoff: Handoff = entry.handoff
    now = now or datetime.now(timezone.utc)
    typing = (handoff.customer_typing_at is not None
              and (now - desk.aware(handoff.customer_typing_at)).total_seconds() < desk.TYPING_SECONDS)
    return {
        "id": handoff.id, "conversation_id": handoff.conversation_id, "customer_id": handoff.customer_id,
        "customer": customer_name(session, handoff.customer_id) if handoff.customer_id else None,
        "requester": handoff.requester, "channel": handoff.channel, "status": handoff.status,
        "reason": handoff.reason, "detail": handoff.detail, "locale": handoff.locale,
        "requested_at": desk.aware(handoff.requested_at).isoformat(timespec="seconds"),
        "waiting_seconds": entry.waiting_seconds, "clock_seconds": entry.clock_seconds,
        "target_seconds": entry.target_seconds, "seconds_to_breach": entry.seconds_to_breach,
        "breached": entry.breached, "agent": entry.agent_name, "mine": handoff.agent_id == agent_id,
        "ahead": entry.ahead, "customer_typing": typing,
    }


def deliver_soon(app: web.Application, handoff: int) -> None:
    """Deliver the handoff's outbox now, without holding up the agent's answer."""
    push = app[PUSH]
    if push is None:
        return
    task = asyncio.get_running_loop().create_task(
        asyncio.to_thread(deliver_pending, app[DATABASE_URL], push, handoff))
    app[DELIVERIES].add(task)

    def done(finished: asyncio.Task) -> None:
        app[DELIVERIES].discard(finished)
        if not finished.cancelled() and finished.exception() is not None:
            logger.warning("delivering handoff %d failed (the worker tries again): %r", handoff, finished.exception())

    task.add_done_callback(done)


# --- the API ---------------------------------------------------------------------------------------

async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def post_sign_in(request: web.Request) -> web.Response:
    body = await json_body(request)
    login, password = body.get("login"), body.get("password")
    if not (isinstance(login, str) and isinstance(password, str) and login.strip() and password) \
            or len(login) > MAX_CREDENTIAL_CHARS or len(password) > MAX_CREDENTIAL_CHARS:
        raise web.HTTPBadRequest()
    signed = await asyncio.to_thread(sign_in, request.app[DATABASE_URL], login, password)
    if signed is None:
        return error(request, 401, "bad_credentials")
    token, agent = signed
    return web.json_response({"token": token, "agent": agent.to_json()})


async def get_me(request: web.Request) -> web.Response:
    return web.json_response({"agent": request["agent"].to_json()})


async def get_handoffs(request: web.Request) -> web.Response:
    def work(session: Session, agent: SupportAgent) -> dict[str, Any]:
        now = datetime.now(timezone.utc)
        entries = desk.queue(session, agent.partner_id, now)
        return {"handoffs": [entry_json(session, entry, agent.id, now) for entry in entries],
                "breaches": sum(1 for entry in entries if entry.breached)}

    return web.json_response(await as_agent(request, work))


async def get_handoff(request: web.Request) -> web.Response:
    wanted, push = handoff_id(request), request.app[PUSH]

    def find(session: Session, agent: SupportAgent) -> tuple[dict[str, Any], str, str | None]:
        handoff = desk.agents_handoff(session, agent, wanted)
        return entry_json(session, desk.entry_for(session, handoff), agent.id), handoff.conversation_id, \
            handoff.customer_id

    entry, conversation_id, customer_id = await as_agent(request, find)
    events = None
    if push is not None:
        try:
            events = await asyncio.to_thread(push.client.conversation_events, conversation_id)
        except RasaApiError as exc:
            logger.warning("could not read the transcript of handoff %d: %s", wanted, exc)
    phrases = Phrases(language(request))
    about = await as_agent(request, lambda session, _agent: summary(session, customer_id, events, phrases))
    return web.json_response({"handoff": entry, "transcript": None if events is None else transcript(events),
                              "summary": about})


async def post_claim(request: web.Request) -> web.Response:
    wanted = handoff_id(request)
    entry = await as_agent(request, lambda session, agent: entry_json(
        session, desk.entry_for(session, desk.claim(session, agent, wanted)), agent.id))
    deliver_soon(request.app, wanted)
    return web.json_response({"handoff": entry})


async def post_message(request: web.Request) -> web.Response:
    wanted = handoff_id(request)
    text = (await json_body(request)).get("text")
    if not isinstance(text, str):
        raise web.HTTPBadRequest()

    def work(session: Session, agent: SupportAgent) -> dict[str, Any]:
        delivery = desk.reply(session, agent, wanted, text)
        entry = entry_json(session, desk.entry_for(session, session.get(Handoff, wanted)), agent.id)
        return {"message": {"id": delivery.id, "text": json.loads(delivery.message)["text"]}, "handoff": entry}

    answer = await as_agent(request, work)
    deliver_soon(request.app, wanted)
    return web.json_response(answer)


async def post_typing(request: web.Request) -> web.Response:
    """The agent is typing (`{"typing": false}`: stopped). Shown where the customer's channel can."""
    wanted, push = handoff_id(request), request.app[PUSH]
    body = await json_body(request) if request.can_read_body else {}
    typing = body.get("typing", True)
    if not isinstance(typing, bool):
        raise web.HTTPBadRequest()

    def work(session: Session, agent: SupportAgent) -> tuple[str, str, str]:
        handoff = desk.agent_typing(session, agent, wanted)
        if not typing:
            handoff.agent_typing_at = None
        return handoff.conversation_id, handoff.channel, agent.name

    conversation_id, channel, name = await as_agent(request, work)
    shown = False
    if push is not None:
        try:
            shown = await asyncio.to_thread(push.typing, conversation_id, channel, name, typing)
        except RasaApiError as exc:  # best effort: typing is a hint, not a message
            logger.info("could not show typing in handoff %d: %s", wanted, exc)
    return web.json_response({"shown": shown})


def _ending(end: Callable[[Session, SupportAgent, int], Handoff]) -> Callable:
    async def handler(request: web.Request) -> web.Response:
        wanted = handoff_id(request)
        entry = await as_agent(request, lambda session, agent: entry_json(
            session, desk.entry_for(session, end(session, agent, wanted)), agent.id))
        deliver_soon(request.app, wanted)
        return web.json_response({"handoff": entry})

    return handler


async def get_invoices(request: web.Request) -> web.Response:
    wanted, phrases = handoff_id(request), Phrases(language(request))
    today = load_settings().today()

    def work(session: Session, agent: SupportAgent) -> dict[str, Any]:
        handoff = desk.agents_handoff(session, agent, wanted)
        if not handoff.customer_id:  # partner staff asking from Slack or Teams: no customer account
            return {"customer_id": None, "customer": None, "invoices": []}
        return {"customer_id": handoff.customer_id, "customer": customer_name(session, handoff.customer_id),
                "invoices": customer_invoices(session, handoff.customer_id, phrases, today)}

    return web.json_response(await as_agent(request, work))


# --- the application -------------------------------------------------------------------------------

def build_app(database_url: str, push: ConversationPush | None) -> web.Application:
    """`push` delivers into conversations and reads transcripts (None: no Rasa API token)."""
    app = web.Application(middlewares=[api_guard], client_max_size=MAX_BODY_BYTES)
    app[DATABASE_URL] = database_url
    app[PUSH] = push
    app[DELIVERIES] = set()
    app[CLOSING] = asyncio.Event()
    router = app.router
    router.add_get("/health", health)
    router.add_post("/api/sign-in", post_sign_in)
    router.add_get("/api/strings", page.strings)
    router.add_get("/api/me", get_me)
    router.add_get("/api/handoffs", get_handoffs)
    router.add_get(HANDOFF, get_handoff)
    router.add_post(HANDOFF + "/claim", post_claim)
    router.add_post(HANDOFF + "/messages", post_message)
    router.add_post(HANDOFF + "/typing", post_typing)
    router.add_post(HANDOFF + "/release", _ending(desk.release))
    router.add_post(HANDOFF + "/close", _ending(desk.close))
    router.add_get(HANDOFF + "/invoices", get_invoices)
    router.add_get("/api/events", live.events)
    page.add_routes(router)

    async def stop_streams(app: web.Application) -> None:
        app[CLOSING].set()

    async def finish_deliveries(app: web.Application) -> None:
        if app[DELIVERIES]:
            await asyncio.wait(set(app[DELIVERIES]), timeout=20)

    app.on_shutdown.append(stop_streams)
    app.on_cleanup.append(finish_deliveries)
    return app

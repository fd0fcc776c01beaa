"""The live channel: GET /api/events[?handoff=<id>], server-sent events read with fetch() (the
browser's EventSource cannot send the Authorization header).

Each stream follows the database, not this process's memory, so a change made by any console,
Rasa server or worker shows: the partner's open handoffs (status, agent, `updated_at`, typing) and,
for the conversation the agent has open, its handoff, its delivered outbox and the length of its
Rasa transcript (a customer's message lands there whichever channel it came from).

Events: `queue` (fetch GET /api/handoffs again), `conversation` (fetch GET /api/handoffs/{id}),
`signed_out` (the token expired or the agent was deactivated; the stream ends).
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from bot.console.auth import bearer_token
from bot.console.shared import CLOSING, DATABASE_URL, PUSH
from bot.conversations.push import RasaApiError
from bot.db import session_scope
from bot.handoff import queue as desk
from bot.handoff.agents import agent_of_token
from bot.handoff.models import OPEN_STATUSES, Handoff, HandoffDelivery
from bot.identity import TokenError

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
TRANSCRIPT_EVERY = 2  # polls between two reads of the Rasa tracker
KEEPALIVE_SECONDS = 15.0


def _snapshot(database_url: str, token: str | None, handoff_id: int | None) -> tuple[Any, Any]:
    """What the agent's queue and open conversation look like now; TokenError once signed out."""
    with session_scope(database_url) as session:
        agent = agent_of_token(session, token)
        queue = tuple(sorted(tuple(row) for row in session.execute(
            select(Handoff.id, Handoff.status, Handoff.agent_id, Handoff.updated_at, Handoff.customer_typing_at)
            .where(Handoff.partner_id == agent.partner_id, Handoff.status.in_(OPEN_STATUSES)))))
        if handoff_id is None:
            return queue, None
        handoff = desk.agents_handoff(session, agent, handoff_id)
        delivered = session.scalar(select(func.count()).select_from(HandoffDelivery).where(
            HandoffDelivery.handoff_id == handoff_id, HandoffDelivery.in_tracker_at.is_not(None)))
        return queue, (handoff.status, handoff.agent_id, handoff.updated_at, handoff.customer_typing_at, delivered)


def _conversation_of(database_url: str, token: str | None, handoff_id: int) -> str:
    with session_scope(database_url) as session:
        return desk.agents_handoff(session, agent_of_token(session, token), handoff_id).conversation_id


def _frame(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


async def events(request: web.Request) -> web.StreamResponse:
    app = request.app
    url, token, push, closing = app[DATABASE_URL], bearer_token(request), app[PUSH], app[CLOSING]
    wanted = request.query.get("handoff")
    handoff_id = None
    if wanted is not None:
        if not wanted.isdigit() or len(wanted) > 12:
            raise web.HTTPBadRequest()
        handoff_id = int(wanted)
    # Before the stream starts, so another partner's or a missing conversation answers 404.
    conversation_id = await asyncio.to_thread(_conversation_of, url, token, handoff_id) if handoff_id else None

    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    await response.write(_frame("ready", {"handoff": handoff_id}))
    seen_queue = seen_conversation = seen_transcript = None
    polls, quiet_since = 0, asyncio.get_running_loop().time()
    try:
        while not closing.is_set() and request.transport is not None and not request.transport.is_closing():
            frames = []
            try:
                queue, conversation = await asyncio.to_thread(_snapshot, url, token, handoff_id)
            except TokenError:
                await response.write(_frame("signed_out", {}))
                break
            except desk.HandoffError:  # no longer this agent's partner's: stop following it
                await response.write(_frame("conversation", {"handoff": handoff_id}))
                handoff_id = conversation_id = seen_conversation = seen_transcript = None
                continue
            except SQLAlchemyError as exc:  # locked or down for a moment: look again next time
                logger.warning("the live channel could not read the database: %s", exc)
                queue, conversation = seen_queue, seen_conversation
            if seen_queue is not None and queue != seen_queue:
                frames.append(_frame("queue", {}))
            seen_queue = queue
            length = seen_transcript
            if conversation_id and push is not None and polls % TRANSCRIPT_EVERY == 0:
                try:
                    length = len(await asyncio.to_thread(push.client.conversation_events, conversation_id))
                except RasaApiError:
                    pass  # the Rasa server is restarting: the transcript is read again next time
            if (seen_conversation is not None and conversation != seen_conversation) or \
                    (seen_transcript is not None and length != seen_transcript):
                frames.append(_frame("conversation", {"handoff": handoff_id}))
            seen_conversation, seen_transcript = conversation, length
            now = asyncio.get_running_loop().time()
            if not frames and now - quiet_since >= KEEPALIVE_SECONDS:
                frames.append(b": keep-alive\n\n")
            for frame in frames:
                await response.write(frame)
                quiet_since = now
            polls += 1
            try:
                await asyncio.wait_for(closing.wait(), timeout=POLL_SECONDS)
            except asyncio.TimeoutError:
                pass
    except ConnectionResetError:
        pass  # the agent closed the page or switched conversations
    return response

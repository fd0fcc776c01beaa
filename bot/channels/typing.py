"""The route a channel offers for "an agent is typing": POST /webhooks/<channel>/typing.

Called by the conversation-push component (bot/conversations/push.py, through RasaApiClient)
from the console's process, so the signal reaches the channel where the customer's connection or
the platform client lives: the widget's socket room, the Teams connector. Behind the Rasa API
token (`Authorization: Bearer <RASA_API_TOKEN>`, compared in constant time): without one
configured, every call is refused.

Body: {"conversation_id": str, "name": str, "typing": bool}. Answers 200 {"delivered": true},
401 (no or wrong token), 400 (a body that isn't that), 404 (nowhere to show it), 502 (the
platform refused it).
"""
from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import ConfigError, load_settings

logger = logging.getLogger(__name__)

MAX_NAME_CHARS = 120
MAX_CONVERSATION_ID_CHARS = 128


@dataclass(frozen=True)
class TypingSignal:
    conversation_id: str
    name: str
    typing: bool


class NotShown(Exception):
    """The signal could not be shown: `status` 404 (no such place) or 502 (the platform refused)."""

    def __init__(self, status: int, error: str):
        super().__init__(error)
        self.status, self.error = status, error


def _authorised(request: Request) -> bool:
    try:
        expected = load_settings().rasa_api_token
    except ConfigError:
        logger.exception("settings")
        return False
    given = request.headers.get("Authorization") or ""
    if not expected or not given.startswith("Bearer "):
        return False
    return hmac.compare_digest(given[len("Bearer "):].strip().encode(), expected.encode())


def typing_signal(body: bytes) -> TypingSignal | None:
    """The signal a body carries; None for anything else."""
    try:
        parsed: Any = json.loads(body.decode("utf-8")) if len(body) <= 4096 else None
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(parsed, dict):
        return None
    conversation_id, name, typing = parsed.get("conversation_id"), parsed.get("name"), parsed.get("typing", True)
    if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= MAX_CONVERSATION_ID_CHARS:
        return None
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS or not isinstance(typing, bool):
        return None
    return TypingSignal(conversation_id, name.strip(), typing)


async def typing_route(request: Request, show: Callable[[TypingSignal], Awaitable[None]]) -> HTTPResponse:
    if not _authorised(request):
        return response.json({"error": "unauthorized", "message": "Authorization: Bearer <RASA_API_TOKEN> is required."},
                             status=401)
    signal = typing_signal(request.body or b"")
    if signal is None:
        return response.json({"error": "invalid_body", "message": 'Send {"conversation_id": str, "name": str, '
                                                                   '"typing": bool}.'}, status=400)
    try:
        await show(signal)
    except NotShown as exc:
        return response.json({"error": exc.error}, status=exc.status)
    return response.json({"delivered": True})

"""Client for our own Rasa server's HTTP API: pushing news into a customer's conversation.

Why: when 21Vianet closes a ticket, the customer is told in the conversation they came from.
`trigger_intent` runs the bot's reaction inside that conversation: a connected widget gets it
at once, and it stays in the conversation's history for when the customer next opens the chat.
The API is enabled only on localhost and only with RASA_API_TOKEN (see bot/launcher.py).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

logger = logging.getLogger(__name__)


class RasaApiError(Exception):
    """The push did not happen (server down, refused, or answered with an error)."""


def _path(conversation_id: str) -> str:
    """The conversation id as a path segment. ":" and "@" stay as they are (RFC 3986 allows them in
    a segment): Sanic does not decode the segment, so "slack%3AT0...%3AU0..." would be another,
    empty conversation. Slack and Teams conversation ids contain ":"."""
    return quote(conversation_id, safe=":@")


@dataclass(frozen=True)
class RasaApiClient:
    base_url: str
    token: str
    timeout: tuple[float, float] = (3.0, 15.0)

    def trigger_intent(self, conversation_id: str, intent: str, entities: dict[str, Any] | None = None) -> list[dict]:
        """Inject `intent` into the conversation; return the bot messages it produced."""
        url = (f"{self.base_url.rstrip('/')}/conversations/{_path(conversation_id)}/trigger_intent"
               "?output_channel=latest")
        try:
            response = requests.post(url, params={"token": self.token}, timeout=self.timeout,
                                     json={"name": intent, "entities": entities or {}})
        except requests.RequestException as exc:
            raise RasaApiError(f"Rasa server unreachable: {type(exc).__name__}") from exc
        if not response.ok:
            raise RasaApiError(f"Rasa server answered {response.status_code} to trigger_intent")
        try:
            body = response.json()
        except ValueError as exc:
            raise RasaApiError("Rasa server answered with a non-JSON body") from exc
        return body.get("messages") or [] if isinstance(body, dict) else []

    def conversation_state(self, conversation_id: str) -> tuple[str, str | None]:
        """(the channel the customer last wrote from, the form active now). ("", None) for a
        conversation that doesn't exist."""
        url = f"{self.base_url.rstrip('/')}/conversations/{_path(conversation_id)}/tracker"
        try:
            response = requests.get(url, params={"token": self.token, "include_events": "NONE"}, timeout=self.timeout)
            response.raise_for_status()
            body = response.json()
            return body.get("latest_input_channel") or "", (body.get("active_loop") or {}).get("name")
        except (requests.RequestException, ValueError, AttributeError) as exc:
            raise RasaApiError(f"could not read the conversation: {type(exc).__name__}") from exc


RESOLVED_INTENT = "EXTERNAL_escalation_resolved"
FAPIAO_NEWS_INTENT = "EXTERNAL_fapiao_news"
# Channels that answer a request and cannot push a message later: news for a conversation on
# one of these is shown on the customer's next signed-in turn instead (actions.base).
REQUEST_RESPONSE_CHANNELS = {"rest", "cmdline", ""}


def push_resolution(notification) -> bool:
    """The escalation worker's notify hook (ESCALATION_NOTIFY_HOOK): tell the conversation the
    escalation came from that it is resolved. False leaves the notification pending: it is
    tried again, and in any case shown on the customer's next turn in that conversation."""
    from bot.config import load_settings
    from bot.identity import issue_push_token

    settings = load_settings()
    if not notification.conversation_id or not settings.rasa_api_token:
        return False
    client = RasaApiClient(settings.rasa_url, settings.rasa_api_token)
    try:
        channel, active_form = client.conversation_state(notification.conversation_id)
        if channel in REQUEST_RESPONSE_CHANNELS or active_form:
            return False  # shown on the customer's next turn instead, never in the middle of a form
        client.trigger_intent(notification.conversation_id, RESOLVED_INTENT, {
            "escalation_reference": notification.reference,
            "push_token": issue_push_token(notification.conversation_id, notification.reference, settings)})
    except RasaApiError as exc:
        logger.warning("could not push the resolution of %s: %s", notification.reference, exc)
        return False
    return True


def push_fapiao_news(notice) -> bool:
    """Tell the conversation a fapiao request came from that staff issued or declined it (a
    `bot.fapiao.news.NoticeToPush`). False leaves it pending: tried again, and in any case shown on
    the customer's next turn there. True once the conversation announced it (and marked it shown)."""
    from bot.config import load_settings
    from bot.fapiao.news import push_reference
    from bot.identity import issue_push_token

    settings = load_settings()
    if not settings.rasa_api_token:
        return False
    client = RasaApiClient(settings.rasa_url, settings.rasa_api_token)
    reference = push_reference(notice.id)
    try:
        channel, active_form = client.conversation_state(notice.conversation_id)
        if channel in REQUEST_RESPONSE_CHANNELS or active_form:
            return False
        client.trigger_intent(notice.conversation_id, FAPIAO_NEWS_INTENT, {
            "fapiao_notice": str(notice.id),
            "push_token": issue_push_token(notice.conversation_id, reference, settings)})
    except RasaApiError as exc:
        logger.warning("could not push fapiao notice %d: %s", notice.id, exc)
        return False
    # Rasa answers a push through the widget, Slack or Teams without the messages it sent; the
    # announcing action marks the notice shown when it told it (not when someone else is signed in).
    return _fapiao_notice_shown(settings.database_url, notice.id)


def _fapiao_notice_shown(database_url: str, notice_id: int) -> bool:
    from bot.db import session_scope
    from bot.fapiao.models import FapiaoNotice

    with session_scope(database_url) as session:
        notice = session.get(FapiaoNotice, notice_id)
        return notice is not None and notice.shown_at is not None

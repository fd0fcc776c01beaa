"""Client for our own Rasa server's HTTP API (bot/conversations/push.py uses it to push into conversations).

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

    def append_events(self, conversation_id: str, events: list[dict[str, Any]], deliver: bool) -> None:
        """Append events to the conversation (the transcript). With `deliver`, bot messages among
        them are also sent through the channel the customer last wrote from (Rasa's side effects)."""
        url = f"{self.base_url.rstrip('/')}/conversations/{_path(conversation_id)}/tracker/events"
        params = {"token": self.token, "include_events": "NONE"}
        if deliver:
            params.update(output_channel="latest", execute_side_effects="true")
        try:
            response = requests.post(url, params=params, json=events, timeout=self.timeout)
        except requests.RequestException as exc:
            raise RasaApiError(f"Rasa server unreachable: {type(exc).__name__}") from exc
        if not response.ok:
            raise RasaApiError(f"Rasa server answered {response.status_code} to appending events")

    def channel_typing(self, channel: str, conversation_id: str, name: str, typing: bool) -> None:
        """Show (or stop showing) "<name> is typing" in a conversation: the channel's own route on the
        Rasa server (the widget's sockets, Teams' connector), behind the same API token."""
        url = f"{self.base_url.rstrip('/')}/webhooks/{quote(channel, safe='')}/typing"
        try:
            response = requests.post(url, headers={"Authorization": f"Bearer {self.token}"}, timeout=self.timeout,
                                     json={"conversation_id": conversation_id, "name": name, "typing": typing})
        except requests.RequestException as exc:
            raise RasaApiError(f"Rasa server unreachable: {type(exc).__name__}") from exc
        if not response.ok:
            raise RasaApiError(f"Rasa server answered {response.status_code} to a typing signal")

    def conversation_events(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every event of the conversation, oldest first (the transcript, for the agent console)."""
        url = f"{self.base_url.rstrip('/')}/conversations/{_path(conversation_id)}/tracker"
        try:
            response = requests.get(url, params={"token": self.token, "include_events": "ALL"}, timeout=self.timeout)
            response.raise_for_status()
            events = response.json().get("events")
        except (requests.RequestException, ValueError, AttributeError) as exc:
            raise RasaApiError(f"could not read the conversation: {type(exc).__name__}") from exc
        return events if isinstance(events, list) else []

    def conversation_state(self, conversation_id: str) -> "ConversationState":
        """Where the conversation stands: the channel the customer last wrote from, the form active
        now, and whether the bot is paused (an agent owns it). Empty for a conversation that doesn't exist."""
        url = f"{self.base_url.rstrip('/')}/conversations/{_path(conversation_id)}/tracker"
        try:
            response = requests.get(url, params={"token": self.token, "include_events": "NONE"}, timeout=self.timeout)
            response.raise_for_status()
            body = response.json()
            return ConversationState(body.get("latest_input_channel") or "",
                                     (body.get("active_loop") or {}).get("name"), bool(body.get("paused")))
        except (requests.RequestException, ValueError, AttributeError) as exc:
            raise RasaApiError(f"could not read the conversation: {type(exc).__name__}") from exc


@dataclass(frozen=True)
class ConversationState:
    channel: str
    active_form: str | None
    paused: bool


RESOLVED_INTENT = "EXTERNAL_escalation_resolved"
FAPIAO_NEWS_INTENT = "EXTERNAL_fapiao_news"
# Channels that answer a request and cannot push a message later: news for a conversation on
# one of these is shown on the customer's next signed-in turn instead (actions.base).
REQUEST_RESPONSE_CHANNELS = {"rest", "cmdline", ""}

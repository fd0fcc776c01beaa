"""The one conversation-push component: everything said into a conversation from outside a turn.

Escalation news, fapiao news and a support agent's words all reach the customer here, through our
Rasa server's HTTP API, so they are in the conversation's tracker (the transcript, in order) and
go out through the channel the customer last wrote from: the widget's socket room, Slack's Web API
(chat.postMessage to the stored address) or the Bot Framework connector (the stored serviceUrl).
Not through Rasa's REST output channel, which drops Bot Framework replies. Customers on REST,
which cannot push, get what was pushed with their next request (bot/channels/rest.py).

News runs the bot's reaction (`trigger_intent`); an agent's words and the desk's notices are
appended as bot messages, with Rasa's ConversationPaused and ConversationResumed around the
time an agent owns the conversation. With several Rasa servers, any of them takes the API call;
the widget's socket held by another one is reached through socket.io's message queue (README).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.integrations.rasa_api import (FAPIAO_NEWS_INTENT, REQUEST_RESPONSE_CHANNELS, RESOLVED_INTENT,
                                       RasaApiClient, RasaApiError)

logger = logging.getLogger(__name__)
TYPING_CHANNELS = ("widget", "botframework")  # Rasa input channels that show an agent typing

__all__ = ["ConversationPush", "RasaApiError", "push_fapiao_news", "push_resolution"]


@dataclass(frozen=True)
class ConversationPush:
    client: RasaApiClient

    @classmethod
    def from_settings(cls) -> "ConversationPush | None":
        """None when the Rasa API is not reachable by us (no RASA_API_TOKEN)."""
        from bot.config import load_settings

        settings = load_settings()
        return cls(RasaApiClient(settings.rasa_url, settings.rasa_api_token)) if settings.rasa_api_token else None

    @staticmethod
    def can_push(channel: str) -> bool:
        return channel not in REQUEST_RESPONSE_CHANNELS

    def pause(self, conversation_id: str) -> None:
        """The bot says nothing in the conversation until resumed (an agent owns it)."""
        self.client.append_events(conversation_id, [{"event": "pause"}], deliver=False)

    def resume(self, conversation_id: str) -> None:
        self.client.append_events(conversation_id, [{"event": "resume"}], deliver=False)

    def say(self, conversation_id: str, message: dict[str, Any], channel: str) -> bool:
        """A message into the conversation (Rasa's message shape: text, buttons, custom). True when
        it was also sent to the customer; False on a channel that cannot push (REST), where it
        waits in the transcript for their next request."""
        event = {"event": "bot", "text": message.get("text") or "",
                 "data": {k: v for k, v in message.items() if k in ("buttons", "custom") and v}}
        deliver = self.can_push(channel)
        self.client.append_events(conversation_id, [event], deliver=deliver)
        return deliver

    def typing(self, conversation_id: str, channel: str, name: str, typing: bool = True) -> bool:
        """Show that an agent is typing, where the channel can show it: the widget's room, Teams'
        typing indicator at the conversation's stored address. Both through the channel's own
        route on the Rasa server (bot/channels/typing.py), where its socket and its Bot Framework
        client live. False: this channel cannot (Slack: its Web API has no typing indicator for
        bots, only the retired RTM API had one; REST cannot push)."""
        if channel not in TYPING_CHANNELS:
            return False
        self.client.channel_typing(channel, conversation_id, name, typing)
        return True

    def announce(self, conversation_id: str, intent: str, entities: dict[str, Any]) -> bool:
        """Run the bot's reaction to news. False (not now) on a channel that cannot push, in the
        middle of a form, or while an agent owns the conversation (the paused bot would say nothing):
        the news is then shown on the customer's next turn with the bot."""
        state = self.client.conversation_state(conversation_id)
        if not self.can_push(state.channel) or state.active_form or state.paused:
            return False
        self.client.trigger_intent(conversation_id, intent, entities)
        return True


def push_resolution(notification) -> bool:
    """The escalation worker's notify hook (ESCALATION_NOTIFY_HOOK): tell the conversation the
    escalation came from that it is resolved. False leaves the notification pending: it is
    tried again, and in any case shown on the customer's next turn in that conversation."""
    from bot.config import load_settings
    from bot.identity import issue_push_token

    push = ConversationPush.from_settings()
    if not notification.conversation_id or push is None:
        return False
    try:
        return push.announce(notification.conversation_id, RESOLVED_INTENT, {
            "escalation_reference": notification.reference,
            "push_token": issue_push_token(notification.conversation_id, notification.reference, load_settings())})
    except RasaApiError as exc:
        logger.warning("could not push the resolution of %s: %s", notification.reference, exc)
        return False


def push_fapiao_news(notice) -> bool:
    """Tell the conversation a fapiao request came from that staff issued or declined it (a
    `bot.fapiao.news.NoticeToPush`). False leaves it pending: tried again, and in any case shown on
    the customer's next turn there. True once the conversation announced it (and marked it shown)."""
    from bot.config import load_settings
    from bot.fapiao.news import push_reference
    from bot.identity import issue_push_token

    push = ConversationPush.from_settings()
    if push is None:
        return False
    settings = load_settings()
    reference = push_reference(notice.id)
    try:
        if not push.announce(notice.conversation_id, FAPIAO_NEWS_INTENT, {
                "fapiao_notice": str(notice.id),
                "push_token": issue_push_token(notice.conversation_id, reference, settings)}):
            return False
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

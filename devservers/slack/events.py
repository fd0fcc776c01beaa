"""What Slack sends to the bot, built and signed as Slack does: Events API callbacks (a DM
`message`, an `app_mention` in a channel) and interactive `block_actions` payloads (a button
click), signed with the app's signing secret (v0, HMAC-SHA256 of `v0:{timestamp}:{body}`).

Used by `python -m devservers.slack say` / `click` and by the tests; the bot verifies these
signatures in bot/channels/slack.py with its own code, never this module's.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from devservers.slack.server import BOT_ID, BOT_USER_ID, TEAM_ID


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_headers(secret: str, body: bytes, timestamp: float | None = None, content_type: str = "application/json",
                   retry_num: int | None = None, retry_reason: str = "http_timeout") -> dict[str, str]:
    stamp = str(int(time.time() if timestamp is None else timestamp))
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
               "X-Slack-Signature": signature(secret, stamp, body)}
    if retry_num is not None:
        headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason})
    return headers


def new_ts() -> str:
    return f"{time.time():.6f}"


def message_event(user: str, text: str, *, team: str = TEAM_ID, channel: str | None = None,
                  thread_ts: str | None = None, ts: str | None = None, event_id: str | None = None,
                  mention: bool | None = None) -> dict[str, Any]:
    """An event callback: a DM (`message`, channel_type im) by default; in a channel (`C...`) an
    `app_mention` whose text starts with the bot's mention, as Slack delivers it."""
    channel = channel or "D" + user[1:]
    in_dm = channel.startswith("D")
    mention = (not in_dm) if mention is None else mention
    event: dict[str, Any] = {
        "type": "app_mention" if mention else "message", "user": user, "team": team,
        "text": f"<@{BOT_USER_ID}> {text}" if mention else text, "ts": ts or new_ts(), "channel": channel,
        "event_ts": ts or new_ts(), **({"channel_type": "im"} if in_dm else {"channel_type": "channel"}),
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {"token": "unused-verification-token", "team_id": team, "api_app_id": "A0LAKEAPP", "event": event,
            "type": "event_callback", "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": team, "user_id": BOT_USER_ID, "is_bot": True}]}


def button_click(user: str, value: str, *, team: str = TEAM_ID, channel: str | None = None,
                 message_ts: str | None = None, thread_ts: str | None = None, title: str = "") -> dict[str, Any]:
    """A `block_actions` payload: `user` clicked a button (value = its payload) on a bot message."""
    channel = channel or "D" + user[1:]
    message_ts = message_ts or new_ts()
    container = {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False}
    message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": message_ts, "text": ""}
    if thread_ts:
        container["thread_ts"] = message["thread_ts"] = thread_ts
    return {"type": "block_actions", "team": {"id": team, "domain": "lakeshore"},
            "user": {"id": user, "username": user.lower(), "team_id": team}, "api_app_id": "A0LAKEAPP",
            "token": "unused-verification-token", "container": container, "trigger_id": f"{uuid.uuid4().int}",
            "channel": {"id": channel, "name": "directmessage" if channel.startswith("D") else "channel"},
            "message": message, "response_url": "http://127.0.0.1/unused",
            "actions": [{"type": "button", "action_id": "reply-button-0", "block_id": "b1",
                         "text": {"type": "plain_text", "text": title or value}, "value": value,
                         "action_ts": new_ts()}]}


def event_body(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope).encode()


def interaction_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()

"""The local Slack stand-in for the end-to-end tests, and a Slack user to play against the real
Rasa server: signed events and clicks to /webhooks/slack/webhook, replies read back from what the
bot posted to the stand-in."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any, Callable

import pytest
import requests

from bot.config import REPO_ROOT
from devservers.slack.events import (
    button_click,
    event_body,
    interaction_body,
    message_event,
    signed_headers,
)

SLACK_PORT = int(os.environ.get("E2E_SLACK_PORT", "8966"))
SLACK_URL = f"http://127.0.0.1:{SLACK_PORT}"
SIGNING_SECRET = "e2e-slack-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-e2e-test-bot-token-0123456789"
# What the Rasa server of the `stack` fixture is started with (tests/e2e/conftest.py).
SLACK_ENV = {"SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": f"{SLACK_URL}/api"}


@pytest.fixture(scope="session")
def slack_stand_in(tmp_path_factory):
    """`python -m devservers.slack serve` on E2E_SLACK_PORT, for the whole session."""
    log = (tmp_path_factory.mktemp("slack") / "stand-in.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "devservers.slack", "serve", "--port", str(SLACK_PORT)],
                               cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "PYTHONPATH": str(REPO_ROOT)})
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{SLACK_URL}/_admin/health", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the Slack stand-in did not start on {SLACK_PORT}: see {log.name}")
        time.sleep(0.2)
    yield SLACK_URL
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def webhook_url(stack) -> str:
    return f"http://127.0.0.1:{stack.rasa_port}/webhooks/slack/webhook"


def say(stack, user: str, text: str, *, secret: str | None = SIGNING_SECRET, signed_at: float | None = None,
        retry_num: int | None = None, retry_reason: str = "http_timeout", **event: Any) -> requests.Response:
    """Send what Slack sends when `user` writes `text` (a DM, or with channel="C..." a mention)."""
    envelope = message_event(user, text, **event)
    body = event_body(envelope)
    headers = signed_headers(secret or "", body, timestamp=signed_at, retry_num=retry_num,
                             retry_reason=retry_reason)
    if secret is None:
        del headers["X-Slack-Signature"], headers["X-Slack-Request-Timestamp"]
    answer = requests.post(webhook_url(stack), data=body, headers=headers, timeout=10)
    answer.envelope = envelope  # type: ignore[attr-defined]
    return answer


def click(stack, user: str, value: str, *, secret: str = SIGNING_SECRET, **where: Any) -> requests.Response:
    body = interaction_body(button_click(user, value, **where))
    headers = signed_headers(secret, body, content_type="application/x-www-form-urlencoded")
    return requests.post(webhook_url(stack), data=body, headers=headers, timeout=10)


def posted(channel: str | None = None) -> list[dict[str, Any]]:
    messages = requests.get(f"{SLACK_URL}/_admin/messages", timeout=5).json()["messages"]
    return [m for m in messages if channel is None or m["channel"] == channel]


def wait_for_posts(channel: str, after: int, count: int = 1, timeout: float = 60.0,
                   until: Callable[[list[dict[str, Any]]], bool] | None = None) -> list[dict[str, Any]]:
    """The bot's posts to `channel` after the first `after` ones, once there are `count` (or `until` holds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = posted(channel)[after:]
        if (until(new) if until else len(new) >= count):
            time.sleep(0.5)  # whatever else the turn says arrives too
            return posted(channel)[after:]
        time.sleep(0.3)
    raise AssertionError(f"no reply in {channel} within {timeout}s; posted there: {posted(channel)[after:]}")


def all_text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["text"] for m in messages)

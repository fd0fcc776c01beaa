"""The client for Slack's Web API: posting replies (`chat.postMessage`) and a user's locale
(`users.info`).

Why our own and not slack_sdk (which Rasa's Slack channel uses): what matters here is how each
failure is handled, and Slack reports most of them in a 200 answer (`{"ok": false, "error":
"channel_not_found"}`), so a client that checks only the status treats them as success. Here:
- every call has a timeout (SLACK_TIMEOUT_SECONDS) and sends the bot token as a Bearer header;
- `ok` is checked on every answer; `ok: false` raises SlackApiError with Slack's error code;
- 429 is waited out for its Retry-After (up to `max_wait`), 5xx and refused connections are
  retried with a short backoff; a post that timed out or whose connection broke after sending is
  NOT retried (Slack may have posted it: a second try could post it twice), a read is;
- a body that isn't Slack's JSON raises SlackApiError("invalid_response").
It is asynchronous (aiohttp), because it runs inside the Rasa server's event loop: a reply posted
there must not block every other conversation.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from bot.config import SlackSettings

logger = logging.getLogger(__name__)


class SlackApiError(Exception):
    """A Web API call failed: `error` is Slack's code (`channel_not_found`, `ratelimited`, ...) or
    ours (`timeout`, `unreachable`, `http_500`, `invalid_response`, `not_configured`)."""

    def __init__(self, method: str, error: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(f"{method}: {error}" + (f" (HTTP {status})" if status else ""))
        self.method, self.error, self.status, self.retry_after = method, error, status, retry_after


class SlackClient:
    def __init__(self, settings: SlackSettings, attempts: int = 3, max_wait: float = 30.0, backoff: float = 0.5):
        self.settings = settings
        self.attempts = max(1, attempts)
        self.max_wait = max_wait  # a longer Retry-After is not waited out: the call fails instead
        self.backoff = backoff
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "SlackClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def _http(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop (the Rasa server's), and reused.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds))
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    # --- the methods we use -----------------------------------------------------------------------

    async def post_message(self, channel: str, text: str, *, thread_ts: str | None = None,
                           blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Post to a channel, a DM (`D...`) or a user (`U...`: their DM with the bot). Returns Slack's
        answer (`channel`, `ts`)."""
        body: dict[str, Any] = {"channel": channel, "text": text}
        if thread_ts:
            body["thread_ts"] = thread_ts
        if blocks:
            body["blocks"] = blocks
        return await self.call("chat.postMessage", json=body, idempotent=False)

    async def user_info(self, user: str) -> dict[str, Any]:
        """The user's profile, with `locale` ("zh-CN", "en-US")."""
        answer = await self.call("users.info", form={"user": user, "include_locale": "true"}, idempotent=True)
        return answer.get("user") if isinstance(answer.get("user"), dict) else {}

    # --- one call, with its failure modes -----------------------------------------------------------

    async def call(self, method: str, *, json: dict[str, Any] | None = None, form: dict[str, str] | None = None,
                   idempotent: bool = True) -> dict[str, Any]:
        if not self.settings.bot_token:
            raise SlackApiError(method, "not_configured")
        url = f"{self.settings.api_url.rstrip('/')}/{method}"
        headers = {"Authorization": f"Bearer {self.settings.bot_token}"}
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                async with self._http().post(url, json=json, data=form, headers=headers) as answer:
                    status = answer.status
                    if status == 429:
                        wait = _retry_after(answer.headers.get("Retry-After"))
                        if last or wait > self.max_wait:
                            raise SlackApiError(method, "ratelimited", status, retry_after=wait)
                        logger.warning("Slack %s: rate limited, waiting %.1f s", method, wait)
                        await asyncio.sleep(wait)
                        continue
                    if status >= 500:
                        if last:
                            raise SlackApiError(method, f"http_{status}", status)
                        logger.warning("Slack %s answered %s; trying again", method, status)
                        await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
                        continue
                    try:
                        body = await answer.json(content_type=None)
                    except (ValueError, aiohttp.ContentTypeError):
                        body = None
            except aiohttp.ClientConnectorError as exc:  # nothing was sent: safe to try again
                if last:
                    raise SlackApiError(method, "unreachable") from exc
                logger.warning("Slack %s: cannot connect (%s); trying again", method, type(exc).__name__)
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            except (asyncio.TimeoutError, aiohttp.ClientError) as exc:  # sent, perhaps processed
                error = "timeout" if isinstance(exc, asyncio.TimeoutError) else "connection_broken"
                if last or not idempotent:
                    raise SlackApiError(method, error) from exc
                logger.warning("Slack %s: %s; trying again", method, error)
                continue
            if not isinstance(body, dict) or "ok" not in body:
                raise SlackApiError(method, "invalid_response", status)
            if not body["ok"]:
                raise SlackApiError(method, str(body.get("error") or "unknown_error"), status)
            for warning in str(body.get("warning") or "").split(","):
                if warning:
                    logger.info("Slack %s warns: %s", method, warning)
            return body
        raise AssertionError("unreachable")  # every last attempt returns or raises


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except ValueError:
        return 1.0

"""A local server that speaks the Slack Web API methods the bot uses, and records what it posted.

Why: Slack is a hosted service; replies, threads, rate limits and Slack's "200 with ok: false"
errors cannot be exercised against it in demos or tests. This server answers like Slack does
(`{"ok": true, ...}` or `{"ok": false, "error": "..."}`, Bearer token, 429 with Retry-After):
    POST /api/chat.postMessage   JSON or form: channel, text, thread_ts, blocks
    POST|GET /api/users.info     user, include_locale
and offers unauthenticated `/_admin/` endpoints for tests and the demo:
    GET  /_admin/messages        what the bot posted, oldest first
    GET  /_admin/calls           every Web API call, counted per method
    POST /_admin/faults          {"mode": "error_500"|"throttle"|"not_ok"|"slow"|"none", "count": N,
                                  "retry_after": s, "error": "channel_not_found", "delay": s}
    POST /_admin/reset           forget messages, calls and faults
    GET  /_admin/health
Bind it to 127.0.0.1 (the default): the admin endpoints have no authentication.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "xoxb-local-dev-token"
DEFAULT_PORT = 8766
FAULT_MODES = ("none", "error_500", "throttle", "not_ok", "slow")
BOT_USER_ID = "U0LAKEBOT"  # the app's own bot user in the demo workspace
BOT_ID = "B0LAKEBOT"
# Members of the demo workspace (T0LAKESHORE). Not all of them are in the partner's staff directory.
USERS = {
    "U0MEICHEN": {"real_name": "Mei Chen", "locale": "en-US", "tz": "Asia/Shanghai"},
    "U0LIWEI": {"real_name": "Li Wei", "locale": "zh-CN", "tz": "Asia/Shanghai"},
    "U0STRANGER": {"real_name": "Sam Stranger", "locale": "en-US", "tz": "Asia/Shanghai"},
}
TEAM_ID = "T0LAKESHORE"

# Slack's documented limits the server checks, so a renderer that breaks them fails here too.
_MAX_BLOCKS, _SECTION_CHARS, _MAX_FIELDS, _MAX_BUTTONS, _BUTTON_TEXT, _BUTTON_VALUE = 50, 3000, 10, 25, 75, 2000


@dataclass
class Faults:
    mode: str = "none"
    remaining: int | None = None  # None: until cleared
    retry_after: float = 1.0
    error: str = "internal_error"
    delay: float = 5.0

    def take(self) -> "Faults | None":
        """The fault for this call, if one is set; counts it down."""
        if self.mode == "none":
            return None
        current = Faults(self.mode, self.remaining, self.retry_after, self.error, self.delay)
        if self.remaining is not None:
            self.remaining -= 1
            if self.remaining <= 0:
                self.mode, self.remaining = "none", None
        return current


@dataclass
class Workspace:
    token: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    _clock: float = 0.0

    def next_ts(self) -> str:
        """Slack's message ids are timestamps, unique per channel; here unique overall."""
        self._clock = max(time.time(), self._clock + 0.000001)
        return f"{self._clock:.6f}"

    def reset(self) -> None:
        self.messages.clear()
        self.calls.clear()
        self.faults = Faults()


def _ok(**values: Any) -> web.Response:
    return web.json_response({"ok": True, **values})


def _error(error: str, status: int = 200, **headers: str) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status, headers=headers)


async def _arguments(request: web.Request) -> dict[str, Any]:
    """Slack accepts JSON bodies, form bodies and query strings; `blocks` in a form is JSON text."""
    values: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise web.HTTPOk(text=json.dumps({"ok": False, "error": "invalid_json"}),
                                 content_type="application/json") from None
            if isinstance(body, dict):
                values.update(body)
        else:
            values.update(dict(await request.post()))
    if isinstance(values.get("blocks"), str):
        try:
            values["blocks"] = json.loads(values["blocks"])
        except ValueError:
            values["blocks"] = "invalid"
    return values


def _blocks_problem(blocks: Any) -> str | None:
    if not isinstance(blocks, list) or len(blocks) > _MAX_BLOCKS:
        return "invalid_blocks"
    for block in blocks:
        if not isinstance(block, dict) or "type" not in block:
            return "invalid_blocks"
        text = block.get("text")
        if isinstance(text, dict) and len(str(text.get("text", ""))) > _SECTION_CHARS:
            return "invalid_blocks"
        if len(block.get("fields") or []) > _MAX_FIELDS:
            return "invalid_blocks"
        if block["type"] == "actions":
            elements = block.get("elements") or []
            if not elements or len(elements) > _MAX_BUTTONS:
                return "invalid_blocks"
            for element in elements:
                if len(str(element.get("text", {}).get("text", ""))) > _BUTTON_TEXT \
                        or len(str(element.get("value", ""))) > _BUTTON_VALUE:
                    return "invalid_blocks"
    return None


WORKSPACE = web.AppKey("workspace", Workspace)


def build_app(token: str = DEFAULT_TOKEN) -> web.Application:
    workspace = Workspace(token)
    app = web.Application(client_max_size=1_000_000)
    app[WORKSPACE] = workspace  # what tests running it in-process read

    async def api(request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        workspace.calls[method] = workspace.calls.get(method, 0) + 1
        fault = workspace.faults.take()
        if fault is not None:
            logger.info("fault %s on %s", fault.mode, method)
            if fault.mode == "error_500":
                return web.Response(status=500, text="Internal Server Error")
            if fault.mode == "throttle":
                return _error("ratelimited", 429, **{"Retry-After": f"{fault.retry_after:g}"})
            if fault.mode == "not_ok":
                return _error(fault.error)
            if fault.mode == "slow":
                await asyncio.sleep(fault.delay)
        authorization = request.headers.get("Authorization", "")
        arguments = await _arguments(request)
        given = authorization[len("Bearer "):] if authorization.startswith("Bearer ") else arguments.get("token")
        if not given:
            return _error("not_authed")
        if given != workspace.token:
            return _error("invalid_auth")
        if method == "chat.postMessage":
            return await post_message(arguments)
        if method == "users.info":
            return users_info(arguments)
        return _error("unknown_method", 404)

    async def post_message(arguments: dict[str, Any]) -> web.Response:
        channel = str(arguments.get("channel") or "")
        text, blocks = arguments.get("text"), arguments.get("blocks")
        if not channel:
            return _error("channel_not_found")
        if not text and not blocks:
            return _error("no_text")
        if blocks is not None and _blocks_problem(blocks):
            return _error("invalid_blocks")
        if channel.startswith("U"):  # a user id: their DM with the bot
            if channel not in USERS:
                return _error("channel_not_found")
            channel = "D" + channel[1:]
        thread_ts = arguments.get("thread_ts") or None
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "text": text or "",
                   "blocks": blocks or [], "ts": workspace.next_ts(),
                   **({"thread_ts": str(thread_ts)} if thread_ts else {})}
        workspace.messages.append({"channel": channel, **message})
        return _ok(channel=channel, ts=message["ts"], message=message)

    def users_info(arguments: dict[str, Any]) -> web.Response:
        user_id = str(arguments.get("user") or "")
        user = USERS.get(user_id)
        if user is None:
            return _error("user_not_found")
        profile = {"id": user_id, "team_id": TEAM_ID, "name": user_id.lower(), "real_name": user["real_name"],
                   "tz": user["tz"], "is_bot": False}
        if str(arguments.get("include_locale", "")).lower() in ("true", "1"):
            profile["locale"] = user["locale"]
        return _ok(user=profile)

    async def messages(_request: web.Request) -> web.Response:
        return web.json_response({"messages": workspace.messages})

    async def calls(_request: web.Request) -> web.Response:
        return web.json_response({"calls": workspace.calls})

    async def faults(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            mode = body["mode"]
            if mode not in FAULT_MODES:
                raise ValueError(mode)
            count = body.get("count")
            workspace.faults = Faults(mode, int(count) if count is not None else None,
                                      float(body.get("retry_after", 1.0)), str(body.get("error", "internal_error")),
                                      float(body.get("delay", 5.0)))
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": f"mode must be one of {', '.join(FAULT_MODES)}"}, status=400)
        return web.json_response({"faults": body})

    async def reset(_request: web.Request) -> web.Response:
        workspace.reset()
        return web.json_response({"reset": True})

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_route("*", "/api/{method}", api)
    app.router.add_get("/_admin/messages", messages)
    app.router.add_get("/_admin/calls", calls)
    app.router.add_post("/_admin/faults", faults)
    app.router.add_post("/_admin/reset", reset)
    app.router.add_get("/_admin/health", health)
    return app

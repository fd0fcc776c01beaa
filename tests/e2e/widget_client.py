"""A widget as the tests drive it: python-socketio's client over the polling transport (its
websocket client does not work with the pinned aiohttp), speaking to the real Rasa server."""
from __future__ import annotations

import asyncio
from typing import Any

import socketio
import socketio.packet

from tests.e2e.conftest import RASA_PORT, SITE_ORIGIN


class Widget:
    def __init__(self, token: str | None = None, origin: str | None = SITE_ORIGIN, locale: str | None = None,
                 port: int = RASA_PORT):
        self.url = f"http://127.0.0.1:{port}"
        self.sio = socketio.AsyncClient(reconnection=False)
        self.auth: dict[str, Any] = {}
        if token is not None:
            self.auth["token"] = token
        if locale is not None:
            self.auth["locale"] = locale
        self.headers = {"Origin": origin} if origin else {}
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.confirmed: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.refused: Any = None
        self.sio.on("bot_uttered", self.messages.put_nowait)
        self.sio.on("session_confirm", self.confirmed.put_nowait)
        self.sio.on("connect_error", self._connect_error)

    def _connect_error(self, data: Any) -> None:
        self.refused = data.get("data", data) if isinstance(data, dict) else data

    async def connect(self) -> "Widget":
        await self.sio.connect(self.url, transports=["polling"], headers=self.headers, auth=self.auth or None,
                               socketio_path="socket.io", wait_timeout=10)
        return self

    async def connect_refused(self) -> bool:
        """Try to connect; True when the server refused (its reason, if it gave one, in
        `self.refused`). Doesn't wait for the client library's own slow clean-up of a refusal."""
        attempt = asyncio.ensure_future(self.connect())
        for _ in range(150):
            if self.refused is not None or attempt.done():
                break
            await asyncio.sleep(0.1)
        attempt.cancel()
        outcome = (await asyncio.gather(attempt, return_exceptions=True))[0]
        refused = self.refused is not None or isinstance(outcome, socketio.exceptions.ConnectionError)
        reading = self.sio.eio.read_loop_task
        await self.sio.eio.disconnect(abort=True)
        if reading is not None:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
        return refused

    async def start(self, **request: Any) -> dict[str, Any]:
        """Connect, ask for the session, return the session_confirm (session, history, ...)."""
        if not self.sio.connected:
            await self.connect()
        await self.sio.emit("session_request", request)
        return await asyncio.wait_for(self.confirmed.get(), 30)

    async def send(self, message: Any, **extra: Any) -> None:
        await self.sio.emit("user_uttered", {"message": message, **extra})

    async def replies(self, quiet: float = 1.5, timeout: float = 60) -> list[dict[str, Any]]:
        """Every bot message until none came for `quiet` seconds (at least one, within `timeout`)."""
        got = [await asyncio.wait_for(self.messages.get(), timeout)]
        while True:
            try:
                got.append(await asyncio.wait_for(self.messages.get(), quiet))
            except asyncio.TimeoutError:
                return got

    async def ask(self, message: str, **extra: Any) -> str:
        await self.send(message, **extra)
        return text_of(await self.replies())

    async def close(self) -> None:
        """Disconnect without waiting for the pending long-poll to come back (up to 25 s)."""
        if not self.sio.connected:
            return
        for namespace in self.sio.namespaces:
            await self.sio._send_packet(self.sio.packet_class(socketio.packet.DISCONNECT, namespace=namespace))
        reading = self.sio.eio.read_loop_task
        await self.sio.eio.disconnect(abort=True)
        if reading is not None:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def resolve_open_escalations(stack, customer_id: str) -> None:
    """Partner staff resolve what the customer still has open (other tests, the fuzz run): a
    dispute about the same charge would otherwise be "already reported" instead of filed."""
    from bot.db import reset_engine, session_scope
    from bot.escalation import records
    from bot.escalation.models import State

    url = stack.env["BOT_DATABASE_URL"]
    with session_scope(url) as session:
        still_open = [e.reference for e in records.escalations_for_customer(session, customer_id, limit=100)
                      if e.state in State.OPEN]
    for reference in still_open:  # one unit of work each, as `python -m bot.escalation resolve` does
        with session_scope(url) as session:
            records.resolve_by_partner(session, reference, "P-01", None)
    reset_engine()

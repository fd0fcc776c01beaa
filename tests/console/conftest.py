"""The console's app on aiohttp's test server (a real port), over a real seeded SQLite database."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.console.app import build_app
from bot.db import session_scope
from bot.handoff import queue as desk
from bot.handoff.models import SupportAgent


@pytest.fixture()
async def console(db_url):
    """A client of the console; no Rasa API here (push None): nothing is delivered, no transcript."""
    client = TestClient(TestServer(build_app(db_url, push=None)))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture()
def sign_in(console):
    async def as_agent(login: str) -> dict[str, str]:
        response = await console.post("/api/sign-in", json={"login": login, "password": f"{login}-demo"})
        assert response.status == 200, await response.text()
        return {"Authorization": f"Bearer {(await response.json())['token']}"}

    return as_agent


@pytest.fixture()
def handoff(db_url):
    """A conversation of a P-01 customer waiting for a person; returns its id."""
    made = []

    def request(conversation: str = "conv-console", customer: str | None = "C-1001", partner: str = "P-01",
                requested_at: datetime | None = None, reason: str = "asked") -> int:
        with session_scope(db_url) as session:
            requested = desk.request_handoff(
                session, conversation_id=conversation, partner_id=partner, channel="widget", customer_id=customer,
                requester="Contoso Ltd" if customer else "Mei Chen", reason=reason, detail="I want a person",
                now=requested_at or datetime.now(timezone.utc))
            made.append(requested.handoff.id)
            return requested.handoff.id

    return request


def agent_row(db_url: str, login: str) -> SupportAgent:
    with session_scope(db_url) as session:
        agent = session.scalar(select(SupportAgent).where(SupportAgent.login == login))
        session.expunge(agent)
        return agent

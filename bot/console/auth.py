"""Who is calling the console's API: the support agent named by the bearer token on every call
(bot.handoff.agents), and signing in with a login and password."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.db import session_scope
from bot.db.models import Partner
from bot.handoff.agents import agent_of_token, authenticate, issue_agent_token
from bot.handoff.models import SupportAgent
from bot.identity import TokenError


@dataclass(frozen=True)
class SignedInAgent:
    id: int
    name: str
    partner_id: str
    partner: str  # the partner's name

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "partner_id": self.partner_id, "partner": self.partner}


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _signed_in(session, agent: SupportAgent) -> SignedInAgent:
    partner = session.get(Partner, agent.partner_id)
    return SignedInAgent(agent.id, agent.name, agent.partner_id, partner.name if partner else agent.partner_id)


def agent_of(database_url: str, token: str | None) -> SignedInAgent:
    """The agent the token was issued to, still active and with that partner; TokenError otherwise."""
    if not token:
        raise TokenError("missing")
    with session_scope(database_url) as session:
        return _signed_in(session, agent_of_token(session, token))


def sign_in(database_url: str, login: str, password: str) -> tuple[str, SignedInAgent] | None:
    """A fresh token and the agent; None for an unknown login or a wrong password alike."""
    with session_scope(database_url) as session:
        agent = authenticate(session, login, password)
        if agent is None:
            return None
        return issue_agent_token(agent), _signed_in(session, agent)

"""Support agents: their console sign-in (login and password, checked against a slow salted hash)
and the bearer tokens the console's API takes."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings, load_handoff_settings, load_settings
from bot.handoff.models import SupportAgent
from bot.identity import ALGORITHM, ISSUER, TokenError, decode_claims

AGENT_AUDIENCE = "support-agent"
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return hmac.compare_digest(candidate.hex(), digest)


_NO_ONE = hash_password(secrets.token_hex(8))  # unknown logins take as long as wrong passwords


def authenticate(session: Session, login: str, password: str) -> SupportAgent | None:
    agent = session.scalar(select(SupportAgent).where(SupportAgent.login == login.strip().lower()))
    if agent is None or not agent.active:
        password_matches(password, _NO_ONE)
        return None
    return agent if password_matches(password, agent.password_hash) else None


def agent_named(session: Session, partner_id: str, name: str) -> SupportAgent | None:
    return session.scalar(select(SupportAgent).where(SupportAgent.partner_id == partner_id,
                                                     SupportAgent.name == name, SupportAgent.active.is_(True)))


def issue_agent_token(agent: SupportAgent, settings: Settings | None = None, ttl: timedelta | None = None) -> str:
    settings = settings or load_settings()
    now = datetime.now(timezone.utc)
    ttl = ttl if ttl is not None else timedelta(minutes=load_handoff_settings().agent_token_minutes)
    claims = {"sub": f"agent:{agent.id}", "partner": agent.partner_id, "name": agent.name, "aud": AGENT_AUDIENCE,
              "iss": ISSUER, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, settings.token_secret, algorithm=ALGORITHM)


@dataclass(frozen=True)
class AgentClaims:
    agent_id: int
    partner_id: str


def verify_agent_token(token: object, settings: Settings | None = None) -> AgentClaims:
    claims = decode_claims(token, AGENT_AUDIENCE, settings)
    subject, partner = claims.get("sub"), claims.get("partner")
    if not isinstance(subject, str) or not subject.startswith("agent:") or not subject[6:].isdigit() \
            or not isinstance(partner, str):
        raise TokenError("invalid")
    return AgentClaims(int(subject[6:]), partner)


def agent_of_token(session: Session, token: object, settings: Settings | None = None) -> SupportAgent:
    """The signed-in agent, still active and still with that partner; TokenError otherwise."""
    claims = verify_agent_token(token, settings)
    agent = session.get(SupportAgent, claims.agent_id)
    if agent is None or not agent.active or agent.partner_id != claims.partner_id:
        raise TokenError("invalid")
    return agent

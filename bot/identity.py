"""Customer tokens: short-lived JWTs whose subject is the customer id.

The widget on a partner's site gets one from the partner's backend after sign-in and sends it
as `metadata.customer_token` with every message; the channel verifies it on every message and
passes on only the verified identity (bot/caller.py). HS256 is pinned: a token signed any other way (or `alg: none`) fails.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt

from bot.config import Settings, load_settings

ALGORITHM = "HS256"
ISSUER = "billing-help-desk"
# Each kind of token has its own audience, required on verification, so neither can be used
# as the other.
CUSTOMER_AUDIENCE = "customer"
STAFF_AUDIENCE = "partner-staff"
PUSH_AUDIENCE = "escalation-push"
MAX_TOKEN_CHARS = 4096  # ours are about 250; a huge one is never worth decoding
_COMPACT_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class TokenError(Exception):
    """The token is missing, malformed, badly signed or expired. `reason` says which, for logs."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def issue_token(customer_id: str, settings: Settings | None = None, ttl: timedelta | None = None,
                now: datetime | None = None) -> str:
    settings = settings or load_settings()
    now = now or datetime.now(timezone.utc)
    ttl = ttl if ttl is not None else timedelta(minutes=settings.token_ttl_minutes)
    claims = {"sub": customer_id, "aud": CUSTOMER_AUDIENCE, "iss": ISSUER, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, settings.token_secret, algorithm=ALGORITHM)


def _decode(token: object, audience: str, settings: Settings | None, verify_exp: bool = True) -> dict:
    """The claims of a token of ours for `audience`, or TokenError (missing, expired, invalid)."""
    if not token or not isinstance(token, str):
        raise TokenError("missing")
    if len(token) > MAX_TOKEN_CHARS or not _COMPACT_JWT.fullmatch(token):
        raise TokenError("invalid")  # base64 decoding would skip stray characters: refuse them here
    settings = settings or load_settings()
    try:
        return jwt.decode(token, settings.token_secret, algorithms=[ALGORITHM], issuer=ISSUER,
                          audience=audience, options={"require": ["exp", "sub", "iss", "aud"],
                                                      "verify_exp": verify_exp})
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("expired") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError("invalid") from exc
    except Exception as exc:  # noqa: BLE001  e.g. UnicodeEncodeError on a lone surrogate: still just invalid
        raise TokenError("invalid") from exc


def customer_of_expired_token(token: object, settings: Settings | None = None) -> str:
    """Who a genuine customer token was issued to, even after it expired. Never grants access:
    only used to tell whether news in a conversation is for the person reading it."""
    subject = _decode(token, CUSTOMER_AUDIENCE, settings, verify_exp=False).get("sub")
    if not isinstance(subject, str) or not subject:
        raise TokenError("invalid")
    return subject


def verify_token(token: object, settings: Settings | None = None) -> str:
    """Return the customer id the token was issued for, or raise TokenError."""
    claims = _decode(token, CUSTOMER_AUDIENCE, settings)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise TokenError("invalid")
    return subject


@dataclass(frozen=True)
class Staff:
    partner_id: str
    name: str


def issue_staff_token(partner_id: str, name: str, settings: Settings | None = None,
                      ttl: timedelta | None = None) -> str:
    """A token for partner staff (Teams/Slack will obtain one after their own sign-in)."""
    settings = settings or load_settings()
    now = datetime.now(timezone.utc)
    ttl = ttl if ttl is not None else timedelta(minutes=settings.token_ttl_minutes)
    claims = {"sub": f"staff:{name}", "partner": partner_id, "name": name, "aud": STAFF_AUDIENCE,
              "iss": ISSUER, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, settings.token_secret, algorithm=ALGORITHM)


def verify_staff_token(token: object, settings: Settings | None = None) -> Staff:
    claims = _decode(token, STAFF_AUDIENCE, settings)
    partner, name = claims.get("partner"), claims.get("name")
    if not isinstance(partner, str) or not partner or not isinstance(name, str) or not name:
        raise TokenError("invalid")
    return Staff(partner, name)


def issue_push_token(conversation_id: str, reference: str, settings: Settings | None = None) -> str:
    """Proves that a resolution notice pushed into a conversation comes from our worker, not from
    someone typing the external intent into the chat."""
    settings = settings or load_settings()
    now = datetime.now(timezone.utc)
    claims = {"sub": conversation_id, "ref": reference, "aud": PUSH_AUDIENCE, "iss": ISSUER, "iat": now,
              "exp": now + timedelta(minutes=10)}
    return jwt.encode(claims, settings.token_secret, algorithm=ALGORITHM)


def verify_push_token(token: object, conversation_id: str, reference: str, settings: Settings | None = None) -> bool:
    try:
        claims = _decode(token, PUSH_AUDIENCE, settings)
    except TokenError:
        return False
    return claims.get("sub") == conversation_id and claims.get("ref") == reference

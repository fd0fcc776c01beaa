"""Customer tokens: short-lived JWTs whose subject is the customer id.

The widget on a partner's site gets one from the partner's backend after sign-in and sends it
as `metadata.customer_token` with every message; the actions verify it on every turn that
touches billing data. HS256 is pinned: a token signed any other way (or `alg: none`) fails.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt

from bot.config import Settings, load_settings

ALGORITHM = "HS256"
ISSUER = "billing-help-desk"


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
    claims = {"sub": customer_id, "iss": ISSUER, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, settings.token_secret, algorithm=ALGORITHM)


def verify_token(token: object, settings: Settings | None = None) -> str:
    """Return the customer id the token was issued for, or raise TokenError."""
    if not token or not isinstance(token, str):
        raise TokenError("missing")
    settings = settings or load_settings()
    try:
        claims = jwt.decode(token, settings.token_secret, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["exp", "sub", "iss"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("expired") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenError("invalid") from exc
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise TokenError("invalid")
    return subject

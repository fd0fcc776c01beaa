"""Customer tokens: short-lived JWTs whose subject is the customer id.

The widget on a partner's site gets one from the partner's backend after sign-in and sends it
at connect (REST clients: as `metadata.customer_token` with every message); the channel verifies
it on every message and passes on only the verified identity (bot/caller.py).

Two kinds of customer token are accepted:
- minted by a partner's website: signed with the partner's PRIVATE key (RS256 or EdDSA), `iss` the
  partner id; verified with that partner's PUBLIC key (`BOT_PARTNER_KEYS_DIR/<partner>.pem`), and
  only for that partner's own customers. The assistant holds nothing that can mint one.
- HS256 with our shared secret (`python -m bot token`): development and tests only
  (BOT_ENV=development|test); refused anywhere else.
The algorithm is pinned per key: `alg: none`, HS256 with a public key as secret, or any other
algorithm fails.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from bot.config import DEV_ENVIRONMENTS, Settings, load_settings, load_widget_settings

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
                now: datetime | None = None, locale: str | None = None) -> str:
    """A development/test customer token (HS256, our secret). Partners' sites mint their own."""
    settings = settings or load_settings()
    now = now or datetime.now(timezone.utc)
    ttl = ttl if ttl is not None else timedelta(minutes=settings.token_ttl_minutes)
    claims = {"sub": customer_id, "aud": CUSTOMER_AUDIENCE, "iss": ISSUER, "iat": now, "exp": now + ttl}
    if locale:
        claims["locale"] = locale
    return jwt.encode(claims, settings.token_secret, algorithm=ALGORITHM)


# --- Tokens minted by a partner's website --------------------------------------------------------

PARTNER_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,15}")  # also a safe file name
PARTNER_TOKEN_MAX_LIFETIME = timedelta(hours=12)  # a longer-lived token is refused, whatever it says


def partner_key_algorithm(key: Any) -> str:
    if isinstance(key, Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, RSAPublicKey) and key.key_size >= 2048:
        return "RS256"
    raise TokenError("invalid")


@lru_cache(maxsize=64)
def _load_partner_key(path: Path, _mtime: float) -> tuple[Any, str]:
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:  # the assistant must hold nothing that can mint a token
        raise TokenError("invalid")
    key = load_pem_public_key(data)
    return key, partner_key_algorithm(key)


def partner_public_key(partner_id: str, keys_dir: Path | None = None) -> tuple[Any, str]:
    """(the partner's public key, the one algorithm it verifies). TokenError("invalid") when the
    partner has no usable key."""
    if not PARTNER_ID_PATTERN.fullmatch(partner_id):
        raise TokenError("invalid")
    path = (keys_dir or load_widget_settings().partner_keys_dir) / f"{partner_id}.pem"
    try:
        return _load_partner_key(path, path.stat().st_mtime)
    except TokenError:
        raise
    except Exception as exc:  # noqa: BLE001  missing, unreadable or not a key: nobody's token verifies
        raise TokenError("invalid") from exc


def _customer_of_partner(database_url: str, customer_id: str) -> str | None:
    from bot.db import session_scope
    from bot.db.models import Customer

    with session_scope(database_url) as session:
        customer = session.get(Customer, customer_id)
        return customer.partner_id if customer else None


@dataclass(frozen=True)
class CustomerClaims:
    customer_id: str
    partner_id: str | None  # None: a development token of ours
    locale: str | None  # the language the site shows, if the token says


def _decode_customer(token: object, settings: Settings | None, verify_exp: bool = True) -> CustomerClaims:
    if not token or not isinstance(token, str):
        raise TokenError("missing")
    if len(token) > MAX_TOKEN_CHARS or not _COMPACT_JWT.fullmatch(token):
        raise TokenError("invalid")
    settings = settings or load_settings()
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except Exception as exc:  # noqa: BLE001
        raise TokenError("invalid") from exc
    if issuer == ISSUER:
        if settings.environment not in DEV_ENVIRONMENTS:
            raise TokenError("invalid")  # our own HS256 customer tokens are for development and tests
        claims = _decode(token, CUSTOMER_AUDIENCE, settings, verify_exp=verify_exp)
        partner_id = None
    elif isinstance(issuer, str):
        key, algorithm = partner_public_key(issuer)
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm], issuer=issuer, audience=CUSTOMER_AUDIENCE,
                                options={"require": ["exp", "iat", "sub", "iss", "aud"], "verify_exp": verify_exp})
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("expired") from exc
        except Exception as exc:  # noqa: BLE001  any other failure: invalid
            raise TokenError("invalid") from exc
        if not isinstance(claims["exp"], (int, float)) or not isinstance(claims["iat"], (int, float)) \
                or claims["exp"] - claims["iat"] > PARTNER_TOKEN_MAX_LIFETIME.total_seconds():
            raise TokenError("invalid")
        partner_id = issuer
    else:
        raise TokenError("invalid")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise TokenError("invalid")
    if partner_id is not None and _customer_of_partner(settings.database_url, subject) != partner_id:
        raise TokenError("invalid")  # a partner vouches for its own customers only
    locale = claims.get("locale")
    return CustomerClaims(subject, partner_id, locale if isinstance(locale, str) else None)


def verify_customer_token(token: object, settings: Settings | None = None) -> CustomerClaims:
    """The verified claims of a customer token (ours in development, or a partner's), or TokenError."""
    return _decode_customer(token, settings)


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


def decode_claims(token: object, audience: str, settings: Settings | None = None) -> dict:
    """The verified claims of one of our tokens for `audience` (the agent console's, say)."""
    return _decode(token, audience, settings)


def customer_of_expired_token(token: object, settings: Settings | None = None) -> str:
    """Who a genuine customer token was issued to, even after it expired. Never grants access:
    only used to tell whether news in a conversation is for the person reading it."""
    return _decode_customer(token, settings, verify_exp=False).customer_id


def verify_token(token: object, settings: Settings | None = None) -> str:
    """Return the customer id the token was issued for, or raise TokenError."""
    return _decode_customer(token, settings).customer_id


@dataclass(frozen=True)
class Staff:
    partner_id: str
    name: str
    role: str = "billing_admin"


def issue_staff_token(partner_id: str, name: str, settings: Settings | None = None,
                      ttl: timedelta | None = None, role: str = "billing_admin") -> str:
    """A token for partner staff on REST (Slack and Teams users are found in the staff directory)."""
    settings = settings or load_settings()
    now = datetime.now(timezone.utc)
    ttl = ttl if ttl is not None else timedelta(minutes=settings.token_ttl_minutes)
    claims = {"sub": f"staff:{name}", "partner": partner_id, "name": name, "role": role, "aud": STAFF_AUDIENCE,
              "iss": ISSUER, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, settings.token_secret, algorithm=ALGORITHM)


def verify_staff_token(token: object, settings: Settings | None = None) -> Staff:
    claims = _decode(token, STAFF_AUDIENCE, settings)
    partner, name = claims.get("partner"), claims.get("name")
    if not isinstance(partner, str) or not partner or not isinstance(name, str) or not name:
        raise TokenError("invalid")
    role = claims.get("role", "billing_admin")  # tokens minted before roles were all admins'
    if role not in ("billing_admin", "read_only"):
        raise TokenError("invalid")
    return Staff(partner, name, role)


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

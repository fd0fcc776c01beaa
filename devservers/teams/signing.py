"""What Bot Framework does before an activity reaches a bot: build the activity and sign a token
for it with a key it publishes. Used by the stand-in's `say` command and by the tests (which also
sign with the wrong key, audience, issuer or serviceUrl on purpose).

The signing key is generated at first use and kept in a file (owner-only, under var/ or a temp
dir, never committed); its public half is what the stand-in's JWKS endpoint serves.
"""
from __future__ import annotations

import base64
import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

# The identities the local stand-in plays by default (not secrets: a local demo's fixed values).
DEFAULT_APP_ID = "6b7f2c1e-0000-4000-8000-00000000b0b0"
DEFAULT_APP_PASSWORD = "local-dev-app-password"
DEFAULT_TENANT_ID = "7d3c0c2e-1a1b-4c4c-9f00-1a5e5b0ca001"  # P-01 Lakeshore's tenant in the seed
DEFAULT_SCOPE = "https://api.botframework.com/.default"
CHANNEL_ID = "msteams"


def generate_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def load_or_create_key(path: Path) -> RSAPrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = generate_key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
        except FileExistsError:
            pass  # another process made it first: use theirs
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return key


def key_id(key: RSAPrivateKey) -> str:
    """A stable kid: the SHA-256 of the public key, shortened."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:15]).decode()


def public_jwk(key: RSAPrivateKey, endorsements: tuple[str, ...] = (CHANNEL_ID,)) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()

    def b64(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {"kty": "RSA", "use": "sig", "kid": key_id(key), "n": b64(numbers.n), "e": b64(numbers.e),
            "endorsements": list(endorsements)}


def sign_channel_token(key: RSAPrivateKey, *, issuer: str, app_id: str, service_url: str,
                       lifetime: timedelta = timedelta(minutes=60), now: datetime | None = None,
                       kid: str | None = None, algorithm: str = "RS256", extra: dict[str, Any] | None = None) -> str:
    """A token as Bot Framework sends with an activity (iss, aud = the bot's app id, serviceurl)."""
    now = now or datetime.now(timezone.utc)
    claims = {"iss": issuer, "aud": app_id, "serviceurl": service_url, "nbf": now - timedelta(minutes=5),
              "exp": now + lifetime, **(extra or {})}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid or key_id(key)})


@dataclass(frozen=True)
class Person:
    aad_object_id: str
    tenant_id: str = DEFAULT_TENANT_ID
    name: str = ""

    @property
    def user_id(self) -> str:  # the conversation service's id for the user ("29:...")
        return "29:" + hashlib.sha256(f"{self.tenant_id}:{self.aad_object_id}".encode()).hexdigest()[:40]

    @property
    def personal_conversation_id(self) -> str:
        return "a:" + hashlib.sha256(f"personal:{self.tenant_id}:{self.aad_object_id}".encode()).hexdigest()[:40]


def build_activity(person: Person, text: str, *, service_url: str, app_id: str, locale: str = "en-US",
                   conversation_type: str = "personal", value: dict[str, Any] | None = None,
                   bot_name: str = "Billing desk") -> dict[str, Any]:
    """A message activity from `person` as Teams posts it to the bot's messaging endpoint."""
    if conversation_type == "personal":
        conversation = {"id": person.personal_conversation_id, "conversationType": "personal",
                        "tenantId": person.tenant_id}
    else:
        conversation = {"id": f"19:{uuid.uuid4().hex[:16]}@thread.tacv2;messageid={uuid.uuid4().int % 10**13}",
                        "conversationType": conversation_type, "isGroup": True, "tenantId": person.tenant_id}
    bot_id = f"28:{app_id}"
    if conversation_type != "personal":
        text = f"<at>{bot_name}</at> {text}"  # in a channel, the bot hears only what mentions it
    activity: dict[str, Any] = {
        "type": "message", "id": f"1:{uuid.uuid4().hex}", "channelId": CHANNEL_ID, "serviceUrl": service_url,
        "timestamp": datetime.now(timezone.utc).isoformat(), "locale": locale, "text": text,
        "from": {"id": person.user_id, "name": person.name or person.aad_object_id, "aadObjectId": person.aad_object_id},
        "recipient": {"id": bot_id, "name": bot_name}, "conversation": conversation,
        "channelData": {"tenant": {"id": person.tenant_id}},
    }
    if conversation_type != "personal":
        activity["entities"] = [{"type": "mention", "text": f"<at>{bot_name}</at>",
                                 "mentioned": {"id": bot_id, "name": bot_name}}]
    if value is not None:
        activity["value"] = value
    return activity

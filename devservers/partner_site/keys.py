"""What a partner's backend does to let a signed-in customer chat: sign a short-lived token with the
partner's PRIVATE key (EdDSA here; RS256 works the same). The assistant verifies it with the
partner's PUBLIC key and holds nothing that can mint one (bot/identity.py)."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

TOKEN_MINUTES = 15


def mint_customer_token(private_key_pem: bytes, partner_id: str, customer_id: str, locale: str | None = None,
                        minutes: int = TOKEN_MINUTES, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    claims = {"iss": partner_id, "sub": customer_id, "aud": "customer", "iat": now,
              "exp": now + timedelta(minutes=minutes)}
    if locale:
        claims["locale"] = locale
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    return jwt.encode(claims, key, algorithm="EdDSA")


def ensure_key_pair(private_file: Path, public_dir: Path, partner_id: str) -> bytes:
    """The demo site's key: generated at first start (owner-only file, never committed); its public
    half is given to the assistant as `<public_dir>/<partner_id>.pem`. Returns the private key PEM."""
    if not private_file.exists():
        private_file.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        fd = os.open(private_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
    private_pem = private_file.read_bytes()
    public_pem = serialization.load_pem_private_key(private_pem, password=None).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    public_dir.mkdir(parents=True, exist_ok=True)
    public_file = public_dir / f"{partner_id}.pem"
    if not public_file.exists() or public_file.read_bytes() != public_pem:
        public_file.write_bytes(public_pem)
    return private_pem

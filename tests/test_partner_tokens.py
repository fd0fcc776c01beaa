"""Customer tokens minted by a partner's website: signed with the partner's private key (EdDSA or
RS256), verified with its public key, only for its own customers; HS256 only in development."""
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from bot.caller import resolve_caller
from bot.config import load_settings
from bot.db.models import Partner
from bot.identity import TokenError, issue_token, verify_customer_token, verify_token
from devservers.partner_site.keys import ensure_key_pair, mint_customer_token


def _pem(private_key) -> bytes:
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def _public_pem(private_key) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture()
def keys_dir(db_url, tmp_path, monkeypatch):
    folder = tmp_path / "partner-keys"
    folder.mkdir()
    monkeypatch.setenv("BOT_PARTNER_KEYS_DIR", str(folder))
    return folder


def _sign(private_key, algorithm, partner="P-01", customer="C-1001", minutes=15, **extra):
    now = datetime.now(timezone.utc)
    claims = {"iss": partner, "sub": customer, "aud": "customer", "iat": now, "exp": now + timedelta(minutes=minutes),
              **extra}
    return jwt.encode(claims, private_key, algorithm=algorithm)


def test_the_demo_sites_eddsa_token_verifies_with_its_public_key_only(keys_dir, tmp_path):
    private_pem = ensure_key_pair(tmp_path / "site" / "P-01.key", keys_dir, "P-01")
    assert b"PRIVATE" not in (keys_dir / "P-01.pem").read_bytes()
    assert oct((tmp_path / "site" / "P-01.key").stat().st_mode & 0o777) == "0o600"
    token = mint_customer_token(private_pem, "P-01", "C-1001", locale="zh")
    claims = verify_customer_token(token)
    assert (claims.customer_id, claims.partner_id, claims.locale) == ("C-1001", "P-01", "zh")
    assert resolve_caller({"customer_token": token}, load_settings()).customer_id == "C-1001"


def test_an_rs256_partner_key_works_too(keys_dir):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (keys_dir / "P-01.pem").write_bytes(_public_pem(key))
    assert verify_token(_sign(key, "RS256")) == "C-1001"


def test_another_key_an_expired_token_and_algorithm_confusion_are_refused(keys_dir):
    key = ed25519.Ed25519PrivateKey.generate()
    public = _public_pem(key)
    (keys_dir / "P-01.pem").write_bytes(public)
    for token, reason in [
        (_sign(ed25519.Ed25519PrivateKey.generate(), "EdDSA"), "invalid"),  # someone else's key
        (_sign(key, "EdDSA", minutes=-5), "expired"),
        (_sign(key, "EdDSA", minutes=13 * 60), "invalid"),  # longer-lived than any partner may mint
        (_hs256_with_public_key(public), "invalid"),
        (_sign(key, "EdDSA", partner="P-99"), "invalid"),  # a partner without a key
        (_sign(key, "EdDSA", partner="../P-01"), "invalid"),
    ]:
        with pytest.raises(TokenError) as err:
            verify_token(token)
        assert err.value.reason == reason, token


def _hs256_with_public_key(public_pem: bytes) -> str:
    """The classic confusion: HS256 with the partner's public key as the shared secret."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"iss": "P-01", "sub": "C-1001", "aud": "customer", "iat": 1, "exp": 9999999999}).encode())
    signature = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def test_a_partner_vouches_only_for_its_own_customers(keys_dir, session):
    session.add(Partner(id="P-02", name="Another Partner"))
    session.commit()
    other = ed25519.Ed25519PrivateKey.generate()
    (keys_dir / "P-02.pem").write_bytes(_public_pem(other))
    with pytest.raises(TokenError):
        verify_token(_sign(other, "EdDSA", partner="P-02", customer="C-1001"))  # Contoso is P-01's


def test_a_private_key_in_the_keys_folder_is_refused(keys_dir):
    key = ed25519.Ed25519PrivateKey.generate()
    (keys_dir / "P-01.pem").write_bytes(_pem(key))
    with pytest.raises(TokenError):
        verify_token(_sign(key, "EdDSA"))


def test_our_hs256_tokens_are_for_development_and_tests_only(db_url, monkeypatch):
    token = issue_token("C-1001")
    assert verify_token(token) == "C-1001"
    monkeypatch.setenv("BOT_ENV", "production")
    with pytest.raises(TokenError):
        verify_token(token)

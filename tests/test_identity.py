"""Customer tokens: valid, expired, forged, wrong algorithm, missing claims."""
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from bot.config import load_settings
from bot.identity import ISSUER, TokenError, issue_token, verify_token


def test_round_trip(db_url):
    assert verify_token(issue_token("C-1001")) == "C-1001"


def test_expired_token(db_url):
    old = datetime.now(timezone.utc) - timedelta(hours=2)
    token = issue_token("C-1001", ttl=timedelta(minutes=5), now=old)
    with pytest.raises(TokenError) as err:
        verify_token(token)
    assert err.value.reason == "expired"


@pytest.mark.parametrize("forge", [
    lambda s: jwt.encode({"sub": "C-1001", "iss": ISSUER, "aud": "customer", "exp": 9999999999}, "another-secret-of-enough-length-000000",
                         algorithm="HS256"),
    lambda s: jwt.encode({"sub": "C-1001", "iss": ISSUER, "aud": "customer", "exp": 9999999999}, s.token_secret, algorithm="HS512"),
    lambda s: jwt.encode({"sub": "C-1001", "iss": ISSUER, "aud": "customer", "exp": 9999999999}, None, algorithm="none"),
    lambda s: jwt.encode({"sub": "C-1001", "iss": ISSUER, "aud": "customer"}, s.token_secret, algorithm="HS256"),  # no expiry
    lambda s: jwt.encode({"sub": "C-1001", "iss": "someone-else", "aud": "customer", "exp": 9999999999}, s.token_secret, algorithm="HS256"),
    lambda s: "not.a.token",
])
def test_forged_or_incomplete_tokens_are_invalid(db_url, forge):
    with pytest.raises(TokenError) as err:
        verify_token(forge(load_settings()))
    assert err.value.reason == "invalid"


@pytest.mark.parametrize("missing", [None, "", 42])
def test_missing_token(db_url, missing):
    with pytest.raises(TokenError) as err:
        verify_token(missing)
    assert err.value.reason == "missing"


def test_staff_and_customer_tokens_are_not_interchangeable(db_url):
    from bot.identity import issue_staff_token, verify_staff_token
    with pytest.raises(TokenError):
        verify_token(issue_staff_token("P-01", "Mei Chen"))
    with pytest.raises(TokenError):
        verify_staff_token(issue_token("C-1001"))


@pytest.mark.parametrize("environment", ["production", "staging", "prod"])
def test_only_development_may_use_the_built_in_secret(monkeypatch, environment):
    from bot.config import ConfigError

    monkeypatch.setenv("BOT_ENV", environment)
    monkeypatch.delenv("BOT_TOKEN_SECRET", raising=False)
    with pytest.raises(ConfigError):
        load_settings()


@pytest.mark.parametrize("junk", ["=", "´", "\U000c6da9", " ", "\n"])
def test_a_real_token_with_a_stray_character_is_invalid(db_url, junk):
    from bot.identity import issue_token

    token = issue_token("C-1001")
    for mutated in (token + junk, token[:40] + junk + token[40:]):
        with pytest.raises(TokenError):
            verify_token(mutated)

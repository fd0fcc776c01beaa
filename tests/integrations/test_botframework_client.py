"""The Bot Framework client (bot/integrations/botframework.py) against the real local stand-in
(devservers/teams) over HTTP: incoming tokens, the bot token, the connector and its faults; the
cloud presets; the renderer from our bot messages to Teams activities."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization

from bot.config import load_botframework_settings
from bot.integrations.botframework import (
    CARD_CONTENT_TYPE,
    AuthError,
    BotFrameworkClient,
    BotFrameworkError,
    activity_from_message,
    submitted_text,
)
from bot.replies import Item, Reply
from devservers.teams import TeamsStandIn, bot_env, start
from devservers.teams.signing import Person, build_activity, generate_key, key_id, sign_channel_token

MEI = Person("a1a1a1a1-0000-4000-8000-000000000001")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
async def standin(tmp_path):
    server = TeamsStandIn(key_file=tmp_path / "standin" / "key.pem")
    runner, base = await start(server)
    server.base = base
    yield server
    await runner.cleanup()


@pytest.fixture()
def waits():
    return []


@pytest.fixture()
def client(standin, monkeypatch, waits):
    for name in [n for n in __import__("os").environ if n.startswith("BOTFRAMEWORK_")]:
        monkeypatch.delenv(name)
    for name, value in bot_env(int(standin.base.rsplit(":", 1)[1]), standin).items():
        monkeypatch.setenv(name, value)

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    made = BotFrameworkClient(load_botframework_settings(), sleep=sleep)
    made.keys.clock = Clock()
    return made


def _activity(standin, text="hello", **kwargs):
    return build_activity(MEI, text, service_url=f"{standin.base}/", app_id=standin.app_id, **kwargs)


def _token(standin, activity, key=None, **kwargs):
    kwargs.setdefault("issuer", standin.issuer)
    kwargs.setdefault("app_id", standin.app_id)
    kwargs.setdefault("service_url", activity["serviceUrl"])
    return sign_channel_token(key or standin.key, **kwargs)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(signature)])


async def admin(standin, method: str, path: str, body: dict | None = None):
    """The stand-in's admin endpoints (it serves on this test's event loop: never block it)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        async with session.request(method, f"{standin.base}{path}", json=body) as response:
            response.raise_for_status()
            return await response.json()


async def _refused(client, token, activity) -> str:
    with pytest.raises(AuthError) as caught:
        await client.authenticate(f"Bearer {token}", activity)
    return caught.value.reason


# --- incoming tokens ---------------------------------------------------------------------------

async def test_a_token_signed_by_the_published_key_for_this_activity_is_accepted(client, standin):
    activity = _activity(standin)
    claims = await client.authenticate(f"Bearer {_token(standin, activity)}", activity)
    assert claims["aud"] == standin.app_id and claims["serviceurl"] == activity["serviceUrl"]
    assert standin.stats["openid"] == 1 and standin.stats["keys"] == 1
    await client.authenticate(f"Bearer {_token(standin, activity)}", activity)
    assert standin.stats["keys"] == 1  # keys are cached


async def test_a_token_forged_with_another_key_under_the_published_kid_is_refused(client, standin):
    activity = _activity(standin)
    forged = _token(standin, activity, key=generate_key(), kid=key_id(standin.key))
    assert await _refused(client, forged, activity) == "signature"


@pytest.mark.parametrize("claim, value, reason", [
    ("app_id", "another-bots-app-id", "audience"),
    ("issuer", "https://api.botframework.com", "issuer"),
    ("service_url", "https://attacker.example/", "service_url"),
])
async def test_a_token_for_another_bot_issuer_or_service_is_refused(client, standin, claim, value, reason):
    activity = _activity(standin)
    assert await _refused(client, _token(standin, activity, **{claim: value}), activity) == reason


async def test_expired_and_not_yet_valid_tokens_are_refused_beyond_a_minute_of_skew(client, standin):
    activity = _activity(standin)
    now = datetime.now(timezone.utc)
    expired = _token(standin, activity, now=now - timedelta(minutes=10), lifetime=timedelta(minutes=8))
    assert await _refused(client, expired, activity) == "expired"
    skewed = _token(standin, activity, now=now - timedelta(minutes=10), lifetime=timedelta(minutes=9, seconds=30))
    await client.authenticate(f"Bearer {skewed}", activity)  # 30 s past exp: within the leeway
    future = _token(standin, activity, extra={"nbf": now + timedelta(minutes=5)})
    assert await _refused(client, future, activity) == "not_yet_valid"


async def test_alg_none_and_hs256_signed_with_the_public_key_are_refused(client, standin):
    activity = _activity(standin)
    claims = {"iss": standin.issuer, "aud": standin.app_id, "serviceurl": activity["serviceUrl"],
              "exp": int(datetime.now(timezone.utc).timestamp()) + 600}
    kid = key_id(standin.key)
    assert await _refused(client, _unsigned({"alg": "none", "typ": "JWT", "kid": kid}, claims), activity) == "algorithm"
    # The classic confusion: HMAC keyed with the (public) RSA key a verifier might hand to HS256.
    public_pem = standin.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = ".".join(_unsigned(header, claims).split(".")[:2]).encode()
    hs256 = _unsigned(header, claims, hmac.new(public_pem, signing_input, hashlib.sha256).digest())
    assert await _refused(client, hs256, activity) == "algorithm"


async def test_a_missing_or_malformed_authorization_is_refused(client, standin):
    activity = _activity(standin)
    for header in (None, "", "Basic abc", "Bearer not-a-jwt", f"Bearer {_token(standin, activity)} extra"):
        with pytest.raises(AuthError):
            await client.authenticate(header, activity)


async def test_a_key_endorsed_for_another_channel_is_refused(client, standin):
    activity = {**_activity(standin), "channelId": "webchat"}
    assert await _refused(client, _token(standin, activity), activity) == "not_endorsed"


async def test_an_unknown_kid_refreshes_the_keys_once_then_a_rotated_key_is_accepted(client, standin):
    activity = _activity(standin)
    await client.authenticate(f"Bearer {_token(standin, activity)}", activity)
    await admin(standin, "POST", "/_admin/rotate")
    client.keys.clock.now += 3600  # keys were read an hour ago
    await client.authenticate(f"Bearer {_token(standin, activity)}", activity)  # the new kid: one refresh
    assert standin.stats["keys"] == 2
    # A flood of made-up kids right after costs no request at all...
    for n in range(50):
        forged = _token(standin, activity, key=generate_key() if n == 0 else None, kid=f"bogus-{n}")
        assert await _refused(client, forged, activity) == "unknown_key"
    assert standin.stats["keys"] == 2 and standin.stats["openid"] == 2
    # ...and later at most one per minimum interval.
    client.keys.clock.now += 61
    for n in range(20):
        await _refused(client, _token(standin, activity, kid=f"bogus-again-{n}"), activity)
    assert standin.stats["keys"] == 3


async def test_keys_unavailable_refuses_then_recovers(client, standin):
    activity = _activity(standin)
    await _fault(standin, 503, 1, surface="keys")
    assert await _refused(client, _token(standin, activity), activity) == "unknown_key"
    client.keys.clock.now += 61
    await client.authenticate(f"Bearer {_token(standin, activity)}", activity)


async def test_without_an_app_id_every_activity_is_refused(standin, monkeypatch):
    monkeypatch.delenv("BOTFRAMEWORK_APP_ID", raising=False)
    activity = _activity(standin)
    unconfigured = BotFrameworkClient(load_botframework_settings())
    assert await _refused(unconfigured, _token(standin, activity), activity) == "unconfigured"


# --- the bot token and the connector ------------------------------------------------------------

def _recorded(standin):
    return standin.activities


async def _fault(standin, status, count, retry_after=None, surface="connector"):
    await admin(standin, "POST", "/_admin/faults",
                {"surface": surface, "status": status, "count": count, "retry_after": retry_after})


async def test_sends_reuse_one_bot_token_until_shortly_before_it_expires(client, standin):
    for n in range(3):
        assert await client.send_activity(f"{standin.base}/", "a:conv-1", {"type": "message", "text": f"hi {n}"})
    assert standin.stats["token"] == 1
    assert [a["activity"]["text"] for a in _recorded(standin)] == ["hi 0", "hi 1", "hi 2"]
    assert _recorded(standin)[0]["conversation_id"] == "a:conv-1"
    client.tokens.clock = lambda: 10**9  # far in the future: the cached token has expired
    await client.send_activity(f"{standin.base}/", "a:conv-1", {"type": "message", "text": "later"})
    assert standin.stats["token"] == 2


async def test_a_401_renews_the_bot_token_once(client, standin):
    await client.send_activity(standin.base, "a:c", {"type": "message", "text": "first"})
    await _fault(standin, 401, 1)
    await client.send_activity(standin.base, "a:c", {"type": "message", "text": "second"})
    assert standin.stats["token"] == 2 and len(_recorded(standin)) == 2
    await _fault(standin, 401, 5)
    with pytest.raises(BotFrameworkError) as caught:
        await client.send_activity(standin.base, "a:c", {"type": "message", "text": "third"})
    assert caught.value.status == 401 and standin.stats["token"] == 3  # renewed once, not in a loop


async def test_5xx_is_retried_with_backoff_then_given_up(client, standin, waits):
    await _fault(standin, 500, 2)
    await client.send_activity(standin.base, "a:c", {"type": "message", "text": "after two 500s"})
    assert len(_recorded(standin)) == 1 and waits == [0.5, 1.0]
    await _fault(standin, 503, 3)
    with pytest.raises(BotFrameworkError) as caught:
        await client.send_activity(standin.base, "a:c", {"type": "message", "text": "lost"})
    assert caught.value.status == 503 and len(_recorded(standin)) == 1


async def test_429_waits_retry_after_but_not_for_long(client, standin, waits):
    await _fault(standin, 429, 1, retry_after=2)
    await client.send_activity(standin.base, "a:c", {"type": "message", "text": "throttled once"})
    assert waits == [2.0] and len(_recorded(standin)) == 1
    await _fault(standin, 429, 1, retry_after=120)
    with pytest.raises(BotFrameworkError) as caught:
        await client.send_activity(standin.base, "a:c", {"type": "message", "text": "throttled long"})
    assert caught.value.status == 429 and waits == [2.0]


async def test_token_endpoint_failures_and_wrong_credentials_are_errors(client, standin, monkeypatch):
    await _fault(standin, 500, 1, surface="token")
    with pytest.raises(BotFrameworkError, match="token endpoint answered 500"):
        await client.send_activity(standin.base, "a:c", {"type": "message", "text": "x"})
    monkeypatch.setenv("BOTFRAMEWORK_APP_PASSWORD", "wrong")
    wrong = BotFrameworkClient(load_botframework_settings())
    with pytest.raises(BotFrameworkError, match="answered 401"):
        await wrong.send_activity(standin.base, "a:c", {"type": "message", "text": "x"})
    assert _recorded(standin) == []


async def test_an_unreachable_connector_is_an_error_not_a_crash(client, waits):
    with pytest.raises(BotFrameworkError, match="unreachable"):
        await client.send_activity("http://127.0.0.1:9", "a:c", {"type": "message", "text": "x"})


async def test_a_personal_conversation_is_created_and_found_again(client, standin):
    first = await client.create_conversation(standin.base, f"28:{standin.app_id}", MEI.user_id, MEI.tenant_id)
    again = await client.create_conversation(standin.base, f"28:{standin.app_id}", MEI.user_id, MEI.tenant_id)
    assert first == again and standin.conversations[first]["tenant_id"] == MEI.tenant_id


# --- cloud presets ---------------------------------------------------------------------------------

def test_cloud_presets_global_and_china(monkeypatch):
    for name in ("BOTFRAMEWORK_OPENID_URL", "BOTFRAMEWORK_TOKEN_URL", "BOTFRAMEWORK_ISSUER", "BOTFRAMEWORK_SCOPE"):
        monkeypatch.delenv(name, raising=False)
    tenant = "7d3c0c2e-1a1b-4c4c-9f00-1a5e5b0ca001"
    monkeypatch.setenv("BOTFRAMEWORK_TENANT_ID", tenant)
    expected = {
        "china": ("https://login.botframework.azure.cn/v1/.well-known/openidconfiguration",
                  f"https://login.partner.microsoftonline.cn/{tenant}/oauth2/v2.0/token",
                  "https://api.botframework.azure.cn/.default", "https://api.botframework.azure.cn"),
        "global": ("https://login.botframework.com/v1/.well-known/openidconfiguration",
                   f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
                   "https://api.botframework.com/.default", "https://api.botframework.com"),
    }
    for cloud, (openid_url, token_url, scope, issuer) in expected.items():
        monkeypatch.setenv("BOTFRAMEWORK_CLOUD", cloud)
        settings = load_botframework_settings()
        assert (settings.openid_url, settings.token_url, settings.scope, settings.issuer) == \
            (openid_url, token_url, scope, issuer), cloud
    monkeypatch.setenv("BOTFRAMEWORK_ISSUER", "https://teams-standin.invalid")
    assert load_botframework_settings().issuer == "https://teams-standin.invalid"


# --- our messages as activities ----------------------------------------------------------------------

def test_a_plain_reply_is_plain_text():
    activity = activity_from_message(Reply("greet", "en", "Hello!").message())
    assert activity == {"type": "message", "textFormat": "plain", "text": "Hello!"}


def test_label_value_rows_become_a_factset_and_buttons_submit_their_payload():
    reply = Reply("invoice", "en", "Invoice G000100002:", items=(Item(label="Amount", value="¥9,615.50"),
                                                                    Item(label="Due", value="Dec 5, 2026")),
                  footer="Pay by bank transfer.", buttons=({"title": "See the lines", "payload": "/ask_invoice_lines"},))
    activity = activity_from_message(reply.message())
    assert activity["text"] == "Invoice G000100002:"  # the rest is in the card, not said twice
    card = activity["attachments"][0]
    assert card["contentType"] == CARD_CONTENT_TYPE
    body = card["content"]["body"]
    assert body[0] == {"type": "FactSet", "facts": [{"title": "Amount", "value": "¥9,615.50"},
                                                    {"title": "Due", "value": "Dec 5, 2026"}]}
    assert body[1]["text"] == "Pay by bank transfer." and body[1]["isSubtle"]
    action = card["content"]["actions"][0]
    assert action["type"] == "Action.Submit" and action["title"] == "See the lines"
    assert action["data"]["payload"] == "/ask_invoice_lines"
    assert card["content"]["fallbackText"] == reply.plain()
    # Teams posts the pressed button's data back as the message's value.
    assert submitted_text({"type": "message", "text": "", "value": action["data"]}) == "/ask_invoice_lines"


def test_text_items_become_text_blocks_and_buttons_alone_keep_the_whole_text():
    listed = activity_from_message(Reply("overdue", "en", "Overdue:", items=(Item(text="G1, 10 days"),)).message())
    assert listed["attachments"][0]["content"]["body"] == [{"type": "TextBlock", "text": "• G1, 10 days",
                                                            "wrap": True}]
    confirm = activity_from_message({"text": "Shall I file it?", "buttons": [
        {"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]})
    assert confirm["text"] == "Shall I file it?"
    assert [a["data"]["payload"] for a in confirm["attachments"][0]["content"]["actions"]] == ["/affirm", "/deny"]


def test_an_app_id_without_its_tenant_is_a_configuration_error(monkeypatch):
    from bot.config import ConfigError

    monkeypatch.setenv("BOTFRAMEWORK_APP_ID", "6b7f2c1e-0000-4000-8000-00000000b0b0")
    monkeypatch.delenv("BOTFRAMEWORK_TENANT_ID", raising=False)
    with pytest.raises(ConfigError):
        load_botframework_settings()

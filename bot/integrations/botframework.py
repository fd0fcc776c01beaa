"""Client for Bot Framework's outside endpoints (Microsoft Teams), in either Azure cloud.

Why not Rasa's `botframework` channel: it hard-codes the global cloud (login.botframework.com,
login.microsoftonline.com, api.botframework.com), so a bot registered in Azure operated by
21Vianet can neither verify what Teams sends nor get a token to answer; it checks an incoming
token's signature and audience but not its issuer, nor that the token was issued for the
`serviceUrl` the activity asks us to post to, and it trusts the `alg` the token names; it fetches
keys with blocking `requests` calls without timeouts (at start-up: no network, no server), and an
unknown key id is refused until the daily refresh. Every endpoint here comes from
`load_botframework_settings()` (global or china presets, each overridable, so a local stand-in
can play Bot Framework), every call is async with a timeout, and every failure is logged and
raised as `BotFrameworkError`, never as whatever the HTTP library threw.

    OpenIdKeys        OpenID metadata -> jwks_uri -> signing keys; cached; an unknown `kid`
                      refreshes once, at most every `min_refresh_seconds`
    authenticate()    an incoming activity's `Authorization: Bearer` JWT (RS256 only)
    BotTokens         the bot's own token (client credentials), cached until shortly before expiry
    BotFrameworkClient  the above, plus the connector: post an activity, create a 1:1 conversation
    activity_from_message()  our bot message (text, buttons, custom.reply, custom.agent) as a Teams activity
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable
from urllib.parse import quote

import aiohttp
import jwt
from jwt.algorithms import RSAAlgorithm

from bot.config import BotFrameworkSettings
from bot.conversations.messages import agent_name

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"  # what Bot Framework signs with; the only algorithm accepted
LEEWAY_SECONDS = 60  # clock skew allowed on exp / nbf
SERVICE_URL_CLAIM = "serviceurl"  # as the Bot Framework SDKs name it
KEYS_MAX_AGE_SECONDS = 24 * 3600  # keys are re-read daily even when every kid is known
MIN_KEY_REFRESH_SECONDS = 60.0  # an unknown kid refreshes the keys at most this often
TOKEN_EARLY_SECONDS = 300  # a bot token is renewed this long before it expires
MAX_RETRY_AFTER_SECONDS = 10.0  # a longer Retry-After is not waited for: the send fails
ATTEMPTS = 3
_BEARER = re.compile(r"Bearer +([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*)")


class BotFrameworkError(Exception):
    """A call to Bot Framework failed; `str()` is one line, safe to log (no token, no body)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class AuthError(Exception):
    """An incoming activity's token is refused; `reason` is a short code for the log."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _timeout(settings: BotFrameworkSettings) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=settings.timeout_seconds, connect=min(5.0, settings.timeout_seconds))


async def _get_json(url: str, settings: BotFrameworkSettings, what: str) -> Any:
    try:
        async with aiohttp.ClientSession(timeout=_timeout(settings)) as session:
            async with session.get(url) as response:
                if response.status != 200:
                    raise BotFrameworkError(f"{what}: {url} answered {response.status}", response.status)
                return json.loads(await response.read())
    except BotFrameworkError:
        raise
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise BotFrameworkError(f"{what}: {url} unreachable ({type(exc).__name__})") from exc
    except ValueError as exc:
        raise BotFrameworkError(f"{what}: {url} answered with a body that is not JSON") from exc


# --- incoming: who signed this activity ---------------------------------------------------------

class OpenIdKeys:
    """The signing keys Bot Framework publishes (OpenID metadata -> jwks_uri), cached.

    Fetched lazily (the first activity, not the server's start, needs them); re-read when a token
    names a `kid` we don't know (keys rotate), but at most once every `min_refresh_seconds`
    whatever the outcome, so a flood of tokens with made-up kids costs one request, not thousands.
    One refresh at a time: concurrent unknown kids wait for it."""

    def __init__(self, settings: BotFrameworkSettings, *, min_refresh_seconds: float = MIN_KEY_REFRESH_SECONDS,
                 max_age_seconds: float = KEYS_MAX_AGE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.min_refresh_seconds = min_refresh_seconds
        self.max_age_seconds = max_age_seconds
        self.clock = clock
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock: asyncio.Lock | None = None
        self.refreshes = 0  # attempts, for tests and logs

    def _stale(self, now: float) -> bool:
        return self._fetched_at is None or now - self._fetched_at > self.max_age_seconds

    def _may_refresh(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self.min_refresh_seconds

    async def key(self, kid: str) -> dict[str, Any] | None:
        if kid in self._keys and not self._stale(self.clock()):
            return self._keys[kid]
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            now = self.clock()
            if (kid not in self._keys or self._stale(now)) and self._may_refresh(now):
                self._attempted_at = now
                self.refreshes += 1
                try:
                    self._keys = await self._fetch()
                    self._fetched_at = now
                    logger.info("read %d Bot Framework signing keys", len(self._keys))
                except BotFrameworkError as exc:
                    logger.error("could not read Bot Framework's signing keys (keeping %d cached): %s",
                                 len(self._keys), exc)
        return self._keys.get(kid)

    async def _fetch(self) -> dict[str, dict[str, Any]]:
        metadata = await _get_json(self.settings.openid_url, self.settings, "OpenID metadata")
        jwks_uri = metadata.get("jwks_uri") if isinstance(metadata, dict) else None
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise BotFrameworkError("OpenID metadata without a jwks_uri")
        document = await _get_json(jwks_uri, self.settings, "signing keys")
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise BotFrameworkError("signing keys: no 'keys' list")
        found = {k["kid"]: k for k in keys if isinstance(k, dict) and isinstance(k.get("kid"), str)
                 and k.get("kty") == "RSA"}
        if not found:
            raise BotFrameworkError("signing keys: no RSA key")
        return found


async def authenticate(keys: OpenIdKeys, settings: BotFrameworkSettings, authorization: str | None,
                       activity: dict[str, Any]) -> dict[str, Any]:
    """The claims of a valid token for this activity; AuthError otherwise. Checked: RS256 only;
    signature by the published key the token names (endorsed for the activity's channel); issuer;
    audience = our app id; exp/nbf with LEEWAY_SECONDS; the `serviceurl` claim equals the
    activity's `serviceUrl` (else a token for one conversation service could send us to post,
    with our bot token, anywhere)."""
    if not settings.app_id:
        raise AuthError("unconfigured", "BOTFRAMEWORK_APP_ID is not set")
    match = _BEARER.fullmatch((authorization or "").strip())
    if not match:
        raise AuthError("no_bearer_token")
    token = match.group(1)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthError("malformed", type(exc).__name__) from exc
    if header.get("alg") != ALGORITHM:
        raise AuthError("algorithm", repr(header.get("alg"))[:20])
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > 200:
        raise AuthError("no_key_id")
    jwk = await keys.key(kid)
    if jwk is None:
        raise AuthError("unknown_key", kid[:64])
    channel_id = activity.get("channelId")
    endorsements = jwk.get("endorsements")
    if isinstance(endorsements, list) and channel_id and channel_id not in endorsements:
        raise AuthError("not_endorsed", str(channel_id)[:32])
    try:
        public_key = RSAAlgorithm.from_jwk(jwk)
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise AuthError("bad_key", kid[:64]) from exc
    try:
        claims = jwt.decode(token, public_key, algorithms=[ALGORITHM], audience=settings.app_id,
                            issuer=settings.issuer, leeway=LEEWAY_SECONDS,
                            options={"require": ["exp", "iss", "aud"]})
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise AuthError("not_yet_valid") from exc
    except jwt.InvalidAudienceError as exc:
        raise AuthError("audience") from exc
    except jwt.InvalidIssuerError as exc:
        raise AuthError("issuer") from exc
    except jwt.InvalidSignatureError as exc:
        raise AuthError("signature") from exc
    except jwt.PyJWTError as exc:
        raise AuthError("invalid", type(exc).__name__) from exc
    service_url = activity.get("serviceUrl")
    if not isinstance(service_url, str) or claims.get(SERVICE_URL_CLAIM) != service_url:
        raise AuthError("service_url")
    return claims


# --- outgoing: the bot's token and the connector ------------------------------------------------

class BotTokens:
    """The bot's access token (OAuth client credentials at settings.token_url), cached until
    TOKEN_EARLY_SECONDS before it expires; `get(refused=token)` after a 401 renews it (once, however
    many sends were refused with that token at the same time)."""

    def __init__(self, settings: BotFrameworkSettings, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock: asyncio.Lock | None = None
        self.requests = 0

    async def get(self, refused: str | None = None) -> str:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._token and self.clock() < self._expires_at and self._token != refused:
                return self._token
            self._token, lifetime = await self._request()
            self._expires_at = self.clock() + max(lifetime - min(TOKEN_EARLY_SECONDS, lifetime / 2), 0)
            return self._token

    async def _request(self) -> tuple[str, float]:
        settings = self.settings
        if not settings.app_id or not settings.app_password:
            raise BotFrameworkError("no bot credentials: BOTFRAMEWORK_APP_ID / BOTFRAMEWORK_APP_PASSWORD unset")
        form = {"grant_type": "client_credentials", "client_id": settings.app_id,
                "client_secret": settings.app_password, "scope": settings.scope}
        self.requests += 1
        try:
            async with aiohttp.ClientSession(timeout=_timeout(settings)) as session:
                async with session.post(settings.token_url, data=form) as response:
                    status, raw = response.status, await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise BotFrameworkError(f"token endpoint unreachable ({type(exc).__name__})") from exc
        if status != 200:
            raise BotFrameworkError(f"token endpoint answered {status}", status)
        try:
            body = json.loads(raw)
            token, lifetime = body["access_token"], float(body["expires_in"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BotFrameworkError("token endpoint answered without access_token/expires_in") from exc
        if not isinstance(token, str) or not token or lifetime <= 0:
            raise BotFrameworkError("token endpoint answered an empty token")
        return token, lifetime


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 1.0
    except ValueError:
        return 1.0


class BotFrameworkClient:
    """One per channel: the keys for incoming activities, the bot token and the connector."""

    def __init__(self, settings: BotFrameworkSettings, *, attempts: int = ATTEMPTS,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 min_key_refresh_seconds: float = MIN_KEY_REFRESH_SECONDS):
        self.settings = settings
        self.keys = OpenIdKeys(settings, min_refresh_seconds=min_key_refresh_seconds)
        self.tokens = BotTokens(settings)
        self.attempts = max(1, attempts)
        self.sleep = sleep

    async def authenticate(self, authorization: str | None, activity: dict[str, Any]) -> dict[str, Any]:
        return await authenticate(self.keys, self.settings, authorization, activity)

    async def send_activity(self, service_url: str, conversation_id: str, activity: dict[str, Any]) -> str | None:
        """POST {serviceUrl}/v3/conversations/{id}/activities; the new activity's id, if given."""
        url = f"{_base(service_url)}/v3/conversations/{quote(conversation_id, safe='')}/activities"
        body = await self._post(url, activity, "send activity")
        return body.get("id") if isinstance(body.get("id"), str) else None

    async def create_conversation(self, service_url: str, bot_id: str, user_id: str, tenant_id: str | None) -> str:
        """POST {serviceUrl}/v3/conversations: the 1:1 (personal) conversation with a user; Teams
        answers the existing one when there is one."""
        payload: dict[str, Any] = {"isGroup": False, "bot": {"id": bot_id}, "members": [{"id": user_id}]}
        if tenant_id:
            payload["tenantId"] = tenant_id
            payload["channelData"] = {"tenant": {"id": tenant_id}}
        body = await self._post(f"{_base(service_url)}/v3/conversations", payload, "create conversation")
        conversation_id = body.get("id")
        if not isinstance(conversation_id, str) or not conversation_id:
            raise BotFrameworkError("create conversation: no conversation id in the answer")
        return conversation_id

    async def _post(self, url: str, payload: dict[str, Any], what: str) -> dict[str, Any]:
        """One connector call: a 401 renews the bot token once; 429 waits Retry-After (up to
        MAX_RETRY_AFTER_SECONDS) and 5xx backs off, `attempts` times in all; a connection that
        could not be opened is retried, a read timeout is not (the activity may have been posted)."""
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            token = await self.tokens.get()
            try:
                async with aiohttp.ClientSession(timeout=_timeout(self.settings)) as session:
                    async with session.post(url, json=payload, headers={"Authorization": f"Bearer {token}"}) as resp:
                        status, raw, retry_after = resp.status, await resp.read(), resp.headers.get("Retry-After")
            except aiohttp.ClientConnectorError as exc:
                if attempt < self.attempts:
                    logger.warning("%s: cannot connect (%s), attempt %d", what, type(exc).__name__, attempt)
                    await self.sleep(0.5 * attempt)
                    continue
                raise BotFrameworkError(f"{what}: connector unreachable ({type(exc).__name__})") from exc
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise BotFrameworkError(f"{what}: no answer from the connector ({type(exc).__name__})") from exc
            if 200 <= status < 300:
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except ValueError:
                    body = {}
                return body if isinstance(body, dict) else {}
            if status == 401 and not renewed:
                renewed = True
                logger.warning("%s: the connector refused the bot token (401); renewing it once", what)
                await self.tokens.get(refused=token)
                attempt -= 1  # the renewal is not one of the attempts
                continue
            if status == 429 or status >= 500:
                wait = _retry_after(retry_after) if status == 429 else 0.5 * attempt
                if attempt < self.attempts and wait <= MAX_RETRY_AFTER_SECONDS:
                    logger.warning("%s: connector answered %d; trying again in %.1fs", what, status, wait)
                    await self.sleep(wait)
                    continue
            raise BotFrameworkError(f"{what}: connector answered {status}", status)


def _base(service_url: str) -> str:
    return service_url.rstrip("/")


# --- our bot messages as Teams activities ---------------------------------------------------------

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
PAYLOAD_KEY = "payload"  # in an Action.Submit's data: what the button sends back as the user's text


def submitted_text(activity: dict[str, Any]) -> str | None:
    """The payload of a card button the user pressed (Teams posts its `data` as `value`)."""
    value = activity.get("value")
    if isinstance(value, dict) and isinstance(value.get(PAYLOAD_KEY), str):
        return value[PAYLOAD_KEY]
    return None


def activity_from_message(message: dict[str, Any]) -> dict[str, Any]:
    """A bot message as a Teams message activity: plain text, and an Adaptive Card when the reply
    has items or buttons (items: a FactSet for label/value rows, else one TextBlock each; the
    footer; buttons as Action.Submit whose data carries the payload). The text then says only the
    reply's lead, so nothing is shown twice; the card's fallbackText is the whole reply."""
    plain = str(message.get("text") or "")
    name = agent_name(message)
    if name is not None and plain:
        return _agent_activity(name, plain)
    reply = (message.get("custom") or {}).get("reply") if isinstance(message.get("custom"), dict) else None
    reply = reply if isinstance(reply, dict) else {}
    items = [i for i in reply.get("items") or [] if isinstance(i, dict)]
    buttons = [b for b in message.get("buttons") or [] if isinstance(b, dict) and b.get("title") and b.get("payload")]
    activity: dict[str, Any] = {"type": "message", "textFormat": "plain", "text": plain}
    if not items and not buttons:
        return activity
    body: list[dict[str, Any]] = []
    facts = [{"title": str(i["label"]), "value": str(i.get("value", ""))} for i in items if i.get("label")]
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    body += [{"type": "TextBlock", "text": f"• {i['text']}", "wrap": True}
             for i in items if not i.get("label") and i.get("text")]
    if reply.get("footer"):
        body.append({"type": "TextBlock", "text": str(reply["footer"]), "wrap": True, "isSubtle": True})
    actions = [{"type": "Action.Submit", "title": str(b["title"]),
                # messageBack: Teams shows the title as what the user said, and posts the payload.
                "data": {PAYLOAD_KEY: str(b["payload"]),
                         "msteams": {"type": "messageBack", "displayText": str(b["title"]),
                                     "text": str(b["payload"])}}}
               for b in buttons]
    card: dict[str, Any] = {"type": "AdaptiveCard", "version": "1.4",
                            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                            "body": body, "fallbackText": plain}
    if actions:
        card["actions"] = actions
    if items or reply.get("footer"):
        activity["text"] = str(reply.get("text") or "")
    activity["attachments"] = [{"contentType": CARD_CONTENT_TYPE, "content": card}]
    return activity


def _agent_activity(name: str, text: str) -> dict[str, Any]:
    """A support agent's words (bot/handoff/queue.py): a card with their name in bold over the words,
    so the staff member sees who answers (Teams shows every message as the bot's); `summary` is what
    notifications show."""
    card = {"type": "AdaptiveCard", "version": "1.4", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "body": [{"type": "TextBlock", "text": name, "weight": "Bolder", "color": "Accent", "wrap": True},
                     {"type": "TextBlock", "text": text, "wrap": True}],
            "fallbackText": f"{name}: {text}"}
    return {"type": "message", "textFormat": "plain", "text": "", "summary": f"{name}: {text}",
            "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}]}


def typing_activity(bot_id: str, user_id: str, conversation_id: str) -> dict[str, Any]:
    """Bot Framework's typing indicator: Teams shows "… is typing" for a few seconds, or until
    the next message."""
    return {"type": "typing", "from": {"id": bot_id}, "recipient": {"id": user_id},
            "conversation": {"id": conversation_id}}


@dataclass(frozen=True)
class TeamsAddress:
    """Where a Teams conversation is (what the channel remembers with every message)."""

    service_url: str
    conversation_id: str
    conversation_type: str  # personal | groupChat | channel
    user_id: str  # the user's id in the conversation service (29:...)
    tenant_id: str | None
    bot_id: str
    reply_to_id: str | None = None
    aad_object_id: str | None = None
    personal_conversation_id: str | None = None  # the 1:1 chat with the user, once known

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> "TeamsAddress | None":
        try:
            return cls(**{k: values.get(k) for k in cls.__dataclass_fields__})
        except TypeError:
            return None

    @property
    def complete(self) -> bool:
        return all(isinstance(v, str) and v for v in (self.service_url, self.conversation_id, self.user_id,
                                                       self.bot_id))

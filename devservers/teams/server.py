"""A local stand-in for Bot Framework as Microsoft Teams uses it (aiohttp).

Why: the Teams channel (bot/channels/botframework.py) verifies every activity against keys Bot
Framework publishes and answers through Bot Framework's connector with a token it gets from the
login service; none of that can run against the real cloud in demos or tests. This server plays
all three parts over real HTTP:

    GET  /v1/.well-known/openidconfiguration    OpenID metadata; its jwks_uri is below
    GET  /v1/.well-known/keys                   the public signing key(s) (JWKS, endorsed for msteams)
    POST /{tenant}/oauth2/v2.0/token            client credentials: checks app id, password, scope
    POST /v3/conversations/{id}/activities      the connector: checks the bot token, records the activity
                                                (a message, or a typing indicator)
    POST /v3/conversations                      creates (or finds) a 1:1 conversation with a user

and, unauthenticated and for local use only (bind 127.0.0.1):

    GET  /_admin/health | /_admin/config | /_admin/stats
    GET  /_admin/activities    what the bot sent (POST /_admin/reset forgets it)
    POST /_admin/faults        {"surface": "connector"|"token"|"keys", "status": 500|429|401|..., "count": N,
                               "retry_after": seconds}: the next N calls to that surface fail so
    POST /_admin/rotate        a new signing key (the old one is no longer published)

The private key is generated at first start into `key_file` (owner-only; under var/ or a temp
dir, never committed); `python -m devservers.teams say` signs activities with it.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from devservers.teams.signing import (
    DEFAULT_APP_ID,
    DEFAULT_APP_PASSWORD,
    DEFAULT_SCOPE,
    DEFAULT_TENANT_ID,
    generate_key,
    key_id,
    load_or_create_key,
    public_jwk,
)

DEFAULT_PORT = 8767
DEFAULT_ISSUER = "https://teams-standin.invalid"  # .invalid: never a real issuer
TOKEN_LIFETIME_SECONDS = 3600
SURFACES = ("connector", "token", "keys")


@dataclass
class Fault:
    status: int
    count: int
    retry_after: float | None = None


@dataclass
class TeamsStandIn:
    key_file: Path
    issuer: str = DEFAULT_ISSUER
    app_id: str = DEFAULT_APP_ID
    app_password: str = DEFAULT_APP_PASSWORD
    scope: str = DEFAULT_SCOPE
    tenant_id: str = DEFAULT_TENANT_ID
    public_url: str | None = None  # how the bot reaches us; default: the Host of each request
    token_lifetime: int = TOKEN_LIFETIME_SECONDS
    activities: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=lambda: {"openid": 0, "keys": 0, "token": 0, "connector": 0,
                                                           "refused": 0})

    def __post_init__(self) -> None:
        self.key = load_or_create_key(self.key_file)
        self.tokens: dict[str, float] = {}  # bot tokens issued -> expiry (monotonic)
        self.conversations: dict[str, dict[str, Any]] = {}  # 1:1 conversations created, by id
        self.faults: dict[str, Fault] = {}

    # --- helpers ---------------------------------------------------------------------------------
    def base_url(self, request: web.Request) -> str:
        return (self.public_url or f"{request.scheme}://{request.host}").rstrip("/")

    def _fault(self, surface: str) -> web.Response | None:
        fault = self.faults.get(surface)
        if fault is None or fault.count <= 0:
            return None
        fault.count -= 1
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        return web.json_response({"error": {"code": "InjectedFault", "message": f"injected {fault.status}"}},
                                 status=fault.status, headers=headers)

    def _bot_token_ok(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer "):] if header.startswith("Bearer ") else ""
        expiry = self.tokens.get(token)
        return expiry is not None and time.monotonic() < expiry

    # --- Bot Framework's side ----------------------------------------------------------------------
    async def openid(self, request: web.Request) -> web.Response:
        self.stats["openid"] += 1
        base = self.base_url(request)
        fault = self._fault("keys")
        return fault if fault is not None else web.json_response({
            "issuer": self.issuer, "authorization_endpoint": f"{base}/{self.tenant_id}/oauth2/v2.0/authorize",
            "jwks_uri": f"{base}/v1/.well-known/keys", "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"]})

    async def jwks(self, _request: web.Request) -> web.Response:
        self.stats["keys"] += 1
        fault = self._fault("keys")
        return fault if fault is not None else web.json_response({"keys": [public_jwk(self.key)]})

    async def token(self, request: web.Request) -> web.Response:
        self.stats["token"] += 1
        fault = self._fault("token")
        if fault is not None:  # (a Response is a mapping: an empty one is falsy)
            return fault
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if form.get("client_id") != self.app_id or not secrets.compare_digest(
                str(form.get("client_secret", "")), self.app_password):
            return web.json_response({"error": "invalid_client"}, status=401)
        if form.get("scope") != self.scope:
            return web.json_response({"error": "invalid_scope"}, status=400)
        token = secrets.token_urlsafe(32)
        self.tokens[token] = time.monotonic() + self.token_lifetime
        return web.json_response({"token_type": "Bearer", "expires_in": self.token_lifetime,
                                  "ext_expires_in": self.token_lifetime, "access_token": token})

    def _connector_refusal(self, request: web.Request) -> web.Response | None:
        """An injected fault, or 401 without a bot token we issued; None when the call may go on."""
        self.stats["connector"] += 1
        fault = self._fault("connector")
        if fault is not None:  # (a Response is a mapping: an empty one is falsy)
            return fault
        if not self._bot_token_ok(request):
            self.stats["refused"] += 1
            return web.json_response({"error": {"code": "Unauthorized", "message": "bad bot token"}}, status=401)
        return None

    async def post_activity(self, request: web.Request) -> web.Response:
        refusal = self._connector_refusal(request)
        if refusal is not None:
            return refusal
        try:
            activity = await request.json()
        except ValueError:
            return web.json_response({"error": {"code": "BadArgument", "message": "not JSON"}}, status=400)
        if not isinstance(activity, dict) or activity.get("type") not in ("message", "typing"):
            return web.json_response({"error": {"code": "BadArgument", "message": "not a message or typing"}},
                                     status=400)
        activity_id = f"1:{secrets.token_hex(12)}"
        self.activities.append({"conversation_id": request.match_info["conversation_id"], "id": activity_id,
                                "activity": activity, "received_at": time.time()})
        return web.json_response({"id": activity_id})

    async def create_conversation(self, request: web.Request) -> web.Response:
        refusal = self._connector_refusal(request)
        if refusal is not None:
            return refusal
        try:
            body = await request.json()
            members = body["members"]
            user_id = members[0]["id"]
        except (ValueError, KeyError, IndexError, TypeError):
            return web.json_response({"error": {"code": "BadArgument", "message": "members"}}, status=400)
        if body.get("isGroup") or len(members) != 1:
            return web.json_response({"error": {"code": "BadArgument", "message": "1:1 only"}}, status=400)
        conversation_id = "a:" + user_id.removeprefix("29:")  # Teams answers the same 1:1 chat each time
        self.conversations[conversation_id] = {"user_id": user_id, "tenant_id": body.get("tenantId"),
                                               "bot": body.get("bot")}
        return web.json_response({"id": conversation_id})

    # --- admin -------------------------------------------------------------------------------------
    async def health(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def config(self, request: web.Request) -> web.Response:
        base = self.base_url(request)
        return web.json_response({
            "issuer": self.issuer, "app_id": self.app_id, "tenant_id": self.tenant_id, "kid": key_id(self.key),
            "service_url": f"{base}/", "openid_url": f"{base}/v1/.well-known/openidconfiguration",
            "token_url": f"{base}/{self.tenant_id}/oauth2/v2.0/token", "key_file": str(self.key_file)})

    async def list_activities(self, _request: web.Request) -> web.Response:
        return web.json_response({"activities": self.activities, "conversations": self.conversations})

    async def reset(self, _request: web.Request) -> web.Response:
        self.activities.clear()
        self.conversations.clear()
        self.faults.clear()
        for name in self.stats:
            self.stats[name] = 0
        return web.json_response({"status": "reset"})

    async def get_stats(self, _request: web.Request) -> web.Response:
        return web.json_response(self.stats)

    async def set_faults(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            surface, status, count = body.get("surface", "connector"), int(body["status"]), int(body.get("count", 1))
            retry_after = float(body["retry_after"]) if body.get("retry_after") is not None else None
        except (ValueError, KeyError, TypeError, AttributeError):
            return web.json_response({"error": "want {surface, status, count, retry_after}"}, status=400)
        if surface not in SURFACES or not 400 <= status <= 599 or count < 0:
            return web.json_response({"error": f"surface one of {SURFACES}, status 4xx/5xx"}, status=400)
        self.faults[surface] = Fault(status, count, retry_after)
        return web.json_response({s: vars(f) for s, f in self.faults.items()})

    async def rotate(self, _request: web.Request) -> web.Response:
        """A new signing key, written over the key file so `say` signs with it too."""
        from cryptography.hazmat.primitives import serialization

        self.key = generate_key()
        pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
        self.key_file.write_bytes(pem)
        return web.json_response({"kid": key_id(self.key)})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1_000_000)
        app.add_routes([
            web.get("/v1/.well-known/openidconfiguration", self.openid),
            web.get("/v1/.well-known/keys", self.jwks),
            web.post("/{tenant}/oauth2/v2.0/token", self.token),
            web.post("/v3/conversations/{conversation_id}/activities", self.post_activity),
            web.post("/v3/conversations", self.create_conversation),
            web.get("/_admin/health", self.health),
            web.get("/_admin/config", self.config),
            web.get("/_admin/activities", self.list_activities),
            web.post("/_admin/reset", self.reset),
            web.get("/_admin/stats", self.get_stats),
            web.post("/_admin/faults", self.set_faults),
            web.post("/_admin/rotate", self.rotate),
        ])
        return app


async def start(standin: TeamsStandIn, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, str]:
    """Serve on the running event loop (tests); returns the runner and the base URL."""
    runner = web.AppRunner(standin.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    return runner, f"http://{host}:{bound}"


def bot_env(port: int, standin: TeamsStandIn | None = None, host: str = "127.0.0.1") -> dict[str, str]:
    """The Rasa server's environment for a stand-in at host:port (the launcher and the e2e tests)."""
    base = f"http://{host}:{port}"
    tenant = standin.tenant_id if standin else DEFAULT_TENANT_ID
    return {"BOTFRAMEWORK_CLOUD": "global",
            "BOTFRAMEWORK_OPENID_URL": f"{base}/v1/.well-known/openidconfiguration",
            "BOTFRAMEWORK_TOKEN_URL": f"{base}/{tenant}/oauth2/v2.0/token",
            "BOTFRAMEWORK_ISSUER": standin.issuer if standin else DEFAULT_ISSUER,
            "BOTFRAMEWORK_APP_ID": standin.app_id if standin else DEFAULT_APP_ID,
            "BOTFRAMEWORK_APP_PASSWORD": standin.app_password if standin else DEFAULT_APP_PASSWORD,
            "BOTFRAMEWORK_TENANT_ID": tenant}

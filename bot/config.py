"""Every setting of the project, read from the environment here and nowhere else.

Settings are read when asked for (not at import time), so tests and commands can set the
environment first. Defaults are the embedded, one-command configuration: SQLite in `var/`,
local processes, English (United States) formatting.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = REPO_ROOT / "var"
SPACY_PIPELINE_DIR = REPO_ROOT / "bot" / "nlp" / "pipeline"

# Only for local development: a fixed secret would let anyone mint tokens, so any environment
# other than development or test refuses to start without BOT_TOKEN_SECRET.
_DEV_TOKEN_SECRET = "dev-only-secret-change-me-0123456789abcdef"
DEV_ENVIRONMENTS = ("development", "test")


class ConfigError(RuntimeError):
    """A required setting is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    environment: str
    database_url: str
    token_secret: str
    token_ttl_minutes: int
    locale: str
    currency_display: str  # "code" (CNY 1,234.00) or "symbol" (CN¥1,234.00)
    today_override: date | None
    rasa_url: str
    rasa_api_token: str | None  # Rasa's HTTP API, used to push news into conversations
    local_vianet: bool  # without VIANET_API_URL, run the local 21Vianet stand-in as the upstream
    upstream_language: str  # the language of what 21Vianet receives: "en" or "zh"
    timezone: str  # the partner's time zone: times shown to staff (the audit log), "today"

    def today(self) -> date:
        """The business date. BOT_TODAY pins it for demos and tests that need a fixed clock."""
        return self.today_override or date.today()


def _default_database_url() -> str:
    return f"sqlite:///{VAR_DIR / 'billing.sqlite3'}"


def load_settings() -> Settings:
    env = os.environ
    environment = env.get("BOT_ENV", "development")
    secret = env.get("BOT_TOKEN_SECRET", "")
    if not secret:
        if environment not in DEV_ENVIRONMENTS:
            raise ConfigError(f"BOT_TOKEN_SECRET must be set when BOT_ENV={environment}")
        secret = _DEV_TOKEN_SECRET
    if len(secret) < 32:
        raise ConfigError("BOT_TOKEN_SECRET must be at least 32 characters")

    today_raw = env.get("BOT_TODAY", "").strip()
    try:
        today_override = date.fromisoformat(today_raw) if today_raw else None
    except ValueError as exc:
        raise ConfigError(f"BOT_TODAY must be YYYY-MM-DD, got {today_raw!r}") from exc

    currency_display = env.get("BOT_CURRENCY_DISPLAY", "code")
    if currency_display not in ("code", "symbol"):
        raise ConfigError("BOT_CURRENCY_DISPLAY must be 'code' or 'symbol'")

    return Settings(
        environment=environment,
        database_url=env.get("BOT_DATABASE_URL", "") or _default_database_url(),
        token_secret=secret,
        token_ttl_minutes=int(env.get("BOT_TOKEN_TTL_MINUTES", "60")),
        locale=env.get("BOT_LOCALE", "en_US"),
        currency_display=currency_display,
        today_override=today_override,
        rasa_url=env.get("RASA_URL", "http://localhost:5005"),
        rasa_api_token=env.get("RASA_API_TOKEN") or None,
        local_vianet=env.get("BOT_LOCAL_VIANET", "true").lower() not in ("false", "0", "no"),
        upstream_language=_choice("VIANET_LANGUAGE", env.get("VIANET_LANGUAGE", "en"), ("en", "zh")),
        timezone=_time_zone(env.get("BOT_TIMEZONE", "").strip() or "Asia/Shanghai"),
    )


def _time_zone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"BOT_TIMEZONE must be an IANA time zone like Asia/Shanghai, got {name!r}") from exc
    return name


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


# --- 21Vianet Partner Center: where disputes we cannot settle are escalated --------------------


@dataclass(frozen=True, repr=False)
class VianetSettings:
    """The 21Vianet service-request API. base_url None means no upstream: escalation is off."""

    base_url: str | None
    token: str | None
    timeout_connect: float
    timeout_read: float
    agent_locale: str

    def __repr__(self) -> str:  # never show the token in logs or tracebacks
        token = "set" if self.token else "unset"
        return (
            f"VianetSettings(base_url={self.base_url!r}, token=<{token}>, "
            f"timeout_connect={self.timeout_connect}, timeout_read={self.timeout_read}, "
            f"agent_locale={self.agent_locale!r})"
        )


def _vianet_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from exc
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number of seconds")
    return value


def load_vianet_settings() -> VianetSettings:
    env = os.environ
    base_url = env.get("VIANET_API_URL", "").strip().rstrip("/") or None
    token = env.get("VIANET_API_TOKEN", "").strip() or None
    if base_url is not None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError("VIANET_API_URL must be an http(s) URL")
        if token is None:
            raise ConfigError("VIANET_API_TOKEN must be set when VIANET_API_URL is set")
    locale = env.get("VIANET_AGENT_LOCALE", "").strip() or "en-US"
    if not all(part.isalnum() and part.isascii() for part in locale.split("-")):
        raise ConfigError(f"VIANET_AGENT_LOCALE must look like en-US, got {locale!r}")
    return VianetSettings(
        base_url=base_url,
        token=token,
        timeout_connect=_vianet_seconds("VIANET_TIMEOUT_CONNECT", 3.0),
        timeout_read=_vianet_seconds("VIANET_TIMEOUT_READ", 10.0),
        agent_locale=locale,
    )


# --- Escalation worker: relays escalations to 21Vianet, polls their status ---------------------

# The support topic 21Vianet files billing disputes under ("Billing – Invoice dispute").
VIANET_BILLING_DISPUTE_TOPIC_ID = 32444671
ESCALATION_CRASH_POINTS = ("after_claim", "after_send")


@dataclass(frozen=True)
class EscalationSettings:
    """How the escalation worker paces itself. Every duration is in seconds."""

    worker_interval: float  # pause between two passes of the worker loop
    poll_interval: float  # how often one open ticket's status is fetched from 21Vianet
    max_attempts: int  # send attempts before an escalation goes to the partner-staff queue
    backoff_base: float  # first retry waits up to this long (full jitter), doubling each attempt
    backoff_cap: float  # ...but never longer than this
    lease_seconds: float  # a claimed row whose worker died is retried after this long
    breaker_threshold: int  # consecutive retryable failures that open the circuit breaker
    breaker_cooldown: float  # how long an open breaker stops every call to 21Vianet
    batch_size: int  # rows handled per kind of work in one pass
    push_attempts: int  # tries to push a "your ticket is resolved" message into an open chat
    support_topic_id: int
    severity: str  # minimal | moderate | critical
    contact_email: str | None  # PrimaryContact e-mail of the partner's billing desk, if any
    notify_hook: str | None  # "module:function" that pushes notifications into chats
    crash_at: str | None  # test hook: the worker exits abruptly at this point (never in production)


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < 1:
        raise ConfigError(f"{name} must be at least 1")
    return value


def load_escalation_settings() -> EscalationSettings:
    env = os.environ
    severity = env.get("VIANET_SEVERITY", "").strip().lower() or "moderate"
    if severity not in ("minimal", "moderate", "critical"):
        raise ConfigError("VIANET_SEVERITY must be minimal, moderate or critical")
    notify_hook = env.get("ESCALATION_NOTIFY_HOOK", "").strip() or None
    if notify_hook is not None and ":" not in notify_hook:
        raise ConfigError("ESCALATION_NOTIFY_HOOK must look like package.module:function")
    crash_at = env.get("ESCALATION_TEST_CRASH_AT", "").strip() or None
    if crash_at is not None:
        if env.get("BOT_ENV", "development") == "production":
            raise ConfigError("ESCALATION_TEST_CRASH_AT is a test hook and is refused with BOT_ENV=production")
        if crash_at not in ESCALATION_CRASH_POINTS:
            raise ConfigError(f"ESCALATION_TEST_CRASH_AT must be one of {', '.join(ESCALATION_CRASH_POINTS)}")
    return EscalationSettings(
        worker_interval=_vianet_seconds("ESCALATION_WORKER_INTERVAL", 5.0),
        poll_interval=_vianet_seconds("ESCALATION_POLL_INTERVAL", 60.0),
        max_attempts=_positive_int("ESCALATION_MAX_ATTEMPTS", 8),
        backoff_base=_vianet_seconds("ESCALATION_BACKOFF_BASE", 2.0),
        backoff_cap=_vianet_seconds("ESCALATION_BACKOFF_CAP", 600.0),
        lease_seconds=_vianet_seconds("ESCALATION_LEASE_SECONDS", 60.0),
        breaker_threshold=_positive_int("ESCALATION_BREAKER_THRESHOLD", 5),
        breaker_cooldown=_vianet_seconds("ESCALATION_BREAKER_COOLDOWN", 60.0),
        batch_size=_positive_int("ESCALATION_BATCH_SIZE", 20),
        push_attempts=_positive_int("ESCALATION_PUSH_ATTEMPTS", 3),
        support_topic_id=_positive_int("VIANET_SUPPORT_TOPIC_ID", VIANET_BILLING_DISPUTE_TOPIC_ID),
        severity=severity,
        contact_email=env.get("VIANET_CONTACT_EMAIL", "").strip() or None,
        notify_hook=notify_hook,
        crash_at=crash_at,
    )


# --- Channels: what a message may look like before it reaches the assistant -------------------


@dataclass(frozen=True)
class ChannelSettings:
    max_message_chars: int  # longer messages are answered "too long" and never reach NLU
    analysed_chars: int  # of a shorter but long message, NLU reads this much, and the customer is told
    max_metadata_bytes: int  # serialized; also keeps the tracker store bounded
    max_metadata_depth: int
    max_request_bytes: int  # a whole request body (also Sanic's limit on the Rasa server)


def load_channel_settings() -> ChannelSettings:
    return ChannelSettings(
        max_message_chars=_positive_int("BOT_MAX_MESSAGE_CHARS", 8000),
        analysed_chars=_positive_int("BOT_ANALYSED_MESSAGE_CHARS", 2000),
        max_metadata_bytes=_positive_int("BOT_MAX_METADATA_BYTES", 4096),
        max_metadata_depth=_positive_int("BOT_MAX_METADATA_DEPTH", 4),
        max_request_bytes=_positive_int("BOT_MAX_REQUEST_BYTES", 65536),
    )


# --- Launcher: supervising the processes and their logs -----------------------------------------


@dataclass(frozen=True)
class SupervisorSettings:
    """How the launcher restarts a crashed process. Durations in seconds."""

    restart_backoff_base: float  # wait before the first restart, doubling with each crash in the window
    restart_backoff_cap: float  # ...but never longer than this
    crash_window: float  # crashes are counted over this sliding window
    crash_loop_threshold: int  # this many crashes in the window: reported as crash-looping (still retried)
    liveness_interval: float = 10.0  # a running server's health is checked this often...
    liveness_failures: int = 3  # ...and this many failed checks in a row (hung, not dead) count as a crash


def load_supervisor_settings() -> SupervisorSettings:
    return SupervisorSettings(
        restart_backoff_base=_vianet_seconds("BOT_RESTART_BACKOFF_BASE", 1.0),
        restart_backoff_cap=_vianet_seconds("BOT_RESTART_BACKOFF_CAP", 60.0),
        crash_window=_vianet_seconds("BOT_CRASH_WINDOW_SECONDS", 300.0),
        crash_loop_threshold=_positive_int("BOT_CRASH_LOOP_THRESHOLD", 5),
        liveness_interval=_vianet_seconds("BOT_LIVENESS_INTERVAL", 10.0),
        liveness_failures=_positive_int("BOT_LIVENESS_FAILURES", 3),
    )


@dataclass(frozen=True)
class LogSettings:
    """Bounds on what the processes write: one line, one file, how many old files."""

    line_max: int  # characters; a longer line is cut with a marker (never a whole message body)
    max_bytes: int  # a process's log file is rotated at this size
    backups: int  # rotated files kept (<name>.log.1 ... .N)


def load_log_settings() -> LogSettings:
    return LogSettings(
        line_max=_positive_int("BOT_LOG_LINE_MAX", 2000),
        max_bytes=_positive_int("BOT_LOG_MAX_BYTES", 10 * 1024 * 1024),
        backups=_positive_int("BOT_LOG_BACKUPS", 5),
    )


# --- The chat widget: the socket channel on the Rasa server, the demo partner site ---------------

WIDGET_LOCALES = ("en", "zh")


@dataclass(frozen=True)
class WidgetSettings:
    """The widget's socket channel (bot/channels/widget.py), partner-minted tokens and the demo site."""

    origins: tuple[str, ...]  # pages allowed to open the socket (the Origin header, exactly)
    rate_messages: int  # at most this many messages per conversation...
    rate_seconds: float  # ...in this sliding window (counted per Rasa process for now)
    history_messages: int  # messages re-sent when a widget (re)connects
    anonymous_session_days: float  # how long an anonymous visitor's conversation can be resumed
    partner_keys_dir: Path  # <PARTNER_ID>.pem: each partner's PUBLIC key, verifying the tokens it mints
    pdf_link_seconds: int  # lifetime of a signed invoice-PDF link
    site_port: int  # the demo partner site
    site_bot_url: str  # where the demo site's widget finds the Rasa server
    site_key_file: Path  # the demo site's PRIVATE key (generated at first start, never committed)
    site_partner_id: str  # the partner the demo site stands for


def _widget_origins(site_port: int) -> tuple[str, ...]:
    raw = os.environ.get("BOT_WIDGET_ORIGINS", "").strip()
    if not raw:
        return (f"http://localhost:{site_port}", f"http://127.0.0.1:{site_port}")
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        scheme, _, rest = origin.partition("://")
        if scheme not in ("http", "https") or not rest or "/" in rest:
            raise ConfigError(f"BOT_WIDGET_ORIGINS: {origin!r} is not an origin like https://www.partner.example")
    return origins


def load_widget_settings() -> WidgetSettings:
    env = os.environ
    site_port = _positive_int("BOT_SITE_PORT", 8080)
    bot_url = env.get("BOT_SITE_BOT_URL", "").strip().rstrip("/") or "http://127.0.0.1:5005"
    if not bot_url.startswith(("http://", "https://")):
        raise ConfigError("BOT_SITE_BOT_URL must be an http(s) URL")
    partner_id = env.get("BOT_SITE_PARTNER_ID", "").strip() or "P-01"
    return WidgetSettings(
        origins=_widget_origins(site_port),
        rate_messages=_positive_int("BOT_WIDGET_RATE_MESSAGES", 10),
        rate_seconds=_vianet_seconds("BOT_WIDGET_RATE_SECONDS", 30.0),
        history_messages=_positive_int("BOT_WIDGET_HISTORY_MESSAGES", 100),
        anonymous_session_days=_vianet_seconds("BOT_WIDGET_ANONYMOUS_SESSION_DAYS", 7.0),
        partner_keys_dir=Path(env.get("BOT_PARTNER_KEYS_DIR", "").strip() or VAR_DIR / "partner-keys"),
        pdf_link_seconds=_positive_int("BOT_PDF_LINK_SECONDS", 300),
        site_port=site_port,
        site_bot_url=bot_url,
        site_key_file=Path(env.get("BOT_SITE_KEY_FILE", "").strip() or VAR_DIR / "demo-site" / f"{partner_id}.key"),
        site_partner_id=partner_id,
    )


# --- Partner staff in Slack and Microsoft Teams; Partner Center ----------------------------------

def _url_or_none(name: str) -> str | None:
    value = os.environ.get(name, "").strip().rstrip("/")
    if value and not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http(s) URL")
    return value or None


@dataclass(frozen=True, repr=False)
class SlackSettings:
    """The Slack channel (bot/channels/slack.py) and Web API client (bot/integrations/slack.py).
    Without a signing secret the channel refuses every request."""

    signing_secret: str | None
    bot_token: str | None
    api_url: str  # the Web API base; a local stand-in in tests and the demo
    replay_window_seconds: int
    timeout_seconds: float
    stand_in_port: int = 8766  # the local Slack stand-in the run command starts when no Slack is configured
    configured: bool = False  # a real Slack app: its signing secret, bot token or Web API URL is set

    def __repr__(self) -> str:
        return (f"SlackSettings(api_url={self.api_url!r}, signing_secret=<{'set' if self.signing_secret else 'unset'}>,"
                f" bot_token=<{'set' if self.bot_token else 'unset'}>)")


def load_slack_settings() -> SlackSettings:
    env = os.environ
    return SlackSettings(
        signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip() or None,
        bot_token=env.get("SLACK_BOT_TOKEN", "").strip() or None,
        api_url=_url_or_none("SLACK_API_URL") or "https://slack.com/api",
        replay_window_seconds=_positive_int("SLACK_REPLAY_WINDOW_SECONDS", 300),
        timeout_seconds=_vianet_seconds("SLACK_TIMEOUT_SECONDS", 10.0),
        stand_in_port=_positive_int("BOT_SLACK_PORT", 8766),
        configured=any(env.get(name, "").strip() for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN",
                                                               "SLACK_API_URL")),
    )


BOTFRAMEWORK_CLOUDS = ("global", "china")
# Azure Bot Service endpoints per cloud. "<tenant>" is replaced by BOTFRAMEWORK_TENANT_ID
# (single-tenant bots, the default). china: Azure Bot Service operated by 21Vianet, as Microsoft's
# "deploy in China cloud" guide sets them (checked 2026-11): ToBotFromChannelOpenIdMetadataUrl,
# ToChannelFromBotLoginUrl login.partner.microsoftonline.cn/<tenant> (+ /oauth2/v2.0/token),
# ToChannelFromBotOAuthScope api.botframework.azure.cn (+ /.default), ToBotFromChannelTokenIssuer.
# Its OAuthUrl, https://token.botframework.azure.cn/, is the user-token (sign-in card) service,
# which this bot does not use.
_BOTFRAMEWORK_PRESETS = {
    "global": {
        "openid_url": "https://login.botframework.com/v1/.well-known/openidconfiguration",
        "token_url": "https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token",
        "scope": "https://api.botframework.com/.default",
        "issuer": "https://api.botframework.com",
    },
    "china": {
        "openid_url": "https://login.botframework.azure.cn/v1/.well-known/openidconfiguration",
        "token_url": "https://login.partner.microsoftonline.cn/<tenant>/oauth2/v2.0/token",
        "scope": "https://api.botframework.azure.cn/.default",
        "issuer": "https://api.botframework.azure.cn",
    },
}


@dataclass(frozen=True, repr=False)
class BotFrameworkSettings:
    """Our Bot Framework (Teams) channel, bot/channels/botframework.py, and its connector client."""

    cloud: str  # global | china
    app_id: str | None  # the bot's app id: the audience of every incoming token
    app_password: str | None
    tenant_id: str | None
    openid_url: str
    token_url: str
    scope: str
    issuer: str
    timeout_seconds: float
    stand_in_port: int = 8767  # the local Bot Framework stand-in, started by the run command without BOTFRAMEWORK_APP_ID

    def __repr__(self) -> str:
        return (f"BotFrameworkSettings(cloud={self.cloud!r}, app_id={self.app_id!r}, tenant_id={self.tenant_id!r}, "
                f"openid_url={self.openid_url!r}, token_url={self.token_url!r}, issuer={self.issuer!r}, "
                f"app_password=<{'set' if self.app_password else 'unset'}>)")


def load_botframework_settings() -> BotFrameworkSettings:
    env = os.environ
    cloud = _choice("BOTFRAMEWORK_CLOUD", env.get("BOTFRAMEWORK_CLOUD", "").strip() or "global", BOTFRAMEWORK_CLOUDS)
    preset = _BOTFRAMEWORK_PRESETS[cloud]
    tenant = env.get("BOTFRAMEWORK_TENANT_ID", "").strip() or None
    app_id = env.get("BOTFRAMEWORK_APP_ID", "").strip() or None
    if app_id and not tenant:
        # Single-tenant bots are the default (and what Azure creates now): without the tenant the
        # channel could not refuse activities from other organisations.
        raise ConfigError("BOTFRAMEWORK_TENANT_ID must be set when BOTFRAMEWORK_APP_ID is set (single-tenant bot)")
    token_url = _url_or_none("BOTFRAMEWORK_TOKEN_URL") or preset["token_url"].replace("<tenant>", tenant or "botframework.com")
    return BotFrameworkSettings(
        cloud=cloud,
        app_id=app_id,
        app_password=env.get("BOTFRAMEWORK_APP_PASSWORD", "").strip() or None,
        tenant_id=tenant,
        openid_url=_url_or_none("BOTFRAMEWORK_OPENID_URL") or preset["openid_url"],
        token_url=token_url,
        scope=env.get("BOTFRAMEWORK_SCOPE", "").strip() or preset["scope"],
        issuer=env.get("BOTFRAMEWORK_ISSUER", "").strip() or preset["issuer"],
        timeout_seconds=_vianet_seconds("BOTFRAMEWORK_TIMEOUT_SECONDS", 10.0),
        stand_in_port=_positive_int("BOT_TEAMS_PORT", 8767),
    )


@dataclass(frozen=True, repr=False)
class PartnerCenterSettings:
    """Partner Center's subscription API (bot/integrations/partner_center.py). base_url None: no
    upstream; suspensions and reactivations are recorded for the partner to apply by hand."""

    base_url: str | None
    token: str | None
    timeout_connect: float
    timeout_read: float
    attempts: int  # tries before a change is marked failed and staff are told
    lease_seconds: float = 120.0  # a claimed change whose worker died is picked up again after this long
    backoff_base: float = 2.0  # first retry waits up to this long (full jitter), doubling each attempt
    backoff_cap: float = 600.0  # ...but never longer than this
    batch_size: int = 20  # changes applied in one pass of the worker

    def __repr__(self) -> str:
        return (f"PartnerCenterSettings(base_url={self.base_url!r}, token=<{'set' if self.token else 'unset'}>, "
                f"attempts={self.attempts}, lease_seconds={self.lease_seconds})")


def load_partner_center_settings() -> PartnerCenterSettings:
    env = os.environ
    base_url = _url_or_none("PARTNER_CENTER_API_URL")
    token = env.get("PARTNER_CENTER_TOKEN", "").strip() or None
    if base_url and not token:
        raise ConfigError("PARTNER_CENTER_TOKEN must be set when PARTNER_CENTER_API_URL is set")
    return PartnerCenterSettings(
        base_url=base_url,
        token=token,
        timeout_connect=_vianet_seconds("PARTNER_CENTER_TIMEOUT_CONNECT", 3.0),
        timeout_read=_vianet_seconds("PARTNER_CENTER_TIMEOUT_READ", 10.0),
        attempts=_positive_int("PARTNER_CENTER_ATTEMPTS", 8),
        lease_seconds=_vianet_seconds("PARTNER_CENTER_LEASE_SECONDS", 120.0),
        backoff_base=_vianet_seconds("PARTNER_CENTER_BACKOFF_BASE", 2.0),
        backoff_cap=_vianet_seconds("PARTNER_CENTER_BACKOFF_CAP", 600.0),
        batch_size=_positive_int("PARTNER_CENTER_BATCH_SIZE", 20),
    )


@dataclass(frozen=True)
class HandoffSettings:
    """Human handoff and the agent console. A partner's own support policy (its staffed hours and
    targets, table `support_policies`) overrides the defaults here."""

    console_port: int  # the agent console (bot/console/)
    staffed_hours: str  # e.g. "Mon-Fri 09:00-18:00"; "always" for round the clock
    first_response_seconds: int  # the first agent reply, counted from when the queue is staffed
    next_response_seconds: int  # each later customer message to the agent's answer
    agent_token_minutes: int  # a console sign-in lasts this long
    delivery_attempts: int  # tries to deliver one agent message before it is given up (and shown so)
    lease_seconds: float  # one deliverer per message at a time


def load_handoff_settings() -> HandoffSettings:
    env = os.environ
    return HandoffSettings(
        console_port=_positive_int("BOT_CONSOLE_PORT", 8090),
        staffed_hours=env.get("HANDOFF_STAFFED_HOURS", "").strip() or "always",
        first_response_seconds=_positive_int("HANDOFF_FIRST_RESPONSE_SECONDS", 120),
        next_response_seconds=_positive_int("HANDOFF_NEXT_RESPONSE_SECONDS", 300),
        agent_token_minutes=_positive_int("HANDOFF_AGENT_TOKEN_MINUTES", 600),
        delivery_attempts=_positive_int("HANDOFF_DELIVERY_ATTEMPTS", 20),
        lease_seconds=_vianet_seconds("HANDOFF_LEASE_SECONDS", 30.0),
    )

"""The Slack channel for partner staff: POST /webhooks/slack/webhook (Events API and interactivity).

Replaces Rasa's stock `slack` channel (same name, same URL), which
- drops a retry only when Slack's reason is `http_timeout`: a retry for any other reason (a 5xx,
  a broken connection after we had processed it) is processed again, so a message is answered
  twice; and it drops an `http_timeout` retry even when the first delivery never got through;
- answers a forged or stale request with 400 and reads the body of an unsigned one into errors;
- makes the bare user id the conversation, without its workspace, puts no verified identity in
  the metadata, and never checks who may speak;
- starts the turn as a background task whose errors nobody reads, and answers nothing when a
  turn produces no reply;
- posts with `as_user` (refused for new Slack apps), splits replies at blank lines and sends
  mrkdwn built from text that may quote a user (a quoted `<!channel>` notifies everyone);
- its `get_output_channel()` posts to the channel of the latest request in memory, so a push from
  the escalation worker, handled by another process or after a restart, has nowhere to go.
Here:
- every request is verified before anything is read: v0 signature (HMAC-SHA256 of
  `v0:{timestamp}:{raw body}` with SLACK_SIGNING_SECRET, constant-time) within the replay window
  (SLACK_REPLAY_WINDOW_SECONDS, 5 minutes); forged, unsigned or stale: 401, nothing processed.
  Without a signing secret every request is refused;
- an event is processed once, whatever Slack's retry reason: the first delivery of its event id
  wins, in the database (bot/channels/deduplication.py), so two Rasa processes agree; a button
  click, which Slack does not retry, is de-duplicated by its trigger id, so a replayed click
  within the window is dropped too;
- Slack wants a 200 within 3 seconds: the request is answered at once and the turn runs in a
  background task that is kept referenced and whose errors are logged. A turn still running when
  the server stops is lost (Slack got its 200 and will not send it again; the user asks again);
- DMs (`message`, channel_type im) and mentions (`app_mention`) are turns; bot messages, message
  subtypes (edits, deletions, joins, files) and our own messages are not;
- who is asking: the verified team and user, looked up in the partner's staff directory
  (bot/caller.py); someone not in it is told to ask their partner admin, and the message goes no
  further. The conversation is `slack:<team>:<user>`, one per person, claimed by that person
  (bot/conversations/ownership.py): a colleague clicking a button on someone's thread speaks in
  their own conversation, never answers someone else's "Shall I file it?";
- replies go where the message came from: in a DM, the DM (in its thread if the message was in
  one); in a channel, the thread of the message (its own `ts` if it started none), so a form's
  questions and a customer's figures stay together instead of filling the channel. That address
  is stored (bot/conversations/addresses.py) before the turn runs;
- pushes (the worker's news, through Rasa's `trigger_intent`, and a support agent's words,
  appended through Rasa's API) go to the staff member's DM, whichever process sends them: the
  output channel finds the conversation's address in the database and posts to the user. An
  agent's message shows the agent's name (bot/integrations/slack_blocks.py); while an agent has
  the conversation the bot is paused, so a turn without a reply is expected, not an error;
- typing: Slack's Events API tells bots nothing of a user typing, and its Web API has no typing
  indicator for bots (only the retired RTM API had one), so neither direction is shown in Slack.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Coroutine
from urllib.parse import parse_qs

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.caller import CALLER_KEY, Caller, resolve_platform_caller
from bot.channels.deduplication import first_delivery
from bot.channels.guard import Rejected, clean_text, neutralise_commands
from bot.config import ConfigError, SlackSettings, load_channel_settings, load_settings, load_slack_settings
from bot.conversations.addresses import address_of, remember
from bot.conversations.turns import REFUSED, Admission, admit
from bot.db import session_scope
from bot.integrations.slack import SlackApiError, SlackClient
from bot.integrations.slack_blocks import slack_message
from bot.nlp.language import detect_language
from bot.replies import render
from bot.replies.language import DETECTED_KEY, METADATA_KEY as LOCALE_KEY, conversation_language, language_of

logger = logging.getLogger(__name__)

PLATFORM = CHANNEL_NAME = "slack"
TIMESTAMP_HEADER, SIGNATURE_HEADER = "X-Slack-Request-Timestamp", "X-Slack-Signature"
RETRY_NUM_HEADER, RETRY_REASON_HEADER = "X-Slack-Retry-Num", "X-Slack-Retry-Reason"
LOCALE_CACHE_SECONDS = 3600.0  # a user's Slack language rarely changes; users.info once an hour at most
_ID = re.compile(r"[A-Z0-9][A-Z0-9_]{0,39}", re.IGNORECASE)
_TS = re.compile(r"\d{1,12}\.\d{1,9}")
_SLACK_MARKUP = re.compile(r"<([^<>]*)>")
# Blocks Slack refuses (our renderer against a limit we don't know of): the text alone still gets through.
_BLOCKS_REFUSED = {"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long"}


# --- verifying a request ---------------------------------------------------------------------------

def signature_problem(secret: str | None, timestamp: str | None, signature: str | None, body: bytes,
                      now: float, window_seconds: float) -> str | None:
    """Why a request is not from Slack (None: it is). Slack signs `v0:{timestamp}:{raw body}` with
    the app's signing secret; a timestamp outside the window is a replay."""
    if not secret:
        return "not_configured"
    if not timestamp or not signature:
        return "unsigned"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "bad_timestamp"
    if abs(now - int(timestamp)) > window_seconds:
        return "stale"
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return "bad_signature"
    return None


# --- reading what Slack sent -----------------------------------------------------------------------

@dataclass(frozen=True)
class SlackTurn:
    """One message (or button click) to answer, with where its replies go."""

    team_id: str
    user: str
    channel: str
    text: str
    thread_ts: str | None  # the thread replies go to; None: the DM itself
    delivery_id: str  # event id, or "interaction:<trigger id>": processed once
    kind: str  # message | mention | button
    bot_users: frozenset[str] = frozenset()

    @property
    def conversation_id(self) -> str:
        return f"{PLATFORM}:{self.team_id}:{self.user}"

    def address(self) -> dict[str, Any]:
        return {"team_id": self.team_id, "user": self.user, "channel": self.channel, "thread_ts": self.thread_ts}


def read_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Events come as JSON; interactivity as a form whose `payload` field is JSON."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        payload = parse_qs(body.decode("utf-8"), strict_parsing=False).get("payload", [None])[0]
        if payload is None:
            raise ValueError("no payload")
        parsed = json.loads(payload)
    else:
        parsed = json.loads(body.decode("utf-8"))
    if not isinstance(parsed, dict):
        raise ValueError("not an object")
    return parsed


def _object(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _ids(*values: object) -> bool:
    return all(isinstance(v, str) and _ID.fullmatch(v) for v in values)


def turn_from_event(envelope: dict[str, Any]) -> SlackTurn | None:
    """The turn an Events API callback carries, or None for events that are not one."""
    event = envelope.get("event")
    if envelope.get("type") != "event_callback" or not isinstance(event, dict):
        return None
    if event.get("subtype") not in (None, "thread_broadcast") or event.get("bot_id") or event.get("bot_profile"):
        return None  # edits (message_changed), deletions, joins, files, other bots, and ours
    authorizations = envelope.get("authorizations") if isinstance(envelope.get("authorizations"), list) else []
    bots = frozenset(a.get("user_id") for a in authorizations if isinstance(a, dict) and a.get("is_bot")
                     and isinstance(a.get("user_id"), str))
    kind, user, channel, ts = event.get("type"), event.get("user"), event.get("channel"), event.get("ts")
    if user in bots:
        return None
    if kind == "app_mention" and event.get("channel_type") != "im" and not str(channel).startswith("D"):
        kind = "mention"  # in a DM, the same words also come as a `message` event: that one is the turn
    elif kind != "message" or event.get("channel_type") != "im":
        return None  # a channel message without a mention is not for us (its mention comes as app_mention)
    team = event.get("user_team") or event.get("team") or envelope.get("team_id")
    text, event_id, thread = event.get("text"), envelope.get("event_id"), event.get("thread_ts")
    if not _ids(team, user, channel, event_id) or not isinstance(text, str) or not (
            isinstance(ts, str) and _TS.fullmatch(ts)) or (thread is not None and not (
            isinstance(thread, str) and _TS.fullmatch(thread))):
        logger.warning("ignored a malformed Slack %s event", kind)
        return None
    reply_thread = thread or (None if kind == "message" else ts)
    return SlackTurn(team, user, channel, text, reply_thread, event_id, kind, bots)


def turn_from_interaction(payload: dict[str, Any]) -> SlackTurn | None:
    """A button click (`block_actions`): the button's value is said as the user's text, in the
    channel and thread of the message the button is on."""
    if payload.get("type") != "block_actions":
        return None
    actions = [a for a in payload.get("actions") or [] if isinstance(a, dict) and a.get("type") == "button"]
    value = actions[0].get("value") if actions else None
    user, container, message = _object(payload, "user"), _object(payload, "container"), _object(payload, "message")
    team = user.get("team_id") or _object(payload, "team").get("id")
    channel = _object(payload, "channel").get("id") or container.get("channel_id")
    trigger = payload.get("trigger_id") or f"{user.get('id')}:{actions[0].get('action_ts') if actions else ''}"
    thread = container.get("thread_ts") or message.get("thread_ts")
    if not isinstance(channel, str) or not channel.startswith("D"):
        thread = thread or container.get("message_ts")  # in a channel, the thread the button is in
    if not isinstance(value, str) or not value or not _ids(team, user.get("id"), channel) or (
            thread is not None and not (isinstance(thread, str) and _TS.fullmatch(thread))):
        return None  # a link button (no value), or something else we don't act on
    return SlackTurn(team, user["id"], channel, value, thread, f"interaction:{trigger}"[:128], "button")


def plain_text(text: str, bot_users: frozenset[str]) -> str:
    """A Slack message's text as the user sees it: the bot's own mention removed, other mentions,
    channels and links as their labels (`<@U1|mei>` -> @mei, `<https://x|x>` -> x). Slack's
    `&amp; &lt; &gt;` are undone by guard.clean_text with the other entities."""
    def replace(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            return " " if target[1:] in bot_users else "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return "@" + (label.lstrip("@") or target[1:].split("^")[0])
        return label or target
    return re.sub(r"[ \t]{2,}", " ", _SLACK_MARKUP.sub(replace, text)).strip()


# --- database steps (synchronous: run in a thread) ------------------------------------------------

def _first_delivery(database_url: str, delivery_id: str) -> bool:
    with session_scope(database_url) as session:
        return first_delivery(session, PLATFORM, delivery_id)


def _remember_and_claim(database_url: str, turn: SlackTurn, caller: Caller) -> Admission:
    """One transaction: the conversation's owner speaks (and the support desk hears of it), and
    only then is its address updated."""
    with session_scope(database_url) as session:
        admission = admit(session, turn.conversation_id, caller)
        if not admission.allowed:
            return REFUSED
        remember(session, turn.conversation_id, PLATFORM, turn.address())
        return admission


def _stored_user(database_url: str, conversation_id: str) -> str | None:
    with session_scope(database_url) as session:
        address = address_of(session, conversation_id)
    if address is None or address.platform != PLATFORM:
        return None
    user = address.values.get("user")
    return user if isinstance(user, str) else None


# --- sending ---------------------------------------------------------------------------------------

class SlackDeliveryError(Exception):
    """A push has nowhere to go: the conversation has no Slack address."""


class SlackOutput(OutputChannel):
    """Posts each bot message as one Slack message (blocks + text). With a channel: a turn's
    replies, to that channel and thread; failures are logged (the turn goes on). Without: a push,
    to the DM of the conversation's user found in the database; failures raise, so Rasa's API
    answers an error and the worker tries again later."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self, client: SlackClient, channel: str | None = None, thread_ts: str | None = None,
                 database_url: str | None = None):
        self.client, self.channel, self.thread_ts = client, channel, thread_ts
        self.database_url = database_url
        self.produced = 0  # bot messages the turn produced, delivered or not

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.produced += 1
        rendered = slack_message(message)
        if not rendered.text and not rendered.blocks:
            return
        channel, thread = self.channel, self.thread_ts
        if channel is None:
            user = await asyncio.to_thread(_stored_user, self.database_url or load_settings().database_url,
                                           recipient_id)
            if user is None:
                raise SlackDeliveryError(f"no Slack address for conversation {recipient_id}")
            channel = user  # the staff member's DM with the bot
        try:
            await self._post(channel, thread, rendered.text, rendered.blocks)
        except SlackApiError as exc:
            if self.channel is None:
                raise
            logger.error("could not post a reply in Slack conversation %s: %s", recipient_id, exc)

    async def _post(self, channel: str, thread: str | None, text: str, blocks: list[dict[str, Any]]) -> None:
        try:
            await self.client.post_message(channel, text, thread_ts=thread, blocks=blocks)
        except SlackApiError as exc:
            if exc.error not in _BLOCKS_REFUSED or not text:
                raise
            logger.error("Slack refused our blocks (%s); posting the text alone", exc.error)
            await self.client.post_message(channel, text, thread_ts=thread)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


# --- the channel -----------------------------------------------------------------------------------

class SlackInput(InputChannel):
    """credentials.yml: `bot.channels.slack.SlackInput:` (no options: SLACK_SIGNING_SECRET,
    SLACK_BOT_TOKEN and SLACK_API_URL come from the environment, bot/config.py)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME  # keeps the URL /webhooks/slack/webhook

    def __init__(self) -> None:
        self.settings: SlackSettings = load_slack_settings()
        self.client = SlackClient(self.settings)
        self._tasks: set[asyncio.Task] = set()
        self._locales: dict[tuple[str, str], tuple[float, str | None]] = {}

    def get_output_channel(self) -> OutputChannel | None:
        """Used by Rasa's API (`trigger_intent ?output_channel=latest`): pushes reach the staff
        member's DM, by the address stored for the conversation."""
        return SlackOutput(self.client)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"slack_webhook_{type(self).__name__}", __name__)
        if not self.settings.signing_secret:
            logger.warning("Slack is off: SLACK_SIGNING_SECRET is not set, so /webhooks/slack/webhook refuses "
                           "every request")
        elif not self.settings.bot_token:
            logger.error("SLACK_BOT_TOKEN is not set: the Slack channel cannot post replies")

        @webhook.listener("after_server_stop")
        async def close_client(*_args: Any) -> None:
            await self.client.close()

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        return webhook

    async def _receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        body = request.body or b""
        if len(body) > load_channel_settings().max_request_bytes:  # before hashing it
            return response.json({"ok": False, "error": "request_too_large"}, status=413)
        problem = signature_problem(self.settings.signing_secret, request.headers.get(TIMESTAMP_HEADER),
                                    request.headers.get(SIGNATURE_HEADER), body, time.time(),
                                    self.settings.replay_window_seconds)
        if problem:
            logger.warning("refused a Slack request: %s", problem)
            return response.json({"ok": False, "error": problem}, status=401)
        try:
            parsed = read_body(request.headers.get("content-type", ""), body)
        except (ValueError, UnicodeDecodeError):
            logger.warning("refused a signed Slack request whose body is not Slack's JSON")
            return response.json({"ok": False, "error": "invalid_body"}, status=400)
        if parsed.get("type") == "url_verification":
            return response.json({"challenge": str(parsed.get("challenge", ""))})
        turn = turn_from_interaction(parsed) if "actions" in parsed else turn_from_event(parsed)
        if turn is None:
            return response.json({"ok": True})  # not a turn: nothing to do, nothing to retry
        try:
            database_url = load_settings().database_url
            first = await asyncio.to_thread(_first_delivery, database_url, turn.delivery_id)
        except (ConfigError, SQLAlchemyError):
            logger.exception("could not record Slack delivery %s; Slack will retry it", turn.delivery_id)
            return response.json({"ok": False, "error": "unavailable"}, status=503)
        if not first:
            logger.info("dropped a repeated Slack delivery %s (retry %s, %s)", turn.delivery_id,
                        request.headers.get(RETRY_NUM_HEADER), request.headers.get(RETRY_REASON_HEADER))
            return response.json({"ok": True}, headers={"X-Slack-No-Retry": "1"})
        self._in_background(self._turn(request.app.ctx.agent, on_new_message, turn), turn.delivery_id)
        return response.json({"ok": True})

    def _in_background(self, work: Coroutine[Any, Any, None], what: str) -> None:
        """Run after the 200 is sent; the task is kept referenced and its failure logged."""
        task = asyncio.get_running_loop().create_task(work, name=f"slack-turn-{what}")
        self._tasks.add(task)

        def done(finished: asyncio.Task) -> None:
            self._tasks.discard(finished)
            if finished.cancelled():
                logger.warning("Slack turn %s was cancelled", what)
            elif finished.exception() is not None:
                logger.error("Slack turn %s failed", what, exc_info=finished.exception())

        task.add_done_callback(done)

    async def _locale(self, team_id: str, user: str) -> str | None:
        """The language the user set in Slack (users.info), cached; None when Slack can't say."""
        now = time.monotonic()
        cached = self._locales.get((team_id, user))
        if cached and cached[0] > now:
            return cached[1]
        try:
            locale = language_of((await self.client.user_info(user)).get("locale"))
        except SlackApiError as exc:
            logger.info("no Slack locale for %s: %s", user, exc.error)
            return None  # not cached: asked again next time
        if len(self._locales) > 10_000:
            self._locales.clear()
        self._locales[(team_id, user)] = (now + LOCALE_CACHE_SECONDS, locale)
        return locale

    async def _turn(self, agent: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]], turn: SlackTurn) -> None:
        output = SlackOutput(self.client, turn.channel, turn.thread_ts)
        language = "en"

        async def tell(key: str, **values: Any) -> None:
            """A sentence of the channel itself, not kept in the conversation."""
            await output.send_response(turn.conversation_id, render(key, language, settings, **values).message())

        try:
            settings, limits = load_settings(), load_channel_settings()
        except ConfigError:
            logger.exception("channel settings")
            return
        text = plain_text(turn.text, turn.bot_users)
        locale = await self._locale(turn.team_id, turn.user)
        detected = detect_language(text) if text else None
        language = conversation_language({LOCALE_KEY: locale, DETECTED_KEY: detected}, None, settings)
        try:
            cleaned = clean_text(text, limits)
        except Rejected as exc:  # nothing readable, e.g. only the bot's mention
            logger.info("unreadable Slack message in %s: %s", turn.conversation_id, exc.code)
            await tell("widget.unreadable")
            return
        if cleaned.too_long:
            await tell("message_too_long", max_chars=limits.max_message_chars)
            return
        try:
            caller = await asyncio.to_thread(resolve_platform_caller, PLATFORM, turn.team_id, turn.user,
                                             settings.database_url)
            if not caller.is_staff:
                logger.info("Slack user %s of %s is not in a staff directory", turn.user, turn.team_id)
                await tell("staff.not_in_directory")
                return
            admission = await asyncio.to_thread(_remember_and_claim, settings.database_url, turn, caller)
            if not admission.allowed:
                logger.warning("refused a Slack turn in %s: bound to someone else", turn.conversation_id)
                await tell("conversation_not_yours")
                return
        except SQLAlchemyError:
            logger.exception("could not resolve the Slack caller of %s", turn.conversation_id)
            await tell("temporarily_unavailable")
            return
        if cleaned.questions_only:
            await tell("message_questions_read", questions=_clip(cleaned.text, 300))
        elif cleaned.cut:
            await tell("message_cut", analysed_chars=limits.analysed_chars)
        said_before = output.produced
        metadata = {CALLER_KEY: caller.to_metadata(), **{k: v for k, v in ((LOCALE_KEY, locale),
                                                                            (DETECTED_KEY, detected)) if v}}
        try:
            await on_new_message(UserMessage(neutralise_commands(cleaned.text, set(agent.domain.intents)), output,
                                             turn.conversation_id, input_channel=CHANNEL_NAME, metadata=metadata))
        except Exception:  # noqa: BLE001  staff get an answer whatever broke
            logger.exception("a Slack turn failed in %s", turn.conversation_id)
        if output.produced == said_before and not admission.with_agent:  # with an agent, the bot is paused
            logger.warning("a Slack turn in %s produced no reply; answering that it is unavailable",
                           turn.conversation_id)
            await tell("temporarily_unavailable")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(None, 1)[0] + "..."

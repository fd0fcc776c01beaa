"""The escalation worker: relay, poller and notification pushes, one pass after another.

    python -m bot.escalation worker [--once] [--notify-hook package.module:function]

A pass sends due escalations and notes (relay), syncs open tickets (poller), then offers new
"your ticket is resolved" notifications to the notify hook. SIGTERM or SIGINT stops the loop after
the call in flight (every call has a timeout); everything else is in the database, so even a
kill -9 loses nothing. The relay and the poller share one circuit breaker: one upstream.

The notify hook is the integrator's: `notify(NotificationView) -> bool`, True when the message
was pushed into the customer's open chat (e.g. through Rasa's HTTP API). False or an exception
leaves the notification pending, to be shown when the customer next opens the chat; it is offered
again after a backoff, ESCALATION_PUSH_ATTEMPTS times at most. The default (no hook) pushes
nothing. Pushes are at-least-once: a worker killed between a successful push and recording it
pushes again, so a hook may de-duplicate on the notification id.

The worker is the one process that runs every outbox pass, so a pass also delivers what support
agents said that the console could not deliver at once (bot/handoff/delivery.py: the Rasa server
was restarting, say), applies due subscription changes (suspend, reactivate) to Partner Center
(bot/partner/apply.py: its own client and settings, PARTNER_CENTER_*), and about once an hour
forgets old platform event ids (bot/channels/deduplication.py).
"""
from __future__ import annotations

import importlib
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from bot.channels import deduplication
from bot.config import (
    ConfigError,
    EscalationSettings,
    PartnerCenterSettings,
    VianetSettings,
    load_escalation_settings,
    load_partner_center_settings,
    load_vianet_settings,
)
from bot.db import session_scope
from bot.escalation import records
from bot.escalation.backoff import CircuitBreaker
from bot.escalation.poller import Poller, PollPass
from bot.escalation.relay import Relay, RelayPass
from bot.escalation.views import NotificationView
from bot.fapiao import news as fapiao_news
from bot.integrations.partner_center import PartnerCenterClient
from bot.conversations.push import ConversationPush, push_fapiao_news
from bot.handoff.delivery import DeliveryPass, deliver_pending
from bot.integrations.vianet import VianetClient
from bot.partner.apply import ApplyPass, apply_due_changes, log_configuration

logger = logging.getLogger(__name__)

NotifyHook = Callable[[NotificationView], bool]
FORGET_EVENTS_EVERY = 3600.0  # seconds between two clean-ups of old platform event ids


def load_notify_hook(spec: str) -> NotifyHook:
    """`package.module:function` -> the function (ESCALATION_NOTIFY_HOOK or --notify-hook)."""
    module_name, _, attribute = spec.partition(":")
    try:
        hook = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"notify hook {spec!r} cannot be loaded: {exc}") from exc
    if not callable(hook):
        raise ConfigError(f"notify hook {spec!r} is not callable")
    return hook


@dataclass
class WorkerPass:
    relay: RelayPass = field(default_factory=RelayPass)
    poll: PollPass = field(default_factory=PollPass)
    pushed: int = 0
    push_failed: int = 0
    subscriptions: ApplyPass = field(default_factory=ApplyPass)
    handoff: DeliveryPass = field(default_factory=DeliveryPass)


class Worker:
    """One relay, one poller and the notification pushes, sharing a client and a circuit breaker."""

    def __init__(
        self,
        *,
        settings: EscalationSettings | None = None,
        vianet_settings: VianetSettings | None = None,
        notify: NotifyHook | None = None,
        push_fapiao: Callable[[fapiao_news.NoticeToPush], bool] | None = None,
        database_url: str | None = None,
        partner_center_settings: PartnerCenterSettings | None = None,
        handoff_push: ConversationPush | None = None,
    ) -> None:
        self.settings = settings or load_escalation_settings()
        self.partner_center = partner_center_settings or load_partner_center_settings()
        self._partner_center_client = PartnerCenterClient.from_settings(self.partner_center)
        log_configuration(self.partner_center)
        self._events_forgotten_at: float | None = None
        vianet = vianet_settings or load_vianet_settings()
        self._client = VianetClient.from_settings(vianet)
        if self._client is None:
            logger.warning("no 21Vianet API configured (VIANET_API_URL): escalations go to the partner-staff queue")
        elif self.settings.lease_seconds <= vianet.timeout_connect + vianet.timeout_read:
            logger.warning("ESCALATION_LEASE_SECONDS (%g s) should exceed the 21Vianet timeouts (%g s + %g s)",
                           self.settings.lease_seconds, vianet.timeout_connect, vianet.timeout_read)
        self.breaker = CircuitBreaker(self.settings.breaker_threshold, self.settings.breaker_cooldown)
        self.relay = Relay(self._client, self.settings, self.breaker, database_url=database_url)
        self.poller = Poller(self._client, self.settings, self.breaker, database_url=database_url)
        self._notify = notify
        self._push_fapiao = push_fapiao
        self._handoff_push = handoff_push  # None: agents' words are delivered by the console only
        self._url = database_url

    def run_once(self, should_stop: Callable[[], bool] = lambda: False) -> WorkerPass:
        result = WorkerPass()
        result.relay = self.relay.run_once(should_stop)
        if not should_stop():
            result.poll = self.poller.run_once(should_stop)
        if not should_stop():
            result.pushed, result.push_failed = self.push_notifications(should_stop)
        if not should_stop():
            pushed, failed = self.push_fapiao_news(should_stop)
            result.pushed, result.push_failed = result.pushed + pushed, result.push_failed + failed
        if not should_stop():
            result.handoff = deliver_pending(self._url, self._handoff_push)
        if not should_stop():
            result.subscriptions = apply_due_changes(self._url, self._partner_center_client, self.partner_center,
                                                     should_stop=should_stop)
        if self._events_forgotten_at is None or time.monotonic() - self._events_forgotten_at >= FORGET_EVENTS_EVERY:
            with session_scope(self._url) as session:
                deduplication.forget_old(session)
            self._events_forgotten_at = time.monotonic()
        return result

    def push_fapiao_news(self, should_stop: Callable[[], bool] = lambda: False) -> tuple[int, int]:
        """Fapiao issued or declined by staff: into the customer's open chat, like a resolution."""
        if self._push_fapiao is None:
            return 0, 0
        with session_scope(self._url) as session:
            due = fapiao_news.notices_to_push(session, self.settings.push_attempts, self.settings.batch_size)
        pushed = failed = 0
        for notice in due:
            if should_stop():
                break
            try:
                delivered = bool(self._push_fapiao(notice))
            except Exception as exc:  # noqa: BLE001  the news stays pending, shown on the next turn
                logger.warning("pushing fapiao notice %d failed: %s: %s", notice.id, type(exc).__name__, exc)
                delivered = False
            if delivered:
                pushed += 1  # the announcing action marked it shown
                continue
            with session_scope(self._url) as session:
                fapiao_news.record_push_failure(session, notice.id, backoff_base=self.settings.worker_interval,
                                                backoff_cap=self.settings.backoff_cap)
            failed += 1
        return pushed, failed

    def push_notifications(self, should_stop: Callable[[], bool] = lambda: False) -> tuple[int, int]:
        if self._notify is None:
            return 0, 0
        with session_scope(self._url) as session:
            due = records.notifications_to_push(session, self.settings.push_attempts, self.settings.batch_size)
        pushed = failed = 0
        for notification in due:
            if should_stop():
                break
            try:
                delivered = bool(self._notify(notification))
            except Exception as exc:  # the hook is someone else's code: log it, keep the news pending
                logger.warning("pushing notification %d (%s) failed: %s: %s",
                               notification.id, notification.reference, type(exc).__name__, exc)
                delivered = False
            with session_scope(self._url) as session:
                if delivered:
                    records.mark_delivered(session, notification.id)
                    pushed += 1
                else:
                    records.record_push_failure(session, notification.id, backoff_base=self.settings.worker_interval,
                                                backoff_cap=self.settings.backoff_cap)
                    failed += 1
        return pushed, failed

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._partner_center_client is not None:
            self._partner_center_client.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def run_worker(
    *,
    notify: NotifyHook | None = None,
    stop: threading.Event | None = None,
    once: bool = False,
    database_url: str | None = None,
) -> int:
    """Run passes every ESCALATION_WORKER_INTERVAL seconds until SIGTERM/SIGINT (or `stop` is set)."""
    settings = load_escalation_settings()
    if notify is None and settings.notify_hook:
        notify = load_notify_hook(settings.notify_hook)
    # Where resolutions are pushed into chats, so is fapiao news (the same Rasa API, the same rules).
    push_fapiao = push_fapiao_news if notify is not None else None
    stop = stop or threading.Event()
    previous_handlers = {}
    if threading.current_thread() is threading.main_thread():
        def request_stop(signum: int, _frame: object) -> None:
            logger.info("received %s; stopping after the current step", signal.Signals(signum).name)
            stop.set()

        for signum in (signal.SIGTERM, signal.SIGINT):
            previous_handlers[signum] = signal.signal(signum, request_stop)
    try:
        with Worker(settings=settings, notify=notify, push_fapiao=push_fapiao, database_url=database_url,
                    handoff_push=ConversationPush.from_settings()) as worker:
            logger.info("escalation worker running (every %g s)", settings.worker_interval)
            while not stop.is_set():
                try:
                    worker.run_once(stop.is_set)
                except Exception:  # e.g. the database is locked or down: try again next pass
                    logger.exception("escalation worker pass failed; trying again in %g s", settings.worker_interval)
                if once:
                    break
                stop.wait(settings.worker_interval)
    finally:
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
    logger.info("escalation worker stopped")
    return 0

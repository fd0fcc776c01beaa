"""Retry delays, the circuit breaker on a fake clock, the worker's settings, and the schema.

Why: the timing rules (full jitter, never before Retry-After, one trial call after the cool-down)
are easy to break silently; the test hook must never be usable in production; and migration 0002
must match the models, or autogenerate would keep proposing changes.
"""
from __future__ import annotations

import random

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import bot.escalation.models  # noqa: F401  (registers the tables on Base.metadata)
import bot.conversations.ownership  # noqa: F401
from bot.config import ConfigError, load_escalation_settings
from bot.db import get_engine
from bot.db.models import Base
from bot.escalation.backoff import CircuitBreaker, retry_delay


def test_retry_delay_is_full_jitter_capped_and_respects_retry_after():
    rng = random.Random(7)
    delays = [retry_delay(attempt, base=1.0, cap=8.0, rng=rng) for attempt in (1, 2, 3, 4, 5, 10) for _ in range(50)]
    assert all(0 <= d <= 8.0 for d in delays)
    assert max(retry_delay(1, base=1.0, cap=8.0, rng=rng) for _ in range(100)) <= 1.0
    assert min(retry_delay(3, base=1.0, cap=8.0, retry_after=30, rng=rng) for _ in range(20)) >= 30
    assert retry_delay(1, base=1.0, cap=8.0, retry_after=10**9, rng=rng) == 3600  # a sane ceiling


def test_circuit_breaker_opens_after_the_threshold_and_half_opens_after_the_cool_down():
    now = [0.0]
    breaker = CircuitBreaker(threshold=3, cooldown=10, clock=lambda: now[0])
    for _ in range(2):
        breaker.record_failure()
    assert breaker.allows_call()
    breaker.record_success()  # resets the run of failures
    for _ in range(3):
        breaker.record_failure()
    assert breaker.state == "open" and not breaker.allows_call()
    now[0] = 10.0
    assert breaker.state == "half_open" and breaker.allows_call()
    breaker.record_failure()  # the trial failed
    assert not breaker.allows_call()
    now[0] = 20.0
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allows_call()


def test_retry_after_pauses_every_call():
    now = [0.0]
    breaker = CircuitBreaker(threshold=10, cooldown=10, clock=lambda: now[0])
    breaker.record_failure(retry_after=5)
    assert breaker.state == "closed" and not breaker.allows_call()
    now[0] = 5.0
    assert breaker.allows_call()


def test_settings_defaults_and_validation(monkeypatch):
    for name in ("ESCALATION_WORKER_INTERVAL", "ESCALATION_TEST_CRASH_AT", "VIANET_SEVERITY", "BOT_ENV",
                 "ESCALATION_NOTIFY_HOOK", "VIANET_SUPPORT_TOPIC_ID", "ESCALATION_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_escalation_settings()
    assert settings.worker_interval == 5 and settings.support_topic_id == 32444671
    assert settings.severity == "moderate" and settings.crash_at is None and settings.max_attempts == 8

    monkeypatch.setenv("ESCALATION_TEST_CRASH_AT", "after_send")
    assert load_escalation_settings().crash_at == "after_send"
    monkeypatch.setenv("BOT_ENV", "production")
    with pytest.raises(ConfigError):
        load_escalation_settings()  # a test hook has no business in production
    monkeypatch.delenv("BOT_ENV")
    monkeypatch.setenv("ESCALATION_TEST_CRASH_AT", "somewhere")
    with pytest.raises(ConfigError):
        load_escalation_settings()
    monkeypatch.delenv("ESCALATION_TEST_CRASH_AT")
    for name, value in (("VIANET_SEVERITY", "urgent"), ("ESCALATION_MAX_ATTEMPTS", "0"),
                        ("ESCALATION_NOTIFY_HOOK", "no_colon"), ("ESCALATION_WORKER_INTERVAL", "-1")):
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError):
            load_escalation_settings()
        monkeypatch.delenv(name)


def test_migration_matches_the_models(db_url):
    with get_engine(db_url).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []

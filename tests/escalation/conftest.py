"""Fixtures for the escalation tests: the real local 21Vianet API, fast worker settings, workers.

Nothing is mocked: escalations are recorded in the migrated, seeded SQLite database of
tests/conftest.py, sent over HTTP to devservers/vianet, and faults are switched on there.
"""
from __future__ import annotations

from typing import Any

import pytest

from bot.escalation.worker import Worker
from devservers.vianet.server import start_server, stop_server
from tests.escalation.helpers import FAST_SETTINGS, TOKEN, VianetAdmin


@pytest.fixture(scope="module")
def vianet_server():
    server, url = start_server(port=0, token=TOKEN)
    yield url
    stop_server(server)


@pytest.fixture
def fast_settings(monkeypatch):
    for name, value in FAST_SETTINGS.items():
        monkeypatch.setenv(name, value)
    for name in ("ESCALATION_TEST_CRASH_AT", "ESCALATION_NOTIFY_HOOK", "VIANET_SUPPORT_TOPIC_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def vianet(vianet_server, db_url, fast_settings, monkeypatch) -> VianetAdmin:
    """A reset local 21Vianet API, configured as the upstream (VIANET_API_URL/TOKEN)."""
    admin = VianetAdmin(vianet_server)
    admin.reset()
    monkeypatch.setenv("VIANET_API_URL", vianet_server)
    monkeypatch.setenv("VIANET_API_TOKEN", TOKEN)
    yield admin
    admin.clear_faults()  # wakes any handler still hanging


@pytest.fixture
def no_upstream(db_url, fast_settings, monkeypatch) -> None:
    monkeypatch.delenv("VIANET_API_URL", raising=False)
    monkeypatch.delenv("VIANET_API_TOKEN", raising=False)


@pytest.fixture
def worker_factory():
    workers: list[Worker] = []

    def make(**kwargs: Any) -> Worker:
        worker = Worker(**kwargs)
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.close()



"""Fixtures for the subscription-change tests: the real local Partner Center stand-in over HTTP,
the migrated and seeded SQLite database of tests/conftest.py, and a client. Nothing is mocked."""
from __future__ import annotations

import pytest

from bot.integrations.partner_center import PartnerCenterClient
from devservers.vianet.server import start_server, stop_server
from tests.partner.helpers import FAST_ENV, TOKEN, PartnerCenterAdmin


@pytest.fixture(scope="module")
def partner_center_server():
    server, url = start_server(port=0, token=TOKEN)
    yield url
    stop_server(server)


@pytest.fixture
def partner_center(partner_center_server, db_url, monkeypatch) -> PartnerCenterAdmin:
    """A reset stand-in, configured as Partner Center (PARTNER_CENTER_API_URL/TOKEN, fast settings)."""
    admin = PartnerCenterAdmin(partner_center_server)
    admin.reset()
    for name, value in FAST_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PARTNER_CENTER_API_URL", partner_center_server)
    monkeypatch.setenv("PARTNER_CENTER_TOKEN", TOKEN)
    yield admin
    admin.clear_faults()  # wakes any handler still hanging


@pytest.fixture
def client(partner_center):
    with PartnerCenterClient(partner_center.url, TOKEN, timeout=(0.5, 0.5)) as pc:
        yield pc

"""Start the real action server and Rasa server once for the end-to-end tests."""
from __future__ import annotations

import os
import uuid

import pytest
import requests

from bot.db import reset_engine, session_scope
from bot.db.migrate import upgrade
from bot.launcher import Stack
from bot.model import model_path
from bot.seed import seed_demo
from devservers.teams import bot_env as teams_bot_env
from tests.conftest import TEST_SECRET, TODAY
from tests.e2e.slack_stand_in import SLACK_ENV, slack_stand_in  # noqa: F401  (a fixture: one stand-in per session)
from tests.e2e.teams_stand_in import TEAMS_PORT, teams  # noqa: F401  (a fixture: one stand-in per session)

# Overridable so two stacks (say, two worktrees) can run the end-to-end tests at once.
RASA_PORT = int(os.environ.get("E2E_RASA_PORT", "5205"))
ACTION_PORT = int(os.environ.get("E2E_ACTION_PORT", "5255"))
VIANET_PORT = int(os.environ.get("E2E_VIANET_PORT", "8865"))
SITE_PORT = int(os.environ.get("E2E_SITE_PORT", "8180"))  # the demo partner site (the widget's page)
SITE_ORIGIN = f"http://127.0.0.1:{SITE_PORT}"
CONSOLE_PORT = int(os.environ.get("E2E_CONSOLE_PORT", "8190"))  # the agent console (stack.console_url)


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    model = model_path()
    if not model.exists():
        pytest.fail(f"no trained model at {model}: run scripts/train.sh (scripts/test.sh does)")
    folder = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{folder / 'billing.sqlite3'}"
    upgrade(url)
    with session_scope(url) as session:
        seed_demo(session)
    reset_engine()
    endpoints = folder / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{ACTION_PORT}/webhook"\n'
                         'nlg:\n  type: bot.replies.nlg.CatalogueGenerator\n'
                         f'tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {folder / "tracker.sqlite3"}\n')
    running = Stack(model=model, rasa_port=RASA_PORT, action_port=ACTION_PORT, vianet_port=VIANET_PORT,
                    endpoints=endpoints, log_dir=folder / "logs",
                    site_port=SITE_PORT, console_port=CONSOLE_PORT,
                    env={"BOT_DATABASE_URL": url, "BOT_TOKEN_SECRET": TEST_SECRET, "BOT_TODAY": TODAY.isoformat(),
                         "BOT_PARTNER_KEYS_DIR": str(folder / "partner-keys"),
                         **teams_bot_env(TEAMS_PORT),  # the Teams channel's Bot Framework is the stand-in
                         "BOT_SITE_KEY_FILE": str(folder / "demo-site" / "P-01.key"),
                         "VIANET_API_URL": "", "ESCALATION_WORKER_INTERVAL": "0.5", "ESCALATION_POLL_INTERVAL": "1",
                         **SLACK_ENV})  # the Slack channel posts to the stand-in (tests/e2e/slack_stand_in.py)
    running.start(timeout=240)
    yield running
    running.stop()


@pytest.fixture()
def chat(stack, monkeypatch):
    """Send messages in one conversation; returns the bot's replies to each."""
    monkeypatch.setenv("BOT_TOKEN_SECRET", TEST_SECRET)
    sender = f"e2e-{uuid.uuid4().hex[:8]}"

    def send(message: str, token: str | None = None) -> list[dict]:
        body = {"sender": sender, "message": message}
        if token:
            body["metadata"] = {"customer_token": token}
        response = requests.post(stack.rest_url, json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    send.sender = sender
    return send


@pytest.fixture()
def fabrikam_restored(stack):
    """Fabrikam as seeded (suspended on 2026-11-15 for non-payment) after a test that suspends or
    reactivates it, locally and at the Partner Center stand-in, so later tests read the seed."""
    yield
    from datetime import date

    from sqlalchemy import update

    from bot.db.models import Subscription
    from tests.partner.helpers import PartnerCenterAdmin

    with session_scope(stack.env["BOT_DATABASE_URL"]) as session:
        session.execute(update(Subscription).where(Subscription.customer_id == "C-1002").values(
            status="suspended", suspended_on=date(2026, 11, 15), suspension_reason="non-payment"))
    reset_engine()
    admin = PartnerCenterAdmin(f"http://127.0.0.1:{VIANET_PORT}")
    admin.clear_faults()
    if admin.subscription("C-1002")["status"] != "suspended":
        admin.change_as_portal("C-1002", status="suspended")

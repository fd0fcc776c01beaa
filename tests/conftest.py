"""Shared fixtures: a real SQLite database, migrated with Alembic and seeded with the demo data."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.caller import CALLER_KEY, resolve_caller
from bot.config import load_settings
from bot.db import reset_engine, session_scope
from bot.db.migrate import upgrade
from bot.identity import issue_token
from bot.seed import seed_demo

TODAY = date(2026, 11, 25)
TEST_SECRET = "test-secret-for-the-billing-help-desk-0123456789"


@pytest.fixture(scope="session")
def seeded_db_template(tmp_path_factory) -> Path:
    """Migrate and seed once; every test gets its own copy of the file."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    with session_scope(url) as session:
        seed_demo(session)
    reset_engine()
    return path


@pytest.fixture()
def db_url(seeded_db_template, tmp_path, monkeypatch) -> str:
    path = tmp_path / "billing.sqlite3"
    path.write_bytes(seeded_db_template.read_bytes())
    url = f"sqlite:///{path}"
    monkeypatch.setenv("BOT_DATABASE_URL", url)
    monkeypatch.setenv("BOT_TODAY", TODAY.isoformat())
    monkeypatch.setenv("BOT_TOKEN_SECRET", TEST_SECRET)
    monkeypatch.setenv("BOT_LOCALE", "en_US")
    monkeypatch.delenv("BOT_CURRENCY_DISPLAY", raising=False)
    yield url
    reset_engine()


@pytest.fixture()
def session(db_url):
    with session_scope(db_url) as s:
        yield s


@pytest.fixture()
def token_for(db_url):
    return lambda customer_id: issue_token(customer_id)


def verified_metadata(**tokens: str) -> dict[str, Any]:
    """The metadata the channel passes on for a message that came with these tokens."""
    return {CALLER_KEY: resolve_caller(tokens, load_settings()).to_metadata()}


def make_tracker(text: str = "", intent: str = "ask_invoice", entities: list[dict[str, Any]] | None = None,
                 token: str | None = None, slots: dict[str, Any] | None = None, channel: str = "rest",
                 intent_ranking: list[dict[str, Any]] | None = None) -> Tracker:
    metadata = verified_metadata(customer_token=token) if token else {}
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99},
              "intent_ranking": intent_ranking or [{"name": intent, "confidence": 0.99}],
              "entities": entities or [], "metadata": metadata}
    return Tracker.from_dict({
        "sender_id": "test-conversation", "slots": slots or {}, "latest_message": latest,
        "events": [{"event": "user", "text": text, "parse_data": latest, "input_channel": channel,
                    "metadata": metadata}],
        "paused": False, "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen",
    })


def entity(name: str, value: str) -> dict[str, Any]:
    return {"entity": name, "value": value, "start": 0, "end": len(value), "extractor": "SpacyEntityExtractor"}


async def run_action(action, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run an action as the action server would; return (messages, events)."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, events


def texts(messages: list[dict[str, Any]]) -> str:
    """What the customer reads: a message's text, or its response rendered as the NLG would (English)."""
    return "\n".join(m.get("text") or said(m) for m in messages)


def said(message: dict[str, Any]) -> str:
    from bot.replies import render
    from bot.replies.nlg import UTTER, _MESSAGE_FIELDS

    values = {k: v for k, v in message.items() if k not in _MESSAGE_FIELDS and v is not None}
    return render(message["response"][len(UTTER):], "en", **values).plain()

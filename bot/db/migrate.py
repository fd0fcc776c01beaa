"""Bring a database to the newest schema with Alembic (used by setup, tests and `python -m bot migrate`)."""
from __future__ import annotations

from alembic import command
from alembic.config import Config

from bot.config import REPO_ROOT, load_settings


def upgrade(database_url: str | None = None) -> None:
    url = database_url or load_settings().database_url
    if url.startswith("sqlite:///"):
        (REPO_ROOT / "var").mkdir(exist_ok=True)
    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "bot" / "db" / "migrations"))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, "head")

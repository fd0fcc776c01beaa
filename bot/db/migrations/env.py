"""Alembic environment: the URL comes from the project's settings (BOT_DATABASE_URL)."""
from alembic import context

from bot.config import load_settings
from bot.db.engine import get_engine
from bot.db.models import Base
import bot.escalation.models  # noqa: F401
import bot.conversations.ownership  # noqa: F401
import bot.fapiao.models  # noqa: F401

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.attributes.get("database_url") or load_settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with get_engine(_url()).connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

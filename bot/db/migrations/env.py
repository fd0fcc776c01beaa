"""Alembic environment: the URL comes from the project's settings (BOT_DATABASE_URL)."""
from alembic import context

from bot.config import load_settings
from bot.db.engine import get_engine
from bot.db.models import Base
import bot.escalation.models  # noqa: F401
import bot.conversations.ownership  # noqa: F401
import bot.fapiao.models  # noqa: F401
import bot.partner.models  # noqa: F401
import bot.conversations.addresses  # noqa: F401
import bot.channels.deduplication  # noqa: F401
import bot.handoff.models  # noqa: F401

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
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying and dropping it, which foreign keys to that table
            # (invoices -> customers) would refuse; the pragma only works outside a transaction.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:  # the connection goes back to the pool: as every other one, with foreign keys on
                connection.commit()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

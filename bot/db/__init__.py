"""Database access: models, a lazily created engine, one session per unit of work."""
from bot.db.engine import get_engine, reset_engine, session_scope

__all__ = ["get_engine", "reset_engine", "session_scope"]

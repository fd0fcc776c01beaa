"""A local stand-in for Bot Framework (Microsoft Teams): OpenID keys, bot tokens, the connector.

    python -m devservers.teams serve [--port 8767]
    python -m devservers.teams say a1a1a1a1-0000-4000-8000-000000000001 "which customers are overdue?"
    python -m devservers.teams replies

In tests: `TeamsStandIn(key_file=...)` and `await start(standin)`; `bot_env(port)` is the Rasa
server's environment for it.
"""
from devservers.teams.server import DEFAULT_ISSUER, DEFAULT_PORT, TeamsStandIn, bot_env, start

__all__ = ["DEFAULT_ISSUER", "DEFAULT_PORT", "TeamsStandIn", "bot_env", "start"]

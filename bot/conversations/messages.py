"""What marks a message in a conversation as a support agent's words: `custom.agent.name`, set by
the handoff desk (bot/handoff/queue.py `reply`) and kept in the tracker with the bot event. Each
channel shows that name with the words (the widget, Slack, Teams; REST passes it on as is)."""
from __future__ import annotations

from typing import Any


def agent_name(message: dict[str, Any]) -> str | None:
    """The support agent who wrote this message; None for the bot's own."""
    custom = message.get("custom")
    agent = custom.get("agent") if isinstance(custom, dict) else None
    name = agent.get("name") if isinstance(agent, dict) else None
    return (name.strip() or None) if isinstance(name, str) else None

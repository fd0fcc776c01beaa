"""Our bot messages as Slack messages: Block Kit blocks plus the plain `text` fallback.

A bot message is `{"text", "buttons": [{"title", "payload"}], "custom": {"reply": {"text", "items",
"footer"}}}` (bot/replies/reply.py). Here its lead text becomes a section, plain list items a
section of bullet lines, label/value rows section fields (two columns in Slack), the footer a
context block and the buttons an actions block whose button `value` is the payload: a click comes
back to bot/channels/slack.py as the user's text, exactly as a typed message would.

Why not Rasa's SlackBot output: it splits a text at blank lines into several posts, sends the
structure as a second "custom" message, sends `as_user` (refused for new Slack apps) and posts
mrkdwn built from text that may quote the user, so a quoted `<!channel>` would notify a whole
channel. Here everything that can quote a user is plain_text, or escaped where mrkdwn is needed
(the bold labels), and Slack's limits (3,000 characters a section, 10 fields, 25 buttons of 75
characters, 50 blocks) are kept by cutting, never by a refused post. `text` is always there: it is
what notifications, screen readers and old clients show.

A support agent's message (`custom.agent.name`, bot/handoff/queue.py) is shown as theirs: their
name in bold in a context line over their words, which are mrkdwn (so an agent's *bold* works)
escaped like every other quoted text; the fallback text starts with the name too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.conversations.messages import agent_name

SECTION_CHARS = 3000
FIELD_CHARS = 2000
FIELDS_PER_SECTION = 10
BUTTONS_PER_BLOCK = 25
BUTTON_TEXT_CHARS = 75
BUTTON_VALUE_CHARS = 2000
CONTEXT_CHARS = 3000
MAX_BLOCKS = 50
FALLBACK_CHARS = 4000  # Slack cuts `text` at 40,000; a notification shows far less
ELLIPSIS = "…"


@dataclass(frozen=True)
class SlackMessage:
    text: str  # the fallback, escaped for Slack
    blocks: list[dict[str, Any]] = field(default_factory=list)


def escape(text: str) -> str:
    """Slack's own escaping: `&`, `<` and `>` are the only characters its markup reads, so
    `<!channel>` or `<@U123>` in quoted text stays text and notifies nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + ELLIPSIS


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def _sections(lines: list[str]) -> list[dict[str, Any]]:
    """Lines as plain-text sections, as many lines to a section as its limit allows."""
    blocks, current = [], ""
    for line in lines:
        line = clip(line, SECTION_CHARS)
        if current and len(current) + 1 + len(line) > SECTION_CHARS:
            blocks.append({"type": "section", "text": _plain(current, SECTION_CHARS)})
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        blocks.append({"type": "section", "text": _plain(current, SECTION_CHARS)})
    return blocks


def _field_sections(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Label/value rows as section fields: the label bold (mrkdwn, so escaped) over its value."""
    fields = [{"type": "mrkdwn", "text": clip(f"*{escape(str(row.get('label', '')))}*\n{escape(str(row.get('value', '')))}",
                                             FIELD_CHARS)}
              for row in rows]
    return [{"type": "section", "fields": fields[start:start + FIELDS_PER_SECTION]}
            for start in range(0, len(fields), FIELDS_PER_SECTION)]


def _button_blocks(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    elements = []
    for number, button in enumerate(buttons):
        title, payload = str(button.get("title") or ""), str(button.get("payload") or "")
        if not title or not payload or len(payload) > BUTTON_VALUE_CHARS:
            continue  # a payload cut short would be another message: leave the button out
        elements.append({"type": "button", "action_id": f"reply-button-{number}",
                         "text": _plain(title, BUTTON_TEXT_CHARS), "value": payload})
    return [{"type": "actions", "elements": elements[start:start + BUTTONS_PER_BLOCK]}
            for start in range(0, len(elements), BUTTONS_PER_BLOCK)]


def _mrkdwn_sections(text: str) -> list[dict[str, Any]]:
    """Text as escaped mrkdwn sections, cut between characters (never inside an escape)."""
    chunks: list[str] = []
    current, size = [], 0
    for character in text:
        piece = escape(character)
        if size + len(piece) > SECTION_CHARS:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(piece)
        size += len(piece)
    if current:
        chunks.append("".join(current))
    return [{"type": "section", "text": {"type": "mrkdwn", "text": chunk}} for chunk in chunks]


def _agent_message(name: str, text: str) -> SlackMessage:
    label = {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(f"*{escape(name)}*", CONTEXT_CHARS)}]}
    return SlackMessage(clip(escape(f"{name}: {text}"), FALLBACK_CHARS), [label, *_mrkdwn_sections(text)][:MAX_BLOCKS])


def _structure(message: dict[str, Any]) -> dict[str, Any] | None:
    custom = message.get("custom")
    reply = custom.get("reply") if isinstance(custom, dict) else None
    return reply if isinstance(reply, dict) else None


def slack_message(message: dict[str, Any]) -> SlackMessage:
    """Blocks and fallback text for one bot message (see the module docstring)."""
    text = str(message.get("text") or "")
    name = agent_name(message)
    if name is not None and text:
        return _agent_message(name, text)
    reply = _structure(message)
    blocks: list[dict[str, Any]] = []
    if reply is not None:
        lead = str(reply.get("text") or "")
        if lead:
            blocks += _sections([lead])
        items = [item for item in reply.get("items") or [] if isinstance(item, dict)]
        listed, rows = [], []
        for item in items:
            if item.get("label"):
                if listed:  # keep the order the reply has
                    blocks += _sections(listed)
                    listed = []
                rows.append(item)
            else:
                if rows:
                    blocks += _field_sections(rows)
                    rows = []
                listed.append(f"• {item.get('text', '')}")
        blocks += _sections(listed) + _field_sections(rows)
        footer = str(reply.get("footer") or "")
        if footer:
            blocks.append({"type": "context", "elements": [_plain(footer, CONTEXT_CHARS)]})
        if not text:
            text = "\n".join(filter(None, [lead, *(str(i.get("text") or f"{i.get('label')}: {i.get('value')}")
                                                   for i in items), footer]))
    elif text:
        blocks += _sections([text])
    if isinstance(message.get("image"), str) and message["image"].startswith(("https://", "http://")):
        blocks.append({"type": "image", "image_url": message["image"], "alt_text": clip(text or "image", 2000)})
    buttons = [b for b in message.get("buttons") or [] if isinstance(b, dict)]
    button_blocks = _button_blocks(buttons)
    room = MAX_BLOCKS - len(button_blocks)
    if len(blocks) > room:  # the buttons are what the user answers with: they stay
        blocks = blocks[:room - 1] + [{"type": "context", "elements": [_plain(ELLIPSIS, 10)]}]
    blocks += button_blocks
    return SlackMessage(clip(escape(text), FALLBACK_CHARS), blocks)

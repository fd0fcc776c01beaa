"""A reply as structured data: each channel renders it its own way.

`text` leads, `items` follow (a list, or label/value rows such as invoice lines), then `footer`,
then `buttons`. `plain()` is the whole reply as text, for channels without structure (REST, logs);
`message()` is what an action or the NLG hands to Rasa: that text, the buttons, and the structure
under `custom.reply` for the widget, Slack blocks and Teams cards.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Item:
    text: str = ""
    label: str = ""
    value: str = ""

    def plain(self, colon: str = ": ") -> str:
        return f"- {self.label}{colon}{self.value}" if self.label else f"- {self.text}"

    def as_dict(self) -> dict[str, str]:
        return {"label": self.label, "value": self.value} if self.label else {"text": self.text}


@dataclass(frozen=True)
class Reply:
    key: str
    language: str
    text: str
    items: tuple[Item, ...] = ()
    footer: str = ""
    buttons: tuple[dict[str, str], ...] = field(default_factory=tuple)

    def plain(self) -> str:
        parts = [self.text] if self.text else []
        colon = "：" if self.language == "zh" else ": "  # Chinese writes a full-width colon
        parts += [item.plain(colon) for item in self.items]
        if self.footer:
            parts.append(self.footer)
        return "\n".join(parts)

    def structure(self) -> dict[str, Any]:
        return {"key": self.key, "locale": self.language, "text": self.text,
                "items": [item.as_dict() for item in self.items], "footer": self.footer or None}

    def message(self) -> dict[str, Any]:
        return {"text": self.plain(), "buttons": [dict(b) for b in self.buttons], "custom": {"reply": self.structure()}}

    def then(self, other: "Reply") -> "Reply":
        """Two replies said as one message (e.g. "no invoice for August" before the answer)."""
        return Reply(self.key, self.language, "\n".join(p for p in (self.plain(), other.text) if p),
                     other.items, other.footer, self.buttons + other.buttons)

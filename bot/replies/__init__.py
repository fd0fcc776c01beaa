"""The reply layer: every sentence a customer or partner staff reads, in their language.

    catalogue/<language>.yml  the keyed phrases (en, zh), same keys and placeholders in each
    catalogue.py             loads them; Phrases fills placeholders and formats money and dates (Babel)
    language.py              which language a conversation is in
    reply.py                 Reply: text, items, footer, buttons; plain text or a structured message
    billing.py, escalations.py   which phrases fit the facts of the billing and escalation domains
    nlg.py                   Rasa's natural language generator for `utter_*` responses, from the catalogue

Why a catalogue and not Rasa responses: one language's answers are composed from facts (plurals,
lists, amounts and dates in the locale's format), which Rasa's `{slot}` templates cannot do; a
catalogue per language with one key set is also what a translator works on. domain.yml only
declares the `utter_*` names the dialogue policies predict.
"""
from __future__ import annotations

from typing import Any

from bot.config import Settings, load_settings
from bot.replies.catalogue import MissingPhrase, Phrases
from bot.replies.language import LANGUAGES, conversation_language, language_of
from bot.replies.reply import Item, Reply

# Channels that answer only when asked: news waits for the customer's next message there.
PULL_CHANNELS = {"rest", "cmdline", None}

__all__ = ["Item", "LANGUAGES", "MissingPhrase", "Phrases", "Reply", "can_push", "conversation_language",
           "language_of", "render"]


def render(key: str, language: str, settings: Settings | None = None, count: int | None = None,
           **values: Any) -> Reply:
    """A catalogue entry as a reply: its text (placeholders filled) and its buttons."""
    phrases = Phrases(language, settings or load_settings())
    return Reply(key, language, phrases.say(key, count=count, **values), buttons=tuple(phrases.buttons(key, **values)))


def can_push(input_channel: str | None) -> bool:
    """Can news reach this conversation by itself (a socket, Slack, Teams), or only on the next turn?"""
    return input_channel not in PULL_CHANNELS

"""Rasa's natural language generator for this assistant: `utter_<key>` is the catalogue's `<key>`,
in the conversation's language. Configured in endpoints.yml (`nlg: type: bot.replies.nlg.CatalogueGenerator`).
"""
from __future__ import annotations

import logging
from typing import Any

from rasa.core.nlg.generator import NaturalLanguageGenerator
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.config import load_settings
from bot.replies import render
from bot.replies.catalogue import MissingPhrase
from bot.replies.language import LANGUAGE_SLOT, conversation_language

logger = logging.getLogger(__name__)

UTTER = "utter_"
# What Rasa SDK adds to every message an action sends; never a value for a phrase.
_MESSAGE_FIELDS = {"text", "buttons", "elements", "custom", "template", "response", "image", "attachment",
                   "quick_replies", "json_message"}


def tracker_language(tracker: DialogueStateTracker) -> str:
    """As actions/base.py's language_of_tracker, over Rasa's own tracker."""
    users = [e for e in tracker.events if isinstance(e, UserUttered)]
    previous = (users[-2].metadata or {}) if len(users) > 1 else None
    metadata = tracker.latest_message.metadata if tracker.latest_message else None
    slot = tracker.slots.get(LANGUAGE_SLOT)
    return conversation_language(metadata, slot.value if slot else None, load_settings(), previous)


class CatalogueGenerator(NaturalLanguageGenerator):
    def __init__(self, endpoint_config: Any = None, domain: Any = None, **_: Any) -> None:
        self.domain = domain

    async def generate(self, utter_action: str, tracker: DialogueStateTracker, output_channel: str,
                       **kwargs: Any) -> dict[str, Any] | None:
        key = utter_action[len(UTTER):] if utter_action.startswith(UTTER) else utter_action
        values = {k: v for k, v in kwargs.items() if k not in _MESSAGE_FIELDS and v is not None}
        language = tracker_language(tracker)
        try:
            return render(key, language, **values).message()
        except MissingPhrase:
            # A bug the catalogue tests should have caught: say something rather than nothing.
            logger.exception("no phrase for %s in %s", utter_action, language)
            return render("temporarily_unavailable", language).message()

""""请用英文" / "Chinese please": the conversation goes on in the language asked for."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import language_of_tracker, replies_in, say
from bot.config import load_settings
from bot.nlp.words import named_language
from bot.replies.language import LANGUAGE_SLOT, LANGUAGES


class ActionSwitchLanguage(Action):
    def name(self) -> str:
        return "action_switch_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        settings = load_settings()
        current = language_of_tracker(tracker, settings)
        # Asked for by name, else the other one (two languages: "switch language" means the other).
        wanted = named_language((tracker.latest_message or {}).get("text") or "") \
            or next(language for language in LANGUAGES if language != current)
        words = replies_in(wanted, settings)
        say(dispatcher, words.reply("language_switched", words.p.say("language_switched")))
        return [SlotSet(LANGUAGE_SLOT, wanted)]

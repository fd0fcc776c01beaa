"""Which language a conversation is in, and how that language writes money and dates.

A conversation's language is a short tag, "en" or "zh". The channel writes in each message's
metadata the locale its user chose (`locale`: the token's, the page's, the Slack or Teams user's)
and the language the message is written in (`detected_language`). The conversation keeps its
language in the `language` slot: set by the first message that says one (the chosen locale,
else the detected language), changed when the chosen locale changes (the page was switched) or
when the customer asks ("请用英文"). Without any of these, BOT_LOCALE. Babel formats amounts and
dates with the full locale of that language.
"""
from __future__ import annotations

from typing import Any, Mapping

from babel import Locale, UnknownLocaleError

from bot.config import Settings

LANGUAGES = ("en", "zh")
LANGUAGE_SLOT = "language"
METADATA_KEY = "locale"
DETECTED_KEY = "detected_language"
# Babel's locale for a language, when BOT_LOCALE is in another language.
_DEFAULT_LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}


def language_of(tag: Any) -> str | None:
    """"zh-CN", "zh_Hans", "en-GB", "EN" -> "zh" / "en"; anything else -> None."""
    if not isinstance(tag, str) or not tag.strip() or len(tag) > 35:
        return None
    try:
        language = Locale.parse(tag.strip().replace("-", "_")).language
    except (ValueError, UnknownLocaleError):
        return None
    return language if language in LANGUAGES else None


def default_language(settings: Settings) -> str:
    return language_of(settings.locale) or "en"


def babel_locale(language: str, settings: Settings) -> str:
    """BOT_LOCALE when it is in this language (en_GB dates for a British deployment), else the
    language's usual locale."""
    return settings.locale if language_of(settings.locale) == language else _DEFAULT_LOCALES[language]


def conversation_language(latest_metadata: Mapping[str, Any] | None, slot_value: Any, settings: Settings,
                          previous_metadata: Mapping[str, Any] | None = None) -> str:
    """The language to answer this turn in (see the module's docstring for the order)."""
    chosen = language_of((latest_metadata or {}).get(METADATA_KEY))
    chosen_before = language_of((previous_metadata or {}).get(METADATA_KEY))
    if chosen and previous_metadata is not None and chosen != chosen_before:
        return chosen  # the user switched the page (or the app) to another language
    kept = language_of(slot_value)
    detected = language_of((latest_metadata or {}).get(DETECTED_KEY))
    return kept or chosen or detected or default_language(settings)

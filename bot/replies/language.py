"""Which language a conversation is in, and how that language writes money and dates.

A conversation's language is a short tag, "en" or "zh". It comes from the channel (the token's
or the page's locale, put in the message metadata as `locale`), else the conversation's `language`
slot, else BOT_LOCALE. Babel formats amounts and dates with the full locale of that language.
"""
from __future__ import annotations

from typing import Any, Mapping

from babel import Locale, UnknownLocaleError

from bot.config import Settings

LANGUAGES = ("en", "zh")
LANGUAGE_SLOT = "language"
METADATA_KEY = "locale"
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


def conversation_language(latest_metadata: Mapping[str, Any] | None, slot_value: Any, settings: Settings) -> str:
    """The channel's word first (it may change mid-conversation), then the conversation's, then the
    deployment's."""
    from_channel = language_of((latest_metadata or {}).get(METADATA_KEY))
    return from_channel or language_of(slot_value) or default_language(settings)

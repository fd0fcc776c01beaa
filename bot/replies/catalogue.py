"""The catalogue: every sentence a person reads, keyed, one YAML file per language.

An entry is a text with `{named}` placeholders, or plural forms (`one`, `other`, ... as CLDR names
them for the language) chosen by a `count`, or a reply with `text` and `buttons`. Placeholders are
filled with values already formatted for the language (`Phrases.money`, `.day`, `.month`); the
catalogue never formats numbers itself.
"""
from __future__ import annotations

import logging
import string
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.lists import format_list
from babel.numbers import format_currency, get_currency_symbol

from bot.config import Settings, load_settings
from bot.replies.language import LANGUAGES, babel_locale

logger = logging.getLogger(__name__)

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"
PLURAL_CATEGORIES = {"zero", "one", "two", "few", "many", "other"}


class MissingPhrase(KeyError):
    """A key or a placeholder the catalogue does not have: a bug, found by the catalogue tests."""


@lru_cache(maxsize=None)
def catalogue(language: str) -> dict[str, Any]:
    with open(CATALOGUE_DIR / f"{language}.yml", encoding="utf-8") as handle:
        entries = yaml.safe_load(handle) or {}
    return _flatten(entries)


def _flatten(entries: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Sections (`invoice: {summary: ...}`) become dotted keys (`invoice.summary`); an entry whose
    keys are plural categories, or `text`, is a leaf."""
    flat: dict[str, Any] = {}
    for key, value in entries.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not (set(value) <= PLURAL_CATEGORIES or "text" in value):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


class Phrases:
    """The catalogue of one language, with Babel's formats for that language."""

    def __init__(self, language: str, settings: Settings | None = None):
        if language not in LANGUAGES:
            raise ValueError(f"no catalogue for language {language!r}")
        self.language = language
        self.settings = settings or load_settings()
        self.locale = babel_locale(language, self.settings)
        self.entries = catalogue(language)

    def entry(self, key: str) -> Any:
        try:
            return self.entries[key]
        except KeyError:
            raise MissingPhrase(f"{self.language}: no phrase {key!r}") from None

    def say(self, key: str, count: int | None = None, **values: Any) -> str:
        """The phrase for `key`, its placeholders filled; plural forms chosen by `count`."""
        entry = self.entry(key)
        if count is not None:
            values["count"] = count
        if isinstance(entry, dict) and "text" in entry:
            entry = entry["text"]
        if isinstance(entry, dict):
            if count is None:
                raise MissingPhrase(f"{self.language}: {key!r} has plural forms and needs a count")
            category = Locale.parse(self.locale).plural_form(abs(count))
            entry = entry.get(category, entry.get("other"))
        try:
            return str(entry).format_map(values)
        except KeyError as exc:
            raise MissingPhrase(f"{self.language}: {key!r} needs {exc.args[0]!r}") from None

    def buttons(self, key: str, **values: Any) -> list[dict[str, str]]:
        """The buttons of a reply entry, titles filled like text."""
        entry = self.entry(key)
        found = entry.get("buttons", []) if isinstance(entry, dict) else []
        return [{"title": str(b["title"]).format_map(values), "payload": str(b["payload"]).format_map(values)}
                for b in found]

    # ----- values, as this language writes them ------------------------------------------------

    def money(self, amount: Decimal, currency: str) -> str:
        """`CNY 9,615.50` (code display, the default) or `CN¥9,615.50` / `¥9,615.50` (symbol)."""
        if not isinstance(amount, Decimal):
            raise TypeError(f"money amounts are Decimal, got {type(amount).__name__}")
        text = format_currency(amount, currency, locale=self.locale)
        if self.settings.currency_display == "code":
            symbol = get_currency_symbol(currency, locale=self.locale)
            # Replace the locale's symbol by the ISO code, keeping the locale's position and digits.
            if symbol != currency and symbol in text:
                before, after = text.split(symbol, 1)
                symbol_first = not before.strip("-\u00a0 ")  # CLDR: first in en and zh, last in de
                text = (f"{before}{currency}\u00a0{after}" if symbol_first
                        else f"{before.rstrip()}\u00a0{currency}{after}")
        return text.replace("\u00a0", " ")

    def day(self, value: date) -> str:
        """`November 30, 2026` / `2026年11月30日`."""
        return format_date(value, format="long", locale=self.locale)

    def weekday(self, value: datetime | date) -> str:
        """`Mon, Nov 30` / `11月30日周一`: a day in the coming week."""
        return format_skeleton("MMMMEEEEd", value, locale=self.locale)

    def clock(self, value: datetime) -> str:
        """`9:00 AM` / `09:00`, in the value's own time zone."""
        return format_time(value, "short", tzinfo=value.tzinfo, locale=self.locale)

    def month(self, period: str) -> str:
        """A billing period `2026-10` as `October 2026` / `2026年10月`."""
        year, mon = (int(part) for part in period.split("-"))
        return format_skeleton("yMMMM", date(year, mon, 1), locale=self.locale)

    def sentences(self, parts: list[str]) -> str:
        """Sentences one after another: a space between them in English, none in Chinese."""
        return self.entries.get("sentence_separator", " ").join(p for p in parts if p)

    def listing(self, parts: list[str]) -> str:
        """`a, b and c` / `a、b和c`."""
        return format_list(parts, locale=self.locale) if parts else ""

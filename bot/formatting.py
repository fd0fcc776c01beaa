"""Money and dates for people, through Babel (CLDR): another locale is a setting, not a rewrite."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency, get_currency_symbol

from bot.config import Settings, load_settings


def money(amount: Decimal, currency: str, settings: Settings | None = None) -> str:
    """`CNY 9,615.50` (code display, the default) or `CN¥9,615.50` (symbol display), per locale."""
    settings = settings or load_settings()
    if not isinstance(amount, Decimal):
        raise TypeError(f"money amounts are Decimal, got {type(amount).__name__}")
    text = format_currency(amount, currency, locale=settings.locale)
    if settings.currency_display == "code":
        symbol = get_currency_symbol(currency, locale=settings.locale)
        # Replace the locale's symbol by the ISO code, keeping the locale's position and digits.
        if symbol != currency and symbol in text:
            before, after = text.split(symbol, 1)
            symbol_first = not before.strip("-\u00a0 ")  # CLDR puts the symbol first in en, zh; last in de
            text = f"{before}{currency}\u00a0{after}" if symbol_first else f"{before.rstrip()}\u00a0{currency}{after}"
    return text.replace("\u00a0", " ")


def day(value: date, settings: Settings | None = None) -> str:
    """A date as people read it in the configured locale, e.g. `November 30, 2026`."""
    settings = settings or load_settings()
    return format_date(value, format="long", locale=settings.locale)


def month(period: str, settings: Settings | None = None) -> str:
    """A billing period `2026-10` as `October 2026`."""
    settings = settings or load_settings()
    year, mon = (int(part) for part in period.split("-"))
    return format_skeleton("yMMMM", date(year, mon, 1), locale=settings.locale)

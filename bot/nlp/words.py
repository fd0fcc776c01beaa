"""What the actions ask of a customer's words, in either language: each question is put to the
English and the Chinese module (their patterns never match the other's script), so a message in
one, the other or both is read the same way."""
from __future__ import annotations

import re
from datetime import date

from bot.nlp import chinese, english


def refers_back(text: str) -> bool:
    return english.refers_back(text) or chinese.refers_back(text)


def months_from_focus(text: str) -> int | None:
    step = english.months_from_focus(text)
    return step if step is not None else chinese.months_from_focus(text)


def asks_for_all_invoices(text: str) -> bool:
    return english.asks_for_all_invoices(text) or chinese.asks_for_all_invoices(text)


def says_not_solved(text: str) -> bool:
    return english.says_not_solved(text) or chinese.says_not_solved(text)


_SCORE_DIGIT = re.compile(r"(?<![\d.])([1-5])(?![\d.])|/\s*5\b")


def scores_in(text: str) -> set[int]:
    """The 1-5 scores a typed rating holds, as digits or words in either language ("4/5",
    "3 out of 5", "five stars", "打五分"); the scale itself is not a score."""
    text = chinese.without_scale(english.without_scale(text))
    digits = {int(found) for found in _SCORE_DIGIT.findall(text) if found}
    return digits | english.scores_named(text) | chinese.scores_named(text)


def says_what_is_wrong(text: str) -> bool:
    return english.says_what_is_wrong(text) or chinese.says_what_is_wrong(text)


def special_complaint(text: str) -> str | None:
    return english.special_complaint(text) or chinese.special_complaint(text)


def compares(text: str) -> bool:
    return english.compares(text) or chinese.compares(text)


def mentioned_charge(text: str, descriptions: list[str]) -> str | None:
    return english.mentioned_charge(text, descriptions) or chinese.mentioned_charge(text, descriptions)


def chinese_periods(text: str, today: date) -> list[str]:
    """Periods named in Chinese; English ones arrive as billing_period entities (bot/nlp/patterns.py)."""
    return chinese.periods(text, today)


def named_language(text: str) -> str | None:
    """The language a message asks for ("请用英文", "Chinese please"): "en", "zh" or None."""
    return english.named_language(text) or chinese.named_language(text)


def fapiao_type_named(text: str) -> str | None:
    return english.fapiao_type_named(text) or chinese.fapiao_type_named(text)


def fapiao_title(text: str) -> str | None:
    return chinese.fapiao_title(text) or english.fapiao_title(text)


_TAX_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(?=[0-9A-Za-z]*\d[0-9A-Za-z]*\d)[0-9A-Za-z]{15,20}(?![0-9A-Za-z])")
_EMAIL_LIKE = re.compile(r"[^\s@，。,;；:：<>()（）]+@[^\s@，。,;；<>()（）]+")


def tax_id_typed(text: str) -> str | None:
    """Something typed as a taxpayer ID (15-20 letters and digits, not an invoice number), to check."""
    return next((m.group() for m in _TAX_ID_LIKE.finditer(text) if not re.fullmatch(r"[Gg]\d{9}", m.group())), None)


def email_typed(text: str) -> str | None:
    m = _EMAIL_LIKE.search(text)
    return m.group().rstrip(".") if m else None


def means_today(text: str) -> bool:
    return english.means_today(text) or chinese.means_today(text)

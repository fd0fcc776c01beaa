from datetime import date
from decimal import Decimal as D

import pytest

from bot.billing.parsing import invoice_mention, normalize_invoice_number, parse_amount, parse_period

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize("typed,expected", [
    ("G000100002", "G000100002"), ("g000100002", "G000100002"), ("G 000 100 002", "G000100002"),
    ("g000-100-002", "G000100002"), ("G12345", None), ("G0001000021", None), ("", None), (None, None),
    ("X000100002", None), ("G-000-100-002", "G000100002"), ("G 000-100-002", "G000100002"),
    ("inv no. g000100001", "G000100001"), ("invoice #G000100002", "G000100002"), ("000100002", "G000100002"),
    ("invoice no. 000-100-001", "G000100001"), ("G000100002 and G000100001", None),
])
def test_invoice_numbers(typed, expected):
    assert normalize_invoice_number(typed) == expected


@pytest.mark.parametrize("text,typed,number", [
    ("show me G000-100-002", "G000-100-002", "G000100002"),
    ("can I see invoice G 000-100-002 please", "G 000-100-002", "G000100002"),
    ("inv no. g000100001", "g000100001", "G000100001"),
    ("what about invoice 000100002?", "invoice 000100002", "G000100002"),
    ("G000100002这张发票", "G000100002", "G000100002"),
    # Written as a number, but not one: said so, never another invoice instead.
    ("show me invoice 100002", "invoice 100002", None), ("my invoice G12345", "G12345", None),
    ("I paid CNY 250000 for G000100001", "G000100001", "G000100001"),
    ("G0001000021 please", "G0001000021", None),
])
def test_invoice_mentions_in_any_spelling(text, typed, number):
    mention = invoice_mention(text)
    assert (mention.typed, mention.number) == (typed, number)


@pytest.mark.parametrize("text", ["the bill for 2026-09", "my bill 09/2026", "I paid CNY 12,400.00",
                                  "pay 4500 yuan", "what is my balance?", "invoice for October",
                                  "show me invoice 2026-10", "can I pay in parts, e.g. 3 times?",
                                  "the G5 instance costs", "why is my bill 120000 this month", "call 13800138000"])
def test_months_and_amounts_are_not_invoice_numbers(text):
    assert invoice_mention(text) is None


@pytest.mark.parametrize("typed,expected", [
    ("October", "2026-10"), ("oct", "2026-10"), ("December", "2025-12"), ("Sept 2025", "2025-09"),
    ("last month", "2026-10"), ("this month", "2026-11"), ("2026-09", "2026-09"), ("2026/9", "2026-09"),
    ("09/2026", "2026-09"), ("in may", "2026-05"), ("October of 2025", "2025-10"), ("soon", None),
])
def test_periods(typed, expected):
    assert parse_period(typed, TODAY) == expected


def test_last_month_in_january_is_last_december():
    assert parse_period("last month", date(2027, 1, 10)) == "2026-12"


@pytest.mark.parametrize("typed,expected", [
    ("CNY 4,500.00", D("4500.00")), ("¥300", D("300.00")), ("4500 yuan", D("4500.00")), ("none", None),
])
def test_amounts(typed, expected):
    assert parse_amount(typed) == expected

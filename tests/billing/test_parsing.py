from datetime import date
from decimal import Decimal as D

import pytest

from bot.billing.parsing import normalize_invoice_number, parse_amount, parse_period

TODAY = date(2026, 11, 25)


@pytest.mark.parametrize("typed,expected", [
    ("G000100002", "G000100002"), ("g000100002", "G000100002"), ("G 000 100 002", "G000100002"),
    ("g000-100-002", "G000100002"), ("G12345", None), ("G0001000021", None), ("", None), (None, None),
    ("X000100002", None),
])
def test_invoice_numbers(typed, expected):
    assert normalize_invoice_number(typed) == expected


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

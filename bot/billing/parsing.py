"""Turning what people type (invoice numbers, months, amounts) into canonical values."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

INVOICE_NUMBER_FORMAT = "G followed by nine digits, for example G000100002"

_MONTHS = {name: number for number, names in enumerate([
    (), ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
    ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
    ("october", "oct"), ("november", "nov"), ("december", "dec")]) for name in names}


def normalize_invoice_number(text: str | None) -> str | None:
    """`g 000 100 002` -> `G000100002`; None when it is not a G + nine digits number."""
    if not text:
        return None
    compact = re.sub(r"[\s\-]", "", str(text)).upper()
    return compact if re.fullmatch(r"G\d{9}", compact) else None


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def previous_period(period: str) -> str:
    """`2026-01` -> `2025-12`."""
    year, month = _shift_month(*(int(part) for part in period.split("-")), -1)
    return f"{year:04d}-{month:02d}"


# Something a customer probably meant as an invoice number, valid or not (G000100002, g 000 100 002,
# G12345): used to tell "that isn't a valid number" apart from "no number at all".
INVOICE_ATTEMPT = re.compile(r"\b[Gg][\s-]?\d[\d\s-]{2,}\d\b|\b[Gg]\d{1,}\b")


def parse_period(text: str | None, today: date) -> str | None:
    """A billing period `YYYY-MM` from `2026-09`, `09/2026`, `October`, `Oct 2026`, `last month`.

    A month without a year means the most recent such month that has started (in November,
    "December" is last December: bills are about the past).
    """
    if not text:
        return None
    lowered = str(text).lower().strip()
    if m := re.search(r"\b((?:19|20)\d{2})\s*[-/]\s*(0?[1-9]|1[0-2])\b", lowered):
        return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    if m := re.search(r"\b(0?[1-9]|1[0-2])\s*/\s*((?:19|20)\d{2})\b", lowered):
        return f"{int(m.group(2)):04d}-{int(m.group(1)):02d}"
    if re.search(r"\b(last|previous|past|prior)\s+month", lowered):
        year, month = _shift_month(today.year, today.month, -1)
        return f"{year:04d}-{month:02d}"
    if re.search(r"\b(this|current)\s+month", lowered):
        return f"{today.year:04d}-{today.month:02d}"
    for word in re.findall(r"[a-z]+", lowered):
        if word in _MONTHS:
            month = _MONTHS[word]
            year_match = re.search(r"\b((?:19|20)\d{2})\b", lowered)
            if year_match:
                year = int(year_match.group(1))
            else:
                year = today.year if month <= today.month else today.year - 1
            return f"{year:04d}-{month:02d}"
    return None


def parse_amount(text: str | None) -> Decimal | None:
    """`CNY 4,500.00`, `¥300`, `4500 yuan` -> Decimal; None when there is no amount."""
    if not text:
        return None
    m = re.search(r"\d[\d,]*(?:\.\d{1,2})?", str(text))
    if not m:
        return None
    try:
        return Decimal(m.group(0).replace(",", "")).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
